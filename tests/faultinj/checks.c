/* SPDX-License-Identifier: MIT */
/* What a run checks: errors against the documented lists, descriptors and
 * mappings before and after. */
#include "fi.h"
#include "fi_run.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem/pages.h"

extern struct fi_result *fi_res;	/* scenario.c */

/* Errors common to every call (msgport.h, top), and the only ones a lack
 * of memory or descriptors should give. */
static const int E_RESOURCE[] = { ENOMEM, EMFILE, ENFILE, 0 };

const int FI_E_SEND[] = { EINVAL, EMSGSIZE, ENOENT, EACCES, EAGAIN, ETIMEDOUT,
			  EPIPE, EPROTO, EBADF, EBUSY, 0 };
const int FI_E_RECV[] = { EINVAL, ENOENT, EAGAIN, ETIMEDOUT, EPIPE, 0 };
const int FI_E_RESPOND[] = { EINVAL, EMSGSIZE, ENOENT, EPIPE, EBADF, EBUSY, 0 };
const int FI_E_LOOKUP[] = { EINVAL, ENOENT, EACCES, ELOOP, EPROTO, 0 };
const int FI_E_LIST[] = { EINVAL, ENOENT, 0 };
const int FI_E_CREATE[] = { EINVAL, EACCES, ENOTDIR, ENOSPC, 0 };
const int FI_E_REGISTER[] = { EINVAL, ENOENT, EEXIST, 0 };
const int FI_E_UNREGISTER[] = { EINVAL, ENOENT, EPERM, 0 };
const int FI_E_DESTROY[] = { EINVAL, ENOENT, 0 };
const int FI_E_PORTFD[] = { EINVAL, ENOENT, 0 };
const int FI_E_PAGES_ALLOC[] = { EINVAL, EOVERFLOW, EMSGSIZE, 0 };

static int in_list(int e, const int *list)
{
	for (; *list; list++)
		if (*list == e)
			return 1;
	return 0;
}

static void put(char *dst, size_t cap, const char *fmt, va_list ap)
{
	if (dst[0])
		return;		/* the first finding is the one that matters */
	vsnprintf(dst, cap, fmt, ap);
}

void fi_bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put(fi_res->bad, sizeof(fi_res->bad), fmt, ap);
	va_end(ap);
}

void fi_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	put(fi_res->warn, sizeof(fi_res->warn), fmt, ap);
	va_end(ap);
}

/* A resource error is the right answer; another documented one is
 * allowed but misleading here (the scenario's peer is alive, its
 * arguments are good, it waits without limit); anything else breaks
 * the contract. */
void fi_check(const char *call, long r, const int *documented)
{
	if (r >= 0)
		return;
	__atomic_fetch_add(&fi_res->errors, 1, __ATOMIC_RELAXED);
	const char *f = fi_failed_name();
	if (in_list((int)-r, E_RESOURCE))
		return;
	if (in_list((int)-r, documented))
		fi_warn("%s: -%s after a failed %s", call, strerrorname_np((int)-r),
			f ? f : "(none)");
	else
		fi_bad("%s: undocumented -%s (%ld) after a failed %s", call,
		       strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "?",
		       r, f ? f : "(none)");
}

/* "fd N -> target" for every descriptor, then every mapping of a memfd
 * or of a file under the root (the library's shared memory). */
void fi_snap_take(struct fi_snap *s, const char *root)
{
	size_t n = 0;
	s->text[0] = 0;
	fi_pause();
	/* The one region mp_pages_idle() keeps ready is the library's cache,
	 * made or not as threads happened to wait: let it go first. */
	mp_pages_trim();
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char p[300], t[256];
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(p, sizeof(p), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(p, t, sizeof(t) - 1);
		t[k > 0 ? k : 0] = 0;
		n += (size_t)snprintf(s->text + n, sizeof(s->text) - n, "fd %s -> %s\n",
				      e->d_name, t);
		if (n >= sizeof(s->text))
			break;
	}
	if (d)
		closedir(d);
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	while (f && n < sizeof(s->text) && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		if (!strstr(line, "memfd:") && !(path && strstr(path, root)))
			continue;
		n += (size_t)snprintf(s->text + n, sizeof(s->text) - n, "map %s", line);
	}
	if (f)
		fclose(f);
	fi_resume();
}

/* Mappings may move (the same pages at another address): compare the
 * descriptors exactly and the mappings by count. */
static int count_maps(const char *t)
{
	int k = 0;
	for (const char *p = t; (p = strstr(p, "map ")); p += 4)
		k++;
	return k;
}

static int fds_of(const char *t, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = t; (p = strstr(p, "fd ")); ) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (n + len + 2 < cap) {
			memcpy(out + n, p, len);
			n += len;
			out[n++] = ';';
		}
		p += len;
	}
	out[n] = 0;
	return (int)n;
}

void fi_snap_compare(const struct fi_snap *before, const struct fi_snap *after,
		     const char *where)
{
	char a[2048], b[2048];
	fds_of(before->text, b, sizeof(b));
	fds_of(after->text, a, sizeof(a));
	if (strcmp(a, b))
		fi_bad("%s: descriptors leaked after a failed %s: before [%s] after [%s]",
		       where, fi_failed_name() ? fi_failed_name() : "(none)", b, a);
	else if (count_maps(before->text) != count_maps(after->text))
		fi_bad("%s: mappings differ after a failed %s (%d before, %d after):\n%s",
		       where, fi_failed_name() ? fi_failed_name() : "(none)",
		       count_maps(before->text), count_maps(after->text), after->text);
}

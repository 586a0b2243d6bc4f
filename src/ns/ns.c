/* SPDX-License-Identifier: MIT */
#include "ns/ns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/compiler.h"
#include "os/deadline.h"
#include "os/lack.h"
#include "ns/access.h"
#include "ns/owner.h"
#include "ns/portfile.h"
#include "ns/root.h"

/* ------------------------------------------------------------- paths */

int mp_ns_path_check(const char *path)
{
	size_t len;

	if (!path || path[0] != '/')
		return -EINVAL;
	len = strnlen(path, MP_PATH_MAX);
	if (len < 2 || len >= MP_PATH_MAX || path[len - 1] == '/')
		return -EINVAL;
	for (const char *c = path; *c; ) {
		const char *end = strchrnul(c + 1, '/');
		size_t n = (size_t)(end - c - 1);

		if (n == 0 || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
			return -EINVAL;
		c = end;
	}
	return 0;
}

int mp_ns_mount_path_check(const char *path)
{
	return mp_ns_path_is_root(path) ? 0 : mp_ns_path_check(path);
}

static int entry_path(char *buf, size_t len, const char *root, const char *path)
{
	int n = mp_ns_path_is_root(path) ? snprintf(buf, len, "%s/ns-root", root)
				   : snprintf(buf, len, "%s/ns%s", root, path);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

/* mkdir -p of the directories above an entry. */
static int parents_make(char *epath, size_t root_len)
{
	for (char *s = epath + root_len + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		int r = mkdir(epath, 0755);
		int e = errno;

		*s = '/';
		if (r != 0 && e != EEXIST)
			return -e;
	}
	return 0;
}

/* rmdir the now empty directories above an entry, up to ROOT/ns. */
static void parents_prune(char *epath, size_t ns_len)
{
	char *s;

	while ((s = strrchr(epath, '/')) && (size_t)(s - epath) > ns_len) {
		*s = '\0';
		if (rmdir(epath) != 0)
			break;
	}
}

/* --------------------------------------------------------- records */

static int record_read(int fd, struct mp_ns_record *r)
{
	ssize_t n = pread(fd, r, sizeof(*r), 0);

	if (n != (ssize_t)sizeof(*r) || r->magic != MP_NS_MAGIC || r->version != 1 ||
	    (r->flags & ~MP_NS_REC_MOUNT) || (r->mode & ~0777u))
		return -EPROTO;
	return 0;
}

static int record_load(const char *epath, struct mp_ns_record *r, struct stat *st)
{
	int fd = open(epath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int err;

	if (fd < 0)
		return errno == ELOOP ? -EPROTO : -errno;
	if (fstat(fd, st) != 0) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		err = S_ISDIR(st->st_mode) ? -EISDIR : -EPROTO;
		goto out;
	}
	err = record_read(fd, r);
out:
	close(fd);
	return err;
}

/* 1 when the record's port incarnation is alive, 0 when not, or the
 * resource error that kept its port file from being read. */
static int record_live(const char *root, const struct mp_ns_record *r)
{
	uint64_t token;
	int live = mp_portfile_probe(root, r->port, &token, NULL);

	if (live != 1)
		return mp_err_resource(live) ? live : 0;
	return token == r->token;
}

/* File-mode access control, applied for every user, root included: the
 * record's mode, with the file's owner and group.  The kernel applies
 * the read bits itself (the file's mode, record_file_mode()). */
static int mode_allows(const struct stat *st, const struct mp_ns_record *r, unsigned want)
{
	unsigned bits = r->mode;

	if (st->st_uid == geteuid())
		bits >>= 6;
	else if (st->st_gid == getegid() || group_member(st->st_gid))
		bits >>= 3;
	return (bits & want) == want;
}

/* ---------------------------------------------------- the ns lock */

/* A new open file description each time: the flock keeps other threads
 * of this process out too, not only other processes. */
static int ns_lock(const char *root)
{
	char path[MP_ROOT_PATH_MAX];
	int fd, err = mp_root_join(path, sizeof(path), root, "ns.lock");

	if (err)
		return err;
	/* Read-only: in a shared root it is root's (mp_root_init()), and an
	 * flock needs no more. */
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR)
			goto err;
	}
	return fd;
err:
	err = errno == ENOLCK ? -ENOMEM : -errno;	/* no memory for the lock */
	close(fd);
	return err;
}

static void ns_unlock(int fd)
{
	/* Explicitly: a child forked meanwhile holds a copy of fd, and close
	 * alone would leave the lock held until the child closes it too. */
	flock(fd, LOCK_UN);
	close(fd);
}

/* ------------------------------------------------------ register */

/*
 * The record file's mode: the entry's read bits (the kernel refuses to
 * open it for a lookup the mode denies), never a write bit (a writable
 * record could be pointed at another port), and always readable by its
 * owner, who must see it to unregister it.  The entry's whole mode is in
 * the record.
 */
static mode_t record_file_mode(unsigned mode)
{
	return 0400 | (mode & 0044);
}

static int tmp_record(const char *root, const struct mp_ns_record *r, unsigned mode,
		      char *tmp, size_t len, gid_t *gid)
{
	struct stat st;
	uint64_t rnd = 0;
	int fd, n, err;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
		rnd = (uint64_t)mp_now_ns();
	n = snprintf(tmp, len, "%s/tmp/%d.%016llx", root, (int)getpid(), (unsigned long long)rnd);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	errno = EIO;	/* a short write sets none */
	if (write(fd, r, sizeof(*r)) != (ssize_t)sizeof(*r) || fchmod(fd, record_file_mode(mode)) != 0 ||
	    fstat(fd, &st) != 0)
		goto err;
	*gid = st.st_gid;	/* the entry's group: ours, or the root's (set-group-ID) */
	close(fd);
	return 0;
err:
	err = -errno;
	close(fd);
	unlink(tmp);
	return err;
}

/* Link tmp at epath; a stale or broken entry there is replaced. */
static int link_entry(const char *root, const char *tmp, char *epath, size_t root_len)
{
	struct mp_ns_record old;
	struct stat st;
	int err;

	for (int tries = 0; tries < 2; tries++) {
		err = epath[root_len] == '/' ? parents_make(epath, root_len) : 0;
		if (err)
			return err == -ENOTDIR ? -EEXIST : err;
		if (link(tmp, epath) == 0)
			return 0;
		if (errno != EEXIST)
			return errno == ENOTDIR ? -EEXIST : -errno;
		err = record_load(epath, &old, &st);
		if (err == 0 && (err = record_live(root, &old)) >= 0)
			err = err ? -EEXIST : 0;
		if (err == -EEXIST || mp_err_resource(err))
			return err;	/* live, or unknown: never remove it */
		if (err == -EISDIR || err == -EACCES)
			return -EEXIST;	/* a directory, or another user's closed entry */
		/* Stale: its owner is gone.  In a shared root only its user (or
		 * root) may remove it: the kernel says so (sticky ns/). */
		if (unlink(epath) != 0 && (errno == EPERM || errno == EACCES))
			return -EPERM;
	}
	return -EEXIST;
}

/* Remove the entry at epath, and the directories it leaves empty. */
static void entry_remove(char *epath, const char *root)
{
	unlink(epath);
	parents_prune(epath, strlen(root) + 3);
}

/* Link the record at reg->path and note it as ours, under the ns lock. */
static int register_locked(const struct mp_ns_reg *reg, const char *tmp, char *epath, gid_t gid)
{
	int err = link_entry(reg->root, tmp, epath, strlen(reg->root) + 3);

	if (err)
		return err;
	err = mp_ns_owner_path_add(reg->token, reg->path, reg->mode, gid);
	if (err)
		entry_remove(epath, reg->root);	/* the port is gone, or no memory */
	return err;
}

/*
 * Who may connect: the socket's write bits are the union of the port's
 * entries' (the kernel checks them at connect); the server checks each
 * connection against the entries themselves too (mp_ns_owner_admits()).
 */
static void sock_mode_update(const char *sock_path, uint64_t token)
{
	chmod(sock_path, 0600 | (mp_ns_owner_modes(token) & 0066));
}

int mp_ns_register(const struct mp_ns_reg *reg)
{
	struct mp_ns_record r = {
		.magic = MP_NS_MAGIC, .version = 1, .port = reg->oid.port, .id = reg->oid.id,
		.token = reg->token, .pid = getpid(), .mode = reg->mode, .flags = reg->flags,
	};
	char tmp[MP_ROOT_PATH_MAX], epath[MP_ROOT_PATH_MAX];
	gid_t gid = 0;
	int lock, err;

	err = entry_path(epath, sizeof(epath), reg->root, reg->path);
	if (err)
		return err;
	err = tmp_record(reg->root, &r, reg->mode, tmp, sizeof(tmp), &gid);
	if (err)
		return err;
	lock = ns_lock(reg->root);
	if (lock < 0) {
		err = lock;
		goto out;
	}
	err = register_locked(reg, tmp, epath, gid);
	ns_unlock(lock);
	if (!err)
		sock_mode_update(reg->sock_path, reg->token);
out:
	unlink(tmp);
	return err;
}

/* ------------------------------------------------------- lookup */

int mp_ns_entry_get(const char *root, const char *path, struct mp_ns_record *r)
{
	char epath[MP_ROOT_PATH_MAX];
	struct stat st;
	int err = entry_path(epath, sizeof(epath), root, path);

	if (err)
		return err;
	err = record_load(epath, r, &st);
	if (err)
		return err;
	if (!mode_allows(&st, r, 4))
		return -EACCES;
	err = record_live(root, r);
	return err < 0 ? err : err ? 0 : -ENOENT;
}

/*
 * The longest proper prefix of path that is an entry, for a path that
 * crossed one, else the root mount point.  Only a mount point answers for
 * paths below it.
 */
int mp_ns_prefix_find(const char *root, const char *path, bool crossed,
		      struct mp_ns_record *r, size_t *plen)
{
	char buf[MP_PATH_MAX];
	char *s;
	int err;

	snprintf(buf, sizeof(buf), "%s", path);
	while (crossed && (s = strrchr(buf, '/')) && s != buf) {
		*s = '\0';
		err = mp_ns_entry_get(root, buf, r);
		if (err == 0 || err == -EACCES) {
			if (!err && !(r->flags & MP_NS_REC_MOUNT))
				err = -ENOENT;	/* nothing below a plain entry */
			*plen = (size_t)(s - buf);
			return err;
		}
		if (err == -EISDIR)
			break;	/* a directory: no entry above it */
	}
	err = mp_ns_entry_get(root, "/", r);
	*plen = 0;
	if (err == 0 && !(r->flags & MP_NS_REC_MOUNT))
		err = -EPROTO;
	return err == -EACCES ? err : (err ? -ENOENT : 0);
}

/* ----------------------------------------------------- unregister */

/* Another user's file: only root may remove it (the kernel agrees: ns/
 * is sticky in a shared root).  Unreadable records are never ours. */
static bool entry_foreign(const char *epath)
{
	struct stat st;

	return geteuid() != 0 && lstat(epath, &st) == 0 && st.st_uid != geteuid();
}

static int unregister_locked(const char *root, char *epath, const char *path)
{
	char sock[MP_ROOT_PATH_MAX];
	struct mp_ns_record r;
	struct stat st;
	bool ours;
	int err = record_load(epath, &r, &st);

	if (err == -EISDIR)
		return -ENOENT;
	if (err != -ENOENT && entry_foreign(epath))
		return -EPERM;
	if (err == -EPROTO)
		return unlink(epath) ? -errno : 0;	/* broken: anyone may clear it */
	if (err)
		return err;
	ours = mp_ns_owner_has(r.port, r.token);
	err = ours ? 0 : record_live(root, &r);
	if (err)
		return err < 0 ? err : -EPERM;
	if (unlink(epath) != 0)
		return -errno;
	mp_ns_owner_path_forget(r.token, path);	/* when it was ours */
	if (ours && mp_portfile_path(sock, sizeof(sock), root, r.port, ".sock") == 0)
		sock_mode_update(sock, r.token);	/* fewer may connect now */
	parents_prune(epath, strlen(root) + 3);
	return 0;
}

int mp_ns_unregister(const char *root, const char *path)
{
	char epath[MP_ROOT_PATH_MAX];
	int lock, err = entry_path(epath, sizeof(epath), root, path);

	if (err)
		return err;
	lock = ns_lock(root);
	if (lock < 0)
		return lock;
	err = unregister_locked(root, epath, path);
	ns_unlock(lock);
	return err;
}

/* Remove the entry at path if it still names the incarnation token. */
static void remove_owned_locked(const char *root, const char *path, uint64_t token)
{
	char epath[MP_ROOT_PATH_MAX];
	struct mp_ns_record r;
	struct stat st;

	if (entry_path(epath, sizeof(epath), root, path))
		return;
	if (record_load(epath, &r, &st) == 0 && r.token == token)
		entry_remove(epath, root);
}

void mp_ns_owner_remove(const char *root, uint64_t token)
{
	struct mp_ns_owner *o = mp_ns_owner_take(token);
	int lock;

	if (!o || o->npaths == 0)
		goto out;
	lock = ns_lock(root);	/* without it too: our entries must go */
	for (uint32_t k = 0; k < o->npaths; k++)
		remove_owned_locked(root, o->paths[k], token);
	if (lock >= 0)
		ns_unlock(lock);
out:
	mp_ns_owner_free(o);
}

/* ----------------------------------------------------------- list */

struct ns_walk {
	const char *root;
	mp_ns_list_fn fn;
	void *arg;
	size_t ns_len;		/* strlen(ROOT/ns) */
};

/* List the entry at epath under the name path (NULL: its place in ns/). */
static int list_entry(struct ns_walk *w, const char *epath, const char *path)
{
	mp_ns_entry_t e;
	struct mp_ns_record r;
	struct stat st;
	int err = record_load(epath, &r, &st);

	/* Out of descriptors or memory: the list would be short, say so. */
	if (mp_err_resource(err))
		return err;
	if (err)
		return 0;	/* unreadable or half-written: not listed */
	memset(&e, 0, sizeof(e));
	snprintf(e.path, sizeof(e.path), "%s", path ? path : epath + w->ns_len);
	e.oid.port = r.port;
	e.oid.id = r.id;
	e.owner_pid = r.pid;
	e.mode = r.mode & 0777;
	err = record_live(w->root, &r);
	if (err < 0)
		return err;
	e.live = (uint32_t)err;
	e.flags = (r.flags & MP_NS_REC_MOUNT) ? MP_NS_ENTRY_MOUNT : 0;
	return w->fn(&e, w->arg);
}

static int list_dir(struct ns_walk *w, char *epath, size_t cap)
{
	struct dirent **names;
	size_t len = strlen(epath);
	int n, ret = 0;

	n = scandir(epath, &names, NULL, alphasort);
	if (n < 0)
		return errno == ENOTDIR ? list_entry(w, epath, NULL) : -errno;
	for (int k = 0; k < n; k++) {
		const char *name = names[k]->d_name;

		if (!ret && name[0] != '.' && len + 1 + strlen(name) < cap) {
			snprintf(epath + len, cap - len, "/%s", name);
			ret = list_dir(w, epath, cap);
			epath[len] = '\0';
		}
		free(names[k]);
	}
	free(names);
	return ret == -ENOENT || ret == -EACCES ? 0 : ret;
}

int mp_ns_list(const char *prefix, mp_ns_list_fn fn, void *arg)
{
	char root[MP_ROOT_MAX], epath[MP_ROOT_PATH_MAX];
	struct ns_walk w = { .root = root, .fn = fn, .arg = arg };
	struct stat st;
	int err;

	if (!fn || (prefix && strcmp(prefix, "/") != 0 && mp_ns_path_check(prefix)))
		return -EINVAL;
	err = mp_root_get(root, sizeof(root));
	if (err)
		return err;
	err = entry_path(epath, sizeof(epath), root, prefix && strcmp(prefix, "/") ? prefix : "");
	if (err)
		return err;
	w.ns_len = strlen(root) + 3;
	if (lstat(epath, &st) != 0)
		return -ENOENT;
	if (!prefix || strcmp(prefix, "/") == 0) {
		char rpath[MP_ROOT_PATH_MAX];

		/* The root mount point first: "/" sorts before every path. */
		if (entry_path(rpath, sizeof(rpath), root, "/") == 0 && access(rpath, F_OK) == 0) {
			err = list_entry(&w, rpath, "/");
			if (err)
				return err;
		}
	}
	return list_dir(&w, epath, sizeof(epath));
}

/* SPDX-License-Identifier: MIT */
/*
 * fs-server - a small in-memory file server, Phoenix-RTOS code: it uses
 * libphoenix's <sys/msg.h>, <sys/file.h> and <sys/threads.h> only and
 * builds for Phoenix as it is.  It mounts its namespace at /fs and serves
 * one flat directory of objects with WORKERS threads (one mutex over the
 * nodes):
 *
 *   mtLookup  i.data = the rest of the path ("name" or "name/more"); the
 *             answer is o.lookup.fil/dev and o.err = bytes resolved.  A
 *             device or mount node (created with a dev oid) makes the
 *             lookup continue at that oid for "name/more".
 *   mtCreate  i.data = the name, i.create.type (otFile, otDev, otDir),
 *             i.create.dev for device and mount nodes -> o.create.oid
 *   mtOpen, mtClose, mtRead, mtWrite (i.io.offs), mtTruncate (i.io.len)
 *
 * Usage: fs-server [MOUNT_PATH]   (default /fs; runs until killed)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/threads.h>

#define NODES_MAX 64
#define NAME_MAX_LEN 63
#define WORKERS 3	/* the main thread and two more */

struct node {
	char name[NAME_MAX_LEN + 1];
	int type;		/* otFile, otDev, otDir */
	oid_t dev;		/* device or mounted directory; port 0 for files */
	char *data;
	size_t size;
	int opens;
};

static struct node nodes[NODES_MAX];	/* id = index + 1; id 0 is the root */
static uint32_t fs_port;
static handle_t nodes_lock;
static char stacks[WORKERS - 1][4096] __attribute__((aligned(16)));

static struct node *node_get(id_t id)
{
	if (id == 0 || id > NODES_MAX || !nodes[id - 1].name[0])
		return NULL;
	return &nodes[id - 1];
}

static id_t node_find(const char *name, size_t len)
{
	for (id_t k = 0; k < NODES_MAX; k++)
		if (nodes[k].name[0] && strlen(nodes[k].name) == len &&
		    memcmp(nodes[k].name, name, len) == 0)
			return k + 1;
	return 0;
}

static void do_lookup(msg_t *msg)
{
	const char *rest = msg->i.data;
	size_t len = rest ? strnlen(rest, msg->i.size) : 0;
	size_t first = strcspn(rest ? rest : "", "/");
	id_t id;
	struct node *n;

	if (msg->oid.id != 0 || len == 0 || first > len) {
		msg->o.err = -ENOENT;
		return;
	}
	id = node_find(rest, first);
	n = node_get(id);
	if (!n || (first < len && n->dev.port == 0)) {
		msg->o.err = -ENOENT;	/* no such name; files have nothing below */
		return;
	}
	msg->o.lookup.fil.port = fs_port;
	msg->o.lookup.fil.id = id;
	msg->o.lookup.dev = n->dev.port ? n->dev : msg->o.lookup.fil;
	msg->o.err = (int)first;	/* < len: continue at dev with the rest */
}

static void do_create(msg_t *msg)
{
	const char *name = msg->i.data;
	size_t len = name ? strnlen(name, msg->i.size) : 0;
	id_t id;

	if (len == 0 || len > NAME_MAX_LEN || memchr(name, '/', len)) {
		msg->o.err = -EINVAL;
		return;
	}
	if (node_find(name, len)) {
		msg->o.err = -EEXIST;
		return;
	}
	for (id = 1; id <= NODES_MAX && node_get(id); id++)
		;
	if (id > NODES_MAX) {
		msg->o.err = -ENOSPC;
		return;
	}
	memset(&nodes[id - 1], 0, sizeof(nodes[0]));
	memcpy(nodes[id - 1].name, name, len);
	nodes[id - 1].type = msg->i.create.type;
	if (msg->i.create.type != otFile)
		nodes[id - 1].dev = msg->i.create.dev;
	msg->o.create.oid.port = fs_port;
	msg->o.create.oid.id = id;
	msg->o.err = 0;
	printf("fs-server: created %s (id %llu%s)\n", nodes[id - 1].name, (unsigned long long)id,
	       msg->i.create.type == otFile ? "" : ", device/mount node");
	fflush(stdout);
}

static void do_io(msg_t *msg, struct node *n)
{
	size_t off = msg->i.io.offs < 0 ? 0 : (size_t)msg->i.io.offs;

	switch (msg->type) {
	case mtOpen:
		n->opens++;
		msg->o.err = 0;
		break;
	case mtClose:
		msg->o.err = n->opens > 0 ? (n->opens--, 0) : -EBADF;
		break;
	case mtRead: {
		size_t len = off < n->size ? n->size - off : 0;

		if (len > msg->o.size)
			len = msg->o.size;
		memcpy(msg->o.data, n->data + off, len);
		msg->o.err = (int)len;
		break;
	}
	case mtWrite: {
		size_t end = off + msg->i.size;

		if (end > n->size) {
			char *p = realloc(n->data, end);

			if (!p) {
				msg->o.err = -ENOMEM;
				break;
			}
			memset(p + n->size, 0, end - n->size);
			n->data = p;
			n->size = end;
		}
		memcpy(n->data + off, msg->i.data, msg->i.size);
		msg->o.err = (int)msg->i.size;
		break;
	}
	case mtTruncate:
		if (msg->i.io.len < n->size)
			n->size = msg->i.io.len;
		msg->o.err = 0;
		break;
	default:
		msg->o.err = -ENOSYS;
	}
}

static void handle(msg_t *msg)
{
	struct node *n;

	switch (msg->type) {
	case mtLookup:
		do_lookup(msg);
		return;
	case mtCreate:
		if (msg->oid.id == 0) {
			do_create(msg);
			return;
		}
		break;
	default:
		n = node_get(msg->oid.id);
		if (n && n->type == otFile) {
			do_io(msg, n);
			return;
		}
		break;
	}
	msg->o.err = msg->oid.id == 0 ? -EISDIR : -ENOENT;
}

/* Serve messages until the port goes. */
static void worker(void *arg)
{
	msg_t msg;
	msg_rid_t rid;

	(void)arg;
	while (msgRecv(fs_port, &msg, &rid) >= 0) {
		mutexLock(nodes_lock);
		handle(&msg);
		mutexUnlock(nodes_lock);
		msgRespond(fs_port, &msg, rid);
	}
}

int main(int argc, char **argv)
{
	const char *mount = argc > 1 ? argv[1] : "/fs";
	oid_t root;
	int err;

	if ((err = portCreate(&fs_port)) < 0) {
		fprintf(stderr, "fs-server: portCreate: %d\n", err);
		return 1;
	}
	if ((err = mutexCreate(&nodes_lock)) < 0) {
		fprintf(stderr, "fs-server: mutexCreate: %d\n", err);
		return 1;
	}
	memset(&root, 0, sizeof(root));
	root.port = fs_port;
	root.id = 0;
	if ((err = portRegister(fs_port, mount, &root)) < 0) {
		fprintf(stderr, "fs-server: portRegister %s: %d\n", mount, err);
		return 1;
	}
	for (int k = 0; k < WORKERS - 1; k++) {
		if ((err = beginthread(worker, 4, stacks[k], sizeof(stacks[k]), NULL)) < 0) {
			fprintf(stderr, "fs-server: beginthread: %d\n", err);
			return 1;
		}
	}
	printf("fs-server: mounted at %s (port %u, %d threads)\n", mount, fs_port, WORKERS);
	fflush(stdout);
	worker(NULL);
	portDestroy(fs_port);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * null-driver - a device driver, Phoenix-RTOS code: libphoenix's
 * <sys/msg.h>, <sys/file.h> and <sys/threads.h> only.  It serves two
 * devices, null (id 1: writes are swallowed, reads are empty) and zero
 * (id 2: reads give zeros), and makes them reachable three ways:
 *
 *   - special names bound to its own oids: portRegister(port,
 *     "/dev/null0", {port, 1}) and "/dev/zero0" -> {port, 2};
 *   - a device node in the file server: mtCreate "zero" (otDev, dev =
 *     {port, 2}) in /fs, so lookup("/fs/zero") gives the fs node as file
 *     and this driver's oid as dev;
 *   - a mounted directory: mtCreate "drv" (otDir, dev = {port, 0}) in
 *     /fs, so lookup("/fs/drv/null") hops from the file server to this
 *     driver, which answers mtLookup for "null" and "zero".
 *
 * A second thread waits for the file server and links the nodes into it;
 * the main thread waits on a condition variable until that is done, then
 * serves.
 *
 * Usage: null-driver [FS_MOUNT]   (default /fs; runs until killed)
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/threads.h>
#include <unistd.h>

enum { ID_DIR = 0, ID_NULL = 1, ID_ZERO = 2 };

static uint32_t port;

/* What the linking thread tells the main thread. */
static struct {
	handle_t lock, cond;
	int done;
	int err;
	const char *fs;
} linker;

static char linker_stack[4096] __attribute__((aligned(16)));

static oid_t mkoid(uint32_t p, id_t id)
{
	oid_t o;

	memset(&o, 0, sizeof(o));
	o.port = p;
	o.id = id;
	return o;
}

/* Create a node in the file server's root, pointing at our oid. */
static int fs_link(const oid_t *root, const char *name, int type, id_t id)
{
	msg_t msg;
	int err;

	memset(&msg, 0, sizeof(msg));
	msg.type = mtCreate;
	msg.oid = *root;
	msg.i.create.type = type;
	msg.i.create.dev = mkoid(port, id);
	msg.i.data = name;
	msg.i.size = strlen(name) + 1;
	err = msgSend(root->port, &msg);
	return err < 0 ? err : msg.o.err;
}

static void handle(msg_t *msg)
{
	const char *name = msg->i.data;

	switch (msg->type) {
	case mtLookup:
		if (msg->oid.id != ID_DIR || !name) {
			msg->o.err = -ENOENT;
		} else if (strcmp(name, "null") == 0 || strcmp(name, "zero") == 0) {
			msg->o.lookup.fil = mkoid(port, name[0] == 'n' ? ID_NULL : ID_ZERO);
			msg->o.lookup.dev = msg->o.lookup.fil;
			msg->o.err = 4;
		} else {
			msg->o.err = -ENOENT;
		}
		break;
	case mtOpen:
	case mtClose:
		msg->o.err = msg->oid.id == ID_DIR ? -EISDIR : 0;
		break;
	case mtWrite:
		msg->o.err = (int)msg->i.size;	/* swallowed */
		break;
	case mtRead:
		if (msg->oid.id == ID_ZERO) {
			memset(msg->o.data, 0, msg->o.size);
			msg->o.err = (int)msg->o.size;
		} else {
			msg->o.err = 0;	/* end of file */
		}
		break;
	default:
		msg->o.err = -ENOSYS;
	}
}

/* Wait for the file server, then link our devices into it. */
static void link_nodes(void *arg)
{
	oid_t root, dev;
	int err;

	(void)arg;
	for (int k = 0; (err = lookup(linker.fs, &root, &dev)) == -ENOENT && k < 5000; k++)
		usleep(1000);
	if (err >= 0)
		err = fs_link(&root, "zero", otDev, ID_ZERO);
	if (err >= 0)
		err = fs_link(&root, "drv", otDir, ID_DIR);
	mutexLock(linker.lock);
	linker.err = err;
	linker.done = 1;
	condSignal(linker.cond);
	mutexUnlock(linker.lock);
	endthread();
}

static void serve(void)
{
	msg_t msg;
	msg_rid_t rid;

	while (msgRecv(port, &msg, &rid) >= 0) {
		handle(&msg);
		msgRespond(port, &msg, rid);
	}
}

int main(int argc, char **argv)
{
	oid_t me;
	int err;

	linker.fs = argc > 1 ? argv[1] : "/fs";
	if ((err = portCreate(&port)) < 0) {
		fprintf(stderr, "null-driver: portCreate: %d\n", err);
		return 1;
	}
	me = mkoid(port, ID_NULL);
	if ((err = portRegister(port, "/dev/null0", &me)) < 0)
		goto fail;
	me = mkoid(port, ID_ZERO);
	if ((err = portRegister(port, "/dev/zero0", &me)) < 0)
		goto fail;
	if ((err = mutexCreate(&linker.lock)) < 0 || (err = condCreate(&linker.cond)) < 0)
		goto fail;
	err = beginthread(link_nodes, 4, linker_stack, sizeof(linker_stack), NULL);
	if (err < 0)
		goto fail;
	mutexLock(linker.lock);
	while (!linker.done)
		condWait(linker.cond, linker.lock, 0);
	err = linker.err;
	mutexUnlock(linker.lock);
	if (err < 0)
		goto fail;
	resourceDestroy(linker.cond);
	resourceDestroy(linker.lock);
	printf("null-driver: /dev/null0 /dev/zero0 %s/zero %s/drv (port %u)\n", linker.fs,
	       linker.fs, port);
	fflush(stdout);
	serve();
	portDestroy(port);
	return 0;
fail:
	fprintf(stderr, "null-driver: setup failed: %d\n", err);
	return 1;
}

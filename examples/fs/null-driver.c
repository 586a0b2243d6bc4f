/* SPDX-License-Identifier: MIT */
/*
 * null-driver - a device driver written to the Phoenix-RTOS API only
 * (msgport/phoenix.h).  It serves two devices, null (id 1: writes are
 * swallowed, reads are empty) and zero (id 2: reads give zeros), and makes
 * them reachable three ways:
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
 * Usage: null-driver [FS_MOUNT]   (default /fs; runs until killed)
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <msgport/phoenix.h>

enum { ID_DIR = 0, ID_NULL = 1, ID_ZERO = 2 };

static u32 port;

static oid_t mkoid(u32 p, id_t id)
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
	err = proc_send(root->port, &msg);
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
			msg->o.size = 0;
			msg->o.err = 0;	/* end of file */
		}
		break;
	default:
		msg->o.err = -ENOSYS;
	}
}

int main(int argc, char **argv)
{
	const char *fs = argc > 1 ? argv[1] : "/fs";
	oid_t me, root, dev;
	int err;

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
	/* wait for the file server, then link our devices into it */
	for (int k = 0; (err = lookup(fs, &root, &dev)) == -ENOENT && k < 5000; k++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	if (err < 0 || (err = fs_link(&root, "zero", otDev, ID_ZERO)) < 0 ||
	    (err = fs_link(&root, "drv", otDir, ID_DIR)) < 0)
		goto fail;
	printf("null-driver: /dev/null0 /dev/zero0 %s/zero %s/drv (port %u)\n", fs, fs, port);
	fflush(stdout);
	for (;;) {
		msg_t msg;
		msg_rid_t rid;

		if (proc_recv(port, &msg, &rid) < 0)
			break;
		handle(&msg);
		proc_respond(port, &msg, rid);
	}
	portDestroy(port);
	return 0;
fail:
	fprintf(stderr, "null-driver: setup failed: %d\n", err);
	return 1;
}

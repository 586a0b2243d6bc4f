/* SPDX-License-Identifier: MIT */
/*
 * fs-client - opens, writes and reads files through oids, Phoenix-RTOS
 * code: libphoenix's <sys/msg.h> and <sys/file.h> only.  Run fs-server and
 * null-driver first; it waits up to 5 s for them.  Prints what it does
 * and "fs-client: all checks passed" (exit 0), or the first failure
 * (exit 1).
 *
 * Usage: fs-client [FS_MOUNT]   (default /fs)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <unistd.h>

#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("fs-client: FAILED: " __VA_ARGS__);	\
			printf("\n");					\
			exit(1);					\
		}							\
	} while (0)

static const char *fs = "/fs";

static int call(int type, oid_t oid, off_t offs, const void *in, size_t inlen, void *out,
		size_t outlen, msg_t *msg)
{
	int err;

	memset(msg, 0, sizeof(*msg));
	msg->type = type;
	msg->oid = oid;
	msg->i.io.offs = offs;
	msg->i.data = in;
	msg->i.size = inlen;
	msg->o.data = out;
	msg->o.size = outlen;
	err = msgSend(oid.port, msg);
	return err < 0 ? err : msg->o.err;
}

static void path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", fs, name);
}

/* Create a file in the file server's root (mtCreate on the root oid). */
static oid_t create_file(const char *name)
{
	oid_t root, dev, file;
	msg_t msg;
	int err;

	CHECK(lookup(fs, &root, &dev) == 0, "lookup %s", fs);
	memset(&msg, 0, sizeof(msg));
	msg.type = mtCreate;
	msg.oid = root;
	msg.i.create.type = otFile;
	msg.i.data = name;
	msg.i.size = strlen(name) + 1;
	err = msgSend(root.port, &msg);
	CHECK(err == 0 && msg.o.err == 0, "mtCreate %s: %d/%d", name, err, msg.o.err);
	file = msg.o.create.oid;
	return file;
}

static void files(void)
{
	static const char text1[] = "Hello from a Phoenix client, ";
	static const char text2[] = "through oids and messages.";
	char p[128], buf[128];
	oid_t file, dev, f2;
	msg_t msg;
	int n;

	path(p, sizeof(p), "hello.txt");
	CHECK(lookup(p, &file, &dev) == -ENOENT, "%s exists already", p);
	file = create_file("hello.txt");
	printf("created %s: oid (port %u, id %llu)\n", p, file.port, (unsigned long long)file.id);
	CHECK(call(mtOpen, file, 0, NULL, 0, NULL, 0, &msg) == 0, "mtOpen");
	n = call(mtWrite, file, 0, text1, strlen(text1), NULL, 0, &msg);
	CHECK(n == (int)strlen(text1), "mtWrite 1: %d", n);
	n = call(mtWrite, file, (off_t)strlen(text1), text2, strlen(text2), NULL, 0, &msg);
	CHECK(n == (int)strlen(text2), "mtWrite 2: %d", n);
	printf("wrote %zu bytes\n", strlen(text1) + strlen(text2));
	CHECK(call(mtClose, file, 0, NULL, 0, NULL, 0, &msg) == 0, "mtClose");

	CHECK(lookup(p, &f2, &dev) == 0, "lookup %s", p);
	CHECK(f2.port == file.port && f2.id == file.id, "lookup gave another oid");
	printf("lookup %s: oid (port %u, id %llu)\n", p, f2.port, (unsigned long long)f2.id);
	CHECK(call(mtOpen, f2, 0, NULL, 0, NULL, 0, &msg) == 0, "mtOpen");
	memset(buf, 0, sizeof(buf));
	n = call(mtRead, f2, 0, NULL, 0, buf, sizeof(buf) - 1, &msg);
	CHECK(n == (int)(strlen(text1) + strlen(text2)), "mtRead: %d", n);
	CHECK(strncmp(buf, text1, strlen(text1)) == 0 && strcmp(buf + strlen(text1), text2) == 0,
	      "read back \"%s\"", buf);
	printf("read back: \"%s\"\n", buf);
	memset(buf, 0, sizeof(buf));
	n = call(mtRead, f2, 6, NULL, 0, buf, 4, &msg);
	CHECK(n == 4 && memcmp(buf, "from", 4) == 0, "mtRead at 6: %d \"%s\"", n, buf);
	printf("read 4 bytes at offset 6: \"%s\"\n", buf);
	CHECK(call(mtClose, f2, 0, NULL, 0, NULL, 0, &msg) == 0, "mtClose");
}

static void devices(void)
{
	char block[4096], p[128];
	oid_t file, dev;
	msg_t msg;
	int n;

	/* a special name registered by the driver: the oid is the driver's */
	CHECK(lookup("/dev/null0", &file, &dev) == 0, "lookup /dev/null0");
	memset(block, 'x', sizeof(block));
	n = call(mtWrite, dev, 0, block, sizeof(block), NULL, 0, &msg);
	CHECK(n == (int)sizeof(block), "write /dev/null0: %d", n);
	n = call(mtRead, dev, 0, NULL, 0, block, sizeof(block), &msg);
	CHECK(n == 0, "read /dev/null0: %d", n);
	printf("/dev/null0: oid (port %u, id %llu): wrote 4096 bytes, read 0\n", dev.port,
	       (unsigned long long)dev.id);

	/* a device node in the file server: dev points at the driver */
	path(p, sizeof(p), "zero");
	CHECK(lookup(p, &file, &dev) == 0, "lookup %s", p);
	CHECK(file.port != dev.port, "%s: file and dev on the same port", p);
	memset(block, 'x', 16);
	n = call(mtRead, dev, 0, NULL, 0, block, 16, &msg);
	CHECK(n == 16 && memcmp(block, (char[16]){ 0 }, 16) == 0, "read %s: %d", p, n);
	printf("%s: node (port %u, id %llu) -> device (port %u, id %llu): read 16 zero bytes\n", p,
	       file.port, (unsigned long long)file.id, dev.port, (unsigned long long)dev.id);

	/* a directory mounted by the driver inside the file server: hops */
	path(p, sizeof(p), "drv/null");
	CHECK(lookup(p, &file, &dev) == 0, "lookup %s", p);
	CHECK(dev.id == 1, "%s: id %llu", p, (unsigned long long)dev.id);
	n = call(mtWrite, dev, 0, "gone", 4, NULL, 0, &msg);
	CHECK(n == 4, "write %s: %d", p, n);
	printf("%s: resolved by the driver after a hop: oid (port %u, id %llu)\n", p, dev.port,
	       (unsigned long long)dev.id);
	path(p, sizeof(p), "drv/nothing");
	CHECK(lookup(p, &file, &dev) == -ENOENT, "lookup %s", p);
	printf("%s: -ENOENT, as the driver answered\n", p);
}

int main(int argc, char **argv)
{
	char p[128];
	oid_t file, dev;
	int err;

	if (argc > 1)
		fs = argv[1];
	path(p, sizeof(p), "drv");
	for (int k = 0; (err = lookup(p, &file, &dev)) < 0 && k < 5000; k++)
		usleep(1000);
	CHECK(err == 0, "the servers did not come up (lookup %s: %d)", p, err);
	files();
	devices();
	printf("fs-client: all checks passed\n");
	return 0;
}

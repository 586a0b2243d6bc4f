/* SPDX-License-Identifier: MIT */
/*
 * Conformance of the Phoenix-RTOS front-end (include/msgport/phoenix.h)
 * to Phoenix-RTOS message passing (seeds/003): one test per rule, named
 * after it, quoting the sentence it checks; and the core's mount points
 * (mp_mount_register, mp_lookup_dev) that Phoenix's lookup() uses.
 * Tests of choices the headers document are marked "decision".
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msgport/phoenix.h"

#define PHX_QUIT 0x7175		/* ends a test server */
#define PHX_HOLD 0x4001		/* answered by the test itself */
#define PG 4096u

/* State shared by a test and its children. */
struct px {
	atomic_int ready;
	atomic_int step;
	u32 port[4];
	int r[8];
	char buf[64];
};

static struct px *px_new(void)
{
	return h_shared(sizeof(struct px));
}

/* Serve port until PHX_QUIT: handle(msg) fills in the answer. */
static void px_serve(u32 port, void (*handle)(msg_t *msg, void *arg), void *arg)
{
	for (;;) {
		msg_t msg;
		msg_rid_t rid;
		int quit;

		CHECK_OK(proc_recv(port, &msg, &rid));
		quit = msg.type == PHX_QUIT;
		if (!quit)
			handle(&msg, arg);
		CHECK_OK(proc_respond(port, &msg, rid));
		if (quit)
			break;
	}
	portDestroy(port);
}

static void px_quit(u32 port, pid_t pid)
{
	msg_t msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = PHX_QUIT;
	CHECK_OK(proc_send(port, &msg));
	CHECK_EQ(h_reap(pid, 10000), 0);
}

static oid_t px_oid(u32 port, id_t id)
{
	oid_t o;

	memset(&o, 0, sizeof(o));
	o.port = port;
	o.id = id;
	return o;
}

/* Wait until name resolves (a server started). */
static void px_wait(const char *name, oid_t *dev)
{
	oid_t file;
	int r = -ENOENT;

	for (int k = 0; k < 5000 && (r = lookup(name, &file, dev)) == -ENOENT; k++)
		h_sleep_ms(2);
	CHECK_OK(r);
}

/* --------------------------------------------------- a file server */

/*
 * The test file server, mounted at "/fs" (its root is id 1):
 *   "dir/file" -> {fs, 7}
 *   "dev0"     -> file {fs, 9}, dev {driver, 3}: a device node
 *   "mnt"      -> {fs, 5}, mounted over by the second server's root
 *                 (port[1]): "mnt/REST" continues there with REST
 *   "l/l/...": each "l" that is not the last component is consumed and
 *                 the lookup continues here (to test the hop limit)
 *   "bad"      -> claims to resolve more than it was given
 *   other      -> -ENOENT
 * mtRead answers o.size bytes of 'r', o.err = o.size; mtWrite answers
 * o.err = i.size.
 */
static void fs_handle(msg_t *msg, void *arg)
{
	struct px *s = arg;
	const char *rest = msg->i.data;

	if (msg->type == mtRead) {
		memset(msg->o.data, 'r', msg->o.size);
		msg->o.err = (int)msg->o.size;
		return;
	}
	if (msg->type == mtWrite) {
		msg->o.err = (int)msg->i.size;
		return;
	}
	if (msg->type != mtLookup) {
		msg->o.err = -ENOSYS;
		return;
	}
	CHECK_EQ(msg->oid.port, s->port[0]);
	CHECK_EQ(msg->oid.id, 1);
	CHECK_EQ(msg->i.size, strlen(rest) + 1);	/* NUL included */
	if (strcmp(rest, "dir/file") == 0) {
		msg->o.lookup.fil = msg->o.lookup.dev = px_oid(s->port[0], 7);
		msg->o.err = 8;
	} else if (strcmp(rest, "dev0") == 0) {
		msg->o.lookup.fil = px_oid(s->port[0], 9);
		msg->o.lookup.dev = px_oid(s->port[2], 3);
		msg->o.err = 4;
	} else if (strncmp(rest, "mnt", 3) == 0 && (rest[3] == '/' || rest[3] == 0)) {
		msg->o.lookup.fil = px_oid(s->port[0], 5);
		msg->o.lookup.dev = px_oid(s->port[1], 1);
		msg->o.err = 3;
	} else if (rest[0] == 'l' && (rest[1] == '/' || rest[1] == 0)) {
		msg->o.lookup.fil = px_oid(s->port[0], 12);
		msg->o.lookup.dev = px_oid(s->port[0], 1);	/* here again */
		msg->o.err = 1;
	} else if (strcmp(rest, "bad") == 0) {
		msg->o.err = 100;
	} else {
		msg->o.err = -ENOENT;
	}
}

static void fs_server(void *arg)
{
	struct px *s = arg;
	oid_t root = px_oid(0, 1);
	u32 port;

	CHECK_OK(portCreate(&port));
	root.port = port;
	s->port[0] = port;
	CHECK(h_wait_ge(&s->ready, 1, 10000));	/* the others' ports are known */
	CHECK_OK(portRegister(port, "/fs", &root));
	px_serve(port, fs_handle, s);
}

/* The server mounted at "/fs/mnt": "x" -> {it, 11}. */
static void sub_handle(msg_t *msg, void *arg)
{
	(void)arg;
	if (msg->type == mtLookup && strcmp(msg->i.data, "x") == 0) {
		msg->o.lookup.fil = msg->o.lookup.dev = px_oid(msg->oid.port, 11);
		msg->o.err = 1;
	} else {
		msg->o.err = -ENOENT;
	}
}

static void sub_server(void *arg)
{
	struct px *s = arg;
	u32 port;

	CHECK_OK(portCreate(&port));
	s->port[1] = port;
	atomic_fetch_add(&s->step, 1);
	px_serve(port, sub_handle, s);
}

/* A device driver: "/dev/null0" is its oid {port, 3}.  It swallows
 * mtWrite (o.err = bytes) and reads as empty, and tags its answers. */
static void drv_handle(msg_t *msg, void *arg)
{
	(void)arg;
	CHECK_EQ(msg->oid.id, 3);
	memcpy(msg->o.raw, "driver", 6);
	msg->o.err = msg->type == mtWrite ? (int)msg->i.size : 0;
}

static void drv_server(void *arg)
{
	struct px *s = arg;
	oid_t me;
	u32 port;

	CHECK_OK(portCreate(&port));
	me = px_oid(port, 3);
	CHECK_OK(portRegister(port, "/dev/null0", &me));
	s->port[2] = port;
	atomic_fetch_add(&s->step, 1);
	px_serve(port, drv_handle, s);
}

struct px_fs {
	struct px *s;
	pid_t fs, sub, drv;
};

static void px_fs_start(struct px_fs *f)
{
	oid_t dev;

	f->s = px_new();
	f->sub = h_fork(sub_server, f->s);
	f->drv = h_fork(drv_server, f->s);
	CHECK(h_wait_ge(&f->s->step, 2, 10000));
	f->fs = h_fork(fs_server, f->s);
	atomic_store(&f->s->ready, 1);
	px_wait("/fs", &dev);
	CHECK_EQ(dev.port, f->s->port[0]);
}

static void px_fs_stop(struct px_fs *f)
{
	px_quit(f->s->port[0], f->fs);
	px_quit(f->s->port[1], f->sub);
	px_quit(f->s->port[2], f->drv);
}

/* --------------------------------------------------------- messaging */

static void slow_respond(void *arg)
{
	struct px *s = arg;
	u32 port;
	msg_t msg;
	msg_rid_t rid;

	CHECK_OK(portCreate(&port));
	CHECK_OK(portRegister(port, "/slow", NULL));
	CHECK_OK(proc_recv(port, &msg, &rid));
	atomic_store(&s->step, 1);	/* received: the sender still waits */
	h_sleep_ms(100);
	CHECK_EQ(atomic_load(&s->ready), 0);
	msg.o.err = 42;
	CHECK_OK(proc_respond(port, &msg, rid));
	px_serve(port, fs_handle, s);
}

/* "Message passing in Phoenix-RTOS is synchronous. Sending thread is
 * suspended until the receiving thread receives a message and responds
 * to it." */
TEST(phoenix_send_suspended_until_respond)
{
	struct px *s = px_new();
	pid_t pid = h_fork(slow_respond, s);
	oid_t dev;
	msg_t msg;
	int64_t t0;

	px_wait("/slow", &dev);
	memset(&msg, 0, sizeof(msg));
	msg.type = mtOpen;
	msg.oid = dev;
	t0 = h_now_ms();
	CHECK_OK(proc_send(dev.port, &msg));
	atomic_store(&s->ready, 1);
	CHECK_GE(h_now_ms() - t0, 90);
	CHECK_EQ(atomic_load(&s->step), 1);
	CHECK_EQ(msg.o.err, 42);
	px_quit(dev.port, pid);
}

static void make_ports(void *arg)
{
	struct px *s = arg;

	for (int k = 0; k < 2; k++)
		CHECK_OK(portCreate(&s->port[2 + k]));
	atomic_store(&s->step, 1);
	CHECK(h_wait_ge(&s->ready, 1, 10000));
	for (int k = 0; k < 2; k++)
		portDestroy(s->port[2 + k]);
}

/* "Messages are sent to ports - message queues identified by a unique
 * number in the operating system domain." (the domain: the host's
 * msgport root, across processes) */
TEST(phoenix_ports_have_unique_numbers)
{
	struct px *s = px_new();
	pid_t pid = h_fork(make_ports, s);

	CHECK_OK(portCreate(&s->port[0]));
	CHECK_OK(portCreate(&s->port[1]));
	CHECK(h_wait_ge(&s->step, 1, 10000));
	for (int a = 0; a < 4; a++) {
		CHECK_NE(s->port[a], 0);
		for (int b = a + 1; b < 4; b++)
			CHECK_NE(s->port[a], s->port[b]);
	}
	atomic_store(&s->ready, 1);
	CHECK_EQ(h_reap(pid, 10000), 0);
	portDestroy(s->port[0]);
	portDestroy(s->port[1]);
}

/* "Ports can be associated with specific paths and registered in the
 * operating system namespace. There is a system call used to lookup for a
 * port number using provided path." */
TEST(phoenix_register_path_and_lookup_port)
{
	u32 port;
	oid_t file, dev;

	CHECK_OK(portCreate(&port));
	CHECK_OK(portRegister(port, "/srv/echo", NULL));
	CHECK_OK(lookup("/srv/echo", &file, &dev));
	CHECK_EQ(file.port, port);
	CHECK_EQ(file.id, 0);
	CHECK_EQ(dev.port, port);
	CHECK_EQ(dev.id, 0);
	CHECK_OK(lookup("/srv/echo", NULL, &dev));
	CHECK_OK(lookup("/srv/echo", &file, NULL));
	CHECK_ERR(portRegister(port, "/srv/echo", NULL), -EEXIST);
	portDestroy(port);
	/* the kernel's rule: the name stays until portUnregister
	 * (tests/test_phoenix_ns.c) */
	CHECK_OK(lookup("/srv/echo", &file, &dev));
	CHECK_EQ(dev.port, port);
	CHECK_OK(portUnregister("/srv/echo"));
	CHECK_ERR(lookup("/srv/echo", &file, &dev), -ENOENT);
}

/* "if a thread working in the process context opens the file given by
 * specific path, it indirectly lookups for the port of the file server
 * handling this object and finally receives the oid_t(port, id)
 * structure identifying the file on the server." */
TEST(phoenix_lookup_gives_oid_of_file_on_its_server)
{
	struct px_fs f;
	oid_t file, dev;
	msg_t msg;
	char buf[10];

	px_fs_start(&f);
	CHECK_OK(lookup("/fs/dir/file", &file, &dev));
	CHECK_EQ(file.port, f.s->port[0]);
	CHECK_EQ(file.id, 7);
	CHECK_EQ(dev.port, f.s->port[0]);
	CHECK_EQ(dev.id, 7);
	memset(&msg, 0, sizeof(msg));
	msg.type = mtRead;
	msg.oid = file;
	msg.o.data = buf;
	msg.o.size = sizeof(buf);
	CHECK_OK(proc_send(file.port, &msg));
	CHECK_EQ(msg.o.err, 10);
	CHECK_MEM(buf, "rrrrrrrrrr", 10);
	CHECK_ERR(lookup("/fs/nothing", &file, &dev), -ENOENT);
	CHECK_ERR(lookup("/fs/dir/file/below", &file, &dev), -ENOENT);
	px_fs_stop(&f);
}

/* "File server mount its namespace to the existing namespace handled by
 * existing file servers." (a lookup hops from server to server) */
TEST(phoenix_mounted_namespace_hops_to_next_server)
{
	struct px_fs f;
	oid_t file, dev;

	px_fs_start(&f);
	CHECK_OK(lookup("/fs/mnt/x", &file, &dev));
	CHECK_EQ(file.port, f.s->port[1]);
	CHECK_EQ(file.id, 11);
	CHECK_OK(lookup("/fs/mnt", &file, &dev));	/* the mount point itself */
	CHECK_EQ(file.port, f.s->port[0]);
	CHECK_EQ(file.id, 5);
	CHECK_EQ(dev.port, f.s->port[1]);
	CHECK_EQ(dev.id, 1);
	CHECK_ERR(lookup("/fs/mnt/y", &file, &dev), -ENOENT);	/* the second one's answer */
	px_fs_stop(&f);
}

/* "In case of device drivers they registers special names in the
 * namespace and associate them with the specific oids." */
TEST(phoenix_driver_registers_special_name_with_oid)
{
	struct px_fs f;
	oid_t file, dev;

	px_fs_start(&f);
	CHECK_OK(lookup("/dev/null0", &file, &dev));
	CHECK_EQ(file.port, f.s->port[2]);
	CHECK_EQ(file.id, 3);
	CHECK_EQ(dev.port, f.s->port[2]);
	CHECK_EQ(dev.id, 3);
	px_fs_stop(&f);
}

/* "When program opens the file registered by a device driver it receives
 * oid pointed directly to the device driver server, so all communication
 * is redirected to this server." */
TEST(phoenix_device_file_oid_points_to_driver)
{
	struct px_fs f;
	oid_t file, dev;
	mp_oid_t native;
	msg_t msg;

	px_fs_start(&f);
	CHECK_OK(lookup("/fs/dev0", &file, &dev));
	CHECK_EQ(file.port, f.s->port[0]);	/* the node in the file server */
	CHECK_EQ(dev.port, f.s->port[2]);	/* the driver */
	CHECK_EQ(dev.id, 3);
	CHECK_OK(mp_lookup("/fs/dev0", &native));	/* native: the object to talk to */
	CHECK_EQ(native.port, f.s->port[2]);
	memset(&msg, 0, sizeof(msg));
	msg.type = mtWrite;
	msg.oid = dev;
	msg.i.data = "discard me";
	msg.i.size = 10;
	CHECK_OK(proc_send(dev.port, &msg));
	CHECK_EQ(msg.o.err, 10);
	CHECK_MEM(msg.o.raw, "driver", 6);
	px_fs_stop(&f);
}

static void types_handle(msg_t *msg, void *arg)
{
	struct px *s = arg;

	(void)s;
	/* the input part: type, oid, header, data and size */
	CHECK_EQ(msg->type, mtWrite);
	CHECK_EQ(msg->oid.id, 77);
	CHECK_EQ(msg->i.io.offs, 1234);
	CHECK_EQ(msg->i.io.len, 5);
	CHECK_EQ(msg->i.size, 5);
	CHECK_MEM(msg->i.data, "input", 5);
	CHECK_EQ(msg->pid, (unsigned)getppid());
	CHECK_EQ(msg->priority, 4);	/* the sending thread's: Phoenix's default */
	/* the output part: the caller's buffer, as large as the caller's */
	CHECK_EQ(msg->o.size, 8);
	CHECK(msg->o.data != NULL);
	CHECK_EQ(msg->o.err, 0);
	memcpy(msg->o.data, "output!!", 8);
	msg->o.attr.val = 0x1122334455667788ll;
	msg->o.err = 5;
}

static void types_server(void *arg)
{
	struct px *s = arg;
	u32 port;

	CHECK_OK(portCreate(&port));
	CHECK_OK(portRegister(port, "/types", NULL));
	px_serve(port, types_handle, s);
}

/* "Structure msg_t identifies message type and and consist of two main
 * parts - input part and output part.  Input part points to the input
 * buffer and defines its size. It contains also a small buffer for
 * passing the message application header. The output part has
 * symmetrical architecture to input buffer. It contains the pointer to
 * output buffer, output buffer data length and buffer for output
 * application header." */
TEST(phoenix_msg_type_input_and_output_parts)
{
	struct px *s = px_new();
	pid_t pid = h_fork(types_server, s);
	oid_t dev;
	msg_t msg;
	char out[8];

	px_wait("/types", &dev);
	memset(&msg, 0, sizeof(msg));
	msg.type = mtWrite;
	msg.oid = px_oid(dev.port, 77);
	msg.i.io.offs = 1234;
	msg.i.io.len = 5;
	msg.i.data = "input";
	msg.i.size = 5;
	msg.o.data = out;
	msg.o.size = sizeof(out);
	CHECK_OK(proc_send(dev.port, &msg));
	CHECK_EQ(msg.o.err, 5);
	CHECK_EQ(msg.o.attr.val, 0x1122334455667788ll);
	CHECK_MEM(out, "output!!", 8);
	CHECK_EQ(msg.o.size, sizeof(out));	/* decision: stays the buffer's size */
	px_quit(dev.port, pid);
}

static void partial_handle(msg_t *msg, void *arg)
{
	(void)arg;
	/* mapped, as on Phoenix: the server sees the caller's bytes */
	msg->o.err = memcmp(msg->o.data, "12345678", 8) == 0 ? 0 : -EBADMSG;
	memcpy(msg->o.data, "abc", 3);
	if (msg->oid.id == 1)
		msg->o.size = 3;	/* decision: only what it wrote goes back */
}

static void partial_server(void *arg)
{
	u32 port;

	CHECK_OK(portCreate(&port));
	CHECK_OK(portRegister(port, "/partial", NULL));
	px_serve(port, partial_handle, arg);
}

/* "input and output buffers are transparently mapped into the receiver
 * address space": the server sees the output buffer's contents, and bytes
 * it does not write come back unchanged.  decision (proc_respond): msgport
 * copies the buffer in and back: a server that lowers o.size sends only
 * that much back and the rest of the caller's buffer is untouched; one
 * that does not sends the whole buffer, as the caller had it where the
 * server did not write. */
TEST(phoenix_output_buffer_what_the_caller_sees)
{
	pid_t pid = h_fork(partial_server, NULL);
	oid_t dev;
	msg_t msg;
	char out[8];

	px_wait("/partial", &dev);
	for (int id = 1; id <= 2; id++) {
		memcpy(out, "12345678", 8);
		memset(&msg, 0, sizeof(msg));
		msg.oid = px_oid(dev.port, (id_t)id);
		msg.o.data = out;
		msg.o.size = sizeof(out);
		CHECK_OK(proc_send(dev.port, &msg));
		CHECK_EQ(msg.o.err, 0);	/* the server saw "12345678" */
		CHECK_EQ(msg.o.size, sizeof(out));
		CHECK_MEM(out, "abc45678", 8);
	}
	px_quit(dev.port, pid);
}

struct hold_arg {
	u32 port;
	int tag;
	atomic_int done;
};

static void *hold_caller(void *arg)
{
	struct hold_arg *a = arg;
	msg_t msg;
	int answer = 0;

	memset(&msg, 0, sizeof(msg));
	msg.type = PHX_HOLD;
	memcpy(msg.i.raw, &a->tag, sizeof(a->tag));
	msg.o.data = &answer;
	msg.o.size = sizeof(answer);
	CHECK_OK(proc_send(a->port, &msg));
	CHECK_EQ(answer, a->tag * 10);
	atomic_store(&a->done, 1);
	return NULL;
}

/* "The rid word identifies the receiving context and should be provided
 * to the proc_respond function. There is possible to execute a lot of
 * instruction between receiving and responding procedure." */
TEST(phoenix_rid_identifies_receiving_context)
{
	struct hold_arg a[3];
	pthread_t th[3];
	msg_rid_t rid[3];
	int tag[3];
	u32 port;

	CHECK_OK(portCreate(&port));
	for (int k = 0; k < 3; k++) {
		a[k].port = port;
		a[k].tag = k + 1;
		atomic_store(&a[k].done, 0);
		CHECK_OK(pthread_create(&th[k], NULL, hold_caller, &a[k]));
	}
	for (int k = 0; k < 3; k++) {
		msg_t msg;

		CHECK_OK(proc_recv(port, &msg, &rid[k]));
		CHECK_NE(rid[k], 0);
		memcpy(&tag[k], msg.i.raw, sizeof(int));
	}
	CHECK(rid[0] != rid[1] && rid[1] != rid[2] && rid[0] != rid[2]);
	h_sleep_ms(20);
	for (int k = 2; k >= 0; k--) {	/* reverse order */
		msg_t msg;
		int answer = tag[k] * 10;

		memset(&msg, 0, sizeof(msg));
		msg.o.data = &answer;
		msg.o.size = sizeof(answer);
		CHECK_OK(proc_respond(port, &msg, rid[k]));
	}
	for (int k = 0; k < 3; k++)
		CHECK_OK(pthread_join(th[k], NULL));
	portDestroy(port);
}

static void *respond_later(void *arg)
{
	struct hold_arg *a = arg;
	msg_t msg;
	msg_rid_t rid;

	CHECK_OK(proc_recv(a->port, &msg, &rid));
	h_sleep_ms(50);
	memset(msg.o.data, 'z', msg.o.size);
	atomic_store(&a->done, 1);
	CHECK_OK(proc_respond(a->port, &msg, rid));
	return NULL;
}

/* "Responding function is used to wake-up the sending thread and inform
 * it that data in output buffer are completed." */
TEST(phoenix_respond_completes_output_buffer)
{
	struct hold_arg a = { 0 };
	static char out[3 * PG];
	pthread_t th;
	msg_t msg;

	CHECK_OK(portCreate(&a.port));
	CHECK_OK(pthread_create(&th, NULL, respond_later, &a));
	memset(&msg, 0, sizeof(msg));
	msg.o.data = out;
	msg.o.size = sizeof(out);
	CHECK_OK(proc_send(a.port, &msg));
	CHECK_EQ(atomic_load(&a.done), 1);
	for (size_t k = 0; k < sizeof(out); k++)
		if (out[k] != 'z')
			FAIL("out[%zu] = %d", k, out[k]);
	CHECK_OK(pthread_join(th, NULL));
	portDestroy(a.port);
}

static void unaligned_handle(msg_t *msg, void *arg)
{
	const unsigned char *in = msg->i.data;
	unsigned char *out = msg->o.data;

	(void)arg;
	for (size_t k = 0; k < msg->o.size; k++)
		out[k] = (unsigned char)(in[k % msg->i.size] ^ 0x5a);
}

static void unaligned_server(void *arg)
{
	u32 port;

	CHECK_OK(portCreate(&port));
	CHECK_OK(portRegister(port, "/unaligned", NULL));
	px_serve(port, unaligned_handle, arg);
}

/* "To prevent interference with other data, if any of these buffers is
 * not aligned with the page, the heading or tailing part of this buffer
 * is copied to the newly allocated page mapped instead of the original
 * page. When receiving thread responses to the message the buffers are
 * unmapped and heading or tailing parts are copied to the original page
 * located in sender address space." - buffers at odd offsets, spanning
 * pages, arrive whole, and the bytes around them are left alone. */
TEST(phoenix_unaligned_buffers_leave_neighbours_alone)
{
	pid_t pid = h_fork(unaligned_server, NULL);
	size_t len = 3 * PG + 7;
	unsigned char *in = malloc(len + 64), *out = malloc(len + 64), *want = malloc(len);
	oid_t dev;
	msg_t msg;

	CHECK(in && out && want);
	px_wait("/unaligned", &dev);
	h_fill(in, len + 64, 1);
	memset(out, 0xee, len + 64);
	for (size_t k = 0; k < len; k++)
		want[k] = (unsigned char)(in[5 + k] ^ 0x5a);
	memset(&msg, 0, sizeof(msg));
	msg.i.data = in + 5;
	msg.i.size = len;
	msg.o.data = out + 3;
	msg.o.size = len;
	CHECK_OK(proc_send(dev.port, &msg));
	CHECK_MEM(out + 3, want, len);
	for (size_t k = 0; k < 3; k++)
		CHECK_EQ(out[k], 0xee);
	for (size_t k = len + 3; k < len + 64; k++)
		CHECK_EQ(out[k], 0xee);
	px_quit(dev.port, pid);
	free(in);
	free(out);
	free(want);
}

/* "If input or output data size is lower then page size and data fits
 * into the buffer used for application header passing the data is copied
 * instead of using virtual memory capabilities which provide extra
 * overhead for small messages." - small data and headers go through
 * inline, both ways, every size from 0 to 64. */
TEST(phoenix_small_data_copied_inline)
{
	pid_t pid = h_fork(unaligned_server, NULL);
	unsigned char in[64], out[64];
	oid_t dev;

	px_wait("/unaligned", &dev);
	h_fill(in, sizeof(in), 2);
	for (size_t n = 1; n <= 64; n++) {
		msg_t msg;

		memset(&msg, 0, sizeof(msg));
		msg.i.data = in;
		msg.i.size = n;
		msg.o.data = out;
		msg.o.size = n;
		CHECK_OK(proc_send(dev.port, &msg));
		for (size_t k = 0; k < n; k++)
			CHECK_EQ(out[k], in[k] ^ 0x5a);
	}
	px_quit(dev.port, pid);
}

static void *hold_caller_gone(void *arg)
{
	struct hold_arg *a = arg;
	msg_t msg;

	memset(&msg, 0, sizeof(msg));
	a->tag = proc_send(a->port, &msg);
	return NULL;
}

/* decision (rids): msgport's 64-bit rids are mapped to Phoenix's 32-bit
 * ones by a table: never 0, distinct while outstanding, answered once,
 * refused for another port and after portDestroy. */
TEST(phoenix_rid_table_32bit)
{
	struct hold_arg a = { 0 };
	pthread_t th;
	msg_t msg;
	msg_rid_t rid;
	u32 other;

	CHECK_OK(portCreate(&a.port));
	CHECK_OK(portCreate(&other));
	a.tag = 4;
	CHECK_OK(pthread_create(&th, NULL, hold_caller, &a));
	CHECK_OK(proc_recv(a.port, &msg, &rid));
	CHECK_NE(rid, 0);
	memset(&msg, 0, sizeof(msg));
	CHECK_ERR(proc_respond(other, &msg, rid), -ENOENT);	/* not its port */
	CHECK_ERR(proc_respond(a.port, &msg, rid + 1000), -ENOENT);
	{
		int answer = 40;

		msg.o.data = &answer;
		msg.o.size = sizeof(answer) + 1;	/* over the caller's buffer */
		CHECK_ERR(proc_respond(a.port, &msg, rid), -EMSGSIZE);
		msg.o.size = sizeof(answer);		/* the rid is still good */
		CHECK_OK(proc_respond(a.port, &msg, rid));
	}
	CHECK_ERR(proc_respond(a.port, &msg, rid), -ENOENT);	/* answered once */
	CHECK_OK(pthread_join(th, NULL));
	/* rids of a destroyed port are forgotten; its caller gets -EINVAL,
	 * the kernel's answer for a destroyed port */
	CHECK_OK(pthread_create(&th, NULL, hold_caller_gone, &a));
	CHECK_OK(proc_recv(a.port, &msg, &rid));
	portDestroy(a.port);
	CHECK_OK(pthread_join(th, NULL));
	CHECK_EQ(a.tag, -EINVAL);
	/* the kernel's proc_respond: no such port is -EINVAL, before the rid */
	CHECK_ERR(proc_respond(a.port, &msg, rid), -EINVAL);
	portDestroy(other);
}

#define N_OUTSTANDING 300

/* N one-way messages from a native sender (Phoenix has no one-way send). */
static void oneway_sender(void *arg)
{
	u32 port = *(u32 *)arg;

	for (int k = 0; k < N_OUTSTANDING; k++) {
		mp_msg_t m;

		h_msg_init(&m);
		CHECK_GE(mp_send_async(port, &m, MP_FOREVER), 0);
	}
}

/* decision (rids): many outstanding rids stay distinct; one-way messages
 * get a rid too, whose respond does nothing and which is used up. */
TEST(phoenix_rid_table_many_outstanding)
{
	enum { N = N_OUTSTANDING };
	msg_rid_t *rids = calloc(N, sizeof(*rids));
	u32 port;
	pid_t pid;

	CHECK(rids != NULL);
	CHECK_OK(portCreate(&port));
	pid = h_fork(oneway_sender, &port);
	for (int k = 0; k < N; k++) {
		msg_t msg;

		CHECK_OK(proc_recv(port, &msg, &rids[k]));
		for (int j = 0; j < k; j++)
			CHECK_NE(rids[j], rids[k]);
	}
	for (int k = 0; k < N; k++) {
		msg_t msg;

		memset(&msg, 0, sizeof(msg));
		CHECK_OK(proc_respond(port, &msg, rids[k]));
		CHECK_ERR(proc_respond(port, &msg, rids[k]), -ENOENT);
	}
	CHECK_EQ(h_reap(pid, 10000), 0);
	portDestroy(port);
	free(rids);
}

static void die_in_call(void *arg)
{
	u32 port;
	msg_t msg;
	msg_rid_t rid;

	(void)arg;
	CHECK_OK(portCreate(&port));
	CHECK_OK(portRegister(port, "/dying", NULL));
	CHECK_OK(proc_recv(port, &msg, &rid));
	_exit(0);
}

/* "Phoenix returns negative errno" (the interface's convention): each
 * failure is a negative errno value. */
TEST(phoenix_errors_are_negative_errno)
{
	pid_t pid = h_fork(die_in_call, NULL);
	oid_t file, dev;
	msg_t msg;
	msg_rid_t rid;
	u32 port;

	px_wait("/dying", &dev);
	memset(&msg, 0, sizeof(msg));
	/* a port that does not exist (any more) is -EINVAL, as the kernel
	 * answers (tests/test_phoenix_ns.c) */
	CHECK_ERR(proc_send(dev.port, &msg), -EINVAL);	/* the server died */
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_ERR(proc_send(dev.port, &msg), -EINVAL);	/* nobody listens */
	CHECK_ERR(proc_send(dev.port, NULL), -EINVAL);
	CHECK_ERR(proc_recv(dev.port, &msg, &rid), -EINVAL);	/* not ours */
	CHECK_OK(lookup("/dying", &file, &dev));	/* names stay: the kernel's rule */
	CHECK_OK(portUnregister("/dying"));
	CHECK_ERR(lookup("/dying", &file, &dev), -ENOENT);
	CHECK_ERR(lookup(NULL, &file, &dev), -EINVAL);
	CHECK_ERR(lookup("/x", NULL, NULL), -EINVAL);
	CHECK_ERR(lookup("relative", &file, &dev), -ENOENT);
	CHECK_OK(portCreate(&port));
	CHECK_ERR(portRegister(port, NULL, NULL), -EINVAL);
	CHECK_ERR(portUnregister(NULL), -EINVAL);
	CHECK_ERR(portUnregister("/never"), -ENOENT);
	msg.o.data = NULL;
	msg.o.size = 4;
	CHECK_ERR(proc_send(port, &msg), -EINVAL);	/* size without data */
	portDestroy(port);
}

/* decision (lookup): at most MP_LOOKUP_HOPS_MAX servers are asked
 * (-ELOOP); an answer that resolves more than it was given is -EPROTO; a
 * server's negative o.err is the lookup's error. */
TEST(phoenix_lookup_hop_limit_and_bad_answers)
{
	struct px_fs f;
	char path[128] = "/fs";
	oid_t file, dev;

	px_fs_start(&f);
	for (int k = 0; k < MP_LOOKUP_HOPS_MAX; k++)
		strcat(path, "/l");
	CHECK_OK(lookup(path, &file, &dev));	/* exactly the limit */
	CHECK_EQ(file.id, 12);
	strcat(path, "/l");
	CHECK_ERR(lookup(path, &file, &dev), -ELOOP);
	CHECK_ERR(lookup("/fs/bad", &file, &dev), -EPROTO);
	CHECK_ERR(lookup("/fs/none", &file, &dev), -ENOENT);
	px_fs_stop(&f);
}

/* Phoenix-RTOS kernel include/msg.h (current): the message type values. */
TEST(phoenix_message_type_values)
{
	CHECK_EQ(mtOpen, 0);
	CHECK_EQ(mtClose, 1);
	CHECK_EQ(mtRead, 2);
	CHECK_EQ(mtWrite, 3);
	CHECK_EQ(mtTruncate, 4);
	CHECK_EQ(mtDevCtl, 5);
	CHECK_EQ(mtCreate, 6);
	CHECK_EQ(mtDestroy, 7);
	CHECK_EQ(mtSetAttr, 8);
	CHECK_EQ(mtGetAttr, 9);
	CHECK_EQ(mtGetAttrAll, 10);
	CHECK_EQ(mtLookup, 11);
	CHECK_EQ(mtLink, 12);
	CHECK_EQ(mtUnlink, 13);
	CHECK_EQ(mtReaddir, 14);
	CHECK_EQ(mtLookup, MP_MT_LOOKUP);
	CHECK_EQ(sizeof(id_t), 8);
	CHECK_EQ(sizeof(((msg_t *)0)->i.raw), 64);
	CHECK_EQ(sizeof(((msg_t *)0)->o.raw), 64);
	CHECK_EQ(offsetof(oid_t, id), offsetof(mp_oid_t, id));
}

/* ---------------------------------------------- mount points (native) */

/* A native mount point server on the root "/": answers every lookup with
 * the length it was given and {port, strlen}. */
static void root_server(void *arg)
{
	struct px *s = arg;
	mp_port_t port;
	mp_oid_t me;

	CHECK_OK(mp_port_create(&port));
	me = (mp_oid_t){ .port = port, .id = 99 };
	CHECK_OK(mp_mount_register(&me, "/", 0666));
	s->port[0] = port;
	atomic_store(&s->step, 1);
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		mp_lookup_reply_t rep;

		CHECK_EQ(mp_recv(port, &m, &rid, MP_FOREVER), 0);
		if (m.type == PHX_QUIT) {
			CHECK_OK(mp_respond(port, &m, rid));
			break;
		}
		CHECK_EQ(m.type, MP_MT_LOOKUP);
		CHECK_EQ(m.oid.id, 99);
		memset(&rep, 0, sizeof(rep));
		rep.file = rep.dev = (mp_oid_t){ .port = port, .id = m.i.size - 1 };
		memcpy(m.o.raw, &rep, sizeof(rep));
		m.o.err = (int32_t)(m.i.size - 1);
		m.o.size = 0;
		CHECK_OK(mp_respond(port, &m, rid));
	}
	CHECK_OK(mp_port_destroy(port));
}

/* decision (mounting): "/" may be a mount point (a root file server,
 * Phoenix's portRegister(port, "/", &oid)): paths without a registered
 * prefix are asked of it; registered entries still win. */
TEST(mount_root_file_server)
{
	struct px *s = px_new();
	pid_t pid = h_fork(root_server, s);
	mp_oid_t file, dev, oid;
	mp_port_t mine;
	mp_msg_t m;

	CHECK(h_wait_ge(&s->step, 1, 10000));
	CHECK_OK(mp_lookup_dev("/", &file, &dev));
	CHECK_EQ(file.port, s->port[0]);
	CHECK_EQ(file.id, 99);
	CHECK_ERR(mp_lookup("/", &oid), -EINVAL);	/* no entry name */
	CHECK_OK(mp_lookup("/abc/de", &oid));
	CHECK_EQ(oid.port, s->port[0]);
	CHECK_EQ(oid.id, 6);
	CHECK_OK(mp_port_create(&mine));
	CHECK_OK(mp_port_register(mine, "/abc/mine", 0666));
	CHECK_OK(mp_lookup("/abc/mine", &oid));
	CHECK_EQ(oid.port, mine);
	CHECK_OK(mp_lookup("/abc", &oid));	/* a directory of entries: the root server */
	CHECK_EQ(oid.port, s->port[0]);
	CHECK_OK(mp_port_destroy(mine));
	h_msg_init(&m);
	m.type = PHX_QUIT;
	CHECK_OK(mp_send(s->port[0], &m, MP_FOREVER));
	CHECK_EQ(h_reap(pid, 10000), 0);
	CHECK_ERR(mp_lookup("/abc/de", &oid), -ENOENT);	/* gone with its port */
	CHECK_ERR(mp_lookup_dev("/", &file, &dev), -ENOENT);
}

/* Counts "/" and "/m" as mount points, and plain entries in n[2]. */
static int list_count(const mp_ns_entry_t *e, void *arg)
{
	int *n = arg;
	bool mount = e->flags & MP_NS_ENTRY_MOUNT;

	CHECK_EQ(e->flags & ~MP_NS_ENTRY_MOUNT, 0);
	if (strcmp(e->path, "/") == 0 && mount)
		n[0]++;
	else if (strcmp(e->path, "/m") == 0 && mount)
		n[1]++;
	else if (!mount)
		n[2]++;
	return 0;
}

/* decision (mounting): a mount point is an entry: nothing can be
 * registered below it, it cannot sit on a directory of entries, plain
 * entries have nothing below them, it is listed, unregistered and
 * destroyed like any entry. */
TEST(mount_points_are_entries)
{
	mp_port_t port;
	mp_oid_t me, oid, file;
	int n[3] = { 0, 0, 0 };

	CHECK_OK(mp_port_create(&port));
	me = (mp_oid_t){ .port = port, .id = 1 };
	CHECK_OK(mp_mount_register(&me, "/m", 0666));
	CHECK_ERR(mp_mount_register(&me, "/m", 0666), -EEXIST);
	CHECK_ERR(mp_port_register(port, "/m/below", 0666), -EEXIST);
	CHECK_OK(mp_port_register(port, "/d/entry", 0666));
	CHECK_ERR(mp_mount_register(&me, "/d", 0666), -EEXIST);
	CHECK_ERR(mp_lookup("/d/entry/below", &oid), -ENOENT);
	CHECK_OK(mp_lookup("/m", &oid));
	CHECK_EQ(oid.id, 1);
	CHECK_ERR(mp_mount_register(&me, "/m//x", 0666), -EINVAL);
	CHECK_ERR(mp_mount_register(NULL, "/x", 0666), -EINVAL);
	CHECK_ERR(mp_lookup_dev("/m", NULL, NULL), -EINVAL);
	CHECK_OK(mp_port_unregister("/m"));
	CHECK_ERR(mp_lookup("/m", &oid), -ENOENT);
	CHECK_OK(mp_mount_register(&me, "/m", 0666));
	/* (no lookup below "/" from here on: this thread serves nothing) */
	CHECK_OK(mp_mount_register(&me, "/", 0666));
	CHECK_OK(mp_ns_list("/", list_count, n));
	CHECK_EQ(n[0], 1);
	CHECK_EQ(n[1], 1);
	CHECK_EQ(n[2], 1);	/* "/d/entry", listed as no mount point */
	CHECK_OK(mp_lookup_dev("/", &file, NULL));
	CHECK_EQ(file.port, port);
	CHECK_ERR(mp_port_unregister("/"), -EINVAL);	/* goes with its port */
	CHECK_OK(mp_port_destroy(port));
	CHECK_ERR(mp_lookup_dev("/", &file, NULL), -ENOENT);
	CHECK_ERR(mp_lookup("/d/entry", &oid), -ENOENT);
	CHECK_ERR(mp_lookup("/m", &oid), -ENOENT);
}

static void mount_deny_child(void *arg)
{
	mp_oid_t oid;

	(void)arg;
	CHECK_ERR(mp_lookup("/closed/x", &oid), -EACCES);
}

/* decision (mounting): the mount point's mode gates lookups below it
 * (read bits), checked before its server is asked. */
TEST(mount_point_mode_applies_below)
{
	mp_port_t port;
	mp_oid_t me;

	CHECK_OK(mp_port_create(&port));
	me = (mp_oid_t){ .port = port };
	CHECK_OK(mp_mount_register(&me, "/closed", 0200));
	CHECK_EQ(h_reap(h_fork(mount_deny_child, NULL), 10000), 0);
	CHECK_OK(mp_port_destroy(port));
}

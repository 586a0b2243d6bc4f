/* SPDX-License-Identifier: MIT */
/*
 * What model/port.pml -DBUSY finds, on the real library: two receiving
 * threads asleep on a ring port; a client sends two one-way messages back
 * to back; the thread that wakes takes the first and (its handler) waits
 * for the second to be handled by the other thread.  With the protocol as
 * written only one wake-up is delivered (both doorbell writes land before
 * the first epoll_wait collects the edge), so the second message waits
 * until the first handler gives up.
 *
 *   make && cc -std=c11 -D_GNU_SOURCE -Iinclude model/demo/stranded.c \
 *       build/libmsgport.a -pthread -o build/stranded && build/stranded
 *
 * Exit status 0: the second message was served while the first handler
 * waited; 1: it was stranded (the first handler timed out); 2: setup error.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msgport.h"

static mp_port_t port;
static sem_t second_done;
static int blocker_timed_out = -1;
static double second_at_ms = -1, first_at_ms = -1;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *receiver(void *arg)
{
	(void)arg;
	for (;;) {
		mp_msg_t m;
		mp_rid_t rid;
		int r = mp_recv(port, &m, &rid, 4000000000LL);

		if (r < 0)
			return NULL;	/* timeout or destroyed: done */
		if (m.type == 1) {	/* the handler that waits for message 2 */
			struct timespec dl;

			first_at_ms = now_ms();
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_sec += 2;
			blocker_timed_out = sem_timedwait(&second_done, &dl) != 0;
		} else if (m.type == 2) {
			second_at_ms = now_ms();
			sem_post(&second_done);
		}
	}
}

static int client(void)
{
	mp_msg_t m;

	memset(&m, 0, sizeof(m));
	m.type = 0;	/* warm-up: connection set up, ring attached */
	if (mp_send_async(port, &m, MP_FOREVER) < 0)
		return 2;
	usleep(300000);	/* both receivers spin out and sleep */
	m.type = 1;
	if (mp_send_async(port, &m, MP_FOREVER) < 0)
		return 2;
	m.type = 2;
	if (mp_send_async(port, &m, MP_FOREVER) < 0)
		return 2;
	usleep(2500000);	/* stay connected: a hang-up would wake a receiver */
	return 0;
}

int main(void)
{
	char root[] = "/tmp/mp-stranded-XXXXXX";
	mp_port_opts_t o = { .sz = sizeof(o), .transport = MP_TRANSPORT_RING };
	pthread_t th[2];
	pid_t pid;
	int st;

	if (!mkdtemp(root) || setenv("MSGPORT_ROOT", root, 1) != 0)
		return 2;
	sem_init(&second_done, 0, 0);
	if (mp_port_create_opts(&port, &o) < 0)
		return 2;
	for (int k = 0; k < 2; k++)
		pthread_create(&th[k], NULL, receiver, NULL);
	usleep(100000);
	pid = fork();
	if (pid == 0)
		_exit(client());
	waitpid(pid, &st, 0);
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	mp_port_destroy(port);
	printf("client exit %d; first handler %s; message 2 served %.3f ms after message 1\n",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	       blocker_timed_out == 1 ? "TIMED OUT waiting for message 2" :
	       blocker_timed_out == 0 ? "saw message 2 served" : "never ran",
	       second_at_ms - first_at_ms);
	return blocker_timed_out == 1 ? 1 : (blocker_timed_out == 0 ? 0 : 2);
}

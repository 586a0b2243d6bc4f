/* SPDX-License-Identifier: MIT */
#include "conn/tls.h"

#include <pthread.h>
#include <stdlib.h>

#include "mem/data.h"
#include "os/shm.h"

unsigned mp_fork_gen;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
__thread struct mp_tls *mp_tls_cur __attribute__((tls_model("initial-exec")));
/* Every thread's state, for mp_tls_foreach(); tls_list_lock is a leaf. */
static pthread_mutex_t tls_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mp_tls *tls_list;

void mp_tls_foreach(void (*fn)(struct mp_tls *, void *), void *arg)
{
	pthread_mutex_lock(&tls_list_lock);
	for (struct mp_tls *t = tls_list; t; t = t->next)
		fn(t, arg);
	pthread_mutex_unlock(&tls_list_lock);
}

static void tls_list_remove(struct mp_tls *tls)
{
	pthread_mutex_lock(&tls_list_lock);
	for (struct mp_tls **pp = &tls_list; *pp; pp = &(*pp)->next) {
		if (*pp == tls) {
			*pp = tls->next;
			break;
		}
	}
	pthread_mutex_unlock(&tls_list_lock);
}

void mp_tls_oneway_release(struct mp_tls *tls)
{
	if (!tls)
		return;
	if (tls->ow_mapped)
		mp_data_unmap(tls->ow_data, tls->ow_size);
	else
		free(tls->ow_data);
	tls->ow_data = NULL;
	tls->ow_size = 0;
	tls->ow_mapped = 0;
}

void mp_tls_oneway_set(struct mp_tls *tls, void *data, size_t size, int mapped)
{
	mp_tls_oneway_release(tls);
	tls->ow_data = data;
	tls->ow_size = size;
	tls->ow_mapped = mapped;
}

/* Set by the connection cache (conn/cconn.c), which owns tls->conns. */
static void (*_Atomic tls_exit_hook)(struct mp_tls *);

void mp_tls_on_thread_exit(void (*fn)(struct mp_tls *))
{
	store_relaxed(&tls_exit_hook, fn);
}

static void tls_destroy(void *arg)
{
	struct mp_tls *tls = arg;
	void (*hook)(struct mp_tls *) = load_relaxed(&tls_exit_hook);

	mp_tls_oneway_release(tls);
	if (hook)
		hook(tls);
	tls_list_remove(tls);
	free(tls->rxbuf);
	free(tls);
	mp_tls_cur = NULL;
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&tls_list_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&tls_list_lock);
}

/* The child has one thread: the others' states are left as they are (not
 * freed: their threads do not exist here) but leave the list. */
static void fork_child(void)
{
	mp_fork_gen++;
	tls_list = mp_tls_cur;
	if (mp_tls_cur)
		mp_tls_cur->next = NULL;
	pthread_mutex_unlock(&tls_list_lock);
}

static void tls_init_once(void)
{
	pthread_key_create(&tls_key, tls_destroy);
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

struct mp_tls *mp_tls_peek(void)
{
	return mp_tls_cur;
}

struct mp_tls *mp_tls_create(void)
{
	struct mp_tls *tls = mp_tls_cur;

	if (tls)
		return tls;
	pthread_once(&tls_once, tls_init_once);
	tls = calloc(1, sizeof(*tls));
	if (!tls)
		return NULL;
	tls->rxbuf = malloc(MP_TLS_RXBUF);
	if (!tls->rxbuf || pthread_setspecific(tls_key, tls) != 0) {
		free(tls->rxbuf);
		free(tls);
		return NULL;
	}
	mp_tls_cur = tls;
	pthread_mutex_lock(&tls_list_lock);
	tls->next = tls_list;
	tls_list = tls;
	pthread_mutex_unlock(&tls_list_lock);
	return tls;
}

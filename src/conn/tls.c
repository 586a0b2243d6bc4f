/* SPDX-License-Identifier: MIT */
#include "conn/tls.h"

#include <pthread.h>
#include <stdlib.h>

#include "conn/cconn.h"
#include "mem/data.h"
#include "conn/port.h"

unsigned mp_fork_gen;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static __thread struct mp_tls *tls_cur;

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

static void tls_destroy(void *arg)
{
	struct mp_tls *tls = arg;

	mp_tls_oneway_release(tls);
	mp_cconn_close_all(tls);
	free(tls->rxbuf);
	free(tls);
	tls_cur = NULL;
}

static void fork_child(void)
{
	mp_fork_gen++;
	mp_ports_forget_after_fork();
}

static void tls_init_once(void)
{
	pthread_key_create(&tls_key, tls_destroy);
	pthread_atfork(mp_ports_atfork_prepare, mp_ports_atfork_parent, fork_child);
}

void mp_lib_init(void)
{
	pthread_once(&tls_once, tls_init_once);
}

struct mp_tls *mp_tls_peek(void)
{
	return tls_cur;
}

struct mp_tls *mp_tls_get(void)
{
	struct mp_tls *tls = tls_cur;

	if (tls)
		return tls;
	mp_lib_init();
	tls = calloc(1, sizeof(*tls));
	if (!tls)
		return NULL;
	tls->rxbuf = malloc(MP_TLS_RXBUF);
	if (!tls->rxbuf || pthread_setspecific(tls_key, tls) != 0) {
		free(tls->rxbuf);
		free(tls);
		return NULL;
	}
	tls_cur = tls;
	return tls;
}

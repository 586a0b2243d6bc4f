/* SPDX-License-Identifier: MIT */
/* The soak's server: one port and one receiving thread per client group. */
#include "soak.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct srv {
	unsigned idx;
	mp_port_t port;
	unsigned senders, fins;		/* senders of this port; FINs seen */
};

/* The fds of a message: each the file the sender named. */
static void check_fds(const mp_msg_t *m, const struct soak_hdr *h)
{
	struct stat st;

	SOAK_CHECK(m->i.nfds == h->nfds, "sender %u seq %llu: %u fds, sent %u", h->sender,
		   (unsigned long long)h->seq, m->i.nfds, h->nfds);
	for (unsigned k = 0; k < m->i.nfds; k++) {
		SOAK_CHECK(fstat(m->i.fds[k], &st) == 0, "fstat a received fd");
		SOAK_CHECK(st.st_ino == h->ino[k] && st.st_dev == soak_sh->file_dev,
			   "sender %u seq %llu: fd %u is inode %llu, sent %llu", h->sender,
			   (unsigned long long)h->seq, k, (unsigned long long)st.st_ino,
			   (unsigned long long)h->ino[k]);
		close(m->i.fds[k]);
	}
}

/* One message's header, sequence, data and fds: what the sender sent. */
static void check_in(struct srv *s, const mp_msg_t *m, int r, struct soak_hdr *h)
{
	enum soak_kind k;
	uint64_t rnd;
	uint32_t want_flags;

	memcpy(h, m->i.raw, sizeof *h);
	SOAK_CHECK(h->magic == SOAK_MAGIC, "port %u: bad magic %#x", s->idx, h->magic);
	SOAK_CHECK(h->sender < SOAK_MAX_SENDERS && h->sender % soak_sh->cfg.ports == s->idx,
		   "port %u: sender %u", s->idx, h->sender);
	k = h->kind;
	if (k == K_PING) {
		SOAK_CHECK(r == 0 && m->i.nfds == 0 && m->i.size == 0, "bad ping");
		return;
	}
	uint64_t *seen = &soak_sh->seen[h->sender];
	SOAK_CHECK(h->seq == *seen, "sender %u: seq %llu arrived, expected %llu (%s)", h->sender,
		   (unsigned long long)h->seq, (unsigned long long)*seen,
		   h->seq < *seen ? "duplicate or reordered" : "lost or reordered");
	(*seen)++;
	if (k == K_FIN)
		return;
	rnd = soak_rand(h->sender, h->seq);
	SOAK_CHECK(k == soak_pick(h->sender, h->seq), "sender %u seq %llu: kind %u", h->sender,
		   (unsigned long long)h->seq, k);
	SOAK_CHECK((r == 0) == soak_is_call(k), "sender %u seq %llu: kind %u, recv %d",
		   h->sender, (unsigned long long)h->seq, k, r);
	SOAK_CHECK(m->i.size == soak_in_len(k, rnd) && h->len == m->i.size,
		   "sender %u seq %llu: %zu bytes, sent %u", h->sender,
		   (unsigned long long)h->seq, m->i.size, h->len);
	SOAK_CHECK(soak_check(m->i.data, m->i.size, h->sender, h->seq, 1) == 0,
		   "sender %u seq %llu kind %u: data differ", h->sender,
		   (unsigned long long)h->seq, k);
	want_flags = k == K_CALL_MOVE || k == K_ASYNC_MOVE ? MP_MOVE
		: k == K_CALL_SHARE || k == K_ASYNC_SHARE ? MP_SHARE : 0;
	SOAK_CHECK((m->flags & (MP_MOVE | MP_SHARE)) == want_flags,
		   "sender %u seq %llu kind %u: flags %#x", h->sender,
		   (unsigned long long)h->seq, k, m->flags);
	check_fds(m, h);
	atomic_fetch_add_explicit(&soak_sh->kinds[k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&soak_sh->fds, m->i.nfds, memory_order_relaxed);
	if (want_flags)
		atomic_fetch_add_explicit(&soak_sh->pages_bytes, m->i.size, memory_order_relaxed);
	if (k == K_CALL_LONG)
		atomic_fetch_add_explicit(&soak_sh->long_bytes, m->i.size, memory_order_relaxed);
}

/* The answer: header back with the count, a pattern, pages or an fd. */
static void answer(struct srv *s, mp_msg_t *m, mp_rid_t rid, const struct soak_hdr *in)
{
	struct soak_hdr h = *in;
	enum soak_kind k = in->kind;
	uint64_t rnd = soak_rand(in->sender, in->seq);
	size_t len = k == K_PING || k == K_FIN ? 0 : soak_out_len(k, rnd);
	void *pages = NULL;
	int err;

	SOAK_CHECK(len <= m->o.size, "answer of %zu bytes, capacity %zu", len, m->o.size);
	h.count = k == K_PING ? 0 : soak_sh->seen[in->sender];
	h.len = (uint32_t)len;
	h.nfds = k == K_CALL_FDS;
	memcpy(m->o.raw, &h, sizeof h);
	/* o.data: the library's buffer (bulk area on hybrid), or the pages
	 * lent for K_CALL_SHARE; flags as mp_recv() left them */
	if (k == K_CALL_MOVE) {
		pages = mp_pages_alloc(len);
		SOAK_CHECK(pages, "mp_pages_alloc(%zu) for an answer", len);
		m->o.data = pages;
		m->flags = MP_MOVE;
	}
	soak_fill(m->o.data, len, in->sender, in->seq, 2);
	m->o.size = len;
	m->o.err = 0;
	m->o.nfds = h.nfds;
	m->o.fds[0] = soak_sh->file_fd[SOAK_FILES];
	err = mp_respond(s->port, m, rid);
	SOAK_CHECK(err == 0, "mp_respond: %s", mp_strerror(err));
}

static void *serve(void *arg)
{
	struct srv *s = arg;
	struct soak_hdr h;
	mp_msg_t m;
	mp_rid_t rid;

	while (s->fins < s->senders) {
		memset(&m, 0, sizeof m);
		int r = mp_recv(s->port, &m, &rid, MP_FOREVER);

		SOAK_CHECK(r == 0 || r == 1, "port %u: mp_recv: %s", s->idx, mp_strerror(r));
		check_in(s, &m, r, &h);
		if (r == 0)
			answer(s, &m, rid, &h);
		s->fins += h.kind == K_FIN;
	}
	return NULL;
}

static void warm_up(void)
{
	mp_port_t p;
	void *pg;

	SOAK_CHECK(mp_port_create(&p) == 0, "warm-up port");
	SOAK_CHECK(mp_port_destroy(p) == 0, "warm-up destroy");
	pg = mp_pages_alloc(4096);
	SOAK_CHECK(pg && mp_pages_free(pg, 4096) == 0, "warm-up pages");
}

void soak_server(void)
{
	const struct soak_cfg *c = &soak_sh->cfg;
	unsigned nsend = c->procs * c->threads;
	struct srv srv[SOAK_MAX_PORTS];
	pthread_t th[SOAK_MAX_PORTS];
	struct soak_res before;
	char path[64];
	int err;

	warm_up();
	soak_res_take(&before);
	for (unsigned i = 0; i < c->ports; i++) {
		srv[i] = (struct srv){ .idx = i, .senders = nsend / c->ports +
				       (i < nsend % c->ports) };
		err = mp_port_create(&srv[i].port);
		SOAK_CHECK(err == 0, "mp_port_create: %s", mp_strerror(err));
		err = mp_port_register(srv[i].port, soak_port_path(i, path), 0666);
		SOAK_CHECK(err == 0, "mp_port_register: %s", mp_strerror(err));
	}
	for (unsigned i = 0; i < c->ports; i++)
		SOAK_CHECK(pthread_create(&th[i], NULL, serve, &srv[i]) == 0, "pthread_create");
	atomic_store(&soak_sh->ready, 1);
	for (unsigned i = 0; i < c->ports; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < c->ports; i++) {
		err = mp_port_destroy(srv[i].port);
		SOAK_CHECK(err == 0, "mp_port_destroy: %s", mp_strerror(err));
	}
	soak_res_compare("server", &before);
}

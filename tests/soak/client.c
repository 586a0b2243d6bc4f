/* SPDX-License-Identifier: MIT */
/* The soak's clients: threads of one process, each a sender of its own. */
#include "soak.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cli {
	uint32_t sender;
	mp_port_t port;
	unsigned char *in, *out;	/* ordinary buffers: SOAK_LONG_MAX each */
	void *shared;			/* this thread's pages for K_CALL_SHARE */
	unsigned char *lent;		/* and those it lends for the answer */
};

/* The input data: ordinary memory, or pages as the kind says. */
static void *input(struct cli *c, enum soak_kind k, size_t len, uint64_t seq, uint32_t *flags)
{
	void *p = c->in;

	*flags = 0;
	if (k == K_CALL_SHARE) {
		p = c->shared;
		*flags = MP_SHARE;
	} else if (k == K_CALL_MOVE || k == K_ASYNC_MOVE || k == K_ASYNC_SHARE) {
		p = mp_pages_alloc(len);
		SOAK_CHECK(p, "mp_pages_alloc(%zu)", len);
		*flags = k == K_ASYNC_SHARE ? MP_SHARE : MP_MOVE;
	}
	soak_fill(p, len, c->sender, seq, 1);
	return p;
}

static void check_reply(struct cli *c, const mp_msg_t *m, enum soak_kind k, uint64_t seq)
{
	struct soak_hdr h;
	struct stat st;
	uint64_t rnd = soak_rand(c->sender, seq);
	size_t len = k == K_FIN ? 0 : soak_out_len(k, rnd);

	memcpy(&h, m->o.raw, sizeof h);
	SOAK_CHECK(m->o.err == 0, "sender %u seq %llu: o.err %d", c->sender,
		   (unsigned long long)seq, m->o.err);
	SOAK_CHECK(h.magic == SOAK_MAGIC && h.sender == c->sender && h.seq == seq && h.kind == k,
		   "sender %u seq %llu: reply for sender %u seq %llu kind %u", c->sender,
		   (unsigned long long)seq, h.sender, (unsigned long long)h.seq, h.kind);
	SOAK_CHECK(h.count == seq + 1, "sender %u seq %llu: the server saw %llu messages",
		   c->sender, (unsigned long long)seq, (unsigned long long)h.count);
	SOAK_CHECK(m->o.size == len, "sender %u seq %llu: reply of %zu bytes, %zu expected",
		   c->sender, (unsigned long long)seq, m->o.size, len);
	SOAK_CHECK(soak_check(m->o.data, len, c->sender, seq, 2) == 0,
		   "sender %u seq %llu kind %u: reply data differ", c->sender,
		   (unsigned long long)seq, k);
	SOAK_CHECK(m->o.nfds == (k == K_CALL_FDS), "sender %u seq %llu: %u fds back",
		   c->sender, (unsigned long long)seq, m->o.nfds);
	for (unsigned i = 0; i < m->o.nfds; i++) {
		SOAK_CHECK(fstat(m->o.fds[i], &st) == 0, "fstat a reply fd");
		SOAK_CHECK(st.st_ino == soak_sh->file_ino[SOAK_FILES] &&
			   st.st_dev == soak_sh->file_dev,
			   "sender %u seq %llu: reply fd is inode %llu", c->sender,
			   (unsigned long long)seq, (unsigned long long)st.st_ino);
		close(m->o.fds[i]);
	}
}

/* Send message seq (of the mix, or FIN) and check what comes back. */
static void one(struct cli *c, uint64_t seq, int fin)
{
	enum soak_kind k = fin ? K_FIN : soak_pick(c->sender, seq);
	uint64_t rnd = soak_rand(c->sender, seq);
	size_t len = fin ? 0 : soak_in_len(k, rnd);
	struct soak_hdr h = { .magic = SOAK_MAGIC, .sender = c->sender, .seq = seq, .kind = k,
			      .len = (uint32_t)len, .nfds = fin ? 0 : soak_nfds(k, rnd) };
	unsigned char *canary;
	size_t out_len;
	mp_msg_t m;
	int r;

	memset(&m, 0, sizeof m);
	m.type = 1;
	m.i.data = input(c, k, len, seq, &m.flags);
	m.i.size = len;
	m.i.nfds = h.nfds;
	for (unsigned i = 0; i < h.nfds; i++) {
		unsigned f = (unsigned)(rnd >> (8 * i)) % SOAK_FILES;

		m.i.fds[i] = soak_sh->file_fd[f];
		h.ino[i] = soak_sh->file_ino[f];
	}
	memcpy(m.i.raw, &h, sizeof h);
	if (!soak_is_call(k)) {
		r = mp_send_async(c->port, &m, MP_FOREVER);
		SOAK_CHECK(r == 0 || r == 1, "sender %u seq %llu: mp_send_async: %s", c->sender,
			   (unsigned long long)seq, mp_strerror(r));
		if (k == K_ASYNC_SHARE)
			SOAK_CHECK(mp_pages_free(m.i.data, len) == 0, "free shared pages");
		return;
	}
	/* K_CALL_SHARE lends pages for the answer; else an ordinary buffer,
	 * whose byte past the answer must stay as it was */
	m.o.data = k == K_CALL_SHARE ? c->lent : c->out;
	m.o.size = k == K_CALL_SHARE ? SOAK_PAGES_MAX : SOAK_LONG_MAX;
	out_len = k == K_FIN ? 0 : soak_out_len(k, rnd);
	canary = (unsigned char *)m.o.data + out_len;
	*canary = (unsigned char)(0xa5 ^ seq);
	r = mp_send(c->port, &m, MP_FOREVER);
	SOAK_CHECK(r == 0, "sender %u seq %llu kind %u: mp_send: %s", c->sender,
		   (unsigned long long)seq, k, mp_strerror(r));
	check_reply(c, &m, k, seq);
	SOAK_CHECK(*canary == (unsigned char)(0xa5 ^ seq),
		   "sender %u seq %llu kind %u: the byte past the answer changed", c->sender,
		   (unsigned long long)seq, k);
}

static void *run(void *arg)
{
	struct cli *c = arg;
	const struct soak_cfg *cfg = &soak_sh->cfg;
	uint64_t seq = 0;

	c->in = malloc(SOAK_LONG_MAX);
	c->out = malloc(SOAK_LONG_MAX);
	c->shared = mp_pages_alloc(SOAK_PAGES_MAX);
	c->lent = mp_pages_alloc(SOAK_PAGES_MAX + 1);	/* + 1: room for the canary */
	SOAK_CHECK(c->in && c->out && c->shared && c->lent, "client buffers");
	for (;;) {
		if (cfg->quota && seq >= cfg->quota)
			break;
		if (cfg->deadline_ns && !(seq & 63) && soak_now_ns() >= cfg->deadline_ns)
			break;
		one(c, seq++, 0);
		soak_sh->sent[c->sender] = seq;
	}
	one(c, seq, 1);
	SOAK_CHECK(mp_pages_free(c->shared, SOAK_PAGES_MAX) == 0, "free the shared pages");
	SOAK_CHECK(mp_pages_free(c->lent, SOAK_PAGES_MAX + 1) == 0, "free the lent pages");
	free(c->in);
	free(c->out);
	return NULL;
}

/* Every port once from this thread, unsequenced: what the library keeps
 * for the life of the process is there before the "before" count. */
static void ping(mp_port_t port, uint32_t sender)
{
	struct soak_hdr h = { .magic = SOAK_MAGIC, .sender = sender, .kind = K_PING };
	mp_msg_t m;
	int r;

	memset(&m, 0, sizeof m);
	memcpy(m.i.raw, &h, sizeof h);
	r = mp_send(port, &m, MP_FOREVER);
	SOAK_CHECK(r == 0, "ping: %s", mp_strerror(r));
}

void soak_client(unsigned proc)
{
	const struct soak_cfg *cfg = &soak_sh->cfg;
	struct cli cli[SOAK_MAX_SENDERS];
	pthread_t th[SOAK_MAX_SENDERS];
	mp_port_t ports[SOAK_MAX_PORTS];
	struct soak_res before;
	mp_oid_t oid;
	char path[64];
	void *pg;

	for (unsigned i = 0; i < cfg->ports; i++) {
		int err = mp_lookup(soak_port_path(i, path), &oid);

		SOAK_CHECK(err == 0, "mp_lookup %s: %s", path, mp_strerror(err));
		ports[i] = oid.port;
		ping(ports[i], i);
	}
	pg = mp_pages_alloc(4096);
	SOAK_CHECK(pg && mp_pages_free(pg, 4096) == 0, "warm-up pages");
	soak_res_take(&before);
	for (unsigned t = 0; t < cfg->threads; t++) {
		cli[t] = (struct cli){ .sender = proc * cfg->threads + t };
		cli[t].port = ports[cli[t].sender % cfg->ports];
		SOAK_CHECK(pthread_create(&th[t], NULL, run, &cli[t]) == 0, "pthread_create");
	}
	for (unsigned t = 0; t < cfg->threads; t++)
		pthread_join(th[t], NULL);
	soak_res_compare("client", &before);
}

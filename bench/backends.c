/* backends.c - the table of measured cases, in run order: the baselines
 * and peers first, then msgport's transports (mp_backend.c).
 *
 * To add a transport: define a `const struct pp_backend` in its own file
 * (see pingpong.h), declare it here, list it below, and add the file to
 * BENCH_SRCS in bench.mk. The harness needs no other change: it runs every
 * backend in every placement and part its flags allow, and reports it
 * against the baselines (PP_BASE_*) and, if it is PP_SUBJECT, against
 * every peer (PP_PEER).
 */
#include "pingpong.h"

extern const struct pp_backend pp_backend_spin;
extern const struct pp_backend pp_backend_yield;
extern const struct pp_backend pp_backend_futex;
extern const struct pp_backend pp_backend_ring;
extern const struct pp_backend pp_backend_pipe;
extern const struct pp_backend pp_backend_unix_stream;
extern const struct pp_backend pp_backend_unix_seqpacket;
extern const struct pp_backend pp_backend_iceoryx_poll;
extern const struct pp_backend pp_backend_iceoryx_waitset;
extern const struct pp_backend pp_backend_mp_sock;
extern const struct pp_backend pp_backend_mp_ring;
extern const struct pp_backend pp_backend_mp_hybrid;
extern const struct pp_backend pp_backend_mp_sock_block;
extern const struct pp_backend pp_backend_mp_ring_block;
extern const struct pp_backend pp_backend_mp_hybrid_block;

const struct pp_backend *const pp_backends[] = {
	&pp_backend_spin,		/* baseline: cross-core latency */
	&pp_backend_yield,		/* baseline: same-core latency */
	&pp_backend_futex,		/* baseline: blocking latency */
	&pp_backend_ring,		/* baseline: throughput */
	&pp_backend_pipe,
	&pp_backend_unix_stream,
	&pp_backend_unix_seqpacket,
	&pp_backend_iceoryx_poll,	/* adjacent, so RouDi runs only during these */
	&pp_backend_iceoryx_waitset,
	&pp_backend_mp_sock,		/* msgport: the cases under test */
	&pp_backend_mp_ring,
	&pp_backend_mp_hybrid,		/* the default transport */
	&pp_backend_mp_sock_block,
	&pp_backend_mp_ring_block,
	&pp_backend_mp_hybrid_block,
};

const size_t pp_nbackends = sizeof(pp_backends) / sizeof(pp_backends[0]);

/* SPDX-License-Identifier: MIT */
/*
 * The one way to touch memory that another process writes (rings, the
 * port page, the port file's page): every load and store of such a field
 * goes through one of these accessors, and every acquire, release or
 * fence names in a comment the protocol point it implements and what it
 * pairs with (the points are labelled in proto/ring.h).
 *
 * Naming mark: fields that live in shared memory are named shm_*, and
 * are _Atomic; a shm_ field is only ever touched through an accessor
 * (scripts/check-layers.sh checks it).  Bulk data (slot bytes, bulk
 * areas, pages) is copied with memcpy between the accessors that order it.
 *
 * The accessors are type-generic: they take a pointer to any _Atomic
 * integer.
 */
#ifndef MP_SHM_H
#define MP_SHM_H

#include <stdatomic.h>

/* Ordered loads and stores: pair an acquire with the release it reads. */
#define load_acquire(p) atomic_load_explicit((p), memory_order_acquire)
#define store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)

/* Unordered: hints (a CPU number) and counters whose ordering comes
 * from a fence or another acquire/release next to them. */
#define load_relaxed(p) atomic_load_explicit((p), memory_order_relaxed)
#define store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define fetch_add_relaxed(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)

/* A read-modify-write that is also a full fence (x86: one locked add):
 * the publish half of a Dekker handshake in a single instruction. */
#define fetch_add_fence(p, v) atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)

/* The Dekker fence between "publish mine" and "read the other's flag". */
static inline void full_fence(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

/* A spin-wait hint for the CPU while polling shared memory. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#endif

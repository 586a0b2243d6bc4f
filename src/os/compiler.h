/* SPDX-License-Identifier: MIT */
/* Compiler helpers shared by every source file. */
#ifndef MP_COMPILER_H
#define MP_COMPILER_H

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define MP_COLD __attribute__((cold, noinline))
#define MP_HIDDEN __attribute__((visibility("hidden")))
#define MP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MP_CACHELINE 64

#endif

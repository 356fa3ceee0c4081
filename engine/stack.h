/* SPDX-License-Identifier: MIT */
/*
 * Fiber stacks: mmap'd, with a guard region below, cached per loop.
 * Guards are installed with MADV_GUARD_INSTALL where the kernel has it (6.13+): no VMA is split,
 * so adjacent stacks merge into one mapping and vm.max_map_count stops limiting the fiber count.
 * Older kernels get an mprotect(PROT_NONE) guard: two VMAs per stack, so the default
 * vm.max_map_count of 65530 allows about 32 000 live fibers.
 */
#ifndef WEFT_ENGINE_STACK_H
#define WEFT_ENGINE_STACK_H

#include <stddef.h>

struct weft_loop;
struct weft_task;
struct weft__stack_chunk;

#define WEFT__STACK_GUARD (64 * 1024) /* address space only: guards cost no memory */
#define WEFT__STACK_MIN	  (16 * 1024)
#define WEFT__STACK_MAX	  ((size_t)1 << 30)

/* Give @task a stack of @size usable bytes (0: the loop's default). Returns 0 or -ENOMEM. */
int weft__stack_get(struct weft_loop *loop, struct weft_task *task, size_t size);
/* Return @task's stack to its chunk (or the kernel, for odd sizes). */
void weft__stack_put(struct weft_loop *loop, struct weft_task *task);
/* At loop close: unmap every chunk no task still uses. */
void weft__stack_cache_free(struct weft_loop *loop);
/* The usable size for a default stack request (@requested, or 64 KiB; 256 KiB under ASan). */
size_t weft__stack_default(size_t requested);
/* Whether MADV_GUARD_INSTALL guards are in use. */
int weft__stack_guard_madv(void);

/* The SIGSEGV handler naming the fiber that overflowed (overflow.c). */
void weft__overflow_install(void);
void weft__overflow_thread_init(void);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Fiber stacks (see stack.h for the guard strategy).
 *
 * Default-sized stacks come in chunks of CHUNK_STACKS from one mapping: one mmap, one guard call
 * (process_madvise installs all the chunk's guards at once) and, when every stack of a chunk is
 * free again and the loop already holds stack_cache spare stacks, one munmap. Per stack, mmap +
 * madvise + munmap cost ~20 us of CPU on these VMs, mostly munmap's TLB flush: a burst of
 * 100 000 fibers spent over a second in them. Other sizes get a mapping each.
 */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "alloc.h"
#include "ctx.h"
#include "loop.h"
#include "stack.h"
#include "task.h"

#ifdef WEFT_ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define CHUNK_STACKS 16

struct weft__stack_chunk {
	struct weft__list all;	   /* loop->stack_chunks */
	struct weft__list partial; /* loop->stack_partial while it has a free stack */
	char *base;
	size_t stride;	    /* guard + stack */
	uint32_t free_mask; /* bit i: stack i is free */
};

/* -1 unknown, 1 MADV_GUARD_INSTALL works, 0 fall back to mprotect. Probed on first map. */
static atomic_int guard_madv = -1;
/* 0 once pidfd_open/process_madvise have failed (older kernel, or valgrind): stop trying. */
static atomic_int guard_batch = 1;

int weft__stack_guard_madv(void)
{
	return atomic_load(&guard_madv) == 1;
}

/* Install guards at @base + i * @stride for i < @n: in one process_madvise where the kernel
 * takes it, else one madvise each, else mprotect (two VMAs per stack). */
static int install_guards(char *base, size_t stride, unsigned n)
{
	struct iovec iov[CHUNK_STACKS];
	int mode = atomic_load(&guard_madv);

	if (mode != 0) {
		/* A pidfd of our own, opened per call: one cached across fork() would advise the
		 * parent's address space. */
		int pidfd =
		    atomic_load(&guard_batch) ? (int)syscall(SYS_pidfd_open, getpid(), 0) : -1;
		for (unsigned i = 0; i < n; i++) {
			iov[i].iov_base = base + i * stride;
			iov[i].iov_len = WEFT__STACK_GUARD;
		}
		if (pidfd >= 0) {
			long done =
			    syscall(SYS_process_madvise, pidfd, iov, n, MADV_GUARD_INSTALL, 0);
			close(pidfd);
			if (done == (long)(n * WEFT__STACK_GUARD)) {
				atomic_store(&guard_madv, 1);
				return 0;
			}
		}
		atomic_store(&guard_batch, 0);
		unsigned i = 0;
		while (i < n &&
		       madvise(iov[i].iov_base, WEFT__STACK_GUARD, MADV_GUARD_INSTALL) == 0)
			i++;
		if (i == n) {
			atomic_store(&guard_madv, 1);
			return 0;
		}
		if (i > 0 || mode == 1 || (errno != EINVAL && errno != ENOSYS))
			return -errno;
		atomic_store(&guard_madv, 0);
	}
	for (unsigned i = 0; i < n; i++)
		if (mprotect(base + i * stride, WEFT__STACK_GUARD, PROT_NONE))
			return -errno;
	return 0;
}

static char *map_stacks(size_t stride, unsigned n)
{
	char *base = mmap(NULL, stride * n, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	if (install_guards(base, stride, n)) {
		munmap(base, stride * n);
		return NULL;
	}
	return base;
}

static size_t round_stack(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (size < WEFT__STACK_MIN)
		size = WEFT__STACK_MIN;
	return (size + page - 1) & ~(page - 1);
}

size_t weft__stack_default(size_t requested)
{
#ifdef WEFT_ASAN
	const size_t dflt = 256 * 1024; /* ASan's redzones make frames several times larger */
#else
	const size_t dflt = 64 * 1024;
#endif
	return round_stack(requested ? requested : dflt);
}

static struct weft__stack_chunk *chunk_new(struct weft_loop *loop)
{
	struct weft__stack_chunk *c = weft__new(struct weft__stack_chunk);

	if (!c)
		return NULL;
	c->stride = WEFT__STACK_GUARD + loop->stack_size;
	c->base = map_stacks(c->stride, CHUNK_STACKS);
	if (!c->base) {
		weft__delete(c);
		return NULL;
	}
	c->free_mask = (uint32_t)((1ull << CHUNK_STACKS) - 1);
	weft__list_add_tail(&loop->stack_chunks, &c->all);
	weft__list_add_tail(&loop->stack_partial, &c->partial);
	loop->stacks_free += CHUNK_STACKS;
	return c;
}

static void chunk_free(struct weft_loop *loop, struct weft__stack_chunk *c)
{
	weft__list_del(&c->all);
	weft__list_del(&c->partial);
	loop->stacks_free -= CHUNK_STACKS;
	munmap(c->base, c->stride * CHUNK_STACKS);
	weft__delete(c);
}

static int chunk_get(struct weft_loop *loop, struct weft_task *t)
{
	struct weft__stack_chunk *c;
	unsigned i;

	if (weft__list_empty(&loop->stack_partial) && !chunk_new(loop))
		return -ENOMEM;
	c = weft__container_of(loop->stack_partial.next, struct weft__stack_chunk, partial);
	i = (unsigned)__builtin_ctz(c->free_mask);
	c->free_mask &= ~(1u << i);
	if (!c->free_mask)
		weft__list_del(&c->partial);
	loop->stacks_free--;
	t->stack = c->base + i * c->stride;
	t->stack_chunk = c;
	return 0;
}

static void chunk_put(struct weft_loop *loop, struct weft_task *t)
{
	struct weft__stack_chunk *c = t->stack_chunk;
	unsigned i = (unsigned)(((char *)t->stack - c->base) / c->stride);

	/* Reused first (LIFO), so busy chunks stay busy and idle ones empty out. */
	if (!c->free_mask)
		weft__list_add_tail(loop->stack_partial.next, &c->partial);
	c->free_mask |= 1u << i;
	loop->stacks_free++;
	if (c->free_mask == (uint32_t)((1ull << CHUNK_STACKS) - 1) &&
	    loop->stacks_free - CHUNK_STACKS >= loop->cache_cap)
		chunk_free(loop, c);
}

int weft__stack_get(struct weft_loop *loop, struct weft_task *t, size_t size)
{
	size = size ? round_stack(size) : loop->stack_size;
	t->stack_chunk = NULL;
	if (size == loop->stack_size) {
		if (chunk_get(loop, t))
			return -ENOMEM;
	} else if (!(t->stack = map_stacks(WEFT__STACK_GUARD + size, 1))) {
		return -ENOMEM;
	}
	t->stack_size = size;
	t->vg_stack_id = VALGRIND_STACK_REGISTER((char *)t->stack + WEFT__STACK_GUARD,
						 (char *)t->stack + WEFT__STACK_GUARD + size);
	return 0;
}

void weft__stack_put(struct weft_loop *loop, struct weft_task *t)
{
	if (!t->stack)
		return;
	VALGRIND_STACK_DEREGISTER(t->vg_stack_id);
#ifdef WEFT_ASAN
	/* Frames that died with the fiber leave poisoned redzones behind. */
	__asan_unpoison_memory_region((char *)t->stack + WEFT__STACK_GUARD, t->stack_size);
#endif
	if (t->stack_chunk)
		chunk_put(loop, t);
	else
		munmap(t->stack, WEFT__STACK_GUARD + t->stack_size);
	t->stack = NULL;
}

void weft__stack_cache_free(struct weft_loop *loop)
{
	struct weft__list *pos, *tmp;

	weft__list_for_each_safe(pos, tmp, &loop->stack_chunks)
	{
		struct weft__stack_chunk *c =
		    weft__container_of(pos, struct weft__stack_chunk, all);
		/* A chunk still lending a stack to a task that ignored cancellation stays mapped:
		 * the kernel may still write into that task's buffers. */
		if (c->free_mask == (uint32_t)((1ull << CHUNK_STACKS) - 1))
			chunk_free(loop, c);
	}
}

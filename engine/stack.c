/* SPDX-License-Identifier: MIT */
/* Fiber stacks (see stack.h for the guard strategy). */
#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

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

/* -1 unknown, 1 MADV_GUARD_INSTALL works, 0 fall back to mprotect. Probed on first map. */
static atomic_int guard_madv = -1;

int weft__stack_guard_madv(void)
{
	return atomic_load(&guard_madv) == 1;
}

static int install_guard(void *base)
{
	int mode = atomic_load(&guard_madv);

	if (mode != 0) {
		if (madvise(base, WEFT__STACK_GUARD, MADV_GUARD_INSTALL) == 0) {
			atomic_store(&guard_madv, 1);
			return 0;
		}
		if (mode == 1 || (errno != EINVAL && errno != ENOSYS))
			return -errno;
		atomic_store(&guard_madv, 0);
	}
	return mprotect(base, WEFT__STACK_GUARD, PROT_NONE) ? -errno : 0;
}

static void *map_stack(size_t size)
{
	size_t len = WEFT__STACK_GUARD + size;
	void *base = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (base == MAP_FAILED)
		return NULL;
	if (install_guard(base)) {
		munmap(base, len);
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

int weft__stack_get(struct weft_loop *loop, struct weft_task *t, size_t size)
{
	void *base;

	size = size ? round_stack(size) : loop->stack_size;
	if (size == loop->stack_size && loop->ncached)
		base = loop->stack_cache[--loop->ncached];
	else if (!(base = map_stack(size)))
		return -ENOMEM;
	t->stack = base;
	t->stack_size = size;
	t->vg_stack_id = VALGRIND_STACK_REGISTER((char *)base + WEFT__STACK_GUARD,
						 (char *)base + WEFT__STACK_GUARD + size);
	return 0;
}

void weft__stack_put(struct weft_loop *loop, struct weft_task *t)
{
	void *base = t->stack;

	if (!base)
		return;
	t->stack = NULL;
	VALGRIND_STACK_DEREGISTER(t->vg_stack_id);
#ifdef WEFT_ASAN
	/* Frames that died with the fiber leave poisoned redzones behind. */
	__asan_unpoison_memory_region((char *)base + WEFT__STACK_GUARD, t->stack_size);
#endif
	if (t->stack_size == loop->stack_size && loop->ncached < loop->cache_cap) {
		loop->stack_cache[loop->ncached++] = base;
		return;
	}
	munmap(base, WEFT__STACK_GUARD + t->stack_size);
}

void weft__stack_cache_free(struct weft_loop *loop)
{
	while (loop->ncached)
		munmap(loop->stack_cache[--loop->ncached], WEFT__STACK_GUARD + loop->stack_size);
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

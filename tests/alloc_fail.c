/* SPDX-License-Identifier: MIT */
/*
 * Allocation-failure injection for `make check-alloc`: this file defines malloc, calloc, realloc,
 * posix_memalign, aligned_alloc and memalign in the test program itself, so every allocation in
 * the process goes through here - weft's own (the ASan build routes engine/alloc.h to libc's
 * malloc) and those of the libraries it calls (liburing, pthread_create, getaddrinfo, stdio). Each
 * counts, once armed, and the Nth fails with ENOMEM; the real allocator is the next definition
 * in the lookup order (ASan's, found with dlsym(RTLD_NEXT)).
 *
 * WEFT_ALLOC_FAIL=N  fail the Nth allocation after alloc_fail_arm() (1-based; 0 or unset: none)
 * WEFT_ALLOC_FAIL_FROM=1  fail every allocation from the Nth on, not just the Nth
 * WEFT_ALLOC_TRACE=1  print the stack of the allocation that fails
 * Threads and forked children (the process pool's workers) share one count, in a shared mapping.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/alloc_fail.h"

void *memalign(size_t align, size_t size); /* glibc declares it in <malloc.h> only */

#if defined(__has_include)
#if __has_include(<sanitizer/common_interface_defs.h>)
#include <sanitizer/common_interface_defs.h>
#define HAVE_SAN_STACK 1
#endif
#endif

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_memalign)(void **, size_t, size_t);

/* dlsym itself may allocate (its error buffer) before the real functions are known. */
static _Alignas(max_align_t) char boot[4096];
static size_t boot_used;

/* Shared with forked children, so the parent sees their allocations and failures too. */
static struct shared {
	atomic_ulong count, injected, fail_at;
} * sh;
static atomic_bool armed;
static bool fail_from, trace;

static bool in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static void *boot_alloc(size_t size)
{
	size_t at = (boot_used + 15) & ~(size_t)15;

	if (at + size > sizeof(boot))
		return NULL;
	boot_used = at + size;
	return memset(boot + at, 0, size);
}

/* Find the real functions (once, before main: still single-threaded). Until the last is known,
 * blocks come from boot[] and frees are ignored. */
static void resolve(void)
{
	static bool resolving;

	if (real_free || resolving)
		return;
	resolving = true;
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc"); /* last: see malloc() */
	resolving = false;
}

/*
 * Allocations the sweep never fails: the sanitizer runtime's own, through glibc's
 * pthread_getattr_np when a thread starts (ASan CHECK-fails on that error, a real program would
 * not run under ASan). The next allocation fails in its place.
 */
static bool exempt(const void *caller)
{
	Dl_info info;

	if (!dladdr(caller, &info))
		return false;
	return (info.dli_sname && !strcmp(info.dli_sname, "pthread_getattr_np")) ||
	       (info.dli_fname && strstr(info.dli_fname, "san.so"));
}

/* Whether this allocation, made from @caller, is the one to fail (counts it when armed). */
static bool should_fail(const void *caller)
{
	unsigned long n, at;

	if (!atomic_load_explicit(&armed, memory_order_relaxed))
		return false;
	n = atomic_fetch_add(&sh->count, 1) + 1;
	at = atomic_load(&sh->fail_at);
	if (!at || n < at || (n > at && !fail_from))
		return false;
	if (exempt(caller)) {
		if (n == at)
			atomic_store(&sh->fail_at, at + 1);
		return false;
	}
	atomic_fetch_add(&sh->injected, 1);
	if (trace) {
		fprintf(stderr, "alloc_fail: allocation %lu fails here\n", n);
#ifdef HAVE_SAN_STACK
		__sanitizer_print_stack_trace();
#endif
	}
	return true;
}

void *malloc(size_t size)
{
	resolve();
	if (!real_malloc)
		return boot_alloc(size);
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	resolve();
	if (!real_malloc)
		return n && size > sizeof(boot) / n ? NULL : boot_alloc(n * size);
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	void *q;

	resolve();
	if (in_boot(p) || !real_malloc) { /* rare: a bootstrap block (or none yet) */
		size_t room = p ? (size_t)(boot + sizeof(boot) - (char *)p) : 0;

		q = malloc(size);
		if (q && p)
			memcpy(q, p, size < room ? size : room);
		return q;
	}
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(p, size);
}

void free(void *p)
{
	if (!p || in_boot(p) || !real_malloc) /* nothing the real malloc gave out yet */
		return;
	real_free(p);
}

static int memalign_from(void **p, size_t align, size_t size, const void *caller)
{
	resolve();
	if (!real_malloc || should_fail(caller)) /* none while bootstrapping */
		return ENOMEM;
	return real_memalign(p, align, size);
}

int posix_memalign(void **p, size_t align, size_t size)
{
	return memalign_from(p, align, size, __builtin_return_address(0));
}

static void *aligned_from(size_t align, size_t size, const void *caller)
{
	void *p;
	int r = memalign_from(&p, align < sizeof(void *) ? sizeof(void *) : align, size, caller);

	if (r) {
		errno = r;
		return NULL;
	}
	return p;
}

void *aligned_alloc(size_t align, size_t size)
{
	return aligned_from(align, size, __builtin_return_address(0));
}

void *memalign(size_t align, size_t size)
{
	return aligned_from(align, size, __builtin_return_address(0));
}

void alloc_fail_arm(void)
{
	const char *at = getenv("WEFT_ALLOC_FAIL");

	resolve();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		abort();
	atomic_store(&sh->fail_at, at ? strtoul(at, NULL, 10) : 0);
	fail_from = getenv("WEFT_ALLOC_FAIL_FROM") && atoi(getenv("WEFT_ALLOC_FAIL_FROM"));
	trace = getenv("WEFT_ALLOC_TRACE") && atoi(getenv("WEFT_ALLOC_TRACE"));
#ifdef HAVE_SAN_STACK
	if (trace)
		__sanitizer_print_stack_trace(); /* once unarmed: its symbolizer allocates */
#endif
	atomic_store(&armed, true);
}

unsigned long alloc_fail_disarm(void)
{
	atomic_store(&armed, false);
	return atomic_load(&sh->injected);
}

unsigned long alloc_fail_count(void)
{
	return atomic_load(&sh->count);
}

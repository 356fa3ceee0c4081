/* SPDX-License-Identifier: MIT */
/*
 * Internal allocator: every block weft allocates goes through here (redis's zmalloc.h is the
 * model). jemalloc's sized free (sdallocx) skips a size lookup on the free path. Sanitizer builds
 * define WEFT_NO_JEMALLOC so ASan and valgrind see every block through libc's malloc.
 */
#ifndef WEFT_ENGINE_ALLOC_H
#define WEFT_ENGINE_ALLOC_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef WEFT_NO_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

static inline void *weft__alloc(size_t size)
{
#ifdef WEFT_NO_JEMALLOC
	return malloc(size);
#else
	return mallocx(size, 0);
#endif
}

static inline void *weft__zalloc(size_t size)
{
#ifdef WEFT_NO_JEMALLOC
	return calloc(1, size);
#else
	return mallocx(size, MALLOCX_ZERO);
#endif
}

/* Grow or shrink a block: jemalloc's rallocx, so the block can still be freed with sdallocx. */
static inline void *weft__realloc(void *p, size_t size)
{
#ifdef WEFT_NO_JEMALLOC
	return realloc(p, size);
#else
	return p ? rallocx(p, size, 0) : mallocx(size, 0);
#endif
}

/* Free a block whose size the caller knows (the size it was allocated with). */
static inline void weft__free(void *p, size_t size)
{
	if (!p)
		return;
#ifdef WEFT_NO_JEMALLOC
	(void)size;
	free(p);
#else
	sdallocx(p, size, 0);
#endif
}

#define weft__new(type) ((type *)weft__zalloc(sizeof(type)))
#define weft__delete(p) weft__free((p), sizeof(*(p)))
/* Zeroed room for @n elements of @size bytes; NULL if @n * @size overflows (a user-given count
 * must not wrap to a small block). */
static inline void *weft__zalloc_array(size_t size, size_t n)
{
	if (n && size > SIZE_MAX / n)
		return NULL;
	return weft__zalloc(size * n);
}

#define weft__new_array(type, n) ((type *)weft__zalloc_array(sizeof(type), (n)))
#define weft__delete_array(p, n) weft__free((p), sizeof(*(p)) * (n))

#endif

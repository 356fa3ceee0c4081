/* SPDX-License-Identifier: MIT */
/*
 * engine/abi.h - the reserved words at the end of each public struct a caller fills in (README
 * "ABI"). They are zero today; a later release gives them meaning, zero meaning today's
 * behaviour, so an old program keeps working on a new library. A non-zero word means the program
 * was built against a newer header than this library: refuse it (-EINVAL) rather than ignore what
 * it asked for.
 */
#ifndef WEFT_ENGINE_ABI_H
#define WEFT_ENGINE_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool weft__reserved_zero(const uint64_t *words, size_t size)
{
	for (size_t i = 0; i < size / sizeof(*words); i++)
		if (words[i])
			return false;
	return true;
}

/* weft__reserved_bad - true when @s (a pointer to a public struct, or NULL) has a reserved word
 * set. */
#define weft__reserved_bad(s) ((s) && !weft__reserved_zero((s)->reserved, sizeof((s)->reserved)))

#endif

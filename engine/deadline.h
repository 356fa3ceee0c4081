/* SPDX-License-Identifier: MIT */
/*
 * Deadlines from durations, saturating: every "now + x" in the library goes through here, so a
 * huge duration (INT64_MAX, a repeat period, a grace time) means "never" instead of wrapping
 * into the past and firing at once, again and again.
 */
#ifndef WEFT_ENGINE_DEADLINE_H
#define WEFT_ENGINE_DEADLINE_H

#include <stdint.h>

#include "weft/common.h"

/* @now + @ns, clamped to [INT64_MIN, WEFT_FOREVER]. */
static inline int64_t weft__deadline_after(int64_t now, int64_t ns)
{
	int64_t d;

	if (__builtin_add_overflow(now, ns, &d))
		return ns > 0 ? WEFT_FOREVER : INT64_MIN;
	return d;
}

#endif

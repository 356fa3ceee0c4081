/* SPDX-License-Identifier: MIT */
/*
 * weft/scope.h - deadlines, cancel scopes and shields (trio's CancelScope, asyncio.timeout).
 *
 * A scope covers a stretch of one task's code, between weft_scope_enter() and weft_scope_exit()
 * (strictly nested, like braces). Every blocking weft call inside honours it:
 *   - past the scope's deadline, the call returns -ETIMEDOUT (and so does every later one inside,
 *     until the scope is exited); nested scopes take the earliest deadline;
 *   - after weft_scope_cancel(), calls inside return -ECANCELED;
 *   - a WEFT_SCOPE_SHIELD scope hides every outer deadline and cancellation - the task's own
 *     cancellation included - so cleanup can block safely.
 * If both a cancellation and a deadline apply, -ECANCELED wins.
 *
 * A blocked call that is interrupted waits for the kernel to give up the operation (its CQE)
 * before returning, so a cancelled or timed-out read never writes into its buffer afterwards.
 *
 *     weft_scope s;
 *     weft_scope_enter(&s, weft_now() + 2 * WEFT_SEC, 0);
 *     int n = read_something(...);        // -ETIMEDOUT after two seconds
 *     weft_scope_exit(&s);
 *
 * Not thread-safe: a scope belongs to the task that entered it.
 */
#ifndef WEFT_SCOPE_H
#define WEFT_SCOPE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Storage for a scope, usually on the task's stack. Its contents are private. */
typedef struct weft_scope {
	uint64_t opaque[6];
} weft_scope;

/* Flags for weft_scope_enter(). */
#define WEFT_SCOPE_SHIELD (1u << 0) /* hide outer deadlines and cancellations */

/*
 * weft_scope_enter - open a scope in the current task.
 * @deadline: absolute weft_now() time, or WEFT_FOREVER for a scope without one.
 * Returns 0, -EINVAL (bad flags) or -EPERM outside a fiber.
 */
WEFT_API int weft_scope_enter(weft_scope *scope, int64_t deadline, unsigned flags);

/*
 * weft_scope_exit - close the innermost scope, which must be @scope.
 * Returns 0, -ETIMEDOUT if its own deadline has passed, -ECANCELED if it was cancelled with
 * weft_scope_cancel() (trio's cancelled_caught), or -EINVAL if @scope is not the innermost one
 * (nothing is closed then).
 */
WEFT_API int weft_scope_exit(weft_scope *scope);

/*
 * weft_scope_cancel - cancel @scope: blocking calls inside it return -ECANCELED from now on.
 * A call parked inside it is interrupted. May be called by any task or callback of the loop.
 */
WEFT_API void weft_scope_cancel(weft_scope *scope);

/*
 * weft_deadline - the deadline blocking calls of the current task honour right now (the earliest
 * of its scopes', up to the innermost shield), or WEFT_FOREVER.
 */
WEFT_API int64_t weft_deadline(void);

/*
 * weft_checkpoint - 0 if the current task may block, else the error its next blocking call
 * would return (-ECANCELED, -ETIMEDOUT, -EPERM outside a fiber). Never blocks.
 */
WEFT_API int weft_checkpoint(void);

#ifdef __cplusplus
}
#endif
#endif

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
 * Returns 0; -ECANCELED / -ETIMEDOUT if this scope caught a cancellation (trio's
 * cancelled_caught): a blocking call inside returned -ECANCELED or -ETIMEDOUT because this scope
 * was cancelled or its deadline passed, and no scope further out was cancelled or expired as
 * well (the outermost such scope is the one that catches, as in trio); -EINVAL if @scope is not
 * the innermost one (nothing is closed then). A deadline that passed while no call blocked
 * inside is not caught: weft_scope_cancel_called() tells that.
 */
WEFT_API int weft_scope_exit(weft_scope *scope);

/*
 * weft_scope_cancel - cancel @scope: blocking calls inside it return -ECANCELED from now on.
 * A call parked inside it is interrupted. May be called by any task or callback of the loop.
 */
WEFT_API void weft_scope_cancel(weft_scope *scope);

/*
 * weft_scope_reschedule - move the deadline of the open @scope (asyncio Timeout.reschedule,
 * trio's scope.deadline = ...): absolute weft_now() time, or WEFT_FOREVER to remove it. Calls
 * parked inside it, and in the children of groups inside it, follow at once.
 * Returns 0, -EINVAL (NULL, or not open), -EXDEV from another thread. Any task or callback of
 * the loop may call it.
 */
WEFT_API int weft_scope_reschedule(weft_scope *scope, int64_t deadline);

/*
 * weft_scope_shield - turn the shield of the open @scope on or off (trio's scope.shield = ...).
 * Turning it off lets a pending outer cancellation or expired deadline in at once.
 * Returns 0, -EINVAL (NULL, or not open), -EXDEV from another thread.
 */
WEFT_API int weft_scope_shield(weft_scope *scope, bool shield);

/* weft_scope_deadline - @scope's own deadline (WEFT_FOREVER: none; also for NULL). */
WEFT_API int64_t weft_scope_deadline(const weft_scope *scope);

/*
 * weft_scope_cancel_called - true if @scope was cancelled or its own deadline has passed
 * (trio's cancel_called), whether or not anything inside noticed. Valid after exit too.
 */
WEFT_API bool weft_scope_cancel_called(const weft_scope *scope);

/*
 * weft_scope_cancelled_caught - true if @scope caught a cancellation (what weft_scope_exit
 * reported). Valid after exit too.
 */
WEFT_API bool weft_scope_cancelled_caught(const weft_scope *scope);

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

/* SPDX-License-Identifier: MIT */
/*
 * weft/group.h - waiting on many tasks: gather, wait, as_completed, wait_for, and task groups
 * (trio's nursery, asyncio.TaskGroup).
 *
 * None of these leave a task running behind the caller's back: whatever a call stops waiting for
 * early, it cancels and waits for, unless its documentation says the handles stay with you.
 * Not thread-safe: call them from fibers of the tasks' loop.
 */
#ifndef WEFT_GROUP_H
#define WEFT_GROUP_H

#include "common.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Flags for weft_tasks_gather(). */
#define WEFT_GATHER_FAIL_FAST (1u << 0) /* on the first failure, cancel the rest */

/*
 * weft_tasks_gather - join all @n @tasks, storing each status in @statuses[i] (asyncio.gather with
 * return_exceptions=True). Every handle is consumed.
 * With WEFT_GATHER_FAIL_FAST, the first task to fail (status < 0) gets the others cancelled; they
 * are still waited for, so none outlives the call.
 * If the gathering task is cancelled or its deadline expires, all @tasks are cancelled and
 * waited for, and that error is returned.
 * Returns 0 if every status is >= 0, else the first failure in completion order; -EINVAL for bad
 * arguments (unknown flags; a NULL, duplicate, detached or already-joined task; nothing is
 * consumed then), -EDEADLK if the calling task is among @tasks, -EPERM outside a fiber, -EXDEV
 * for a task of another loop, -ENOMEM (no memory to watch them: every task was cancelled and
 * waited for, and is consumed).
 */
WEFT_API int weft_tasks_gather(weft_task **tasks, size_t n, int *statuses, unsigned flags);

/* Return conditions for weft_tasks_wait() (asyncio.wait's return_when). */
enum weft_wait_mode {
	WEFT_WAIT_ALL_COMPLETED,   /* every task has returned */
	WEFT_WAIT_FIRST_COMPLETED, /* at least one has returned */
	WEFT_WAIT_FIRST_EXCEPTION, /* one has failed (status < 0), or all have returned */
};

/*
 * weft_tasks_wait - wait until @mode is satisfied or @timeout_ns passes (WEFT_FOREVER: no timeout).
 * Nothing is consumed or cancelled: the handles stay yours; use weft_task_done() to split them
 * into done and pending. Returns the number of tasks done (0 if the timeout passed with none),
 * or -ECANCELED / -ETIMEDOUT (an enclosing deadline), -EINVAL (bad mode, negative timeout, bad
 * tasks as for weft_tasks_gather), -EDEADLK, -ENOMEM, -EPERM outside a fiber.
 */
WEFT_API int weft_tasks_wait(weft_task **tasks, size_t n, enum weft_wait_mode mode,
			     int64_t timeout_ns);

/* as_completed: an iterator yielding tasks in the order they finish. */
typedef struct weft_as_completed weft_as_completed;

/*
 * weft_as_completed_new - start watching @n @tasks. The handles stay yours: join each one only
 * after the iterator has given it to you. Returns 0, -EINVAL, -EDEADLK, -ENOMEM, or -EPERM
 * outside a fiber.
 */
WEFT_API int weft_as_completed_new(weft_as_completed **itp, weft_task **tasks, size_t n);

/*
 * weft_as_completed_next - wait for the next task to finish and store it in @taskp.
 * Returns 0, -ENOENT when every task has been returned, or -ECANCELED / -ETIMEDOUT.
 */
WEFT_API int weft_as_completed_next(weft_as_completed *it, weft_task **taskp);

/* weft_as_completed_free - stop watching. Tasks not yet returned by _next stay yours. */
WEFT_API void weft_as_completed_free(weft_as_completed *it);

/*
 * weft_task_wait_for - join @task, giving it @timeout_ns (asyncio.wait_for).
 * On time: 0 with its @status. On timeout: @task is cancelled and waited for, its status is stored
 * and -ETIMEDOUT returned. A @timeout_ns of 0 gives no time at all (asyncio's wait_for(t, 0)): a
 * task that has already returned gives 0 and its status, any other is cancelled at once. If the caller is cancelled, @task is cancelled and waited for too, and
 * -ECANCELED returned. In every case the handle is consumed. -EINVAL, -EDEADLK as for join.
 */
WEFT_API int weft_task_wait_for(weft_task *task, int64_t timeout_ns, int *status);

/*
 * Task groups (nurseries): children cannot outlive the group; the first child to fail cancels its
 * siblings and the body of the group, and its error reaches the parent through weft_group_close().
 *
 *     weft_group *g;
 *     weft_group_open(&g);
 *     weft_group_spawn(g, worker, a, NULL);
 *     weft_group_spawn(g, worker, b, NULL);
 *     int err = weft_group_close(g);      // waits for both
 *
 * Between open and close the group is a cancel scope of the opening task, so it nests with
 * weft_scope_enter/exit like braces. The children live inside the scopes around the group (trio):
 * a deadline or cancellation of an enclosing scope, or of the opening task itself, reaches them
 * at once, even while the group's body is busy or shielded. A shield inside the group's body
 * covers the body alone, not the children.
 */
typedef struct weft_group weft_group;

/*
 * weft_group_open - open a group in the current task. Returns 0, -ENOMEM, -EPERM outside a fiber.
 * The task must close it (weft_group_close) before it returns: the children's scopes continue
 * into the scopes on its stack, so returning with a group open is a bug (debug mode reports it).
 */
WEFT_API int weft_group_open(weft_group **groupp);

/*
 * weft_group_spawn - spawn a child in @group. Returns 0, -ENOMEM, -EINVAL (NULL @group or
 * @fn), -EXDEV from another thread. Into a cancelled group the child still starts (every task
 * runs), and its first checkpoint returns -ECANCELED. Any task of the group's loop may call it,
 * until weft_group_close() has returned (children spawned during the close are waited for).
 */
WEFT_API int weft_group_spawn(weft_group *group, weft_task_fn fn, void *arg,
			      const struct weft_task_opts *opts);

/*
 * weft_group_start - spawn a child in @group and wait until it reports it has started
 * (trio's nursery.start): the child calls weft_task_started(value) once it is ready - a server
 * has bound its port, say - and @value (may be NULL) receives what it passed. From then on it is
 * an ordinary child of @group. Until then its failure is the caller's, not the group's.
 * Returns 0; the child's negative status if it returned before reporting; -ECHILD if it returned
 * a status >= 0 without reporting; -ECANCELED / -ETIMEDOUT if the caller was cancelled or timed
 * out first (the child is cancelled then, and waited for until it returns or reports); -EINVAL,
 * -ENOMEM, -EPERM outside a fiber. Any task of the group's loop may call it.
 */
WEFT_API int weft_group_start(weft_group *group, weft_task_fn fn, void *arg,
			      const struct weft_task_opts *opts, void **value);

/*
 * weft_task_started - report, from a child started with weft_group_start, that it is ready;
 * @value goes to the starter. Returns 0, -EINVAL if nobody waits for this task to start (not
 * started that way, or reported already), -EPERM outside a fiber.
 */
WEFT_API int weft_task_started(void *value);

/* weft_group_cancel - cancel every child and the group's body. */
WEFT_API void weft_group_cancel(weft_group *group);

/*
 * weft_group_close - wait for every child, close the group's scope, free the group.
 * If the opening task is cancelled meanwhile, the children are cancelled and still waited for.
 * Returns 0; the first child failure (its negative status, other than the -ECANCELED of siblings
 * the group cancelled); -ECANCELED if the group or the task was cancelled from outside;
 * -ETIMEDOUT if an enclosing deadline expired; -EINVAL if @group is not the innermost scope.
 */
WEFT_API int weft_group_close(weft_group *group);

/* One failed child of a group (the C shape of an entry of asyncio's ExceptionGroup). */
struct weft_group_error {
	void *arg;	  /* what the child was spawned with: tells which child it was */
	uint64_t task_id; /* weft_task_id() of the child */
	int status;	  /* its negative status */
	char name[32];	  /* weft_task_name() of the child */
};

/*
 * weft_group_close_errors - weft_group_close, also reporting every child that failed, in the
 * order they returned: up to @cap of them are stored in @errs and their total in @nerrs (may be
 * NULL; may exceed @cap, as snprintf's result does). Children the group cancelled itself,
 * children cancelled on their own (weft_task_cancel; asyncio's TaskGroup ignores those too), and
 * children that got only the cancellation or deadline of a scope around the group, are not
 * failures. A failure that could not be recorded for want of memory is still counted; its entry
 * has status 0. Returns what weft_group_close returns.
 */
WEFT_API int weft_group_close_errors(weft_group *group, struct weft_group_error *errs, size_t cap,
				     size_t *nerrs);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: MIT */
/* Cancel scopes: the private layout behind the public weft_scope storage. */
#ifndef WEFT_ENGINE_SCOPE_H
#define WEFT_ENGINE_SCOPE_H

#include <stdint.h>

#include "weft/scope.h"

struct weft_task;

#define WEFT__SCOPE_SHIELD    WEFT_SCOPE_SHIELD
#define WEFT__SCOPE_CANCELLED (1u << 8)
#define WEFT__SCOPE_OPEN      (1u << 9)
#define WEFT__SCOPE_GROUP     (1u << 10) /* the scope of a task group (group.c) */
#define WEFT__SCOPE_CAUGHT    (1u << 11) /* a call inside returned its cancellation/deadline */

struct weft__scope {
	struct weft__scope
	    *parent;		/* the next one out; a group child's chain goes on in the opener */
	struct weft_task *task; /* whose scope it is */
	int64_t deadline;	/* this scope's own; the effective one is read off the chain */
	uint32_t flags;
};

_Static_assert(sizeof(struct weft__scope) <= sizeof(weft_scope), "weft_scope storage too small");

static inline struct weft__scope *weft__scope_of(weft_scope *s)
{
	return (struct weft__scope *)(void *)s;
}

/* Push/pop used by the public calls and by task groups. */
void weft__scope_push(struct weft_task *task, struct weft__scope *s, int64_t deadline,
		      unsigned flags);
int weft__scope_pop(struct weft_task *task, struct weft__scope *s);
void weft__scope_cancel(struct weft__scope *s);
/* @s changed its deadline, shield or cancellation: bring every task parked under it up to date. */
void weft__scope_changed(struct weft__scope *s);
/* Whether the scopes at @s explain @status: -ECANCELED while a cancellation reaches @s, or
 * -ETIMEDOUT past its deadline (each on its own: a cancellation on top of an expired deadline
 * still explains a -ETIMEDOUT returned for the deadline). */
bool weft__scope_explains(const struct weft__scope *s, int status);
/* @task was cancelled: interrupt it, and the group children living under its scopes. */
void weft__task_cancelled(struct weft_task *task);

#endif

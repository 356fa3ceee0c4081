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

struct weft__scope {
	struct weft__scope *parent;
	struct weft_task *task;
	int64_t deadline;     /* this scope's own */
	int64_t eff_deadline; /* min(own, parent's) unless shielded: what blocking calls honour */
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

#endif

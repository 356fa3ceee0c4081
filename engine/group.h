/* SPDX-License-Identifier: MIT */
/* Task groups (nurseries): the hooks task.c calls. */
#ifndef WEFT_ENGINE_GROUP_H
#define WEFT_ENGINE_GROUP_H

#include "weft/group.h"

struct weft_task;

/* @task was just spawned into @group. */
void weft__group_adopt(struct weft_group *group, struct weft_task *task);
/* A child of a group has returned (called from the child's context, as callback code). */
void weft__group_child_done(struct weft_task *task);
/* Call @fn(child, NULL) for every child of the group whose scope is @s (a WEFT__SCOPE_GROUP). */
struct weft__scope;
void weft__group_each_child(struct weft__scope *s,
			    void (*fn)(struct weft_task *, const struct weft__scope *));

#endif

/* SPDX-License-Identifier: MIT */
/* The module interface's calls (module.h) that need the loop's and the task's insides. */
#include <errno.h>

#include "loop.h"
#include "module.h"
#include "task.h"

int weft__fiber_on(const struct weft_loop *loop)
{
	struct weft_task *t = weft__current();

	if (!t)
		return -EPERM;
	return loop && t->loop != loop ? -EXDEV : 0;
}

int weft__fiber_check(const struct weft_loop *loop)
{
	int r = weft__fiber_on(loop);

	return r ? r : weft__checkpoint(weft__current());
}

int weft__loop_check(const struct weft_loop *loop, const char *call)
{
	return weft__loop_affine(loop, call);
}

int weft__owner_check(const struct weft_loop *loop, pthread_t thread, const char *call)
{
	struct weft_loop *cur = weft__loop();

	if (cur ? cur == loop : pthread_equal(thread, pthread_self()))
		return 0;
	return cur ? weft__debug_wrong_thread(cur, call) : -EXDEV;
}

bool weft__in_fiber(void)
{
	return weft__current() != NULL;
}

void *weft__loop_slot(const struct weft_loop *loop, const struct weft__slot_key *key)
{
	for (size_t i = 0; i < sizeof(loop->slots) / sizeof(loop->slots[0]); i++)
		if (loop->slots[i].key == key)
			return loop->slots[i].state;
	return NULL;
}

int weft__loop_slot_set(struct weft_loop *loop, const struct weft__slot_key *key, void *state,
			void (*destroy)(struct weft_loop *loop, void *state))
{
	struct weft__slot *free = NULL;

	for (size_t i = 0; i < sizeof(loop->slots) / sizeof(loop->slots[0]); i++) {
		if (loop->slots[i].key == key) {
			free = &loop->slots[i];
			break;
		}
		if (!free && !loop->slots[i].key)
			free = &loop->slots[i];
	}
	if (!free)
		return -ENOMEM;
	*free = (struct weft__slot){key, state, destroy};
	return 0;
}

bool weft__loop_has_op(const struct weft_loop *loop, unsigned opcode)
{
	return weft__op_supported(loop, opcode);
}

bool weft__loop_debug(const struct weft_loop *loop)
{
	return loop && loop->debug;
}

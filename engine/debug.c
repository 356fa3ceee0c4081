/* SPDX-License-Identifier: MIT */
/* Debug mode: slow-task warnings, leftover reports at close, and the task dump. */
#include <stdio.h>
#include <stdlib.h>

#include "weft/time.h"
#include "loop.h"
#include "opdef.h"
#include "op.h"
#include "sched.h"
#include "task.h"

#define SLOW_DEFAULT (100 * WEFT_MSEC)

void weft__debug_init(struct weft_loop *loop, const struct weft_loop_opts *opts)
{
	const char *env = getenv("WEFT_DEBUG");
	const char *slow = getenv("WEFT_DEBUG_SLOW_MS");

	loop->debug =
	    opts->debug == WEFT_DEBUG_ON || (opts->debug == WEFT_DEBUG_ENV && env && atoi(env) > 0);
	loop->slow_ns = opts->slow_ns ? opts->slow_ns : SLOW_DEFAULT;
	if (slow && atoll(slow) > 0)
		loop->slow_ns = atoll(slow) * WEFT_MSEC;
}

void weft__debug_slow(struct weft_loop *loop, struct weft_task *t)
{
	int64_t ran = weft_now() - loop->slice_start;

	if (ran > loop->slow_ns)
		fprintf(stderr, "weft: task #%llu '%s' ran %.1f ms without yielding\n",
			(unsigned long long)t->id, weft_task_name(t), (double)ran / WEFT_MSEC);
}

int weft__debug_wrong_thread(const struct weft_loop *loop, const char *call)
{
	if (loop->debug)
		fprintf(
		    stderr,
		    "weft: %s() called from a thread that does not run its loop; refused "
		    "(-EXDEV). From other threads use weft_loop_post(), weft_loop_call() or the "
		    "*_threadsafe calls\n",
		    call);
	return -EXDEV;
}

static const char *state_name(const struct weft_task *t)
{
	static const char *const names[] = {"ready", "running", "parked", "done"};
	return t->state < 4 ? names[t->state] : "?";
}

static void describe(FILE *out, const char *prefix, const struct weft_task *t)
{
	const struct weft__wait *w = t->wait;

	fprintf(out, "%s#%llu '%s' %s", prefix, (unsigned long long)t->id, weft_task_name(t),
		state_name(t));
	if (t->state == WEFT_TASK_PARKED && w) {
		if (w->opcode || (w->what && w->what[0] == 'o'))
			fprintf(out, " on %s", weft__opdef_name(w->opcode));
		else
			fprintf(out, " on %s", w->what ? w->what : "?");
	}
	if (t->state == WEFT_TASK_DONE)
		fprintf(out, " status=%d", t->status);
	if (t->cancel_requested)
		fprintf(out, " (cancel requested)");
	if (t->detached)
		fprintf(out, " (detached)");
	fputc('\n', out);
}

void weft_loop_dump(weft_loop *loop, FILE *out)
{
	struct weft__list *pos, *tmp;

	if (!loop || !out)
		return;
	fprintf(out, "weft loop %p: %zu running task(s), %u op(s) in flight, %u timer(s)\n",
		(void *)loop, loop->alive, loop->inflight, loop->heap_len);
	weft__list_for_each_safe(pos, tmp, &loop->tasks)
	    describe(out, "  ", weft__container_of(pos, struct weft_task, node));
}

void weft__debug_leftovers(struct weft_loop *loop)
{
	struct weft__list *pos, *tmp;

	if (!loop->debug)
		return;
	weft__list_for_each_safe(pos, tmp, &loop->tasks)
	{
		struct weft_task *t = weft__container_of(pos, struct weft_task, node);
		if (t->state != WEFT_TASK_DONE)
			describe(stderr, "weft: closing loop cancels task ", t);
		else if (!t->detached)
			describe(stderr, "weft: task never joined nor detached: ", t);
	}
}

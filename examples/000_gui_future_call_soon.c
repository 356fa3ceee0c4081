/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "Integrating asyncio" with FreeSimpleGUI (the
 * first, polling variant).
 * Python: main loops: it creates a Future, loop.call_soon(get_window_events, window, future),
 * awaits the future, then sleep(0). get_window_events polls window.read(timeout=0) and sets the
 * future's result when an event arrives. On "Start Task" main create_task()s long_running_task,
 * which sleeps 1 s five times, posting "Step i complete" and finally "Task finished" back to the
 * window as events; main prints those. "Exit" ends the loop.
 *
 * There is no GUI here: struct window simulates one, with a scripted user who clicks
 * "Start Task" first and "Exit" once "Task finished" has been shown. The tutorial's poller spins
 * inside one callback (its asyncio.sleep(0) there is never awaited, so it blocks the loop);
 * a weft callback must not block, so it polls once and, if nothing happened, re-posts itself
 * with weft_loop_call_soon() - the busy wait the tutorial warns about, without freezing the loop.
 * Timing is scaled 1:5 (one tutorial second is 200 ms).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 5)

struct gui_event {
	const char *event;
	char value[40];
};

struct window {
	struct gui_event queue[16]; /* events posted with window_write_event_value() */
	unsigned head, tail;
	bool start_clicked, done_shown;
};

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static void window_write_event_value(struct window *w, const char *event, const char *value)
{
	struct gui_event *ev = &w->queue[w->tail++ % 16];
	ev->event = event;
	snprintf(ev->value, sizeof(ev->value), "%s", value);
}

/* window.read(timeout=0): an event if one is waiting, else false at once. */
static bool window_read(struct window *w, struct gui_event *ev)
{
	if (w->head != w->tail) {
		*ev = w->queue[w->head++ % 16];
		w->done_shown |= strcmp(ev->event, "TASK_DONE") == 0;
		return true;
	}
	if (!w->start_clicked) { /* the user clicks "Start Task" */
		w->start_clicked = true;
		*ev = (struct gui_event){.event = "Start Task"};
		return true;
	}
	if (w->done_shown) { /* ...and "Exit" once the task has finished */
		*ev = (struct gui_event){.event = "Exit"};
		return true;
	}
	return false;
}

static int long_running_task(void *arg)
{
	struct window *w = arg;
	char msg[40];
	for (int i = 0; i < 5; i++) {
		int err = weft_sleep(1 * SECOND);
		if (err)
			return err;
		snprintf(msg, sizeof(msg), "Step %d complete", i + 1);
		window_write_event_value(w, "TASK_UPDATE", msg);
	}
	window_write_event_value(w, "TASK_DONE", "Task finished");
	return 0;
}

struct poll {
	struct window *window;
	weft_future *future;
	struct gui_event event;
};

/* Loop callback: must not block, so poll once and come back on the next loop turn. */
static void get_window_events(void *arg)
{
	struct poll *p = arg;
	if (window_read(p->window, &p->event))
		check(weft_future_set(p->future, 0, &p->event), "future_set");
	else if (weft_loop_call_soon(weft_loop_current(), get_window_events, p) < 0)
		check(weft_future_set(p->future, -ENOMEM, NULL), "future_set");
}

static int async_main(void *arg)
{
	struct window window = {0};
	weft_loop *loop = weft_loop_current();

	for (;;) {
		struct poll p = {.window = &window};
		check(weft_future_new(loop, &p.future), "future_new");
		check(weft_loop_call_soon(loop, get_window_events, &p), "call_soon");
		int err = weft_future_wait(p.future, NULL);
		check(weft_future_free(p.future), "future_free");
		check(err, "window read");
		check(weft_yield(), "yield");

		const char *event = p.event.event;
		if (strcmp(event, "Exit") == 0)
			break;
		if (strcmp(event, "Start Task") == 0)
			check(weft_task_spawn(NULL, long_running_task, &window, NULL), "spawn");
		if (strcmp(event, "TASK_UPDATE") == 0 || strcmp(event, "TASK_DONE") == 0)
			printf("%s\n", p.event.value);
	}
	return 0; /* window.close() */
}

int main(void)
{
	int err = weft_run(async_main, NULL, NULL);
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}

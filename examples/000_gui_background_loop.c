/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "asyncio tasks in a background thread" with
 * FreeSimpleGUI.
 * Python: a new event loop runs forever in a daemon thread; the GUI's blocking window.read()
 * loop stays on the main thread. "Start Async Task" schedules async_task with
 * run_coroutine_threadsafe; the task sleeps 1 s ten times, sending "Async task iteration i" and
 * then "Async task finished" back as window events, which the GUI prints. "Exit" stops the loop
 * with call_soon_threadsafe(loop.stop) and joins the thread.
 *
 * weft: the background loop is a loopset of one (weft_loopset_start). The GUI thread
 * hands the task over with weft_loop_post() (run_coroutine_threadsafe without waiting for the
 * result); the task talks back through the window's event queue, which - like
 * window.write_event_value - is safe to call from any thread. weft_loopset_stop() is the
 * stop-and-join. There is no GUI: the window is simulated, with a scripted user who clicks
 * "Start Async Task" first and "Exit" once the task has finished. Timing is 1:10.
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 10)

struct gui_event {
	const char *event;
	char value[48];
};

/* The window's event queue: written by any thread, read by the GUI thread (which blocks). */
struct window {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct gui_event queue[32];
	unsigned head, tail;
	bool start_clicked, finished;
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
	pthread_mutex_lock(&w->mu);
	struct gui_event *ev = &w->queue[w->tail++ % 32];
	ev->event = event;
	snprintf(ev->value, sizeof(ev->value), "%s", value);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* window.read(): blocks the GUI thread until the (scripted) user or the task does something. */
static struct gui_event window_read(struct window *w)
{
	struct gui_event ev = {.event = "Exit"};

	pthread_mutex_lock(&w->mu);
	if (!w->start_clicked) {
		w->start_clicked = true;
		ev.event = "Start Async Task";
	} else if (!w->finished || w->head != w->tail) {
		while (w->head == w->tail)
			pthread_cond_wait(&w->cv, &w->mu);
		ev = w->queue[w->head++ % 32];
		w->finished |= strcmp(ev.value, "Async task finished") == 0;
	}
	pthread_mutex_unlock(&w->mu);
	return ev;
}

static int async_task(void *arg)
{
	struct window *w = arg;
	char msg[48];

	for (int i = 0; i < 10; i++) {
		int err = weft_sleep(1 * SECOND); /* simulate async work */
		if (err)
			return err;
		snprintf(msg, sizeof(msg), "Async task iteration %d", i + 1);
		window_write_event_value(w, "TASK_UPDATE", msg);
	}
	window_write_event_value(w, "TASK_UPDATE", "Async task finished");
	return 0;
}

/* Runs on the loop's thread: schedule the task there. */
static void start_task(void *arg)
{
	check(weft_task_spawn(NULL, async_task, arg, NULL), "spawn");
}

int main(void)
{
	struct window window = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	struct weft_loopset_opts opts = {.nloops = 1};
	weft_loopset *background;

	check(weft_loopset_start(&background, &opts), "loop_group_start");
	weft_loop *loop = weft_loopset_loop(background, 0);

	for (;;) { /* the GUI's main loop */
		struct gui_event ev = window_read(&window);

		if (strcmp(ev.event, "Exit") == 0)
			break;
		if (strcmp(ev.event, "Start Async Task") == 0)
			check(weft_loop_post(loop, start_task, &window), "post");
		if (strcmp(ev.event, "TASK_UPDATE") == 0)
			printf("%s\n", ev.value);
	}
	check(weft_loopset_stop(background), "loop_group_stop"); /* stop + join */
	return 0;
}

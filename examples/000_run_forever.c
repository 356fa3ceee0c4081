/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the run_forever example.
 * Python: loop.create_task(periodic_task()) where periodic_task prints "Task running..." every
 * 2 s forever; loop.run_forever(), then loop.close() in a finally block.
 *
 * The Python never ends (it waits for loop.stop() or Ctrl-C). Here a timer calls weft_loop_stop()
 * after one second, standing in for that stop, and the period is scaled 1:5 (400 ms), so the
 * task runs three times. weft_loop_close() then cancels the still-running periodic task.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 5) /* one tutorial second, scaled down */

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int periodic_task(void *arg)
{
	for (;;) {
		printf("Task running...\n");
		int err = weft_sleep(2 * SECOND);
		if (err)
			return err; /* -ECANCELED when the loop is closed */
	}
}

static void stop_loop(void *arg)
{
	weft_loop_stop(arg);
}

int main(void)
{
	weft_loop *loop;
	weft_timer *stopper;

	check(weft_loop_new(&loop, NULL), "loop_new");
	struct weft_task_opts opts = {.name = "periodic_task"}; /* shows in WEFT_DEBUG=1 reports */
	check(weft_loop_spawn(loop, NULL, periodic_task, NULL, &opts), "spawn");
	check(weft_timer_new(loop, &stopper, stop_loop, loop), "timer_new");
	check(weft_timer_start(stopper, weft_now() + 5 * SECOND, 0), "timer_start");

	int err = weft_loop_run_forever(loop);
	weft_timer_free(stopper);
	/* the finally: cancels periodic_task and returns 1, the number of tasks it had to cancel */
	int left = weft_loop_close(loop);
	check(err, "run_forever");
	check(left, "loop_close");
	return 0;
}

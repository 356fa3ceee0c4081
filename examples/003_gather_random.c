/*
 * Seed: shared/seeds/003_57235f20fbb0a6b8.txt, "Multiple Coroutines".
 * Python: myCoroutine(id) sleeps a random 1-5 s and prints "Coroutine: id, has successfully
 * completed after N seconds"; main ensure_future()s ten of them and gathers them. They finish
 * in order of their sleep, not of their ids. Run with loop.run_until_complete() and close().
 *
 * Timing is scaled 1:5 (one tutorial second is 200 ms), so the run takes about one second.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 5)

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int my_coroutine(void *arg)
{
	int id = (int)(intptr_t)arg;
	int process_time = 1 + rand() % 5;
	int err = weft_sleep(process_time * SECOND);
	if (err)
		return err;
	printf("Coroutine: %d, has successfully completed after %d seconds\n", id, process_time);
	return 0;
}

static int async_main(void *arg)
{
	weft_task *tasks[10];
	int statuses[10];

	for (int i = 0; i < 10; i++)
		check(weft_task_spawn(&tasks[i], my_coroutine, (void *)(intptr_t)i, NULL), "spawn");
	return weft_tasks_gather(tasks, 10, statuses, 0);
}

int main(void)
{
	weft_loop *loop;
	weft_task *task;
	int status;

	srand((unsigned)time(NULL));
	check(weft_loop_new(&loop, NULL), "loop_new");
	check(weft_loop_spawn(loop, &task, async_main, NULL, NULL), "spawn");
	int err = weft_loop_run_until(loop, task, &status);
	int left = weft_loop_close(loop);
	check(err, "run_until");
	check(status, "main");
	check(left, "loop_close");
	return 0;
}

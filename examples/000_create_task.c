/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the tasks example (fetch_data).
 * Python: fetch_data(n) prints "Task n starting", sleeps n s, prints "Task n done"; main creates
 * tasks for n = 2 and n = 1, then awaits task1 and task2 in turn.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int fetch_data(void *arg)
{
	int n = (int)(intptr_t)arg;
	printf("Task %d starting\n", n);
	int err = weft_sleep(n * WEFT_SEC);
	if (err)
		return err;
	printf("Task %d done\n", n);
	return 0;
}

static int async_main(void *arg)
{
	weft_task *task1, *task2;
	int status;

	/* both start running as soon as main blocks, in spawn order */
	check(weft_task_spawn(&task1, fetch_data, (void *)2, NULL), "spawn");
	check(weft_task_spawn(&task2, fetch_data, (void *)1, NULL), "spawn");

	/* wait for both tasks to complete */
	check(weft_task_join(task1, &status), "join");
	check(status, "task1");
	check(weft_task_join(task2, &status), "join");
	check(status, "task2");
	return 0;
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

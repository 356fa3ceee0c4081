/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "cooperative multitasking" example.
 * Python: task1 prints "Task 1: Starting", sleeps 2 s, prints "Task 1: Done"; task2 the same
 * with 1 s; main runs both with asyncio.gather(), so task 2 finishes first.
 */
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

static int task1(void *arg)
{
	printf("Task 1: Starting\n");
	int err = weft_sleep(2 * WEFT_SEC); /* parks this task; the loop runs task2 meanwhile */
	if (err)
		return err;
	printf("Task 1: Done\n");
	return 0;
}

static int task2(void *arg)
{
	printf("Task 2: Starting\n");
	int err = weft_sleep(1 * WEFT_SEC);
	if (err)
		return err;
	printf("Task 2: Done\n");
	return 0;
}

static int async_main(void *arg)
{
	weft_task *tasks[2];
	int statuses[2];
	check(weft_task_spawn(&tasks[0], task1, NULL, NULL), "spawn");
	check(weft_task_spawn(&tasks[1], task2, NULL, NULL), "spawn");
	return weft_tasks_gather(tasks, 2, statuses, 0);
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

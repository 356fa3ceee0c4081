/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.11 (Wait).
 * Python: task = create_task(work()); done, pending = await asyncio.wait({task}); prints
 * 'work is done' if task is in done.
 *
 * weft_tasks_wait() takes an array and splits nothing: weft_task_done() tells done from pending, and
 * the handles stay ours to join.
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

static int work(void *arg)
{
	return 0; /* 'done' */
}

static int async_main(void *arg)
{
	weft_task *task;
	int status;

	check(weft_task_spawn(&task, work, NULL, NULL), "spawn");
	check(weft_tasks_wait(&task, 1, WEFT_WAIT_ALL_COMPLETED, WEFT_FOREVER), "wait");
	if (weft_task_done(task))
		printf("work is done\n");
	check(weft_task_join(task, &status), "join"); /* frees the handle */
	return status;
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

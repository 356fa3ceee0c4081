/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the asyncio.gather() example.
 * Python: task(n) sleeps n s and returns "Task n complete"; main gathers task(1), task(2) and
 * task(3) and prints the list of results, in argument order.
 *
 * Timing is scaled 1:5 (one tutorial second is 200 ms) to keep the run short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 5)

struct job {
	int n;
	char result[32]; /* a task returns an int status; larger results go through its arg */
};

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int task(void *arg)
{
	struct job *job = arg;
	int err = weft_sleep(job->n * SECOND);
	if (err)
		return err;
	snprintf(job->result, sizeof(job->result), "Task %d complete", job->n);
	return 0;
}

static int async_main(void *arg)
{
	struct job jobs[3] = {{.n = 1}, {.n = 2}, {.n = 3}};
	weft_task *tasks[3];
	int statuses[3];

	for (int i = 0; i < 3; i++)
		check(weft_task_spawn(&tasks[i], task, &jobs[i], NULL), "spawn");
	check(weft_tasks_gather(tasks, 3, statuses, 0), "gather");
	printf("['%s', '%s', '%s']\n", jobs[0].result, jobs[1].result, jobs[2].result);
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

/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, sections 9.6.1 and 9.6.8 (the same program).
 * Python: coroutines a, b and c print "X: started", sleep 2, 1 and 3 s, print "X: finished" and
 * return 'a', 'b', 'c'; main prints the list asyncio.gather(a(), b(), c()) returns.
 *
 * Timing is scaled 1:5 (one tutorial second is 200 ms) to keep the run short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 5)

/* a, b and c differ only in name and delay: one task function with an argument */
struct work {
	char name;
	int delay;
	char result; /* the coroutine's return value */
};

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int work(void *arg)
{
	struct work *w = arg;
	printf("%c: started\n", w->name);
	int err = weft_sleep(w->delay * SECOND);
	if (err)
		return err;
	printf("%c: finished\n", w->name);
	w->result = w->name + ('a' - 'A');
	return 0;
}

static int async_main(void *arg)
{
	struct work works[3] = {
	    {.name = 'A', .delay = 2},
	    {.name = 'B', .delay = 1},
	    {.name = 'C', .delay = 3},
	};
	weft_task *tasks[3];
	int statuses[3];

	for (int i = 0; i < 3; i++)
		check(weft_task_spawn(&tasks[i], work, &works[i], NULL), "spawn");
	check(weft_tasks_gather(tasks, 3, statuses, 0), "gather");
	printf("Result: ['%c', '%c', '%c']\n", works[0].result, works[1].result, works[2].result);
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

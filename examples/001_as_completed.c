/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.12 (As Completed).
 * Python: a, b and c print "X: started", sleep 2, 1 and 3 s, print "X: finished" and return
 * 'a', 'b', 'c'; main iterates asyncio.as_completed([a(), b(), c()]) printing each result as
 * it arrives: b, a, c.
 *
 * The tutorial's output shows C, B, A starting: as_completed puts the coroutines in a set, so
 * their start order is arbitrary. Here they start in list order.
 * Timing is scaled 1:5 (one tutorial second is 200 ms) to keep the run short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 5)

struct work {
	char name;
	int delay;
	char result;
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

	for (int i = 0; i < 3; i++)
		check(weft_task_spawn(&tasks[i], work, &works[i], NULL), "spawn");

	weft_as_completed *it;
	weft_task *t;
	int err, status;
	check(weft_as_completed_new(&it, tasks, 3), "as_completed");
	while ((err = weft_as_completed_next(it, &t)) == 0) {
		int i = 0;
		while (tasks[i] != t) /* which one finished? */
			i++;
		check(weft_task_join(t, &status), "join");
		check(status, "work");
		printf("%c\n", works[i].result);
	}
	weft_as_completed_free(it);
	return err == -ENOENT ? 0 : err;
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

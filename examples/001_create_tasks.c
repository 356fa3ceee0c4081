/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.6 (Tasks), second example.
 * Python: a, b and c print "X: started", sleep 2, 1 and 3 s and print "X: finished"; main
 * create_task()s all three, then awaits t1, t2 and t3 one after the other.
 *
 * Timing is scaled 1:5 (one tutorial second is 200 ms) to keep the run short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 5)

struct work {
	char name;
	int delay;
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
	return 0;
}

static int async_main(void *arg)
{
	struct work a = {'A', 2}, b = {'B', 1}, c = {'C', 3};
	weft_task *t1, *t2, *t3;
	int status;

	check(weft_task_spawn(&t1, work, &a, NULL), "spawn");
	check(weft_task_spawn(&t2, work, &b, NULL), "spawn");
	check(weft_task_spawn(&t3, work, &c, NULL), "spawn");
	/* all three run concurrently while main waits on each in turn */
	check(weft_task_join(t1, &status), "join");
	check(status, "a");
	check(weft_task_join(t2, &status), "join");
	check(status, "b");
	check(weft_task_join(t3, &status), "join");
	check(status, "c");
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

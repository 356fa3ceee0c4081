/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.15 (Event loops), second example.
 * Python: the pre-3.7 way: loop = asyncio.get_event_loop(); loop.run_until_complete(main()),
 * where main gathers a, b and c (print "X: started", sleep 2, 1 and 3 s, print "X: finished").
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
	static struct work works[3] = {
	    {.name = 'A', .delay = 2},
	    {.name = 'B', .delay = 1},
	    {.name = 'C', .delay = 3},
	};
	weft_task *tasks[3];
	int statuses[3];

	for (int i = 0; i < 3; i++)
		check(weft_task_spawn(&tasks[i], work, &works[i], NULL), "spawn");
	return weft_tasks_gather(tasks, 3, statuses, 0);
}

int main(void)
{
	weft_loop *loop;
	weft_task *task;
	int status;

	check(weft_loop_new(&loop, NULL), "loop_new");
	check(weft_loop_spawn(loop, &task, async_main, NULL, NULL), "spawn");
	check(weft_loop_run_until(loop, task, &status), "run_until");
	check(status, "main");
	check(weft_loop_close(loop), "loop_close"); /* the Python leaves this to interpreter exit */
	return 0;
}

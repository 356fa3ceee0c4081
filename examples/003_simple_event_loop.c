/*
 * Seed: shared/seeds/003_57235f20fbb0a6b8.txt, "Getting Started".
 * Python: myCoroutine prints "Simple Event Loop Example"; main gets an event loop, runs the
 * coroutine with loop.run_until_complete() and closes the loop.
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

static int my_coroutine(void *arg)
{
	printf("Simple Event Loop Example\n");
	return 0;
}

int main(void)
{
	weft_loop *loop;
	weft_task *task;
	int status;

	/* define an instance of an event loop */
	check(weft_loop_new(&loop, NULL), "loop_new");
	/* run it until my_coroutine is complete */
	check(weft_loop_spawn(loop, &task, my_coroutine, NULL, NULL), "spawn");
	check(weft_loop_run_until(loop, task, &status), "run_until");
	check(status, "my_coroutine");
	/* tidy up */
	check(weft_loop_close(loop), "loop_close");
	return 0;
}

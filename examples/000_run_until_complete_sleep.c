/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the run_until_complete example.
 * Python: say_hello prints "Hello, world!", sleeps 1 s, prints "Goodbye, world!"; it is run with
 * loop.run_until_complete() on an explicit loop, which is then closed.
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

static int say_hello(void *arg)
{
	printf("Hello, world!\n");
	int err = weft_sleep(1 * WEFT_SEC);
	if (err)
		return err;
	printf("Goodbye, world!\n");
	return 0;
}

int main(void)
{
	weft_loop *loop;
	weft_task *task;
	int status;

	check(weft_loop_new(&loop, NULL), "loop_new");
	check(weft_loop_spawn(loop, &task, say_hello, NULL, NULL), "spawn");
	/* returns once say_hello has returned: the loop stops right after it */
	check(weft_loop_run_until(loop, task, &status), "run_until");
	check(status, "say_hello");
	check(weft_loop_close(loop), "loop_close");
	return 0;
}

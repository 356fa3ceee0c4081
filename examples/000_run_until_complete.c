/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "manually create and run an event loop".
 * Python: loop = asyncio.get_event_loop(); loop.run_until_complete(say_hello()) where say_hello
 * prints "Hello, world!"; loop.close() in a finally block.
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
	return 0;
}

int main(void)
{
	weft_loop *loop;
	weft_task *task;
	int status;

	check(weft_loop_new(&loop, NULL), "loop_new");
	check(weft_loop_spawn(loop, &task, say_hello, NULL, NULL), "spawn");
	int err = weft_loop_run_until(loop, task, &status);
	/* the finally: close even if running failed (close cancels whatever is left) */
	int left = weft_loop_close(loop);
	check(err, "run_until");
	check(status, "say_hello");
	check(left, "loop_close");
	return 0;
}

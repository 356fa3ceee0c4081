/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.5 (Coroutines).
 * Python: coroutine work() returns 'done'; main does result = await work() and prints it.
 *
 * weft tasks are fibers with their own stacks, so any function may block (sleep, read...)
 * when called from a task: "await coroutine()" is a plain call, no colouring needed.
 */
#include <stdio.h>
#include <weft.h>

static const char *work(void)
{
	return "done";
}

static int async_main(void *arg)
{
	const char *result = work();
	printf("%s\n", result);
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

/*
 * Seed: shared/seeds/003_57235f20fbb0a6b8.txt, "Futures".
 * Python: main creates an asyncio.Future, awaits ensure_future(myCoroutine(future)) - which
 * sleeps 1 s and sets the future's result - and prints future.result(). Run with
 * loop.run_until_complete(main()) and loop.close().
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
	weft_future *future = arg;
	int err = weft_sleep(1 * WEFT_SEC); /* simulate some 'work' */
	if (err)
		return err;
	return weft_future_set(future, 0, "My Coroutine-turned-future has completed");
}

static int async_main(void *arg)
{
	weft_future *future;
	weft_task *task;
	void *result;
	int status;

	check(weft_future_new(weft_loop_current(), &future), "future_new");
	check(weft_task_spawn(&task, my_coroutine, future, NULL), "spawn");
	check(weft_task_join(task, &status), "join");
	check(status, "my_coroutine");
	check(weft_future_wait(future, &result), "future_wait"); /* already set: returns at once */
	printf("%s\n", (const char *)result);
	check(weft_future_free(future), "future_free");
	return 0;
}

int main(void)
{
	weft_loop *loop;
	weft_task *task;
	int status;

	check(weft_loop_new(&loop, NULL), "loop_new");
	check(weft_loop_spawn(loop, &task, async_main, NULL, NULL), "spawn");
	int err = weft_loop_run_until(loop, task, &status);
	int left = weft_loop_close(loop); /* the finally */
	check(err, "run_until");
	check(status, "main");
	check(left, "loop_close");
	return 0;
}

/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the ThreadPoolExecutor example.
 * Python: main creates ThreadPoolExecutor(max_workers=4) and prints
 * `await loop.run_in_executor(executor, blocking_task)`, where blocking_task() returns
 * "Task in thread pool".
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <stdio.h>
#include <weft.h>
#include <weft/executor.h>

struct blocking {
	const char *result;
};

static int blocking_task(void *arg)
{
	struct blocking *b = arg;

	b->result = "Task in thread pool";
	return 0;
}

static int async_main(void *arg)
{
	struct blocking b = {0};
	weft_executor *executor;
	int err = weft_executor_new(&executor, 4); /* ThreadPoolExecutor(max_workers=4) */
	if (err)
		return err;
	err = weft_executor_run(executor, blocking_task, &b, NULL);
	weft_executor_free(executor); /* shutdown(wait=True): Python does this at exit */
	if (err)
		return err;
	printf("%s\n", b.result);
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

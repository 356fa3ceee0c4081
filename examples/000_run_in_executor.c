/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the asyncio.run_in_executor() example.
 * Python: `await loop.run_in_executor(None, blocking_task)`: None means the loop's default thread
 * pool; blocking_task() sleeps 3 s and returns "Blocking task complete".
 *
 * weft's default pool is process-wide (weft_executor_default). Timing is scaled 1:5.
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <stdio.h>
#include <unistd.h>
#include <weft.h>
#include <weft/executor.h>

struct blocking {
	const char *result;
};

static int blocking_task(void *arg)
{
	struct blocking *b = arg;

	usleep(3 * 200000);
	b->result = "Blocking task complete";
	return 0;
}

static int async_main(void *arg)
{
	struct blocking b = {0};
	weft_executor *pool;
	int err = weft_executor_default(&pool); /* run_in_executor(None, ...) */
	if (err)
		return err;
	err = weft_executor_run(pool, blocking_task, &b, NULL);
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

/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the asyncio.to_thread example.
 * Python: blocking_task() sleeps 3 s with time.sleep and returns "Blocking task complete";
 * main prints `await asyncio.to_thread(blocking_task)`.
 *
 * The blocking sleep runs on a thread of weft's default pool while the fiber is parked (the loop
 * stays free for other tasks). Timing is scaled 1:5 (one tutorial second is 200 ms).
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <stdio.h>
#include <unistd.h>
#include <weft.h>
#include <weft/executor.h>

/* Results bigger than an int go through the argument. */
struct blocking {
	const char *result;
};

static int blocking_task(void *arg)
{
	struct blocking *b = arg;

	usleep(3 * 200000); /* time.sleep(3): blocks this worker thread, not the loop */
	b->result = "Blocking task complete";
	return 0;
}

static int async_main(void *arg)
{
	struct blocking b = {0};
	int err = weft_executor_default_run(blocking_task, &b, NULL);
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

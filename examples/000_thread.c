/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the threading.Thread example.
 * Python: thread_function() appends "Data from thread" to shared_data; main starts a
 * threading.Thread running it, joins it and prints shared_data.
 *
 * Python's thread.join() blocks the whole event loop; here the join runs as a blocking job on
 * weft's default pool (asyncio.to_thread), so only the calling fiber waits.
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

static const char *shared_data[1];
static int shared_len;

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static void *thread_function(void *arg)
{
	(void)arg;
	shared_data[shared_len++] = "Data from thread";
	return NULL;
}

static int join_thread(void *arg)
{
	return -pthread_join(*(pthread_t *)arg, NULL);
}

static int async_main(void *arg)
{
	pthread_t thread;
	int joined;

	(void)arg;
	check(-pthread_create(&thread, NULL, thread_function, NULL), "pthread_create");
	check(weft_executor_default_run(join_thread, &thread, &joined), "to_thread");
	check(joined, "pthread_join");
	/* the join orders the thread's write before this read */
	printf("['%s']\n", shared_data[0]);
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

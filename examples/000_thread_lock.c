/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "Example using threading.Lock".
 * Python: thread_function() appends "Data from thread" to shared_data under a threading.Lock;
 * async_function() appends "Data from async task" under `async with asyncio.Lock()`; main starts
 * the thread, awaits async_function(), joins the thread and prints shared_data.
 *
 * The list is shared with a plain thread, so the thread-level lock (a pthread mutex) is what
 * protects it, on both sides; as in the tutorial, the task also takes a weft_lock, which only
 * excludes other tasks of its own loop. Taking the mutex in a fiber is fine while nobody holds
 * it long: it blocks the loop for that time. The order of the two entries depends on the race.
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

static const char *shared_data[2];
static int shared_len;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

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
	pthread_mutex_lock(&lock);
	shared_data[shared_len++] = "Data from thread";
	pthread_mutex_unlock(&lock);
	return NULL;
}

static int async_function(void)
{
	weft_lock *alock;
	int err = weft_lock_new(NULL, &alock);
	if (err)
		return err;
	{
		WEFT_LOCK_GUARD(guard, alock, err);
		if (!err) {
			pthread_mutex_lock(&lock);
			shared_data[shared_len++] = "Data from async task";
			pthread_mutex_unlock(&lock);
		}
	}
	check(weft_lock_free(alock), "lock_free");
	return err;
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
	check(async_function(), "async_function");
	check(weft_executor_default_run(join_thread, &thread, &joined), "to_thread");
	check(joined, "pthread_join");
	printf("['%s', '%s']\n", shared_data[0], shared_data[1]);
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

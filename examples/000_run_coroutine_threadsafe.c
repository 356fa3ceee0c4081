/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the asyncio.run_coroutine_threadsafe example.
 * Python: main creates a second event loop and runs it forever on a threading.Thread; it passes
 * task_to_run("Hello from main") to that loop with run_coroutine_threadsafe (the task prints
 * "Task received in other thread: ..."), sleeps 1 s, stops the loop with
 * loop.call_soon_threadsafe(loop.stop) and joins the thread.
 *
 * weft_loop_call runs the task on the other loop and parks the calling fiber until it returns
 * (run_coroutine_threadsafe(...).result(), without blocking this loop); it works the same from a
 * plain thread, which it blocks. weft_loop_stop is thread-safe, so it needs no posting.
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <pthread.h>
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

/* thread_worker: runs the loop on this thread until it is stopped, then closes it (a thread
 * that runs a loop of its own, like the main one here, cannot close another) */
static void *thread_worker(void *arg)
{
	check(weft_loop_run_forever(arg), "run_forever");
	check(weft_loop_close(arg), "loop_close");
	return NULL;
}

static int task_to_run(void *arg)
{
	printf("Task received in other thread: %s\n", (const char *)arg);
	return 0;
}

/* thread.join() as a blocking job, so the loop is not blocked meanwhile */
static int join_thread(void *arg)
{
	return -pthread_join(*(pthread_t *)arg, NULL);
}

static int async_main(void *arg)
{
	weft_loop *loop;
	pthread_t thread;
	int status, err, joined;

	(void)arg;
	/* Create an event loop for the second thread. */
	check(weft_loop_new(&loop, NULL), "loop_new");
	err = pthread_create(&thread, NULL, thread_worker, loop);
	check(-err, "pthread_create");

	/* Pass a task to the second thread and wait for its status. */
	check(weft_loop_call(loop, task_to_run, "Hello from main", WEFT_FOREVER, &status),
	      "loop_call");
	check(status, "task_to_run");

	check(weft_sleep(WEFT_SEC), "sleep");

	/* Stop the thread's event loop. */
	weft_loop_stop(loop);
	check(weft_executor_default_run(join_thread, &thread, &joined), "to_thread");
	check(joined, "pthread_join");
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

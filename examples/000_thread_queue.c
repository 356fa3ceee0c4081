/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the example of a thread with its own event loop
 * consuming an asyncio.Queue.
 * Python: thread_worker(queue) creates a new event loop and runs process_queue() on it, which
 * gets items until it receives None, printing "Processed in thread: <item>"; main starts the
 * thread, puts "Task 0" .. "Task 4" and then None into the queue, and joins the thread.
 *
 * An asyncio.Queue is not thread-safe (the tutorial only gets away with it by luck); a weft
 * channel is meant for exactly this: the main loop's fiber sends, the thread's loop's fiber
 * receives, and each parks on its own loop while it has to wait. The join runs as a blocking
 * job on the default pool (asyncio.to_thread), so the main loop is never blocked.
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#define ITEMS 5

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int process_queue(void *arg)
{
	weft_chan *queue = arg;

	for (;;) {
		void *data;
		int err = weft_chan_recv(queue, &data);
		if (err)
			return err;
		if (!data) /* None: the signal to exit */
			return 0;
		printf("Processed in thread: %s\n", (const char *)data);
	}
}

/* thread_worker: a new event loop on this thread, running process_queue until it returns */
static void *thread_worker(void *arg)
{
	check(weft_run(process_queue, arg, NULL), "process_queue");
	return NULL;
}

static int join_thread(void *arg)
{
	return -pthread_join(*(pthread_t *)arg, NULL);
}

static int async_main(void *arg)
{
	char tasks[ITEMS][24];
	weft_chan *queue;
	pthread_t thread;
	int joined;

	(void)arg;
	check(weft_chan_new(&queue, 8), "chan_new");
	/* Start a thread with its own event loop. */
	check(-pthread_create(&thread, NULL, thread_worker, queue), "pthread_create");
	/* Add tasks to the queue. */
	for (int i = 0; i < ITEMS; i++) {
		snprintf(tasks[i], sizeof(tasks[i]), "Task %d", i);
		check(weft_chan_send(queue, tasks[i]), "send");
	}
	/* Signal the thread to exit. */
	check(weft_chan_send(queue, NULL), "send");
	/* Wait for the thread to finish (tasks[] stays valid until then). */
	check(weft_executor_default_run(join_thread, &thread, &joined), "to_thread");
	check(joined, "pthread_join");
	check(weft_chan_free(queue), "chan_free");
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

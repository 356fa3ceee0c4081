/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.16 (Queue).
 * Python: main puts 20 random durations (uniform 0.05 .. 1.0 s) into an asyncio.Queue with
 * put_nowait, starts three worker tasks that each loop: get a duration, sleep for it, task_done,
 * print "worker-N has slept for X seconds". main awaits queue.join(), cancels the workers, gathers
 * them (return_exceptions=True) and prints how long the three slept in parallel against the total
 * expected sleep time.
 *
 * Timing is scaled 1:5 (one tutorial second is 200 ms); printed times are in tutorial seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <weft.h>

#define SECOND	(WEFT_SEC / 5)
#define ITEMS	20
#define WORKERS 3

struct worker {
	char name[24];
	weft_queue *queue;
};

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int worker(void *arg)
{
	struct worker *w = arg;

	for (;;) {
		void *item;

		/* Get a "work item" out of the queue; cancellation ends the loop here. */
		int err = weft_queue_get(w->queue, &item);
		if (err)
			return err;
		double sleep_for = *(double *)item;
		err = weft_sleep((int64_t)(sleep_for * SECOND));
		if (err)
			return err;
		/* Notify the queue that the "work item" has been processed. */
		check(weft_queue_task_done(w->queue), "task_done");
		printf("%s has slept for %.2f seconds\n", w->name, sleep_for);
	}
}

static int async_main(void *arg)
{
	static double sleeps[ITEMS]; /* the items are pointers to these */
	struct worker workers[WORKERS];
	weft_task *tasks[WORKERS];
	int statuses[WORKERS];
	weft_queue *queue;
	double total_sleep_time = 0;

	(void)arg;
	check(weft_queue_new(NULL, &queue, WEFT_QUEUE_FIFO, 0, NULL, NULL), "queue_new");

	/* Generate random timings and put them into the queue. */
	srand((unsigned)time(NULL));
	for (int i = 0; i < ITEMS; i++) {
		sleeps[i] = 0.05 + 0.95 * rand() / RAND_MAX;
		total_sleep_time += sleeps[i];
		check(weft_queue_try_put(queue, &sleeps[i]), "put_nowait");
	}

	/* Create three worker tasks to process the queue concurrently. */
	for (int i = 0; i < WORKERS; i++) {
		workers[i].queue = queue;
		snprintf(workers[i].name, sizeof(workers[i].name), "worker-%d", i);
		check(weft_task_spawn(&tasks[i], worker, &workers[i], NULL), "spawn");
	}

	/* Wait until the queue is fully processed. */
	int64_t started_at = weft_now();
	check(weft_queue_join(queue), "join");
	double total_slept_for = (double)(weft_now() - started_at) / SECOND;

	/* Cancel the workers and wait until they have returned (each with -ECANCELED). */
	for (int i = 0; i < WORKERS; i++)
		check(weft_task_cancel(tasks[i]), "cancel");
	int err = weft_tasks_gather(tasks, WORKERS, statuses, 0);
	if (err != -ECANCELED)
		check(err < 0 ? err : -EPROTO, "gather");

	printf("====\n");
	printf("%d workers slept in parallel for %.2f seconds\n", WORKERS, total_slept_for);
	printf("total expected sleep time: %.2f seconds\n", total_sleep_time);
	check(weft_queue_free(queue), "queue_free");
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

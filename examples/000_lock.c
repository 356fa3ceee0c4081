/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "Example using asyncio.Lock".
 * Python: async_function_one and async_function_two each, under `async with lock`, append a
 * string to shared_data, sleep 1 s and print "Async function X completed"; main gathers the two
 * and prints shared_data.
 *
 * The lock serializes the two functions (the second waits for the first's sleep), so the whole
 * run takes about 2 s, as in Python.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

static const char *shared_data[2];
static int shared_len;
static weft_lock *lock;

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

/* async_function_one and _two differ only in their words: one task function with an argument */
struct words {
	const char *data;
	const char *done;
};

static int async_function(void *arg)
{
	struct words *w = arg;
	int err;

	/* async with lock: the guard releases it on every way out of the block */
	WEFT_LOCK_GUARD(guard, lock, err);
	if (err)
		return err;
	shared_data[shared_len++] = w->data;
	err = weft_sleep(WEFT_SEC); /* simulate some asynchronous work */
	if (err)
		return err;
	printf("%s\n", w->done);
	return 0;
}

static int async_main(void *arg)
{
	struct words words[2] = {
	    {"Data from async function one", "Async function one completed"},
	    {"Data from async function two", "Async function two completed"},
	};
	weft_task *tasks[2];
	int statuses[2];

	(void)arg;
	check(weft_lock_new(NULL, &lock), "lock_new");
	for (int i = 0; i < 2; i++)
		check(weft_task_spawn(&tasks[i], async_function, &words[i], NULL), "spawn");
	check(weft_tasks_gather(tasks, 2, statuses, 0), "gather");
	printf("['%s', '%s']\n", shared_data[0], shared_data[1]);
	check(weft_lock_free(lock), "lock_free");
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

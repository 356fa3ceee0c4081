/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.13 (Running in Threads).
 * Python: work() prints "Work started <time>", blocks in time.sleep(2), prints "Work done at
 * <time>"; main prints "Started main at <time>", awaits
 * asyncio.gather(asyncio.to_thread(work), asyncio.sleep(1)), prints "Finished main at <time>".
 * The one-second sleep runs on the loop while work() blocks its thread, so main finishes when
 * work does (after 2 s, not 3).
 *
 * Timing is scaled 1:5 (one tutorial second is 200 ms), so the clock times below show
 * milliseconds too.
 *
 * weft-example: no-valgrind (another thread wakes the loop; valgrind serialises threads and a
 * loop asleep in io_uring_enter holds its lock, see README "Tests")
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <weft.h>
#include <weft/executor.h>

#define SECOND (WEFT_SEC / 5)

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

/* time.strftime("%X"), with milliseconds */
static const char *now_str(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	char hms[16];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(hms, sizeof(hms), "%X", &tm);
	snprintf(buf, len, "%s.%03d", hms, (int)(tv.tv_usec / 1000));
	return buf;
}

/* A plain blocking function: it runs on a worker thread. */
static int work(void *arg)
{
	char buf[48];

	printf("Work started %s\n", now_str(buf, sizeof(buf)));
	fflush(stdout);
	usleep(2 * SECOND / WEFT_USEC); /* time.sleep(2) */
	printf("Work done at %s\n", now_str(buf, sizeof(buf)));
	fflush(stdout);
	return 0;
}

/* The two awaitables gather() takes, as tasks. */
static int to_thread_work(void *arg)
{
	int result;
	int err = weft_executor_default_run(work, NULL, &result);
	return err ? err : result;
}

static int sleep_one(void *arg)
{
	return weft_sleep(1 * SECOND);
}

static int async_main(void *arg)
{
	weft_task *tasks[2];
	char buf[48];

	printf("Started main at %s\n", now_str(buf, sizeof(buf)));
	fflush(stdout);
	check(weft_task_spawn(&tasks[0], to_thread_work, NULL, NULL), "spawn");
	check(weft_task_spawn(&tasks[1], sleep_one, NULL, NULL), "spawn");
	check(weft_tasks_gather(tasks, 2, NULL, 0), "gather");
	printf("Finished main at %s\n", now_str(buf, sizeof(buf)));
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

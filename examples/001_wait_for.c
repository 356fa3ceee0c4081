/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.10 (Timeouts).
 * Python: work() sleeps an hour; main awaits asyncio.wait_for(work(), timeout=1.0) and prints
 * 'timeout!' on asyncio.TimeoutError (wait_for cancels work first).
 */
#include <errno.h>
#include <stdio.h>
#include <weft.h>

#define HOUR (3600 * WEFT_SEC)

static int work(void *arg)
{
	int err = weft_sleep(HOUR);
	if (err)
		return err; /* -ECANCELED: wait_for gave up on us */
	return 0;
}

static int async_main(void *arg)
{
	weft_task *task;
	int status;

	int err = weft_task_spawn(&task, work, NULL, NULL);
	if (err)
		return err;
	/* on timeout, work is cancelled and waited for before this returns */
	err = weft_task_wait_for(task, 1 * WEFT_SEC, &status);
	if (err == -ETIMEDOUT)
		printf("timeout!\n");
	else if (err)
		return err;
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

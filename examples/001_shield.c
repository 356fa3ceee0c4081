/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.9 (Shielding from Cancellation).
 * Python: res = await shield(work()), falling back to res = None on CancelledError. (The
 * tutorial forgets to import shield and CancelledError; it runs once they are imported. It
 * prints nothing; this version prints res so there is something to see.)
 *
 * weft_task_join() is the shield: if the joining task is cancelled, join returns -ECANCELED and
 * leaves the joined task running, its handle still ours (here we detach it, as asyncio lets
 * the shielded inner task run on).
 */
#include <errno.h>
#include <stdio.h>
#include <weft.h>

static int work(void *arg)
{
	*(const char **)arg = "done";
	return 0;
}

static int async_main(void *arg)
{
	static const char *result; /* static: the task may outlive this frame if we are cancelled */
	const char *res;
	weft_task *task;
	int status;

	int err = weft_task_spawn(&task, work, &result, NULL);
	if (err)
		return err;
	err = weft_task_join(task, &status);
	if (err == -ECANCELED) {
		err = weft_task_detach(task); /* work() goes on; we just stop waiting for it */
		if (err)
			return err;
		res = NULL;
	} else if (err) {
		return err;
	} else {
		if (status < 0)
			return status;
		res = result;
	}
	printf("res = %s\n", res ? res : "None");
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

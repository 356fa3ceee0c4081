/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.6 (Tasks), first example.
 * Python: task = asyncio.create_task(work()) where work returns 'done'; result = await task;
 * print(result).
 */
#include <stdio.h>
#include <weft.h>

/* A task's return value is an int status; a string result goes out through its argument. */
static int work(void *arg)
{
	*(const char **)arg = "done";
	return 0;
}

static int async_main(void *arg)
{
	const char *result = NULL;
	weft_task *task;
	int status;

	int err = weft_task_spawn(&task, work, &result, NULL);
	if (err)
		return err;
	err = weft_task_join(task, &status);
	if (err)
		return err;
	if (status < 0)
		return status;
	printf("%s\n", result);
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

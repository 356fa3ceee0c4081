/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.4 (Sleeping).
 * Python: result = await asyncio.sleep(1, 'done'); print(result).
 *
 * weft_sleep() returns 0 (or an error), not a caller-chosen value: the result is just the
 * value we already have once the sleep succeeded.
 */
#include <stdio.h>
#include <weft.h>

static int async_main(void *arg)
{
	int err = weft_sleep(1 * WEFT_SEC);
	if (err)
		return err;
	const char *result = "done";
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

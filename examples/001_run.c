/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.2 (Running Program).
 * Python: main sleeps 1 s and prints 'hello'; asyncio.run(main()).
 */
#include <stdio.h>
#include <weft.h>

static int async_main(void *arg)
{
	int err = weft_sleep(1 * WEFT_SEC);
	if (err)
		return err;
	printf("hello\n");
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

/*
 * Seed: shared/seeds/002_c090b335120b1163.txt, "Basic Example".
 * Python: main prints 'Hello ...', sleeps 1 s, prints '... World!'; asyncio.run(main()).
 */
#include <stdio.h>
#include <weft.h>

static int async_main(void *arg)
{
	printf("Hello ...\n");
	int err = weft_sleep(1 * WEFT_SEC);
	if (err)
		return err;
	printf("... World!\n");
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

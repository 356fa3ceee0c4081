/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the asyncio.sleep() example.
 * Python: prints "Waiting...", sleeps 2 s, prints "Done waiting".
 */
#include <stdio.h>
#include <weft.h>

static int example(void *arg)
{
	printf("Waiting...\n");
	int err = weft_sleep(2 * WEFT_SEC);
	if (err)
		return err;
	printf("Done waiting\n");
	return 0;
}

int main(void)
{
	int err = weft_run(example, NULL, NULL);
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}

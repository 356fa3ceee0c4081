/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the two asyncio.run(say_hello()) examples
 * ("Using asyncio.run() simplifies the process" and the asyncio.run section; they are the same).
 * Python: say_hello prints "Hello, world!"; asyncio.run() creates the loop, runs it, closes it.
 */
#include <stdio.h>
#include <weft.h>

static int say_hello(void *arg)
{
	printf("Hello, world!\n");
	return 0;
}

int main(void)
{
	int err = weft_run(say_hello, NULL, NULL); /* create loop, run say_hello, close loop */
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}

/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the error handling example.
 * Python: faulty_task raises ValueError("An error occurred"); main awaits it inside try/except
 * and prints "Caught an error: ...".
 *
 * In weft an exception is a negative errno returned by the call (ValueError -> -EINVAL), and
 * awaiting a coroutine is just calling the function: fibers can block anywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <weft.h>

static int faulty_task(void)
{
	return -EINVAL; /* raise ValueError */
}

static int async_main(void *arg)
{
	int err = faulty_task();
	if (err == -EINVAL)
		printf("Caught an error: %s\n", weft_strerror(err));
	else if (err < 0)
		return err; /* anything else is not ours to handle: it fails main */
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

/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the executors example (ProcessPoolExecutor with
 * cpu_bound_task).
 * Python: main creates ProcessPoolExecutor(max_workers=2) and prints
 * `await loop.run_in_executor(executor, cpu_bound_task)`, where cpu_bound_task() returns
 * sum(range(10**6)), i.e. 499999500000.
 * Functions a worker process can run are registered by name when the pool is created, which is
 * done before the loop starts (workers are forked then). Arguments and results are bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>
#include <weft/process.h>

static int cpu_bound_task(const void *in, size_t inlen, void **out, size_t *outlen)
{
	int64_t sum = 0;

	for (int64_t i = 0; i < 1000000; i++) /* sum(range(10**6)) */
		sum += i;
	*out = malloc(sizeof(sum));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, &sum, sizeof(sum));
	*outlen = sizeof(sum);
	return 0;
}

static const struct weft_proc_func funcs[] = {{"cpu_bound_task", cpu_bound_task}};

static int async_main(void *arg)
{
	weft_procpool *executor = arg;
	void *out;
	size_t outlen;
	int64_t result;
	int err = weft_procpool_run(executor, "cpu_bound_task", NULL, 0, &out, &outlen);
	if (err < 0)
		return err;
	if (outlen != sizeof(result)) {
		free(out);
		return -EPROTO;
	}
	memcpy(&result, out, sizeof(result));
	free(out);
	printf("%lld\n", (long long)result);
	return 0;
}

int main(void)
{
	struct weft_procpool_opts opts = {.nworkers = 2}; /* ProcessPoolExecutor(max_workers=2) */
	weft_procpool *executor;
	int err = weft_procpool_new(&executor, funcs, 1, &opts);
	if (!err)
		err = weft_run(async_main, executor, NULL);
	weft_procpool_free(executor); /* shutdown(wait=True): Python does this at exit */
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}

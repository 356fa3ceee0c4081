/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the ProcessPoolExecutor argument example.
 * Python: main prints `await loop.run_in_executor(ProcessPoolExecutor(), process_task,
 * "Task data")`, where process_task(data) returns f"Processed {data}".
 * The argument travels to the worker process as bytes and the result comes back as bytes, the
 * part pickle does for Python.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>
#include <weft/process.h>

static int process_task(const void *data, size_t len, void **out, size_t *outlen)
{
	static const char prefix[] = "Processed ";
	char *s = malloc(sizeof(prefix) - 1 + len);

	if (!s)
		return -ENOMEM;
	memcpy(s, prefix, sizeof(prefix) - 1);
	memcpy(s + sizeof(prefix) - 1, data, len);
	*out = s;
	*outlen = sizeof(prefix) - 1 + len;
	return 0;
}

static const struct weft_proc_func funcs[] = {{"process_task", process_task}};

static int async_main(void *arg)
{
	static const char data[] = "Task data";
	weft_procpool *executor = arg;
	void *result;
	size_t len;
	int err = weft_procpool_run(executor, "process_task", data, strlen(data), &result, &len);
	if (err < 0)
		return err;
	printf("%.*s\n", (int)len, (char *)result);
	free(result);
	return 0;
}

int main(void)
{
	weft_procpool *executor; /* ProcessPoolExecutor(): one worker per CPU */
	int err = weft_procpool_new(&executor, funcs, 1, NULL);
	if (!err)
		err = weft_run(async_main, executor, NULL);
	weft_procpool_free(executor);
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}

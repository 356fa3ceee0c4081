/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the first example (asyncio.as_completed).
 * Python: three create_task(fetch_url(url, delay)) with delays 3, 2 and 1 s, each returning
 * "Content from <url> after <delay> seconds"; main awaits them with asyncio.as_completed() and
 * prints each result as soon as it is ready, so the 1 s fetch prints first.
 *
 * Timing is scaled 1:5 (one tutorial second is 200 ms) to keep the run short.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

#define SECOND (WEFT_SEC / 5)

struct fetch {
	const char *url;
	int delay;
	char result[80]; /* a task's int status can't carry a string: results go through arg */
};

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int fetch_url(void *arg)
{
	struct fetch *f = arg;
	int err = weft_sleep(f->delay * SECOND); /* simulates the network delay */
	if (err)
		return err;
	snprintf(f->result, sizeof(f->result), "Content from %s after %d seconds", f->url,
		 f->delay);
	return 0;
}

static int async_main(void *arg)
{
	struct fetch urls[] = {
	    {.url = "http://example.com/1", .delay = 3},
	    {.url = "http://example.com/2", .delay = 2},
	    {.url = "http://example.com/3", .delay = 1},
	};
	enum { N = sizeof(urls) / sizeof(urls[0]) };
	weft_task *tasks[N];
	for (int i = 0; i < N; i++)
		check(weft_task_spawn(&tasks[i], fetch_url, &urls[i], NULL), "spawn");

	weft_as_completed *it;
	check(weft_as_completed_new(&it, tasks, N), "as_completed");
	weft_task *t;
	int err;
	while ((err = weft_as_completed_next(it, &t)) == 0) {
		/* as_completed hands back the handle; find which fetch it was */
		int i = 0;
		while (tasks[i] != t)
			i++;
		int status;
		check(weft_task_join(t, &status), "join");
		check(status, urls[i].url);
		printf("%s\n", urls[i].result);
	}
	weft_as_completed_free(it);
	return err == -ENOENT ? 0 : err;
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

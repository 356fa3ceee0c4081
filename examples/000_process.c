/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the multiprocessing example (Process running
 * asyncio.run in the child).
 * Python: worker() runs asyncio.run(async_task()), which prints "Async task running", sleeps 1 s
 * and prints "Async task done"; main starts Process(target=worker) and joins it.
 * Here the sleep is 200 ms (1:5 time). The child runs a weft loop of its own: weft_process_spawn
 * gives it a clean start (no loop, empty signal mask), and the parent joins it like
 * Process.join() with a plain waitpid (from a fiber, weft_process_wait parks instead).
 */
#include <stdio.h>
#include <sys/wait.h>
#include <weft.h>
#include <weft/process.h>

static int async_task(void *arg)
{
	printf("Async task running\n");
	fflush(stdout);
	int err = weft_sleep(200 * WEFT_MSEC);
	if (err)
		return err;
	printf("Async task done\n");
	return 0;
}

static int worker(void *arg)
{
	return weft_run(async_task, NULL, NULL) ? 1 : 0; /* asyncio.run(async_task()) */
}

int main(void)
{
	pid_t pid;
	int status;
	int err = weft_process_spawn(&pid, worker, NULL); /* Process(target=worker).start() */
	if (err) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	if (waitpid(pid, &status, 0) != pid) /* process.join() */
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

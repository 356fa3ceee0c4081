/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the multiprocessing.Queue example.
 * Python: a module-level Queue(); process_task() runs in a ProcessPoolExecutor and does
 * queue.put("Data from process"); main awaits it, then prints queue.get() while not
 * queue.empty().
 * The queue is a pipe made before the pool, passed on by inheritance as in the Python version
 * (the seed notes a queue cannot be an argument): the workers keep its write end open
 * (opts.keep_fds; they close every other inherited descriptor). Messages are length-prefixed.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <weft.h>
#include <weft/process.h>

static int queue_fds[2]; /* [0]: get side (parent), [1]: put side (workers) */

static int queue_put(const char *msg)
{
	uint32_t len = (uint32_t)strlen(msg);
	char buf[256];

	if (len > sizeof(buf) - sizeof(len))
		return -EMSGSIZE;
	memcpy(buf, &len, sizeof(len));
	memcpy(buf + sizeof(len), msg, len);
	return write(queue_fds[1], buf, sizeof(len) + len) < 0 ? -errno
							       : 0; /* atomic: < PIPE_BUF */
}

/* queue.get() when not queue.empty(): 1 with a message, 0 when empty. */
static int queue_get(char *msg, size_t size)
{
	uint32_t len;

	if (read(queue_fds[0], &len, sizeof(len)) != sizeof(len) || len >= size)
		return 0;
	if (read(queue_fds[0], msg, len) != (ssize_t)len)
		return 0;
	msg[len] = '\0';
	return 1;
}

static int process_task(const void *in, size_t inlen, void **out, size_t *outlen)
{
	return queue_put("Data from process");
}

static const struct weft_proc_func funcs[] = {{"process_task", process_task}};

static int async_main(void *arg)
{
	weft_procpool *executor = arg;
	char msg[256];
	int err = weft_procpool_run(executor, "process_task", NULL, 0, NULL, NULL);
	if (err < 0)
		return err;
	while (queue_get(msg, sizeof(msg))) /* while not queue.empty(): print(queue.get()) */
		printf("%s\n", msg);
	return 0;
}

int main(void)
{
	struct weft_procpool_opts opts = {.keep_fds = &queue_fds[1], .nkeep_fds = 1};
	weft_procpool *executor;
	int err;

	if (pipe2(queue_fds, O_CLOEXEC) || fcntl(queue_fds[0], F_SETFL, O_NONBLOCK))
		return 1;
	err = weft_procpool_new(&executor, funcs, 1, &opts);
	if (!err)
		err = weft_run(async_main, executor, NULL);
	weft_procpool_free(executor);
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}

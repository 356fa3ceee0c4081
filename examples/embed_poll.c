/*
 * Embedding: another event loop owns the thread and drives weft.
 *
 * The host here is a bare poll(2) loop - the shape of a GUI toolkit's main loop, libuv or any
 * epoll loop - that watches its own fd (a pipe a "device" thread writes ticks to) and weft's
 * fd. When weft's fd is readable or weft's timeout expires it calls weft_loop_run_nowait();
 * weft never blocks it. Fibers meanwhile sleep, and a plain thread posts into the loop.
 * Compare 000_gui_background_loop.c, where weft gets a thread of its own instead.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <weft.h>

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

/* A fiber: sleeps, as fibers do, while the host keeps running. */
static int worker(void *arg)
{
	for (int i = 1; i <= 3; i++) {
		check(weft_sleep(30 * WEFT_MSEC), "sleep");
		printf("weft: worker %s step %d\n", (const char *)arg, i);
	}
	return 0;
}

/* The host's own event source: a thread writing ticks to a pipe, and posting into weft. */
struct device {
	int fd[2];
	weft_loop *loop;
};

static void posted(void *arg)
{
	printf("weft: a post from the device thread ran on the host's thread\n");
}

static void *device_main(void *arg)
{
	struct device *d = arg;

	for (char tick = '1'; tick <= '3'; tick++) {
		usleep(25 * 1000);
		if (write(d->fd[1], &tick, 1) != 1)
			exit(1);
	}
	check(weft_loop_post(d->loop, posted, NULL), "post");
	return NULL;
}

/* weft's timeout for poll(2): milliseconds, rounded up; -1 for "only the fd". */
static int poll_timeout(weft_loop *loop)
{
	int64_t ns = weft_loop_timeout(loop);

	return ns == WEFT_FOREVER ? -1 : (int)((ns + WEFT_MSEC - 1) / WEFT_MSEC);
}

int main(void)
{
	struct device dev;
	weft_loop *loop;
	pthread_t th;
	int ticks = 0, more = 1;

	check(weft_loop_new(&loop, NULL), "loop_new");
	check(weft_loop_spawn(loop, NULL, worker, "a", NULL), "spawn");
	check(weft_loop_spawn(loop, NULL, worker, "b", NULL), "spawn");
	dev.loop = loop;
	if (pipe(dev.fd))
		return 1;
	check(pthread_create(&th, NULL, device_main, &dev) ? -1 : 0, "pthread_create");

	struct pollfd fds[2] = {
	    {.fd = dev.fd[0], .events = POLLIN},
	    {.fd = weft_loop_fd(loop), .events = POLLIN},
	};
	check(fds[1].fd, "loop_fd");
	/* The host's loop: until weft has nothing left and the device said its three ticks. */
	while (more || ticks < 3) {
		if (poll(fds, 2, more ? poll_timeout(loop) : -1) < 0)
			return 1;
		if (fds[0].revents & POLLIN) {
			char tick;
			if (read(dev.fd[0], &tick, 1) == 1)
				printf("host: device tick %c\n", tick), ticks++;
		}
		more = weft_loop_run_nowait(loop); /* also when only the timeout expired */
		check(more, "run_nowait");
	}
	pthread_join(th, NULL);
	weft_loop_run_nowait(loop); /* the post, if it came after the last turn */
	check(weft_loop_close(loop), "loop_close");
	close(dev.fd[0]);
	close(dev.fd[1]);
	return 0;
}

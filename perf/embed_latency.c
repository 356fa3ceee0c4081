/* SPDX-License-Identifier: MIT */
/*
 * perf/embed_latency [-n N] - how soon an embedded loop (weft_loop_fd / weft_loop_run_nowait,
 * driven by a bare poll(2) host with no timeout) sees socket and pipe completions. Not a suite:
 * it prints two lines of percentiles (README "Embedding").
 *
 *   pipe  a peer thread writes its clock to a pipe; a fiber's read returns it: write -> wake-up
 *   echo  a peer thread sends 8 bytes over a socketpair, a fiber echoes them: round trip
 *
 * The peer waits 1 ms between messages, so the host is asleep in poll each time.
 */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weft.h"
#include "weft/file.h"
#include "weft/net.h"

static int nsamples = 2000;
static int64_t *pipe_lat, *echo_rtt;
static int pipe_fd[2], sock_fd[2];

static void die(const char *what, int err)
{
	fprintf(stderr, "embed_latency: %s: %s\n", what, weft_strerror(err));
	exit(1);
}

/* Fiber: read each clock the peer wrote, record how long it took to get here. */
static int pipe_reader(void *arg)
{
	weft_file *f;
	int64_t sent;

	if (weft_file_from_fd(&f, pipe_fd[0]))
		die("file_from_fd", -EINVAL);
	for (int i = 0; i < nsamples; i++) {
		if (weft_file_read(f, &sent, sizeof(sent)) != sizeof(sent))
			die("pipe read", -EIO);
		pipe_lat[i] = weft_now() - sent;
	}
	return weft_file_close(f);
}

/* Fiber: echo whatever arrives until the peer closes. */
static int echoer(void *arg)
{
	char buf[64];
	weft_sock *s;
	ssize_t n;

	if (weft_sock_wrap(&s, sock_fd[0]))
		die("sock_wrap", -EINVAL);
	while ((n = weft_sock_recv(s, buf, sizeof(buf))) > 0)
		if (weft_sock_send(s, buf, (size_t)n) != n)
			die("echo send", -EIO);
	return weft_sock_close(s);
}

static void *peer(void *arg)
{
	for (int i = 0; i < nsamples; i++) {
		int64_t t = weft_now(), back;

		usleep(1000);
		t = weft_now();
		if (write(pipe_fd[1], &t, sizeof(t)) != sizeof(t))
			die("pipe write", -errno);
		usleep(1000);
		t = weft_now();
		if (send(sock_fd[1], &t, sizeof(t), 0) != sizeof(t) ||
		    recv(sock_fd[1], &back, sizeof(back), MSG_WAITALL) != sizeof(back))
			die("echo", -errno);
		echo_rtt[i] = weft_now() - t;
	}
	shutdown(sock_fd[1], SHUT_WR);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, int64_t *v)
{
	qsort(v, (size_t)nsamples, sizeof(*v), cmp);
	printf("%-5s n=%d  p50 %8.1f us  p90 %8.1f us  p99 %8.1f us  max %8.1f us\n", name,
	       nsamples, v[nsamples / 2] / 1e3, v[nsamples * 9 / 10] / 1e3,
	       v[nsamples * 99 / 100] / 1e3, v[nsamples - 1] / 1e3);
}

int main(int argc, char **argv)
{
	struct pollfd p = {.events = POLLIN};
	weft_loop *loop;
	pthread_t th;
	int r;

	if (argc == 3 && !strcmp(argv[1], "-n"))
		nsamples = atoi(argv[2]);
	if (nsamples < 1)
		nsamples = 1;
	pipe_lat = calloc((size_t)nsamples, sizeof(*pipe_lat));
	echo_rtt = calloc((size_t)nsamples, sizeof(*echo_rtt));
	if (!pipe_lat || !echo_rtt || pipe(pipe_fd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sock_fd))
		die("setup", -errno);
	if ((r = weft_loop_new(&loop, NULL)))
		die("loop_new", r);
	if ((p.fd = weft_loop_fd(loop)) < 0)
		die("loop_fd", p.fd);
	if ((r = weft_loop_spawn(loop, NULL, pipe_reader, NULL, NULL)) ||
	    (r = weft_loop_spawn(loop, NULL, echoer, NULL, NULL)))
		die("spawn", r);
	if (pthread_create(&th, NULL, peer, NULL))
		die("pthread_create", -EAGAIN);
	/* The host: sleep in poll with no timeout unless weft has a timer or ready work. */
	while ((r = weft_loop_run_nowait(loop)) == 1) {
		int64_t t = weft_loop_timeout(loop);

		if (t != 0 && poll(&p, 1, t == WEFT_FOREVER ? -1 : (int)(t / WEFT_MSEC + 1)) < 0)
			die("poll", -errno);
	}
	if (r < 0)
		die("run_nowait", r);
	pthread_join(th, NULL);
	printf("backend %s, ring features 0x%x\n", weft_backend_name(weft_loop_backend(loop)),
	       weft_loop_features(loop));
	report("pipe", pipe_lat);
	report("echo", echo_rtt);
	close(pipe_fd[1]);
	close(sock_fd[1]);
	return weft_loop_close(loop) ? 1 : 0;
}

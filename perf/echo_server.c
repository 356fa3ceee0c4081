/* SPDX-License-Identifier: MIT */
/*
 * perf/echo_server - the weft echo server: what perf/net.sh measures against the raw liburing
 * server (perf/echo_uring) and the epoll one (perf/echo_epoll), and the way to write a weft TCP
 * server: a listener, a server that runs one fiber per connection, and a handler that reads into
 * a buffer and writes it back, in plain blocking style.
 *
 * Usage: echo_server [-p PORT] [-t THREADS]
 *   -p  TCP port, bound on every address (default 7000)
 *   -t  threads, each running its own loop with its own SO_REUSEPORT listener, so the kernel
 *       spreads connections over them (default 1)
 * Runs until killed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "weft.h"
#include "weft/net.h"

static int opt_port = 7000;
static int opt_threads = 1;

/* One connection, in its own fiber: echo until the peer closes. The server closes @conn. */
static int echo(weft_sock *conn, void *arg)
{
	char buf[16384];

	(void)arg;
	for (;;) {
		ssize_t n = weft_sock_recv(conn, buf, sizeof(buf));
		if (n <= 0)
			return (int)n; /* 0: the peer closed; < 0: reset, cancelled ... */
		n = weft_sock_send(conn, buf, (size_t)n);
		if (n < 0)
			return (int)n;
	}
}

/* One loop's main fiber: listen (SO_REUSEPORT, so every thread can) and serve forever. */
static int serve(void *arg)
{
	struct weft_listen_opts lo = {.flags = WEFT_LISTEN_REUSEPORT};
	weft_sockaddr addr;
	weft_server *srv;
	weft_sock *listener;
	int r;

	(void)arg;
	weft_addr_inet(&addr, NULL, (uint16_t)opt_port);
	r = weft_tcp_listen(&listener, &addr, &lo);
	if (r) {
		fprintf(stderr, "echo_server: listen on port %d: %s\n", opt_port, weft_strerror(r));
		return r;
	}
	r = weft_server_start(&srv, listener, echo, NULL, NULL);
	if (r) {
		weft_sock_close(listener);
		return r;
	}
	r = weft_server_wait(srv);
	weft_server_free(srv);
	return r;
}

static void *thread_main(void *arg)
{
	return (void *)(intptr_t)weft_run(serve, arg, NULL);
}

int main(int argc, char **argv)
{
	pthread_t *threads;
	struct rlimit rl;
	int c, r;

	while ((c = getopt(argc, argv, "p:t:")) != -1) {
		switch (c) {
		case 'p':
			opt_port = atoi(optarg);
			break;
		case 't':
			opt_threads = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: echo_server [-p PORT] [-t THREADS]\n");
			return 2;
		}
	}
	if (opt_port <= 0 || opt_port > 65535 || opt_threads < 1) {
		fprintf(stderr, "usage: echo_server [-p PORT] [-t THREADS]\n");
		return 2;
	}
	/* A server holds one fd per connection: take all the kernel allows us. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	threads = calloc((size_t)opt_threads, sizeof(*threads));
	if (!threads)
		return 1;
	for (int i = 1; i < opt_threads; i++) {
		if ((r = pthread_create(&threads[i], NULL, thread_main, NULL))) {
			fprintf(stderr, "echo_server: pthread_create: %s\n", strerror(r));
			return 1;
		}
	}
	r = weft_run(serve, NULL, NULL); /* the main thread serves too */
	return r < 0 ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * perf/echo_server - the weft echo server: what perf/net.sh measures against the raw liburing
 * server (perf/echo_uring) and the epoll one (perf/echo_epoll), and the way to write a weft TCP
 * server: a listener, a server that runs one fiber per connection (perf/serve.h), and a handler
 * that reads into a buffer and writes it back, in plain blocking style.
 *
 * Usage: echo_server [-p PORT] [-t THREADS]
 *   -p  TCP port, bound on every address (default 7000)
 *   -t  threads, each running its own loop with its own SO_REUSEPORT listener, so the kernel
 *       spreads connections over them (default 1)
 * Runs until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "weft/net.h"
#include "perf/serve.h"

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

static int usage(void)
{
	fprintf(stderr, "usage: echo_server [-p PORT] [-t THREADS]\n");
	return 2;
}

int main(int argc, char **argv)
{
	int c;

	perf_serve_cfg.port = 7000;
	while ((c = getopt(argc, argv, "p:t:")) != -1) {
		if (!perf_serve_opt(c, optarg))
			return usage();
	}
	if (!perf_serve_opts_ok())
		return usage();
	return perf_serve("echo_server", echo) ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * perf/serve.h - how perf's weft servers (echo_server, http_server) serve: a listener on every
 * address, a weft server running one fiber per connection, and one loop per thread, each with
 * its own SO_REUSEPORT listener so the kernel spreads connections over them.
 */
#ifndef WEFT_PERF_SERVE_H
#define WEFT_PERF_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "weft.h"
#include "weft/net.h"

struct perf_serve {
	const char *prog;
	int port;
	int threads;
	weft_server_fn fn;
};

/* What perf_serve() serves; the program sets its default port before reading its options. */
static struct perf_serve perf_serve_cfg = {.threads = 1};

/* perf_serve_opt - take option @c if it is -p PORT or -t THREADS (getopt's @arg): true if so. */
static inline bool perf_serve_opt(int c, const char *arg)
{
	if (c == 'p')
		perf_serve_cfg.port = atoi(arg);
	else if (c == 't')
		perf_serve_cfg.threads = atoi(arg);
	else
		return false;
	return true;
}

/* perf_serve_opts_ok - the port and thread count are usable. */
static inline bool perf_serve_opts_ok(void)
{
	return perf_serve_cfg.port > 0 && perf_serve_cfg.port <= 65535 &&
	       perf_serve_cfg.threads >= 1;
}

/* One loop's main fiber: listen (SO_REUSEPORT, so every thread can) and serve forever. */
static int perf_serve_loop(void *arg)
{
	const struct perf_serve *ps = arg;
	struct weft_listen_opts lo = {.flags = WEFT_LISTEN_REUSEPORT};
	weft_sockaddr addr;
	weft_server *srv;
	weft_sock *listener;
	int r;

	weft_addr_inet(&addr, NULL, (uint16_t)ps->port);
	r = weft_tcp_listen(&listener, &addr, &lo);
	if (r) {
		fprintf(stderr, "%s: listen on port %d: %s\n", ps->prog, ps->port,
			weft_strerror(r));
		return r;
	}
	r = weft_server_start(&srv, listener, ps->fn, NULL, NULL);
	if (r) {
		weft_sock_close(listener);
		return r;
	}
	r = weft_server_wait(srv);
	weft_server_free(srv);
	return r;
}

static void *perf_serve_thread(void *arg)
{
	return (void *)(intptr_t)weft_run(perf_serve_loop, arg, NULL);
}

/*
 * perf_serve - serve @fn on the port with the threads perf_serve_opt() took (the calling thread
 * runs one loop) until killed; returns only on failure (non-zero). Takes every fd the kernel
 * allows first: a server holds one per connection.
 */
static inline int perf_serve(const char *prog, weft_server_fn fn)
{
	struct perf_serve *ps = &perf_serve_cfg;
	pthread_t thread;
	struct rlimit rl;
	int r;

	ps->prog = prog;
	ps->fn = fn;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int i = 1; i < ps->threads; i++) {
		if ((r = pthread_create(&thread, NULL, perf_serve_thread, ps))) {
			fprintf(stderr, "%s: pthread_create: %s\n", prog, strerror(r));
			return 1;
		}
	}
	return weft_run(perf_serve_loop, ps, NULL);
}

#endif

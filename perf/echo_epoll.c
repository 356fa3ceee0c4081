/* SPDX-License-Identifier: MIT */
/*
 * perf/echo_epoll - the classic epoll echo server, the readiness-based baseline perf/net.sh
 * measures weft's echo server against.
 *
 * Level-triggered, non-blocking sockets, one epoll per thread. A readable connection is read
 * into the thread's buffer and written straight back; what the socket does not take (EAGAIN or
 * a short write) is kept in a per-connection buffer, EPOLLOUT is armed and EPOLLIN dropped until
 * it has drained, so a client that stops reading cannot make the server buffer without bound.
 * Reads are capped per wake-up so one busy connection cannot starve the others.
 *
 * Usage: echo_epoll [-p PORT] [-t THREADS] [-b BUFSIZE]
 *   -p  TCP port, bound on every address (default 7000)
 *   -t  threads: one epoll and one SO_REUSEPORT listening socket each (default 1)
 *   -b  read size (default 16384)
 * Runs until killed; prints nothing per message.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS     256
#define READS_PER_WAKE 4

static int opt_port = 7000;
static int opt_threads = 1;
static size_t opt_bufsize = 16384;

struct conn {
	int fd;
	char *pend; /* bytes the socket has not taken yet */
	size_t pend_off, pend_len, pend_cap;
};

struct worker {
	int ep, lfd;
	char *buf;
	pthread_t thread;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "echo_epoll: %s: %s\n", what, strerror(err));
	exit(1);
}

static void conn_close(struct worker *w, struct conn *c)
{
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pend);
	free(c);
}

static int conn_watch(struct worker *w, struct conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	return epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Keep @len bytes of @data for later; 0 or -1 (out of memory). */
static int conn_keep(struct conn *c, const char *data, size_t len)
{
	if (c->pend_off == c->pend_len)
		c->pend_off = c->pend_len = 0;
	if (c->pend_len + len > c->pend_cap) {
		size_t cap = c->pend_cap ? c->pend_cap : 4096;
		char *p;

		while (cap < c->pend_len + len)
			cap *= 2;
		p = realloc(c->pend, cap);
		if (!p)
			return -1;
		c->pend = p;
		c->pend_cap = cap;
	}
	memcpy(c->pend + c->pend_len, data, len);
	c->pend_len += len;
	return 0;
}

/* Write what is pending; true when all of it went. -1 on a dead connection. */
static int conn_flush(struct conn *c)
{
	while (c->pend_off < c->pend_len) {
		ssize_t n =
		    send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -1;
		}
		c->pend_off += (size_t)n;
	}
	return 1;
}

static void on_readable(struct worker *w, struct conn *c)
{
	for (int i = 0; i < READS_PER_WAKE; i++) {
		ssize_t n = recv(c->fd, w->buf, opt_bufsize, 0), sent = 0;

		if (n == 0)
			goto dead;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			goto dead;
		}
		while (sent < n) {
			ssize_t k = send(c->fd, w->buf + sent, (size_t)(n - sent), MSG_NOSIGNAL);
			if (k < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					goto dead;
				/* The socket is full: keep the rest, wait for room, stop reading. */
				if (conn_keep(c, w->buf + sent, (size_t)(n - sent)) ||
				    conn_watch(w, c, EPOLLOUT))
					goto dead;
				return;
			}
			sent += k;
		}
		if ((size_t)n < opt_bufsize)
			return; /* drained: the next recv would say EAGAIN */
	}
	return;
dead:
	conn_close(w, c);
}

static void on_writable(struct worker *w, struct conn *c)
{
	int r = conn_flush(c);

	if (r < 0 || (r > 0 && conn_watch(w, c, EPOLLIN)))
		conn_close(w, c);
}

static void on_accept(struct worker *w)
{
	for (;;) {
		int one = 1, fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN};
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, "echo_epoll: accept: %s\n", strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.data.ptr = c;
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
		}
	}
}

static int listen_socket(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket", errno);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		die("setsockopt", errno);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind", errno);
	if (listen(fd, 4096))
		die("listen", errno);
	return fd;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[MAX_EVENTS];

	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->buf = malloc(opt_bufsize);
	if (w->ep < 0 || !w->buf)
		die("epoll_create1", errno);
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &ev))
		die("epoll_ctl", errno);
	for (;;) {
		int n = epoll_wait(w->ep, evs, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait", errno);
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c)
				on_accept(w);
			else if (c->pend_off < c->pend_len)
				on_writable(w, c); /* EPOLLOUT, or ERR/HUP: send says which */
			else
				on_readable(w, c); /* EPOLLIN, or ERR/HUP: recv says which */
		}
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: echo_epoll [-p PORT] [-t THREADS] [-b BUFSIZE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct worker *w;
	int c;

	while ((c = getopt(argc, argv, "p:t:b:")) != -1) {
		switch (c) {
		case 'p':
			opt_port = atoi(optarg);
			break;
		case 't':
			opt_threads = atoi(optarg);
			break;
		case 'b':
			opt_bufsize = (size_t)atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (opt_port <= 0 || opt_port > 65535 || opt_threads < 1 || opt_bufsize < 64)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	w = calloc((size_t)opt_threads, sizeof(*w));
	if (!w)
		die("calloc", ENOMEM);
	for (int i = 0; i < opt_threads; i++)
		w[i].lfd = listen_socket();
	for (int i = 1; i < opt_threads; i++)
		if ((errno = pthread_create(&w[i].thread, NULL, worker_main, &w[i])))
			die("pthread_create", errno);
	worker_main(&w[0]);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * perf/http_server - the HTTP/1.1 server perf/http.sh measures against nginx: keep-alive,
 * pipelining, request bodies, one fiber per connection, a loop per thread. "/" answers a fixed
 * "hello\n"; any other path is a file under -r DIR, sent from the page cache with splice
 * (weft_sock_sendfile). The protocol is perf/http/proto.c (parsed by llhttp), which knows
 * nothing of sockets; this file moves its bytes.
 *
 * Usage: http_server [-p PORT] [-t THREADS] [-r DIR] [-C]
 *   -p  TCP port, bound on every address (default 8080)
 *   -t  threads, each running its own loop with its own SO_REUSEPORT listener (default 1)
 *   -r  the directory the file route serves (default: none, every other path is 404)
 *   -C  send files by copying them (pread + send) instead of splicing: what a transport that
 *       is not the bare socket (TLS without kTLS) has to do; also a comparison point
 * Runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "weft.h"
#include "weft/net.h"
#include "perf/http/proto.h"

#define IN_CAP	  16384
#define LINGER_NS (1 * WEFT_SEC) /* how long a closing connection waits for its peer's FIN */

static int opt_port = 8080;
static int opt_threads = 1;
static bool opt_copy;
static struct http_site site = {.root_fd = -1};

/*
 * One connection's transport. Every byte goes through @stream; @sock is the bare socket under it
 * for splicing files, or NULL when the stream is a layer of its own (TLS) and files must be
 * copied through it. A TLS listener makes its stream with the handshake and serves it the same.
 */
struct http_io {
	weft_stream *stream;
	weft_sock *sock;
};

/* One connection's memory: the parser, its output and the receive buffer. */
struct http_bufs {
	struct http_conn conn;
	char in[IN_CAP];
};

static int send_out(struct http_io *io, struct http_conn *c)
{
	ssize_t n = c->out_len ? weft_stream_write(io->stream, c->out, c->out_len) : 0;

	c->out_len = 0;
	return n < 0 ? (int)n : 0;
}

/* Copy the file through the stream, using out[] (already sent) as the bounce buffer. */
static int copy_file(struct http_io *io, struct http_conn *c, int fd, size_t size)
{
	size_t done = 0;

	while (done < size) {
		size_t want = size - done < HTTP_OUT_CAP ? size - done : HTTP_OUT_CAP;
		ssize_t n = pread(fd, c->out, want, (off_t)done);

		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* the file shrank: the length was promised */
		n = weft_stream_write(io->stream, c->out, (size_t)n);
		if (n < 0)
			return (int)n;
		done += (size_t)n;
	}
	return 0;
}

/* The body of a HTTP_STEP_FILE step: the file the protocol opened, all of it, then closed. */
static int send_file(struct http_io *io, struct http_conn *c)
{
	int fd = c->file_fd, r;
	size_t size = c->file_size;
	ssize_t n;

	c->file_fd = -1;
	if (io->sock && !opt_copy) {
		n = weft_sock_sendfile(io->sock, fd, 0, size);
		r = n < 0 ? (int)n : (size_t)n == size ? 0 : -EIO;
	} else {
		r = copy_file(io, c, fd, size);
	}
	close(fd);
	return r;
}

/* Feed one receive's bytes to the protocol, doing what each step asks. 1: close the connection. */
static int serve_input(struct http_io *io, struct http_conn *c, const char *in, size_t len)
{
	size_t off = 0;
	enum http_step step;
	int r;

	for (;;) {
		off += http_conn_feed(c, in + off, len - off, &step);
		if (step == HTTP_STEP_MORE)
			return send_out(io,
					c); /* one send for everything pipelined in this input */
		if ((r = send_out(io, c)))
			return r;
		if (step == HTTP_STEP_CLOSE)
			return 1;
		if (step == HTTP_STEP_FILE && (r = send_file(io, c)))
			return r;
	}
}

/*
 * Close gracefully, as nginx's lingering close does: send our FIN, then read and drop what the
 * peer still sends until its FIN (or LINGER_NS), so that closing with unread bytes does not
 * reset the connection and destroy a 400 before the client has read it.
 */
static void linger(struct http_io *io, char *buf)
{
	weft_scope scope;

	if (weft_stream_shutdown(io->stream))
		return;
	weft_scope_enter(&scope, weft_now() + LINGER_NS, 0);
	while (weft_stream_read(io->stream, buf, IN_CAP) > 0)
		;
	weft_scope_exit(&scope);
}

/* A connection, whatever its transport: requests until the peer closes or the protocol does. */
static int http_serve(struct http_io *io)
{
	struct http_bufs *b = malloc(sizeof(*b));
	ssize_t n;
	int r = 0;

	if (!b)
		return -ENOMEM;
	http_conn_init(&b->conn, &site);
	while (!r) {
		n = weft_stream_read(io->stream, b->in, IN_CAP);
		if (n <= 0) {
			r = (int)n;
			break;
		}
		r = serve_input(io, &b->conn, b->in, (size_t)n);
	}
	if (r == 1)
		linger(io, b->in);
	http_conn_done(&b->conn);
	free(b);
	return r < 0 ? r : 0;
}

/* The plain HTTP listener's handler: the socket's own stream, files spliced from the socket. */
static int serve_plain(weft_sock *conn, void *arg)
{
	struct http_io io = {.sock = conn};
	int r = weft_sock_stream(conn, NULL, &io.stream);

	(void)arg;
	return r ? r : http_serve(&io);
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
		fprintf(stderr, "http_server: listen on port %d: %s\n", opt_port, weft_strerror(r));
		return r;
	}
	r = weft_server_start(&srv, listener, serve_plain, NULL, NULL);
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

static int usage(void)
{
	fprintf(stderr, "usage: http_server [-p PORT] [-t THREADS] [-r DIR] [-C]\n");
	return 2;
}

int main(int argc, char **argv)
{
	pthread_t thread;
	struct rlimit rl;
	int c, r;

	while ((c = getopt(argc, argv, "p:t:r:C")) != -1) {
		switch (c) {
		case 'p':
			opt_port = atoi(optarg);
			break;
		case 't':
			opt_threads = atoi(optarg);
			break;
		case 'r':
			site.root_fd = open(optarg, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (site.root_fd < 0) {
				fprintf(stderr, "http_server: %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			break;
		case 'C':
			opt_copy = true;
			break;
		default:
			return usage();
		}
	}
	if (opt_port <= 0 || opt_port > 65535 || opt_threads < 1)
		return usage();
	/* A server holds one fd per connection: take all the kernel allows us. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (int i = 1; i < opt_threads; i++) {
		if ((r = pthread_create(&thread, NULL, thread_main, NULL))) {
			fprintf(stderr, "http_server: pthread_create: %s\n", strerror(r));
			return 1;
		}
	}
	r = weft_run(serve, NULL, NULL); /* the main thread serves too */
	return r < 0 ? 1 : 0;
}

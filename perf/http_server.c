/* SPDX-License-Identifier: MIT */
/*
 * perf/http_server - the HTTP/1.1 server perf/http.sh measures against nginx: keep-alive,
 * pipelining, request bodies, one fiber per connection, a loop per thread. "/" answers a fixed
 * "hello\n"; any other path is a file under -r DIR, sent from the page cache without a copy
 * through user memory. The protocol is perf/http/proto.c (parsed by llhttp), which knows nothing
 * of sockets; this file moves its bytes.
 *
 * Usage: http_server [-p PORT] [-t THREADS] [-r DIR] [-f sendfile|splice|copy]
 *   -p  TCP port, bound on every address (default 8080)
 *   -t  threads, each running its own loop with its own SO_REUSEPORT listener (default 1)
 *   -r  the directory the file route serves (default: none, every other path is 404)
 *   -f  how files are sent: "sendfile" (default) calls sendfile(2) on the socket made
 *       non-blocking for the call, and splices what did not fit through io_uring once the
 *       socket has room; "splice" sends it all through io_uring (weft_sock_sendfile: file ->
 *       pipe -> socket, each leg on io-wq); "copy" reads it (pread) and sends it through the
 *       connection's stream, as a transport that is not the bare socket (TLS) must
 * Runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "weft.h"
#include "weft/net.h"
#include "perf/http/proto.h"
#include "perf/serve.h"

#define IN_CAP	  16384
#define LINGER_NS (1 * WEFT_SEC) /* how long a closing connection waits for its peer's FIN */

static enum { FILE_SENDFILE, FILE_SPLICE, FILE_COPY } opt_file;
static struct http_site site = {.root_fd = -1};

/*
 * One connection's transport. Every byte goes through @stream; @sock is the bare socket under it
 * for splicing files, or NULL when the stream is a layer of its own (TLS) and files must be
 * copied through it. A TLS listener makes its stream with the handshake and serves it the same.
 */
struct http_io {
	weft_stream *stream;
	weft_sock *sock;
	int fl; /* the socket's file status flags, once read (-1: not yet) */
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

/* Copy the file through the stream after the head in out[], a buffer-full per send. */
static int copy_file(struct http_io *io, struct http_conn *c, int fd, size_t size)
{
	size_t done = 0;
	int r;

	while (done < size) {
		size_t room = HTTP_OUT_CAP - c->out_len;
		ssize_t n = pread(fd, c->out + c->out_len, size - done < room ? size - done : room,
				  (off_t)done);

		if (n <= 0)
			return n < 0 ? -errno : -EIO; /* the file shrank: the length was promised */
		c->out_len += (size_t)n;
		done += (size_t)n;
		if ((r = send_out(io, c)))
			return r;
	}
	return 0;
}

/* The rest of the file from @done, spliced through io_uring (waits for room in the socket). */
static int splice_rest(weft_sock *sock, int fd, size_t done, size_t size)
{
	ssize_t n = done < size ? weft_sock_sendfile(sock, fd, (off_t)done, size - done) : 0;

	if (n < 0)
		return (int)n;
	return done + (size_t)n == size ? 0 : -EIO;
}

/*
 * sendfile(2) of what the socket takes now, without blocking the loop: the socket is made
 * non-blocking for the call (its fiber is here, so no weft operation is in flight on it) and
 * restored. The count sent (0 if the socket was full), or a negative errno.
 */
static ssize_t sendfile_now(struct http_io *io, int sfd, int fd, size_t size)
{
	off_t off = 0;
	ssize_t n;

	if (io->fl < 0 && (io->fl = fcntl(sfd, F_GETFL)) < 0)
		return 0;
	if (!(io->fl & O_NONBLOCK) && fcntl(sfd, F_SETFL, io->fl | O_NONBLOCK))
		return 0;
	n = sendfile(sfd, fd, &off, size);
	if (n < 0)
		n = errno == EAGAIN ? 0 : -errno;
	if (!(io->fl & O_NONBLOCK))
		fcntl(sfd, F_SETFL, io->fl);
	return n;
}

/*
 * -f sendfile: the head and the file straight to the socket while it has room, as nginx does
 * (the head sent with MSG_MORE, so it shares segments with the file's first bytes, as nginx's
 * TCP_CORK makes it), all in this loop turn; what did not fit goes the io_uring way.
 */
static int sendfile_file(struct http_io *io, struct http_conn *c, int fd, size_t size)
{
	int sfd = weft_sock_fd(io->sock);
	ssize_t n = send(sfd, c->out, c->out_len, MSG_DONTWAIT | MSG_MORE | MSG_NOSIGNAL);
	size_t head = c->out_len;

	if (n < 0 && errno != EAGAIN)
		return -errno;
	c->out_len = 0;
	if (n < (ssize_t)head) { /* the socket is full: the rest of the head, then the file */
		n = n < 0 ? 0 : n;
		n = weft_stream_write(io->stream, c->out + n, head - (size_t)n);
		return n < 0 ? (int)n : splice_rest(io->sock, fd, 0, size);
	}
	n = sendfile_now(io, sfd, fd, size);
	return n < 0 ? (int)n : splice_rest(io->sock, fd, (size_t)n, size);
}

/* A HTTP_STEP_FILE step: the head in out[], then the file the protocol opened; closed after. */
static int send_file(struct http_io *io, struct http_conn *c)
{
	int fd = c->file_fd, r;
	size_t size = c->file_size;

	c->file_fd = -1;
	if (!io->sock || opt_file == FILE_COPY)
		r = copy_file(io, c, fd, size);
	else if (opt_file == FILE_SPLICE)
		r = send_out(io, c) ?: splice_rest(io->sock, fd, 0, size);
	else
		r = sendfile_file(io, c, fd, size);
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
		/* Everything pipelined in this input is answered in one send. */
		if (step == HTTP_STEP_MORE)
			return send_out(io, c);
		r = step == HTTP_STEP_FILE ? send_file(io, c) : send_out(io, c);
		if (r)
			return r;
		if (step == HTTP_STEP_CLOSE)
			return 1;
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
	struct http_io io = {.sock = conn, .fl = -1};
	int r = weft_sock_stream(conn, NULL, &io.stream);

	(void)arg;
	return r ? r : http_serve(&io);
}

static int usage(void)
{
	fprintf(stderr, "usage: http_server [-p PORT] [-t THREADS] [-r DIR] "
			"[-f sendfile|splice|copy]\n");
	return 2;
}

int main(int argc, char **argv)
{
	int c;

	perf_serve_cfg.port = 8080;
	while ((c = getopt(argc, argv, "p:t:r:f:")) != -1) {
		switch (c) {
		case 'r':
			site.root_fd = open(optarg, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (site.root_fd < 0) {
				fprintf(stderr, "http_server: %s: %s\n", optarg, strerror(errno));
				return 1;
			}
			break;
		case 'f':
			if (!strcmp(optarg, "sendfile"))
				opt_file = FILE_SENDFILE;
			else if (!strcmp(optarg, "splice"))
				opt_file = FILE_SPLICE;
			else if (!strcmp(optarg, "copy"))
				opt_file = FILE_COPY;
			else
				return usage();
			break;
		default:
			if (!perf_serve_opt(c, optarg))
				return usage();
		}
	}
	if (!perf_serve_opts_ok())
		return usage();
	return perf_serve("http_server", serve_plain) ? 1 : 0;
}

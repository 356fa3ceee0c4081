/* SPDX-License-Identifier: MIT */
/*
 * perf/http_server - the HTTP/1.1 server perf/http.sh measures against nginx: keep-alive,
 * pipelining, request bodies, one fiber per connection, a loop per thread. "/" answers a fixed
 * "hello\n"; any other path is a file under -r DIR, sent from the page cache without a copy
 * through user memory. The protocol is perf/http/proto.c (parsed by llhttp), which knows nothing
 * of sockets; this file moves its bytes.
 *
 * Usage: http_server [-p PORT] [-t THREADS] [-r DIR] [-f sendfile|splice|copy]
 *                    [-c CERT -k KEY [-s SUITES]]
 *   -p  TCP port, bound on every address (default 8080)
 *   -t  threads, each running its own loop with its own SO_REUSEPORT listener (default 1)
 *   -r  the directory the file route serves (default: none, every other path is 404)
 *   -f  how files are sent: "sendfile" (default) calls sendfile(2) on the socket made
 *       non-blocking for the call, and splices what did not fit through io_uring once the
 *       socket has room; "splice" sends it all through io_uring (weft_sock_sendfile: file ->
 *       pipe -> socket, each leg on io-wq); "copy" reads it (pread) and sends it through the
 *       connection's stream, as a transport that is not the bare socket (TLS) must
 *   -c, -k  serve HTTPS: every connection does a TLS handshake with this PEM certificate chain
 *       and key first, then is served the same through the TLS stream; files go through
 *       weft_tls_sendfile (the kernel's splice under kTLS, else read and encrypted in 16 KiB
 *       records), or through the stream's copy path with -f copy
 *   -s  the TLS 1.3 cipher suites to offer (OpenSSL's list syntax: "TLS_AES_128_GCM_SHA256");
 *       given, TLS 1.3 is the only version, to compare one cipher with another server's
 * Runs until killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <openssl/ssl.h> /* TLS1_3_VERSION */

#include "weft.h"
#include "weft/net.h"
#include "weft/tls.h"
#include "perf/http/proto.h"
#include "perf/serve.h"

#define IN_CAP	  16384
#define LINGER_NS (1 * WEFT_SEC) /* how long a closing connection waits for its peer's FIN */

static enum { FILE_SENDFILE, FILE_SPLICE, FILE_COPY } opt_file;
static struct http_site site = {.root_fd = -1};
static weft_tls_ctx *tls_ctx; /* set: every connection is HTTPS */

/*
 * One connection's transport. Every byte goes through @stream; @sock is the bare socket under it
 * for splicing files, or NULL when the stream is a layer of its own (TLS) and files must be
 * copied through it. A TLS listener makes its stream with the handshake and serves it the same.
 */
struct http_io {
	weft_stream *stream;
	weft_sock *sock;
	bool tls; /* @stream is TLS: files go through weft_tls_sendfile */
	int fl;	  /* the socket's file status flags, once read (-1: not yet) */
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

/* The file over TLS, after the head: a short count means the file shrank (the length was said). */
static int tls_sendfile(struct http_io *io, int fd, size_t size)
{
	ssize_t n = size ? weft_tls_sendfile(io->stream, fd, 0, size) : 0;

	if (n < 0)
		return (int)n;
	return (size_t)n == size ? 0 : -EIO;
}

/* A HTTP_STEP_FILE step: the head in out[], then the file the protocol opened; closed after. */
static int send_file(struct http_io *io, struct http_conn *c)
{
	int fd = c->file_fd, r;
	size_t size = c->file_size;

	c->file_fd = -1;
	if (io->tls && opt_file != FILE_COPY)
		r = send_out(io, c) ?: tls_sendfile(io, fd, size);
	else if (!io->sock || opt_file == FILE_COPY)
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

/* The HTTPS listener's handler: the handshake, then the TLS stream served as any other. */
static int serve_tls(weft_sock *conn, void *arg)
{
	struct http_io io = {.tls = true, .fl = -1};
	int r = weft_tls_server(&io.stream, conn, tls_ctx, NULL);

	(void)arg;
	if (r)
		return r;
	r = http_serve(&io);
	weft_stream_close(io.stream); /* close_notify; the weft server closes @conn */
	return r;
}

/* The HTTPS context from -c, -k and -s; 0 or non-zero after saying why. */
static int tls_setup(const char *cert, const char *key, const char *suites)
{
	char err[256] = "";
	struct weft_tls_ctx_opts o = {.flags = WEFT_TLS_SERVER,
				      .cert_file = cert,
				      .key_file = key,
				      .alpn = "http/1.1",
				      .ciphersuites = suites,
				      .min_version = suites ? TLS1_3_VERSION : 0,
				      .errbuf = err,
				      .errlen = sizeof(err)};
	int r = weft_tls_ctx_new(&tls_ctx, &o);

	if (r)
		fprintf(stderr, "http_server: TLS context: %s (%s)\n", weft_strerror(r), err);
	return r;
}

static int usage(void)
{
	fprintf(stderr, "usage: http_server [-p PORT] [-t THREADS] [-r DIR] "
			"[-f sendfile|splice|copy] [-c CERT -k KEY [-s SUITES]]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *suites = NULL;
	int c;

	perf_serve_cfg.port = 8080;
	while ((c = getopt(argc, argv, "p:t:r:f:c:k:s:")) != -1) {
		switch (c) {
		case 'c':
			cert = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 's':
			suites = optarg;
			break;
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
	if (!perf_serve_opts_ok() || !cert != !key || (suites && !cert))
		return usage();
	if (cert && tls_setup(cert, key, suites))
		return 1;
	return perf_serve("http_server", cert ? serve_tls : serve_plain) ? 1 : 0;
}

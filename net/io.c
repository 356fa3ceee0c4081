/* SPDX-License-Identifier: MIT */
/* Byte I/O on sockets: recv, send (all / some / gathered), sendfile, and the stream transport. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "engine/iov.h"
#include "engine/op.h"
#include "sock.h"

/* One SQE's length field is 32 bits; larger requests are simply done in pieces. */
#define OP_MAX_LEN (1u << 30)
/* Gathered sends go out in batches of this many iovecs, copied to the stack (they get edited). */
#define SENDV_BATCH 64
/* Splice through a pipe of the default size (16 pages) a pipe-full at a time. */
#define SPLICE_CHUNK (64 * 1024)

static inline unsigned op_len(size_t len)
{
	return len < OP_MAX_LEN ? (unsigned)len : OP_MAX_LEN;
}

ssize_t weft_sock_recv(weft_sock *sock, void *buf, size_t len)
{
	return weft__sock_io(sock, IORING_OP_RECV, buf, op_len(len), 0);
}

ssize_t weft_sock_send_some(weft_sock *sock, const void *buf, size_t len)
{
	return weft__sock_io(sock, IORING_OP_SEND, buf, op_len(len), MSG_NOSIGNAL);
}

ssize_t weft_sock_send(weft_sock *sock, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	do {
		ssize_t n = weft_sock_send_some(sock, p + done, len - done);
		if (n < 0)
			return n;
		done += (size_t)n;
	} while (done < len);
	return (ssize_t)len;
}

/* One sendmsg of @iov as it is: the count the kernel took. */
static ssize_t sendv_some(weft_sock *sock, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};

	return weft__sock_io(sock, IORING_OP_SENDMSG, &msg, 1, MSG_NOSIGNAL);
}

/* Copy up to SENDV_BATCH non-empty iovecs from iov[*i] (skipping @skip bytes of the first). */
static int sendv_batch(struct iovec *out, const struct iovec *iov, int iovcnt, int i, size_t skip)
{
	int n = 0;

	for (; i < iovcnt && n < SENDV_BATCH; i++, skip = 0) {
		if (iov[i].iov_len == skip)
			continue;
		out[n].iov_base = (char *)iov[i].iov_base + skip;
		out[n].iov_len = iov[i].iov_len - skip;
		n++;
	}
	return n;
}

ssize_t weft_sock_sendv(weft_sock *sock, const struct iovec *iov, int iovcnt)
{
	struct iovec batch[SENDV_BATCH];
	size_t total, skip = 0;
	int i = 0;

	if (!sock || weft__iov_total(iov, iovcnt, &total))
		return -EINVAL;
	for (;;) {
		int n = sendv_batch(batch, iov, iovcnt, i, skip);
		ssize_t sent;

		if (!n)
			return (ssize_t)total;
		sent = sendv_some(sock, batch, n);
		if (sent < 0)
			return sent;
		/* Advance (i, skip) past what went out. */
		skip += (size_t)sent;
		while (i < iovcnt && skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			i++;
		}
	}
}

/* ---- sendfile: file -> pipe -> socket, never through user memory -------------------------- */

static ssize_t splice_op(int in, int64_t off_in, int out, unsigned len)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_splice(sqe, in, off_in, out, -1, len, SPLICE_F_MOVE);
	return weft__op_wait(&op, sqe);
}

/* Move @len bytes sitting in the pipe to the socket; *@moved counts what the socket took, also
 * when an error (or a cancel) stops it part-way, so the caller's count stays true. */
static ssize_t pipe_drain(int pipe_rd, int sock, size_t len, size_t *moved)
{
	*moved = 0;
	while (*moved < len) {
		ssize_t n = splice_op(pipe_rd, -1, sock, op_len(len - *moved));
		if (n <= 0)
			return n < 0 ? n : -EPIPE;
		*moved += (size_t)n;
	}
	return 0;
}

ssize_t weft_sock_sendfile(weft_sock *sock, int fd, off_t off, size_t count)
{
	size_t done = 0;
	ssize_t err = 0;
	int p[2];

	if (!sock || off < 0)
		return -EINVAL;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	while (!count || done < count) {
		size_t want = count ? count - done : SPLICE_CHUNK;
		ssize_t n = splice_op(fd, off + (off_t)done, p[1],
				      op_len(want < SPLICE_CHUNK ? want : SPLICE_CHUNK));

		size_t moved;

		if (n <= 0) {
			err = n;
			break;
		}
		err = pipe_drain(p[0], sock->fd, (size_t)n, &moved);
		done += moved;
		if (err)
			break; /* what stayed in the pipe is dropped with it: @done is what was sent */
	}
	close(p[0]);
	close(p[1]);
	return done ? (ssize_t)done : err;
}

/* ---- the stream transport -------------------------------------------------------------- */

static ssize_t stream_read(void *io, void *buf, size_t len)
{
	return weft_sock_recv(io, buf, len);
}

static ssize_t stream_writev(void *io, const struct iovec *iov, int iovcnt)
{
	/* One buffer (the usual unbuffered write) needs no msghdr: IORING_OP_SEND is lighter. */
	if (iovcnt == 1)
		return weft_sock_send_some(io, iov[0].iov_base, iov[0].iov_len);
	return sendv_some(io, iov, iovcnt);
}

static int stream_shutdown(void *io)
{
	return weft_sock_shutdown(io, SHUT_WR);
}

static int stream_close(void *io)
{
	return weft__sock_stream_closed(io);
}

static const struct weft_stream_ops sock_stream_ops = {
    .read = stream_read,
    .writev = stream_writev,
    .shutdown = stream_shutdown,
    .close = stream_close,
};

int weft_sock_stream(weft_sock *sock, const struct weft_stream_opts *opts, weft_stream **streamp)
{
	int r;

	if (!sock || !streamp)
		return -EINVAL;
	if (!sock->stream) {
		r = weft_stream_new(&sock->stream, &sock_stream_ops, sock, opts);
		if (r)
			return r;
	}
	*streamp = sock->stream;
	return 0;
}

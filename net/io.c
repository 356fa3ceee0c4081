/* SPDX-License-Identifier: MIT */
/* Byte I/O on sockets: recv, send (all / some / gathered), sendfile, and the stream transport. */
#include <errno.h>

#include "sock.h"

/* One SQE's length field is 32 bits; larger requests are simply done in pieces. */
#define OP_MAX_LEN (1u << 30)
/* Gathered sends go out in batches of this many iovecs, copied to the stack (they get edited). */
#define SENDV_BATCH 64

static inline unsigned op_len(size_t len)
{
	return len < OP_MAX_LEN ? (unsigned)len : OP_MAX_LEN;
}

ssize_t weft_sock_recv(weft_sock *sock, void *buf, size_t len)
{
	if (!buf && len)
		return -EINVAL; /* before parking, not -EFAULT once data came */
	return weft__sock_io(sock, IORING_OP_RECV, buf, op_len(len), 0);
}

ssize_t weft_sock_send_some(weft_sock *sock, const void *buf, size_t len)
{
	if (!buf && len)
		return -EINVAL;
	return weft__sock_io(sock, IORING_OP_SEND, buf, op_len(len), MSG_NOSIGNAL);
}

ssize_t weft_sock_send(weft_sock *sock, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;

	if (!buf && len)
		return -EINVAL;
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

/* ---- sendfile: file -> pipe -> socket (engine/splice.c) --------------------------------- */

ssize_t weft_sock_sendfile(weft_sock *sock, int fd, off_t off, size_t count)
{
	if (!sock || off < 0)
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	/* Count 0 is "to the end of the file" here (net.h), unlike sendfile(2). */
	return (ssize_t)weft__splice(fd, off, sock->fd, -1, count ? count : WEFT__SPLICE_TO_END);
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
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	if (!sock->stream) {
		r = weft_stream_new(&sock->stream, &sock_stream_ops, sock, opts);
		if (r)
			return r;
	}
	*streamp = sock->stream;
	return 0;
}

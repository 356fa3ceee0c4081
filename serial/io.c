/* SPDX-License-Identifier: MIT */
/*
 * Reading and writing a tty through the loop.
 *
 * A tty has no completion path of its own: a read either finds bytes in the line discipline or
 * sleeps in n_tty_read (and io_uring used to hand such a read to an io-wq worker, which then sat
 * blocked in it). So the fd is O_NONBLOCK, and:
 *
 *  - reads are IORING_OP_READ through the op layer. On a non-blocking pollable file, Linux 6.4+
 *    tries the read inline and, if nothing is there, arms its internal poll and retries when
 *    data arrives: one SQE, no worker, and a cancel or deadline cancels a poll (prompt). Older
 *    kernels complete such a read at once with -EAGAIN instead; the port then switches for good
 *    to the portable path: IORING_OP_POLL_ADD (POLLIN) through the op layer, then read(2), a
 *    syscall tried first in case bytes are already waiting.
 *    Per round trip the first costs two syscalls (the write, one io_uring_enter), like a
 *    blocking thread; the portable path four (perf/serial measures both).
 *  - writes call write(2) directly (a tty takes bytes at once unless its buffer is full) and
 *    wait for POLLOUT through the ring on EAGAIN.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include "port.h"
#include "engine/module.h"

int weft__serial_errno(const struct weft_serial *port, int err)
{
	/* USB serial drivers say ENODEV or ENXIO once the interface is gone; the tty layer says
	 * EIO after a hang-up. One code for "device gone" is what callers can act on. */
	if (port->is_tty && (err == -ENODEV || err == -ENXIO))
		return -EIO;
	return err;
}

/* read(2) returned 0. On a tty that is a hang-up (raw mode never returns 0 otherwise), unless
 * it was a cooked tty's end-of-file character: poll tells the two apart. */
static ssize_t read_zero(const struct weft_serial *port)
{
	struct pollfd p = {.fd = port->fd, .events = POLLIN};

	if (port->is_tty && poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
		return -EIO;
	return 0;
}

static int begin(bool *busy)
{
	int err = weft_checkpoint();

	if (err)
		return err;
	if (*busy)
		return -EBUSY;
	*busy = true;
	return 0;
}

/* The portable path: read(2), and on EAGAIN wait for POLLIN through the ring. */
static ssize_t poll_read(struct weft_serial *port, void *buf, size_t len)
{
	ssize_t n;
	int r;

	for (;;) {
		n = read(port->fd, buf, len);
		if (n > 0) {
			weft__op_inline_done(); /* a port that always has data must not starve others */
			return n;
		}
		if (n == 0)
			return read_zero(port);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return weft__serial_errno(port, -errno);
		r = weft__op_poll(port->fd, POLLIN);
		if (r < 0)
			return r;
	}
}

/* IORING_OP_READ on the non-blocking fd: the kernel polls for us (see the top of the file). */
static ssize_t ring_read(struct weft_serial *port, void *buf, size_t len)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_read(sqe, port->fd, buf, len > UINT_MAX ? UINT_MAX : (unsigned)len,
			   (uint64_t)-1);
	return weft__op_wait(&op, sqe);
}

static ssize_t read_some(struct weft_serial *port, void *buf, size_t len)
{
	ssize_t n;

	while (!port->poll_read) {
		n = ring_read(port, buf, len);
		if (n > 0)
			return n;
		if (n == 0)
			return read_zero(port);
		if (n == -EAGAIN)
			port->poll_read = true; /* a kernel that does not poll-arm tty reads */
		else if (n != -EINTR)
			return weft__serial_errno(port, (int)n);
	}
	return poll_read(port, buf, len);
}

static ssize_t writev_some(struct weft_serial *port, const struct iovec *iov, int iovcnt)
{
	ssize_t n;
	int r;

	for (;;) {
		n = writev(port->fd, iov, iovcnt);
		if (n > 0) {
			weft__op_inline_done();
			return n;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return weft__serial_errno(port, -errno);
		/* EAGAIN, or a tty that took nothing: wait for room. */
		r = weft__op_poll(port->fd, POLLOUT);
		if (r < 0)
			return r;
	}
}

ssize_t weft_serial_read(weft_serial *port, void *buf, size_t len)
{
	ssize_t n;

	if (!port || (!buf && len))
		return -EINVAL;
	if ((n = begin(&port->reading)))
		return n;
	n = len ? read_some(port, buf, len) : 0;
	port->reading = false;
	return n;
}

ssize_t weft_serial_write(weft_serial *port, const void *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	ssize_t n = 0;

	if (!port || (!buf && len) || len > SSIZE_MAX)
		return -EINVAL;
	if ((n = begin(&port->writing)))
		return n;
	while (iov.iov_len) {
		n = writev_some(port, &iov, 1);
		if (n < 0)
			break;
		iov.iov_base = (char *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
	}
	port->writing = false;
	return n < 0 ? n : (ssize_t)len;
}

/* ---- the stream transport -------------------------------------------------------------------- */

static ssize_t tr_read(void *io, void *buf, size_t len)
{
	return weft_serial_read(io, buf, len);
}

static ssize_t tr_writev(void *io, const struct iovec *iov, int iovcnt)
{
	struct weft_serial *port = io;
	ssize_t n;

	if ((n = begin(&port->writing)))
		return n;
	n = writev_some(port, iov, iovcnt);
	port->writing = false;
	return n;
}

static int tr_close(void *io)
{
	struct weft_serial *port = io;

	port->stream = NULL; /* the stream is being freed by its caller */
	return weft__serial_destroy(port);
}

static const struct weft_stream_ops serial_stream_ops = {
    .read = tr_read,
    .writev = tr_writev,
    .close = tr_close,
};

int weft_serial_stream(weft_serial *port, const struct weft_stream_opts *opts,
		       weft_stream **streamp)
{
	int err;

	if (!port || !streamp)
		return -EINVAL;
	if (!port->stream && (err = weft_stream_new(&port->stream, &serial_stream_ops, port, opts)))
		return err;
	*streamp = port->stream;
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * How each opcode runs without a ring: the issue functions of the opcode table (opdef.c), used
 * by the readiness backend (epoll.c). Each decodes the SQE exactly as the kernel's io_uring
 * would and makes the plain syscall; the result is what the CQE's res would have been.
 *
 * @nonblock: on the loop thread, where the call must not block (sockets take MSG_DONTWAIT; other
 * pollable descriptors were made O_NONBLOCK by the backend); -EAGAIN then means "wait for
 * readiness and call again". Otherwise on a pool thread, where blocking is the point.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <liburing.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "op.h"
#include "opdef.h"

static inline int ret(long r)
{
	return r < 0 ? -errno : (int)r;
}

static inline void *ptr(uint64_t v)
{
	return (void *)(uintptr_t)v;
}

int weft__issue_nop(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	return 0;
}

/* read/write/readv/writev and their fixed-buffer forms: positional unless the offset is -1
 * (the file position) or the descriptor has none (a pipe or tty: the offset is ignored, as the
 * ring does). */
int weft__issue_rw(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	const struct weft__opdef *d = weft__opdef(sqe->opcode);
	off_t off = (off_t)sqe->off;
	void *addr = ptr(sqe->addr);
	bool in = d->dir == WEFT__DIR_IN;
	long r;

	if (d->vectored) {
		const struct iovec *iov = addr;
		int cnt = (int)sqe->len;

		r = in ? preadv2(fd, iov, cnt, off, (int)sqe->rw_flags)
		       : pwritev2(fd, iov, cnt, off, (int)sqe->rw_flags);
		if (r < 0 && errno == ESPIPE)
			r = in ? readv(fd, iov, cnt) : writev(fd, iov, cnt);
		return ret(r);
	}
	if (off == (off_t)-1)
		r = in ? read(fd, addr, sqe->len) : write(fd, addr, sqe->len);
	else
		r = in ? pread(fd, addr, sqe->len, off) : pwrite(fd, addr, sqe->len, off);
	if (r < 0 && errno == ESPIPE)
		r = in ? read(fd, addr, sqe->len) : write(fd, addr, sqe->len);
	return ret(r);
}

/* send/recv/sendmsg/recvmsg: MSG_DONTWAIT makes even a blocking socket's call non-blocking. */
int weft__issue_sock(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	int flags = (int)sqe->msg_flags | (nonblock ? MSG_DONTWAIT : 0);
	void *addr = ptr(sqe->addr);

	switch (sqe->opcode) {
	case IORING_OP_SEND:
		return ret(send(fd, addr, sqe->len, flags));
	case IORING_OP_RECV:
		return ret(recv(fd, addr, sqe->len, flags));
	case IORING_OP_SENDMSG:
		return ret(sendmsg(fd, addr, flags));
	default:
		return ret(recvmsg(fd, addr, flags));
	}
}

int weft__issue_accept(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	long r;

	do
		r = accept4(fd, ptr(sqe->addr), ptr(sqe->addr2), (int)sqe->accept_flags);
	while (r < 0 && errno == ECONNABORTED); /* the peer gave up in the backlog: next one */
	return ret(r);
}

/* Stage 0 starts the connect; once it is in progress the socket turns writable when it ends,
 * and SO_ERROR tells how. Not writable yet (a wake-up for another reason, the last try of an
 * interrupted wait) means still in progress. */
int weft__issue_connect(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof(err);

	if (op->stage == 0) {
		if (!connect(fd, ptr(sqe->addr), (socklen_t)sqe->off))
			return 0;
		if (errno != EINPROGRESS)
			return -errno; /* EAGAIN (a full unix backlog) is retried as it is */
		op->stage = 1;
		return -EAGAIN;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	if (err)
		return -err;
	return poll(&p, 1, 0) == 1 ? 0 : -EAGAIN;
}

int weft__issue_shutdown(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	return ret(shutdown(fd, (int)sqe->len));
}

/* Through weft__fd_close: the readiness backend's record of the number goes with it. */
int weft__issue_close(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	return weft__fd_close(fd);
}

/* A splice between two pollable ends runs non-blocking (SPLICE_F_NONBLOCK covers a pipe end, the
 * backend made a socket end O_NONBLOCK); one with a regular file runs on the pool. */
int weft__issue_splice(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	int64_t off_in = (int64_t)sqe->splice_off_in, off_out = (int64_t)sqe->off;
	unsigned flags = sqe->splice_flags | (nonblock ? SPLICE_F_NONBLOCK : 0);

	return ret(splice(op->fd_in, off_in == -1 ? NULL : &off_in, fd,
			  off_out == -1 ? NULL : &off_out, sqe->len, flags));
}

int weft__issue_fsync(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	return ret(sqe->fsync_flags & IORING_FSYNC_DATASYNC ? fdatasync(fd) : fsync(fd));
}

/* io_uring_prep_fallocate puts the mode in len and the length in addr. */
int weft__issue_fallocate(struct weft__op *op, const struct io_uring_sqe *sqe, int fd,
			  bool nonblock)
{
	return ret(fallocate(fd, (int)sqe->len, (off_t)sqe->off, (off_t)sqe->addr));
}

int weft__issue_ftruncate(struct weft__op *op, const struct io_uring_sqe *sqe, int fd,
			  bool nonblock)
{
	return ret(ftruncate(fd, (off_t)sqe->off));
}

int weft__issue_fadvise(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	return -posix_fadvise(fd, (off_t)sqe->off, (off_t)sqe->len, (int)sqe->fadvise_advice);
}

int weft__issue_openat(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	return ret(openat(sqe->fd, ptr(sqe->addr), (int)sqe->open_flags, (mode_t)sqe->len));
}

/* io_uring_prep_statx: path in addr, mask in len, the buffer in off. */
int weft__issue_statx(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	return ret(statx(sqe->fd, ptr(sqe->addr), (int)sqe->statx_flags, sqe->len, ptr(sqe->off)));
}

/* The path calls: liburing puts the second directory fd in len and the second path in off. */
int weft__issue_path(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock)
{
	const char *p1 = ptr(sqe->addr), *p2 = ptr(sqe->off);

	switch (sqe->opcode) {
	case IORING_OP_RENAMEAT:
		return ret(renameat2(sqe->fd, p1, (int)sqe->len, p2, sqe->rename_flags));
	case IORING_OP_UNLINKAT:
		return ret(unlinkat(sqe->fd, p1, (int)sqe->unlink_flags));
	case IORING_OP_MKDIRAT:
		return ret(mkdirat(sqe->fd, p1, (mode_t)sqe->len));
	case IORING_OP_SYMLINKAT:
		return ret(symlinkat(p1, sqe->fd, p2));
	default:
		return ret(linkat(sqe->fd, p1, (int)sqe->len, p2, (int)sqe->hardlink_flags));
	}
}

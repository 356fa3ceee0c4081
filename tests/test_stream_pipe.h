/* SPDX-License-Identifier: MIT */
/* A stream transport over pipe ends through the op layer, for the stream suites. */
#ifndef WEFT_TESTS_STREAM_PIPE_H
#define WEFT_TESTS_STREAM_PIPE_H

#include <sys/uio.h>

#include "engine/op.h"

/* Read from the descriptor *@io through the ring. */
static inline ssize_t pipe_read(void *io, void *buf, size_t len)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_read(sqe, *(int *)io, buf, (unsigned)len, (uint64_t)-1);
	return weft__op_wait(&op, sqe);
}

/* Write at most 16 KiB of the first entry per call, so a large message takes many calls on
 * either backend (and a cancel part-way finds some of it sent). */
static inline ssize_t pipe_writev(void *io, const struct iovec *iov, int iovcnt)
{
	struct iovec one = {iov[0].iov_base, iov[0].iov_len < 16384 ? iov[0].iov_len : 16384};
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	(void)iovcnt;
	if (!sqe)
		return op.res;
	io_uring_prep_writev(sqe, *(int *)io, &one, 1, (uint64_t)-1);
	return weft__op_wait(&op, sqe);
}

#endif

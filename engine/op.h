/* SPDX-License-Identifier: MIT */
/*
 * The op layer: turn one SQE into a blocking-looking call for the current fiber. net/, fileio/
 * and serial/ build every I/O call on this:
 *
 *     struct weft__op op;
 *     struct io_uring_sqe *sqe = weft__op_start(&op);
 *     if (!sqe)
 *             return op.res;              // -EPERM, -ECANCELED or -ETIMEDOUT: nothing submitted
 *     io_uring_prep_read(sqe, fd, buf, len, off);
 *     return weft__op_wait(&op, sqe);     // the CQE's res, or -ECANCELED / -ETIMEDOUT
 *
 * The record lives on the fiber's stack; nothing is allocated. The SQE is submitted with the
 * loop's next batch (once per turn). Cancellation and deadlines submit IORING_OP_ASYNC_CANCEL for
 * the op and still wait for its own CQE, so the kernel is done with the caller's buffer before the
 * call returns. If the op completed anyway, its result is returned (no data is lost) and the
 * cancellation shows at the task's next blocking call.
 */
#ifndef WEFT_ENGINE_OP_H
#define WEFT_ENGINE_OP_H

#include <liburing.h>
#include <valgrind/memcheck.h>

#include "loop.h"
#include "sched.h"

struct weft__op {
	struct weft__wait wait;
	uint64_t user_data;
	int res;
	unsigned cqe_flags;
};

/* Check the caller may block and hand out an SQE; NULL with op->res set if it may not. */
struct io_uring_sqe *weft__op_start(struct weft__op *op);
/* Tag @sqe with @op, park until its CQE, and return the result. */
int weft__op_wait(struct weft__op *op, struct io_uring_sqe *sqe);
/* Park until @fd is ready for @events (POLLIN, POLLOUT...): IORING_OP_POLL_ADD through the op
 * layer. Returns the ready mask (> 0) or a negative errno. For fds io_uring has no
 * non-blocking read path for (ttys, pidfds): poll, then read(2) directly. */
int weft__op_poll(int fd, unsigned events);

/* The kernel wrote @n bytes at @buf through the ring, behind valgrind's back: tell memcheck
 * (a few instructions outside valgrind). Call it on what a read-type op returned. */
static inline void weft__op_filled(const void *buf, long n)
{
	if (n > 0)
		VALGRIND_MAKE_MEM_DEFINED(buf, n);
}

/* The same for an op nothing may interrupt - no checkpoint, no cancel, no deadline: a close or a
 * clean-up that must happen (a descriptor would leak otherwise). Must run in a fiber (-EPERM). */
struct io_uring_sqe *weft__op_start_shielded(struct weft__op *op);
int weft__op_wait_shielded(struct weft__op *op, struct io_uring_sqe *sqe);

/* Dispatch one CQE to its handler (ring.c's reap loop calls this). */
void weft__cqe_dispatch(struct weft_loop *loop, const struct io_uring_cqe *cqe);

/* The opcode table (opdef.c): a name per io_uring opcode for dumps and errors. */
const char *weft__opdef_name(unsigned opcode);

#endif

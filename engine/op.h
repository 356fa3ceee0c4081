/* SPDX-License-Identifier: MIT */
/*
 * The op layer: turn one SQE into a blocking-looking call for the current fiber. net/, fileio/
 * and serial/ build every I/O call on this (through engine/module.h):
 *
 *     struct weft__op op;
 *     struct io_uring_sqe *sqe = weft__op_start(&op);
 *     if (!sqe)
 *             return op.res;              // -EPERM, -ECANCELED or -ETIMEDOUT: nothing started
 *     io_uring_prep_read(sqe, fd, buf, len, off);
 *     return weft__op_wait(&op, sqe);     // the CQE's res, or -ECANCELED / -ETIMEDOUT
 *
 * The SQE is the op's description on both backends: on io_uring it is a slot of the ring and
 * goes to the kernel with the loop's next batch (once per turn); on the readiness backend it is
 * op.sqe and the engine performs it (opdef.c). The record lives on the fiber's stack; nothing is
 * allocated. Cancellation and deadlines submit IORING_OP_ASYNC_CANCEL for the op and still wait
 * for its own CQE (readiness: drop the wait, or wait for a pool job that already started), so
 * the kernel is done with the caller's buffer before the call returns. If the op completed
 * anyway, its result is returned (no data is lost) and the cancellation shows at the task's next
 * blocking call. What the op wrote into the caller's memory is made known to valgrind here.
 */
#ifndef WEFT_ENGINE_OP_H
#define WEFT_ENGINE_OP_H

#include <liburing.h>

#include "list.h"
#include "sched.h"

/* A wait for readiness on a descriptor (readiness backend): a parked op or a multishot. */
struct weft__fdwait {
	struct weft__list link; /* in the descriptor's list of waiters */
	uint32_t want;		/* WEFT__DIR_IN / WEFT__DIR_OUT */
	uint32_t revents;	/* the epoll events that woke it */
	int fd;
	void (*ready)(struct weft__fdwait *w);
};

/* Completion handler for records that are not fiber ops (multishot ops, internal reads). */
struct weft__handler {
	void (*complete)(struct weft_loop *loop, struct weft__handler *h,
			 const struct io_uring_cqe *cqe);
};

struct weft__op {
	struct weft__wait wait;
	uint64_t user_data;
	int res;
	unsigned cqe_flags;
	/* readiness backend: the op as described, and its progress */
	struct io_uring_sqe sqe;
	struct weft__fdwait fw;
	int fd;	       /* the resolved descriptor */
	int fd_in;     /* splice: the resolved source descriptor */
	uint8_t stage; /* connect: in progress */
	bool done;     /* completed by the interrupt's last try: res holds the result */
};

/* Point @sqe's file at registered @slot of the loop's table (weft__files_add) if @slot >= 0,
 * else at descriptor @fd. The readiness backend maps the slot back to its descriptor. */
static inline void weft__sqe_file(struct io_uring_sqe *sqe, int fd, int slot)
{
	if (slot >= 0) {
		sqe->fd = slot;
		sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		sqe->fd = fd;
	}
}

/* Check the caller may block and hand out an SQE; NULL with op->res set if it may not. */
struct io_uring_sqe *weft__op_start(struct weft__op *op);
/* The same for an object of @owner (NULL: any loop): -EXDEV from a fiber of another loop. */
struct io_uring_sqe *weft__op_start_on(struct weft__op *op, const struct weft_loop *owner);
/* Tag @sqe with @op, park until its CQE, and return the result. */
int weft__op_wait(struct weft__op *op, struct io_uring_sqe *sqe);
/* Park until @fd is ready for @events (POLLIN, POLLOUT...): IORING_OP_POLL_ADD through the op
 * layer. Returns the ready mask (> 0) or a negative errno. For fds io_uring has no
 * non-blocking read path for (ttys, pidfds): poll, then read(2) directly. */
int weft__op_poll(int fd, unsigned events);

/* The same for an op nothing may interrupt - no checkpoint, no cancel, no deadline: a close or a
 * clean-up that must happen (a descriptor would leak otherwise). Must run in a fiber (-EPERM). */
struct io_uring_sqe *weft__op_start_shielded(struct weft__op *op);
int weft__op_wait_shielded(struct weft__op *op, struct io_uring_sqe *sqe);

/* An op that completed without parking (a page-cache hit served on the loop thread, a socket
 * that had data, a tty read by read(2)): after 32 in a row (any park restarts the count) the
 * calling fiber yields, so a fiber streaming a hot file or a busy socket cannot starve the
 * loop's other fibers and completions. */
void weft__op_inline_done(void);

/* Descriptors that ops have used must be closed through weft__fd_close, or announced to
 * weft__fd_forget before someone else closes them: the readiness backend keeps per-descriptor
 * state (its epoll registration) keyed by the number, which a new descriptor may reuse. Fibers
 * still waiting on it wake and get -EBADF. A no-op on io_uring (and outside a loop). */
void weft__fd_forget(int fd);
/* weft__fd_forget, then close(2): 0 or a negative errno (EINTR counts as closed). */
int weft__fd_close(int fd);

/* Dispatch one CQE to its handler (the backends' reap loops call this). */
void weft__cqe_dispatch(struct weft_loop *loop, const struct io_uring_cqe *cqe);

/* Tell memcheck what an op wrote into the caller's memory (@res: its result). */
void weft__op_annotate(const struct io_uring_sqe *sqe, int res);

#endif

/* SPDX-License-Identifier: MIT */
/* The op layer (see op.h) and the CQE dispatch table. */
#include <errno.h>
#include <sys/stat.h>
#include <valgrind/memcheck.h>

#include "weft/time.h"
#include "backend.h"
#include "loop.h"
#include "op.h"
#include "opdef.h"
#include "sched.h"
#include "task.h"

#define INLINE_STREAK 32 /* ops completed without parking before the fiber yields */

struct io_uring_sqe *weft__op_start_on(struct weft__op *op, const struct weft_loop *owner)
{
	struct weft_loop *loop = weft__loop();
	struct weft_task *t = loop ? loop->current : NULL;
	int err;

	if (!t) {
		op->res = -EPERM;
		return NULL;
	}
	if (owner && owner != loop) {
		op->res = weft__debug_wrong_thread(loop, "an I/O call");
		return NULL;
	}
	err = weft__checkpoint(t);
	if (err) {
		op->res = err;
		return NULL;
	}
	if (__builtin_expect(loop->epoll != NULL, 0))
		return weft__epoll_op_sqe(op);
	return weft__sqe(loop);
}

struct io_uring_sqe *weft__op_start(struct weft__op *op)
{
	return weft__op_start_on(op, NULL);
}

struct io_uring_sqe *weft__op_start_shielded(struct weft__op *op)
{
	struct weft_loop *loop = weft__loop();

	if (!loop || !loop->current) {
		op->res = -EPERM;
		return NULL;
	}
	if (loop->epoll)
		return weft__epoll_op_sqe(op);
	return weft__sqe(loop);
}

/* Interrupted: ask the kernel to give the op up. Its own CQE still wakes the task. */
static void op_interrupt(struct weft__wait *w)
{
	struct weft__op *op = weft__container_of(w, struct weft__op, wait);
	struct weft_loop *loop = w->task->loop;
	struct io_uring_sqe *sqe = weft__sqe(loop);

	io_uring_prep_cancel64(sqe, op->user_data, 0);
	io_uring_sqe_set_data64(sqe, WEFT__UD_IGNORE);
	if (loop->features & WEFT_FEAT_CQE_SKIP)
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
}

/* Tag @sqe with @op so its CQE wakes the parked task. */
static void op_tag(struct weft_loop *loop, struct weft__op *op, struct io_uring_sqe *sqe,
		   void (*interrupt)(struct weft__wait *w))
{
	op->user_data = weft__ud(op, WEFT__UD_OP, ++loop->gen);
	io_uring_sqe_set_data64(sqe, op->user_data);
	weft__wait_init(&op->wait, "op", interrupt);
	op->wait.opcode = sqe->opcode;
	loop->inflight++;
	/* Valgrind cannot see the kernel write through the ring: keep what the op describes (the
	 * ring's SQE is reused once submitted) to annotate the result. */
	if (__builtin_expect(RUNNING_ON_VALGRIND, 0))
		op->sqe = *sqe;
}

/* The ring's side of weft__op_wait. */
static int ring_wait(struct weft_loop *loop, struct weft__op *op, struct io_uring_sqe *sqe,
		     bool shielded)
{
	op_tag(loop, op, sqe, shielded ? NULL : op_interrupt);
	weft__park(&op->wait, WEFT_FOREVER, shielded ? WEFT__PARK_NO_DEADLINE : 0);
	if (__builtin_expect(RUNNING_ON_VALGRIND, 0))
		weft__op_annotate(&op->sqe, op->res);
	/* The kernel gave up the op because we asked: report why we asked. Otherwise it finished
	 * (perhaps racing the cancel) and its result stands - data read is never thrown away. */
	if (op->wait.reason && (op->res == -ECANCELED || op->res == -EINTR))
		return op->wait.reason;
	if (op->wait.reason)
		weft__park_result_stands(loop->current);
	return op->res;
}

int weft__op_wait(struct weft__op *op, struct io_uring_sqe *sqe)
{
	struct weft_loop *loop = weft__loop();

	if (__builtin_expect(loop->epoll != NULL, 0))
		return weft__epoll_op_wait(op, false);
	return ring_wait(loop, op, sqe, false);
}

int weft__op_wait_shielded(struct weft__op *op, struct io_uring_sqe *sqe)
{
	struct weft_loop *loop = weft__loop();

	if (loop->epoll)
		return weft__epoll_op_wait(op, true);
	return ring_wait(loop, op, sqe, true);
}

int weft__op_poll(int fd, unsigned events)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_poll_add(sqe, fd, events);
	return weft__op_wait(&op, sqe);
}

void weft__op_inline_done(void)
{
	struct weft_loop *loop = weft__loop();

	if (loop && ++loop->inline_streak >= INLINE_STREAK) {
		loop->inline_streak = 0;
		weft_yield();
	}
}

static void annotate_iov(const struct iovec *iov, size_t cnt, long left)
{
	for (size_t i = 0; i < cnt && left > 0; i++) {
		size_t n = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;

		VALGRIND_MAKE_MEM_DEFINED(iov[i].iov_base, n);
		left -= (long)n;
	}
}

void weft__op_annotate(const struct io_uring_sqe *sqe, int res)
{
	const struct weft__opdef *d = weft__opdef(sqe->opcode);
	void *addr = (void *)(uintptr_t)sqe->addr;

	if (sqe->opcode == IORING_OP_STATX && res == 0) {
		VALGRIND_MAKE_MEM_DEFINED((void *)(uintptr_t)sqe->off, sizeof(struct statx));
		return;
	}
	if (!d->fills || res < 0)
		return;
	if (d->msg) {
		struct msghdr *msg = addr;

		VALGRIND_MAKE_MEM_DEFINED(msg, sizeof(*msg)); /* lengths and flags written back */
		annotate_iov(msg->msg_iov, msg->msg_iovlen, res);
		if (msg->msg_name && msg->msg_namelen)
			VALGRIND_MAKE_MEM_DEFINED(msg->msg_name, msg->msg_namelen);
		if (msg->msg_control && msg->msg_controllen)
			VALGRIND_MAKE_MEM_DEFINED(msg->msg_control, msg->msg_controllen);
	} else if (res == 0) {
		return;
	} else if (d->vectored) {
		annotate_iov(addr, sqe->len, res);
	} else {
		VALGRIND_MAKE_MEM_DEFINED(addr, (size_t)res);
	}
}

/* ---- CQE dispatch: one handler per user_data kind ---------------------------------------- */

static void cqe_ignore(struct weft_loop *loop, const struct io_uring_cqe *cqe, void *ptr)
{
}

static void cqe_op(struct weft_loop *loop, const struct io_uring_cqe *cqe, void *ptr)
{
	struct weft__op *op = ptr;

	op->res = cqe->res;
	op->cqe_flags = cqe->flags;
	loop->inflight--;
	weft__wake(op->wait.task);
}

static void cqe_wake(struct weft_loop *loop, const struct io_uring_cqe *cqe, void *ptr)
{
	loop->wake_armed = false;
	/* Re-arm only while running: a closing loop must not leave a read behind. */
	if (loop->running)
		loop->be->arm_wake(loop);
}

static void cqe_handler(struct weft_loop *loop, const struct io_uring_cqe *cqe, void *ptr)
{
	struct weft__handler *h = ptr;

	h->complete(loop, h, cqe);
}

static void (*const cqe_handlers[8])(struct weft_loop *, const struct io_uring_cqe *, void *) = {
    [WEFT__UD_IGNORE] = cqe_ignore,
    [WEFT__UD_OP] = cqe_op,
    [WEFT__UD_WAKE] = cqe_wake,
    [WEFT__UD_HANDLER] = cqe_handler,
    [4] = cqe_ignore,
    [5] = cqe_ignore,
    [6] = cqe_ignore,
    [WEFT__UD_LIBURING] = cqe_ignore,
};

void weft__cqe_dispatch(struct weft_loop *loop, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;

	cqe_handlers[ud & 7](loop, cqe, (void *)(uintptr_t)(ud & WEFT__UD_PTR_MASK));
}

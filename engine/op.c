/* SPDX-License-Identifier: MIT */
/* The op layer (see op.h) and the CQE dispatch table. */
#include <errno.h>

#include "loop.h"
#include "op.h"
#include "sched.h"
#include "task.h"

struct io_uring_sqe *weft__op_start(struct weft__op *op)
{
	struct weft_loop *loop = weft__loop();
	struct weft_task *t = loop ? loop->current : NULL;
	int err;

	if (!t) {
		op->res = -EPERM;
		return NULL;
	}
	err = weft__checkpoint(t);
	if (err) {
		op->res = err;
		return NULL;
	}
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
static void op_tag(struct weft__op *op, struct io_uring_sqe *sqe,
		   void (*interrupt)(struct weft__wait *w))
{
	struct weft_loop *loop = weft__loop();

	op->user_data = weft__ud(op, WEFT__UD_OP, ++loop->gen);
	io_uring_sqe_set_data64(sqe, op->user_data);
	weft__wait_init(&op->wait, "op", interrupt);
	op->wait.opcode = sqe->opcode;
	loop->inflight++;
}

struct io_uring_sqe *weft__op_start_shielded(struct weft__op *op)
{
	struct weft_loop *loop = weft__loop();

	if (!loop || !loop->current) {
		op->res = -EPERM;
		return NULL;
	}
	return weft__sqe(loop);
}

int weft__op_wait_shielded(struct weft__op *op, struct io_uring_sqe *sqe)
{
	op_tag(op, sqe, NULL);
	weft__park(&op->wait, WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
	return op->res;
}

int weft__op_wait(struct weft__op *op, struct io_uring_sqe *sqe)
{
	op_tag(op, sqe, op_interrupt);
	weft__park(&op->wait, WEFT_FOREVER, 0);
	/* The kernel gave up the op because we asked: report why we asked. Otherwise it finished
	 * (perhaps racing the cancel) and its result stands - data read is never thrown away. */
	if (op->wait.reason && (op->res == -ECANCELED || op->res == -EINTR))
		return op->wait.reason;
	return op->res;
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
		weft__ring_arm_wake(loop);
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

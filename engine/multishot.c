/* SPDX-License-Identifier: MIT */
/* Multishot ops (see multishot.h): the backend-independent half. */
#include "backend.h"
#include "loop.h"
#include "multishot.h"
#include "sync.h"
#include "task.h"

static void ring_cqe(struct weft_loop *loop, struct weft__handler *h,
		     const struct io_uring_cqe *cqe)
{
	struct weft__multishot *m = weft__container_of(h, struct weft__multishot, h);

	weft__multishot_complete(m, cqe->res, cqe->flags & IORING_CQE_F_MORE);
}

void weft__multishot_init(struct weft__multishot *m, struct weft_loop *loop,
			  void (*cqe)(struct weft__multishot *, int, bool),
			  void (*loop_closed)(struct weft__multishot *))
{
	*m = (struct weft__multishot){
	    .h.complete = ring_cqe, .cqe = cqe, .loop_closed = loop_closed, .loop = loop};
	weft__list_init(&m->node);
	weft__list_init(&m->end_node);
}

void weft__multishot_arm(struct weft__multishot *m, const struct io_uring_sqe *sqe)
{
	m->armed = true;
	m->cancelling = false;
	weft__list_add_tail(&m->loop->multishots, &m->node);
	m->loop->be->multishot_arm(m, sqe);
}

void weft__multishot_cancel(struct weft__multishot *m)
{
	if (!m->armed || m->cancelling)
		return;
	m->cancelling = true;
	m->loop->be->multishot_cancel(m);
}

void weft__multishot_complete(struct weft__multishot *m, int res, bool more)
{
	if (!more) {
		m->armed = false;
		m->cancelling = false;
		weft__list_del(&m->node);
		weft__list_init(&m->node);
		if (m->closer)
			weft__wake(m->closer->task);
	}
	m->cqe(m, res, more);
}

void weft__multishot_wait_ended(struct weft__multishot *m)
{
	struct weft__wait w;
	struct weft_loop *loop = m->loop;

	if (!m->armed || !loop || weft__loop() != loop || !loop->current)
		return;
	weft__wait_init(&w, "multishot-end", NULL);
	w.task = loop->current;
	m->closer = &w;
	loop->inflight++;
	while (m->armed)
		weft__park(&w, WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
	loop->inflight--;
	m->closer = NULL;
}

bool weft__multishot_supported(struct weft_loop *loop, unsigned opcode)
{
	if (loop->epoll)
		return opcode == IORING_OP_ACCEPT;
	/* Multishot accept came with 5.19, as did IORING_OP_SOCKET: the probe reports opcodes, not
	 * flags, so the newer opcode stands for it. */
	return opcode == IORING_OP_ACCEPT && weft__op_supported(loop, IORING_OP_SOCKET);
}

int weft__multishot_park(struct weft__multishot *m, struct weft__list *queue,
			 struct weft__sync_wait *sw, const char *what)
{
	/* Counted as an op in flight: only ops in flight make a turn with runnable fibers reap.
	 * @m may be freed by the time we wake (closed under us), so keep the loop at hand. */
	struct weft_loop *loop = m->loop;
	int r;

	loop->inflight++;
	r = weft__sync_park(queue, sw, loop->current, what, weft__sync_interrupt);
	loop->inflight--;
	return r;
}

/* Every task has ended and the backend goes next, with every multishot in it. */
void weft__multishot_loop_close(struct weft_loop *loop)
{
	while (!weft__list_empty(&loop->multishots)) {
		struct weft__multishot *m =
		    weft__container_of(loop->multishots.next, struct weft__multishot, node);

		weft__list_del(&m->node);
		weft__list_init(&m->node);
		loop->be->multishot_forget(m);
		m->armed = false;
		m->loop = NULL;
		m->loop_closed(m);
	}
}

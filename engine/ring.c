/* SPDX-License-Identifier: MIT */
/*
 * The loop's io_uring: set-up with the best flags the kernel takes, the one place the loop enters
 * the kernel each turn, and the reap loop.
 *
 * Ring flags, best first (each refused with -EINVAL falls back to the next):
 *   SINGLE_ISSUER | DEFER_TASKRUN | R_DISABLED  completions run only when we ask, on our thread;
 *                                              enabled by the thread that first runs the loop
 *   COOP_TASKRUN | TASKRUN_FLAG                 no IPI to interrupt us for task work
 *   (none)
 * SUBMIT_ALL and CQSIZE ride along where accepted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft/time.h"
#include "loop.h"
#include "op.h"
#include "stack.h"

#define SQ_DEFAULT 256
#define SQ_MAX	   32768
#define CQ_MAX	   65536 /* the kernel's IORING_MAX_CQ_ENTRIES */

static const struct {
	unsigned flags;
	unsigned feat;
	unsigned forbidden_by; /* WEFT_RING_* option that rules this set out */
} ring_modes[] = {
    {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
     WEFT_FEAT_SINGLE_ISSUER | WEFT_FEAT_DEFER_TASKRUN, WEFT_RING_NO_DEFER_TASKRUN},
    {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, WEFT_FEAT_COOP_TASKRUN,
     WEFT_RING_NO_COOP_TASKRUN},
    {0, 0, 0},
};

static int ring_setup(struct weft_loop *loop, unsigned sq, unsigned cq, unsigned ring_flags)
{
	int r = -EINVAL;

	for (size_t i = 0; i < sizeof(ring_modes) / sizeof(ring_modes[0]); i++) {
		struct io_uring_params p = {0};

		if (ring_flags & ring_modes[i].forbidden_by)
			continue;
		/* Newer flags first; drop the optional ones on a kernel that predates them. */
		for (unsigned extra = 2; extra-- > 0;) {
			p = (struct io_uring_params){0};
			p.flags = ring_modes[i].flags | IORING_SETUP_CQSIZE |
				  (extra ? IORING_SETUP_SUBMIT_ALL : 0);
			p.cq_entries = cq;
			r = io_uring_queue_init_params(sq, &loop->ring, &p);
			if (r != -EINVAL)
				break;
		}
		if (r == 0) {
			loop->features |= ring_modes[i].feat;
			if (p.features & IORING_FEAT_EXT_ARG)
				loop->features |= WEFT_FEAT_EXT_ARG;
			if (p.features & IORING_FEAT_CQE_SKIP)
				loop->features |= WEFT_FEAT_CQE_SKIP;
			return 0;
		}
		if (r != -EINVAL)
			return r; /* EPERM, ENOSYS, ENOMEM, EMFILE: no other flags will help */
	}
	return r;
}

static void probe_ops(struct weft_loop *loop)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(&loop->ring);

	if (!probe)
		return;
	for (unsigned op = 0; op <= probe->last_op && op < 256; op++)
		if (io_uring_opcode_supported(probe, (int)op))
			loop->ops[op / 8] |= (uint8_t)(1u << (op % 8));
	io_uring_free_probe(probe);
}

int weft__ring_init(struct weft_loop *loop, const struct weft_loop_opts *opts)
{
	unsigned sq = opts->sq_entries ? opts->sq_entries : SQ_DEFAULT;
	unsigned cq = opts->cq_entries ? opts->cq_entries : 8 * sq;
	int r;

	if (!opts->cq_entries && cq > CQ_MAX)
		cq = sq > CQ_MAX ? sq : CQ_MAX;
	if (sq > SQ_MAX || cq < sq || cq > CQ_MAX)
		return -EINVAL;
	r = ring_setup(loop, sq, cq, opts->ring_flags);
	if (r)
		return r;
	probe_ops(loop);
	/* Blocking eventfd on purpose: io_uring returns -EAGAIN at once for O_NONBLOCK files
	 * instead of waiting for them to become readable. */
	loop->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (loop->wake_fd < 0) {
		r = -errno;
		io_uring_queue_exit(&loop->ring);
		return r;
	}
	return 0;
}

int weft__ring_enable(struct weft_loop *loop)
{
	int r;

	if (loop->enabled)
		return pthread_equal(loop->owner, pthread_self()) ? 0 : -EXDEV;
	if (loop->ring.flags & IORING_SETUP_R_DISABLED) {
		/* Raw syscall: Debian's liburing 2.3 leaves io_uring_enable_rings out of the .so. */
		r = (int)syscall(__NR_io_uring_register, loop->ring.ring_fd,
				 IORING_REGISTER_ENABLE_RINGS, NULL, 0);
		if (r < 0)
			return -errno;
	}
	/* The registered ring fd is per thread, so it is registered by the owner thread. */
	if (io_uring_register_ring_fd(&loop->ring) == 1)
		loop->features |= WEFT_FEAT_REG_RING_FD;
	loop->owner = pthread_self();
	loop->fpstate = weft__ctx_fpstate(); /* the owner thread's, from now on */
	loop->enabled = true;
	weft__overflow_thread_init();
	weft__ring_arm_wake(loop);
	return 0;
}

void weft__ring_exit(struct weft_loop *loop)
{
	io_uring_queue_exit(&loop->ring);
	close(loop->wake_fd);
}

void weft__ring_arm_wake(struct weft_loop *loop)
{
	struct io_uring_sqe *sqe;

	if (loop->wake_armed)
		return;
	sqe = weft__sqe(loop);
	io_uring_prep_read(sqe, loop->wake_fd, &loop->wake_buf, sizeof(loop->wake_buf), 0);
	io_uring_sqe_set_data64(sqe, weft__ud(&loop->wake_buf, WEFT__UD_WAKE, 0));
	loop->wake_armed = true;
}

static bool retryable(int r)
{
	return r == -EBUSY || r == -EAGAIN || r == -EINTR;
}

/* Push every queued SQE to the kernel. A full CQ (-EBUSY) is drained and the submit retried:
 * queued SQEs are never dropped, and neither is a cancel among them. */
void weft__ring_submit(struct weft_loop *loop)
{
	while (io_uring_sq_ready(&loop->ring)) {
		int r = io_uring_submit(&loop->ring);
		if (r >= 0)
			continue;
		if (!retryable(r)) {
			fprintf(stderr, "weft: io_uring_submit failed: %s\n", weft_strerror(r));
			abort(); /* the ring itself is broken: not something a caller can cause */
		}
		weft__reap(loop);
	}
}

struct io_uring_sqe *weft__sqe(struct weft_loop *loop)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

	while (__builtin_expect(!sqe, 0)) {
		weft__ring_submit(loop);
		sqe = io_uring_get_sqe(&loop->ring);
	}
	return sqe;
}

#define REAP_BATCH 64

/* CQEs the kernel holds back: overflowed ones (FEAT_NODROP keeps them) or, under COOP_TASKRUN,
 * task work that must run before they are posted. Both need an io_uring_enter. */
static inline bool cq_needs_enter(struct io_uring *ring)
{
	return IO_URING_READ_ONCE(*ring->sq.kflags) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN);
}

void weft__reap(struct weft_loop *loop)
{
	struct io_uring_cqe batch[REAP_BATCH], *cqe;
	unsigned head, n;

	/* CQEs are copied out and released before any is dispatched: a handler may submit, a
	 * submit may reap, and no CQE may be seen twice. */
	for (;;) {
		n = 0;
		io_uring_for_each_cqe(&loop->ring, head, cqe)
		{
			batch[n++] = *cqe;
			if (n == REAP_BATCH)
				break;
		}
		if (n) {
			io_uring_cq_advance(&loop->ring, n);
			for (unsigned i = 0; i < n; i++)
				weft__cqe_dispatch(loop, &batch[i]);
			continue;
		}
		if (!cq_needs_enter(&loop->ring))
			return;
		io_uring_get_events(&loop->ring);
		if (!io_uring_cq_ready(&loop->ring))
			return;
	}
}

void weft__ring_turn(struct weft_loop *loop, bool block)
{
	struct io_uring_cqe *cqe;
	int64_t next;
	int r = 0;

	if (block && (next = weft__timers_next(loop)) != WEFT_FOREVER) {
		int64_t wait = next - weft_now();
		if (wait > 0) {
			struct __kernel_timespec ts = {.tv_sec = wait / WEFT_SEC,
						       .tv_nsec = wait % WEFT_SEC};
			r = io_uring_submit_and_wait_timeout(&loop->ring, &cqe, 1, &ts, NULL);
		} else {
			r = io_uring_submit_and_get_events(&loop->ring);
		}
	} else if (block) {
		r = io_uring_submit_and_wait(&loop->ring, 1);
	} else {
		r = io_uring_submit_and_get_events(&loop->ring);
	}
	if (r < 0 && r != -ETIME && !retryable(r)) {
		fprintf(stderr, "weft: io_uring_enter failed: %s\n", weft_strerror(r));
		abort();
	}
	weft__reap(loop);
	weft__ring_submit(loop); /* whatever a -EBUSY left behind, or handlers queued */
}

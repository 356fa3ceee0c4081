/* SPDX-License-Identifier: MIT */
/*
 * The io_uring backend (backend.h): set-up with the best flags the kernel takes, the one place
 * the loop enters the kernel each turn, the reap loop, cross-thread wake-ups, the embedding fd,
 * multishot SQEs and the ring's registered resources.
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
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft/time.h"
#include "backend.h"
#include "loop.h"
#include "multishot.h"
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

/* The opcodes the kernel runs. Also the first io_uring_register: a sandbox that refuses it (or
 * io_uring_enter, probed too) while letting io_uring_setup through is found here, at
 * weft_loop_new, rather than at the first run. */
static int probe_ops(struct weft_loop *loop)
{
	struct io_uring_probe *probe = io_uring_get_probe_ring(&loop->ring);
	long r;

	if (!probe) {
		r = syscall(__NR_io_uring_register, loop->ring.ring_fd, IORING_REGISTER_PROBE, NULL,
			    0);
		return r < 0 && errno != EINVAL && errno != EFAULT ? -errno : -ENOMEM;
	}
	for (unsigned op = 0; op <= probe->last_op && op < 256; op++)
		if (io_uring_opcode_supported(probe, (int)op))
			loop->ops[op / 8] |= (uint8_t)(1u << (op % 8));
	io_uring_free_probe(probe);
	/* Nothing to submit, nothing to wait for: 0, or EBADFD while the ring is still disabled. */
	r = syscall(__NR_io_uring_enter, loop->ring.ring_fd, 0, 0, 0, NULL, 0);
	return r < 0 && errno != EBADFD ? -errno : 0;
}

int weft__uring_sizes(const struct weft_loop_opts *opts, unsigned *sqp, unsigned *cqp)
{
	unsigned sq = opts->sq_entries ? opts->sq_entries : SQ_DEFAULT;
	unsigned cq = opts->cq_entries ? opts->cq_entries : 8 * sq;

	if (!opts->cq_entries && cq > CQ_MAX)
		cq = sq > CQ_MAX ? sq : CQ_MAX;
	if (sq > SQ_MAX || cq < sq || cq > CQ_MAX)
		return -EINVAL;
	*sqp = sq;
	*cqp = cq;
	return 0;
}

static int uring_init(struct weft_loop *loop, const struct weft_loop_opts *opts)
{
	unsigned sq, cq;
	int r = weft__uring_sizes(opts, &sq, &cq);

	if (r)
		return r;
	loop->ring_opts = opts->ring_flags;
	r = ring_setup(loop, sq, cq, opts->ring_flags);
	if (r)
		return r;
	r = probe_ops(loop);
	/* Blocking eventfd on purpose: io_uring returns -EAGAIN at once for O_NONBLOCK files
	 * instead of waiting for them to become readable. */
	if (!r && (loop->wake_fd = eventfd(0, EFD_CLOEXEC)) < 0)
		r = -errno;
	if (r)
		io_uring_queue_exit(&loop->ring);
	return r;
}

static void uring_arm_wake(struct weft_loop *loop);

static int uring_enable(struct weft_loop *loop)
{
	int r;

	if (loop->enabled)
		return pthread_equal(loop->owner, pthread_self()) ? 0 : -EXDEV;
	if (loop->ring.flags & IORING_SETUP_R_DISABLED) {
		/* Raw syscall: Debian's liburing 2.3 leaves io_uring_enable_rings out of the .so. */
		r = (int)syscall(__NR_io_uring_register, loop->ring.ring_fd,
				 IORING_REGISTER_ENABLE_RINGS, NULL, 0);
		if (r < 0) {
			weft__loop_fail(loop, "io_uring_register", -errno);
			return loop->error;
		}
	}
	/* The registered ring fd is per thread, so it is registered by the owner thread. */
	if (io_uring_register_ring_fd(&loop->ring) == 1)
		loop->features |= WEFT_FEAT_REG_RING_FD;
	loop->owner = pthread_self();
	loop->fpstate = weft__ctx_fpstate(); /* the owner thread's, from now on */
	__atomic_store_n(&loop->enabled, true, __ATOMIC_RELEASE); /* weft_loop_call reads it */
	weft__overflow_thread_init();
	uring_arm_wake(loop);
	return 0;
}

static void uring_exit(struct weft_loop *loop)
{
	io_uring_queue_exit(&loop->ring);
	close(loop->wake_fd);
}

static void uring_arm_wake(struct weft_loop *loop)
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
 * queued SQEs are never dropped, and neither is a cancel among them. Any other failure (a
 * sandbox refusing io_uring_enter, ENOMEM) fails the loop: its run returns the error. */
static void uring_submit(struct weft_loop *loop)
{
	while (io_uring_sq_ready(&loop->ring) && !loop->error) {
		int r = io_uring_submit(&loop->ring);
		if (r >= 0)
			continue;
		if (!retryable(r))
			weft__loop_fail(loop, "io_uring_enter", r);
		else
			weft__reap(loop);
	}
}

struct io_uring_sqe *weft__sqe(struct weft_loop *loop)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);

	while (__builtin_expect(!sqe, 0)) {
		uring_submit(loop);
		/* A failed loop never submits again: a scratch SQE keeps callers simple. */
		if (loop->error)
			return memset(&loop->dead_sqe, 0, sizeof(loop->dead_sqe));
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

static void uring_turn(struct weft_loop *loop, bool block)
{
	struct io_uring_cqe *cqe;
	int64_t next;
	int r = 0;

	if (block && (next = weft__timers_next(loop)) != WEFT_FOREVER) {
		int64_t now = weft_now(), wait = next > now ? next - now : 0; /* no overflow */
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
		weft__loop_fail(loop, "io_uring_enter", r);
		return;
	}
	weft__reap(loop);
	uring_submit(loop); /* whatever a -EBUSY left behind, or handlers queued */
}

static bool uring_pending(struct weft_loop *loop)
{
	return io_uring_sq_ready(&loop->ring) || io_uring_cq_ready(&loop->ring);
}

/* By MSG_RING from this thread's own running ring loop, else through the eventfd. An embedded
 * loop's host sleeps in its own poll on host_fd instead, and is signalled directly: io_uring
 * does not signal a registered eventfd for a completion an eventfd write triggered (measured:
 * the wake-up read's completion never reached the host; it would risk recursion). */
static void uring_wake(struct weft_loop *loop, struct weft_loop *self)
{
	int host = atomic_load_explicit(&loop->host_fd, memory_order_acquire);
	uint64_t one = 1;

	if (host >= 0 && write(host, &one, sizeof(one)) < 0) {
		/* Only EAGAIN at a counter near 2^64: the host is being woken already. */
	}
	if (self && self != loop && self->running && !self->epoll &&
	    weft__op_supported(self, IORING_OP_MSG_RING)) {
		struct io_uring_sqe *sqe = weft__sqe(self);
		/* The target gets a CQE it ignores (user_data 0); arriving is all it has to do. */
		io_uring_prep_msg_ring(sqe, loop->ring.ring_fd, 0, WEFT__UD_IGNORE, 0);
		io_uring_sqe_set_data64(sqe, WEFT__UD_IGNORE);
		if (self->features & WEFT_FEAT_CQE_SKIP)
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		return;
	}
	if (write(loop->wake_fd, &one, sizeof(one)) < 0) {
		/* as above */
	}
}

#define RING_FEATS                                                                    \
	(WEFT_FEAT_SINGLE_ISSUER | WEFT_FEAT_DEFER_TASKRUN | WEFT_FEAT_COOP_TASKRUN | \
	 WEFT_FEAT_EXT_ARG | WEFT_FEAT_CQE_SKIP)

/*
 * A host's poll must wake when an op completes, through the eventfd registered with the ring
 * (uring_host_fd). Under DEFER_TASKRUN it does not, in time: a socket or pipe completion waits
 * as task work for our next io_uring_enter, and the kernel (6.18, traced) defers that eventfd's
 * signal to an RCU callback - the host wakes 12-20 ms later. So an embedded loop's ring takes
 * the next flags (COOP_TASKRUN), set up again while nothing depends on the first one: before
 * the first run, with nothing queued or registered. A loop that already ran keeps its ring.
 */
static void uring_embed(struct weft_loop *loop)
{
	struct io_uring old = loop->ring;
	unsigned features = loop->features;

	if (!(features & WEFT_FEAT_DEFER_TASKRUN) || loop->enabled ||
	    io_uring_sq_ready(&loop->ring) || loop->file_slots || loop->nbufs)
		return;
	loop->features &= ~RING_FEATS;
	if (ring_setup(loop, old.sq.ring_entries, old.cq.ring_entries,
		       loop->ring_opts | WEFT_RING_NO_DEFER_TASKRUN)) {
		loop->ring = old; /* keep the first ring: slow wake-ups beat none */
		loop->features = features;
		return;
	}
	io_uring_queue_exit(&old);
}

/* An eventfd the kernel signals whenever the ring gets a completion (promptly only without
 * DEFER_TASKRUN: uring_embed): polling the ring fd itself misses task-work completions. */
static int uring_host_fd(struct weft_loop *loop)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), r;

	if (fd < 0)
		return -errno;
	r = io_uring_register_eventfd(&loop->ring, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	atomic_store_explicit(&loop->host_fd, fd, memory_order_release);
	return fd;
}

/* Reset the host fd's readiness before a turn; whatever completes from here on signals it
 * again. (A completion this turn reaps may leave it readable: a spurious wake-up, never a lost
 * one.) */
static void uring_host_reset(struct weft_loop *loop)
{
	int fd = atomic_load_explicit(&loop->host_fd, memory_order_relaxed);
	uint64_t n;

	if (fd >= 0 && read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing was signalled */
	}
}

/* ---- multishot SQEs -------------------------------------------------------------------------- */

static void uring_multishot_arm(struct weft__multishot *m, const struct io_uring_sqe *tmpl)
{
	struct io_uring_sqe *sqe = weft__sqe(m->loop);

	*sqe = *tmpl;
	io_uring_sqe_set_data64(sqe, weft__ud(&m->h, WEFT__UD_HANDLER, 0));
}

static void uring_multishot_cancel(struct weft__multishot *m)
{
	struct io_uring_sqe *sqe = weft__sqe(m->loop);

	io_uring_prep_cancel64(sqe, weft__ud(&m->h, WEFT__UD_HANDLER, 0), 0);
	io_uring_sqe_set_data64(sqe, WEFT__UD_IGNORE);
}

/* The ring's exit ends it. */
static void uring_multishot_forget(struct weft__multishot *m)
{
}

/* ---- registered resources -------------------------------------------------------------------- */

static int uring_files_init(struct weft_loop *loop, unsigned n)
{
	return io_uring_register_files_sparse(&loop->ring, n);
}

static int uring_files_update(struct weft_loop *loop, unsigned slot, int fd)
{
	int r = io_uring_register_files_update(&loop->ring, slot, &fd, 1);

	return r < 0 ? r : 0;
}

static void uring_files_exit(struct weft_loop *loop)
{
	io_uring_unregister_files(&loop->ring);
}

static int uring_buffers_register(struct weft_loop *loop, const struct iovec *iov, unsigned n)
{
	return io_uring_register_buffers(&loop->ring, iov, n);
}

static void uring_buffers_unregister(struct weft_loop *loop)
{
	io_uring_unregister_buffers(&loop->ring);
}

static int uring_max_workers(struct weft_loop *loop, unsigned vals[2])
{
	return io_uring_register_iowq_max_workers(&loop->ring, vals);
}

const struct weft__backend weft__backend_uring = {
    .id = WEFT_BACKEND_URING,
    .init = uring_init,
    .exit = uring_exit,
    .enable = uring_enable,
    .turn = uring_turn,
    .flush = uring_submit,
    .pending = uring_pending,
    .arm_wake = uring_arm_wake,
    .wake = uring_wake,
    .embed = uring_embed,
    .host_fd = uring_host_fd,
    .host_reset = uring_host_reset,
    .multishot_arm = uring_multishot_arm,
    .multishot_cancel = uring_multishot_cancel,
    .multishot_forget = uring_multishot_forget,
    .files_init = uring_files_init,
    .files_update = uring_files_update,
    .files_exit = uring_files_exit,
    .buffers_register = uring_buffers_register,
    .buffers_unregister = uring_buffers_unregister,
    .max_workers = uring_max_workers,
};

/* SPDX-License-Identifier: MIT */
/*
 * The readiness backend (backend.h): for where io_uring is refused (container seccomp profiles,
 * kernel.io_uring_disabled, old kernels). Ops are the same SQEs the io_uring backend submits;
 * here the engine performs them itself, as the opcode table (opdef.c) says:
 *
 *   INLINE  never blocks (close, shutdown, nop): done on the spot
 *   READY   sockets, pipes, ttys, eventfds: the non-blocking call first; when it would block,
 *           park on the descriptor's readiness and call again when epoll says it may succeed
 *   POOL    regular files and path calls: a job on the engine's I/O thread pool, as libuv does
 *           (a cancel drops a job that has not started and waits for one that has)
 *   FILE    by what the descriptor is: READY if pollable, POOL if a regular file or device
 *   POLL    only the wait (POLL_ADD)
 *
 * Each descriptor is registered once, edge-triggered, for both directions, the first time an op
 * on it would block: one epoll_ctl per descriptor, not per op. Edge-triggered is safe because an
 * op always tries its call before it parks, so no readiness that matters is ever consumed
 * without a call after it. The record is keyed by the descriptor's number, so descriptors are
 * closed through weft__fd_close (or announced to weft__fd_forget) - as libuv's handles must be
 * closed through uv_close - from any thread: that bumps the number's process-wide generation,
 * and a loop's record made under an older one is reset before its next use, so a new
 * descriptor with the same number never inherits the old one's state.
 *
 * Timers use the loop's heap and epoll_pwait2's nanosecond timeout; other threads wake the loop
 * through the eventfd, which is in the epoll set; an embedding host polls the epoll fd itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weft/executor.h"
#include "weft/time.h"
#include "alloc.h"
#include "backend.h"
#include "executor.h"
#include "loop.h"
#include "multishot.h"
#include "op.h"
#include "opdef.h"
#include "resource.h"
#include "stack.h"
#include "task.h"
#include "epoll.h"

#define WAKE_TOKEN	 UINT64_MAX
#define MULTISHOT_BURST	 64	 /* completions one multishot delivers per turn */
#define POLL_INTERRUPTED INT_MIN /* a pool op's result slot before the job ran */

/* ---- ops ------------------------------------------------------------------------------------ */

struct io_uring_sqe *weft__epoll_op_sqe(struct weft__op *op)
{
	return &op->sqe;
}

static void op_ready(struct weft__fdwait *w)
{
	struct weft__op *op = weft__container_of(w, struct weft__op, fw);

	weft__wake(op->wait.task);
}

/* Interrupted while parked: one last non-blocking try first, as the ring would race a cancel
 * with a completion - what arrived before the cancel is returned, not left for the next call.
 * The parked fiber's buffer is still valid: it cannot return before this wake-up. */
static void op_interrupt(struct weft__wait *w)
{
	struct weft__op *op = weft__container_of(w, struct weft__op, wait);
	const struct weft__opdef *d = weft__opdef(op->sqe.opcode);
	int r = -EAGAIN;

	weft__list_del(&op->fw.link);
	weft__list_init(&op->fw.link);
	if (d->issue) /* a poll has nothing to try */
		r = d->issue(op, &op->sqe, op->fd, true);
	if (r != -EAGAIN) {
		op->res = r;
		op->done = true;
	}
	weft__wake(w->task);
}

/* Park the calling fiber until @fd is ready in direction @dir: 0, or why it was interrupted. */
static int op_park(struct weft_loop *loop, struct weft__op *op, struct fdrec *rec, int fd,
		   unsigned dir, bool shielded)
{
	int r;

	if ((r = weft__fd_watch(loop->epoll, rec, fd)))
		return r;
	op->fw = (struct weft__fdwait){.want = dir, .fd = fd, .ready = op_ready};
	weft__list_add_tail(&rec->waiters, &op->fw.link);
	weft__wait_init(&op->wait, "op", shielded ? NULL : op_interrupt);
	op->wait.task = loop->current;
	op->wait.opcode = op->sqe.opcode;
	loop->inflight++;
	r = weft__park(&op->wait, WEFT_FOREVER, shielded ? WEFT__PARK_NO_DEADLINE : 0);
	loop->inflight--;
	return !r && op->fw.revents == GONE ? -EBADF : r;
}

/* Which way a splice between two pollable ends waits: for data on its source (@in), else for
 * room at its destination (@out). */
static unsigned splice_dir(struct weft__op *op, struct fdrec *out, struct fdrec *in,
			   struct fdrec **wait_rec, int *wait_fd)
{
	struct pollfd p = {.fd = op->fd_in, .events = POLLIN};

	if (poll(&p, 1, 0) == 1 && p.revents) {
		*wait_rec = out;
		*wait_fd = op->fd;
		return WEFT__DIR_OUT;
	}
	*wait_rec = in;
	*wait_fd = op->fd_in;
	return WEFT__DIR_IN;
}

/*
 * Whether a recv of @len that returned @r drained a stream socket: a short read of a byte
 * stream took everything there was, so the next recv would only say EAGAIN - skip that syscall
 * and park at once (tokio does the same). Safe with edge-triggered epoll: any byte arriving
 * after the read raises a new edge, which marks the socket readable again. Only for TCP: not
 * once the peer has closed (its end of file was announced by an edge already seen) or urgent
 * data came (a read stops at the mark), not for Unix streams (a read stops at passed fds or
 * credentials), and not for datagram sockets, which queue several messages.
 */
static bool drained(struct fdrec *rec, const struct io_uring_sqe *sqe, int fd, int r)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(int);

	if (sqe->opcode != IORING_OP_RECV || r <= 0 || (unsigned)r >= sqe->len || rec->hup)
		return false;
	if (!rec->stream) {
		bool tcp = !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) &&
			   type == SOCK_STREAM &&
			   !getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) &&
			   (domain == AF_INET || domain == AF_INET6);
		rec->stream = tcp ? 1 : 2;
	}
	return rec->stream == 1;
}

/* @rec: @fd's record; @in: the splice source's (NULL for other ops). */
static int run_ready(struct weft_loop *loop, struct weft__op *op, const struct weft__opdef *d,
		     struct fdrec *rec, struct fdrec *in, bool shielded)
{
	int fd = op->fd, r = -EAGAIN;
	bool parked = false;

	if (!d->dontwait && (r = weft__fd_nonblock(rec, fd)))
		return r;
	if (in && (r = weft__fd_nonblock(in, op->fd_in)))
		return r;
	/* Known drained (watched, no edge since): straight to the wait, no EAGAIN to collect. */
	bool skip = rec->watched && !(rec->ready & d->dir) && !in;

	for (;;) {
		struct fdrec *wait_rec = rec;
		int wait_fd = fd, err;
		unsigned dir;

		if (!skip && (r = d->issue(op, &op->sqe, fd, true)) != -EAGAIN)
			break;
		skip = false;
		dir = in ? splice_dir(op, rec, in, &wait_rec, &wait_fd) : d->dir;
		rec->ready &= (uint8_t)~d->dir;
		parked = true;
		if ((err = op_park(loop, op, wait_rec, wait_fd, dir, shielded))) {
			if (!op->done)
				return err;
			weft__park_result_stands(loop->current); /* its last try got something */
			return op->res;
		}
	}
	if (drained(rec, &op->sqe, fd, r))
		rec->ready &= (uint8_t)~WEFT__DIR_IN;
	if (!parked)
		weft__op_inline_done();
	return r;
}

static int run_poll(struct weft_loop *loop, struct weft__op *op, struct fdrec *rec, bool shielded)
{
	unsigned events = op->sqe.poll32_events;
	struct pollfd p = {.fd = op->fd, .events = (short)events};
	int r;

	for (;;) {
		if (poll(&p, 1, 0) < 0)
			return -errno;
		if (p.revents)
			return p.revents;
		r = op_park(loop, op, rec, op->fd, events & POLLOUT ? WEFT__DIR_OUT : WEFT__DIR_IN,
			    shielded);
		if (r)
			return r;
	}
}

static int pool_job(void *arg)
{
	struct weft__op *op = arg;

	return weft__opdef(op->sqe.opcode)->issue(op, &op->sqe, op->fw.fd, false);
}

/* A job that ran returns its result even when the wait was cut short for it (no data lost). */
static int run_pool(struct weft__op *op, int fd, bool shielded)
{
	int res = POLL_INTERRUPTED, r;

	op->fw.fd = fd;
	weft__loop()->inflight++; /* something can wake the fiber (debug mode's stuck check) */
	r = weft__executor_io(pool_job, op, &res, shielded);
	weft__loop()->inflight--;
	if (res == POLL_INTERRUPTED)
		return r;
	if (r)
		weft__park_result_stands(
		    weft__current()); /* the job ran: its result, nothing caught */
	return res;
}

/* A registered slot stands for the descriptor the engine's table holds there. */
static int resolve(struct weft_loop *loop, int fd, bool fixed)
{
	return fixed ? weft__files_fd(loop, fd) : fd;
}

int weft__epoll_op_wait(struct weft__op *op, bool shielded)
{
	struct weft_loop *loop = weft__loop();
	const struct io_uring_sqe *sqe = &op->sqe;
	const struct weft__opdef *d = weft__opdef(sqe->opcode);
	int fd = resolve(loop, sqe->fd, sqe->flags & IOSQE_FIXED_FILE), kind, r;
	int run = d->run;
	struct fdrec *rec = NULL, *in = NULL;

	op->stage = 0;
	op->done = false;
	op->fd = fd;
	if (d->file && fd < 0)
		return -EBADF;
	if (d->two_files) {
		op->fd_in =
		    resolve(loop, sqe->splice_fd_in, sqe->splice_flags & SPLICE_F_FD_IN_FIXED);
		if (op->fd_in < 0)
			return -EBADF;
	}
	/* One record lookup per op: what waits on readiness needs the descriptor's. */
	if (run == WEFT__RUN_FILE || run == WEFT__RUN_READY || run == WEFT__RUN_POLL) {
		rec = weft__fdrec_get(loop->epoll, fd);
		if (!rec || (d->two_files && !(in = weft__fdrec_get(loop->epoll, op->fd_in))))
			return -ENOMEM;
	}
	if (run == WEFT__RUN_FILE) {
		kind = weft__fd_kind(rec, fd);
		if (kind >= 0 && in && kind == FD_POLLABLE)
			kind = weft__fd_kind(in, op->fd_in);
		if (kind < 0)
			return kind;
		run = kind == FD_FILE ? WEFT__RUN_POOL : WEFT__RUN_READY;
	}
	switch (run) {
	case WEFT__RUN_INLINE:
		r = d->issue(op, sqe, fd, true);
		weft__op_inline_done();
		return r;
	case WEFT__RUN_READY:
		return run_ready(loop, op, d, rec, in, shielded);
	case WEFT__RUN_POOL:
		return run_pool(op, fd, shielded);
	case WEFT__RUN_POLL:
		return run_poll(loop, op, rec, shielded);
	default:
		return -EOPNOTSUPP;
	}
}

/* ---- multishot ops -------------------------------------------------------------------------- */

static void ms_ready(struct weft__fdwait *w)
{
	struct weft__multishot *m = weft__container_of(w, struct weft__multishot, op.fw);

	weft__list_add_tail(&m->loop->epoll->ms_run, &m->end_node);
}

static void ep_multishot_arm(struct weft__multishot *m, const struct io_uring_sqe *sqe)
{
	m->op.sqe = *sqe;
	m->op.fw = (struct weft__fdwait){
	    .want = weft__opdef(sqe->opcode)->dir, .fd = sqe->fd, .ready = ms_ready};
	weft__list_init(&m->op.fw.link);
	/* Issued at once (this turn): what is pending already raises no new edge. */
	weft__list_del(&m->end_node);
	weft__list_add_tail(&m->loop->epoll->ms_run, &m->end_node);
}

static void ms_unlink(struct weft__multishot *m)
{
	weft__list_del(&m->op.fw.link);
	weft__list_init(&m->op.fw.link);
	weft__list_del(&m->end_node);
	weft__list_init(&m->end_node);
}

static void ep_multishot_cancel(struct weft__multishot *m)
{
	ms_unlink(m);
	weft__list_add_tail(&m->loop->epoll->ending, &m->end_node);
}

static void ep_multishot_forget(struct weft__multishot *m)
{
	ms_unlink(m);
}

/* Issue @m until it would block (then watch its fd), fails (its final completion), or has had
 * its share of this turn. */
static void ms_issue(struct weft_loop *loop, struct weft__multishot *m)
{
	const struct weft__opdef *d = weft__opdef(m->op.sqe.opcode);
	int fd = m->op.fw.fd, r;
	struct fdrec *rec = weft__fdrec_get(loop->epoll, fd);

	r = m->op.fw.revents == GONE ? -EBADF : rec ? weft__fd_nonblock(rec, fd) : -ENOMEM;
	for (unsigned n = 0; !r && n < MULTISHOT_BURST; n++) {
		r = d->issue(&m->op, &m->op.sqe, fd, true);
		if (r < 0)
			break;
		weft__multishot_complete(m, r, true);
		if (!m->armed || m->cancelling)
			return; /* the owner let go of it meanwhile */
		r = 0;
	}
	if (!r) {
		weft__list_add_tail(&loop->epoll->ms_run, &m->end_node); /* more next turn */
		return;
	}
	if (r == -EAGAIN && !(r = weft__fd_watch(loop->epoll, rec, fd))) {
		weft__list_add_tail(&rec->waiters, &m->op.fw.link);
		return;
	}
	weft__multishot_complete(m, r, false);
}

/* Run what multishots have due: issues first, then final completions. */
static void ms_run(struct weft_loop *loop)
{
	struct weft__epoll *ep = loop->epoll;
	struct weft__list run;

	if (weft__list_empty(&ep->ms_run) && weft__list_empty(&ep->ending))
		return;
	/* Take this turn's list: a multishot that stays busy goes on the next turn's. */
	weft__list_init(&run);
	if (!weft__list_empty(&ep->ms_run)) {
		run = ep->ms_run;
		run.next->prev = &run;
		run.prev->next = &run;
		weft__list_init(&ep->ms_run);
	}
	while (!weft__list_empty(&run)) {
		struct weft__multishot *m =
		    weft__container_of(run.next, struct weft__multishot, end_node);

		weft__list_del(&m->end_node);
		weft__list_init(&m->end_node);
		ms_issue(loop, m);
	}
	while (!weft__list_empty(&ep->ending)) {
		struct weft__multishot *m =
		    weft__container_of(ep->ending.next, struct weft__multishot, end_node);

		weft__list_del(&m->end_node);
		weft__list_init(&m->end_node);
		weft__multishot_complete(m, -ECANCELED, false);
	}
}

/* ---- the turn ------------------------------------------------------------------------------- */

static bool ep_pending(struct weft_loop *loop)
{
	return !weft__list_empty(&loop->epoll->ms_run) || !weft__list_empty(&loop->epoll->ending);
}

/* Wait for events: @timeout ns, 0 to poll, WEFT_FOREVER to block. */
static int ep_wait(struct weft__epoll *ep, int64_t timeout)
{
	int ms;

	if (ep->pwait2) {
		struct timespec ts = {.tv_sec = timeout / WEFT_SEC, .tv_nsec = timeout % WEFT_SEC};
		int n = epoll_pwait2(ep->epfd, ep->events, EVENT_BATCH,
				     timeout == WEFT_FOREVER ? NULL : &ts, NULL);
		if (n >= 0 || (errno != ENOSYS && errno != EPERM && errno != EACCES))
			return n;
		/* Before Linux 5.11, or a seccomp allow-list older than the call. */
		ep->pwait2 = false;
	}
	ms = timeout == WEFT_FOREVER	      ? -1
	     : timeout >= INT_MAX * WEFT_MSEC ? INT_MAX
					      : (int)((timeout + WEFT_MSEC - 1) / WEFT_MSEC);
	return epoll_wait(ep->epfd, ep->events, EVENT_BATCH, ms);
}

static void wake_drain(struct weft_loop *loop)
{
	uint64_t n;

	if (read(loop->wake_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: another event drained it */
	}
}

static void ep_turn(struct weft_loop *loop, bool block)
{
	struct weft__epoll *ep = loop->epoll;
	int64_t timeout = 0, next, now;
	int n;

	ms_run(loop);
	/* A multishot's completion may have made a fiber ready: then only look, never sleep. */
	if (block && !ep_pending(loop) && !loop->runq_head) {
		next = weft__timers_next(loop);
		now = weft_now();
		/* Compared first: a deadline far in the past must not overflow the subtraction. */
		timeout = next == WEFT_FOREVER ? WEFT_FOREVER : next > now ? next - now : 0;
	}
	n = ep_wait(ep, timeout);
	if (n < 0 && errno != EINTR) {
		weft__loop_fail(loop, "epoll_wait", -errno);
		return;
	}
	for (int i = 0; i < n; i++) {
		uint64_t data = ep->events[i].data.u64;
		struct fdrec *rec;

		if (data == WAKE_TOKEN) {
			wake_drain(loop);
			continue;
		}
		rec = weft__fdrec_find(ep, (int)(uint32_t)data);
		if (rec && rec->gen == (uint32_t)(data >> 32))
			weft__fd_ready(rec, ep->events[i].events);
	}
	ms_run(loop);
}

int weft__backend_fd(const struct weft_loop *loop)
{
	return loop->epoll ? loop->epoll->epfd : loop->ring.ring_fd;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static int ep_init(struct weft_loop *loop, const struct weft_loop_opts *opts)
{
	struct weft__epoll *ep = weft__new(struct weft__epoll);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TOKEN};
	int r;

	if (!ep)
		return -ENOMEM;
	weft__list_init(&ep->ms_run);
	weft__list_init(&ep->ending);
	ep->pwait2 = true;
	ep->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ep->epfd < 0 || loop->wake_fd < 0 ||
	    epoll_ctl(ep->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev)) {
		r = -errno;
		if (ep->epfd >= 0)
			close(ep->epfd);
		if (loop->wake_fd >= 0)
			close(loop->wake_fd);
		weft__delete(ep);
		return r;
	}
	/* Every opcode the table can run without a ring counts as supported. */
	for (unsigned op = 0; op < WEFT__OP_LAST; op++)
		if (weft__opdefs[op].run != WEFT__RUN_NONE)
			loop->ops[op / 8] |= (uint8_t)(1u << (op % 8));
	loop->epoll = ep;
	return 0;
}

static void ep_exit(struct weft_loop *loop)
{
	struct weft__epoll *ep = loop->epoll;

	for (unsigned i = 0; i < ep->nfds; i++)
		weft__delete(ep->fds[i]);
	weft__delete_array(ep->fds, ep->nfds);
	close(ep->epfd);
	close(loop->wake_fd);
	weft__delete(ep);
	loop->epoll = NULL;
}

static int ep_enable(struct weft_loop *loop)
{
	if (loop->enabled)
		return pthread_equal(loop->owner, pthread_self()) ? 0 : -EXDEV;
	loop->owner = pthread_self();
	loop->fpstate = weft__ctx_fpstate(); /* the owner thread's, from now on */
	__atomic_store_n(&loop->enabled, true, __ATOMIC_RELEASE); /* weft_loop_call reads it */
	weft__overflow_thread_init();
	return 0;
}

static void ep_nothing(struct weft_loop *loop)
{
}

static void ep_wake(struct weft_loop *loop, struct weft_loop *self)
{
	uint64_t one = 1;

	if (write(loop->wake_fd, &one, sizeof(one)) < 0) {
		/* Only EAGAIN at a counter near 2^64: the loop is being woken already. */
	}
}

/* The epoll fd polls readable whenever a turn has events to collect, posts included (the
 * eventfd is in the set). */
static int ep_host_fd(struct weft_loop *loop)
{
	return loop->epoll->epfd;
}

/* ---- registered resources: nothing to register without a ring ----------------------------- */

static int ep_files_init(struct weft_loop *loop, unsigned n)
{
	return 0;
}

static int ep_files_update(struct weft_loop *loop, unsigned slot, int fd)
{
	return 0;
}

static int ep_buffers_register(struct weft_loop *loop, const struct iovec *iov, unsigned n)
{
	return 0;
}

/* No kernel workers to cap: report none. */
static int ep_max_workers(struct weft_loop *loop, unsigned vals[2])
{
	vals[0] = vals[1] = 0;
	return 0;
}

const struct weft__backend weft__backend_epoll = {
    .id = WEFT_BACKEND_EPOLL,
    .init = ep_init,
    .exit = ep_exit,
    .enable = ep_enable,
    .turn = ep_turn,
    .flush = ep_nothing,
    .pending = ep_pending,
    .arm_wake = ep_nothing,
    .wake = ep_wake,
    .embed = ep_nothing, /* the epoll fd is the host's: ready as soon as a watched fd is */
    .host_fd = ep_host_fd,
    .host_reset = ep_nothing,
    .multishot_arm = ep_multishot_arm,
    .multishot_cancel = ep_multishot_cancel,
    .multishot_forget = ep_multishot_forget,
    .files_init = ep_files_init,
    .files_update = ep_files_update,
    .files_exit = ep_nothing,
    .buffers_register = ep_buffers_register,
    .buffers_unregister = ep_nothing,
    .max_workers = ep_max_workers,
};

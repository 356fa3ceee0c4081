/* SPDX-License-Identifier: MIT */
/*
 * The process pool (weft/process.h), parent side. A worker slot is held by one fiber from the
 * moment it is handed out until its job's reply is in: that fiber sends the request and reads
 * the reply itself, through the op layer, on its own stack (no record is allocated per job; only
 * the reply buffer the caller gets). Free slots are handed to queued fibers in FIFO order at
 * release time, so a cancelled waiter never swallows a slot meant for another.
 *
 * Any doubt about a worker's stream (an error, end of file, a cancelled transfer, a bad header)
 * retires the worker: SIGKILL, reap, close. The slot then starts a fresh worker when the next job
 * takes it. Reaping right after SIGKILL blocks only for the kernel's teardown of the process.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "abi.h"
#include "loop.h"
#include "op.h"
#include "process.h"
#include "sched.h"
#include "stack.h"
#include "task.h"

#define DEFAULT_STACK (8u << 20)
/* As many as the kernel lets a process open (fs.nr_open's default). */
#define KEEP_FDS_MAX (1u << 20)
#define IO_CHUNK     (1u << 30) /* an SQE's length is 32 bits */

struct procw {
	pid_t pid;   /* 0: no live worker (to be started by the next job taking the slot) */
	int fd;	     /* the parent's end of the socketpair, -1 without a worker */
	bool busy;   /* held by a fiber */
	bool killed; /* shut down with WEFT_PROCPOOL_KILL during its job */
	struct procw *next_idle;
};

struct weft_procpool {
	struct weft__proc_conf conf;
	struct weft_proc_func *funcs; /* conf.funcs, owned */
	int *keep;		      /* keep_fds plus a slot for the worker's socket */
	unsigned nkeep;
	size_t stack_size;
	unsigned n;
	struct procw *w;
	struct procw *idle;	    /* free slots, most recently used first (warm caches) */
	unsigned busy;		    /* slots held by fibers */
	struct weft__list waiters;  /* struct slot_wait, FIFO */
	struct weft__list drainers; /* struct drain_wait: shutdown callers waiting for the end */
	struct weft_loop *loop;	    /* the loop whose fibers use the pool while it is not idle */
	bool shut;
};

/* ---- workers --------------------------------------------------------------------------- */

struct worker_args {
	int fd;
	const struct weft__proc_conf *conf;
};

static int worker_entry(void *arg)
{
	struct worker_args *a = arg;

	return weft__proc_worker_main(a->fd, a->conf);
}

/* Fork a worker into slot @w. */
static int worker_start(struct weft_procpool *pool, struct procw *w)
{
	struct worker_args args;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fflush(NULL); /* or the child would print the parent's buffered output again */
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		args.fd = sv[1];
		args.conf = &pool->conf;
		pool->keep[pool->nkeep - 1] = sv[1];
		weft__child_start(worker_entry, &args, pool->stack_size, true, pool->keep,
				  pool->nkeep);
	}
	close(sv[1]);
	w->pid = pid;
	w->fd = sv[0];
	w->killed = false;
	return 0;
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Kill, reap and forget slot @w's worker (if any). */
static void worker_retire(struct procw *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		reap(w->pid);
	}
	if (w->fd >= 0)
		weft__fd_close(w->fd);
	w->pid = 0;
	w->fd = -1;
}

/* ---- slots: FIFO hand-off -------------------------------------------------------------- */

struct slot_wait {
	struct weft__wait wait;
	struct weft__list link;
	struct procw *w; /* handed over at wake-up */
	int err;	 /* or why there is none (shutdown) */
};

static void slot_interrupt(struct weft__wait *wt)
{
	struct slot_wait *sw = weft__container_of(wt, struct slot_wait, wait);

	weft__list_del(&sw->link);
	weft__wake(wt->task);
}

struct drain_wait {
	struct weft__wait wait;
	struct weft__list link;
};

static void drain_interrupt(struct weft__wait *wt)
{
	weft__list_del(&weft__container_of(wt, struct drain_wait, wait)->link);
	weft__wake(wt->task);
}

static bool pool_idle(const struct weft_procpool *pool)
{
	return !pool->busy && weft__list_empty(&pool->waiters);
}

/* The pool went idle: wake the fibers waiting in weft_procpool_shutdown. */
static void wake_drainers(struct weft_procpool *pool)
{
	struct weft__list *pos, *tmp;

	weft__list_for_each_safe(pos, tmp, &pool->drainers)
	{
		weft__list_del(pos);
		weft__wake(weft__container_of(pos, struct drain_wait, link)->wait.task);
	}
}

static void slot_release(struct weft_procpool *pool, struct procw *w)
{
	if (!weft__list_empty(&pool->waiters)) {
		struct slot_wait *sw =
		    weft__container_of(pool->waiters.next, struct slot_wait, link);

		weft__list_del(&sw->link);
		sw->w = w;
		weft__wake(sw->wait.task);
		return;
	}
	w->next_idle = pool->idle;
	pool->idle = w;
	if (!--pool->busy)
		wake_drainers(pool);
}

static int slot_acquire(struct weft_procpool *pool, struct procw **wp)
{
	struct slot_wait sw = {.err = 0};
	int err;

	if (pool->idle && weft__list_empty(&pool->waiters)) {
		*wp = pool->idle;
		pool->idle = pool->idle->next_idle;
		pool->busy++;
		return 0;
	}
	weft__wait_init(&sw.wait, "procpool", slot_interrupt);
	weft__list_add_tail(&pool->waiters, &sw.link);
	err = weft__park(&sw.wait, WEFT_FOREVER, 0);
	if (!err && !sw.w)
		err = sw.err;
	*wp = sw.w;
	return err;
}

/* ---- one job over a worker's socket ------------------------------------------------------ */

static void iov_advance(struct msghdr *msg, size_t n)
{
	while (msg->msg_iovlen && n >= msg->msg_iov->iov_len) {
		n -= msg->msg_iov->iov_len;
		msg->msg_iov++;
		msg->msg_iovlen--;
	}
	if (msg->msg_iovlen) {
		msg->msg_iov->iov_base = (char *)msg->msg_iov->iov_base + n;
		msg->msg_iov->iov_len -= n;
	}
}

/* Send @iov (@n entries, consumed as it goes) completely. @sent: bytes that left. */
static int send_all(int fd, struct iovec *iov, size_t n, size_t *sent)
{
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};

	while (msg.msg_iovlen) {
		struct weft__op op;
		struct io_uring_sqe *sqe = weft__op_start(&op);
		int r;

		if (!sqe)
			return op.res;
		io_uring_prep_sendmsg(sqe, fd, &msg, MSG_NOSIGNAL | MSG_WAITALL);
		r = weft__op_wait(&op, sqe);
		if (r < 0)
			return r;
		*sent += r;
		iov_advance(&msg, r);
	}
	return 0;
}

/* Receive exactly @len bytes; end of file is -ECONNRESET (the worker is gone). */
static int recv_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct weft__op op;
		struct io_uring_sqe *sqe = weft__op_start(&op);
		size_t want = len - got < IO_CHUNK ? len - got : IO_CHUNK;
		int r;

		if (!sqe)
			return op.res;
		io_uring_prep_recv(sqe, fd, (char *)buf + got, want, MSG_WAITALL);
		r = weft__op_wait(&op, sqe);
		if (r <= 0)
			return r ? r : -ECONNRESET;
		got += r;
	}
	return 0;
}

/* A job as the calling fiber sees it. */
struct job {
	int32_t fn;
	const void *in;
	size_t inlen;
	void *out; /* the reply, malloc()ed */
	size_t outlen;
	bool delivered; /* some request bytes left: the worker may have started it */
};

/* Run @j on @w. Returns the function's value, or with *@broken set the reason @w's stream can't
 * be trusted any more (the caller retires the worker). */
static int job_run(struct procw *w, struct job *j, bool *broken)
{
	struct weft__proc_hdr h = {WEFT__PROC_MAGIC, j->fn, j->inlen};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)j->in, j->inlen}};
	size_t sent = 0;
	int r;

	r = send_all(w->fd, iov, j->inlen ? 2 : 1, &sent);
	j->delivered = sent > 0;
	/* Interrupted before a byte left (e.g. cancelled right after the slot was handed over):
	 * the stream is intact and the worker stays. Partial sends report their bytes, not this. */
	if (!sent && (r == -ECANCELED || r == -ETIMEDOUT))
		return r;
	if (!r)
		r = recv_all(w->fd, &h, sizeof(h));
	if (!r && h.magic != WEFT__PROC_MAGIC)
		r = -EPROTO;
	if (!r && h.len && !(j->out = malloc(h.len)))
		r = -ENOMEM;
	if (!r && h.len && (r = recv_all(w->fd, j->out, h.len))) {
		free(j->out);
		j->out = NULL;
	}
	if (r) {
		*broken = true;
		return r;
	}
	j->outlen = h.len;
	return h.val;
}

/* Run @j on slot @w, starting a worker there first if it has none. A worker found dead before it
 * got any byte of the request (it died while idle) is replaced and the job tried once more. */
static int job_on_slot(struct weft_procpool *pool, struct procw *w, struct job *j)
{
	for (int attempt = 0;; attempt++) {
		bool broken = false, killed;
		int r;

		if (!w->pid && (r = worker_start(pool, w)))
			return r;
		r = job_run(w, j, &broken);
		if (!broken)
			return r;
		killed = w->killed;
		worker_retire(w);
		if (killed)
			return -ECANCELED;
		if (r == -ECANCELED || r == -ETIMEDOUT || r == -ENOMEM)
			return r;
		if (j->delivered || attempt)
			return -ECHILD;
	}
}

static int func_index(const struct weft_procpool *pool, const char *name)
{
	for (size_t i = 0; i < pool->conf.nfuncs; i++)
		if (!strcmp(pool->conf.funcs[i].name, name))
			return (int)i;
	return -ENOENT;
}

int weft_procpool_run(weft_procpool *pool, const char *fn, const void *in, size_t inlen, void **out,
		      size_t *outlen)
{
	struct weft_task *t = weft__current();
	struct job j = {.in = in, .inlen = inlen};
	struct procw *w;
	int r;

	if (out)
		*out = NULL;
	if (outlen)
		*outlen = 0;
	if (!pool || !fn || (!in && inlen))
		return -EINVAL;
	if (!t)
		return -EPERM;
	j.fn = func_index(pool, fn);
	if (j.fn < 0)
		return j.fn;
	if (pool->shut)
		return -EPIPE;
	if (!pool_idle(pool) && pool->loop != weft__loop())
		return -EXDEV;
	r = weft__checkpoint(t);
	if (r)
		return r;
	pool->loop = weft__loop();
	r = slot_acquire(pool, &w);
	if (r)
		return r;
	w->busy = true;
	r = job_on_slot(pool, w, &j);
	w->busy = false;
	slot_release(pool, w);
	if (r < 0) {
		free(j.out); /* error replies carry no bytes; a stray one is dropped */
		return r;
	}
	if (out)
		*out = j.out;
	else
		free(j.out);
	if (outlen)
		*outlen = j.outlen;
	return r;
}

/* ---- life cycle ---------------------------------------------------------------------------- */

static void fail_waiters(struct weft_procpool *pool, int err)
{
	struct weft__list *pos, *tmp;

	weft__list_for_each_safe(pos, tmp, &pool->waiters)
	{
		struct slot_wait *sw = weft__container_of(pos, struct slot_wait, link);

		weft__list_del(pos);
		sw->err = err;
		weft__wake(sw->wait.task);
	}
}

static int drain(struct weft_procpool *pool)
{
	struct weft_task *t = weft__current();
	int err;

	if (!t)
		return -EBUSY;
	if (pool->loop != weft__loop())
		return -EXDEV;
	while (!pool_idle(pool)) {
		struct drain_wait dw;

		err = weft__checkpoint(t);
		if (err)
			return err;
		weft__wait_init(&dw.wait, "procpool shutdown", drain_interrupt);
		weft__list_add_tail(&pool->drainers, &dw.link);
		err = weft__park(&dw.wait, WEFT_FOREVER, 0);
		if (err)
			return err;
	}
	return 0;
}

int weft_procpool_shutdown(weft_procpool *pool, unsigned flags)
{
	if (!pool || flags & ~(WEFT_PROCPOOL_CANCEL_PENDING | WEFT_PROCPOOL_KILL))
		return -EINVAL;
	pool->shut = true;
	if (flags & (WEFT_PROCPOOL_CANCEL_PENDING | WEFT_PROCPOOL_KILL))
		fail_waiters(pool, -ECANCELED);
	if (flags & WEFT_PROCPOOL_KILL) {
		for (unsigned i = 0; i < pool->n; i++) {
			struct procw *w = &pool->w[i];

			if (w->busy && w->pid > 0) {
				w->killed = true;
				kill(w->pid, SIGKILL);
			}
		}
	}
	return pool_idle(pool) ? 0 : drain(pool);
}

static void pool_delete(struct weft_procpool *pool)
{
	/* Close every socket first: idle workers see end of file and begin to exit together. */
	for (unsigned i = 0; pool->w && i < pool->n; i++)
		if (pool->w[i].fd >= 0) {
			weft__fd_close(pool->w[i].fd);
			pool->w[i].fd = -1;
		}
	for (unsigned i = 0; pool->w && i < pool->n; i++)
		worker_retire(&pool->w[i]);
	weft__delete_array(pool->w, pool->n);
	weft__delete_array(pool->keep, pool->nkeep);
	weft__delete_array(pool->funcs, pool->conf.nfuncs);
	weft__delete(pool);
}

void weft_procpool_free(weft_procpool *pool)
{
	if (pool)
		pool_delete(pool);
}

static int check_table(const struct weft_proc_func *funcs, size_t nfuncs)
{
	if (!funcs || !nfuncs || nfuncs > INT32_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nfuncs; i++) {
		if (!funcs[i].name || !funcs[i].fn)
			return -EINVAL;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(funcs[k].name, funcs[i].name))
				return -EINVAL;
	}
	return 0;
}

static int check_opts(const struct weft_procpool_opts *o, unsigned *n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	*n = o->nworkers ? o->nworkers : cpus > 0 ? (unsigned)cpus : 1;
	if (*n > WEFT_PROCPOOL_MAX_WORKERS || (o->nkeep_fds && !o->keep_fds) ||
	    o->nkeep_fds > KEEP_FDS_MAX || weft__reserved_bad(o))
		return -EINVAL;
	/* The worker's stack is mapped in the child, where a failure can only be ignored. */
	if (o->stack_size && (o->stack_size < WEFT__STACK_MIN || o->stack_size > WEFT__STACK_MAX))
		return -EINVAL;
	for (unsigned i = 0; i < o->nkeep_fds; i++)
		if (o->keep_fds[i] < 0)
			return -EINVAL;
	return 0;
}

static struct weft_procpool *pool_alloc(const struct weft_proc_func *funcs, size_t nfuncs,
					const struct weft_procpool_opts *o, unsigned n)
{
	struct weft_procpool *pool = weft__new(struct weft_procpool);

	if (!pool)
		return NULL;
	pool->n = n;
	pool->nkeep = o->nkeep_fds + 1;
	pool->conf.nfuncs = nfuncs;
	pool->w = weft__new_array(struct procw, n);
	pool->keep = weft__new_array(int, pool->nkeep);
	pool->funcs = weft__new_array(struct weft_proc_func, nfuncs);
	if (!pool->w || !pool->keep || !pool->funcs) {
		pool_delete(pool);
		return NULL;
	}
	memcpy(pool->funcs, funcs, sizeof(*funcs) * nfuncs);
	if (o->nkeep_fds)
		memcpy(pool->keep, o->keep_fds, sizeof(int) * o->nkeep_fds);
	pool->conf.funcs = pool->funcs;
	pool->conf.init = o->init;
	pool->conf.init_arg = o->init_arg;
	pool->stack_size = o->stack_size ? o->stack_size : DEFAULT_STACK;
	weft__list_init(&pool->waiters);
	weft__list_init(&pool->drainers);
	for (unsigned i = 0; i < n; i++)
		pool->w[i].fd = -1;
	return pool;
}

int weft_procpool_new(weft_procpool **poolp, const struct weft_proc_func *funcs, size_t nfuncs,
		      const struct weft_procpool_opts *opts)
{
	static const struct weft_procpool_opts defaults;
	const struct weft_procpool_opts *o = opts ? opts : &defaults;
	struct weft_procpool *pool;
	unsigned n;
	int err;

	if (!poolp)
		return -EINVAL;
	err = check_table(funcs, nfuncs);
	if (!err)
		err = check_opts(o, &n);
	if (err)
		return err;
	pool = pool_alloc(funcs, nfuncs, o, n);
	if (!pool)
		return -ENOMEM;
	for (unsigned i = n; i-- > 0;) {
		err = worker_start(pool, &pool->w[i]);
		if (err) {
			pool_delete(pool);
			return err;
		}
		pool->w[i].next_idle = pool->idle;
		pool->idle = &pool->w[i];
	}
	*poolp = pool;
	return 0;
}

unsigned weft_procpool_size(const weft_procpool *pool)
{
	return pool ? pool->n : 0;
}

pid_t weft_procpool_pid(const weft_procpool *pool, unsigned i)
{
	return pool && i < pool->n ? pool->w[i].pid : 0;
}

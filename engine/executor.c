/* SPDX-License-Identifier: MIT */
/*
 * The thread pool: weft_executor_run / weft_executor_default_run (asyncio.to_thread, run_in_executor).
 *
 * A job record is shared by its caller and the pool (the queue, then the worker that runs it,
 * then the post that delivers its end to a fiber's loop), and a caller that gives up may return
 * while the pool still holds it. So it is counted: one reference for the caller, one for the pool
 * side. Who may touch the job next is decided by one atomic state:
 *
 *   QUEUED --worker--> RUNNING --worker--> DONE (result delivered to the caller)
 *   QUEUED --caller gave up / shutdown cancel--> ABANDONED (never runs; the worker skips it)
 *   RUNNING --detached caller gave up--> ABANDONED (result dropped by the worker)
 *
 * A cancelled caller never touches the pool (it only flips the state), so an abandoned job stays
 * queued until a worker pops and drops it: interrupting a fiber takes no lock and cannot race
 * with weft_executor_free().
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#include "weft/executor.h"
#include "weft/thread.h"
#include "alloc.h"
#include "executor.h"
#include "list.h"
#include "loop.h"
#include "sched.h"
#include "task.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_ABANDONED };

struct job {
	atomic_int refs;
	_Atomic int state;	/* enum job_state */
	struct weft__list link; /* in the pool's queue, under pool->mu */
	weft_job_fn fn;
	void *arg;
	int ret; /* fn's return value, when it ran */
	int err; /* 0 when it ran, -ECANCELED when shutdown dropped it */
	/* fiber callers: touched on the caller's loop thread only (after the delivering post) */
	weft_loop *caller_loop;
	struct weft_task *caller;
	bool delivered;
	bool gave_up; /* the caller abandoned the job and was woken to return at once */
	bool detach;
	bool shielded;		/* the engine's uninterruptible I/O (weft__executor_io) */
	struct weft__post post; /* delivers the end to the caller's loop */
	/* plain-thread callers */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
};

struct weft_executor {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* workers wait here for jobs or the stop */
	struct weft__list queue;
	size_t queued;		 /* jobs in the queue (abandoned ones included) */
	unsigned max;		 /* most threads */
	unsigned nthreads;	 /* threads started */
	unsigned idle;		 /* threads waiting on cv */
	bool closed;		 /* no new jobs */
	pthread_t *threads;	 /* [max] */
	pthread_mutex_t join_mu; /* serializes joining the workers */
	bool joined;
};

/* The pool whose worker this thread is (to refuse shutdown from a job). */
static __thread weft_executor *tls_worker_of;

static void job_unref(struct job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) != 1)
		return;
	if (!j->caller_loop) {
		pthread_cond_destroy(&j->cv);
		pthread_mutex_destroy(&j->mu);
	}
	weft__delete(j);
}

/* ---- delivering a job's end ------------------------------------------------------------- */

/* On the caller's loop: the post owns the pool's reference. */
static void job_delivered_at_caller(void *arg)
{
	struct job *j = arg;

	j->delivered = true;
	weft__wake(j->caller);
	job_unref(j);
}

/* The job ended (ran, or was dropped by a shutdown): tell the caller, pass on the pool's ref. */
static void job_deliver(struct job *j)
{
	if (j->caller_loop) {
		/* A lost post would strand the caller: the job's own record cannot fail. */
		weft__post_node(j->caller_loop, &j->post, job_delivered_at_caller, j);
		return;
	}
	pthread_mutex_lock(&j->mu);
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	job_unref(j);
}

/* ---- workers ---------------------------------------------------------------------------- */

static void job_run(struct job *j)
{
	int expect = JOB_QUEUED;

	if (!atomic_compare_exchange_strong(&j->state, &expect, JOB_RUNNING)) {
		job_unref(j); /* abandoned before it started */
		return;
	}
	j->ret = j->fn(j->arg);
	expect = JOB_RUNNING;
	if (atomic_compare_exchange_strong(&j->state, &expect, JOB_DONE))
		job_deliver(j);
	else
		job_unref(j); /* detached caller left: the result is discarded */
}

static void *worker_main(void *arg)
{
	weft_executor *p = arg;

	tls_worker_of = p;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;

		while (!p->queued && !p->closed) {
			p->idle++;
			pthread_cond_wait(&p->cv, &p->mu);
			p->idle--;
		}
		if (!p->queued)
			break; /* closed and drained */
		j = weft__container_of(p->queue.next, struct job, link);
		weft__list_del(&j->link);
		p->queued--;
		pthread_mutex_unlock(&p->mu);
		job_run(j);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Under p->mu, with @j just queued: make sure some thread will take it. */
static int wake_worker(weft_executor *p)
{
	sigset_t all, old;
	int r;

	/* Every queued job already has a sleeping worker on its way? Then one more wakes. */
	if (p->idle >= p->queued) {
		pthread_cond_signal(&p->cv);
		return 0;
	}
	if (p->nthreads == p->max)
		return 0; /* a busy worker takes it next */
	/* Workers take no signals: they belong to the loops' threads (and signalfd users). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&p->threads[p->nthreads], NULL, worker_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r == 0) {
		p->nthreads++;
		return 0;
	}
	if (p->nthreads)
		return 0; /* the existing ones will get to it */
	return -EAGAIN;
}

/* Queue @j (taking the pool's reference). */
static int submit(weft_executor *p, struct job *j)
{
	int r;

	pthread_mutex_lock(&p->mu);
	if (p->closed) {
		pthread_mutex_unlock(&p->mu);
		return -EPIPE;
	}
	weft__list_add_tail(&p->queue, &j->link);
	p->queued++;
	r = wake_worker(p);
	if (r) {
		weft__list_del(&j->link);
		p->queued--;
	}
	pthread_mutex_unlock(&p->mu);
	return r;
}

/* ---- callers ---------------------------------------------------------------------------- */

struct job_wait {
	struct weft__wait wait;
	struct job *job;
};

/* The calling fiber was cancelled or its deadline passed (on its loop's thread). */
static void job_interrupted(struct weft__wait *w)
{
	struct job *j = weft__container_of(w, struct job_wait, wait)->job;
	int expect = JOB_QUEUED;

	if (atomic_compare_exchange_strong(&j->state, &expect, JOB_ABANDONED)) {
		j->gave_up = true; /* never ran, never will */
		weft__wake(w->task);
		return;
	}
	expect = JOB_RUNNING;
	if (j->detach && atomic_compare_exchange_strong(&j->state, &expect, JOB_ABANDONED)) {
		j->gave_up = true;
		weft__wake(w->task);
		return;
	}
	/* Running (waited for), or done and its delivery already posted: stay parked for it. */
}

static int run_from_fiber(weft_executor *p, struct job *j, struct weft_task *t)
{
	struct job_wait jw = {.job = j};
	int r;

	j->caller_loop = weft__loop();
	j->caller = t;
	r = submit(p, j);
	if (r) {
		job_unref(j); /* the pool's reference, never taken */
		return r;
	}
	weft__wait_init(&jw.wait, "to_thread", j->shielded ? NULL : job_interrupted);
	r = weft__park(&jw.wait, WEFT_FOREVER, j->shielded ? WEFT__PARK_NO_DEADLINE : 0);
	if (!j->delivered && !j->gave_up) {
		/* Not reached in practice (only our callbacks wake this wait), but never return while
		 * the job may still use @arg. */
		jw.wait.interrupt = NULL;
		while (!j->delivered)
			weft__park(&jw.wait, WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
	}
	if (r)
		return r;
	return j->err;
}

static int run_from_thread(weft_executor *p, struct job *j)
{
	int r;

	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	r = submit(p, j);
	if (r) {
		job_unref(j);
		return r;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		pthread_cond_wait(&j->cv, &j->mu);
	pthread_mutex_unlock(&j->mu);
	return j->err;
}

#define POOL_SHIELDED (1u << 31) /* internal: weft__executor_io's shielded wait */

static int pool_run(weft_executor *p, weft_job_fn fn, void *arg, int *result, unsigned flags)
{
	struct weft_task *t = weft__current();
	struct job *j;
	int r;

	if (t && !(flags & POOL_SHIELDED) && (r = weft__checkpoint(t)))
		return r;
	j = weft__new(struct job);
	if (!j)
		return -ENOMEM;
	atomic_init(&j->refs, 2); /* the caller and the pool */
	atomic_init(&j->state, JOB_QUEUED);
	j->fn = fn;
	j->arg = arg;
	j->detach = flags & WEFT_EXECUTOR_DETACH;
	j->shielded = flags & POOL_SHIELDED;
	r = t ? run_from_fiber(p, j, t) : run_from_thread(p, j);
	if (result && atomic_load(&j->state) == JOB_DONE)
		*result = j->ret;
	job_unref(j);
	return r;
}

int weft_executor_run_flags(weft_executor *p, weft_job_fn fn, void *arg, int *result,
			    unsigned flags)
{
	if (!p || !fn || (flags & ~WEFT_EXECUTOR_DETACH))
		return -EINVAL;
	return pool_run(p, fn, arg, result, flags);
}

int weft_executor_run(weft_executor *p, weft_job_fn fn, void *arg, int *result)
{
	return weft_executor_run_flags(p, fn, arg, result, 0);
}

/* ---- pools ------------------------------------------------------------------------------ */

static unsigned default_size(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return 2;
	return n > (long)WEFT_EXECUTOR_MAX_THREADS ? WEFT_EXECUTOR_MAX_THREADS : (unsigned)n;
}

int weft_executor_new(weft_executor **poolp, unsigned nthreads)
{
	weft_executor *p;

	if (!poolp || nthreads > WEFT_EXECUTOR_MAX_THREADS)
		return -EINVAL;
	if (!nthreads)
		nthreads = default_size();
	p = weft__new(weft_executor);
	if (!p)
		return -ENOMEM;
	p->threads = weft__new_array(pthread_t, nthreads);
	if (!p->threads) {
		weft__delete(p);
		return -ENOMEM;
	}
	p->max = nthreads;
	weft__list_init(&p->queue);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_mutex_init(&p->join_mu, NULL);
	*poolp = p;
	return 0;
}

unsigned weft_executor_size(const weft_executor *p)
{
	return p ? p->max : 0;
}

int weft_executor_shutdown(weft_executor *p, unsigned flags)
{
	struct weft__list dropped;

	if (!p || (flags & ~WEFT_EXECUTOR_CANCEL_PENDING))
		return -EINVAL;
	if (tls_worker_of == p)
		return -EDEADLK;
	weft__list_init(&dropped);
	pthread_mutex_lock(&p->mu);
	p->closed = true;
	if (flags & WEFT_EXECUTOR_CANCEL_PENDING) {
		while (!weft__list_empty(&p->queue)) {
			struct weft__list *l = p->queue.next;
			weft__list_del(l);
			weft__list_add_tail(&dropped, l);
		}
		p->queued = 0;
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);

	while (!weft__list_empty(&dropped)) {
		struct job *j = weft__container_of(dropped.next, struct job, link);
		int expect = JOB_QUEUED;

		weft__list_del(&j->link);
		if (atomic_compare_exchange_strong(&j->state, &expect, JOB_ABANDONED)) {
			j->err = -ECANCELED;
			job_deliver(j);
		} else {
			job_unref(j); /* its caller gave up already */
		}
	}

	pthread_mutex_lock(&p->join_mu);
	if (!p->joined) {
		/* closed is set: no thread starts any more, so nthreads is stable. */
		for (unsigned i = 0; i < p->nthreads; i++)
			pthread_join(p->threads[i], NULL);
		p->joined = true;
	}
	pthread_mutex_unlock(&p->join_mu);
	return 0;
}

void weft_executor_free(weft_executor *p)
{
	if (!p)
		return;
	weft_executor_shutdown(p, WEFT_EXECUTOR_WAIT);
	pthread_mutex_destroy(&p->join_mu);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	weft__delete_array(p->threads, p->max);
	weft__delete(p);
}

/* ---- the default pool ------------------------------------------------------------------- */

static pthread_mutex_t default_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(weft_executor *) default_pool;
static bool default_hooks; /* atexit and atfork handlers registered */

/* A forked child has none of the workers: drop the pool there rather than join ghosts. Only
 * its memory is freed (its locks may have been held by threads that are not in the child);
 * records of jobs in flight at the fork belong to those threads and are left alone. */
static void pool_forget(_Atomic(weft_executor *) *slot, pthread_mutex_t *mu)
{
	weft_executor *p = atomic_exchange(slot, NULL);

	pthread_mutex_init(mu, NULL);
	if (p) {
		weft__delete_array(p->threads, p->max);
		weft__delete(p);
	}
}

static void default_forget_in_child(void)
{
	pool_forget(&default_pool, &default_mu);
}

/*
 * Shut the default pool down (queued jobs fail, running ones are waited for) but never free it:
 * other threads run on while exit() calls this, and one may hold the pool, about to submit. It
 * stays allocated and published, refusing work with -EPIPE (and reachable: no leak report).
 */
static void default_at_exit(void)
{
	weft_executor *p;

	pthread_mutex_lock(&default_mu);
	p = atomic_load(&default_pool);
	pthread_mutex_unlock(&default_mu);
	/* exit() from one of its own jobs: joining would wait for ourselves; leave it. */
	if (p && tls_worker_of != p)
		weft_executor_shutdown(p, WEFT_EXECUTOR_CANCEL_PENDING);
}

int weft_executor_default(weft_executor **poolp)
{
	weft_executor *p;
	int r = 0;

	if (!poolp)
		return -EINVAL;
	p = atomic_load_explicit(&default_pool, memory_order_acquire);
	if (p) {
		*poolp = p;
		return 0;
	}
	pthread_mutex_lock(&default_mu);
	p = atomic_load_explicit(&default_pool, memory_order_relaxed);
	if (!p && !default_hooks) {
		if (atexit(default_at_exit) || pthread_atfork(NULL, NULL, default_forget_in_child))
			r = -ENOMEM;
		else
			default_hooks = true;
	}
	if (!p && !r) {
		r = weft_executor_new(&p, 0);
		if (r == 0)
			atomic_store_explicit(&default_pool, p, memory_order_release);
	}
	pthread_mutex_unlock(&default_mu);
	if (r == 0)
		*poolp = p;
	return r;
}

int weft_executor_default_run(weft_job_fn fn, void *arg, int *result)
{
	weft_executor *p;
	int r;

	if (!fn)
		return -EINVAL;
	r = weft_executor_default(&p);
	return r ? r : weft_executor_run(p, fn, arg, result);
}

int weft_executor_default_shutdown(unsigned flags)
{
	weft_executor *p;
	int r = 0;

	if (flags & ~WEFT_EXECUTOR_CANCEL_PENDING)
		return -EINVAL;
	pthread_mutex_lock(&default_mu);
	p = atomic_load(&default_pool);
	if (p && tls_worker_of == p) {
		r = -EDEADLK;
	} else if (p) {
		weft_executor_shutdown(p, flags);
		weft_executor_free(p);
		atomic_store(&default_pool, NULL);
	}
	pthread_mutex_unlock(&default_mu);
	return r;
}

/* ---- the engine's I/O pool (weft__executor_io) ---------------------------------------------- */

#define IO_POOL_THREADS 4 /* libuv's default: enough to overlap a few disk waits */

static pthread_mutex_t io_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(weft_executor *) io_pool;

/* As the default pool: a forked child has none of its workers. Never freed at exit: a thread
 * still in a file call may be using it then, and the process's end takes it anyway. */
static void io_forget_in_child(void)
{
	pool_forget(&io_pool, &io_mu);
}

static int io_pool_get(weft_executor **pp)
{
	static bool hooked;
	weft_executor *p = atomic_load_explicit(&io_pool, memory_order_acquire);
	int r = 0;

	if (p) {
		*pp = p;
		return 0;
	}
	pthread_mutex_lock(&io_mu);
	p = atomic_load_explicit(&io_pool, memory_order_relaxed);
	if (!p && !hooked) {
		r = pthread_atfork(NULL, NULL, io_forget_in_child) ? -ENOMEM : 0;
		hooked = !r;
	}
	if (!p && !r && !(r = weft_executor_new(&p, IO_POOL_THREADS)))
		atomic_store_explicit(&io_pool, p, memory_order_release);
	pthread_mutex_unlock(&io_mu);
	*pp = p;
	return r;
}

int weft__executor_io(weft_job_fn fn, void *arg, int *result, bool shielded)
{
	weft_executor *p;
	int r = io_pool_get(&p);

	return r ? r : pool_run(p, fn, arg, result, shielded ? POOL_SHIELDED : 0);
}

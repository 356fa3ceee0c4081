/* SPDX-License-Identifier: MIT */
/*
 * perf/sync - the `sync` suite: synchronization, queues and thread crossings, each against the
 * pthread equivalent measured in the same process, run by run (A B A B ...), medians reported.
 *
 *   sync.lock        lock hand-off between two fibers of one loop (ns per hand-off)
 *                    vs two threads taking strict turns on a pthread mutex + condvar
 *   sync.queue       bounded FIFO queue (maxsize 64), producer fiber -> consumer fiber (items/s)
 *                    vs a mutex + two condvars ring of 64 slots, producer thread -> consumer thread
 *   sync.channel     channel (capacity 64), fiber on loop A -> fiber on loop B, each loop on its
 *                    own thread (msgs/s) vs the same pthread queue between two threads
 *   sync.to_thread   weft_executor_default_run round trip of an empty function, fiber -> pool -> fiber (ns)
 *                    vs a plain condvar round trip: a thread hands a request to a worker thread
 *                    and waits on a condvar for the reply
 * sync.channel and sync.to_thread are built only when <weft/channel.h> / <weft/executor.h> exist.
 *
 * The baselines, exactly:
 *   lock:  one mutex, one condvar, an int `turn`. Each of two threads loops n times: lock; while
 *          turn != me: wait; turn = other; broadcast; unlock. Each turn passes the mutex (and the
 *          right to run) to the other thread: one hand-off. Reported per hand-off.
 *   queue: a ring of 64 void * under one mutex, condvars not_full / not_empty, signalled only
 *          when a waiter sleeps on them. The main thread puts n items, one consumer thread gets
 *          them; the clock spans thread creation to join (negligible next to n items).
 *   round trip: one mutex, one condvar per direction; the caller sets `req`, signals, waits for
 *          `rsp`; the worker waits for `req`, clears it, sets `rsp`, signals.
 *
 * Usage: sync [-q] [-n pairs] [filter]
 *   -q        quick: a tenth of the iterations (smoke test)
 *   -n pairs  weft/baseline pairs per benchmark (default 7)
 *   filter    run only the benchmark of that name ("sync.lock"), or those whose name contains it
 * Each benchmark appends one JSON line to $WEFT_RESULTS (default perf/results.jsonl); ratio > 1
 * always means weft is ahead (baseline/value for times, value/baseline for rates).
 *
 * CPU time (getrusage of the whole process, all threads) is printed beside the wall clock: the
 * VM swings up to 30% from run to run, and CPU time tells a spinning design from a sleeping one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"
#include "weft/queue.h"
#include "weft/sync.h"
#include "weft/thread.h"

#if __has_include(<weft/channel.h>)
#include <weft/channel.h>
#define HAVE_CHANNEL 1
#else
#define HAVE_CHANNEL 0
#endif
#if __has_include(<weft/executor.h>)
#include <weft/executor.h>
#define HAVE_EXECUTOR 1
#else
#define HAVE_EXECUTOR 0
#endif

#define BENCH_SUITE "sync"
#include "bench.h"
#define QCAP 64 /* queue / channel capacity */

static const struct weft_loop_opts loop_opts = {.debug = WEFT_DEBUG_OFF};

/* ---- the A/B driver --------------------------------------------------------------------- */

typedef void (*run_fn)(long n, struct sample *s);

struct bench {
	const char *name;
	const char *what;     /* one operation, for the human line */
	const char *baseline; /* JSON baseline name */
	bool rate;	      /* report operations per second instead of ns per operation */
	long n_weft, n_base;  /* operations per run */
	run_fn weft, base;
	double target_ratio; /* > 0: ratio to reach */
};

static void print_line(const char *label, const char *who, const struct bench *b,
		       const struct stats *st)
{
	if (b->rate)
		printf("%-16s %-14s %12.0f %ss/s  (%.2f ns/%s; cpu %.2f, sys %.2f ns; runs "
		       "%.2f..%.2f ns)\n",
		       label, who, 1e9 / st->ns, b->what, st->ns, b->what, st->cpu_ns, st->sys_ns,
		       st->lo, st->hi);
	else
		printf("%-16s %-14s %12.2f ns/%s  (cpu %.2f, sys %.2f; runs %.2f..%.2f)\n", label,
		       who, st->ns, b->what, st->cpu_ns, st->sys_ns, st->lo, st->hi);
}

static void run_bench(const struct bench *b)
{
	struct sample w[MAX_PAIRS], s[MAX_PAIRS], tmp;
	long nw = scaled(b->n_weft), nb = scaled(b->n_base);
	struct stats sw, sb;
	double ratio, value, bvalue;
	char unit[32];

	/* Warm-up pair: page faults, stack caches, thread stacks. Discarded. */
	b->weft(nw / 10 ? nw / 10 : 1, &tmp);
	b->base(nb / 10 ? nb / 10 : 1, &tmp);
	for (int i = 0; i < opt_pairs; i++) {
		b->weft(nw, &w[i]);
		b->base(nb, &s[i]);
	}
	sw = stats_of(w, opt_pairs);
	sb = stats_of(s, opt_pairs);
	/* Both ways round, ratio > 1 means weft takes less time per operation. */
	ratio = sb.ns / sw.ns;

	print_line(b->name, "weft", b, &sw);
	print_line("", b->baseline, b, &sb);
	printf("%-16s ratio %.3f, by cpu time %.3f (weft ahead when > 1)", "", ratio,
	       sb.cpu_ns / sw.cpu_ns);
	if (b->target_ratio > 0)
		printf("  target >= %.2f: %s", b->target_ratio,
		       ratio >= b->target_ratio ? "met" : "MISSED");
	printf("   [%d pairs, %ld/%ld ops per run]\n", opt_pairs, nw, nb);
	fflush(stdout);
	if (b->rate) {
		value = 1e9 / sw.ns;
		bvalue = 1e9 / sb.ns;
		snprintf(unit, sizeof(unit), "%ss/s", b->what);
	} else {
		value = sw.ns;
		bvalue = sb.ns;
		snprintf(unit, sizeof(unit), "ns");
	}
	emit_json(b->name, value, unit, b->baseline, &bvalue, &ratio);
}

/* ---- pthread baselines ------------------------------------------------------------------ */

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p)
		die("calloc", ENOMEM);
	return p;
}

static pthread_t start_thread(void *(*fn)(void *), void *arg)
{
	pthread_t th;

	check("pthread_create", pthread_create(&th, NULL, fn, arg));
	return th;
}

/* Strict alternation of two threads on one mutex: see the header comment. */
struct turns {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int turn;
	long n;
};

static void take_turns(struct turns *t, int me)
{
	for (long i = 0; i < t->n; i++) {
		pthread_mutex_lock(&t->mu);
		while (t->turn != me)
			pthread_cond_wait(&t->cv, &t->mu);
		t->turn = !me;
		pthread_cond_broadcast(&t->cv);
		pthread_mutex_unlock(&t->mu);
	}
}

static void *turns_thread(void *arg)
{
	take_turns(arg, 1);
	return NULL;
}

static void lock_pthread(long n, struct sample *s)
{
	struct turns t = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .n = n};
	struct clocks c0, c1;
	pthread_t th;

	clocks_now(&c0);
	th = start_thread(turns_thread, &t);
	take_turns(&t, 0);
	pthread_join(th, NULL);
	clocks_now(&c1);
	sample_from(s, &c0, &c1, 2 * n);
}

/* The classic bounded buffer: one mutex, condvars not_full and not_empty. */
struct pq {
	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	unsigned head, count;
	int waiting_put, waiting_get; /* sleepers, so an uncontended op never signals */
	void *buf[QCAP];
};

static void pq_init(struct pq *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->not_full, NULL);
	pthread_cond_init(&q->not_empty, NULL);
}

static void pq_destroy(struct pq *q)
{
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	pthread_mutex_destroy(&q->mu);
}

static void pq_put(struct pq *q, void *item)
{
	pthread_mutex_lock(&q->mu);
	while (q->count == QCAP) {
		q->waiting_put++;
		pthread_cond_wait(&q->not_full, &q->mu);
		q->waiting_put--;
	}
	q->buf[(q->head + q->count) % QCAP] = item;
	q->count++;
	if (q->waiting_get)
		pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

static void *pq_get(struct pq *q)
{
	void *item;

	pthread_mutex_lock(&q->mu);
	while (q->count == 0) {
		q->waiting_get++;
		pthread_cond_wait(&q->not_empty, &q->mu);
		q->waiting_get--;
	}
	item = q->buf[q->head];
	q->head = (q->head + 1) % QCAP;
	q->count--;
	if (q->waiting_put)
		pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->mu);
	return item;
}

struct pq_job {
	struct pq q;
	long n;
	int bad;
};

static void *pq_consumer(void *arg)
{
	struct pq_job *j = arg;

	for (long i = 0; i < j->n; i++)
		if (pq_get(&j->q) != (void *)(intptr_t)(i + 1))
			j->bad = 1;
	return NULL;
}

static void queue_pthread(long n, struct sample *s)
{
	struct pq_job *j = xmalloc(sizeof(*j));
	struct clocks c0, c1;
	pthread_t th;

	pq_init(&j->q);
	j->n = n;
	clocks_now(&c0);
	th = start_thread(pq_consumer, j);
	for (long i = 0; i < n; i++)
		pq_put(&j->q, (void *)(intptr_t)(i + 1));
	pthread_join(th, NULL);
	clocks_now(&c1);
	if (j->bad)
		die("pthread queue: items out of order", EIO);
	pq_destroy(&j->q);
	free(j);
	sample_from(s, &c0, &c1, n);
}

/* ---- sync.lock -------------------------------------------------------------------------- */

struct lock_job {
	struct job *job;
	weft_lock *lock;
};

/* Acquire, yield while holding, release: the other fiber is queued on the lock by then, so
 * every release hands the lock over, and this fiber's next acquire parks until it comes back. */
static int lock_fiber(void *arg)
{
	struct lock_job *lj = arg;
	int r;

	for (long i = 0; i < lj->job->n; i++) {
		if ((r = weft_lock_acquire(lj->lock)))
			return r;
		if ((r = weft_yield())) {
			weft_lock_release(lj->lock);
			return r;
		}
		if ((r = weft_lock_release(lj->lock)))
			return r;
	}
	return 0;
}

static int lock_main(void *arg)
{
	struct job *job = arg;
	struct lock_job lj = {.job = job};
	struct weft_task *a, *b;
	struct clocks c0, c1;
	int sa, sb, r;

	if ((r = weft_lock_new(NULL, &lj.lock)))
		return job->err = r;
	clocks_now(&c0);
	if ((r = weft_task_spawn(&a, lock_fiber, &lj, NULL)) ||
	    (r = weft_task_spawn(&b, lock_fiber, &lj, NULL)))
		return job->err = r;
	if ((r = weft_task_join(a, &sa)) || (r = weft_task_join(b, &sb)))
		return job->err = r;
	clocks_now(&c1);
	weft_lock_free(lj.lock);
	if (sa || sb)
		return job->err = sa ? sa : sb;
	sample_from(&job->s, &c0, &c1, 2 * job->n);
	return 0;
}

static void lock_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(lock_main, &job);
	*s = job.s;
}

/* ---- sync.queue ------------------------------------------------------------------------- */

struct queue_job {
	struct job *job;
	weft_queue *q;
	int bad;
};

static int queue_producer(void *arg)
{
	struct queue_job *qj = arg;
	int r;

	for (long i = 0; i < qj->job->n; i++)
		if ((r = weft_queue_put(qj->q, (void *)(intptr_t)(i + 1))))
			return r;
	return 0;
}

static int queue_consumer(void *arg)
{
	struct queue_job *qj = arg;
	void *item;
	int r;

	for (long i = 0; i < qj->job->n; i++) {
		if ((r = weft_queue_get(qj->q, &item)))
			return r;
		if (item != (void *)(intptr_t)(i + 1))
			qj->bad = 1;
	}
	return 0;
}

static int queue_main(void *arg)
{
	struct job *job = arg;
	struct queue_job qj = {.job = job};
	struct weft_task *p, *c;
	struct clocks c0, c1;
	int sp, sc, r;

	if ((r = weft_queue_new(NULL, &qj.q, WEFT_QUEUE_FIFO, QCAP, NULL, NULL)))
		return job->err = r;
	clocks_now(&c0);
	if ((r = weft_task_spawn(&c, queue_consumer, &qj, NULL)) ||
	    (r = weft_task_spawn(&p, queue_producer, &qj, NULL)))
		return job->err = r;
	if ((r = weft_task_join(p, &sp)) || (r = weft_task_join(c, &sc)))
		return job->err = r;
	clocks_now(&c1);
	weft_queue_free(qj.q);
	if (sp || sc)
		return job->err = sp ? sp : sc;
	if (qj.bad)
		return job->err = -EIO;
	sample_from(&job->s, &c0, &c1, job->n);
	return 0;
}

static void queue_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(queue_main, &job);
	*s = job.s;
}

/* ---- sync.channel ----------------------------------------------------------------------- */

#if HAVE_CHANNEL
/* One loop per thread: the thread makes its loop, spawns the fiber, and waits at the start
 * barrier; the main thread reads the clocks between the start and end barriers, so loop set-up
 * and teardown stay out of the figure. */
struct loop_side {
	pthread_t th;
	weft_task_fn fn;
	void *arg;
	pthread_barrier_t *start, *end;
	int err;
};

static void *loop_side_thread(void *arg)
{
	struct loop_side *side = arg;
	weft_loop *loop = NULL;
	weft_task *t = NULL;
	int r, st = 0;

	r = weft_loop_new(&loop, &loop_opts);
	if (!r)
		r = weft_loop_spawn(loop, &t, side->fn, side->arg, NULL);
	pthread_barrier_wait(side->start);
	if (!r)
		r = weft_loop_run_until(loop, t, &st);
	pthread_barrier_wait(side->end);
	if (loop)
		weft_loop_close(loop);
	side->err = r ? r : st;
	return NULL;
}

struct chan_job {
	weft_chan *ch;
	long n;
	int bad;
};

static int chan_sender(void *arg)
{
	struct chan_job *cj = arg;
	int r;

	for (long i = 0; i < cj->n; i++)
		if ((r = weft_chan_send(cj->ch, (void *)(intptr_t)(i + 1))))
			return r;
	return 0;
}

static int chan_receiver(void *arg)
{
	struct chan_job *cj = arg;
	void *item;
	int r;

	for (long i = 0; i < cj->n; i++) {
		if ((r = weft_chan_recv(cj->ch, &item)))
			return r;
		if (item != (void *)(intptr_t)(i + 1))
			cj->bad = 1;
	}
	return 0;
}

static void channel_weft(long n, struct sample *s)
{
	struct chan_job cj = {.n = n};
	pthread_barrier_t start, end;
	struct loop_side a = {.fn = chan_sender, .arg = &cj, .start = &start, .end = &end};
	struct loop_side b = {.fn = chan_receiver, .arg = &cj, .start = &start, .end = &end};
	struct clocks c0, c1;

	check("weft_chan_new", weft_chan_new(&cj.ch, QCAP));
	pthread_barrier_init(&start, NULL, 3);
	pthread_barrier_init(&end, NULL, 3);
	a.th = start_thread(loop_side_thread, &a);
	b.th = start_thread(loop_side_thread, &b);
	pthread_barrier_wait(&start);
	clocks_now(&c0);
	pthread_barrier_wait(&end);
	clocks_now(&c1);
	pthread_join(a.th, NULL);
	pthread_join(b.th, NULL);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&end);
	check("channel sender", a.err);
	check("channel receiver", b.err);
	if (cj.bad)
		die("channel: items out of order", EIO);
	check("weft_chan_free", weft_chan_free(cj.ch));
	sample_from(s, &c0, &c1, n);
}
#endif

/* ---- sync.to_thread --------------------------------------------------------------------- */

/* The baseline round trip: see the header comment. */
struct rt {
	pthread_mutex_t mu;
	pthread_cond_t req_cv, rsp_cv;
	bool req, rsp, stop;
	long served;
};

static void *rt_worker(void *arg)
{
	struct rt *rt = arg;

	pthread_mutex_lock(&rt->mu);
	for (;;) {
		while (!rt->req && !rt->stop)
			pthread_cond_wait(&rt->req_cv, &rt->mu);
		if (rt->stop)
			break;
		rt->req = false;
		rt->served++;
		rt->rsp = true;
		pthread_cond_signal(&rt->rsp_cv);
	}
	pthread_mutex_unlock(&rt->mu);
	return NULL;
}

static __attribute__((unused)) void roundtrip_pthread(long n, struct sample *s)
{
	struct rt *rt = xmalloc(sizeof(*rt));
	struct clocks c0, c1;
	pthread_t th;

	pthread_mutex_init(&rt->mu, NULL);
	pthread_cond_init(&rt->req_cv, NULL);
	pthread_cond_init(&rt->rsp_cv, NULL);
	/* The worker exists before the clock starts, like the pool's threads. */
	th = start_thread(rt_worker, rt);
	clocks_now(&c0);
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&rt->mu);
		rt->req = true;
		pthread_cond_signal(&rt->req_cv);
		while (!rt->rsp)
			pthread_cond_wait(&rt->rsp_cv, &rt->mu);
		rt->rsp = false;
		pthread_mutex_unlock(&rt->mu);
	}
	clocks_now(&c1);
	pthread_mutex_lock(&rt->mu);
	rt->stop = true;
	pthread_cond_signal(&rt->req_cv);
	pthread_mutex_unlock(&rt->mu);
	pthread_join(th, NULL);
	if (rt->served != n)
		die("pthread round trip: lost requests", EIO);
	pthread_cond_destroy(&rt->rsp_cv);
	pthread_cond_destroy(&rt->req_cv);
	pthread_mutex_destroy(&rt->mu);
	free(rt);
	sample_from(s, &c0, &c1, n);
}

#if HAVE_EXECUTOR
static int empty_job(void *arg)
{
	return 1;
}

/* Sequential round trips on the default pool; the warm-up pair has started its worker. */
static int to_thread_main(void *arg)
{
	struct job *job = arg;
	struct clocks c0, c1;
	int r, res;

	clocks_now(&c0);
	for (long i = 0; i < job->n; i++) {
		res = 0;
		if ((r = weft_executor_default_run(empty_job, NULL, &res)))
			return job->err = r;
		if (res != 1)
			return job->err = -EIO;
	}
	clocks_now(&c1);
	sample_from(&job->s, &c0, &c1, job->n);
	return 0;
}

static void to_thread_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(to_thread_main, &job);
	*s = job.s;
}
#endif

/* ---- main ------------------------------------------------------------------------------- */

static const struct bench benches[] = {
    {"sync.lock", "handoff", "pthread_turns", false, 2000000, 20000, lock_weft, lock_pthread, 10},
    {"sync.queue", "item", "pthread_queue", true, 5000000, 500000, queue_weft, queue_pthread, 10},
#if HAVE_CHANNEL
    {"sync.channel", "msg", "pthread_queue", true, 1000000, 500000, channel_weft, queue_pthread,
     1.0},
#endif
#if HAVE_EXECUTOR
    {"sync.to_thread", "trip", "pthread_cond_rt", false, 10000, 10000, to_thread_weft,
     roundtrip_pthread, 0.5},
#endif
};

static const char *const all_names[] = {"sync.lock", "sync.queue", "sync.channel",
					"sync.to_thread"};

/* A filter naming a benchmark exactly selects that one; otherwise any name containing it. */
static bool selected(const char *name)
{
	return bench_selected(name, all_names, sizeof(all_names) / sizeof(all_names[0]));
}

int main(int argc, char **argv)
{
	bench_parse_args(argc, argv);

	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		if (selected(benches[i].name))
			run_bench(&benches[i]);
	if (!HAVE_CHANNEL && selected("sync.channel"))
		printf("%-16s skipped: <weft/channel.h> is not there yet\n", "sync.channel");
	if (!HAVE_EXECUTOR && selected("sync.to_thread"))
		printf("%-16s skipped: <weft/executor.h> is not there yet\n", "sync.to_thread");
	return failures ? 1 : 0;
}

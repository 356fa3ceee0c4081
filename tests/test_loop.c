/* SPDX-License-Identifier: MIT */
/*
 * Loop life cycle: creation and options, ring fallbacks, run / run_forever / stop from every
 * kind of caller, thread binding, close and leftovers, weft_run, weft_loop_call_soon, dumps, debug.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "engine/loop.h" /* white-box: the loop's default stack size */
#include "engine/op.h"	 /* a real read through the ring, to prove each ring mode completes I/O */
#include "check_main.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Valgrind 3.19 holds its big lock while a thread sits in io_uring_enter, so no other thread of
 * the process runs until the loop wakes by itself: cross-thread wake-ups can't be tested there. */
static bool under_valgrind(void)
{
	return getenv("WEFT_VALGRIND") != NULL;
}

static int64_t ms_since(int64_t t0)
{
	return (weft_now() - t0) / WEFT_MSEC;
}

static weft_loop *new_loop(const struct weft_loop_opts *o)
{
	weft_loop *l = NULL;

	ck_assert_int_eq(weft_loop_new(&l, o), 0);
	ck_assert_ptr_nonnull(l);
	return l;
}

/* A pipe read through the op layer: the fiber parks until the kernel completes it. */
static int ring_read(int fd, void *buf, unsigned len)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_read(sqe, fd, buf, len, 0);
	return weft__op_wait(&op, sqe);
}

/* Capture everything written to fd 2 between begin and end (the test runs in its own fork). */
struct capture {
	FILE *file;
	int saved;
	char text[16384];
};

static void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	ck_assert_ptr_nonnull(c->file);
	c->saved = dup(STDERR_FILENO);
	ck_assert_int_ge(c->saved, 0);
	ck_assert_int_ge(dup2(fileno(c->file), STDERR_FILENO), 0);
}

static const char *capture_end(struct capture *c)
{
	size_t n;

	fflush(stderr);
	ck_assert_int_ge(dup2(c->saved, STDERR_FILENO), 0);
	close(c->saved);
	rewind(c->file);
	n = fread(c->text, 1, sizeof(c->text) - 1, c->file);
	c->text[n] = 0;
	fclose(c->file);
	return c->text;
}

/* ---- a small workload every ring mode must run ---------------------------------------------- */

struct work {
	int pipefd[2];
	int children_done;
	int read_res;
	char buf[16];
	int timer_fired;
};

static int work_child(void *arg)
{
	struct work *w = arg;

	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_yield(), 0);
	w->children_done++;
	return 0;
}

static int work_reader(void *arg)
{
	struct work *w = arg;

	w->read_res = ring_read(w->pipefd[0], w->buf, sizeof(w->buf));
	return 0;
}

static int work_writer(void *arg)
{
	struct work *w = arg;

	/* The reader is parked in the kernel by now: its completion has to come back through the
	 * ring while the loop waits, which is what differs between the ring modes. */
	ck_assert_int_eq(weft_sleep(3 * WEFT_MSEC), 0);
	ck_assert_int_eq(write(w->pipefd[1], "hello", 5), 5);
	return 0;
}

static void work_timer(void *arg)
{
	((struct work *)arg)->timer_fired++;
}

struct stopper_arg {
	weft_loop *loop;
	int64_t delay_ns;
};

static void *stop_later(void *p)
{
	struct stopper_arg *a = p;

	usleep((useconds_t)(a->delay_ns / WEFT_USEC));
	weft_loop_stop(a->loop);
	return NULL;
}

static void stop_loop_cb(void *arg)
{
	weft_loop_stop(arg);
}

/* Tasks, I/O, a timer, then a stop from another thread while the loop sleeps in the kernel. */
static void exercise(weft_loop *l)
{
	struct work w = {0};
	weft_timer *tm;
	pthread_t th;
	struct stopper_arg sa = {l, 20 * WEFT_MSEC};

	ck_assert_int_eq(pipe(w.pipefd), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_loop_spawn(l, NULL, work_child, &w, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, work_reader, &w, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, work_writer, &w, NULL), 0);
	ck_assert_int_eq(weft_timer_new(l, &tm, work_timer, &w), 0);
	ck_assert_int_eq(weft_timer_start(tm, weft_now() + 2 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(w.children_done, 3);
	ck_assert_int_eq(w.read_res, 5);
	ck_assert_mem_eq(w.buf, "hello", 5);
	ck_assert_int_eq(w.timer_fired, 1);
	weft_timer_free(tm);

	if (under_valgrind()) {
		ck_assert_int_eq(weft_timer_new(l, &tm, stop_loop_cb, l), 0);
		ck_assert_int_eq(weft_timer_start(tm, weft_now() + 20 * WEFT_MSEC, 0), 0);
		ck_assert_int_eq(weft_loop_run_forever(l), 0);
		weft_timer_free(tm);
	} else {
		ck_assert_int_eq(pthread_create(&th, NULL, stop_later, &sa), 0);
		ck_assert_int_eq(weft_loop_run_forever(l), 0);
		pthread_join(th, NULL);
	}

	close(w.pipefd[0]);
	close(w.pipefd[1]);
	ck_assert_int_eq(weft_loop_close(l), 0);
}

/* ---- creation and options ------------------------------------------------------------------- */

START_TEST(new_null_opts)
{
	weft_loop *l = new_loop(NULL);
	struct weft_loop_opts zero = {0};

	/* Linux 6.1+ has DEFER_TASKRUN: the default takes the best mode. */
	if (weft_test_uring(l, "new_null_opts: ring features")) {
		ck_assert_uint_ne(weft_loop_features(l) & WEFT_FEAT_DEFER_TASKRUN, 0);
		ck_assert_uint_ne(weft_loop_features(l) & WEFT_FEAT_SINGLE_ISSUER, 0);
	}
#ifdef __SANITIZE_ADDRESS__
	ck_assert_uint_eq(l->stack_size, 256 * 1024);
#else
	ck_assert_uint_eq(l->stack_size, 64 * 1024);
#endif
	ck_assert_ptr_null(weft_loop_current());
	exercise(l);

	exercise(new_loop(&zero));
	ck_assert_int_eq(weft_loop_new(NULL, NULL), -EINVAL);
	ck_assert_uint_eq(weft_loop_features(NULL), 0);
}
END_TEST

START_TEST(new_each_option)
{
	static const struct weft_loop_opts opts[] = {
	    {.sq_entries = 64},
	    {.sq_entries = 100}, /* rounded up to a power of two */
	    {.sq_entries = 4, .cq_entries = 8},
	    {.cq_entries = 4096},
	    {.stack_size = 256 * 1024},
	    {.stack_cache = 1},
	    {.debug = WEFT_DEBUG_ENV},
	    {.debug = WEFT_DEBUG_ON, .slow_ns = 10 * WEFT_SEC},
	    {.debug = WEFT_DEBUG_OFF},
	    {.ring_flags = WEFT_RING_NO_DEFER_TASKRUN},
	    {.ring_flags = WEFT_RING_NO_COOP_TASKRUN},
	    {.ring_flags = WEFT_RING_NO_DEFER_TASKRUN | WEFT_RING_NO_COOP_TASKRUN},
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		exercise(new_loop(&opts[i]));
}
END_TEST

START_TEST(new_max_sq_default_cq)
{
	/* 32768 is the documented maximum, and the CQ default (8 x sq) must then be one the kernel
	 * takes: it caps CQs at 65536 entries. */
	static const struct weft_loop_opts opts[] = {
	    {.sq_entries = 32768},
	    {.sq_entries = 16384},
	    {.sq_entries = 32768, .cq_entries = 65536},
	};

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		exercise(new_loop(&opts[i]));
}
END_TEST

START_TEST(new_stack_size_rounding)
{
	struct weft_loop_opts o = {.stack_size = 1000};
	weft_loop *l = new_loop(&o);

	ck_assert_uint_eq(l->stack_size, 16 * 1024); /* at least 16 KiB */
	ck_assert_int_eq(weft_loop_close(l), 0);
	o.stack_size = 100 * 1024 + 1;
	l = new_loop(&o);
	ck_assert_uint_eq(l->stack_size % (size_t)sysconf(_SC_PAGESIZE), 0);
	ck_assert_uint_ge(l->stack_size, 100 * 1024 + 1);
	exercise(l);
}
END_TEST

START_TEST(new_bad_options)
{
	weft_loop *l = (weft_loop *)0x1;
	struct weft_loop_opts o;

	o = (struct weft_loop_opts){.stack_size = (size_t)1 << 40};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.stack_size = SIZE_MAX};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.debug = (enum weft_debug)3};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.debug = (enum weft_debug) - 1};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.ring_flags = 1u << 2};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.ring_flags = 0x80000000u | WEFT_RING_NO_DEFER_TASKRUN};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.sq_entries = 32769};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.sq_entries = 256, .cq_entries = 128};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.sq_entries = 64, .cq_entries = 63};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.sq_entries = 64, .cq_entries = 1u << 20};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	o = (struct weft_loop_opts){.slow_ns = -1};
	ck_assert_int_eq(weft_loop_new(&l, &o), -EINVAL);
	/* Nothing was handed out on failure. */
	ck_assert_ptr_eq(l, (weft_loop *)0x1);
}
END_TEST

/* ---- ring fallbacks ------------------------------------------------------------------------- */

static unsigned features_with(unsigned ring_flags)
{
	struct weft_loop_opts o = {.ring_flags = ring_flags};
	weft_loop *l = new_loop(&o);
	unsigned f = weft_loop_features(l);

	exercise(l);
	return f;
}

START_TEST(fallback_modes)
{
	const unsigned defer = WEFT_FEAT_SINGLE_ISSUER | WEFT_FEAT_DEFER_TASKRUN;
	unsigned best = features_with(0);
	unsigned no_defer = features_with(WEFT_RING_NO_DEFER_TASKRUN);
	unsigned none = features_with(WEFT_RING_NO_DEFER_TASKRUN | WEFT_RING_NO_COOP_TASKRUN);
	unsigned no_coop = features_with(WEFT_RING_NO_COOP_TASKRUN);

	weft_loop *l = new_loop(NULL);
	bool uring = weft_test_uring(l, "fallback_modes");

	ck_assert_int_eq(weft_loop_close(l), 0);
	if (!uring)
		return;
	ck_assert_uint_eq(best & defer, defer);
	ck_assert_uint_eq(best & WEFT_FEAT_COOP_TASKRUN, 0);

	ck_assert_uint_eq(no_defer & defer, 0);
	ck_assert_uint_ne(no_defer & WEFT_FEAT_COOP_TASKRUN, 0);

	ck_assert_uint_eq(none & (defer | WEFT_FEAT_COOP_TASKRUN), 0);

	/* COOP is only the fallback: forbidding it leaves the best mode alone. */
	ck_assert_uint_eq(no_coop & defer, defer);

	/* Features that do not depend on the mode stay. */
	ck_assert_uint_eq(none & WEFT_FEAT_EXT_ARG, best & WEFT_FEAT_EXT_ARG);
}
END_TEST

/* ---- run ------------------------------------------------------------------------------------ */

static int count_and_sleep(void *arg)
{
	ck_assert_int_eq(weft_sleep(2 * WEFT_MSEC), 0);
	(*(int *)arg)++;
	return 0;
}

START_TEST(run_returns_when_tasks_finish)
{
	weft_loop *l = new_loop(NULL);
	int n = 0;
	weft_task *t;
	int st = -1;

	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(weft_loop_spawn(l, NULL, count_and_sleep, &n, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, &t, count_and_sleep, &n, NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(n, 6);
	ck_assert(weft_task_done(t));
	ck_assert_int_eq(weft_task_status(t, &st), 0);
	ck_assert_int_eq(st, 0);
	/* A second run with nothing left returns too. */
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(weft_loop_close(l), 0); /* t was done: not a leftover */
}
END_TEST

START_TEST(run_with_nothing_returns_at_once)
{
	weft_loop *l = new_loop(NULL);
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_lt(ms_since(t0), 30000);
	ck_assert_int_eq(weft_loop_close(l), 0);
	ck_assert_int_eq(weft_loop_run(NULL), -EINVAL);
	ck_assert_int_eq(weft_loop_run_forever(NULL), -EINVAL);
}
END_TEST

/* ---- stop ----------------------------------------------------------------------------------- */

static int stop_from_fiber(void *arg)
{
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	weft_loop_stop(weft_loop_current());
	*(int *)arg = 1;
	return 0;
}

static int sleep_long(void *arg)
{
	int r = weft_sleep(60 * WEFT_SEC);

	if (arg)
		*(int *)arg = r;
	return r;
}

START_TEST(stop_from_a_fiber)
{
	weft_loop *l = new_loop(NULL);
	int stopped = 0, slept = 1;
	int64_t t0;

	ck_assert_int_eq(weft_loop_spawn(l, NULL, stop_from_fiber, &stopped, NULL), 0);
	ck_assert_int_eq(weft_loop_run_forever(l), 0);
	ck_assert_int_eq(stopped, 1);

	/* weft_loop_run says "stopped" with 1, and leaves the sleeper parked. */
	t0 = weft_now();
	ck_assert_int_eq(weft_loop_spawn(l, NULL, sleep_long, &slept, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, stop_from_fiber, &stopped, NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 1);
	ck_assert_int_lt(ms_since(t0), 30000);
	ck_assert_int_eq(slept, 1); /* untouched: still asleep */
	ck_assert_int_eq(weft_loop_close(l), 1);
	ck_assert_int_eq(slept, -ECANCELED);
}
END_TEST

static void stop_cb(void *arg)
{
	int *fired = ((void **)arg)[1];

	(*fired)++;
	weft_loop_stop(((void **)arg)[0]);
}

START_TEST(stop_from_a_timer)
{
	weft_loop *l = new_loop(NULL);
	weft_timer *tm;
	int fired = 0;
	void *args[2] = {l, &fired};
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_timer_new(l, &tm, stop_cb, args), 0);
	ck_assert_int_eq(weft_timer_start(tm, weft_now() + 5 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_loop_run_forever(l), 0);
	ck_assert_int_eq(fired, 1);
	ck_assert_int_ge(weft_now() - t0, 5 * WEFT_MSEC);

	/* A repeating timer keeps weft_loop_run going: the stop ends it with 1. */
	ck_assert_int_eq(weft_timer_start(tm, weft_now() + WEFT_MSEC, WEFT_MSEC), 0);
	ck_assert_int_eq(weft_loop_run(l), 1);
	ck_assert_int_eq(fired, 2);
	ck_assert(weft_timer_active(tm));
	weft_timer_free(tm);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

START_TEST(stop_from_another_thread)
{
	weft_loop *l;
	struct stopper_arg sa;
	pthread_t th;
	int slept = 1;
	int64_t t0 = weft_now();

	if (under_valgrind())
		return; /* see under_valgrind(); before anything is allocated */
	l = new_loop(NULL);
	sa = (struct stopper_arg){l, 50 * WEFT_MSEC};
	/* Nothing to do at all: the loop sleeps in io_uring_enter with no timeout. */
	ck_assert_int_eq(pthread_create(&th, NULL, stop_later, &sa), 0);
	ck_assert_int_eq(weft_loop_run_forever(l), 0);
	pthread_join(th, NULL);
	ck_assert_int_ge(weft_now() - t0, 50 * WEFT_MSEC);

	/* A task sleeping for a minute: the loop waits in the kernel with that timeout. */
	ck_assert_int_eq(weft_loop_spawn(l, NULL, sleep_long, &slept, NULL), 0);
	t0 = weft_now();
	ck_assert_int_eq(pthread_create(&th, NULL, stop_later, &sa), 0);
	ck_assert_int_eq(weft_loop_run(l), 1);
	pthread_join(th, NULL);
	ck_assert_int_lt(ms_since(t0), 30000);
	ck_assert_int_eq(slept, 1);
	ck_assert_int_eq(weft_loop_close(l), 1);
	ck_assert_int_eq(slept, -ECANCELED);
}
END_TEST

static weft_loop *sig_loop;
static volatile sig_atomic_t sig_count;

static void on_usr1(int sig)
{
	sig_count++;
	weft_loop_stop(sig_loop);
}

struct signaller {
	pthread_t target;
	bool direct; /* signal the loop's thread itself, not the signalling thread */
};

static void *send_usr1(void *p)
{
	struct signaller *s = p;

	usleep(50 * 1000);
	if (s->direct)
		pthread_kill(s->target, SIGUSR1);
	else
		raise(SIGUSR1); /* the handler runs on this thread */
	return NULL;
}

static void raise_usr1(void *arg)
{
	raise(SIGUSR1);
}

START_TEST(stop_from_a_signal_handler)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	struct signaller s = {.target = pthread_self()};
	pthread_t th;
	weft_timer *tm;

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	sig_loop = new_loop(NULL);

	if (under_valgrind()) {
		/* No other thread runs (see under_valgrind()): raise it on the loop's thread. */
		ck_assert_int_eq(weft_timer_new(sig_loop, &tm, raise_usr1, NULL), 0);
		ck_assert_int_eq(weft_timer_start(tm, weft_now() + 5 * WEFT_MSEC, 0), 0);
		ck_assert_int_eq(weft_loop_run_forever(sig_loop), 0);
		ck_assert_int_eq(sig_count, 1);
		weft_timer_free(tm);
		ck_assert_int_eq(weft_loop_close(sig_loop), 0);
		return;
	}

	ck_assert_int_eq(pthread_create(&th, NULL, send_usr1, &s), 0);
	ck_assert_int_eq(weft_loop_run_forever(sig_loop), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(sig_count, 1);

	s.direct = true; /* interrupts the loop's io_uring_enter with EINTR */
	ck_assert_int_eq(pthread_create(&th, NULL, send_usr1, &s), 0);
	ck_assert_int_eq(weft_loop_run_forever(sig_loop), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(sig_count, 2);

	ck_assert_int_eq(weft_loop_close(sig_loop), 0);
}
END_TEST

static int note_ran(void *arg)
{
	(*(int *)arg)++;
	return 0;
}

START_TEST(stop_before_run)
{
	weft_loop *l = new_loop(NULL);
	int ran = 0;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_loop_spawn(l, NULL, note_ran, &ran, NULL), 0);
	weft_loop_stop(l);
	ck_assert_int_eq(weft_loop_run(l), 1);
	ck_assert_int_eq(ran, 0);
	/* The stop is used up: the next run does the work. */
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(ran, 1);

	weft_loop_stop(l);
	ck_assert_int_eq(weft_loop_run_forever(l), 0);
	ck_assert_int_lt(ms_since(t0), 30000);
	weft_loop_stop(NULL); /* harmless */
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

/* ---- threads and nesting -------------------------------------------------------------------- */

struct xrun {
	weft_loop *loop;
	int run, forever, run_until, cur_null;
};

static void *run_elsewhere(void *p)
{
	struct xrun *x = p;

	x->cur_null = weft_loop_current() == NULL;
	x->run = weft_loop_run(x->loop);
	x->forever = weft_loop_run_forever(x->loop);
	return NULL;
}

START_TEST(run_from_second_thread_exdev)
{
	struct xrun x = {.loop = new_loop(NULL)};
	pthread_t th;
	int ran = 0;

	ck_assert_int_eq(weft_loop_spawn(x.loop, NULL, note_ran, &ran, NULL), 0);
	ck_assert_int_eq(weft_loop_run(x.loop), 0); /* binds the loop to this thread */
	ck_assert_int_eq(pthread_create(&th, NULL, run_elsewhere, &x), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(x.run, -EXDEV);
	ck_assert_int_eq(x.forever, -EXDEV);
	ck_assert(x.cur_null);
	/* Still fine on its own thread. */
	ck_assert_int_eq(weft_loop_spawn(x.loop, NULL, note_ran, &ran, NULL), 0);
	ck_assert_int_eq(weft_loop_run(x.loop), 0);
	ck_assert_int_eq(ran, 2);
	ck_assert_int_eq(weft_loop_close(x.loop), 0);
}
END_TEST

static void *first_run_elsewhere(void *p)
{
	struct xrun *x = p;

	x->run = weft_loop_run(x->loop);
	x->forever = weft_loop_close(x->loop);
	return NULL;
}

START_TEST(loop_belongs_to_first_runner)
{
	/* Created here, run (and closed) by another thread: only the first run binds it. */
	struct xrun x = {.loop = new_loop(NULL)};
	pthread_t th;
	int ran = 0;

	ck_assert_int_eq(weft_loop_spawn(x.loop, NULL, note_ran, &ran, NULL), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, first_run_elsewhere, &x), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(x.run, 0);
	ck_assert_int_eq(x.forever, 0);
	ck_assert_int_eq(ran, 1);
}
END_TEST

struct nest {
	weft_loop *other;
	int run, forever, other_run, close, other_close, weft_run_r, cb_run, cb_close;
	int timer_close;
};

static int dummy_main(void *arg)
{
	return 0;
}

static void nest_cb(void *arg)
{
	struct nest *n = arg;

	n->cb_run = weft_loop_run(weft_loop_current());
	n->cb_close = weft_loop_close(weft_loop_current());
}

static void nest_timer(void *arg)
{
	struct nest *n = arg;

	n->timer_close = weft_loop_close(weft_loop_current());
}

static int nest_fiber(void *arg)
{
	struct nest *n = arg;
	weft_loop *self = weft_loop_current();
	weft_timer *tm;

	n->run = weft_loop_run(self);
	n->forever = weft_loop_run_forever(self);
	n->other_run = weft_loop_run(n->other);
	n->close = weft_loop_close(self);
	n->other_close = weft_loop_close(n->other);
	n->weft_run_r = weft_run(dummy_main, NULL, NULL);
	ck_assert_int_eq(weft_loop_call_soon(self, nest_cb, n), 0);
	ck_assert_int_eq(weft_timer_new(self, &tm, nest_timer, n), 0);
	ck_assert_int_eq(weft_timer_start(tm, weft_now(), 0), 0);
	ck_assert_int_eq(weft_sleep(2 * WEFT_MSEC), 0);
	weft_timer_free(tm);
	return 0;
}

START_TEST(nested_run_and_close_ebusy)
{
	struct nest n = {.other = new_loop(NULL)};
	weft_loop *l = new_loop(NULL);

	ck_assert_int_eq(weft_loop_spawn(l, NULL, nest_fiber, &n, NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(n.run, -EBUSY);
	ck_assert_int_eq(n.forever, -EBUSY);
	ck_assert_int_eq(n.other_run, -EBUSY);
	ck_assert_int_eq(n.close, -EBUSY);
	ck_assert_int_eq(n.other_close, -EBUSY);
	ck_assert_int_eq(n.weft_run_r, -EBUSY);
	ck_assert_int_eq(n.cb_run, -EBUSY);
	ck_assert_int_eq(n.cb_close, -EBUSY);
	ck_assert_int_eq(n.timer_close, -EBUSY);
	ck_assert_int_eq(weft_loop_close(l), 0);
	ck_assert_int_eq(weft_loop_close(n.other), 0);
	ck_assert_int_eq(weft_loop_close(NULL), -EINVAL);
}
END_TEST

/* ---- close ---------------------------------------------------------------------------------- */

struct leftover {
	int started;
	int sleep_ret, cleanup_ret, after_ret;
	bool finished;
};

static int lingering(void *arg)
{
	struct leftover *lo = arg;
	weft_scope s;

	lo->started = 1;
	lo->sleep_ret = weft_sleep(60 * WEFT_SEC);
	/* Cleanup that must block runs in a shield... */
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	lo->cleanup_ret = weft_sleep(WEFT_MSEC);
	ck_assert_int_eq(weft_scope_exit(&s), 0);
	/* ...and the cancellation is still there afterwards. */
	lo->after_ret = weft_yield();
	lo->finished = true;
	return lo->sleep_ret;
}

static int stop_soon(void *arg)
{
	ck_assert_int_eq(weft_sleep(2 * WEFT_MSEC), 0);
	weft_loop_stop(weft_loop_current());
	return 0;
}

static void check_cancelled_leftover(const struct leftover *lo)
{
	ck_assert_int_eq(lo->started, 1);
	ck_assert_int_eq(lo->sleep_ret, -ECANCELED);
	ck_assert_int_eq(lo->cleanup_ret, 0);
	ck_assert_int_eq(lo->after_ret, -ECANCELED);
	ck_assert(lo->finished);
}

START_TEST(close_cancels_leftovers)
{
	weft_loop *l = new_loop(NULL);
	struct leftover lo[3] = {{0}};
	weft_task *kept;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_loop_spawn(l, NULL, lingering, &lo[0], NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, &kept, lingering, &lo[1], NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, lingering, &lo[2], NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, stop_soon, NULL, NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 1);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(lo[i].sleep_ret, 0); /* still asleep */
	ck_assert_int_eq(weft_task_state(kept), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_loop_close(l), 3);
	for (int i = 0; i < 3; i++)
		check_cancelled_leftover(&lo[i]);
	ck_assert_int_lt(ms_since(t0), 30000);
}
END_TEST

START_TEST(close_never_run_loop)
{
	weft_loop *l = new_loop(NULL);
	int ran = 0;
	weft_task *t;

	ck_assert_int_eq(weft_loop_spawn(l, NULL, note_ran, &ran, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, &t, note_ran, &ran, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, sleep_long, NULL, NULL), 0);
	ck_assert_int_eq(weft_loop_close(l), 3);
	ck_assert_int_eq(ran,
			 2); /* cancelled before they first ran, yet run: they own their args */

	ck_assert_int_eq(weft_loop_close(new_loop(NULL)), 0);
}
END_TEST

START_TEST(close_frees_finished_unjoined)
{
	weft_loop *l = new_loop(NULL);
	int ran = 0;
	weft_task *t[4];

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(weft_loop_spawn(l, &t[i], note_ran, &ran, NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(ran, 4);
	ck_assert_int_eq(weft_loop_close(l), 0); /* done tasks are not leftovers; ASan sees leaks */
}
END_TEST

/* ---- weft_run ------------------------------------------------------------------------------- */

static int return_arg(void *arg)
{
	ck_assert_str_eq(weft_task_name(weft_task_current()), "main");
	return (int)(intptr_t)arg;
}

static int leave_tasks_behind(void *arg)
{
	struct leftover *lo = arg;
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(NULL, lingering, &lo[0], NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t, lingering, &lo[1], NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t, lingering, &lo[2], NULL), 0);
	ck_assert_int_eq(weft_yield(), 0); /* let them park */
	return 7;
}

static int run_inside(void *arg)
{
	ck_assert_int_eq(weft_run(return_arg, NULL, NULL), -EBUSY);
	return 0;
}

START_TEST(weft_run_status_and_leftovers)
{
	struct leftover lo[3] = {{0}};
	struct weft_loop_opts bad = {.debug = (enum weft_debug)9};

	ck_assert_int_eq(weft_run(return_arg, (void *)(intptr_t)42, NULL), 42);
	ck_assert_int_eq(weft_run(return_arg, (void *)(intptr_t)0, NULL), 0);
	ck_assert_int_eq(weft_run(return_arg, (void *)(intptr_t)-ENOENT, NULL), -ENOENT);
	ck_assert_int_eq(weft_run(NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_run(run_inside, NULL, NULL), 0);

	ck_assert_int_eq(weft_run(leave_tasks_behind, lo, NULL), 7);
	for (int i = 0; i < 3; i++)
		check_cancelled_leftover(&lo[i]);

	/* A loop that cannot be made: the error comes back (and is explained on stderr). */
	ck_assert_int_eq(weft_run(return_arg, NULL, &bad), -EINVAL);
	ck_assert_ptr_null(weft_loop_current());
}
END_TEST

/* ---- call_soon ------------------------------------------------------------------------------ */

struct trace {
	char seq[64];
	int n;
	weft_loop *loop;
};

static void rec(struct trace *tr, char c)
{
	ck_assert_int_lt(tr->n, (int)sizeof(tr->seq) - 1);
	tr->seq[tr->n++] = c;
	tr->seq[tr->n] = 0;
}

struct soon_arg {
	struct trace *tr;
	char c;
	char chain;    /* queue another callback that records this */
	bool at_close; /* run by weft_loop_close, outside any run: no current loop */
};

static void soon_cb(void *arg)
{
	struct soon_arg *a = arg;

	if (!a->at_close)
		ck_assert_ptr_eq(weft_loop_current(), a->tr->loop);
	ck_assert_ptr_null(weft_task_current());
	ck_assert_int_eq(weft_sleep(1), -EPERM); /* callback code cannot block */
	rec(a->tr, a->c);
	if (a->chain) {
		a->c = a->chain;
		a->chain = 0;
		ck_assert_int_eq(weft_loop_call_soon(a->tr->loop, soon_cb, a), 0);
	}
}

static int soon_main(void *arg)
{
	struct trace *tr = arg;
	struct soon_arg a[5] = {{tr, '1', 'x', false},
				{tr, '2', 0, false},
				{tr, '3', 0, false},
				{tr, '4', 0, false},
				{tr, '5', 0, false}};

	tr->loop = weft_loop_current();
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(weft_loop_call_soon(tr->loop, soon_cb, &a[i]), 0);
	rec(tr, 'T');
	/* Callbacks run at the start of the next turn, all queued ones in FIFO order; the one a
	 * callback queues waits for the turn after, so this task runs again in between. */
	ck_assert_int_eq(weft_yield(), 0);
	rec(tr, 'T');
	ck_assert_int_eq(weft_yield(), 0);
	rec(tr, 'T');
	ck_assert_int_eq(weft_loop_call_soon(NULL, soon_cb, &a[0]), -EINVAL);
	ck_assert_int_eq(weft_loop_call_soon(tr->loop, NULL, &a[0]), -EINVAL);
	return 0;
}

START_TEST(call_soon_order)
{
	struct trace tr = {0};

	ck_assert_int_eq(weft_run(soon_main, &tr, NULL), 0);
	ck_assert_str_eq(tr.seq, "T12345TxT");
}
END_TEST

START_TEST(call_soon_before_run)
{
	struct trace tr = {0};
	struct soon_arg a[2] = {{&tr, 'a', 'c', false}, {&tr, 'b', 0, false}};

	tr.loop = new_loop(NULL);
	ck_assert_int_eq(weft_loop_call_soon(tr.loop, soon_cb, &a[0]), 0);
	ck_assert_int_eq(weft_loop_call_soon(tr.loop, soon_cb, &a[1]), 0);
	ck_assert_str_eq(tr.seq, "");
	/* Queued callbacks count as work: weft_loop_run runs them, and the chained one too. */
	ck_assert_int_eq(weft_loop_run(tr.loop), 0);
	ck_assert_str_eq(tr.seq, "abc");
	ck_assert_int_eq(weft_loop_close(tr.loop), 0);
}
END_TEST

START_TEST(call_soon_left_at_close)
{
	struct trace tr = {0};
	struct soon_arg a = {&tr, 'z', 0, true};

	/* Never run: close still runs (and frees) what was queued. */
	tr.loop = new_loop(NULL);
	ck_assert_int_eq(weft_loop_call_soon(tr.loop, soon_cb, &a), 0);
	ck_assert_int_eq(weft_loop_close(tr.loop), 0);
	ck_assert_str_eq(tr.seq, "z");
}
END_TEST

/* ---- current -------------------------------------------------------------------------------- */

struct cur {
	weft_loop *loop;
	weft_loop *in_fiber, *in_cb, *in_timer, *in_thread;
};

static void cur_cb(void *arg)
{
	((struct cur *)arg)->in_cb = weft_loop_current();
}

static void cur_timer(void *arg)
{
	((struct cur *)arg)->in_timer = weft_loop_current();
}

static void *cur_thread(void *arg)
{
	((struct cur *)arg)->in_thread = weft_loop_current();
	return NULL;
}

static int cur_fiber(void *arg)
{
	struct cur *c = arg;
	weft_timer *tm;
	pthread_t th;

	c->in_fiber = weft_loop_current();
	ck_assert_int_eq(weft_loop_call_soon(c->in_fiber, cur_cb, c), 0);
	ck_assert_int_eq(weft_timer_new(c->in_fiber, &tm, cur_timer, c), 0);
	ck_assert_int_eq(weft_timer_start(tm, weft_now() + WEFT_MSEC, 0), 0);
	c->in_thread = c->in_fiber;
	ck_assert_int_eq(pthread_create(&th, NULL, cur_thread, c), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(weft_sleep(3 * WEFT_MSEC), 0);
	weft_timer_free(tm);
	return 0;
}

START_TEST(loop_current)
{
	struct cur c = {.loop = new_loop(NULL)};

	ck_assert_ptr_null(weft_loop_current());
	ck_assert_int_eq(weft_loop_spawn(c.loop, NULL, cur_fiber, &c, NULL), 0);
	ck_assert_ptr_null(weft_loop_current()); /* spawning does not make it current */
	ck_assert_int_eq(weft_loop_run(c.loop), 0);
	ck_assert_ptr_eq(c.in_fiber, c.loop);
	ck_assert_ptr_eq(c.in_cb, c.loop);
	ck_assert_ptr_eq(c.in_timer, c.loop);
	ck_assert_ptr_null(c.in_thread); /* per thread */
	ck_assert_ptr_null(weft_loop_current());
	ck_assert_int_eq(weft_loop_close(c.loop), 0);
}
END_TEST

/* ---- dump ----------------------------------------------------------------------------------- */

static int wait_future(void *arg)
{
	return weft_future_wait(arg, NULL);
}

static int return_three(void *arg)
{
	return 3;
}

/* The line of @text that mentions 'name', or NULL. */
static const char *line_of(const char *text, const char *name, char *line, size_t cap)
{
	char quoted[64];
	const char *p, *start, *end;

	snprintf(quoted, sizeof(quoted), "'%s'", name);
	p = strstr(text, quoted);
	if (!p)
		return NULL;
	for (start = p; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(p, '\n');
	if (!end)
		end = p + strlen(p);
	snprintf(line, cap, "%.*s", (int)(end - start), start);
	return line;
}

static int dump_main(void *arg)
{
	const struct weft_task_opts napper_o = {.name = "napper"};
	weft_task *napper, *waiter, *done;
	weft_future *f;
	char *text = NULL, line[256], waiter_name[32];
	size_t len = 0;
	FILE *out;

	ck_assert_int_eq(weft_future_new(weft_loop_current(), &f), 0);
	ck_assert_int_eq(weft_task_spawn(&napper, sleep_long, NULL, &napper_o), 0);
	ck_assert_int_eq(weft_task_spawn(&waiter, wait_future, f, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&done, return_three, NULL, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(waiter), 0);
	ck_assert_int_eq(weft_task_state(waiter), WEFT_TASK_READY);

	out = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(out);
	weft_loop_dump(weft_loop_current(), out);
	fclose(out);

	ck_assert_ptr_nonnull(line_of(text, "napper", line, sizeof(line)));
	ck_assert_msg(strstr(line, "sleep") && strstr(line, "parked"), "napper: %s", line);
	ck_assert_ptr_nonnull(line_of(text, "main", line, sizeof(line)));
	ck_assert_msg(strstr(line, "running"), "main: %s", line);
	snprintf(waiter_name, sizeof(waiter_name), "task-%llu",
		 (unsigned long long)weft_task_id(waiter));
	ck_assert_ptr_nonnull(line_of(text, waiter_name, line, sizeof(line)));
	ck_assert_msg(strstr(line, "cancel"), "waiter: %s", line);
	snprintf(waiter_name, sizeof(waiter_name), "task-%llu",
		 (unsigned long long)weft_task_id(done));
	ck_assert_ptr_nonnull(line_of(text, waiter_name, line, sizeof(line)));
	ck_assert_msg(strstr(line, "done") && strstr(line, "status=3"), "done task: %s", line);
	free(text);

	weft_loop_dump(NULL, stderr);		   /* ignored */
	weft_loop_dump(weft_loop_current(), NULL); /* ignored */

	ck_assert_int_eq(weft_task_cancel(napper), 0);
	ck_assert_int_eq(weft_task_join(napper, NULL), 0);
	ck_assert_int_eq(weft_task_join(waiter, NULL), 0);
	ck_assert_int_eq(weft_task_join(done, NULL), 0);
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(dump_names_and_waits)
{
	ck_assert_int_eq(weft_run(dump_main, NULL, NULL), 0);
}
END_TEST

/* ---- debug mode ----------------------------------------------------------------------------- */

static int spin(void *arg)
{
	int64_t until = weft_now() + (int64_t)(intptr_t)arg;

	while (weft_now() < until)
		;
	return 0;
}

static const char *run_spinner(struct capture *c, const struct weft_loop_opts *o, int64_t ns)
{
	const struct weft_task_opts to = {.name = "spinner"};
	weft_loop *l = new_loop(o);

	ck_assert_int_eq(weft_loop_spawn(l, NULL, spin, (void *)(intptr_t)ns, &to), 0);
	capture_begin(c);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
	return capture_end(c);
}

START_TEST(debug_slow_task_warning)
{
	struct weft_loop_opts on = {.debug = WEFT_DEBUG_ON};
	struct capture c;
	const char *err;

	unsetenv("WEFT_DEBUG_SLOW_MS");
	unsetenv("WEFT_DEBUG");
	err = run_spinner(&c, &on, 150 * WEFT_MSEC);
	ck_assert_msg(strstr(err, "without yielding") && strstr(err, "spinner"), "stderr: %s", err);
}
END_TEST

START_TEST(debug_modes_and_threshold)
{
	struct weft_loop_opts o;
	struct capture c;
	const char *err;

	unsetenv("WEFT_DEBUG_SLOW_MS");
	/* Off: no warning even with the environment asking for one. */
	setenv("WEFT_DEBUG", "1", 1);
	o = (struct weft_loop_opts){.debug = WEFT_DEBUG_OFF, .slow_ns = 5 * WEFT_MSEC};
	err = run_spinner(&c, &o, 30 * WEFT_MSEC);
	ck_assert_msg(!strstr(err, "without yielding"), "stderr: %s", err);
	/* Env: on with WEFT_DEBUG=1... */
	o = (struct weft_loop_opts){.debug = WEFT_DEBUG_ENV, .slow_ns = 5 * WEFT_MSEC};
	err = run_spinner(&c, &o, 30 * WEFT_MSEC);
	ck_assert_msg(strstr(err, "without yielding"), "stderr: %s", err);
	/* ...off without it. */
	unsetenv("WEFT_DEBUG");
	err = run_spinner(&c, &o, 30 * WEFT_MSEC);
	ck_assert_msg(!strstr(err, "without yielding"), "stderr: %s", err);
	/* On, with a threshold above the spin. */
	o = (struct weft_loop_opts){.debug = WEFT_DEBUG_ON, .slow_ns = 10 * WEFT_SEC};
	err = run_spinner(&c, &o, 30 * WEFT_MSEC);
	ck_assert_msg(!strstr(err, "without yielding"), "stderr: %s", err);
	/* The environment's threshold overrides the option. */
	setenv("WEFT_DEBUG_SLOW_MS", "5", 1);
	err = run_spinner(&c, &o, 30 * WEFT_MSEC);
	ck_assert_msg(strstr(err, "without yielding"), "stderr: %s", err);
	unsetenv("WEFT_DEBUG_SLOW_MS");
}
END_TEST

START_TEST(debug_leftovers_named)
{
	struct weft_loop_opts on = {.debug = WEFT_DEBUG_ON, .slow_ns = 10 * WEFT_SEC};
	const struct weft_task_opts straggler_o = {.name = "straggler"};
	const struct weft_task_opts orphan_o = {.name = "orphan"};
	weft_loop *l = new_loop(&on);
	struct leftover lo = {0};
	weft_task *orphan;
	struct capture c;
	const char *err;
	char line[256];
	int ran = 0;

	ck_assert_int_eq(weft_loop_spawn(l, NULL, lingering, &lo, &straggler_o), 0);
	ck_assert_int_eq(weft_loop_spawn(l, &orphan, note_ran, &ran, &orphan_o), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, stop_soon, NULL, NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 1);
	capture_begin(&c);
	ck_assert_int_eq(weft_loop_close(l), 1);
	err = capture_end(&c);
	check_cancelled_leftover(&lo);
	ck_assert_msg(line_of(err, "straggler", line, sizeof(line)), "stderr: %s", err);
	ck_assert_msg(strstr(line, "cancel"), "straggler: %s", line);
	ck_assert_msg(line_of(err, "orphan", line, sizeof(line)), "stderr: %s", err);
	ck_assert_msg(strstr(line, "never joined"), "orphan: %s", line);
}
END_TEST

START_TEST(no_debug_output_when_off)
{
	struct weft_loop_opts off = {.debug = WEFT_DEBUG_OFF};
	weft_loop *l = new_loop(&off);
	struct leftover lo = {0};
	struct capture c;
	const char *err;

	ck_assert_int_eq(weft_loop_spawn(l, NULL, lingering, &lo, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, stop_soon, NULL, NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 1);
	capture_begin(&c);
	ck_assert_int_eq(weft_loop_close(l), 1);
	err = capture_end(&c);
	ck_assert_str_eq(err, "");
	check_cancelled_leftover(&lo);
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------------- */

/* ---- registered resources ------------------------------------------------------------------ */

static void *buffers_from_thread(void *arg)
{
	struct iovec iov = {arg, 16};

	return (void *)(intptr_t)weft_loop_buffers_register(weft_loop_current(), &iov, 1);
}

static int buffers_main(void *arg)
{
	weft_loop *l = weft_loop_current();
	static char mem[2][4096];
	struct iovec iov[2] = {{mem[0], sizeof(mem[0])}, {mem[1], sizeof(mem[1])}};
	unsigned b = 0, u = 0;

	ck_assert_int_eq(weft_loop_buffers_register(NULL, iov, 2), -EINVAL);
	ck_assert_int_eq(weft_loop_buffers_register(l, NULL, 2), -EINVAL);
	ck_assert_int_eq(weft_loop_buffers_register(l, iov, 0), -EINVAL);
	ck_assert_int_eq(weft_loop_buffers_unregister(l), -EINVAL); /* none yet */
	ck_assert_int_eq(weft_loop_buffers_register(l, iov, 2), 0);
	ck_assert_int_eq(weft_loop_buffers_register(l, iov, 1), -EBUSY);
	ck_assert_int_eq(weft_loop_buffers_unregister(l), 0);
	ck_assert_int_eq(weft_loop_buffers_register(l, iov, 1), 0); /* again after dropping */
	ck_assert_int_eq(weft_loop_max_workers(NULL, &b, &u), -EINVAL);
	ck_assert_int_eq(weft_loop_max_workers(l, NULL, NULL), 0);
	return 0; /* the loop's close drops the set still registered */
}

START_TEST(loop_buffers_and_workers)
{
	ck_assert_int_eq(weft_run(buffers_main, NULL, NULL), 0);
}
END_TEST

/* Not thread-safe: another thread gets -EXDEV, and nothing is registered. */
static int buffers_wrong_thread_main(void *arg)
{
	weft_loop *l = weft_loop_current();
	static char mem[16];
	struct iovec iov = {mem, sizeof(mem)};
	unsigned b = 1, u = 1;
	pthread_t th;
	void *r;

	ck_assert_int_eq(pthread_create(&th, NULL, buffers_from_thread, mem), 0);
	ck_assert_int_eq(pthread_join(th, &r), 0);
	ck_assert_int_eq((int)(intptr_t)r, -EINVAL); /* a plain thread has no current loop */
	ck_assert_int_eq(weft_loop_buffers_register(l, &iov, 1), 0);
	ck_assert_int_eq(weft_loop_max_workers(l, &b, &u), 0);
	return 0;
}

static void *workers_from_thread(void *arg)
{
	unsigned b = 0, u = 0;

	return (void *)(intptr_t)weft_loop_max_workers(arg, &b, &u);
}

START_TEST(loop_resources_wrong_thread)
{
	weft_loop *l = new_loop(NULL);
	pthread_t th;
	void *r;

	ck_assert_int_eq(weft_loop_run_nowait(l), 0); /* bound to this thread from now on */
	ck_assert_int_eq(pthread_create(&th, NULL, workers_from_thread, l), 0);
	ck_assert_int_eq(pthread_join(th, &r), 0);
	ck_assert_int_eq((int)(intptr_t)r, -EXDEV);
	ck_assert_int_eq(weft_loop_close(l), 0);
	ck_assert_int_eq(weft_run(buffers_wrong_thread_main, NULL, NULL), 0);
}
END_TEST

static Suite *loop_suite(void)
{
	Suite *s = suite_create("loop");
	TCase *tc;

	tc = tcase_create("new");
	tcase_add_test(tc, new_null_opts);
	tcase_add_test(tc, new_each_option);
	tcase_add_test(tc, new_max_sq_default_cq);
	tcase_add_test(tc, new_stack_size_rounding);
	tcase_add_test(tc, new_bad_options);
	tcase_add_test(tc, fallback_modes);
	tcase_add_test(tc, loop_buffers_and_workers);
	tcase_add_test(tc, loop_resources_wrong_thread);
	suite_add_tcase(s, tc);

	tc = tcase_create("run");
	tcase_add_test(tc, run_returns_when_tasks_finish);
	tcase_add_test(tc, run_with_nothing_returns_at_once);
	tcase_add_test(tc, run_from_second_thread_exdev);
	tcase_add_test(tc, loop_belongs_to_first_runner);
	tcase_add_test(tc, nested_run_and_close_ebusy);
	tcase_add_test(tc, loop_current);
	suite_add_tcase(s, tc);

	tc = tcase_create("stop");
	tcase_add_test(tc, stop_from_a_fiber);
	tcase_add_test(tc, stop_from_a_timer);
	tcase_add_test(tc, stop_from_another_thread);
	tcase_add_test(tc, stop_from_a_signal_handler);
	tcase_add_test(tc, stop_before_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_add_test(tc, close_cancels_leftovers);
	tcase_add_test(tc, close_never_run_loop);
	tcase_add_test(tc, close_frees_finished_unjoined);
	suite_add_tcase(s, tc);

	tc = tcase_create("weft_run");
	tcase_add_test(tc, weft_run_status_and_leftovers);
	suite_add_tcase(s, tc);

	tc = tcase_create("call_soon");
	tcase_add_test(tc, call_soon_order);
	tcase_add_test(tc, call_soon_before_run);
	tcase_add_test(tc, call_soon_left_at_close);
	suite_add_tcase(s, tc);

	tc = tcase_create("debug");
	tcase_add_test(tc, dump_names_and_waits);
	tcase_add_test(tc, debug_slow_task_warning);
	tcase_add_test(tc, debug_modes_and_threshold);
	tcase_add_test(tc, debug_leftovers_named);
	tcase_add_test(tc, no_debug_output_when_off);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(loop_suite)

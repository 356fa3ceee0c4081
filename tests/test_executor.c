/* SPDX-License-Identifier: MIT */
/*
 * The thread pool (weft/executor.h): results, concurrency, fibers of several loops sharing a
 * pool, the loop running on while a job blocks, cancellation and deadlines of queued and running
 * jobs, shutdown (WAIT / CANCEL_PENDING), misuse errors, plain-thread callers and the default
 * pool behind weft_executor_default_run.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weft.h>
#include <weft/executor.h>
#include "check_main.h"
#include "fork_child.h"

/* ---- jobs and helpers ------------------------------------------------------------------- */

static int square(void *arg)
{
	intptr_t x = (intptr_t)arg;

	return (int)(x * x);
}

static int negative(void *arg)
{
	return -EIO;
}

/* How many sleep_2ms jobs run at once, and the most that ever did. */
static atomic_int running_now, running_max;

static int sleep_2ms(void *arg)
{
	int now = atomic_fetch_add(&running_now, 1) + 1, max = atomic_load(&running_max);

	while (now > max && !atomic_compare_exchange_weak(&running_max, &max, now))
		;
	usleep(2000);
	atomic_fetch_sub(&running_now, 1);
	return (int)(intptr_t)arg;
}

/* A job that blocks until its gate opens, recording that it started and finished. */
struct gate {
	sem_t open;
	atomic_int started, finished;
	int ret;
};

static void gate_init(struct gate *g, int ret)
{
	ck_assert_int_eq(sem_init(&g->open, 0, 0), 0);
	atomic_init(&g->started, 0);
	atomic_init(&g->finished, 0);
	g->ret = ret;
}

static int gated(void *arg)
{
	struct gate *g = arg;

	atomic_fetch_add(&g->started, 1);
	while (sem_wait(&g->open))
		;
	atomic_fetch_add(&g->finished, 1);
	return g->ret;
}

static int count_run(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
	return 7;
}

/* Let other tasks run until @t is parked. */
static void wait_parked(weft_task *t)
{
	for (int i = 0; i < 100 && weft_task_state(t) != WEFT_TASK_PARKED; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
}

/* Sleep in short steps until @flag is non-zero (a job on a worker has reached a point). */
static void wait_flag(atomic_int *flag)
{
	for (int i = 0; i < 5000 && !atomic_load(flag); i++)
		ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_ne(atomic_load(flag), 0);
}

/* A fiber that runs one job on a pool and records what came back. */
struct runner {
	weft_executor *pool;
	weft_job_fn fn;
	void *arg;
	unsigned flags;
	int result;
	int ret;
	int64_t deadline;		/* 0: none */
	atomic_int *finished_at_return; /* if set: the gate's "finished" when the call returned */
	int finished_seen;
};

static int runner_main(void *arg)
{
	struct runner *r = arg;
	weft_scope s;

	if (r->deadline)
		ck_assert_int_eq(weft_scope_enter(&s, r->deadline, 0), 0);
	r->ret = weft_executor_run_flags(r->pool, r->fn, r->arg, &r->result, r->flags);
	if (r->finished_at_return)
		r->finished_seen = atomic_load(r->finished_at_return);
	if (r->deadline)
		weft_scope_exit(&s);
	return 0;
}

static int run_fiber_test(int (*fn)(void *), void *arg)
{
	return weft_run(fn, arg, NULL);
}

/* ---- misuse ----------------------------------------------------------------------------- */

START_TEST(bad_args)
{
	weft_executor *p;
	int res = 12345;

	ck_assert_int_eq(weft_executor_new(NULL, 2), -EINVAL);
	ck_assert_int_eq(weft_executor_new(&p, WEFT_EXECUTOR_MAX_THREADS + 1), -EINVAL);
	ck_assert_int_eq(weft_executor_new(&p, 0), 0);
	ck_assert_uint_ge(weft_executor_size(p), 2);
	ck_assert_int_eq(weft_executor_run(NULL, square, NULL, &res), -EINVAL);
	ck_assert_int_eq(weft_executor_run(p, NULL, NULL, &res), -EINVAL);
	ck_assert_int_eq(weft_executor_run_flags(p, square, NULL, &res, 0x80), -EINVAL);
	ck_assert_int_eq(weft_executor_shutdown(NULL, 0), -EINVAL);
	ck_assert_int_eq(weft_executor_shutdown(p, 0x80), -EINVAL);
	ck_assert_int_eq(weft_executor_default_run(NULL, NULL, &res), -EINVAL);
	ck_assert_int_eq(weft_executor_default(NULL), -EINVAL);
	ck_assert_int_eq(weft_executor_default_shutdown(0x80), -EINVAL);
	ck_assert_int_eq(res, 12345);
	ck_assert_uint_eq(weft_executor_size(NULL), 0);
	weft_executor_free(p);
	weft_executor_free(NULL);
}
END_TEST

/* ---- plain threads ---------------------------------------------------------------------- */

static int record_thread(void *arg)
{
	*(pthread_t *)arg = pthread_self();
	return 42;
}

START_TEST(plain_thread_blocks_and_works)
{
	weft_executor *p;
	pthread_t worker;
	int res = 0;

	ck_assert_int_eq(weft_executor_new(&p, 2), 0);
	ck_assert_int_eq(weft_executor_run(p, record_thread, &worker, &res), 0);
	ck_assert_int_eq(res, 42);
	ck_assert(!pthread_equal(worker, pthread_self()));
	for (intptr_t i = 0; i < 100; i++) {
		ck_assert_int_eq(weft_executor_run(p, square, (void *)i, &res), 0);
		ck_assert_int_eq(res, i * i);
	}
	ck_assert_int_eq(weft_executor_run(p, square, (void *)3, NULL), 0);
	weft_executor_free(p);
}
END_TEST

struct thread_caller {
	weft_executor *pool;
	int base;
	atomic_int *bad;
};

static void *thread_caller_main(void *arg)
{
	struct thread_caller *tc = arg;

	for (intptr_t i = 0; i < 200; i++) {
		int res = -1;
		if (weft_executor_run(tc->pool, square, (void *)(tc->base + i), &res) ||
		    res != (int)((tc->base + i) * (tc->base + i)))
			atomic_fetch_add(tc->bad, 1);
	}
	return NULL;
}

START_TEST(plain_threads_concurrently)
{
	struct thread_caller tc[4];
	pthread_t th[4];
	atomic_int bad = 0;
	weft_executor *p;

	ck_assert_int_eq(weft_executor_new(&p, 3), 0);
	for (int i = 0; i < 4; i++) {
		tc[i] = (struct thread_caller){p, i * 1000, &bad};
		ck_assert_int_eq(pthread_create(&th[i], NULL, thread_caller_main, &tc[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(atomic_load(&bad), 0);
	weft_executor_free(p);
}
END_TEST

static int try_shutdown(void *arg)
{
	return weft_executor_shutdown(arg, 0);
}

START_TEST(shutdown_from_own_job_is_edeadlk)
{
	weft_executor *p;
	int res = 0;

	ck_assert_int_eq(weft_executor_new(&p, 1), 0);
	ck_assert_int_eq(weft_executor_run(p, try_shutdown, p, &res), 0);
	ck_assert_int_eq(res, -EDEADLK);
	weft_executor_free(p);
}
END_TEST

START_TEST(run_after_shutdown_is_epipe)
{
	weft_executor *p;
	atomic_int ran = 0;
	int res = 12345;

	ck_assert_int_eq(weft_executor_new(&p, 2), 0);
	ck_assert_int_eq(weft_executor_shutdown(p, WEFT_EXECUTOR_WAIT), 0);
	ck_assert_int_eq(weft_executor_run(p, count_run, &ran, &res), -EPIPE);
	ck_assert_int_eq(res, 12345);
	ck_assert_int_eq(weft_executor_shutdown(p, WEFT_EXECUTOR_CANCEL_PENDING),
			 0); /* again: fine */
	ck_assert_int_eq(atomic_load(&ran), 0);
	weft_executor_free(p);
}
END_TEST

START_TEST(to_thread_default_pool_from_thread)
{
	weft_executor *a, *b;
	int res = 0;

	ck_assert_int_eq(weft_executor_default_run(square, (void *)9, &res), 0);
	ck_assert_int_eq(res, 81);
	ck_assert_int_eq(weft_executor_default(&a), 0);
	ck_assert_int_eq(weft_executor_default(&b), 0);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_ge(weft_executor_size(a), 2);
	ck_assert_int_eq(weft_executor_default_shutdown(WEFT_EXECUTOR_WAIT), 0);
	ck_assert_int_eq(weft_executor_default_shutdown(WEFT_EXECUTOR_WAIT), 0); /* none: fine */
	ck_assert_int_eq(weft_executor_default_run(square, (void *)5, &res), 0); /* a fresh pool */
	ck_assert_int_eq(res, 25);
	/* left for the exit handler to free */
}
END_TEST

#ifndef __SANITIZE_THREAD__ /* TSan does not support fork() in a multithreaded process */
START_TEST(default_pool_after_fork)
{
	int res = 0, st = 0;
	pid_t pid;

	ck_assert_int_eq(weft_executor_default_run(square, (void *)4, &res), 0);
	ck_assert_int_eq(res, 16);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* The parent's workers are not here: shutting the default pool down must not hang
		 * joining them, and a fresh one is made. _exit: job records of the parent's threads,
		 * in flight at the fork, would look leaked. */
		if (weft_executor_default_shutdown(WEFT_EXECUTOR_WAIT))
			_exit(2);
		res = 0;
		if (weft_executor_default_run(square, (void *)6, &res) || res != 36)
			_exit(3);
		if (weft_executor_default_shutdown(WEFT_EXECUTOR_WAIT))
			_exit(4);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(weft_executor_default_run(square, (void *)7, &res), 0);
	ck_assert_int_eq(res, 49);
}
END_TEST

static atomic_int exit_jobs_done, exit_long_started;

/* Submits to the default pool until the process ends (the pool may be shut down under it:
 * -EPIPE, -ECANCELED are fine; only touching freed memory is not). */
static void *submit_until_exit(void *arg)
{
	for (;;) {
		int res = 0;

		if (weft_executor_default_run(square, (void *)3, &res) == 0 && res == 9)
			atomic_fetch_add(&exit_jobs_done, 1);
	}
	return NULL;
}

/* Keeps the at-exit shutdown joining for a while, so the other submitter is still at it (and
 * refused with -EPIPE, over and over) when the shutdown ends. Not an ordering: just a window. */
static int long_job(void *arg)
{
	atomic_store(&exit_long_started, 1);
	usleep(20 * 1000);
	return 0;
}

static void *submit_long(void *arg)
{
	weft_executor_default_run(long_job, NULL, NULL);
	return NULL;
}

static weft_executor *exit_pool;

/* Registered before weft's own handler, so it runs after it: the default pool other threads
 * may hold must still be there (shut down, refusing work), not freed and replaced. */
static void after_weft_at_exit(void)
{
	weft_executor *p = NULL;

	if (weft_executor_default(&p) || p != exit_pool)
		_exit(3);
	if (weft_executor_default_run(square, (void *)3, NULL) != -EPIPE)
		_exit(4);
}

/* One thread calls exit() while others submit to the default pool: the at-exit handler must
 * not free the pool under them (before: ASan saw a use after free in the submit). */
static int exit_while_submitting(int unused)
{
	pthread_t th;

	if (atexit(after_weft_at_exit) || weft_executor_default(&exit_pool))
		return 2;
	if (pthread_create(&th, NULL, submit_long, NULL) ||
	    pthread_create(&th, NULL, submit_until_exit, NULL))
		return 2;
	while (!atomic_load(&exit_long_started) || atomic_load(&exit_jobs_done) < 3)
		sched_yield();
	exit(0);
}

START_TEST(exit_while_another_thread_submits)
{
	for (int round = 0; round < 20; round++) {
		char text[512];
		/* A sanitizer's report may lose the race with exit(): read it, not just the status. */
		int st = fork_child(exit_while_submitting, 0, text, sizeof(text));

		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 && !strstr(text, "Sanitizer"),
			      "round %d: the child %s %d; its stderr: %s", round,
			      WIFEXITED(st) ? "exited with" : "died of signal",
			      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), text);
	}
}
END_TEST
#endif

/* ---- fibers ----------------------------------------------------------------------------- */

static int results_main(void *arg)
{
	weft_executor *p;
	int res;

	ck_assert_int_eq(weft_executor_new(&p, 2), 0);
	for (intptr_t i = 0; i < 50; i++) {
		res = -1;
		ck_assert_int_eq(weft_executor_run(p, square, (void *)i, &res), 0);
		ck_assert_int_eq(res, i * i);
	}
	/* a negative return is the job's result, not an error of the call */
	ck_assert_int_eq(weft_executor_run(p, negative, NULL, &res), 0);
	ck_assert_int_eq(res, -EIO);
	weft_executor_free(p);
	return 0;
}

START_TEST(fiber_results_come_back)
{
	ck_assert_int_eq(run_fiber_test(results_main, NULL), 0);
}
END_TEST

#define NJOBS 200

struct many {
	weft_executor *pool;
	struct runner r[NJOBS];
};

static int many_main(void *arg)
{
	struct many *m = arg;
	weft_task *t[NJOBS];

	for (int i = 0; i < NJOBS; i++) {
		m->r[i] =
		    (struct runner){.pool = m->pool, .fn = sleep_2ms, .arg = (void *)(intptr_t)i};
		ck_assert_int_eq(weft_task_spawn(&t[i], runner_main, &m->r[i], NULL), 0);
	}
	atomic_store(&running_max, 0);
	ck_assert_int_eq(weft_tasks_gather(t, NJOBS, NULL, 0), 0);
	for (int i = 0; i < NJOBS; i++) {
		ck_assert_int_eq(m->r[i].ret, 0);
		ck_assert_int_eq(m->r[i].result, i);
	}
	/* The jobs ran side by side on the pool's threads, not one after another (no timing
	 * assertion: the machines are shared and noisy). */
	ck_assert_int_ge(atomic_load(&running_max), 2);
	return 0;
}

START_TEST(many_fibers_run_concurrently)
{
	static struct many m;

	ck_assert_int_eq(weft_executor_new(&m.pool, 4), 0);
	ck_assert_int_eq(run_fiber_test(many_main, &m), 0);
	weft_executor_free(m.pool);
}
END_TEST

/* Two loops on two threads, each with 50 fibers, sharing one pool. */
struct loop_thread {
	weft_executor *pool;
	int base;
	int status;
};

struct sq_fiber {
	weft_executor *pool;
	intptr_t x;
	int ok;
};

static int sq_fiber_main(void *arg)
{
	struct sq_fiber *f = arg;
	int res = -1;

	for (int i = 0; i < 20; i++) {
		if (weft_executor_run(f->pool, square, (void *)(f->x + i), &res) ||
		    res != (int)((f->x + i) * (f->x + i)))
			return -EIO;
	}
	f->ok = 1;
	return 0;
}

static int loop_thread_fiber(void *arg)
{
	struct loop_thread *lt = arg;
	struct sq_fiber f[50];
	weft_task *t[50];
	int st[50];

	for (int i = 0; i < 50; i++) {
		f[i] = (struct sq_fiber){lt->pool, lt->base + i * 20, 0};
		if (weft_task_spawn(&t[i], sq_fiber_main, &f[i], NULL))
			return -ENOMEM;
	}
	if (weft_tasks_gather(t, 50, st, 0))
		return -EIO;
	for (int i = 0; i < 50; i++)
		if (st[i] || !f[i].ok)
			return -EIO;
	return 0;
}

static void *loop_thread_main(void *arg)
{
	struct loop_thread *lt = arg;

	lt->status = weft_run(loop_thread_fiber, lt, NULL);
	return NULL;
}

START_TEST(fibers_of_two_loops_share_a_pool)
{
	struct loop_thread lt[2];
	pthread_t th[2];
	weft_executor *p;

	ck_assert_int_eq(weft_executor_new(&p, 3), 0);
	for (int i = 0; i < 2; i++) {
		lt[i] = (struct loop_thread){p, i * 5000, 1};
		ck_assert_int_eq(pthread_create(&th[i], NULL, loop_thread_main, &lt[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(lt[i].status, 0);
	}
	weft_executor_free(p);
}
END_TEST

/* The job blocks until a ticker task on the caller's loop has ticked 10 times. */
struct ticking {
	sem_t ticked;
	int ticks;
};

static int wait_ticks(void *arg)
{
	struct ticking *tk = arg;

	while (sem_wait(&tk->ticked))
		;
	return 99;
}

static int ticker(void *arg)
{
	struct ticking *tk = arg;

	for (tk->ticks = 0; tk->ticks < 10; tk->ticks++)
		ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	sem_post(&tk->ticked);
	return 0;
}

static int loop_runs_main(void *arg)
{
	struct ticking tk;
	weft_task *t;
	weft_executor *p;
	int res = 0;

	ck_assert_int_eq(sem_init(&tk.ticked, 0, 0), 0);
	ck_assert_int_eq(weft_executor_new(&p, 1), 0);
	ck_assert_int_eq(weft_task_spawn(&t, ticker, &tk, NULL), 0);
	ck_assert_int_eq(weft_executor_run(p, wait_ticks, &tk, &res), 0);
	ck_assert_int_eq(res, 99);
	ck_assert_int_eq(tk.ticks, 10);
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	weft_executor_free(p);
	sem_destroy(&tk.ticked);
	return 0;
}

START_TEST(loop_keeps_running_while_a_job_blocks)
{
	ck_assert_int_eq(run_fiber_test(loop_runs_main, NULL), 0);
}
END_TEST

/* One worker busy behind a gate; a second job waits in the queue and its fiber is cancelled. */
static int cancel_queued_main(void *arg)
{
	struct gate g;
	struct runner busy, queued;
	weft_task *tb, *tq;
	atomic_int ran = 0;
	weft_executor *p;
	int st = 0;

	gate_init(&g, 5);
	ck_assert_int_eq(weft_executor_new(&p, 1), 0);
	busy = (struct runner){.pool = p, .fn = gated, .arg = &g};
	queued = (struct runner){.pool = p, .fn = count_run, .arg = &ran, .result = 12345};
	ck_assert_int_eq(weft_task_spawn(&tb, runner_main, &busy, NULL), 0);
	wait_flag(&g.started);
	ck_assert_int_eq(weft_task_spawn(&tq, runner_main, &queued, NULL), 0);
	wait_parked(tq);
	ck_assert_int_eq(weft_task_cancel(tq), 0);
	ck_assert_int_eq(weft_task_join(tq, &st), 0); /* returns while the worker is still busy */
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(queued.ret, -ECANCELED);
	ck_assert_int_eq(queued.result, 12345); /* untouched: it never ran */
	ck_assert_int_eq(atomic_load(&g.finished), 0);
	sem_post(&g.open);
	ck_assert_int_eq(weft_task_join(tb, NULL), 0);
	ck_assert_int_eq(busy.ret, 0);
	ck_assert_int_eq(busy.result, 5);
	weft_executor_free(p); /* drains the queue: the dropped job is skipped */
	ck_assert_int_eq(atomic_load(&ran), 0);
	sem_destroy(&g.open);
	return 0;
}

START_TEST(cancel_while_queued_never_runs)
{
	ck_assert_int_eq(run_fiber_test(cancel_queued_main, NULL), 0);
}
END_TEST

/* Cancelled while its job runs: by default the fiber waits for the job, then -ECANCELED. */
static int cancel_running_main(void *arg)
{
	bool detach = arg != NULL;
	static struct gate g; /* static: with DETACH the job outlives this frame */
	struct runner r;
	weft_task *t;
	weft_executor *p;

	gate_init(&g, 6);
	ck_assert_int_eq(weft_executor_new(&p, 1), 0);
	r = (struct runner){.pool = p,
			    .fn = gated,
			    .arg = &g,
			    .result = 12345,
			    .flags = detach ? WEFT_EXECUTOR_DETACH : 0,
			    .finished_at_return = &g.finished};
	ck_assert_int_eq(weft_task_spawn(&t, runner_main, &r, NULL), 0);
	wait_flag(&g.started);
	wait_parked(t);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	if (detach) {
		ck_assert_int_eq(weft_task_join(t, NULL), 0); /* at once, job still blocked */
		ck_assert_int_eq(r.ret, -ECANCELED);
		ck_assert_int_eq(r.result, 12345); /* discarded */
		ck_assert_int_eq(r.finished_seen, 0);
		sem_post(&g.open);
	} else {
		for (int i = 0; i < 20; i++) /* it keeps waiting for the job */
			ck_assert_int_eq(weft_sleep(WEFT_MSEC / 2), 0);
		ck_assert(!weft_task_done(t));
		sem_post(&g.open);
		ck_assert_int_eq(weft_task_join(t, NULL), 0);
		ck_assert_int_eq(r.ret, -ECANCELED);
		ck_assert_int_eq(r.finished_seen, 1); /* the job ended before the call returned */
		ck_assert_int_eq(r.result, 6);	      /* and its result is stored */
	}
	weft_executor_free(p); /* waits for the job */
	ck_assert_int_eq(atomic_load(&g.finished), 1);
	sem_destroy(&g.open);
	return 0;
}

START_TEST(cancel_while_running_waits_for_the_job)
{
	ck_assert_int_eq(run_fiber_test(cancel_running_main, NULL), 0);
}
END_TEST

START_TEST(cancel_while_running_detached_returns_at_once)
{
	ck_assert_int_eq(run_fiber_test(cancel_running_main, (void *)1), 0);
}
END_TEST

/* A scope deadline: -ETIMEDOUT for a queued job (never runs) and for a running one. */
static int deadline_main(void *arg)
{
	struct gate g;
	struct runner busy, queued, running;
	weft_task *tb, *tq, *tr;
	atomic_int ran = 0;
	weft_executor *p;

	gate_init(&g, 8);
	ck_assert_int_eq(weft_executor_new(&p, 1), 0);
	busy = (struct runner){.pool = p,
			       .fn = gated,
			       .arg = &g,
			       .deadline = weft_now() + 20 * WEFT_MSEC,
			       .finished_at_return = &g.finished};
	queued = (struct runner){.pool = p,
				 .fn = count_run,
				 .arg = &ran,
				 .result = 12345,
				 .deadline = weft_now() + 10 * WEFT_MSEC};
	ck_assert_int_eq(weft_task_spawn(&tb, runner_main, &busy, NULL), 0);
	wait_flag(&g.started);
	ck_assert_int_eq(weft_task_spawn(&tq, runner_main, &queued, NULL), 0);
	ck_assert_int_eq(weft_task_join(tq, NULL), 0); /* the worker is still blocked */
	ck_assert_int_eq(queued.ret, -ETIMEDOUT);
	ck_assert_int_eq(queued.result, 12345);
	ck_assert_int_eq(weft_sleep(30 * WEFT_MSEC), 0); /* busy's deadline passes meanwhile */
	ck_assert(!weft_task_done(tb));
	sem_post(&g.open);
	ck_assert_int_eq(weft_task_join(tb, NULL), 0);
	ck_assert_int_eq(busy.ret, -ETIMEDOUT);
	ck_assert_int_eq(busy.finished_seen, 1);
	ck_assert_int_eq(busy.result, 8);
	/* an expired deadline before the call: nothing is submitted */
	running =
	    (struct runner){.pool = p, .fn = count_run, .arg = &ran, .deadline = weft_now() - 1};
	ck_assert_int_eq(weft_task_spawn(&tr, runner_main, &running, NULL), 0);
	ck_assert_int_eq(weft_task_join(tr, NULL), 0);
	ck_assert_int_eq(running.ret, -ETIMEDOUT);
	weft_executor_free(p);
	ck_assert_int_eq(atomic_load(&ran), 0);
	sem_destroy(&g.open);
	return 0;
}

START_TEST(scope_deadline_times_out)
{
	ck_assert_int_eq(run_fiber_test(deadline_main, NULL), 0);
}
END_TEST

/* Shutdown from a helper thread while one job runs (gated) and three wait in the queue. */
struct shutdown_helper {
	weft_executor *pool;
	unsigned flags;
	int ret;
};

static void *shutdown_helper_main(void *arg)
{
	struct shutdown_helper *h = arg;

	h->ret = weft_executor_shutdown(h->pool, h->flags);
	return NULL;
}

static int shutdown_main(void *arg)
{
	unsigned flags = (unsigned)(uintptr_t)arg;
	struct shutdown_helper h;
	struct gate g;
	struct runner busy, q[3];
	weft_task *tb, *tq[3];
	atomic_int ran = 0;
	pthread_t th;
	weft_executor *p;
	int res = 12345;

	gate_init(&g, 1);
	ck_assert_int_eq(weft_executor_new(&p, 1), 0);
	busy = (struct runner){.pool = p, .fn = gated, .arg = &g};
	ck_assert_int_eq(weft_task_spawn(&tb, runner_main, &busy, NULL), 0);
	wait_flag(&g.started);
	for (int i = 0; i < 3; i++) {
		q[i] = (struct runner){.pool = p, .fn = count_run, .arg = &ran, .result = 12345};
		ck_assert_int_eq(weft_task_spawn(&tq[i], runner_main, &q[i], NULL), 0);
		wait_parked(tq[i]);
	}
	h = (struct shutdown_helper){p, flags, 1};
	ck_assert_int_eq(pthread_create(&th, NULL, shutdown_helper_main, &h), 0);
	if (flags & WEFT_EXECUTOR_CANCEL_PENDING) {
		/* The queued jobs fail while the running one still blocks. */
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(weft_task_join(tq[i], NULL), 0);
			ck_assert_int_eq(q[i].ret, -ECANCELED);
			ck_assert_int_eq(q[i].result, 12345);
		}
		ck_assert_int_eq(atomic_load(&g.finished), 0);
		sem_post(&g.open);
	} else {
		/* Wait until the pool refuses new jobs, then let everything run. */
		int r;
		do { /* a probe queued before the close times out and is dropped, never run */
			weft_scope sc;
			ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + WEFT_MSEC, 0), 0);
			r = weft_executor_run(p, count_run, &ran, &res);
			weft_scope_exit(&sc);
		} while (r == -ETIMEDOUT);
		ck_assert_int_eq(r, -EPIPE);
		sem_post(&g.open);
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(weft_task_join(tq[i], NULL), 0);
			ck_assert_int_eq(q[i].ret, 0);
			ck_assert_int_eq(q[i].result, 7);
		}
	}
	ck_assert_int_eq(weft_task_join(tb, NULL), 0);
	ck_assert_int_eq(busy.ret, 0);
	ck_assert_int_eq(busy.result, 1);
	pthread_join(th, NULL);
	ck_assert_int_eq(h.ret, 0);
	ck_assert_int_eq(atomic_load(&ran), flags & WEFT_EXECUTOR_CANCEL_PENDING ? 0 : 3);
	ck_assert_int_eq(weft_executor_run(p, count_run, &ran, &res), -EPIPE);
	weft_executor_free(p);
	sem_destroy(&g.open);
	return 0;
}

START_TEST(shutdown_wait_runs_queued_jobs)
{
	ck_assert_int_eq(run_fiber_test(shutdown_main, (void *)(uintptr_t)WEFT_EXECUTOR_WAIT), 0);
}
END_TEST

START_TEST(shutdown_cancel_pending_fails_queued_jobs)
{
	ck_assert_int_eq(
	    run_fiber_test(shutdown_main, (void *)(uintptr_t)WEFT_EXECUTOR_CANCEL_PENDING), 0);
}
END_TEST

static int to_thread_main(void *arg)
{
	int res = 0;

	for (intptr_t i = 0; i < 20; i++) {
		ck_assert_int_eq(weft_executor_default_run(square, (void *)i, &res), 0);
		ck_assert_int_eq(res, i * i);
	}
	return 0;
}

START_TEST(to_thread_default_pool_from_fiber)
{
	ck_assert_int_eq(run_fiber_test(to_thread_main, NULL), 0);
	ck_assert_int_eq(weft_executor_default_shutdown(WEFT_EXECUTOR_WAIT), 0);
}
END_TEST

/* A cancelled fiber does not submit anything. */
static int cancelled_first_main(void *arg)
{
	atomic_int ran = 0;
	weft_executor *p;
	int res = 12345;

	ck_assert_int_eq(weft_executor_new(&p, 1), 0);
	ck_assert_int_eq(weft_task_cancel(weft_task_current()), 0);
	ck_assert_int_eq(weft_executor_run(p, count_run, &ran, &res), -ECANCELED);
	ck_assert_int_eq(res, 12345);
	weft_executor_free(p);
	ck_assert_int_eq(atomic_load(&ran), 0);
	return 0;
}

START_TEST(cancelled_fiber_submits_nothing)
{
	ck_assert_int_eq(run_fiber_test(cancelled_first_main, NULL), 0);
}
END_TEST

static Suite *executor_suite(void)
{
	Suite *s = suite_create("executor");
	TCase *misc = tcase_create("threads"), *fib = tcase_create("fibers");

	tcase_add_test(misc, bad_args);
	tcase_add_test(misc, plain_thread_blocks_and_works);
	tcase_add_test(misc, plain_threads_concurrently);
	tcase_add_test(misc, shutdown_from_own_job_is_edeadlk);
	tcase_add_test(misc, run_after_shutdown_is_epipe);
	tcase_add_test(misc, to_thread_default_pool_from_thread);
	if (!getenv("WEFT_VALGRIND")) /* the child's copy of in-flight job records looks leaked */
#ifndef __SANITIZE_THREAD__	      /* TSan does not support fork() in a multithreaded process */
	{
		tcase_add_test(misc, default_pool_after_fork);
		tcase_add_test(misc, exit_while_another_thread_submits);
	}
#endif
	tcase_add_test(fib, cancelled_fiber_submits_nothing);
	/* valgrind runs one thread at a time and holds that lock while a loop thread sleeps in
	 * io_uring_enter, so a worker's completion post never wakes it: fiber tests need the
	 * cross-thread wake-up. */
	if (!getenv("WEFT_VALGRIND")) {
		tcase_add_test(fib, fiber_results_come_back);
		tcase_add_test(fib, many_fibers_run_concurrently);
		tcase_add_test(fib, fibers_of_two_loops_share_a_pool);
		tcase_add_test(fib, loop_keeps_running_while_a_job_blocks);
		tcase_add_test(fib, cancel_while_queued_never_runs);
		tcase_add_test(fib, cancel_while_running_waits_for_the_job);
		tcase_add_test(fib, cancel_while_running_detached_returns_at_once);
		tcase_add_test(fib, scope_deadline_times_out);
		tcase_add_test(fib, shutdown_wait_runs_queued_jobs);
		tcase_add_test(fib, shutdown_cancel_pending_fails_queued_jobs);
		tcase_add_test(fib, to_thread_default_pool_from_fiber);
	}
	tcase_set_timeout(misc, 30);
	tcase_set_timeout(fib, 30);
	suite_add_tcase(s, misc);
	suite_add_tcase(s, fib);
	return s;
}

WEFT_CHECK_MAIN(executor_suite)

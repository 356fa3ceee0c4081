/* SPDX-License-Identifier: MIT */
/*
 * Tasks: spawn options and errors, join / detach / cancel, states and introspection, done
 * callbacks, iteration, many fibers, big stacks and stack overflow reports.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

#include "weft.h"
#include "check_main.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Run @fn as the main task of a fresh loop; returns its status. */
static int run_main(int (*fn)(void *), void *arg)
{
	return weft_run(fn, arg, NULL);
}

/* Fiber counts for the stress tests: valgrind is ~50x slower, and ASan gives every fiber that
 * has run a fake stack of its own (detect_stack_use_after_return), which costs mmaps and time. */
static int scaled(int n)
{
	if (getenv("WEFT_VALGRIND"))
		return n / 50;
#if defined(__SANITIZE_ADDRESS__)
	return n / 5;
#elif defined(__SANITIZE_THREAD__)
	return n / 20; /* every fiber is a TSan fiber context: costly to create and switch */
#else
	return n;
#endif
}

static int64_t ms_since(int64_t t0)
{
	return (weft_now() - t0) / WEFT_MSEC;
}

static int return_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

static int note_ran(void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int sleep_ms(void *arg)
{
	int r = weft_sleep((int64_t)(intptr_t)arg * WEFT_MSEC);

	return r ? r : (int)(intptr_t)arg;
}

static int sleep_long(void *arg)
{
	return weft_sleep(60 * WEFT_SEC);
}

static int count_visit(weft_task *t, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int ntasks(void)
{
	int n = 0;

	ck_assert_int_eq(weft_loop_tasks(weft_loop_current(), count_visit, &n), 0);
	return n;
}

/* ---- spawn ---------------------------------------------------------------------------------- */

static int check_self(void *arg)
{
	weft_task **slot = arg;

	ck_assert_ptr_eq(weft_task_current(), *slot);
	ck_assert_int_eq(weft_task_state(weft_task_current()), WEFT_TASK_RUNNING);
	return 0;
}

static int spawn_names_main(void *arg)
{
	const struct weft_task_opts named = {.name = "worker"};
	const struct weft_task_opts longname = {
	    .name = "a-very-long-task-name-that-goes-on-and-on-past-31-bytes"};
	const struct weft_task_opts empty = {0};
	weft_task *t[4];
	char expect[32];

	ck_assert_str_eq(weft_task_name(weft_task_current()), "main");
	ck_assert_uint_eq(weft_task_id(weft_task_current()), 1);

	ck_assert_int_eq(weft_task_spawn(&t[0], check_self, &t[0], &named), 0);
	ck_assert_str_eq(weft_task_name(t[0]), "worker");
	ck_assert_int_eq(weft_task_spawn(&t[1], check_self, &t[1], NULL), 0);
	snprintf(expect, sizeof(expect), "task-%llu", (unsigned long long)weft_task_id(t[1]));
	ck_assert_str_eq(weft_task_name(t[1]), expect);
	ck_assert_int_eq(weft_task_spawn(&t[2], check_self, &t[2], &longname), 0);
	ck_assert_uint_eq(strlen(weft_task_name(t[2])), 31);
	ck_assert_int_eq(strncmp(weft_task_name(t[2]), longname.name, 31), 0);
	ck_assert_int_eq(weft_task_spawn(&t[3], check_self, &t[3], &empty), 0);
	snprintf(expect, sizeof(expect), "task-%llu", (unsigned long long)weft_task_id(t[3]));
	ck_assert_str_eq(weft_task_name(t[3]), expect);

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(weft_task_join(t[i], NULL), 0);
	ck_assert_str_eq(weft_task_name(NULL), "(null)");
	ck_assert_uint_eq(weft_task_id(NULL), 0);
	return 0;
}

START_TEST(spawn_names)
{
	ck_assert_int_eq(run_main(spawn_names_main, NULL), 0);
}
END_TEST

static int ids_main(void *arg)
{
	uint64_t last = weft_task_id(weft_task_current());
	weft_task *t[20];

	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(weft_task_spawn(&t[i], return_arg, NULL, NULL), 0);
		ck_assert_uint_gt(weft_task_id(t[i]), last);
		last = weft_task_id(t[i]);
		/* Joining frees the handle: ids are still never reused. */
		if (i % 2)
			ck_assert_int_eq(weft_task_join(t[i], NULL), 0);
	}
	for (int i = 0; i < 20; i += 2)
		ck_assert_int_eq(weft_task_join(t[i], NULL), 0);
	return 0;
}

START_TEST(spawn_ids_increase)
{
	ck_assert_int_eq(run_main(ids_main, NULL), 0);
}
END_TEST

static int spawn_errors_main(void *arg)
{
	const struct weft_task_opts huge = {.stack_size = (size_t)1 << 40};
	weft_task *t = (weft_task *)0x1;

	ck_assert_int_eq(weft_task_spawn(&t, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_task_spawn(&t, return_arg, NULL, &huge), -EINVAL);
	ck_assert_int_eq(weft_loop_spawn(NULL, &t, return_arg, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_loop_spawn(weft_loop_current(), &t, NULL, NULL, NULL), -EINVAL);
	ck_assert_ptr_eq(t, (weft_task *)0x1); /* untouched on failure */
	ck_assert_int_eq(ntasks(), 1);
	return 0;
}

START_TEST(spawn_errors)
{
	weft_task *t = NULL;
	weft_loop *l;

	ck_assert_int_eq(weft_task_spawn(&t, return_arg, NULL, NULL), -EPERM);
	ck_assert_int_eq(weft_task_spawn(NULL, return_arg, NULL, NULL), -EPERM);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(run_main(spawn_errors_main, NULL), 0);

	/* weft_loop_spawn works outside a loop; a plain thread can't join though. */
	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, &t, return_arg, (void *)5, NULL), 0);
	ck_assert_int_eq(weft_task_join(t, NULL), -EPERM);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(weft_task_join(t, NULL), -EPERM);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

/* Recurses with ~1 KiB frames; the result depends on every frame so none is optimised out. */
static int __attribute__((noinline)) deep(int depth)
{
	volatile char buf[1024];

	buf[0] = (char)depth;
	buf[sizeof(buf) - 1] = 1;
	if (depth == 0)
		return 0;
	return deep(depth - 1) + buf[sizeof(buf) - 1] + (buf[0] != (char)depth);
}

static int deep_task(void *arg)
{
	return deep((int)(intptr_t)arg);
}

static int stack_main(void *arg)
{
	const struct weft_task_opts big = {.name = "deep", .stack_size = 8 << 20};
	const struct weft_task_opts small = {.stack_size = 1}; /* rounded up to the minimum */
	weft_task *t;
	int st = -1;

	/* ~4 MiB of frames: far past the 64 KiB default. */
	ck_assert_int_eq(weft_task_spawn(&t, deep_task, (void *)4000, &big), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 4000);
	ck_assert_int_eq(weft_task_spawn(&t, deep_task, (void *)2, &small), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 2);
	return 0;
}

START_TEST(spawn_big_stack)
{
	ck_assert_int_eq(run_main(stack_main, NULL), 0);
}
END_TEST

/* ---- stack overflow ------------------------------------------------------------------------- */

static volatile int overflow_limit = 1 << 30; /* never reached; keeps the compiler quiet */

static int __attribute__((noinline)) recurse_forever(int depth)
{
	volatile char buf[512];

	buf[0] = (char)depth;
	if (depth >= overflow_limit)
		return buf[0];
	return recurse_forever(depth + 1) + buf[0];
}

static int overflow_task(void *arg)
{
	return recurse_forever(0);
}

#ifdef __SANITIZE_ADDRESS__
/* ASan takes the SIGSEGV and reports the overflow itself, then exits or aborts: die by SIGSEGV
 * instead, as the plain build does, so both builds are held to the same expectation. */
static void die_by_segv(void)
{
	sigset_t set;

	signal(SIGSEGV, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGSEGV);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGSEGV);
}
#endif

static int overflow_main(void *arg)
{
	const struct weft_task_opts o = {.name = "overflower", .stack_size = 16 * 1024};
	const struct rlimit no_core = {0, 0};
	weft_task *t;

	setrlimit(RLIMIT_CORE, &no_core);
#ifdef __SANITIZE_ADDRESS__
	__sanitizer_set_death_callback(die_by_segv);
#endif
	ck_assert_int_eq(weft_task_spawn(&t, overflow_task, NULL, &o), 0);
	weft_task_join(t, NULL);
	return 0;
}

START_TEST(stack_overflow_segv)
{
	run_main(overflow_main, NULL);
	ck_abort_msg("a task overflowing its stack did not crash the process");
}
END_TEST

START_TEST(stack_overflow_message)
{
	char out[4096];
	size_t len = 0;
	ssize_t n;
	int pipefd[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		run_main(overflow_main, NULL);
		_exit(0);
	}
	close(pipefd[1]);
	while (len < sizeof(out) - 1 && (n = read(pipefd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(pipefd[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status), "child status %#x, stderr: %s", status, out);
	ck_assert_int_eq(WTERMSIG(status), SIGSEGV);
#ifndef __SANITIZE_ADDRESS__
	ck_assert_msg(strstr(out, "stack overflow in task"), "stderr: %s", out);
	ck_assert_msg(strstr(out, "overflower"), "stderr: %s", out);
#endif
}
END_TEST

/* ---- join ----------------------------------------------------------------------------------- */

static int join_main(void *arg)
{
	weft_task *t;
	int st = 0, n0 = ntasks();

	ck_assert_int_eq(weft_task_spawn(&t, sleep_ms, (void *)2, NULL), 0);
	ck_assert_int_eq(ntasks(), n0 + 1);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 2);
	ck_assert_int_eq(ntasks(), n0); /* freed */

	ck_assert_int_eq(weft_task_spawn(&t, return_arg, (void *)(intptr_t)-EIO, NULL), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, -EIO);

	ck_assert_int_eq(weft_task_spawn(&t, return_arg, (void *)9, NULL), 0);
	ck_assert_int_eq(weft_task_join(t, NULL), 0); /* status not wanted */

	/* Already finished: returns at once. */
	ck_assert_int_eq(weft_task_spawn(&t, return_arg, (void *)77, NULL), 0);
	while (!weft_task_done(t))
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(ntasks(), n0 + 1); /* done but not yet joined: still listed */
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 77);
	ck_assert_int_eq(ntasks(), n0);

	ck_assert_int_eq(weft_task_join(weft_task_current(), &st), -EDEADLK);
	ck_assert_int_eq(weft_task_join(NULL, &st), -EINVAL);
	return 0;
}

START_TEST(join_basics)
{
	ck_assert_int_eq(run_main(join_main, NULL), 0);
}
END_TEST

static int detach_main(void *arg)
{
	weft_task *t;
	int n0 = ntasks(), ran = 0;

	/* Detach a running task: join refuses it, and it frees itself when it returns. */
	ck_assert_int_eq(weft_task_spawn(&t, sleep_ms, (void *)2, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_detach(t), 0);
	ck_assert_int_eq(weft_task_join(t, NULL), -EINVAL);
	ck_assert_int_eq(ntasks(), n0 + 1);
	ck_assert_int_eq(weft_sleep(10 * WEFT_MSEC), 0);
	ck_assert_int_eq(ntasks(), n0);

	/* Detach a finished task: freed at once. */
	ck_assert_int_eq(weft_task_spawn(&t, note_ran, &ran, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert(weft_task_done(t));
	ck_assert_int_eq(ntasks(), n0 + 1);
	ck_assert_int_eq(weft_task_detach(t), 0);
	ck_assert_int_eq(ntasks(), n0);
	ck_assert_int_eq(ran, 1);

	/* Detach before it ever ran. */
	ck_assert_int_eq(weft_task_spawn(&t, note_ran, &ran, NULL), 0);
	ck_assert_int_eq(weft_task_detach(t), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(ran, 2);
	ck_assert_int_eq(ntasks(), n0);

	ck_assert_int_eq(weft_task_detach(NULL), -EINVAL);
	return 0;
}

START_TEST(detach)
{
	ck_assert_int_eq(run_main(detach_main, NULL), 0);
}
END_TEST

struct joiner {
	weft_task *target;
	int ret, status;
};

static int join_target(void *arg)
{
	struct joiner *j = arg;

	j->ret = weft_task_join(j->target, &j->status);
	return 0;
}

static int second_joiner_main(void *arg)
{
	struct joiner j = {0};
	weft_task *jt;
	int st;

	ck_assert_int_eq(weft_task_spawn(&j.target, sleep_ms, (void *)5, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&jt, join_target, &j, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0); /* the joiner is parked in join now */
	ck_assert_int_eq(weft_task_state(jt), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_task_detach(j.target), -EBUSY); /* someone is joining it */
	/* A second joiner (asyncio: any number of awaiters): both get the status. */
	ck_assert_int_eq(weft_task_join(j.target, &st), 0);
	ck_assert_int_eq(st, 5);
	ck_assert_int_eq(weft_task_join(jt, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(j.ret, 0);
	ck_assert_int_eq(j.status, 5);
	return 0;
}

START_TEST(join_many_joiners)
{
	ck_assert_int_eq(run_main(second_joiner_main, NULL), 0);
}
END_TEST

static int join_interrupted_main(void *arg)
{
	struct joiner j = {0};
	weft_task *jt;
	weft_scope s;
	int st;

	/* A cancelled joiner gets -ECANCELED; the target keeps running and stays joinable. */
	ck_assert_int_eq(weft_task_spawn(&j.target, sleep_ms, (void *)200, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&jt, join_target, &j, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(jt), 0);
	ck_assert_int_eq(weft_task_join(jt, &st), 0);
	ck_assert_int_eq(j.ret, -ECANCELED);
	ck_assert(!weft_task_done(j.target));
	ck_assert(!weft_task_cancelled(j.target));

	/* A joiner whose deadline passes gets -ETIMEDOUT; same. */
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_task_join(j.target, &st), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert(!weft_task_done(j.target));

	ck_assert_int_eq(weft_task_join(j.target, &st), 0);
	ck_assert_int_eq(st, 200);
	return 0;
}

START_TEST(join_interrupted)
{
	ck_assert_int_eq(run_main(join_interrupted_main, NULL), 0);
}
END_TEST

/* ---- cancel --------------------------------------------------------------------------------- */

/* Note that it ran, then return what its first checkpoint says. */
static int checkpoint_first(void *arg)
{
	(*(int *)arg)++;
	return weft_checkpoint();
}

static int cancel_main(void *arg)
{
	weft_task *t;
	int ran = 0, st = 0;
	int64_t t0;

	/* Before its first run: it runs all the same (trio), and its first checkpoint fails. */
	ck_assert_int_eq(weft_task_spawn(&t, checkpoint_first, &ran, NULL), 0);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert(weft_task_cancelled(t));
	ck_assert(!weft_task_done(t));
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, -ECANCELED);
	ck_assert_int_eq(ran, 1);

	/* While sleeping: the sleep returns -ECANCELED long before its time. */
	t0 = weft_now();
	ck_assert_int_eq(weft_task_spawn(&t, sleep_long, NULL, NULL), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	ck_assert(!weft_task_cancelled(t));
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(weft_task_cancel(t), 0); /* twice is fine */
	ck_assert(weft_task_cancelled(t));
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, -ECANCELED);
	ck_assert_int_lt(ms_since(t0), 30000);

	/* Finished: -EALREADY, and the status stays. */
	ck_assert_int_eq(weft_task_spawn(&t, return_arg, (void *)4, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert(weft_task_done(t));
	ck_assert_int_eq(weft_task_cancel(t), -EALREADY);
	ck_assert(!weft_task_cancelled(t));
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 4);

	ck_assert_int_eq(weft_task_cancel(NULL), -EINVAL);
	return 0;
}

START_TEST(cancel)
{
	ck_assert_int_eq(run_main(cancel_main, NULL), 0);
}
END_TEST

struct sticky {
	int first, second, yield, checkpoint, shielded, shield_checkpoint, after;
};

static int sticky_task(void *arg)
{
	struct sticky *s = arg;
	weft_scope sh;

	s->first = weft_sleep(60 * WEFT_SEC);
	s->second = weft_sleep(WEFT_MSEC);
	s->yield = weft_yield();
	s->checkpoint = weft_checkpoint();
	ck_assert_int_eq(weft_scope_enter(&sh, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	s->shield_checkpoint = weft_checkpoint();
	s->shielded = weft_sleep(WEFT_MSEC);
	ck_assert_int_eq(weft_scope_exit(&sh), 0);
	s->after = weft_sleep(WEFT_MSEC);
	return 1;
}

static int sticky_main(void *arg)
{
	struct sticky *s = arg;
	weft_task *t;
	int st;

	ck_assert_int_eq(weft_task_spawn(&t, sticky_task, s, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 1);
	return 0;
}

START_TEST(cancel_is_sticky_but_shield_blocks)
{
	struct sticky s;

	memset(&s, 0x55, sizeof(s));
	ck_assert_int_eq(run_main(sticky_main, &s), 0);
	ck_assert_int_eq(s.first, -ECANCELED);
	ck_assert_int_eq(s.second, -ECANCELED);
	ck_assert_int_eq(s.yield, -ECANCELED);
	ck_assert_int_eq(s.checkpoint, -ECANCELED);
	ck_assert_int_eq(s.shield_checkpoint, 0);
	ck_assert_int_eq(s.shielded, 0);
	ck_assert_int_eq(s.after, -ECANCELED);
}
END_TEST

/* ---- state ---------------------------------------------------------------------------------- */

struct states {
	weft_future *f;
	int in_run;
};

static int state_task(void *arg)
{
	struct states *s = arg;

	s->in_run = weft_task_state(weft_task_current());
	ck_assert_int_eq(weft_future_wait(s->f, NULL), 0);
	return 11;
}

static int states_main(void *arg)
{
	struct states s = {.in_run = -1};
	weft_task *t;
	int st = 12345;

	ck_assert_int_eq(weft_future_new(weft_loop_current(), &s.f), 0);
	ck_assert_int_eq(weft_task_spawn(&t, state_task, &s, NULL), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_READY);
	ck_assert_int_eq(weft_task_state(weft_task_current()), WEFT_TASK_RUNNING);
	ck_assert(!weft_task_done(t));
	ck_assert(!weft_task_cancelled(t));
	ck_assert_int_eq(weft_task_status(t, &st), -EAGAIN);
	ck_assert_int_eq(st, 12345);

	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(s.in_run, WEFT_TASK_RUNNING);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_task_status(t, &st), -EAGAIN);

	ck_assert_int_eq(weft_future_set(s.f, 0, NULL), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_READY); /* woken, not yet run */
	ck_assert(!weft_task_done(t));

	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_DONE);
	ck_assert(weft_task_done(t));
	ck_assert_int_eq(weft_task_status(t, &st), 0);
	ck_assert_int_eq(st, 11);
	ck_assert_int_eq(weft_task_status(t, NULL), 0);
	ck_assert_int_eq(weft_task_status(NULL, &st), -EINVAL);
	ck_assert(!weft_task_done(NULL));
	ck_assert(!weft_task_cancelled(NULL));
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(weft_future_free(s.f), 0);
	return 0;
}

START_TEST(state_transitions)
{
	ck_assert_int_eq(run_main(states_main, NULL), 0);
}
END_TEST

/* ---- done callbacks ------------------------------------------------------------------------- */

struct done_log {
	char seq[16];
	int n;
	weft_task *cur[8];
	int status[8];
};

static void make_done_cb(weft_task *t, void *arg, char c)
{
	struct done_log *d = arg;

	ck_assert_int_lt(d->n, 8);
	ck_assert(weft_task_done(t));
	ck_assert_int_eq(weft_task_status(t, &d->status[d->n]), 0);
	d->cur[d->n] = weft_task_current();
	d->seq[d->n++] = c;
}

static void done_a(weft_task *t, void *arg)
{
	make_done_cb(t, arg, 'a');
}

static void done_b(weft_task *t, void *arg)
{
	make_done_cb(t, arg, 'b');
}

static void done_c(weft_task *t, void *arg)
{
	make_done_cb(t, arg, 'c');
}

static int on_done_main(void *arg)
{
	struct done_log *d = arg;
	weft_task *t;
	int st;

	ck_assert_int_eq(weft_task_spawn(&t, sleep_ms, (void *)1, NULL), 0);
	ck_assert_int_eq(weft_task_on_done(t, done_a, d), 0);
	ck_assert_int_eq(weft_task_on_done(t, done_b, d), 0);
	ck_assert_int_eq(weft_task_on_done(t, done_c, d), 0);
	ck_assert_int_eq(weft_task_on_done(t, NULL, d), -EINVAL);
	ck_assert_int_eq(weft_task_on_done(NULL, done_a, d), -EINVAL);
	ck_assert_int_eq(d->n, 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	/* They ran before the joiner woke up. */
	ck_assert_str_eq(d->seq, "abc");
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_null(d->cur[i]);
		ck_assert_int_eq(d->status[i], 1);
	}
	return 0;
}

START_TEST(on_done_order)
{
	struct done_log d = {.n = 0};

	ck_assert_int_eq(run_main(on_done_main, &d), 0);
}
END_TEST

static int on_done_late_main(void *arg)
{
	struct done_log *d = arg;
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, return_arg, (void *)3, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert(weft_task_done(t));
	/* Already done: called before weft_task_on_done returns. */
	ck_assert_int_eq(weft_task_on_done(t, done_a, d), 0);
	ck_assert_str_eq(d->seq, "a");
	ck_assert_int_eq(weft_task_on_done(t, done_b, d), 0);
	ck_assert_str_eq(d->seq, "ab");
	ck_assert_int_eq(d->status[0], 3);
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	return 0;
}

START_TEST(on_done_already_done)
{
	struct done_log d = {.n = 0};

	ck_assert_int_eq(run_main(on_done_late_main, &d), 0);
}
END_TEST

START_TEST(on_done_already_done_no_current)
{
	struct done_log d = {.n = 0};

	/* Done callbacks are callback code, "on the loop's stack": no current task, even when
	 * weft_task_on_done calls one at once for a task that has already returned. */
	ck_assert_int_eq(run_main(on_done_late_main, &d), 0);
	ck_assert_ptr_null(d.cur[0]);
	ck_assert_ptr_null(d.cur[1]);
}
END_TEST

/* ---- iteration and current ------------------------------------------------------------------ */

struct visit {
	uint64_t ids[16];
	int n, stop_at;
};

static int visit_rec(weft_task *t, void *arg)
{
	struct visit *v = arg;

	v->ids[v->n++] = weft_task_id(t);
	return v->n == v->stop_at ? 42 : 0;
}

static int tasks_main(void *arg)
{
	weft_loop *l = weft_loop_current();
	struct visit v = {.stop_at = 0};
	weft_task *t[4];

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(weft_task_spawn(&t[i], sleep_ms, (void *)1, NULL), 0);
	ck_assert_int_eq(weft_loop_tasks(l, visit_rec, &v), 0);
	ck_assert_int_eq(v.n, 5);
	ck_assert_uint_eq(v.ids[0], weft_task_id(weft_task_current()));
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(v.ids[i + 1], weft_task_id(t[i]));

	v = (struct visit){.stop_at = 2};
	ck_assert_int_eq(weft_loop_tasks(l, visit_rec, &v), 42);
	ck_assert_int_eq(v.n, 2);

	/* Joined tasks are gone; finished unjoined ones are still listed. */
	ck_assert_int_eq(weft_task_join(t[1], NULL), 0);
	ck_assert_int_eq(weft_sleep(5 * WEFT_MSEC), 0);
	v = (struct visit){.stop_at = 0};
	ck_assert_int_eq(weft_loop_tasks(l, visit_rec, &v), 0);
	ck_assert_int_eq(v.n, 4);
	ck_assert_uint_eq(v.ids[1], weft_task_id(t[0]));
	ck_assert_uint_eq(v.ids[2], weft_task_id(t[2]));
	ck_assert_uint_eq(v.ids[3], weft_task_id(t[3]));

	ck_assert_int_eq(weft_loop_tasks(NULL, visit_rec, &v), -EINVAL);
	ck_assert_int_eq(weft_loop_tasks(l, NULL, &v), -EINVAL);
	for (int i = 0; i < 4; i++)
		if (i != 1)
			ck_assert_int_eq(weft_task_join(t[i], NULL), 0);
	return 0;
}

START_TEST(loop_tasks)
{
	ck_assert_int_eq(run_main(tasks_main, NULL), 0);
}
END_TEST

static void cur_in_cb(void *arg)
{
	*(weft_task **)arg = weft_task_current();
}

static int current_main(void *arg)
{
	weft_task *t, *seen = (weft_task *)0x1;

	ck_assert_ptr_nonnull(weft_task_current());
	ck_assert_int_eq(weft_task_spawn(&t, check_self, &t, NULL), 0);
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), cur_in_cb, &seen), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_ptr_null(seen);
	return 0;
}

START_TEST(task_current)
{
	ck_assert_ptr_null(weft_task_current());
	ck_assert_int_eq(run_main(current_main, NULL), 0);
	ck_assert_ptr_null(weft_task_current());
}
END_TEST

/* ---- many ----------------------------------------------------------------------------------- */

static int many_main(void *arg)
{
	int n = scaled(100000);
	weft_task **t = calloc((size_t)n, sizeof(*t));
	int st;

	ck_assert_ptr_nonnull(t);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(weft_task_spawn(&t[i], return_arg, (void *)(intptr_t)i, NULL), 0);
	ck_assert_int_eq(ntasks(), n + 1);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(weft_task_join(t[i], &st), 0);
		ck_assert_int_eq(st, i);
	}
	ck_assert_int_eq(ntasks(), 1);
	free(t);
	return 0;
}

START_TEST(hundred_thousand_fibers)
{
	ck_assert_int_eq(run_main(many_main, NULL), 0);
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------------- */

static Suite *task_suite(void)
{
	Suite *s = suite_create("task");
	TCase *tc;

	tc = tcase_create("spawn");
	tcase_add_test(tc, spawn_names);
	tcase_add_test(tc, spawn_ids_increase);
	tcase_add_test(tc, spawn_errors);
	tcase_add_test(tc, spawn_big_stack);
	suite_add_tcase(s, tc);

	tc = tcase_create("overflow");
	tcase_add_test_raise_signal(tc, stack_overflow_segv, SIGSEGV);
	tcase_add_test(tc, stack_overflow_message);
	suite_add_tcase(s, tc);

	tc = tcase_create("join");
	tcase_add_test(tc, join_basics);
	tcase_add_test(tc, detach);
	tcase_add_test(tc, join_many_joiners);
	tcase_add_test(tc, join_interrupted);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_test(tc, cancel);
	tcase_add_test(tc, cancel_is_sticky_but_shield_blocks);
	suite_add_tcase(s, tc);

	tc = tcase_create("introspection");
	tcase_add_test(tc, state_transitions);
	tcase_add_test(tc, on_done_order);
	tcase_add_test(tc, on_done_already_done);
	tcase_add_test(tc, on_done_already_done_no_current);
	tcase_add_test(tc, loop_tasks);
	tcase_add_test(tc, task_current);
	suite_add_tcase(s, tc);

	tc = tcase_create("many");
	tcase_add_test(tc, hundred_thousand_fibers);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(task_suite)

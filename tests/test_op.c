/* SPDX-License-Identifier: MIT */
/*
 * The op layer (engine/op.h) on real pipes, under every ring mode: parking on I/O, cancellation
 * and deadlines that never let the kernel touch a buffer after the call returned, a full SQ, an
 * overflowing CQ, and stale cancels against reused op records.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "weft.h"
#include "engine/loop.h"
#include "engine/op.h"

#include "timing.h"
#include "check_main.h"
#define CANARY	0xA5
#define BUF_LEN 64

static const unsigned ring_modes[] = {
    0,
    WEFT_RING_NO_DEFER_TASKRUN,
    WEFT_RING_NO_DEFER_TASKRUN | WEFT_RING_NO_COOP_TASKRUN,
};
#define NMODES (int)(sizeof(ring_modes) / sizeof(ring_modes[0]))

static unsigned g_mode; /* ring_flags for this test (set from the loop index) */

static int run_sized(int (*fn)(void *), void *arg, unsigned sq, unsigned cq)
{
	struct weft_loop_opts o = {.ring_flags = g_mode, .sq_entries = sq, .cq_entries = cq};

	return weft_run(fn, arg, &o);
}

static int run_main(int (*fn)(void *), void *arg)
{
	return run_sized(fn, arg, 0, 0);
}

/* ---- helpers ---------------------------------------------------------------------------- */

static int op_nop(void)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_nop(sqe);
	return weft__op_wait(&op, sqe);
}

/* A read through a caller-provided record, so a test can reuse one record at one address. */
static int op_read_with(struct weft__op *op, int fd, void *buf, unsigned len)
{
	struct io_uring_sqe *sqe = weft__op_start(op);

	if (!sqe)
		return op->res;
	io_uring_prep_read(sqe, fd, buf, len, (uint64_t)-1);
	return weft__op_wait(op, sqe);
}

static int op_read(int fd, void *buf, unsigned len)
{
	struct weft__op op;

	return op_read_with(&op, fd, buf, len);
}

static int op_write(int fd, const void *buf, unsigned len)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_write(sqe, fd, buf, len, (uint64_t)-1);
	return weft__op_wait(&op, sqe);
}

static void make_pipe(int p[2])
{
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
}

static void close_pipe(int p[2])
{
	weft__fd_close(p[0]); /* ops used them: the readiness backend must hear of it */
	weft__fd_close(p[1]);
}

/* Bytes sitting in a pipe, without consuming them. */
static int pipe_bytes(int fd)
{
	int n = -1;

	ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

static void assert_canary(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(buf[i] == CANARY, "buffer byte %zu modified: 0x%02x", i, buf[i]);
}

static void yield_until_parked(weft_task *t)
{
	for (int i = 0; i < 1000 && weft_task_state(t) != WEFT_TASK_PARKED; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
}

/* Let the loop go round several times, with kernel trips, so a rogue completion would land. */
static void run_turns(void)
{
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(weft_yield(), 0);
		ck_assert_int_eq(weft_sleep(2 * WEFT_MSEC), 0);
		ck_assert_int_eq(op_nop(), 0);
	}
}

static int join_ok(weft_task *t)
{
	int st = -12345;

	ck_assert_int_eq(weft_task_join(t, &st), 0);
	return st;
}

static const char DATA[16] = "0123456789abcdef";

/* A reader parked on an empty pipe; its buffer lives with the test, not on its own stack, so
 * the test can watch it after the reader is gone. */
struct rd {
	int p[2];
	int64_t deadline; /* WEFT_FOREVER: no scope */
	int r, exit_r;
	unsigned char buf[BUF_LEN];
};

static int reader_fn(void *arg)
{
	struct rd *x = arg;
	weft_scope s;

	if (x->deadline == WEFT_FOREVER) {
		x->r = op_read(x->p[0], x->buf, sizeof(x->buf));
		return 0;
	}
	ck_assert_int_eq(weft_scope_enter(&s, x->deadline, 0), 0);
	x->r = op_read(x->p[0], x->buf, sizeof(x->buf));
	x->exit_r = weft_scope_exit(&s);
	return 0;
}

static void rd_init(struct rd *x)
{
	memset(x, 0, sizeof(*x));
	make_pipe(x->p);
	x->deadline = WEFT_FOREVER;
	x->r = 1;
	memset(x->buf, CANARY, sizeof(x->buf));
}

/* After an interrupted read returned: new data never lands in its buffer and stays in the pipe. */
static void prove_buffer_safe(struct rd *x)
{
	unsigned char fresh[BUF_LEN];

	assert_canary(x->buf, sizeof(x->buf));
	ck_assert_int_eq(pipe_bytes(x->p[0]), 0);
	ck_assert_int_eq(write(x->p[1], DATA, sizeof(DATA)), (ssize_t)sizeof(DATA));
	run_turns();
	assert_canary(x->buf, sizeof(x->buf));
	ck_assert_int_eq(pipe_bytes(x->p[0]), (int)sizeof(DATA));
	/* Nothing was consumed by the interrupted op: a fresh read gets all of it. */
	memset(fresh, 0, sizeof(fresh));
	ck_assert_int_eq(op_read(x->p[0], fresh, sizeof(fresh)), (int)sizeof(DATA));
	ck_assert_mem_eq(fresh, DATA, sizeof(DATA));
	run_turns();
	assert_canary(x->buf, sizeof(x->buf));
}

/* ---- basics ----------------------------------------------------------------------------- */

static int m_modes(void *arg)
{
	unsigned f = weft_loop_features(weft_loop_current());

	if (g_mode & WEFT_RING_NO_DEFER_TASKRUN)
		ck_assert(!(f & (WEFT_FEAT_DEFER_TASKRUN | WEFT_FEAT_SINGLE_ISSUER)));
	if (g_mode & WEFT_RING_NO_COOP_TASKRUN)
		ck_assert(!(f & WEFT_FEAT_COOP_TASKRUN));
	return 0;
}

START_TEST(ring_mode_applied)
{
	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_modes, NULL), 0);
}
END_TEST

static int m_nop(void *arg)
{
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(op_nop(), 0);
	return 0;
}

START_TEST(nop_returns_0)
{
	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_nop, NULL), 0);
}
END_TEST

static int writer_after_park(void *arg)
{
	struct rd *x = arg;

	/* Yield a few times first: the reader must really be parked in the kernel's poll. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_yield(), 0);
	return op_write(x->p[1], DATA, sizeof(DATA));
}

static int m_read_parks(void *arg)
{
	struct rd x;
	weft_task *r, *w;

	rd_init(&x);
	ck_assert_int_eq(weft_task_spawn(&r, reader_fn, &x, NULL), 0);
	yield_until_parked(r);
	ck_assert_int_eq(x.r, 1); /* still waiting */
	ck_assert_int_eq(weft_task_spawn(&w, writer_after_park, &x, NULL), 0);
	ck_assert_int_eq(join_ok(w), (int)sizeof(DATA));
	ck_assert_int_eq(join_ok(r), 0);
	ck_assert_int_eq(x.r, (int)sizeof(DATA));
	ck_assert_mem_eq(x.buf, DATA, sizeof(DATA));
	assert_canary(x.buf + sizeof(DATA), sizeof(x.buf) - sizeof(DATA));
	close_pipe(x.p);
	return 0;
}

START_TEST(read_parks_until_write)
{
	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_read_parks, NULL), 0);
}
END_TEST

struct cb_op {
	struct weft__op op;
	struct io_uring_sqe *sqe;
	bool ran;
};

static void cb_op_start(void *arg)
{
	struct cb_op *c = arg;

	c->sqe = weft__op_start(&c->op);
	c->ran = true;
}

static int m_op_start_callback(void *arg)
{
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), cb_op_start, arg), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	return 0;
}

START_TEST(op_start_outside_fiber)
{
	struct weft__op op = {.res = 1};
	struct cb_op c = {.op.res = 1};

	g_mode = ring_modes[_i];
	/* No loop at all. */
	ck_assert_ptr_null(weft__op_start(&op));
	ck_assert_int_eq(op.res, -EPERM);
	/* A loop callback: a loop, but no task to park. */
	ck_assert_int_eq(run_main(m_op_start_callback, &c), 0);
	ck_assert(c.ran);
	ck_assert_ptr_null(c.sqe);
	ck_assert_int_eq(c.op.res, -EPERM);
}
END_TEST

/* ---- cancel and deadline while parked on I/O -------------------------------------------- */

static int m_cancel_parked_read(void *arg)
{
	struct rd x;
	weft_task *r;
	int64_t t0 = weft_now();

	rd_init(&x);
	ck_assert_int_eq(weft_task_spawn(&r, reader_fn, &x, NULL), 0);
	yield_until_parked(r);
	ck_assert_int_eq(weft_task_cancel(r), 0);
	ck_assert_int_eq(join_ok(r), 0);
	ck_assert_int_eq(x.r, -ECANCELED);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	prove_buffer_safe(&x);
	close_pipe(x.p);
	return 0;
}

START_TEST(cancel_parked_read_buffer_safe)
{
	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_cancel_parked_read, NULL), 0);
}
END_TEST

static int m_deadline_parked_read(void *arg)
{
	struct rd x;
	weft_task *r;
	int64_t t0 = weft_now();

	rd_init(&x);
	x.deadline = t0 + 20 * WEFT_MSEC;
	ck_assert_int_eq(weft_task_spawn(&r, reader_fn, &x, NULL), 0);
	ck_assert_int_eq(join_ok(r), 0);
	ck_assert_int_eq(x.r, -ETIMEDOUT);
	ck_assert_int_eq(x.exit_r, -ETIMEDOUT);
	ck_assert_int_ge(weft_now(), x.deadline);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	prove_buffer_safe(&x);
	close_pipe(x.p);
	return 0;
}

START_TEST(deadline_parked_read_buffer_safe)
{
	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_deadline_parked_read, NULL), 0);
}
END_TEST

struct race_stats {
	int got_data, got_cancel;
};

/* Data and a cancel arrive in the same turn: either the read returns the data, or it reports the
 * cancel and the data is still in the pipe. Never both lost. */
static int m_read_race(void *arg)
{
	struct race_stats *st = arg;

	for (int i = 0; i < 40; i++) {
		struct rd x;
		weft_task *r;
		unsigned char fresh[BUF_LEN];

		rd_init(&x);
		ck_assert_int_eq(weft_task_spawn(&r, reader_fn, &x, NULL), 0);
		yield_until_parked(r);
		if (i % 2) {
			ck_assert_int_eq(write(x.p[1], DATA, sizeof(DATA)), (ssize_t)sizeof(DATA));
			ck_assert_int_eq(weft_task_cancel(r), 0);
		} else {
			ck_assert_int_eq(weft_task_cancel(r), 0);
			ck_assert_int_eq(write(x.p[1], DATA, sizeof(DATA)), (ssize_t)sizeof(DATA));
		}
		ck_assert_int_eq(join_ok(r), 0);
		run_turns();
		if (x.r == (int)sizeof(DATA)) {
			st->got_data++;
			ck_assert_mem_eq(x.buf, DATA, sizeof(DATA));
			assert_canary(x.buf + sizeof(DATA), sizeof(x.buf) - sizeof(DATA));
			ck_assert_int_eq(pipe_bytes(x.p[0]), 0);
		} else {
			st->got_cancel++;
			ck_assert_int_eq(x.r, -ECANCELED);
			assert_canary(x.buf, sizeof(x.buf));
			ck_assert_int_eq(pipe_bytes(x.p[0]), (int)sizeof(DATA));
			ck_assert_int_eq(op_read(x.p[0], fresh, sizeof(fresh)), (int)sizeof(DATA));
			ck_assert_mem_eq(fresh, DATA, sizeof(DATA));
			assert_canary(x.buf, sizeof(x.buf));
		}
		close_pipe(x.p);
	}
	return 0;
}

START_TEST(read_races_cancel)
{
	struct race_stats st = {0};

	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_read_race, &st), 0);
	ck_assert_int_eq(st.got_data + st.got_cancel, 40);
	if (getenv("WEFT_TEST_VERBOSE"))
		fprintf(stderr, "mode %u: data %d, cancelled %d\n", g_mode, st.got_data,
			st.got_cancel);
}
END_TEST

/* ---- nothing submitted ------------------------------------------------------------------ */

static void assert_refused(int expect)
{
	struct weft_loop *loop = weft__loop();
	unsigned sq0 = weft__sq_queued(loop), inflight0 = loop->inflight;
	struct weft__op op = {.res = 1};
	unsigned char buf[BUF_LEN];
	int p[2];

	ck_assert_ptr_null(weft__op_start(&op));
	ck_assert_int_eq(op.res, expect);
	ck_assert_uint_eq(weft__sq_queued(loop), sq0);
	ck_assert_uint_eq(loop->inflight, inflight0);

	/* A real read: refused before anything reaches the kernel, the data stays put. */
	make_pipe(p);
	memset(buf, CANARY, sizeof(buf));
	ck_assert_int_eq(write(p[1], DATA, sizeof(DATA)), (ssize_t)sizeof(DATA));
	ck_assert_int_eq(op_read(p[0], buf, sizeof(buf)), expect);
	ck_assert_uint_eq(weft__sq_queued(loop), sq0);
	ck_assert_uint_eq(loop->inflight, inflight0);
	assert_canary(buf, sizeof(buf));
	ck_assert_int_eq(pipe_bytes(p[0]), (int)sizeof(DATA));
	close_pipe(p);
}

static int yield_then_refused(void *arg)
{
	int *stage = arg;

	*stage = 1;
	/* Cancelled while queued behind this yield: the yield itself completed. */
	ck_assert_int_eq(weft_yield(), 0);
	*stage = 2;
	assert_refused(-ECANCELED);
	return 0;
}

static int m_cancel_before_submit(void *arg)
{
	weft_task *t;
	int stage = 0;
	weft_scope s;

	ck_assert_int_eq(weft_task_spawn(&t, yield_then_refused, &stage, NULL), 0);
	while (stage != 1)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_READY);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(stage, 2);

	/* A deadline already past: the same, with -ETIMEDOUT. */
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() - 1, 0), 0);
	assert_refused(-ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);

	/* The task cancelling itself. */
	ck_assert_int_eq(weft_task_cancel(weft_task_current()), 0);
	assert_refused(-ECANCELED);
	return 0;
}

START_TEST(cancel_before_submit)
{
	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_cancel_before_submit, NULL), 0);
}
END_TEST

/* ---- a full SQ, an overflowing CQ ------------------------------------------------------- */

#define SQ_TASKS 200
#define SQ_PIPES 67

struct sq_load {
	int pipes[SQ_PIPES][2];
	unsigned char in[SQ_PIPES][8];
};

struct sq_job {
	struct sq_load *load;
	int kind, k;
};

static int sq_job_fn(void *arg)
{
	struct sq_job *j = arg;
	struct sq_load *l = j->load;
	unsigned char out[8];

	switch (j->kind) {
	case 0:
		return op_nop();
	case 1:
		return op_read(l->pipes[j->k][0], l->in[j->k], sizeof(l->in[j->k]));
	default:
		memset(out, 'a' + j->k % 26, sizeof(out));
		return op_write(l->pipes[j->k][1], out, sizeof(out));
	}
}

static int m_full_sq(void *arg)
{
	static struct sq_load load;
	struct sq_job jobs[SQ_TASKS];
	weft_task *tasks[SQ_TASKS];
	int i, k = 0, n = 0;

	for (i = 0; i < SQ_PIPES; i++)
		make_pipe(load.pipes[i]);
	memset(load.in, 0, sizeof(load.in));
	/* Readers first, so most of them park before their writers run. */
	for (i = 0; i < SQ_PIPES; i++)
		jobs[n++] = (struct sq_job){&load, 1, i};
	while (n < SQ_TASKS) {
		if (k < SQ_PIPES)
			jobs[n++] = (struct sq_job){&load, 2, k++};
		if (n < SQ_TASKS)
			jobs[n++] = (struct sq_job){&load, 0, 0};
	}
	ck_assert_int_eq(k, SQ_PIPES);
	for (i = 0; i < SQ_TASKS; i++)
		ck_assert_int_eq(weft_task_spawn(&tasks[i], sq_job_fn, &jobs[i], NULL), 0);
	for (i = 0; i < SQ_TASKS; i++)
		ck_assert_int_eq(join_ok(tasks[i]), jobs[i].kind == 0 ? 0 : 8);
	for (i = 0; i < SQ_PIPES; i++) {
		for (int b = 0; b < 8; b++)
			ck_assert_int_eq(load.in[i][b], 'a' + i % 26);
		close_pipe(load.pipes[i]);
	}
	return 0;
}

START_TEST(full_sq_no_lost_completions)
{
	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_sized(m_full_sq, NULL, 8, 0), 0);
}
END_TEST

#define CQ_TASKS 500

static int nop_fn(void *arg)
{
	int *ok = arg;
	int r = op_nop();

	if (r == 0)
		(*ok)++;
	return r;
}

static int m_cq_overflow(void *arg)
{
	static weft_task *tasks[CQ_TASKS];
	int ok = 0;

	/* All spawned before any runs: they start their NOPs in the same turn. */
	for (int i = 0; i < CQ_TASKS; i++)
		ck_assert_int_eq(weft_task_spawn(&tasks[i], nop_fn, &ok, NULL), 0);
	for (int i = 0; i < CQ_TASKS; i++)
		ck_assert_int_eq(join_ok(tasks[i]), 0);
	ck_assert_int_eq(ok, CQ_TASKS);
	return 0;
}

START_TEST(cq_overflow_all_wake)
{
	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_sized(m_cq_overflow, NULL, 8, 8), 0);
}
END_TEST

/* ---- stale cancels against a reused record ---------------------------------------------- */

#define REUSE_ITERS 30

struct reuse {
	int p[2];
	bool racing; /* the controller writes and cancels in the same turn */
	weft_scope *scope;
	int phase, done_iter;
	int r1, r2;
	unsigned char buf[16];
};

static const char *chunk(int i, int which)
{
	static char c[2][16];

	memset(c[which], 'A' + (i * 2 + which) % 26, sizeof(c[which]));
	return c[which];
}

static int reuse_reader(void *arg)
{
	struct reuse *x = arg;
	struct weft__op op; /* one record, one address, for every read */

	for (int i = 0; i < REUSE_ITERS; i++) {
		weft_scope s;

		ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
		x->scope = &s;
		x->phase = 1;
		memset(x->buf, CANARY, sizeof(x->buf));
		x->r1 = op_read_with(&op, x->p[0], x->buf, sizeof(x->buf));
		x->scope = NULL;
		/* The scope caught the cancellation only if the read returned it. */
		ck_assert_int_eq(weft_scope_exit(&s), x->r1 < 0 ? -ECANCELED : 0);
		if (x->r1 == (int)sizeof(x->buf)) {
			ck_assert(x->racing);
			ck_assert_mem_eq(x->buf, chunk(i, 0), sizeof(x->buf));
		} else {
			ck_assert_int_eq(x->r1, -ECANCELED);
			assert_canary(x->buf, sizeof(x->buf));
		}
		/* Straight into the next read on the same record: the first one's ASYNC_CANCEL
		 * must not hit it. */
		x->phase = 2;
		memset(x->buf, CANARY, sizeof(x->buf));
		x->r2 = op_read_with(&op, x->p[0], x->buf, sizeof(x->buf));
		ck_assert_int_eq(x->r2, (int)sizeof(x->buf));
		ck_assert_mem_eq(x->buf, chunk(i, x->r1 > 0 ? 1 : 0), sizeof(x->buf));
		x->phase = 0;
		x->done_iter = i + 1;
	}
	return 0;
}

static int m_stale_cancel(void *arg)
{
	struct reuse x = {.racing = *(bool *)arg};
	weft_task *t;

	make_pipe(x.p);
	ck_assert_int_eq(weft_task_spawn(&t, reuse_reader, &x, NULL), 0);
	for (int i = 0; i < REUSE_ITERS; i++) {
		while (x.phase != 1 || weft_task_state(t) != WEFT_TASK_PARKED)
			ck_assert_int_eq(weft_yield(), 0);
		if (x.racing)
			ck_assert_int_eq(write(x.p[1], chunk(i, 0), 16), 16);
		weft_scope_cancel(x.scope);
		while (x.phase != 2)
			ck_assert_int_eq(weft_yield(), 0);
		/* A racing first read that got chunk 0 leaves the second one waiting for more. */
		if (!x.racing)
			ck_assert_int_eq(x.r1, -ECANCELED);
		if (!x.racing || x.r1 > 0) {
			yield_until_parked(t);
			ck_assert_int_eq(write(x.p[1], chunk(i, x.racing ? 1 : 0), 16), 16);
		}
		while (x.done_iter != i + 1)
			ck_assert_int_eq(weft_yield(), 0);
		ck_assert_int_eq(pipe_bytes(x.p[0]), 0);
	}
	ck_assert_int_eq(join_ok(t), 0);
	close_pipe(x.p);
	return 0;
}

START_TEST(stale_cancel_misses_reused_record)
{
	bool racing = false;

	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_stale_cancel, &racing), 0);
}
END_TEST

START_TEST(stale_cancel_misses_reused_record_racing)
{
	bool racing = true;

	g_mode = ring_modes[_i];
	ck_assert_int_eq(run_main(m_stale_cancel, &racing), 0);
}
END_TEST

/* ---- loop close ------------------------------------------------------------------------- */

struct close_ctl {
	weft_task *reader;
};

static int close_ctl_fn(void *arg)
{
	struct close_ctl *c = arg;

	yield_until_parked(c->reader);
	return 0;
}

START_TEST(loop_close_cancels_parked_read)
{
	struct weft_loop_opts o = {0};
	struct close_ctl c;
	weft_loop *loop;
	weft_task *ctl;
	struct rd x;
	int st = -1;

	g_mode = ring_modes[_i];
	o.ring_flags = g_mode;
	rd_init(&x);
	ck_assert_int_eq(weft_loop_new(&loop, &o), 0);
	ck_assert_int_eq(weft_loop_spawn(loop, &c.reader, reader_fn, &x, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(loop, &ctl, close_ctl_fn, &c, NULL), 0);
	ck_assert_int_eq(weft_loop_run_until(loop, ctl, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(x.r, 1); /* still parked */
	/* One task was still running; close cancels it and waits for its CQE. The handle nobody
	 * joined is freed with the loop. */
	ck_assert_int_eq(weft_loop_close(loop), 1);
	ck_assert_int_eq(x.r, -ECANCELED);
	assert_canary(x.buf, sizeof(x.buf));
	ck_assert_int_eq(write(x.p[1], DATA, sizeof(DATA)), (ssize_t)sizeof(DATA));
	usleep(10000);
	assert_canary(x.buf, sizeof(x.buf));
	ck_assert_int_eq(pipe_bytes(x.p[0]), (int)sizeof(DATA));
	close_pipe(x.p);
}
END_TEST

/* ---- a descriptor number closed and reused ---------------------------------------------- */

struct reuse_pipe {
	int p[2];
	char got;
};

static int reuse_writer(void *arg)
{
	struct reuse_pipe *x = arg;

	ck_assert_int_eq(weft_yield(), 0); /* the reader parks first */
	ck_assert_int_eq(write(x->p[1], "z", 1), 1);
	return 0;
}

/* A read that must park, then data from another fiber: needs a working wait on this number. */
static int reuse_main(void *arg)
{
	struct reuse_pipe *x = arg;
	weft_task *w;

	ck_assert_int_eq(weft_task_spawn(&w, reuse_writer, x, NULL), 0);
	ck_assert_int_eq(op_read(x->p[0], &x->got, 1), 1);
	return join_ok(w);
}

/* Closed through weft__fd_close from plain code between runs, the numbers come back for a new
 * (blocking) pipe: the readiness backend must not keep the old registration or the old
 * O_NONBLOCK, or the second read hangs the loop. */
static weft_task *spawn_in(weft_loop *l, int (*fn)(void *), void *arg)
{
	weft_task *t;

	ck_assert_int_eq(weft_loop_spawn(l, &t, fn, arg, NULL), 0);
	return t;
}

START_TEST(reused_number_starts_afresh)
{
	struct weft_loop_opts o = {.ring_flags = ring_modes[_i]};
	struct reuse_pipe x = {0};
	weft_loop *l;
	int first[2];

	ck_assert_int_eq(weft_loop_new(&l, &o), 0);
	make_pipe(x.p);
	first[0] = x.p[0];
	first[1] = x.p[1];
	ck_assert_int_eq(weft_loop_run_until(l, spawn_in(l, reuse_main, &x), NULL), 0);
	ck_assert_int_eq(x.got, 'z');
	weft__fd_close(x.p[0]); /* no loop runs here */
	weft__fd_close(x.p[1]);
	make_pipe(x.p);
	ck_assert_int_eq(x.p[0], first[0]);
	ck_assert_int_eq(x.p[1], first[1]);
	x.got = 0;
	ck_assert_int_eq(weft_loop_run_until(l, spawn_in(l, reuse_main, &x), NULL), 0);
	ck_assert_int_eq(x.got, 'z');
	close_pipe(x.p);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

/* Readiness backend: a fiber parked on a descriptor that another fiber closes through
 * weft__fd_close wakes with -EBADF, even if a new descriptor has taken the number meanwhile
 * (it must never call again on that one). On io_uring the kernel keeps the old file. */
struct closing {
	int fd;
	int r;
};

static int read_closing(void *arg)
{
	struct closing *c = arg;
	char b;

	c->r = op_read(c->fd, &b, 1);
	return 0;
}

static int close_under_reader_main(void *arg)
{
	struct closing c = {.r = 1};
	int p[2], q[2];
	weft_task *t;

	if (weft_loop_backend(weft_loop_current()) != WEFT_BACKEND_EPOLL) {
		fprintf(stderr,
			"close_under_reader: skipped on io_uring (the kernel keeps the file)\n");
		return 0;
	}
	make_pipe(p);
	c.fd = p[0];
	ck_assert_int_eq(weft_task_spawn(&t, read_closing, &c, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft__fd_close(p[0]), 0);
	make_pipe(q); /* takes the number the reader waits on */
	ck_assert_int_eq(q[0], p[0]);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(c.r, -EBADF);
	weft__fd_close(p[1]);
	close_pipe(q);
	return 0;
}

START_TEST(close_under_reader)
{
	ck_assert_int_eq(run_main(close_under_reader_main, NULL), 0);
}
END_TEST

static Suite *op_suite(void)
{
	Suite *s = suite_create("op");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_add_loop_test(tc, ring_mode_applied, 0, NMODES);
	tcase_add_loop_test(tc, nop_returns_0, 0, NMODES);
	tcase_add_loop_test(tc, read_parks_until_write, 0, NMODES);
	tcase_add_loop_test(tc, op_start_outside_fiber, 0, NMODES);
	suite_add_tcase(s, tc);

	tc = tcase_create("interrupt");
	tcase_add_loop_test(tc, cancel_parked_read_buffer_safe, 0, NMODES);
	tcase_add_loop_test(tc, deadline_parked_read_buffer_safe, 0, NMODES);
	tcase_add_loop_test(tc, read_races_cancel, 0, NMODES);
	tcase_add_loop_test(tc, cancel_before_submit, 0, NMODES);
	tcase_add_loop_test(tc, stale_cancel_misses_reused_record, 0, NMODES);
	tcase_add_loop_test(tc, stale_cancel_misses_reused_record_racing, 0, NMODES);
	tcase_add_loop_test(tc, loop_close_cancels_parked_read, 0, NMODES);
	tcase_add_loop_test(tc, reused_number_starts_afresh, 0, NMODES);
	tcase_add_test(tc, close_under_reader);
	suite_add_tcase(s, tc);

	tc = tcase_create("pressure");
	tcase_add_loop_test(tc, full_sq_no_lost_completions, 0, NMODES);
	tcase_add_loop_test(tc, cq_overflow_all_wake, 0, NMODES);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(op_suite)

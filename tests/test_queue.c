/* SPDX-License-Identifier: MIT */
/*
 * Fiber queues: ordering (FIFO, LIFO, stable priority), blocking and hand-off to parked getters
 * and putters, cancellation and deadlines of waiters, try variants, task_done/join, shutdown,
 * misuse errors, and producer/consumer stress (also under a storm of timeouts and cancels).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft.h>
#include <weft/queue.h>
#include "check_main.h"

/* ---- helpers ------------------------------------------------------------------------------ */

#define ITEM(n)		((void *)(uintptr_t)(n))
#define VAL(p)		((uintptr_t)(p))
#define NOTHING		ITEM(0xdeadbeef)
#define PENDING		12345
#define PRIO(p)		((uintptr_t)(p) >> 32)
#define PITEM(prio, id) ITEM(((uint64_t)(prio) << 32) | (uint64_t)(id))

/* Check reports every passing ck_assert to the parent process (one write each): far too slow for
 * the hot loops, which check with this instead. */
#define HOT_EQ(a, b) HOT_CHECK((a) == (b))
#define HOT_LT(a, b) HOT_CHECK((a) < (b))
#define HOT_CHECK(cond)                                                       \
	do {                                                                  \
		if (!(cond))                                                  \
			ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond); \
	} while (0)

static int run_main(int (*fn)(void *), void *arg)
{
	return weft_run(fn, arg, NULL);
}

static weft_queue *new_queue(enum weft_queue_kind kind, size_t maxsize)
{
	weft_queue *q = NULL;

	ck_assert_int_eq(weft_queue_new(NULL, &q, kind, maxsize, NULL, NULL), 0);
	ck_assert_ptr_nonnull(q);
	ck_assert(weft_queue_empty(q));
	ck_assert_uint_eq(weft_queue_size(q), 0);
	ck_assert_uint_eq(weft_queue_maxsize(q), maxsize);
	return q;
}

/* Compare the priority in the upper 32 bits only, so the id in the lower bits shows stability. */
static int prio_cmp(const void *a, const void *b, void *ctx)
{
	uintptr_t pa = PRIO(a), pb = PRIO(b);

	HOT_EQ(ctx, (void *)prio_cmp);
	return pa < pb ? -1 : pa > pb;
}

static weft_queue *new_prio_queue(size_t maxsize)
{
	weft_queue *q = NULL;

	ck_assert_int_eq(
	    weft_queue_new(NULL, &q, WEFT_QUEUE_PRIORITY, maxsize, prio_cmp, (void *)prio_cmp), 0);
	return q;
}

static void *get_now(weft_queue *q)
{
	void *v = NOTHING;

	HOT_EQ(weft_queue_try_get(q, &v), 0);
	return v;
}

/* A task doing one put or get and recording what came back. */
struct op {
	weft_queue *q;
	void *item;
	int ret;
	int next_ret; /* a blocking call after it: shows a cancel that arrived after a hand-off */
	int seq;      /* completion order */
};

static int completions;

static int getter_task(void *arg)
{
	struct op *o = arg;

	o->item = NOTHING;
	o->ret = weft_queue_get(o->q, &o->item);
	o->seq = completions++;
	o->next_ret = weft_yield();
	return o->ret;
}

static int putter_task(void *arg)
{
	struct op *o = arg;

	o->ret = weft_queue_put(o->q, o->item);
	o->seq = completions++;
	o->next_ret = weft_yield();
	return o->ret;
}

static int joiner_task(void *arg)
{
	struct op *o = arg;

	o->ret = weft_queue_join(o->q);
	o->seq = completions++;
	return o->ret;
}

static weft_task *spawn_op(struct op *o, weft_queue *q, weft_task_fn fn, void *item)
{
	weft_task *t;

	*o = (struct op){.q = q, .item = item, .ret = PENDING, .next_ret = PENDING, .seq = -1};
	ck_assert_int_eq(weft_task_spawn(&t, fn, o, NULL), 0);
	return t;
}

static void join_ok(weft_task *t, int want)
{
	int st = PENDING;

	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, want);
}

/* ---- ordering ------------------------------------------------------------------------------ */

static int fifo_lifo_main(void *arg)
{
	weft_queue *f = new_queue(WEFT_QUEUE_FIFO, 0), *l = new_queue(WEFT_QUEUE_LIFO, 0);

	for (uintptr_t i = 1; i <= 5; i++) {
		ck_assert_int_eq(weft_queue_put(f, ITEM(i)), 0);
		ck_assert_int_eq(weft_queue_put(l, ITEM(i)), 0);
	}
	ck_assert_int_eq(weft_queue_put(f, NULL), 0); /* NULL is an item like any other */
	ck_assert_uint_eq(weft_queue_size(f), 6);
	ck_assert(!weft_queue_full(f)); /* unbounded */
	for (uintptr_t i = 1; i <= 5; i++) {
		void *a = NOTHING, *b = NOTHING;
		ck_assert_int_eq(weft_queue_get(f, &a), 0);
		ck_assert_int_eq(weft_queue_get(l, &b), 0);
		ck_assert_uint_eq(VAL(a), i);
		ck_assert_uint_eq(VAL(b), 6 - i);
	}
	ck_assert_ptr_null(get_now(f));
	ck_assert(weft_queue_empty(f) && weft_queue_empty(l));

	/* LIFO interleaved: always the newest. */
	ck_assert_int_eq(weft_queue_put(l, ITEM(1)), 0);
	ck_assert_int_eq(weft_queue_put(l, ITEM(2)), 0);
	ck_assert_uint_eq(VAL(get_now(l)), 2);
	ck_assert_int_eq(weft_queue_put(l, ITEM(3)), 0);
	ck_assert_uint_eq(VAL(get_now(l)), 3);
	ck_assert_uint_eq(VAL(get_now(l)), 1);
	ck_assert_int_eq(weft_queue_free(f), 0);
	ck_assert_int_eq(weft_queue_free(l), 0);
	return 0;
}

START_TEST(order_fifo_lifo)
{
	ck_assert_int_eq(run_main(fifo_lifo_main, NULL), 0);
}
END_TEST

/* The ring grows while wrapped (head in the middle) and keeps the order. */
static int fifo_growth_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 0);
	uintptr_t next_in = 0, next_out = 0;

	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < 7 + round % 13; i++)
			HOT_EQ(weft_queue_try_put(q, ITEM(next_in++)), 0);
		for (int i = 0; i < 5; i++)
			HOT_EQ(VAL(get_now(q)), next_out++);
		HOT_EQ(weft_queue_size(q), next_in - next_out);
	}
	while (next_out < next_in)
		HOT_EQ(VAL(get_now(q)), next_out++);
	HOT_CHECK(weft_queue_empty(q));
	HOT_EQ(weft_queue_free(q), 0);
	return 0;
}

START_TEST(fifo_growth_wrapped)
{
	ck_assert_int_eq(run_main(fifo_growth_main, NULL), 0);
}
END_TEST

static int priority_main(void *arg)
{
	weft_queue *q = new_prio_queue(0);
	static const unsigned prios[] = {5, 1, 3, 1, 5, 0, 3, 1, 9, 0};
	static const unsigned want[] = {5, 9, 1, 3, 7,
					2, 6, 0, 4, 8}; /* ids, by (prio, put order) */

	for (unsigned i = 0; i < 10; i++)
		ck_assert_int_eq(weft_queue_put(q, PITEM(prios[i], i)), 0);
	ck_assert_uint_eq(weft_queue_size(q), 10);
	for (unsigned i = 0; i < 10; i++) {
		void *v = NOTHING;
		ck_assert_int_eq(weft_queue_get(q, &v), 0);
		ck_assert_uint_eq(VAL(v) & 0xffffffff, want[i]);
	}
	ck_assert_int_eq(weft_queue_try_get(q, &(void *){NULL}), -EAGAIN);
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(order_priority_stable)
{
	ck_assert_int_eq(run_main(priority_main, NULL), 0);
}
END_TEST

/* Random interleaving of puts and gets against a brute-force model: among the items present,
 * the smallest priority, then the earliest put. */
static int priority_random_main(void *arg)
{
	enum { N = 6000 };
	weft_queue *q = new_prio_queue(0);
	static uint64_t present[N]; /* items in the model, in put order */
	size_t npresent = 0;
	unsigned seed = 12345, id = 0;

	for (int step = 0; step < 3 * N; step++) {
		seed = seed * 1103515245u + 12345u;
		bool put = id < N && (npresent == 0 || (seed >> 16) % 5 < 3);
		if (put) {
			uint64_t it = ((uint64_t)((seed >> 8) % 7) << 32) | id++;
			present[npresent++] = it;
			HOT_EQ(weft_queue_try_put(q, ITEM(it)), 0);
		} else if (npresent) {
			size_t best = 0;
			for (size_t i = 1; i < npresent; i++)
				if ((present[i] >> 32) < (present[best] >> 32))
					best = i;
			HOT_EQ(VAL(get_now(q)), present[best]);
			memmove(&present[best], &present[best + 1],
				(npresent - best - 1) * sizeof(present[0]));
			npresent--;
		}
		HOT_EQ(weft_queue_size(q), npresent);
	}
	HOT_EQ(weft_queue_free(q), 0);
	return 0;
}

START_TEST(order_priority_random)
{
	ck_assert_int_eq(run_main(priority_random_main, NULL), 0);
}
END_TEST

/* ---- blocking and hand-off ------------------------------------------------------------------ */

static int bounded_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 2);
	struct op p;
	weft_task *t;

	ck_assert_int_eq(weft_queue_put(q, ITEM(1)), 0);
	ck_assert_int_eq(weft_queue_put(q, ITEM(2)), 0);
	ck_assert(weft_queue_full(q));
	t = spawn_op(&p, q, putter_task, ITEM(3));
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	ck_assert_int_eq(p.ret, PENDING);
	ck_assert_uint_eq(weft_queue_size(q), 2);

	/* The get hands the freed slot to the putter at once: still full, putter done. */
	ck_assert_uint_eq(VAL(get_now(q)), 1);
	ck_assert_uint_eq(weft_queue_size(q), 2);
	ck_assert(weft_queue_full(q));
	join_ok(t, 0);
	ck_assert_int_eq(p.next_ret, 0);
	ck_assert_uint_eq(VAL(get_now(q)), 2);
	ck_assert_uint_eq(VAL(get_now(q)), 3);
	ck_assert(weft_queue_empty(q));
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(bounded_put_blocks_until_get)
{
	ck_assert_int_eq(run_main(bounded_main, NULL), 0);
}
END_TEST

static int get_blocks_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_LIFO, 0);
	struct op g;
	weft_task *t = spawn_op(&g, q, getter_task, NULL);

	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	ck_assert_int_eq(g.ret, PENDING);
	ck_assert_int_eq(weft_queue_put(q, ITEM(7)), 0);
	/* Handed over directly: it never sat in the queue, so a second put stays. */
	ck_assert_uint_eq(weft_queue_size(q), 0);
	ck_assert_int_eq(weft_queue_put(q, ITEM(8)), 0);
	join_ok(t, 0);
	ck_assert_uint_eq(VAL(g.item), 7);
	ck_assert_uint_eq(VAL(get_now(q)), 8);
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(get_blocks_until_put)
{
	ck_assert_int_eq(run_main(get_blocks_main, NULL), 0);
}
END_TEST

/* Getters are served in arrival order; one cancelled while parked gets nothing and swallows
 * nothing; one cancelled after it was served keeps its item. */
static int getters_cancel_main(void *arg)
{
	enum { N = 12, CANCEL_PARKED = 4, CANCEL_SERVED = 7 };
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 0);
	struct op g[N];
	weft_task *t[N];
	int seen[N] = {0};
	uintptr_t item = 0;

	completions = 0;
	for (int i = 0; i < N; i++)
		t[i] = spawn_op(&g[i], q, getter_task, NULL);
	ck_assert_int_eq(weft_yield(), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(weft_task_state(t[i]), WEFT_TASK_PARKED);

	/* Serve the first half one by one, letting each getter run. */
	for (int i = 0; i < CANCEL_PARKED; i++) {
		ck_assert_int_eq(weft_queue_put(q, ITEM(item++)), 0);
		ck_assert_int_eq(weft_yield(), 0);
	}
	ck_assert_int_eq(weft_task_cancel(t[CANCEL_PARKED]), 0);
	/* Serve the rest without yielding, then cancel one that was served but has not run. */
	for (int i = CANCEL_PARKED + 1; i < N; i++)
		ck_assert_int_eq(weft_queue_put(q, ITEM(item++)), 0);
	ck_assert_int_eq(weft_task_cancel(t[CANCEL_SERVED]), 0);
	ck_assert_uint_eq(weft_queue_size(q), 0);

	for (int i = 0; i < N; i++) {
		join_ok(t[i], i == CANCEL_PARKED ? -ECANCELED : 0);
		if (i == CANCEL_PARKED) {
			ck_assert_ptr_eq(g[i].item, NOTHING);
			continue;
		}
		/* FIFO: the k-th parked getter (skipping the cancelled one) got item k. */
		ck_assert_uint_eq(VAL(g[i].item), i < CANCEL_PARKED ? i : i - 1);
		seen[VAL(g[i].item)]++;
		/* The cancel reached the served getter at its next blocking call. */
		ck_assert_int_eq(g[i].next_ret, i == CANCEL_SERVED ? -ECANCELED : 0);
	}
	for (uintptr_t k = 0; k < item; k++)
		ck_assert_int_eq(seen[k], 1);
	ck_assert(weft_queue_empty(q));
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(getters_handoff_cancel_middle)
{
	ck_assert_int_eq(run_main(getters_cancel_main, NULL), 0);
}
END_TEST

/* Putters parked on a full queue get the freed slots in arrival order; a cancelled one's item
 * is never inserted. Also with LIFO and priority storage. */
static void putters_fifo(weft_queue *q, void *first)
{
	enum { N = 6, CANCEL = 2 };
	struct op p[N];
	weft_task *t[N];

	ck_assert_int_eq(weft_queue_put(q, first), 0);
	ck_assert(weft_queue_full(q));
	for (int i = 0; i < N; i++)
		t[i] = spawn_op(&p[i], q, putter_task, PITEM(0, 100 + i));
	ck_assert_int_eq(weft_yield(), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(weft_task_state(t[i]), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_task_cancel(t[CANCEL]), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(p[CANCEL].ret, -ECANCELED);

	ck_assert_ptr_eq(get_now(q), first);
	for (int i = 0; i < N; i++) {
		void *v = NOTHING;
		if (i == CANCEL)
			continue;
		ck_assert_int_eq(weft_queue_get(q, &v), 0);
		ck_assert_uint_eq(VAL(v), 100 + i);
	}
	ck_assert(weft_queue_empty(q));
	ck_assert_int_eq(weft_queue_try_get(q, &(void *){NULL}), -EAGAIN);
	for (int i = 0; i < N; i++)
		join_ok(t[i], i == CANCEL ? -ECANCELED : 0);
	ck_assert_int_eq(weft_queue_free(q), 0);
}

static int putters_fifo_main(void *arg)
{
	completions = 0;
	putters_fifo(new_queue(WEFT_QUEUE_FIFO, 1), PITEM(0, 1));
	putters_fifo(new_queue(WEFT_QUEUE_LIFO, 1), PITEM(0, 1));
	putters_fifo(new_prio_queue(1), PITEM(0, 1));
	return 0;
}

START_TEST(putters_handoff_fifo_cancel)
{
	ck_assert_int_eq(run_main(putters_fifo_main, NULL), 0);
}
END_TEST

/* ---- deadlines and cancellation ------------------------------------------------------------- */

static int deadline_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 1);
	weft_scope s;
	void *v = NOTHING;
	int64_t deadline;

	/* get on an empty queue */
	deadline = weft_now() + 5 * WEFT_MSEC;
	ck_assert_int_eq(weft_scope_enter(&s, deadline, 0), 0);
	ck_assert_int_eq(weft_queue_get(q, &v), -ETIMEDOUT);
	ck_assert_int_ge(weft_now(), deadline);
	ck_assert_ptr_eq(v, NOTHING);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);

	/* put on a full queue: the item is not inserted */
	ck_assert_int_eq(weft_queue_put(q, ITEM(1)), 0);
	deadline = weft_now() + 5 * WEFT_MSEC;
	ck_assert_int_eq(weft_scope_enter(&s, deadline, 0), 0);
	ck_assert_int_eq(weft_queue_put(q, ITEM(2)), -ETIMEDOUT);
	ck_assert_int_ge(weft_now(), deadline);
	/* Past the deadline, even a get that could complete at once reports it, taking nothing. */
	ck_assert_int_eq(weft_queue_get(q, &v), -ETIMEDOUT);
	ck_assert_uint_eq(weft_queue_size(q), 1);
	/* The try variants are not cancellation points. */
	ck_assert_uint_eq(VAL(get_now(q)), 1);
	ck_assert_int_eq(weft_queue_try_put(q, ITEM(3)), 0);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert_uint_eq(VAL(get_now(q)), 3);

	/* join with an unfinished item */
	deadline = weft_now() + 5 * WEFT_MSEC;
	ck_assert_int_eq(weft_scope_enter(&s, deadline, 0), 0);
	ck_assert_int_eq(weft_queue_join(q), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);

	/* A cancelled scope */
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	weft_scope_cancel(&s);
	ck_assert_int_eq(weft_queue_get(q, &v), -ECANCELED);
	ck_assert_int_eq(weft_queue_join(q), -ECANCELED);
	ck_assert_int_eq(weft_scope_exit(&s), -ECANCELED);

	ck_assert_int_eq(weft_queue_free(q), 0); /* no waiter left behind */
	return 0;
}

START_TEST(deadlines_and_scopes)
{
	ck_assert_int_eq(run_main(deadline_main, NULL), 0);
}
END_TEST

struct cancelled_arg {
	weft_queue *q;
	int sleep_ret, get_ret, put_ret, try_ret;
	void *got;
};

static int cancelled_task(void *arg)
{
	struct cancelled_arg *a = arg;

	a->sleep_ret = weft_sleep(10 * WEFT_SEC);
	a->got = NOTHING;
	a->get_ret = weft_queue_get(a->q, &a->got);
	a->put_ret = weft_queue_put(a->q, ITEM(99));
	a->try_ret = weft_queue_try_get(a->q, &a->got);
	return 0;
}

/* In a cancelled task put and get fail at once even when they could complete. */
static int cancelled_task_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 0);
	struct cancelled_arg a = {.q = q};
	weft_task *t;

	ck_assert_int_eq(weft_queue_put(q, ITEM(5)), 0);
	ck_assert_int_eq(weft_task_spawn(&t, cancelled_task, &a, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	join_ok(t, 0);
	ck_assert_int_eq(a.sleep_ret, -ECANCELED);
	ck_assert_int_eq(a.get_ret, -ECANCELED);
	ck_assert_int_eq(a.put_ret, -ECANCELED);
	ck_assert_int_eq(a.try_ret, 0);
	ck_assert_uint_eq(VAL(a.got), 5);
	ck_assert(weft_queue_empty(q));
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(cancelled_task_moves_nothing)
{
	ck_assert_int_eq(run_main(cancelled_task_main, NULL), 0);
}
END_TEST

/* ---- try variants --------------------------------------------------------------------------- */

static void try_put_cb(void *arg)
{
	ck_assert_ptr_null(weft_task_current());
	ck_assert_int_eq(weft_queue_try_put(arg, ITEM(42)), 0);
}

static int try_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 2);
	void *v = NOTHING;
	struct op g;
	weft_task *t;

	ck_assert_int_eq(weft_queue_try_get(q, &v), -EAGAIN); /* QueueEmpty */
	ck_assert_ptr_eq(v, NOTHING);
	ck_assert_int_eq(weft_queue_try_put(q, ITEM(1)), 0);
	ck_assert_int_eq(weft_queue_try_put(q, ITEM(2)), 0);
	ck_assert_int_eq(weft_queue_try_put(q, ITEM(3)), -EAGAIN); /* QueueFull */
	ck_assert_uint_eq(weft_queue_size(q), 2);
	ck_assert_uint_eq(VAL(get_now(q)), 1);
	ck_assert_uint_eq(VAL(get_now(q)), 2);
	ck_assert_int_eq(weft_queue_try_get(q, &v), -EAGAIN);

	/* From a loop callback, try_put hands the item to a parked getter. */
	t = spawn_op(&g, q, getter_task, NULL);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), try_put_cb, q), 0);
	join_ok(t, 0);
	ck_assert_uint_eq(VAL(g.item), 42);
	/* A parked getter does not make try_get succeed: the queue is empty. */
	t = spawn_op(&g, q, getter_task, NULL);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_queue_try_get(q, &v), -EAGAIN);
	ck_assert_int_eq(weft_queue_try_put(q, ITEM(43)), 0);
	join_ok(t, 0);
	ck_assert_uint_eq(VAL(g.item), 43);
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(try_variants)
{
	ck_assert_int_eq(run_main(try_main, NULL), 0);
}
END_TEST

/* ---- task_done and join --------------------------------------------------------------------- */

static int done_count;

static int worker_task(void *arg)
{
	weft_queue *q = arg;
	void *v;
	int err;

	while ((err = weft_queue_get(q, &v)) == 0) {
		ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
		done_count++;
		ck_assert_int_eq(weft_queue_task_done(q), 0);
	}
	return err;
}

static int join_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 0);
	struct op j[3];
	weft_task *w, *jt[3];

	/* Nothing put: returns at once (the call never parks). */
	ck_assert_int_eq(weft_queue_join(q), 0);
	ck_assert_int_eq(weft_queue_task_done(q), -EOVERFLOW);
	ck_assert_int_eq(weft_queue_try_put(q, ITEM(1)), 0);
	ck_assert_int_eq(weft_queue_try_get(q, &(void *){NULL}), 0);
	ck_assert_int_eq(weft_queue_task_done(q), 0);
	ck_assert_int_eq(weft_queue_task_done(q), -EOVERFLOW);
	ck_assert_int_eq(weft_queue_join(q), 0);

	done_count = 0;
	for (uintptr_t i = 0; i < 5; i++)
		ck_assert_int_eq(weft_queue_put(q, ITEM(i)), 0);
	for (int i = 0; i < 3; i++)
		jt[i] = spawn_op(&j[i], q, joiner_task, NULL);
	ck_assert_int_eq(weft_task_spawn(&w, worker_task, q, NULL), 0);
	ck_assert_int_eq(weft_queue_join(q), 0);
	ck_assert_int_eq(done_count, 5);
	ck_assert(weft_queue_empty(q));
	for (int i = 0; i < 3; i++) {
		join_ok(jt[i], 0);
		ck_assert_int_eq(j[i].ret, 0);
	}
	/* Items handed straight to the parked worker count too. */
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(w), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_queue_put(q, ITEM(9)), 0);
	ck_assert(weft_queue_empty(q));
	ck_assert_int_eq(weft_queue_join(q), 0);
	ck_assert_int_eq(done_count, 6);

	/* More task_done calls than items put: an error that changes nothing. */
	ck_assert_int_eq(weft_queue_task_done(q), -EOVERFLOW);
	ck_assert_int_eq(weft_queue_join(q), 0);

	ck_assert_int_eq(weft_queue_shutdown(q, 0), 0);
	join_ok(w, -EPIPE);
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(task_done_join)
{
	ck_assert_int_eq(run_main(join_main, NULL), 0);
}
END_TEST

/* ---- shutdown ------------------------------------------------------------------------------- */

static int shutdown_waiters_main(void *arg)
{
	weft_queue *e = new_queue(WEFT_QUEUE_FIFO, 1), *f = new_prio_queue(1);
	struct op g[3], p[3];
	weft_task *gt[3], *pt[3];

	ck_assert_int_eq(weft_queue_put(f, PITEM(1, 1)), 0);
	for (int i = 0; i < 3; i++) {
		gt[i] = spawn_op(&g[i], e, getter_task, NULL);
		pt[i] = spawn_op(&p[i], f, putter_task, PITEM(0, 10 + i));
	}
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert(!weft_queue_is_shutdown(e));
	ck_assert_int_eq(weft_queue_shutdown(e, 0), 0);
	ck_assert_int_eq(weft_queue_shutdown(f, 0), 0);
	ck_assert(weft_queue_is_shutdown(e) && weft_queue_is_shutdown(f));
	for (int i = 0; i < 3; i++) {
		join_ok(gt[i], -EPIPE);
		ck_assert_ptr_eq(g[i].item, NOTHING);
		join_ok(pt[i], -EPIPE);
	}
	/* No putter's item went in; the one already there drains, then -EPIPE. */
	ck_assert_uint_eq(weft_queue_size(f), 1);
	ck_assert_int_eq(weft_queue_put(f, ITEM(1)), -EPIPE);
	ck_assert_int_eq(weft_queue_try_put(f, ITEM(1)), -EPIPE);
	void *v = NOTHING;
	ck_assert_int_eq(weft_queue_get(f, &v), 0);
	ck_assert_uint_eq(VAL(v), VAL(PITEM(1, 1)));
	ck_assert_int_eq(weft_queue_get(f, &v), -EPIPE);
	ck_assert_int_eq(weft_queue_try_get(f, &v), -EPIPE);
	ck_assert_int_eq(weft_queue_get(e, &v), -EPIPE);
	ck_assert_int_eq(weft_queue_shutdown(e, 0), 0); /* again: fine */
	ck_assert_int_eq(weft_queue_free(e), 0);
	ck_assert_int_eq(weft_queue_free(f), 0);
	return 0;
}

START_TEST(shutdown_wakes_getters_putters)
{
	ck_assert_int_eq(run_main(shutdown_waiters_main, NULL), 0);
}
END_TEST

/* Graceful shutdown: getters drain what is left; a joiner keeps waiting for the task_done calls. */
static int shutdown_drain_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 0);
	struct op j;
	weft_task *jt, *w;

	for (uintptr_t i = 0; i < 4; i++)
		ck_assert_int_eq(weft_queue_put(q, ITEM(i)), 0);
	jt = spawn_op(&j, q, joiner_task, NULL);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_queue_shutdown(q, 0), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(jt), WEFT_TASK_PARKED);
	ck_assert_uint_eq(weft_queue_size(q), 4);

	done_count = 0;
	ck_assert_int_eq(weft_task_spawn(&w, worker_task, q, NULL), 0);
	join_ok(w, -EPIPE); /* took all four, then found the queue shut down */
	ck_assert_int_eq(done_count, 4);
	join_ok(jt, 0);
	ck_assert_int_eq(weft_queue_join(q), 0);
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(shutdown_drain_then_epipe)
{
	ck_assert_int_eq(run_main(shutdown_drain_main, NULL), 0);
}
END_TEST

static int shutdown_immediate_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_LIFO, 3), *e = new_queue(WEFT_QUEUE_FIFO, 0);
	struct op j[2], p, g;
	weft_task *jt[2], *pt, *gt;
	void *v = NOTHING;

	for (uintptr_t i = 0; i < 3; i++)
		ck_assert_int_eq(weft_queue_put(q, ITEM(i)), 0);
	ck_assert_uint_eq(VAL(get_now(q)), 2); /* held by "a consumer": still unfinished */
	ck_assert_int_eq(weft_queue_put(q, ITEM(3)), 0);
	for (int i = 0; i < 2; i++)
		jt[i] = spawn_op(&j[i], q, joiner_task, NULL);
	pt = spawn_op(&p, q, putter_task, ITEM(4));
	gt = spawn_op(&g, e, getter_task, NULL);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_queue_free(q), -EBUSY);

	ck_assert_int_eq(weft_queue_shutdown(q, WEFT_QUEUE_SHUTDOWN_IMMEDIATE), 0);
	ck_assert_int_eq(weft_queue_shutdown(e, WEFT_QUEUE_SHUTDOWN_IMMEDIATE), 0);
	ck_assert_uint_eq(weft_queue_size(q), 0); /* discarded */
	ck_assert(weft_queue_is_shutdown(q));
	for (int i = 0; i < 2; i++)
		join_ok(jt[i], -EPIPE);
	join_ok(pt, -EPIPE);
	join_ok(gt, -EPIPE);
	ck_assert_int_eq(weft_queue_get(q, &v), -EPIPE);
	ck_assert_int_eq(weft_queue_try_get(q, &v), -EPIPE);
	ck_assert_ptr_eq(v, NOTHING);
	ck_assert_int_eq(weft_queue_put(q, ITEM(5)), -EPIPE);
	ck_assert_int_eq(weft_queue_join(q), -EPIPE);
	/* The held item's task_done still balances; the discarded ones counted as done. */
	ck_assert_int_eq(weft_queue_task_done(q), 0);
	ck_assert_int_eq(weft_queue_task_done(q), -EOVERFLOW);
	ck_assert_int_eq(weft_queue_join(q), -EPIPE);
	ck_assert_int_eq(weft_queue_free(q), 0);
	ck_assert_int_eq(weft_queue_free(e), 0);

	/* Graceful, then immediate: the second discards what the first left. */
	q = new_queue(WEFT_QUEUE_FIFO, 0);
	ck_assert_int_eq(weft_queue_put(q, ITEM(1)), 0);
	ck_assert_int_eq(weft_queue_put(q, ITEM(2)), 0);
	ck_assert_int_eq(weft_queue_shutdown(q, 0), 0);
	ck_assert_uint_eq(VAL(get_now(q)), 1);
	ck_assert_int_eq(weft_queue_shutdown(q, WEFT_QUEUE_SHUTDOWN_IMMEDIATE), 0);
	ck_assert_int_eq(weft_queue_try_get(q, &v), -EPIPE);
	ck_assert_int_eq(weft_queue_task_done(q), 0);
	ck_assert_int_eq(weft_queue_task_done(q), -EOVERFLOW);
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(shutdown_immediate)
{
	ck_assert_int_eq(run_main(shutdown_immediate_main, NULL), 0);
}
END_TEST

/* ---- misuse --------------------------------------------------------------------------------- */

static int bad_args_main(void *arg)
{
	weft_queue *q = (weft_queue *)0x1;
	void *v = NOTHING;

	ck_assert_int_eq(weft_queue_new(NULL, NULL, WEFT_QUEUE_FIFO, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_queue_new(NULL, &q, (enum weft_queue_kind)3, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_queue_new(NULL, &q, (enum weft_queue_kind) - 1, 0, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(weft_queue_new(NULL, &q, WEFT_QUEUE_PRIORITY, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_queue_new(NULL, &q, WEFT_QUEUE_FIFO, 0, prio_cmp, NULL), -EINVAL);
	ck_assert_int_eq(weft_queue_new(NULL, &q, WEFT_QUEUE_LIFO, 0, prio_cmp, NULL), -EINVAL);
	ck_assert_ptr_eq(q, (weft_queue *)0x1);

	ck_assert_int_eq(weft_queue_put(NULL, v), -EINVAL);
	ck_assert_int_eq(weft_queue_get(NULL, &v), -EINVAL);
	ck_assert_int_eq(weft_queue_try_put(NULL, v), -EINVAL);
	ck_assert_int_eq(weft_queue_try_get(NULL, &v), -EINVAL);
	ck_assert_int_eq(weft_queue_task_done(NULL), -EINVAL);
	ck_assert_int_eq(weft_queue_join(NULL), -EINVAL);
	ck_assert_int_eq(weft_queue_shutdown(NULL, 0), -EINVAL);
	ck_assert_int_eq(weft_queue_free(NULL), 0);
	ck_assert_uint_eq(weft_queue_size(NULL), 0);
	ck_assert_uint_eq(weft_queue_maxsize(NULL), 0);
	ck_assert(weft_queue_empty(NULL));
	ck_assert(!weft_queue_full(NULL));
	ck_assert(!weft_queue_is_shutdown(NULL));

	q = new_queue(WEFT_QUEUE_FIFO, 4);
	ck_assert_int_eq(weft_queue_put(q, ITEM(1)), 0);
	ck_assert_int_eq(weft_queue_get(q, NULL), -EINVAL);
	ck_assert_int_eq(weft_queue_try_get(q, NULL), -EINVAL);
	ck_assert_uint_eq(weft_queue_size(q), 1); /* nothing lost */
	ck_assert_int_eq(weft_queue_shutdown(q, 2), -EINVAL);
	ck_assert(!weft_queue_is_shutdown(q));
	ck_assert_ptr_eq(v, NOTHING);
	ck_assert_int_eq(weft_queue_free(q), 0);

	/* A huge bound is fine: storage grows on demand. */
	q = new_queue(WEFT_QUEUE_FIFO, SIZE_MAX);
	for (uintptr_t i = 0; i < 3000; i++)
		ck_assert_int_eq(weft_queue_try_put(q, ITEM(i)), 0);
	ck_assert(!weft_queue_full(q));
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(bad_arguments)
{
	ck_assert_int_eq(run_main(bad_args_main, NULL), 0);
}
END_TEST

static void blocking_in_cb(void *arg)
{
	weft_queue *q = arg;
	void *v = NOTHING;

	ck_assert_int_eq(weft_queue_put(q, ITEM(1)), -EPERM);
	ck_assert_int_eq(weft_queue_get(q, &v), -EPERM);
	ck_assert_int_eq(weft_queue_join(q), -EPERM);
	ck_assert_ptr_eq(v, NOTHING);
	/* The non-blocking calls work from callbacks. */
	ck_assert_int_eq(weft_queue_try_put(q, ITEM(2)), 0);
	ck_assert_uint_eq(VAL(get_now(q)), 2);
	ck_assert_int_eq(weft_queue_task_done(q), 0);
}

static int cb_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 0);
	weft_queue *other = arg;
	void *v = NOTHING;

	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), blocking_in_cb, q), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert(weft_queue_empty(q));
	/* A queue of another loop: blocking calls refuse. */
	ck_assert_int_eq(weft_queue_put(other, ITEM(1)), -EXDEV);
	ck_assert_int_eq(weft_queue_get(other, &v), -EXDEV);
	ck_assert_int_eq(weft_queue_join(other), -EXDEV);
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(errors_outside_fiber)
{
	weft_loop *l;
	weft_queue *q = (weft_queue *)0x1;
	void *v = NOTHING;

	ck_assert_int_eq(weft_queue_new(NULL, &q, WEFT_QUEUE_FIFO, 0, NULL, NULL), -EPERM);
	ck_assert_ptr_eq(q, (weft_queue *)0x1);
	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_queue_new(l, &q, WEFT_QUEUE_FIFO, 0, NULL, NULL), 0);
	ck_assert_int_eq(weft_queue_put(q, ITEM(1)), -EPERM);
	ck_assert_int_eq(weft_queue_get(q, &v), -EPERM);
	ck_assert_int_eq(weft_queue_join(q), -EPERM);
	ck_assert_ptr_eq(v, NOTHING);
	ck_assert(weft_queue_empty(q));
	/* Plain code of the thread may fill the queue before the loop runs. */
	ck_assert_int_eq(weft_queue_try_put(q, ITEM(3)), 0);

	ck_assert_int_eq(run_main(cb_main, q), 0);

	ck_assert_uint_eq(VAL(get_now(q)), 3);
	ck_assert_int_eq(weft_queue_free(q), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

static int free_busy_main(void *arg)
{
	weft_queue *q = new_queue(WEFT_QUEUE_FIFO, 1);
	struct op g, p, j;
	weft_task *t;

	t = spawn_op(&g, q, getter_task, NULL);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_queue_free(q), -EBUSY);
	ck_assert_int_eq(g.ret, PENDING); /* nothing happened to the waiter */
	ck_assert_int_eq(weft_queue_put(q, ITEM(1)), 0);
	join_ok(t, 0);

	ck_assert_int_eq(weft_queue_put(q, ITEM(2)), 0);
	t = spawn_op(&p, q, putter_task, ITEM(3));
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_queue_free(q), -EBUSY);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	join_ok(t, -ECANCELED);

	t = spawn_op(&j, q, joiner_task, NULL);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_queue_free(q), -EBUSY);
	ck_assert_int_eq(weft_queue_task_done(q), 0);
	ck_assert_int_eq(weft_queue_task_done(q), 0);
	join_ok(t, 0);
	/* Items still inside are dropped with the queue. */
	ck_assert_uint_eq(weft_queue_size(q), 1);
	ck_assert_int_eq(weft_queue_free(q), 0);
	return 0;
}

START_TEST(free_with_waiters_ebusy)
{
	ck_assert_int_eq(run_main(free_busy_main, NULL), 0);
}
END_TEST

/* Tasks left parked on a queue when the loop closes are cancelled off it cleanly; the queues
 * stay the caller's and are freed after the close. */
static weft_queue *leftover_q;
static struct op leftover_g, leftover_p;

static int leftover_main(void *arg)
{
	weft_queue *full = new_queue(WEFT_QUEUE_FIFO, 1);

	leftover_q = new_queue(WEFT_QUEUE_FIFO, 0);
	ck_assert_int_eq(weft_queue_put(full, ITEM(1)), 0);
	spawn_op(&leftover_g, leftover_q, getter_task, NULL);
	spawn_op(&leftover_p, full, putter_task, ITEM(2));
	ck_assert_int_eq(weft_yield(), 0);
	return 0;
}

START_TEST(waiters_cancelled_at_close)
{
	ck_assert_int_eq(run_main(leftover_main, NULL), 0);
	ck_assert_int_eq(leftover_g.ret, -ECANCELED);
	ck_assert_int_eq(leftover_p.ret, -ECANCELED);
	ck_assert_uint_eq(weft_queue_size(leftover_p.q), 1);
	ck_assert_int_eq(weft_queue_free(leftover_q), 0);
	ck_assert_int_eq(weft_queue_free(leftover_p.q), 0);
}
END_TEST

/* ---- stress --------------------------------------------------------------------------------- */

enum { STRESS_PRODUCERS = 4, STRESS_CONSUMERS = 4, STRESS_ITEMS = 100000 };

struct stress {
	weft_queue *q;
	unsigned char *seen; /* per item: how many times it was received */
	int next_producer;
	uint64_t received, sum, timeouts;
	bool storm; /* consumers use tiny deadlines; some get cancelled */
};

static int producer_task(void *arg)
{
	struct stress *s = arg;
	int id = s->next_producer++;
	unsigned seed = 77u + (unsigned)id;

	for (uintptr_t i = (uintptr_t)id; i < STRESS_ITEMS; i += STRESS_PRODUCERS) {
		/* Priority queues reorder by the upper bits; the lower ones name the item. */
		HOT_EQ(weft_queue_put(s->q, PITEM(i % 5, i + 1)), 0);
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 8 == 0)
			HOT_EQ(weft_yield(), 0);
	}
	return 0;
}

static void receive(struct stress *s, void *v)
{
	uintptr_t i = (VAL(v) & 0xffffffff) - 1;

	HOT_LT(i, STRESS_ITEMS);
	s->seen[i]++;
	s->received++;
	s->sum += i + 1;
}

static int consumer_task(void *arg)
{
	struct stress *s = arg;
	unsigned seed = (unsigned)(uintptr_t)&seed;
	void *v;
	int err;

	for (;;) {
		weft_scope sc;
		seed = seed * 1103515245u + 12345u;
		if (s->storm)
			weft_scope_enter(&sc, weft_now() + (int64_t)((seed >> 16) % 40) * WEFT_USEC,
					 0);
		v = NOTHING;
		err = weft_queue_get(s->q, &v);
		if (s->storm)
			weft_scope_exit(&sc);
		if (err == -ETIMEDOUT) {
			HOT_EQ(v, NOTHING);
			s->timeouts++;
			continue;
		}
		if (err)
			break;
		receive(s, v);
		HOT_EQ(weft_queue_task_done(s->q), 0);
		if ((seed >> 20) % 4 == 0 && weft_yield())
			return -ECANCELED;
	}
	HOT_EQ(v, NOTHING);
	return err;
}

static int stress_main(void *arg)
{
	struct stress *s = arg;
	weft_task *prod[STRESS_PRODUCERS], *cons[STRESS_CONSUMERS * 2];
	int ncons = s->storm ? STRESS_CONSUMERS * 2 : STRESS_CONSUMERS, st;
	void *v;

	for (int i = 0; i < ncons; i++)
		ck_assert_int_eq(weft_task_spawn(&cons[i], consumer_task, s, NULL), 0);
	for (int i = 0; i < STRESS_PRODUCERS; i++)
		ck_assert_int_eq(weft_task_spawn(&prod[i], producer_task, s, NULL), 0);
	if (s->storm) {
		/* Cancel half the consumers at random moments while the items flow, often between
		 * a hand-off and the getter's turn to run. */
		unsigned seed = 4242;
		for (int i = 0; i < ncons; i += 2) {
			seed = seed * 1103515245u + 12345u;
			for (unsigned k = 0; k < 20 + (seed >> 16) % 200; k++)
				ck_assert_int_eq(weft_yield(), 0);
			ck_assert_int_eq(weft_task_cancel(cons[i]), 0);
		}
	}
	for (int i = 0; i < STRESS_PRODUCERS; i++)
		join_ok(prod[i], 0);
	ck_assert_int_eq(weft_queue_join(s->q), 0);
	ck_assert_uint_eq(weft_queue_size(s->q), 0);
	ck_assert_int_eq(weft_queue_shutdown(s->q, 0), 0);
	for (int i = 0; i < ncons; i++) {
		ck_assert_int_eq(weft_task_join(cons[i], &st), 0);
		ck_assert(st == -EPIPE || (s->storm && st == -ECANCELED));
	}
	ck_assert_int_eq(weft_queue_try_get(s->q, &v), -EPIPE);
	if (s->storm)
		ck_assert_uint_gt(s->timeouts, 0); /* zero-length deadlines are among them */
	ck_assert_uint_eq(s->received, STRESS_ITEMS);
	ck_assert_uint_eq(s->sum, (uint64_t)STRESS_ITEMS * (STRESS_ITEMS + 1) / 2);
	for (int i = 0; i < STRESS_ITEMS; i++)
		HOT_EQ(s->seen[i], 1);
	return 0;
}

static void run_stress(enum weft_queue_kind kind, size_t maxsize, bool storm)
{
	struct stress s = {.storm = storm};
	weft_loop *l;
	weft_task *t;
	int st;

	s.seen = calloc(STRESS_ITEMS, 1);
	ck_assert_ptr_nonnull(s.seen);
	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_queue_new(l, &s.q, kind, maxsize,
					kind == WEFT_QUEUE_PRIORITY ? prio_cmp : NULL,
					(void *)prio_cmp),
			 0);
	ck_assert_int_eq(weft_loop_spawn(l, &t, stress_main, &s, NULL), 0);
	ck_assert_int_eq(weft_loop_run_until(l, t, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(weft_queue_free(s.q), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
	free(s.seen);
}

START_TEST(stress_bounded_fifo)
{
	run_stress(WEFT_QUEUE_FIFO, 16, false);
}
END_TEST

START_TEST(stress_unbounded_lifo)
{
	run_stress(WEFT_QUEUE_LIFO, 0, false);
}
END_TEST

START_TEST(stress_bounded_priority)
{
	run_stress(WEFT_QUEUE_PRIORITY, 7, false);
}
END_TEST

/* Consumers time out constantly and half of them are cancelled mid-stream: every item still
 * arrives exactly once. */
START_TEST(stress_timeouts_and_cancels)
{
	run_stress(WEFT_QUEUE_FIFO, 4, true);
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------------- */

static Suite *queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc;

	tc = tcase_create("order");
	tcase_add_test(tc, order_fifo_lifo);
	tcase_add_test(tc, fifo_growth_wrapped);
	tcase_add_test(tc, order_priority_stable);
	tcase_add_test(tc, order_priority_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("handoff");
	tcase_add_test(tc, bounded_put_blocks_until_get);
	tcase_add_test(tc, get_blocks_until_put);
	tcase_add_test(tc, getters_handoff_cancel_middle);
	tcase_add_test(tc, putters_handoff_fifo_cancel);
	suite_add_tcase(s, tc);

	tc = tcase_create("interrupt");
	tcase_add_test(tc, deadlines_and_scopes);
	tcase_add_test(tc, cancelled_task_moves_nothing);
	tcase_add_test(tc, try_variants);
	suite_add_tcase(s, tc);

	tc = tcase_create("join");
	tcase_add_test(tc, task_done_join);
	suite_add_tcase(s, tc);

	tc = tcase_create("shutdown");
	tcase_add_test(tc, shutdown_wakes_getters_putters);
	tcase_add_test(tc, shutdown_drain_then_epipe);
	tcase_add_test(tc, shutdown_immediate);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, errors_outside_fiber);
	tcase_add_test(tc, free_with_waiters_ebusy);
	tcase_add_test(tc, waiters_cancelled_at_close);
	suite_add_tcase(s, tc);

	tc = tcase_create("stress");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, stress_bounded_fifo);
	tcase_add_test(tc, stress_unbounded_lifo);
	tcase_add_test(tc, stress_bounded_priority);
	tcase_add_test(tc, stress_timeouts_and_cancels);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(queue_suite)

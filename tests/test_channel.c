/* SPDX-License-Identifier: MIT */
/* weft/channel.h: channels between fibers of several loops and plain threads. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <weft.h>
#include <weft/channel.h>
#include "check_main.h"

/* Under valgrind a loop blocked in io_uring_enter holds the big lock: no cross-thread wake-ups. */
#define SKIP_UNDER_VALGRIND()                  \
	do {                                   \
		if (getenv("WEFT_VALGRIND")) { \
			return;                \
		}                              \
	} while (0)

/* Sanitizers slow the thread-heavy tests down several times: fewer items there. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SCALE(n) ((n) / 5)
#else
#define SCALE(n) (n)
#endif

#define ITEM(sender, seq) ((void *)(((uintptr_t)(sender) << 32) | (uintptr_t)(seq)))
#define SENDER(item)	  ((unsigned)((uintptr_t)(item) >> 32))
#define SEQ(item)	  ((unsigned)((uintptr_t)(item)&0xffffffffu))

/* ---- helpers ---------------------------------------------------------------------------- */

/* A thread running weft_run(fn, arg): a loop of its own with fn as its main fiber. */
struct loop_thread {
	pthread_t th;
	int (*fn)(void *);
	void *arg;
	int status;
};

static void *loop_thread_main(void *p)
{
	struct loop_thread *lt = p;

	lt->status = weft_run(lt->fn, lt->arg, NULL);
	return NULL;
}

static void loop_thread_start(struct loop_thread *lt, int (*fn)(void *), void *arg)
{
	lt->fn = fn;
	lt->arg = arg;
	lt->status = -1000;
	ck_assert_int_eq(pthread_create(&lt->th, NULL, loop_thread_main, lt), 0);
}

static int loop_thread_join(struct loop_thread *lt)
{
	pthread_join(lt->th, NULL);
	return lt->status;
}

/* Send items ITEM(id, first .. first+count-1) in order. */
struct sender {
	weft_chan *ch;
	unsigned id;
	unsigned count;
	int err; /* the first failure */
};

static int send_seq(struct sender *s)
{
	for (unsigned i = 0; i < s->count; i++) {
		int r = weft_chan_send(s->ch, ITEM(s->id, i));
		if (r)
			return s->err = r;
	}
	return 0;
}

static int sender_fiber(void *p)
{
	return send_seq(p);
}

static void *sender_thread(void *p)
{
	send_seq(p);
	return NULL;
}

/* Receive until -EPIPE, checking per-sender order and counting every item. */
struct receiver {
	weft_chan *ch;
	unsigned nsenders;
	unsigned each;
	atomic_uchar *seen; /* nsenders * each counters, shared by all receivers */
	long got;
	long out_of_order;
	long bad;
	unsigned next[16]; /* per sender: the smallest sequence number still allowed */
	int err;
};

static int recv_all(struct receiver *r)
{
	void *item;
	int e;

	while ((e = weft_chan_recv(r->ch, &item)) == 0) {
		unsigned s = SENDER(item), q = SEQ(item);
		if (s >= r->nsenders || q >= r->each) {
			r->bad++;
			continue;
		}
		if (q < r->next[s])
			r->out_of_order++;
		r->next[s] = q + 1;
		atomic_fetch_add(&r->seen[(size_t)s * r->each + q], 1);
		r->got++;
	}
	return r->err = e;
}

static int receiver_fiber(void *p)
{
	return recv_all(p) == -EPIPE ? 0 : -1;
}

static void *receiver_thread(void *p)
{
	recv_all(p);
	return NULL;
}

static void check_exactly_once(atomic_uchar *seen, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(atomic_load(&seen[i]) == 1, "item %zu seen %d times", i,
			      (int)atomic_load(&seen[i]));
}

/* ---- within one loop -------------------------------------------------------------------- */

static int one_loop_main(void *arg)
{
	enum { N = 5000 };
	struct sender s = {.count = N};
	struct receiver r = {.nsenders = 1, .each = N};
	weft_task *ts, *tr;
	int st;

	r.seen = calloc(N, 1);
	ck_assert_int_eq(weft_chan_new(&s.ch, 3), 0);
	r.ch = s.ch;
	ck_assert_int_eq(weft_task_spawn(&tr, receiver_fiber, &r, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&ts, sender_fiber, &s, NULL), 0);
	ck_assert_int_eq(weft_task_join(ts, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(weft_chan_shutdown(s.ch), 0);
	ck_assert_int_eq(weft_task_join(tr, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(r.got, N);
	ck_assert_int_eq(r.out_of_order, 0);
	check_exactly_once(r.seen, N);
	ck_assert_int_eq(weft_chan_free(s.ch), 0);
	free(r.seen);
	return 0;
}

START_TEST(send_recv_within_one_loop)
{
	ck_assert_int_eq(weft_run(one_loop_main, NULL, NULL), 0);
}
END_TEST

/* ---- across loops and threads ----------------------------------------------------------- */

START_TEST(fibers_on_two_loops)
{
	enum { N = SCALE(100000) };
	struct sender s = {.count = N};
	struct receiver r = {.nsenders = 1, .each = N};
	struct loop_thread a, b;

	SKIP_UNDER_VALGRIND();
	r.seen = calloc(N, 1);
	ck_assert_int_eq(weft_chan_new(&s.ch, 8), 0);
	r.ch = s.ch;
	loop_thread_start(&b, receiver_fiber, &r);
	loop_thread_start(&a, sender_fiber, &s);
	ck_assert_int_eq(loop_thread_join(&a), 0);
	ck_assert_int_eq(weft_chan_shutdown(s.ch), 0);
	ck_assert_int_eq(loop_thread_join(&b), 0);
	ck_assert_int_eq(r.got, N);
	ck_assert_int_eq(r.out_of_order, 0);
	check_exactly_once(r.seen, N);
	ck_assert_int_eq(weft_chan_free(s.ch), 0);
	free(r.seen);
}
END_TEST

/* A fiber hands an item to a parked fiber of another loop and its own loop exits at once: the
 * wake-up (a MSG_RING SQE in the exiting loop's ring) must still reach the receiver. */
struct exit_wake {
	weft_chan *ch;
	int r;
	void *item;
	int64_t waited;
};

static int exit_wake_recv(void *p)
{
	struct exit_wake *e = p;
	int64_t t0 = weft_now();

	/* The timeout only bounds the failure: a lost wake-up shows as a 5 s wait (the timer wakes
	 * the loop, which then finds the post and delivers the item). */
	e->r = weft_chan_recv_timeout(e->ch, &e->item, 5 * WEFT_SEC);
	e->waited = weft_now() - t0;
	return 0;
}

static int exit_wake_send(void *p)
{
	struct exit_wake *e = p;

	weft_sleep(50 * WEFT_MSEC); /* the receiver is parked and its loop asleep by then */
	return weft_chan_send(e->ch, ITEM(0, 42));
}

START_TEST(wakeup_survives_waker_loop_exit)
{
	struct exit_wake e = {.r = 1};
	struct loop_thread a, b;

	SKIP_UNDER_VALGRIND();
	ck_assert_int_eq(weft_chan_new(&e.ch, 1), 0);
	loop_thread_start(&b, exit_wake_recv, &e);
	loop_thread_start(&a, exit_wake_send, &e);
	ck_assert_int_eq(loop_thread_join(&a), 0);
	ck_assert_int_eq(loop_thread_join(&b), 0);
	ck_assert_int_eq(e.r, 0);
	ck_assert_ptr_eq(e.item, ITEM(0, 42));
	ck_assert_msg(e.waited < 4 * WEFT_SEC, "the wake-up was lost: received after %lld ms",
		      (long long)(e.waited / WEFT_MSEC));
	ck_assert_int_eq(weft_chan_free(e.ch), 0);
}
END_TEST

START_TEST(plain_thread_to_fiber)
{
	enum { N = SCALE(50000) };
	struct sender s = {.count = N};
	struct receiver r = {.nsenders = 1, .each = N};
	pthread_t th;

	SKIP_UNDER_VALGRIND();
	r.seen = calloc(N, 1);
	ck_assert_int_eq(weft_chan_new(&s.ch, 4), 0);
	r.ch = s.ch;
	ck_assert_int_eq(pthread_create(&th, NULL, sender_thread, &s), 0);
	/* The receiver's main fiber ends on -EPIPE: close once the sender is done. */
	struct loop_thread b;
	loop_thread_start(&b, receiver_fiber, &r);
	pthread_join(th, NULL);
	ck_assert_int_eq(s.err, 0);
	ck_assert_int_eq(weft_chan_shutdown(s.ch), 0);
	ck_assert_int_eq(loop_thread_join(&b), 0);
	ck_assert_int_eq(r.got, N);
	ck_assert_int_eq(r.out_of_order, 0);
	check_exactly_once(r.seen, N);
	ck_assert_int_eq(weft_chan_free(s.ch), 0);
	free(r.seen);
}
END_TEST

static int send_then_close(void *p)
{
	struct sender *s = p;
	int r = send_seq(s);

	weft_chan_shutdown(s->ch);
	return r;
}

START_TEST(fiber_to_plain_thread)
{
	enum { N = SCALE(50000) };
	struct sender s = {.count = N};
	struct receiver r = {.nsenders = 1, .each = N};
	pthread_t th;

	SKIP_UNDER_VALGRIND();
	r.seen = calloc(N, 1);
	ck_assert_int_eq(weft_chan_new(&s.ch, 4), 0);
	r.ch = s.ch;
	ck_assert_int_eq(pthread_create(&th, NULL, receiver_thread, &r), 0);
	ck_assert_int_eq(weft_run(send_then_close, &s, NULL), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(r.err, -EPIPE);
	ck_assert_int_eq(r.got, N);
	ck_assert_int_eq(r.out_of_order, 0);
	check_exactly_once(r.seen, N);
	ck_assert_int_eq(weft_chan_free(s.ch), 0);
	free(r.seen);
}
END_TEST

/* Senders: 2 plain threads and 2 loops with 2 fibers each; receivers: a plain thread and a loop
 * with 2 fibers. Every receiver sees each sender's items in order; each item arrives once. */
struct multi_loop {
	struct sender *senders; /* NULL for a receiving loop */
	struct receiver *receivers;
	int n;
};

static int multi_loop_main(void *p)
{
	struct multi_loop *m = p;
	weft_task *t[4];
	int st, bad = 0;

	for (int i = 0; i < m->n; i++)
		ck_assert_int_eq(
		    weft_task_spawn(&t[i], m->senders ? sender_fiber : receiver_fiber,
				    m->senders ? (void *)&m->senders[i] : (void *)&m->receivers[i],
				    NULL),
		    0);
	for (int i = 0; i < m->n; i++) {
		ck_assert_int_eq(weft_task_join(t[i], &st), 0);
		bad |= st;
	}
	return bad;
}

START_TEST(ordered_per_sender_exactly_once)
{
	enum { SENDERS = 6, EACH = SCALE(20000), RECEIVERS = 3 };
	struct sender s[SENDERS];
	struct receiver r[RECEIVERS];
	struct multi_loop ms[2], mr;
	struct loop_thread ls[2], lr;
	pthread_t ts[2], tr;
	atomic_uchar *seen;
	weft_chan *ch;
	long total = 0;

	SKIP_UNDER_VALGRIND();
	seen = calloc((size_t)SENDERS * EACH, 1);
	ck_assert_int_eq(weft_chan_new(&ch, 16), 0);
	for (int i = 0; i < SENDERS; i++)
		s[i] = (struct sender){.ch = ch, .id = (unsigned)i, .count = EACH};
	for (int i = 0; i < RECEIVERS; i++)
		r[i] = (struct receiver){.ch = ch, .nsenders = SENDERS, .each = EACH, .seen = seen};
	mr = (struct multi_loop){.receivers = &r[1], .n = 2};
	loop_thread_start(&lr, multi_loop_main, &mr);
	ck_assert_int_eq(pthread_create(&tr, NULL, receiver_thread, &r[0]), 0);
	for (int i = 0; i < 2; i++) {
		ms[i] = (struct multi_loop){.senders = &s[2 + 2 * i], .n = 2};
		loop_thread_start(&ls[i], multi_loop_main, &ms[i]);
		ck_assert_int_eq(pthread_create(&ts[i], NULL, sender_thread, &s[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(ts[i], NULL);
		ck_assert_int_eq(loop_thread_join(&ls[i]), 0);
	}
	for (int i = 0; i < SENDERS; i++)
		ck_assert_int_eq(s[i].err, 0);
	ck_assert_int_eq(weft_chan_shutdown(ch), 0);
	pthread_join(tr, NULL);
	ck_assert_int_eq(loop_thread_join(&lr), 0);
	for (int i = 0; i < RECEIVERS; i++) {
		ck_assert_int_eq(r[i].err, -EPIPE);
		ck_assert_int_eq(r[i].out_of_order, 0);
		ck_assert_int_eq(r[i].bad, 0);
		total += r[i].got;
	}
	ck_assert_int_eq(total, SENDERS * EACH);
	check_exactly_once(seen, (size_t)SENDERS * EACH);
	ck_assert_int_eq(weft_chan_free(ch), 0);
	free(seen);
}
END_TEST

/* ---- bounded ---------------------------------------------------------------------------- */

static int send_one(void *p)
{
	return weft_chan_send(p, ITEM(0, 3));
}

static int bounded_main(void *arg)
{
	weft_chan *ch;
	weft_task *t;
	void *item;
	int st;

	ck_assert_int_eq(weft_chan_new(&ch, 2), 0);
	ck_assert_int_eq(weft_chan_capacity(ch), 2);
	ck_assert_int_eq(weft_chan_send(ch, ITEM(0, 1)), 0);
	ck_assert_int_eq(weft_chan_send(ch, ITEM(0, 2)), 0);
	ck_assert_int_eq(weft_chan_len(ch), 2);
	ck_assert_int_eq(weft_chan_try_send(ch, ITEM(0, 9)), -EAGAIN);
	ck_assert_int_eq(weft_task_spawn(&t, send_one, ch, NULL), 0);
	ck_assert_int_eq(weft_sleep(20 * WEFT_MSEC), 0);
	ck_assert(!weft_task_done(t)); /* parked: the channel is full */
	ck_assert_int_eq(weft_chan_len(ch), 2);
	ck_assert_int_eq(weft_chan_free(ch), -EBUSY);
	ck_assert_int_eq(weft_chan_recv(ch, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 1));
	ck_assert_int_eq(weft_chan_len(ch), 2); /* the parked sender's item moved in */
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 0);
	for (unsigned i = 2; i <= 3; i++) {
		ck_assert_int_eq(weft_chan_recv(ch, &item), 0);
		ck_assert_ptr_eq(item, ITEM(0, i));
	}
	ck_assert_int_eq(weft_chan_try_recv(ch, &item), -EAGAIN);
	ck_assert_int_eq(weft_chan_free(ch), 0);
	return 0;
}

START_TEST(sender_blocks_while_full)
{
	ck_assert_int_eq(weft_run(bounded_main, NULL, NULL), 0);
}
END_TEST

struct blocked_send {
	weft_chan *ch;
	atomic_int done;
	int r;
};

static void *blocked_send_thread(void *p)
{
	struct blocked_send *b = p;

	b->r = weft_chan_send(b->ch, ITEM(0, 2));
	atomic_store(&b->done, 1);
	return NULL;
}

START_TEST(plain_sender_blocks_while_full)
{
	struct blocked_send b = {0};
	pthread_t th;
	void *item;

	ck_assert_int_eq(weft_chan_new(&b.ch, 1), 0);
	ck_assert_int_eq(weft_chan_send(b.ch, ITEM(0, 1)), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, blocked_send_thread, &b), 0);
	usleep(30000);
	ck_assert_int_eq(atomic_load(&b.done), 0);
	ck_assert_int_eq(weft_chan_recv(b.ch, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 1));
	pthread_join(th, NULL);
	ck_assert_int_eq(b.r, 0);
	ck_assert_int_eq(weft_chan_recv(b.ch, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 2));
	ck_assert_int_eq(weft_chan_free(b.ch), 0);
}
END_TEST

/* ---- cancellation ----------------------------------------------------------------------- */

struct got {
	weft_chan *ch;
	void *item;
	int r;
};

static int recv_one(void *p)
{
	struct got *g = p;

	return g->r = weft_chan_recv(g->ch, &g->item);
}

static int cancel_main(void *arg)
{
	struct got g1 = {0}, g2 = {0};
	weft_task *t1, *t2, *ts;
	void *item;
	int st;

	ck_assert_int_eq(weft_chan_new(&g1.ch, 1), 0);
	g2.ch = g1.ch;
	/* Two parked receivers; the first is cancelled: the item goes to the second. */
	ck_assert_int_eq(weft_task_spawn(&t1, recv_one, &g1, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t2, recv_one, &g2, NULL), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_cancel(t1), 0);
	ck_assert_int_eq(weft_chan_send(g1.ch, ITEM(0, 7)), 0);
	ck_assert_int_eq(weft_task_join(t1, &st), 0);
	ck_assert_int_eq(st, -ECANCELED);
	ck_assert_int_eq(weft_task_join(t2, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_ptr_eq(g2.item, ITEM(0, 7));
	ck_assert_int_eq(weft_chan_len(g1.ch), 0);

	/* A receiver served and then cancelled before it runs keeps the item. */
	ck_assert_int_eq(weft_task_spawn(&t1, recv_one, &g1, NULL), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_chan_send(g1.ch, ITEM(0, 8)), 0);
	ck_assert_int_eq(weft_task_cancel(t1), 0);
	ck_assert_int_eq(weft_task_join(t1, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_ptr_eq(g1.item, ITEM(0, 8));

	/* A parked sender cancelled: its item never enters the channel. */
	ck_assert_int_eq(weft_chan_send(g1.ch, ITEM(0, 1)), 0);
	ck_assert_int_eq(weft_task_spawn(&ts, send_one, g1.ch, NULL), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_cancel(ts), 0);
	ck_assert_int_eq(weft_task_join(ts, &st), 0);
	ck_assert_int_eq(st, -ECANCELED);
	ck_assert_int_eq(weft_chan_try_recv(g1.ch, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 1));
	ck_assert_int_eq(weft_chan_try_recv(g1.ch, &item), -EAGAIN);

	/* Already cancelled: nothing moves even though it could. */
	ck_assert_int_eq(weft_chan_send(g1.ch, ITEM(0, 2)), 0);
	weft_task_cancel(weft_task_current());
	ck_assert_int_eq(weft_chan_recv(g1.ch, &item), -ECANCELED);
	ck_assert_int_eq(weft_chan_len(g1.ch), 1);
	ck_assert_int_eq(weft_chan_free(g1.ch), 0);
	return 0;
}

START_TEST(cancel_parked_waiters)
{
	/* main was cancelled at the end, which does not change the status it returns */
	int r = weft_run(cancel_main, NULL, NULL);
	ck_assert(r == 0 || r == -ECANCELED);
}
END_TEST

/*
 * Stress: a plain thread sends 0..N-1; on the loop, receiver tasks are spawned one after the
 * other and each is cancelled at a random moment. Every item must be received exactly once and
 * in order, whatever the cancels hit. Then the same the other way round for senders.
 */
struct stress {
	weft_chan *ch;
	unsigned n;
	unsigned next;	 /* receivers: the next item expected; senders: the next one to send */
	long dup_or_gap; /* receivers */
	long cancels_hit;
	unsigned seed;
	bool receiving; /* the loop side receives (else it sends) */
};

static int stress_recv_task(void *p)
{
	struct stress *s = p;
	void *item;
	int r;

	while ((r = weft_chan_recv(s->ch, &item)) == 0) {
		if (SEQ(item) != s->next)
			s->dup_or_gap++;
		s->next = SEQ(item) + 1;
	}
	return r;
}

static int stress_send_task(void *p)
{
	struct stress *s = p;
	int r = 0;

	while (s->next < s->n && (r = weft_chan_send(s->ch, ITEM(0, s->next))) == 0)
		s->next++;
	return r;
}

static int stress_main(void *p)
{
	struct stress *s = p;
	bool receiving = s->receiving;
	int st;

	for (;;) {
		weft_task *t;
		ck_assert_int_eq(
		    weft_task_spawn(&t, receiving ? stress_recv_task : stress_send_task, s, NULL),
		    0);
		unsigned k = rand_r(&s->seed) % 4;
		if (k == 0)
			weft_yield();
		else if (k == 1)
			weft_sleep((int64_t)(rand_r(&s->seed) % 50) * WEFT_USEC);
		else if (k == 2)
			weft_sleep(0);
		/* k == 3: cancel before it ever runs */
		weft_task_cancel(t);
		ck_assert_int_eq(weft_task_join(t, &st), 0);
		if (st == -ECANCELED)
			s->cancels_hit++;
		else if (receiving) {
			ck_assert_int_eq(st, -EPIPE);
			return 0;
		} else {
			ck_assert_int_eq(st, 0);
		}
		if (!receiving && s->next == s->n) {
			weft_chan_shutdown(s->ch);
			return 0;
		}
	}
}

struct plain_peer {
	weft_chan *ch;
	unsigned n;
	long dup_or_gap;
	int err;
};

static void *stress_plain_sender(void *p)
{
	struct plain_peer *pp = p;

	for (unsigned i = 0; i < pp->n; i++)
		if ((pp->err = weft_chan_send(pp->ch, ITEM(0, i))))
			break;
	weft_chan_shutdown(pp->ch);
	return NULL;
}

static void *stress_plain_receiver(void *p)
{
	struct plain_peer *pp = p;
	unsigned next = 0;
	void *item;

	while ((pp->err = weft_chan_recv(pp->ch, &item)) == 0) {
		if (SEQ(item) != next)
			pp->dup_or_gap++;
		next = SEQ(item) + 1;
	}
	if (next != pp->n)
		pp->dup_or_gap++;
	return NULL;
}

START_TEST(cancel_stress_receivers)
{
	enum { N = SCALE(30000) };
	struct stress s = {.n = N, .receiving = true, .seed = 1};
	struct plain_peer pp = {.n = N};
	pthread_t th;

	SKIP_UNDER_VALGRIND();
	ck_assert_int_eq(weft_chan_new(&s.ch, 2), 0);
	pp.ch = s.ch;
	ck_assert_int_eq(pthread_create(&th, NULL, stress_plain_sender, &pp), 0);
	ck_assert_int_eq(weft_run(stress_main, &s, NULL), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(pp.err, 0);
	ck_assert_int_eq(s.dup_or_gap, 0);
	ck_assert_int_eq(s.next, N);
	ck_assert_int_gt(s.cancels_hit, 0);
	ck_assert_int_eq(weft_chan_free(s.ch), 0);
}
END_TEST

START_TEST(cancel_stress_senders)
{
	enum { N = SCALE(30000) };
	struct stress s = {.n = N, .seed = 2};
	struct plain_peer pp = {.n = N};
	pthread_t th;

	SKIP_UNDER_VALGRIND();
	ck_assert_int_eq(weft_chan_new(&s.ch, 2), 0);
	pp.ch = s.ch;
	ck_assert_int_eq(pthread_create(&th, NULL, stress_plain_receiver, &pp), 0);
	ck_assert_int_eq(weft_run(stress_main, &s, NULL), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(pp.err, -EPIPE);
	ck_assert_int_eq(pp.dup_or_gap, 0);
	ck_assert_int_gt(s.cancels_hit, 0);
	ck_assert_int_eq(weft_chan_free(s.ch), 0);
}
END_TEST

/* The same stress with both sides on loops of their own (wake-ups by MSG_RING). */
static int stress_loop_sender(void *p)
{
	struct plain_peer *pp = p;

	stress_plain_sender(pp);
	return 0;
}

START_TEST(cancel_stress_across_loops)
{
	enum { N = SCALE(30000) };
	struct stress s = {.n = N, .receiving = true, .seed = 3};
	struct plain_peer pp = {.n = N};
	struct loop_thread lt;

	SKIP_UNDER_VALGRIND();
	ck_assert_int_eq(weft_chan_new(&s.ch, 1), 0);
	pp.ch = s.ch;
	loop_thread_start(&lt, stress_loop_sender, &pp);
	ck_assert_int_eq(weft_run(stress_main, &s, NULL), 0);
	ck_assert_int_eq(loop_thread_join(&lt), 0);
	ck_assert_int_eq(pp.err, 0);
	ck_assert_int_eq(s.dup_or_gap, 0);
	ck_assert_int_eq(s.next, N);
	ck_assert_int_eq(weft_chan_free(s.ch), 0);
}
END_TEST

/* Timeouts racing with hand-offs on both sides: a plain thread sends 0..N-1 with short
 * timeouts, retrying an item that timed out; a fiber receives with short timeouts. Each item must
 * arrive exactly once, in order. */
struct timeout_stress {
	weft_chan *ch;
	unsigned n;
	long timeouts;
	long dup_or_gap;
	unsigned next;
	int err;
};

static void *timeout_stress_sender(void *p)
{
	struct timeout_stress *ts = p;
	unsigned seed = 7;

	for (unsigned i = 0; i < ts->n;) {
		int r =
		    weft_chan_send_timeout(ts->ch, ITEM(0, i), (rand_r(&seed) % 20) * WEFT_USEC);
		if (r == 0)
			i++;
		else if (r != -ETIMEDOUT)
			return (void *)(intptr_t)(ts->err = r);
	}
	weft_chan_shutdown(ts->ch);
	return NULL;
}

static int timeout_stress_receiver(void *p)
{
	struct timeout_stress *ts = p;
	unsigned seed = 11;
	void *item;
	int r;

	for (;;) {
		r = weft_chan_recv_timeout(ts->ch, &item, (rand_r(&seed) % 20) * WEFT_USEC);
		if (r == -ETIMEDOUT) {
			ts->timeouts++;
			continue;
		}
		if (r)
			return r == -EPIPE ? 0 : r;
		if (SEQ(item) != ts->next)
			ts->dup_or_gap++;
		ts->next = SEQ(item) + 1;
	}
}

START_TEST(timeout_stress)
{
	enum { N = SCALE(30000) };
	struct timeout_stress ts = {.n = N};
	pthread_t th;

	SKIP_UNDER_VALGRIND();
	ck_assert_int_eq(weft_chan_new(&ts.ch, 1), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, timeout_stress_sender, &ts), 0);
	ck_assert_int_eq(weft_run(timeout_stress_receiver, &ts, NULL), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(ts.err, 0);
	ck_assert_int_eq(ts.dup_or_gap, 0);
	ck_assert_int_eq(ts.next, N);
	ck_assert_int_eq(weft_chan_free(ts.ch), 0);
}
END_TEST

/* ---- deadlines and timeouts ------------------------------------------------------------- */

static int deadline_main(void *arg)
{
	weft_chan *ch;
	weft_scope sc;
	void *item;
	int64_t t0;

	ck_assert_int_eq(weft_chan_new(&ch, 1), 0);
	t0 = weft_now();
	ck_assert_int_eq(weft_scope_enter(&sc, t0 + 20 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_chan_recv(ch, &item), -ETIMEDOUT);
	ck_assert_int_ge(weft_now() - t0, 20 * WEFT_MSEC);
	ck_assert_int_eq(weft_scope_exit(&sc), -ETIMEDOUT);
	ck_assert_int_eq(weft_chan_send(ch, ITEM(0, 1)), 0);
	t0 = weft_now();
	ck_assert_int_eq(weft_scope_enter(&sc, t0 + 20 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_chan_send(ch, ITEM(0, 2)), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&sc), -ETIMEDOUT);
	/* own timeouts */
	ck_assert_int_eq(weft_chan_send_timeout(ch, ITEM(0, 3), 10 * WEFT_MSEC), -ETIMEDOUT);
	ck_assert_int_eq(weft_chan_send_timeout(ch, ITEM(0, 3), 0), -ETIMEDOUT);
	ck_assert_int_eq(weft_chan_recv_timeout(ch, &item, 0), 0);
	ck_assert_ptr_eq(item, ITEM(0, 1));
	t0 = weft_now();
	ck_assert_int_eq(weft_chan_recv_timeout(ch, &item, 10 * WEFT_MSEC), -ETIMEDOUT);
	ck_assert_int_ge(weft_now() - t0, 10 * WEFT_MSEC);
	/* an own timeout later than the scope deadline: the deadline wins */
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 5 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_chan_recv_timeout(ch, &item, WEFT_SEC), -ETIMEDOUT);
	weft_scope_exit(&sc);
	/* nothing was left behind by the timed-out waiters */
	ck_assert_int_eq(weft_chan_len(ch), 0);
	ck_assert_int_eq(weft_chan_try_send(ch, ITEM(0, 4)), 0);
	ck_assert_int_eq(weft_chan_try_recv(ch, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 4));
	ck_assert_int_eq(weft_chan_free(ch), 0);
	return 0;
}

START_TEST(scope_deadline_and_timeouts_in_fibers)
{
	ck_assert_int_eq(weft_run(deadline_main, NULL, NULL), 0);
}
END_TEST

START_TEST(plain_thread_timeouts)
{
	weft_chan *ch;
	void *item;
	int64_t t0;

	ck_assert_int_eq(weft_chan_new(&ch, 1), 0);
	t0 = weft_now();
	ck_assert_int_eq(weft_chan_recv_timeout(ch, &item, 20 * WEFT_MSEC), -ETIMEDOUT);
	ck_assert_int_ge(weft_now() - t0, 20 * WEFT_MSEC);
	ck_assert_int_eq(weft_chan_send_timeout(ch, ITEM(0, 1), 0), 0);
	t0 = weft_now();
	ck_assert_int_eq(weft_chan_send_timeout(ch, ITEM(0, 2), 20 * WEFT_MSEC), -ETIMEDOUT);
	ck_assert_int_ge(weft_now() - t0, 20 * WEFT_MSEC);
	ck_assert_int_eq(weft_chan_recv_timeout(ch, &item, 0), 0);
	ck_assert_ptr_eq(item, ITEM(0, 1));
	ck_assert_int_eq(weft_chan_recv_timeout(ch, &item, 0), -ETIMEDOUT);
	ck_assert_int_eq(weft_chan_len(ch), 0);
	ck_assert_int_eq(weft_chan_free(ch), 0);
}
END_TEST

/* ---- close ------------------------------------------------------------------------------ */

struct thread_recv {
	weft_chan *ch;
	int r;
};

static void *thread_recv_main(void *p)
{
	struct thread_recv *tr = p;
	void *item;

	tr->r = weft_chan_recv(tr->ch, &item);
	return NULL;
}

static int close_main(void *arg)
{
	struct got g = {0};
	weft_task *t, *ts;
	weft_chan *full;
	void *item;
	int st;

	/* items are drained after close, then -EPIPE */
	ck_assert_int_eq(weft_chan_new(&g.ch, 4), 0);
	ck_assert_int_eq(weft_chan_send(g.ch, ITEM(0, 1)), 0);
	ck_assert_int_eq(weft_chan_send(g.ch, ITEM(0, 2)), 0);
	ck_assert(!weft_chan_is_shutdown(g.ch));
	ck_assert_int_eq(weft_chan_shutdown(g.ch), 0);
	ck_assert_int_eq(weft_chan_shutdown(g.ch), 0);
	ck_assert(weft_chan_is_shutdown(g.ch));
	ck_assert_int_eq(weft_chan_send(g.ch, ITEM(0, 3)), -EPIPE);
	ck_assert_int_eq(weft_chan_try_send(g.ch, ITEM(0, 3)), -EPIPE);
	ck_assert_int_eq(weft_chan_recv(g.ch, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 1));
	ck_assert_int_eq(weft_chan_try_recv(g.ch, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 2));
	ck_assert_int_eq(weft_chan_recv(g.ch, &item), -EPIPE);
	ck_assert_int_eq(weft_chan_try_recv(g.ch, &item), -EPIPE);
	ck_assert_int_eq(weft_chan_free(g.ch), 0);

	/* close wakes a parked receiver and a parked sender */
	ck_assert_int_eq(weft_chan_new(&g.ch, 1), 0);
	ck_assert_int_eq(weft_chan_new(&full, 1), 0);
	ck_assert_int_eq(weft_chan_send(full, ITEM(0, 1)), 0);
	ck_assert_int_eq(weft_task_spawn(&t, recv_one, &g, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&ts, send_one, full, NULL), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_chan_shutdown(g.ch), 0);
	ck_assert_int_eq(weft_chan_shutdown(full), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, -EPIPE);
	ck_assert_int_eq(weft_task_join(ts, &st), 0);
	ck_assert_int_eq(st, -EPIPE);
	/* the sender's item was not sent */
	ck_assert_int_eq(weft_chan_recv(full, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 1));
	ck_assert_int_eq(weft_chan_recv(full, &item), -EPIPE);
	ck_assert_int_eq(weft_chan_free(g.ch), 0);
	ck_assert_int_eq(weft_chan_free(full), 0);
	return 0;
}

START_TEST(close_semantics)
{
	ck_assert_int_eq(weft_run(close_main, NULL, NULL), 0);
}
END_TEST

static int close_from_fiber(void *p)
{
	weft_sleep(30 * WEFT_MSEC);
	return weft_chan_shutdown(p);
}

START_TEST(close_wakes_plain_thread)
{
	struct thread_recv tr = {0};
	pthread_t th;

	ck_assert_int_eq(weft_chan_new(&tr.ch, 1), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, thread_recv_main, &tr), 0);
	ck_assert_int_eq(weft_run(close_from_fiber, tr.ch, NULL), 0);
	pthread_join(th, NULL);
	ck_assert_int_eq(tr.r, -EPIPE);
	ck_assert_int_eq(weft_chan_free(tr.ch), 0);
}
END_TEST

/* ---- try variants and callbacks --------------------------------------------------------- */

struct cb_try {
	weft_chan *ch;
	int send_r, recv_r;
};

static void try_from_callback(void *p)
{
	struct cb_try *c = p;
	void *item;

	c->recv_r = weft_chan_recv(c->ch, &item); /* blocking: not allowed here */
	c->send_r = weft_chan_try_send(c->ch, ITEM(0, 5));
}

static int try_main(void *arg)
{
	struct got g = {0};
	struct cb_try c = {0};
	weft_task *t;
	void *item;
	int st;

	ck_assert_int_eq(weft_chan_new(&g.ch, 1), 0);
	ck_assert_int_eq(weft_chan_try_recv(g.ch, &item), -EAGAIN);
	ck_assert_int_eq(weft_chan_try_send(g.ch, ITEM(0, 1)), 0);
	ck_assert_int_eq(weft_chan_try_send(g.ch, ITEM(0, 2)), -EAGAIN);
	ck_assert_int_eq(weft_chan_try_recv(g.ch, &item), 0);
	ck_assert_ptr_eq(item, ITEM(0, 1));
	/* try_send from a callback hands the item to a parked receiver */
	ck_assert_int_eq(weft_task_spawn(&t, recv_one, &g, NULL), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	c.ch = g.ch;
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), try_from_callback, &c), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(c.recv_r, -EPERM);
	ck_assert_int_eq(c.send_r, 0);
	ck_assert_ptr_eq(g.item, ITEM(0, 5));
	ck_assert_int_eq(weft_chan_len(g.ch), 0);
	ck_assert_int_eq(weft_chan_free(g.ch), 0);
	return 0;
}

START_TEST(try_variants)
{
	ck_assert_int_eq(weft_run(try_main, NULL, NULL), 0);
}
END_TEST

START_TEST(bad_arguments)
{
	weft_chan *ch;
	void *item;

	ck_assert_int_eq(weft_chan_new(NULL, 1), -EINVAL);
	ck_assert_int_eq(weft_chan_new(&ch, 0), -EINVAL);
	ck_assert_int_eq(weft_chan_new(&ch, SIZE_MAX), -EINVAL);
	ck_assert_int_eq(weft_chan_send(NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_chan_recv(NULL, &item), -EINVAL);
	ck_assert_int_eq(weft_chan_try_send(NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_chan_try_recv(NULL, &item), -EINVAL);
	ck_assert_int_eq(weft_chan_shutdown(NULL), -EINVAL);
	ck_assert_int_eq(weft_chan_len(NULL), 0);
	ck_assert_int_eq(weft_chan_capacity(NULL), 0);
	ck_assert(!weft_chan_is_shutdown(NULL));
	ck_assert_int_eq(weft_chan_free(NULL), 0);
	ck_assert_int_eq(weft_chan_new(&ch, 1), 0);
	ck_assert_int_eq(weft_chan_recv(ch, NULL), -EINVAL);
	ck_assert_int_eq(weft_chan_try_recv(ch, NULL), -EINVAL);
	ck_assert_int_eq(weft_chan_send_timeout(ch, NULL, -1), -EINVAL);
	ck_assert_int_eq(weft_chan_recv_timeout(ch, &item, -1), -EINVAL);
	ck_assert_int_eq(weft_chan_len(ch), 0);
	ck_assert_int_eq(weft_chan_free(ch), 0);
}
END_TEST

static Suite *channel_suite(void)
{
	Suite *s = suite_create("channel");
	TCase *tc = tcase_create("channel");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, send_recv_within_one_loop);
	tcase_add_test(tc, fibers_on_two_loops);
	tcase_add_test(tc, wakeup_survives_waker_loop_exit);
	tcase_add_test(tc, plain_thread_to_fiber);
	tcase_add_test(tc, fiber_to_plain_thread);
	tcase_add_test(tc, ordered_per_sender_exactly_once);
	tcase_add_test(tc, sender_blocks_while_full);
	tcase_add_test(tc, plain_sender_blocks_while_full);
	tcase_add_test(tc, cancel_parked_waiters);
	tcase_add_test(tc, cancel_stress_receivers);
	tcase_add_test(tc, cancel_stress_senders);
	tcase_add_test(tc, cancel_stress_across_loops);
	tcase_add_test(tc, timeout_stress);
	tcase_add_test(tc, scope_deadline_and_timeouts_in_fibers);
	tcase_add_test(tc, plain_thread_timeouts);
	tcase_add_test(tc, close_semantics);
	tcase_add_test(tc, close_wakes_plain_thread);
	tcase_add_test(tc, try_variants);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(channel_suite)

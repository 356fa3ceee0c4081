/* SPDX-License-Identifier: MIT */
/*
 * Queues between the fibers of one loop. Storage is a power-of-two ring (FIFO, LIFO) or a binary
 * heap whose entries carry a sequence number, so equal priorities leave in put order.
 *
 * Waiters park on three FIFO lists. Invariants: getters are parked only while the queue is empty,
 * putters only while it is full, so at most one of the two lists is non-empty. Whoever changes
 * the state serves the first waiter on the spot (hand-off): put gives its item to a getter, get
 * moves a putter's item into the freed slot. A waiter is thus either served (unlinked, holding
 * its result) or still linked; an interrupt only ever finds the latter and just unlinks it.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "weft/queue.h"
#include "alloc.h"
#include "list.h"
#include "loop.h"
#include "sched.h"
#include "task.h"

#define QUEUE_INITIAL_CAP  16
#define QUEUE_PREALLOC_MAX 1024 /* bounded queues up to this size get all their storage at once */

enum queue_state {
	QUEUE_OPEN,
	QUEUE_SHUTDOWN,	 /* no more puts; gets drain */
	QUEUE_IMMEDIATE, /* no more puts or gets; items discarded */
};

struct heap_ent {
	void *item;
	uint64_t seq; /* put order: the tiebreak among equal priorities */
};

struct weft_queue {
	struct weft_loop *loop;
	uint8_t kind;  /* enum weft_queue_kind */
	uint8_t state; /* enum queue_state */
	size_t maxsize;
	size_t limit; /* maxsize, or SIZE_MAX when unbounded: full is len >= limit */
	size_t len;
	size_t head; /* ring: index of the oldest item (always 0 for LIFO) */
	size_t cap;  /* slots allocated; a power of two */
	union {
		void **ring;
		struct heap_ent *heap;
	};
	uint64_t seq;
	weft_queue_cmp cmp;
	void *ctx;
	size_t unfinished;	   /* items put and not yet task_done'd */
	struct weft__list getters; /* struct queue_wait, FIFO */
	struct weft__list putters;
	struct weft__list joiners;
};

struct queue_wait {
	struct weft__wait wait;
	struct weft__list link;
	void *item; /* put: the item offered; get: the item received */
	int result; /* set by whoever serves the waiter: 0 or -EPIPE */
};

/* ---- storage ---------------------------------------------------------------------------- */

static inline size_t entry_size(const struct weft_queue *q)
{
	return q->kind == WEFT_QUEUE_PRIORITY ? sizeof(struct heap_ent) : sizeof(void *);
}

static int store_resize(struct weft_queue *q, size_t ncap)
{
	size_t esz = entry_size(q);
	void *p;

	if (ncap < q->cap || ncap > SIZE_MAX / esz)
		return -ENOMEM;
	p = weft__realloc(q->ring, ncap * esz);
	if (!p)
		return -ENOMEM;
	q->ring = p;
	/* A wrapped ring continues in the new upper half, which is at least as long as the wrap. */
	if (q->kind != WEFT_QUEUE_PRIORITY && q->head + q->len > q->cap)
		memcpy(q->ring + q->cap, q->ring, (q->head + q->len - q->cap) * sizeof(void *));
	q->cap = ncap;
	return 0;
}

static inline bool heap_before(const struct weft_queue *q, const struct heap_ent *a,
			       const struct heap_ent *b)
{
	int c = q->cmp(a->item, b->item, q->ctx);

	return c < 0 || (c == 0 && a->seq < b->seq);
}

static void heap_push(struct weft_queue *q, void *item)
{
	struct heap_ent e = {.item = item, .seq = q->seq++};
	struct heap_ent *h = q->heap;
	size_t i = q->len++;

	while (i) {
		size_t parent = (i - 1) / 2;
		if (!heap_before(q, &e, &h[parent]))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = e;
}

static void *heap_pop(struct weft_queue *q)
{
	struct heap_ent *h = q->heap;
	void *top = h[0].item;
	size_t n = --q->len, i = 0;
	struct heap_ent last = h[n];

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && heap_before(q, &h[c + 1], &h[c]))
			c++;
		if (!heap_before(q, &h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = last;
	return top;
}

/* Store @item; the caller made sure there is a free slot. */
static inline void store_push(struct weft_queue *q, void *item)
{
	if (q->kind == WEFT_QUEUE_PRIORITY) {
		heap_push(q, item);
		return;
	}
	q->ring[(q->head + q->len) & (q->cap - 1)] = item;
	q->len++;
}

/* Remove the next item; the queue is not empty. */
static inline void *store_pop(struct weft_queue *q)
{
	void *item;

	switch (q->kind) {
	case WEFT_QUEUE_FIFO:
		item = q->ring[q->head];
		q->head = (q->head + 1) & (q->cap - 1);
		q->len--;
		return item;
	case WEFT_QUEUE_LIFO:
		q->len--;
		return q->ring[(q->head + q->len) & (q->cap - 1)];
	default:
		return heap_pop(q);
	}
}

/* ---- waiters ---------------------------------------------------------------------------- */

static void queue_interrupt(struct weft__wait *w)
{
	weft__list_del(&weft__container_of(w, struct queue_wait, wait)->link);
	weft__wake(w->task);
}

static inline struct queue_wait *first_waiter(struct weft__list *list)
{
	return weft__container_of(list->next, struct queue_wait, link);
}

/* Unlink and wake the first waiter of @list, leaving it @result. */
static inline struct queue_wait *serve_first(struct weft__list *list, int result)
{
	struct queue_wait *w = first_waiter(list);

	weft__list_del(&w->link);
	w->result = result;
	weft__wake(w->wait.task);
	return w;
}

static void serve_all(struct weft__list *list, int result)
{
	while (!weft__list_empty(list))
		serve_first(list, result);
}

/* Park the current task on @list until served (0 or -EPIPE in w->result) or interrupted. */
static int park_on(struct weft__list *list, struct queue_wait *w, const char *what)
{
	int err;

	weft__wait_init(&w->wait, what, queue_interrupt);
	w->result = 0;
	weft__list_add_tail(list, &w->link);
	err = weft__park(&w->wait, WEFT_FOREVER, 0);
	return err ? err : w->result;
}

/* May the caller block on @q? It must be a fiber of the queue's loop, not cancelled, and not
 * past its deadline. */
static inline int blocking_check(const struct weft_queue *q)
{
	struct weft_task *t = weft__current();

	if (!t)
		return -EPERM;
	if (t->loop != q->loop)
		return -EXDEV;
	return weft__checkpoint(t);
}

/* ---- the operations without waiting ----------------------------------------------------- */

/* Add @item without waiting: 0, -EAGAIN (full), -EPIPE, -ENOMEM. */
static inline int put_nowait(struct weft_queue *q, void *item)
{
	if (__builtin_expect(q->state != QUEUE_OPEN, 0))
		return -EPIPE;
	if (!weft__list_empty(&q->getters)) {
		/* The queue is empty: the item goes straight to the longest-waiting getter. */
		serve_first(&q->getters, 0)->item = item;
		q->unfinished++;
		return 0;
	}
	if (q->len >= q->limit)
		return -EAGAIN;
	if (__builtin_expect(q->len == q->cap, 0)) {
		int err = store_resize(q, q->cap * 2);
		if (err)
			return err;
	}
	store_push(q, item);
	q->unfinished++;
	return 0;
}

/* Take the next item without waiting: 0, -EAGAIN (empty), -EPIPE. */
static inline int get_nowait(struct weft_queue *q, void **itemp)
{
	if (__builtin_expect(!q->len, 0))
		return q->state != QUEUE_OPEN ? -EPIPE : -EAGAIN;
	*itemp = store_pop(q);
	if (!weft__list_empty(&q->putters)) {
		/* The queue was full: the slot just freed goes to the longest-waiting putter. */
		store_push(q, first_waiter(&q->putters)->item);
		serve_first(&q->putters, 0);
		q->unfinished++;
	}
	return 0;
}

/* ---- public ----------------------------------------------------------------------------- */

int weft_queue_new(weft_loop *loop, weft_queue **qp, enum weft_queue_kind kind, size_t maxsize,
		   weft_queue_cmp cmp, void *ctx)
{
	struct weft_queue *q;
	size_t cap = QUEUE_INITIAL_CAP;
	int err;

	if (!qp || (unsigned)kind > WEFT_QUEUE_PRIORITY ||
	    (kind == WEFT_QUEUE_PRIORITY) != (cmp != NULL))
		return -EINVAL;
	if (!loop)
		loop = weft__loop();
	if (!loop)
		return -EPERM;
	if (maxsize && maxsize <= QUEUE_PREALLOC_MAX)
		for (cap = 1; cap < maxsize; cap *= 2)
			;
	q = weft__new(struct weft_queue);
	if (!q)
		return -ENOMEM;
	q->loop = loop;
	q->kind = (uint8_t)kind;
	q->maxsize = maxsize;
	q->limit = maxsize ? maxsize : SIZE_MAX;
	q->cmp = cmp;
	q->ctx = ctx;
	weft__list_init(&q->getters);
	weft__list_init(&q->putters);
	weft__list_init(&q->joiners);
	err = store_resize(q, cap);
	if (err) {
		weft__delete(q);
		return err;
	}
	*qp = q;
	return 0;
}

int weft_queue_put(weft_queue *q, void *item)
{
	struct queue_wait w;
	int err;

	if (!q)
		return -EINVAL;
	err = blocking_check(q);
	if (err)
		return err;
	err = put_nowait(q, item);
	if (err != -EAGAIN)
		return err;
	w.item = item;
	return park_on(&q->putters, &w, "queue put");
}

int weft_queue_get(weft_queue *q, void **itemp)
{
	struct queue_wait w;
	int err;

	if (!q || !itemp)
		return -EINVAL;
	err = blocking_check(q);
	if (err)
		return err;
	err = get_nowait(q, itemp);
	if (err != -EAGAIN)
		return err;
	err = park_on(&q->getters, &w, "queue get");
	if (!err)
		*itemp = w.item;
	return err;
}

int weft_queue_try_put(weft_queue *q, void *item)
{
	if (!q)
		return -EINVAL;
	if (weft__loop_affine(q->loop, __func__))
		return -EXDEV;
	return put_nowait(q, item);
}

int weft_queue_try_get(weft_queue *q, void **itemp)
{
	if (!q || !itemp)
		return -EINVAL;
	if (weft__loop_affine(q->loop, __func__))
		return -EXDEV;
	return get_nowait(q, itemp);
}

size_t weft_queue_size(const weft_queue *q)
{
	return q ? q->len : 0;
}

size_t weft_queue_maxsize(const weft_queue *q)
{
	return q ? q->maxsize : 0;
}

bool weft_queue_empty(const weft_queue *q)
{
	return !q || !q->len;
}

bool weft_queue_full(const weft_queue *q)
{
	return q && q->len >= q->limit;
}

int weft_queue_task_done(weft_queue *q)
{
	if (!q)
		return -EINVAL;
	if (weft__loop_affine(q->loop, __func__))
		return -EXDEV;
	if (!q->unfinished)
		return -EOVERFLOW;
	if (!--q->unfinished)
		serve_all(&q->joiners, 0);
	return 0;
}

int weft_queue_join(weft_queue *q)
{
	struct queue_wait w;
	int err;

	if (!q)
		return -EINVAL;
	err = blocking_check(q);
	if (err)
		return err;
	if (q->state == QUEUE_IMMEDIATE)
		return -EPIPE;
	if (!q->unfinished)
		return 0;
	return park_on(&q->joiners, &w, "queue join");
}

int weft_queue_shutdown(weft_queue *q, unsigned flags)
{
	if (!q || (flags & ~WEFT_QUEUE_SHUTDOWN_IMMEDIATE))
		return -EINVAL;
	if (weft__loop_affine(q->loop, __func__))
		return -EXDEV;
	if (q->state == QUEUE_OPEN)
		q->state = QUEUE_SHUTDOWN;
	serve_all(&q->putters, -EPIPE);
	serve_all(&q->getters, -EPIPE);
	if ((flags & WEFT_QUEUE_SHUTDOWN_IMMEDIATE) && q->state != QUEUE_IMMEDIATE) {
		q->state = QUEUE_IMMEDIATE;
		/* Discarded items count as done, so task_done calls for items consumers already hold
		 * still balance. (The count can be lower if task_done ran ahead of the gets.) */
		q->unfinished -= q->len < q->unfinished ? q->len : q->unfinished;
		q->len = 0;
		q->head = 0;
		serve_all(&q->joiners, -EPIPE);
	}
	return 0;
}

bool weft_queue_is_shutdown(const weft_queue *q)
{
	return q && q->state != QUEUE_OPEN;
}

int weft_queue_free(weft_queue *q)
{
	if (!q)
		return 0;
	if (!weft__list_empty(&q->getters) || !weft__list_empty(&q->putters) ||
	    !weft__list_empty(&q->joiners))
		return -EBUSY;
	weft__free(q->ring, q->cap * entry_size(q));
	weft__delete(q);
	return 0;
}

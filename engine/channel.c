/* SPDX-License-Identifier: MIT */
/*
 * Channels between threads: a mutex-protected ring of item slots plus two FIFO lists of waiters.
 *
 * Invariants (under the mutex): receivers wait only while the ring is empty, senders only while
 * it is full, so at most one list is non-empty. Whoever changes the state serves the first
 * waiter on the spot (hand-off, as in queue.c): send gives its item to a receiver, recv moves a
 * sender's item into the freed slot. Serving unlinks the waiter and sets `served` under the
 * mutex; a waiter that gives up takes the mutex and unlinks itself only if it was not served.
 * So an item is always either with the waiter or still with its owner.
 *
 * Waiter records live on the waiter's stack. Their lifetime across threads:
 *   - a plain-thread waiter is signalled under the mutex, and only returns after re-taking the
 *     mutex and seeing `served`, so the server is done with the record by then;
 *   - a fiber waiter is woken by a callback posted to its loop (weft_loop_post), which runs after
 *     the server is done with the record and touches the record itself. So a served fiber waits
 *     (uninterruptibly) until that callback has run (`woken`, touched only on its loop thread)
 *     before it returns, whatever else woke it first. A fiber never returns with a wake-up in
 *     flight, and the channel needs no reference counts.
 * The post happens after the mutex is dropped: the record cannot go away before the callback
 * runs, and the mutex is not held across an allocation and a possible eventfd write.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "weft/channel.h"
#include "weft/thread.h"
#include "weft/time.h"
#include "alloc.h"
#include "deadline.h"
#include "list.h"
#include "loop.h"
#include "sched.h"
#include "task.h"

struct weft_chan {
	pthread_mutex_t mu;
	size_t cap;
	size_t len;
	size_t head; /* index of the oldest item */
	bool closed;
	struct weft__list receivers; /* struct chan_wait, FIFO */
	struct weft__list senders;
	void **ring;
};

struct chan_wait {
	struct weft__list link;
	void *item;  /* send: the item offered; recv: the item received */
	int result;  /* set by the server: 0 or -EPIPE */
	bool served; /* under the channel's mutex */
	/* fibers */
	struct weft_chan *chan;
	struct weft__wait wait;
	struct weft_loop *loop;
	bool woken; /* the server's wake-up has reached us: touched only on our loop's thread */
	struct weft__post post; /* that wake-up, from another thread */
	/* plain threads */
	pthread_cond_t *cv;
	/* the server's list of fibers to wake once the mutex is dropped */
	struct chan_wait *wake_next;
};

/* ---- waking ----------------------------------------------------------------------------- */

static void chan_woken(void *arg)
{
	struct chan_wait *w = arg;

	w->woken = true;
	weft__wake(w->wait.task);
}

/*
 * Serve @w: it is linked on one of @ch's lists, the mutex is held. A thread is signalled here;
 * a fiber is pushed on *@wake, to be woken by wake_fibers() after the unlock.
 */
static void serve(struct chan_wait *w, int result, struct chan_wait **wake)
{
	weft__list_del(&w->link);
	w->result = result;
	w->served = true;
	if (w->cv) {
		pthread_cond_signal(w->cv);
	} else {
		w->wake_next = *wake;
		*wake = w;
	}
}

/* Wake the fibers served under the mutex; it is no longer held. */
static void wake_fibers(struct chan_wait *w)
{
	struct weft_loop *self = weft__loop();

	while (w) {
		/* Read before waking: the record may be gone right after. */
		struct chan_wait *next = w->wake_next;
		if (w->loop == self)
			chan_woken(w); /* our own loop: the waiter can't run before we return */
		else /* a post that cannot fail: a lost wake-up would strand the waiter */
			weft__post_node(w->loop, &w->post, chan_woken, w);
		w = next;
	}
}

static inline struct chan_wait *first_waiter(struct weft__list *list)
{
	return weft__container_of(list->next, struct chan_wait, link);
}

/* A parked fiber is cancelled or past its deadline: unlink it unless it was served already (then
 * the server's wake-up is on its way and will wake it; the item is its). */
static void chan_interrupt(struct weft__wait *wait)
{
	struct chan_wait *w = weft__container_of(wait, struct chan_wait, wait);
	bool served;

	pthread_mutex_lock(&w->chan->mu);
	served = w->served;
	if (!served)
		weft__list_del(&w->link);
	pthread_mutex_unlock(&w->chan->mu);
	if (!served)
		weft__wake(wait->task);
}

/* ---- the operations without waiting (mutex held) ---------------------------------------- */

/* 0, -EAGAIN (full), -EPIPE. */
static inline int send_locked(struct weft_chan *ch, void *item, struct chan_wait **wake)
{
	size_t tail;

	if (__builtin_expect(ch->closed, 0))
		return -EPIPE;
	if (!weft__list_empty(&ch->receivers)) {
		/* The ring is empty: the item goes straight to the longest-waiting receiver. */
		struct chan_wait *w = first_waiter(&ch->receivers);
		w->item = item;
		serve(w, 0, wake);
		return 0;
	}
	if (ch->len == ch->cap)
		return -EAGAIN;
	tail = ch->head + ch->len;
	if (tail >= ch->cap)
		tail -= ch->cap;
	ch->ring[tail] = item;
	ch->len++;
	return 0;
}

/* 0, -EAGAIN (empty), -EPIPE (closed and empty). */
static inline int recv_locked(struct weft_chan *ch, void **itemp, struct chan_wait **wake)
{
	size_t slot;

	if (__builtin_expect(!ch->len, 0))
		return ch->closed ? -EPIPE : -EAGAIN;
	*itemp = ch->ring[ch->head];
	slot = ch->head;
	if (++ch->head == ch->cap)
		ch->head = 0;
	if (!weft__list_empty(&ch->senders)) {
		/* The ring was full: the slot just freed (now the tail) takes the first sender's item. */
		struct chan_wait *w = first_waiter(&ch->senders);
		ch->ring[slot] = w->item;
		serve(w, 0, wake);
	} else {
		ch->len--;
	}
	return 0;
}

/* ---- waiting ---------------------------------------------------------------------------- */

static int64_t deadline_after(int64_t timeout_ns)
{
	return timeout_ns == WEFT_FOREVER ? WEFT_FOREVER
					  : weft__deadline_after(weft_now(), timeout_ns);
}

/*
 * Park the current fiber as @w on @list (mutex held on entry, dropped here). Returns @w's result
 * when served, else -ECANCELED / -ETIMEDOUT.
 */
static int wait_fiber(struct weft_chan *ch, struct weft__list *list, struct chan_wait *w,
		      int64_t deadline, const char *what)
{
	int r;

	w->loop = weft__loop();
	w->chan = ch;
	weft__wait_init(&w->wait, what, chan_interrupt);
	weft__list_add_tail(list, &w->link);
	pthread_mutex_unlock(&ch->mu);

	r = weft__park(&w->wait, deadline, 0);
	if (w->woken) {
		if (r)
			weft__park_result_stands(weft__current()); /* served: nothing was caught */
		return w->result;
	}
	/* Interrupted (and unlinked then, unless served), or our own timeout woke us. */
	pthread_mutex_lock(&ch->mu);
	if (!w->served) {
		weft__list_del(&w->link);
		pthread_mutex_unlock(&ch->mu);
		return r ? r : -ETIMEDOUT;
	}
	pthread_mutex_unlock(&ch->mu);
	/* Served just before: the wake-up is on its way and touches *w, so wait for it. */
	w->wait.interrupt = NULL;
	while (!w->woken)
		weft__park(&w->wait, WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
	weft__park_result_stands(weft__current());
	return w->result;
}

/* Block the current plain thread as @w on @list (mutex held on entry, dropped here). */
static int wait_thread(struct weft_chan *ch, struct weft__list *list, struct chan_wait *w,
		       int64_t deadline)
{
	struct timespec ts = {.tv_sec = deadline / WEFT_SEC, .tv_nsec = deadline % WEFT_SEC};
	pthread_condattr_t ca;
	pthread_cond_t cv;
	int r = 0;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	w->cv = &cv;
	weft__list_add_tail(list, &w->link);
	while (!w->served) {
		if (deadline == WEFT_FOREVER) {
			pthread_cond_wait(&cv, &ch->mu);
		} else if (pthread_cond_timedwait(&cv, &ch->mu, &ts) == ETIMEDOUT && !w->served) {
			weft__list_del(&w->link);
			r = -ETIMEDOUT;
			break;
		}
	}
	if (w->served)
		r = w->result;
	pthread_mutex_unlock(&ch->mu);
	pthread_cond_destroy(&cv);
	return r;
}

/*
 * Who is calling: 1 for a fiber (after its checkpoint: a non-zero *err means return it), 0 for a
 * plain thread, -EPERM for loop callbacks, which must not block.
 */
static inline int caller_kind(int *err)
{
	struct weft_loop *loop = weft__loop();
	struct weft_task *t;

	*err = 0;
	if (!loop)
		return 0;
	t = loop->current;
	if (!t)
		return *err = -EPERM;
	*err = weft__checkpoint(t);
	return 1;
}

/* ---- public ----------------------------------------------------------------------------- */

int weft_chan_new(weft_chan **chanp, size_t capacity)
{
	struct weft_chan *ch;

	if (!chanp || !capacity || capacity > SIZE_MAX / 2 / sizeof(void *))
		return -EINVAL;
	ch = weft__new(struct weft_chan);
	if (!ch)
		return -ENOMEM;
	ch->ring = weft__new_array(void *, capacity);
	if (!ch->ring) {
		weft__delete(ch);
		return -ENOMEM;
	}
	ch->cap = capacity;
	pthread_mutex_init(&ch->mu, NULL);
	weft__list_init(&ch->receivers);
	weft__list_init(&ch->senders);
	*chanp = ch;
	return 0;
}

int weft_chan_send_timeout(weft_chan *ch, void *item, int64_t timeout_ns)
{
	struct chan_wait w = {.item = item}, *wake = NULL;
	int fiber, err;

	if (!ch || timeout_ns < 0)
		return -EINVAL;
	fiber = caller_kind(&err);
	if (err)
		return err;
	pthread_mutex_lock(&ch->mu);
	err = send_locked(ch, item, &wake);
	if (err != -EAGAIN || !timeout_ns) {
		pthread_mutex_unlock(&ch->mu);
		wake_fibers(wake);
		return err == -EAGAIN ? -ETIMEDOUT : err;
	}
	if (fiber)
		return wait_fiber(ch, &ch->senders, &w, deadline_after(timeout_ns), "chan send");
	return wait_thread(ch, &ch->senders, &w, deadline_after(timeout_ns));
}

int weft_chan_send(weft_chan *ch, void *item)
{
	return weft_chan_send_timeout(ch, item, WEFT_FOREVER);
}

int weft_chan_recv_timeout(weft_chan *ch, void **itemp, int64_t timeout_ns)
{
	struct chan_wait w = {0}, *wake = NULL;
	int fiber, err;

	if (!ch || !itemp || timeout_ns < 0)
		return -EINVAL;
	fiber = caller_kind(&err);
	if (err)
		return err;
	pthread_mutex_lock(&ch->mu);
	err = recv_locked(ch, itemp, &wake);
	if (err != -EAGAIN || !timeout_ns) {
		pthread_mutex_unlock(&ch->mu);
		wake_fibers(wake);
		return err == -EAGAIN ? -ETIMEDOUT : err;
	}
	if (fiber)
		err = wait_fiber(ch, &ch->receivers, &w, deadline_after(timeout_ns), "chan recv");
	else
		err = wait_thread(ch, &ch->receivers, &w, deadline_after(timeout_ns));
	if (!err)
		*itemp = w.item;
	return err;
}

int weft_chan_recv(weft_chan *ch, void **itemp)
{
	return weft_chan_recv_timeout(ch, itemp, WEFT_FOREVER);
}

int weft_chan_try_send(weft_chan *ch, void *item)
{
	struct chan_wait *wake = NULL;
	int err;

	if (!ch)
		return -EINVAL;
	pthread_mutex_lock(&ch->mu);
	err = send_locked(ch, item, &wake);
	pthread_mutex_unlock(&ch->mu);
	wake_fibers(wake);
	return err;
}

int weft_chan_try_recv(weft_chan *ch, void **itemp)
{
	struct chan_wait *wake = NULL;
	int err;

	if (!ch || !itemp)
		return -EINVAL;
	pthread_mutex_lock(&ch->mu);
	err = recv_locked(ch, itemp, &wake);
	pthread_mutex_unlock(&ch->mu);
	wake_fibers(wake);
	return err;
}

int weft_chan_shutdown(weft_chan *ch)
{
	struct chan_wait *wake = NULL;

	if (!ch)
		return -EINVAL;
	pthread_mutex_lock(&ch->mu);
	if (!ch->closed) {
		ch->closed = true;
		while (!weft__list_empty(&ch->senders))
			serve(first_waiter(&ch->senders), -EPIPE, &wake);
		while (!weft__list_empty(&ch->receivers))
			serve(first_waiter(&ch->receivers), -EPIPE, &wake);
	}
	pthread_mutex_unlock(&ch->mu);
	wake_fibers(wake);
	return 0;
}

size_t weft_chan_len(weft_chan *ch)
{
	size_t n;

	if (!ch)
		return 0;
	pthread_mutex_lock(&ch->mu);
	n = ch->len;
	pthread_mutex_unlock(&ch->mu);
	return n;
}

size_t weft_chan_capacity(const weft_chan *ch)
{
	return ch ? ch->cap : 0;
}

bool weft_chan_is_shutdown(weft_chan *ch)
{
	bool closed;

	if (!ch)
		return false;
	pthread_mutex_lock(&ch->mu);
	closed = ch->closed;
	pthread_mutex_unlock(&ch->mu);
	return closed;
}

int weft_chan_free(weft_chan *ch)
{
	bool busy;

	if (!ch)
		return 0;
	pthread_mutex_lock(&ch->mu);
	busy = !weft__list_empty(&ch->senders) || !weft__list_empty(&ch->receivers);
	pthread_mutex_unlock(&ch->mu);
	if (busy)
		return -EBUSY;
	pthread_mutex_destroy(&ch->mu);
	weft__delete_array(ch->ring, ch->cap);
	weft__delete(ch);
	return 0;
}

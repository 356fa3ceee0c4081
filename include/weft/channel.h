/* SPDX-License-Identifier: MIT */
/*
 * weft/channel.h - a bounded FIFO channel between threads: fibers of any loops and plain threads
 * may send and receive on the same channel at once (Go's buffered chan, trio's memory channel
 * across threads).
 *
 * Items are `void *` values (NULL included); the channel stores them and never looks at them.
 * A channel holds at most @capacity items: send waits while it is full, recv while it is empty.
 *
 * Order: items leave in the order their sends completed, so the items of one sender (a thread or
 * a fiber sending one after the other) reach a receiver in the order they were sent. Waiters are
 * served first come, first served: a send that finds receivers waiting hands its item to the
 * longest-waiting one; a recv that frees a slot of a full channel moves the longest-waiting
 * sender's item in. A waiter is thus either served (it has the item, or its item was taken) or
 * still waiting; a waiter that gives up (cancel, deadline, timeout) while waiting has received
 * nothing and its item stays its own, so no item is ever lost or delivered twice. A waiter that
 * was served just before it gave up keeps the success.
 *
 * Who may wait, and how:
 *   - a fiber parks (its loop keeps running other tasks); it is a cancellation point and honours
 *     enclosing scope deadlines (weft/scope.h): -ECANCELED / -ETIMEDOUT, at once if it is already
 *     cancelled or past its deadline, even when the call could complete without waiting;
 *   - a plain thread (no loop running on it) blocks on a condition variable;
 *   - loop callbacks (weft_loop_call_soon, timers, posted functions) must not block: the blocking calls
 *     return -EPERM there; the try_ variants work.
 * A fiber waiting on a channel is woken through its own loop (weft_loop_post: MSG_RING from a
 * sender that runs a loop, an eventfd write from a plain thread), never by polling; a waker that
 * runs on the waiter's own loop wakes it directly.
 *
 * Close (Go's close): later sends fail with -EPIPE, and every waiting sender wakes with -EPIPE
 * (its item was not sent). Receives return the items left, then fail with -EPIPE; waiting
 * receivers (the channel is empty when there are any) wake with -EPIPE.
 *
 * Thread-safe: every call may be made from any thread at any time, except weft_chan_free(),
 * which needs every other call on the channel to have returned. The channel belongs to no loop
 * and may outlive every loop that used it. Costs: one mutex per call; a wake-up of a fiber on
 * another loop allocates one small post record (weft_loop_post); nothing else is allocated after
 * weft_chan_new().
 */
#ifndef WEFT_CHANNEL_H
#define WEFT_CHANNEL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_chan weft_chan;

/*
 * weft_chan_new - create an open, empty channel holding at most @capacity items.
 * Returns 0 (*@chanp set), -EINVAL (NULL @chanp, @capacity 0 or absurdly large) or -ENOMEM.
 * All storage is allocated here.
 */
WEFT_API int weft_chan_new(weft_chan **chanp, size_t capacity);

/*
 * weft_chan_send - send @item, waiting as long as it takes for room.
 * Returns 0 (the item is in the channel or with a receiver), -EPIPE (closed before or while
 * waiting; the item was not sent), -ECANCELED / -ETIMEDOUT (fibers: cancelled or past a scope
 * deadline, before or while waiting; the item was not sent), -EPERM (a loop callback),
 * -EINVAL (NULL @chan).
 */
WEFT_API int weft_chan_send(weft_chan *chan, void *item);

/*
 * weft_chan_recv - receive the next item into *@itemp, waiting as long as it takes for one.
 * Returns 0 (*@itemp set), -EPIPE (closed and empty), -ECANCELED / -ETIMEDOUT (fibers; nothing
 * was taken and *@itemp is untouched), -EPERM (a loop callback), -EINVAL (NULL @chan / @itemp).
 */
WEFT_API int weft_chan_recv(weft_chan *chan, void **itemp);

/*
 * weft_chan_send_timeout, weft_chan_recv_timeout - send / recv that wait at most @timeout_ns
 * (WEFT_FOREVER: no limit; 0: don't wait, but a fiber still checks for cancellation first).
 * For fibers the limit adds to the enclosing scope deadlines. Running out of time returns
 * -ETIMEDOUT (nothing moved); otherwise as weft_chan_send / weft_chan_recv. A negative
 * @timeout_ns is -EINVAL.
 */
WEFT_API int weft_chan_send_timeout(weft_chan *chan, void *item, int64_t timeout_ns);
WEFT_API int weft_chan_recv_timeout(weft_chan *chan, void **itemp, int64_t timeout_ns);

/*
 * weft_chan_try_send - send @item if that needs no wait (hands it to a waiting receiver if there
 * is one). Returns 0, -EAGAIN (full), -EPIPE (closed), -EINVAL. Never blocks and never checks
 * for cancellation: callable from anywhere, loop callbacks included.
 */
WEFT_API int weft_chan_try_send(weft_chan *chan, void *item);

/*
 * weft_chan_try_recv - take the next item if there is one. Returns 0 (*@itemp set), -EAGAIN
 * (empty), -EPIPE (closed and empty), -EINVAL. Never blocks; callable from anywhere.
 */
WEFT_API int weft_chan_try_recv(weft_chan *chan, void **itemp);

/*
 * weft_chan_shutdown - close @chan for sending and wake every waiter (see the top of this file).
 * Closing again changes nothing. Returns 0 or -EINVAL (NULL). Never blocks; callable from
 * anywhere.
 */
WEFT_API int weft_chan_shutdown(weft_chan *chan);

/* weft_chan_len - the number of items in @chan now (waiting senders' items not counted); 0 for
 * NULL. Only a snapshot when other threads use the channel. */
WEFT_API size_t weft_chan_len(weft_chan *chan);

/* weft_chan_capacity - the capacity given to weft_chan_new(); 0 for NULL. */
WEFT_API size_t weft_chan_capacity(const weft_chan *chan);

/* weft_chan_is_shutdown - true once weft_chan_shutdown() was called on @chan (false for NULL). */
WEFT_API bool weft_chan_is_shutdown(weft_chan *chan);

/*
 * weft_chan_free - free @chan. Items still in it are dropped (the channel does not own what they
 * point to: drain it with weft_chan_try_recv first if they need freeing). Every other call on the
 * channel must have returned (join the threads and tasks that use it, or close it and let them
 * return first). Returns 0 (also for NULL), or -EBUSY if a waiter is still parked or blocked on
 * it (nothing is freed then).
 */
WEFT_API int weft_chan_free(weft_chan *chan);

#ifdef __cplusplus
}
#endif
#endif

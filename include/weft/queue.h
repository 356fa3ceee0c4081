/* SPDX-License-Identifier: MIT */
/*
 * weft/queue.h - queues between the fibers of one loop (asyncio.Queue, LifoQueue, PriorityQueue).
 *
 * Items are `void *` values (NULL included); the queue stores them and never looks at them, except
 * through the comparator of a priority queue. A queue may be bounded (put blocks while it holds
 * @maxsize items) or not.
 *
 * Hand-off: a put that finds getters parked gives its item straight to the first of them, and a
 * get that frees a slot of a full queue moves the first parked putter's item in. So waiters are
 * served in FIFO order, nobody barges past them, and a waiter that is cancelled or times out
 * while parked has received nothing: no item is ever lost or delivered twice. A waiter that was
 * served keeps what it got even if a cancel reaches it before it runs (the cancel shows at its
 * next blocking call).
 *
 * put, get and join are blocking calls: they must run in a fiber of the queue's loop, and they
 * are cancellation points. In a cancelled task (or one past an enclosing scope's deadline, see
 * weft/scope.h) they return -ECANCELED / -ETIMEDOUT at once, without moving an item, even when
 * they could complete without waiting. The try_ variants never block and never check for
 * cancellation, so shielded or plain cleanup code can drain a queue with them.
 *
 * Shutdown (asyncio 3.13 Queue.shutdown) ends a queue's life: puts fail with -EPIPE, gets drain
 * what is left and then fail with -EPIPE; an immediate shutdown discards what is left.
 *
 * Uncontended put/get allocate nothing and never enter the kernel; storage grows (doubling) only
 * when an unbounded or large bounded queue holds more items than ever before.
 *
 * Not thread-safe: every call is for the queue's loop only - its fibers, and for the non-blocking
 * calls also its callbacks (weft_loop_call_soon, timers, done hooks). Use a channel across threads.
 */
#ifndef WEFT_QUEUE_H
#define WEFT_QUEUE_H

#include "common.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_queue weft_queue;

/* The order items come out in. */
enum weft_queue_kind {
	WEFT_QUEUE_FIFO,     /* first in, first out (asyncio.Queue) */
	WEFT_QUEUE_LIFO,     /* last in, first out (asyncio.LifoQueue) */
	WEFT_QUEUE_PRIORITY, /* smallest first by the comparator; FIFO among equals */
};

/*
 * A priority queue's comparator. @a and @b are two items exactly as they were put (the pointers
 * themselves, not pointers to them as in qsort), @ctx the context given to weft_queue_new().
 * Returns < 0 if @a comes out before @b, > 0 if after, 0 if they are equal (then the one put
 * first comes out first). It must be a consistent total order and must not call into the queue.
 */
typedef int (*weft_queue_cmp)(const void *a, const void *b, void *ctx);

/*
 * weft_queue_new - create an empty queue.
 * @loop: the loop it belongs to; NULL for the loop running on this thread.
 * @queuep: receives the queue.
 * @kind: WEFT_QUEUE_FIFO, _LIFO or _PRIORITY.
 * @maxsize: the most items it holds before put blocks; 0 for no bound.
 * @cmp, @ctx: the comparator and its context for WEFT_QUEUE_PRIORITY; @cmp must be NULL for the
 *   other kinds.
 * Returns 0, -EINVAL (NULL @queuep, unknown @kind, a missing or unexpected @cmp), -EPERM (@loop
 * is NULL and no loop runs on this thread), or -ENOMEM.
 * A bounded queue of up to 1024 items allocates all its storage here, so its puts never fail
 * with -ENOMEM. Free it with weft_queue_free(), before or after the loop is closed.
 */
WEFT_API int weft_queue_new(weft_loop *loop, weft_queue **queuep, enum weft_queue_kind kind,
			    size_t maxsize, weft_queue_cmp cmp, void *ctx);

/*
 * weft_queue_put - add @item, waiting for room while the queue is full (asyncio Queue.put).
 * If getters are parked (the queue is empty then), the first one receives @item directly. If the
 * queue is full, the caller parks behind earlier putters; a get hands it the freed slot in that
 * order. An interrupted put inserts nothing: @item stays the caller's.
 * Returns 0 (the item is in the queue or with a getter), -ECANCELED / -ETIMEDOUT (the caller
 * was cancelled or its deadline passed, before or while waiting), -EPIPE (the queue is shut
 * down, or was shut down while waiting), -ENOMEM (storage could not grow), -EINVAL (NULL
 * @queue), -EPERM outside a fiber, -EXDEV from a fiber of another loop.
 */
WEFT_API int weft_queue_put(weft_queue *queue, void *item);

/*
 * weft_queue_get - remove and return the next item in @itemp, waiting while the queue is empty
 * (asyncio Queue.get). Parked getters are served in the order they arrived. Taking an item from a
 * full queue moves the first parked putter's item in.
 * Returns 0 (@itemp set), -ECANCELED / -ETIMEDOUT (nothing was taken; @itemp untouched), -EPIPE
 * (the queue is shut down and empty: with a graceful shutdown, the items left are returned first),
 * -EINVAL (NULL @queue or @itemp), -EPERM outside a fiber, -EXDEV from a fiber of another loop.
 */
WEFT_API int weft_queue_get(weft_queue *queue, void **itemp);

/*
 * weft_queue_try_put - add @item if that needs no wait (asyncio put_nowait). Hands @item to a
 * parked getter if there is one.
 * Returns 0, -EAGAIN (the queue is full: QueueFull), -EPIPE (shut down), -ENOMEM, -EINVAL.
 * Callable from fibers and callbacks of the queue's loop.
 */
WEFT_API int weft_queue_try_put(weft_queue *queue, void *item);

/*
 * weft_queue_try_get - take the next item if there is one (asyncio get_nowait).
 * Returns 0 (@itemp set), -EAGAIN (empty: QueueEmpty), -EPIPE (shut down and empty), -EINVAL.
 * Callable from fibers and callbacks of the queue's loop.
 */
WEFT_API int weft_queue_try_get(weft_queue *queue, void **itemp);

/* weft_queue_size - the number of items in @queue (asyncio qsize); parked putters' items are
 * not counted. 0 for NULL. */
WEFT_API size_t weft_queue_size(const weft_queue *queue);

/* weft_queue_maxsize - the bound given at creation (0: unbounded). 0 for NULL. */
WEFT_API size_t weft_queue_maxsize(const weft_queue *queue);

/* weft_queue_empty - true if @queue holds no item (or is NULL). */
WEFT_API bool weft_queue_empty(const weft_queue *queue);

/* weft_queue_full - true if @queue is bounded and holds @maxsize items (false for NULL). */
WEFT_API bool weft_queue_full(const weft_queue *queue);

/*
 * weft_queue_task_done - tell @queue that the processing of one item taken from it is complete
 * (asyncio Queue.task_done). Every item put successfully (stored or handed to a getter) counts as
 * unfinished until one task_done call; when none is left, the tasks parked in weft_queue_join
 * wake. Returns 0, -EOVERFLOW if called more times than items were put (nothing changes), or
 * -EINVAL for NULL. Callable from fibers and callbacks of the queue's loop.
 */
WEFT_API int weft_queue_task_done(weft_queue *queue);

/*
 * weft_queue_join - wait until every item put into @queue has been marked done with
 * weft_queue_task_done (asyncio Queue.join). Returns at once when nothing is unfinished
 * (including a queue nothing was ever put into). A graceful shutdown does not end the wait
 * (consumers still drain and finish the items); an immediate one does.
 * Returns 0, -EPIPE (the queue was shut down with WEFT_QUEUE_SHUTDOWN_IMMEDIATE, before or while
 * waiting: items were discarded, so "all done" can no longer be reported), -ECANCELED /
 * -ETIMEDOUT, -EINVAL (NULL), -EPERM outside a fiber, -EXDEV from a fiber of another loop.
 */
WEFT_API int weft_queue_join(weft_queue *queue);

/* Flags for weft_queue_shutdown(). */
#define WEFT_QUEUE_SHUTDOWN_IMMEDIATE (1u << 0) /* discard the items left, wake joiners too */

/*
 * weft_queue_shutdown - shut @queue down for good (asyncio 3.13 Queue.shutdown).
 * From now on put and try_put fail with -EPIPE, and every parked putter wakes with -EPIPE (its
 * item was not inserted). Gets keep returning the items left, then fail with -EPIPE; parked
 * getters (the queue is empty when there are any) wake with -EPIPE.
 * With WEFT_QUEUE_SHUTDOWN_IMMEDIATE the items left are discarded as well (each counts as done
 * for weft_queue_task_done's bookkeeping, so consumers' task_done calls for items they already
 * took still balance), gets fail with -EPIPE at once, and parked joiners wake with -EPIPE.
 * Shutting down again is allowed: an immediate shutdown after a graceful one discards what is
 * left; anything else changes nothing.
 * Returns 0, or -EINVAL (NULL @queue, unknown @flags). Callable from fibers and callbacks of the
 * queue's loop.
 */
WEFT_API int weft_queue_shutdown(weft_queue *queue, unsigned flags);

/* weft_queue_is_shutdown - true once weft_queue_shutdown() was called on @queue. */
WEFT_API bool weft_queue_is_shutdown(const weft_queue *queue);

/*
 * weft_queue_free - free @queue. Items still in it are dropped (the queue does not own what they
 * point to: drain it with weft_queue_try_get first if they need freeing). Returns 0 (also for
 * NULL), or -EBUSY if tasks are parked in put, get or join on it (nothing is freed then; shut it
 * down, let them return, then free it).
 */
WEFT_API int weft_queue_free(weft_queue *queue);

#ifdef __cplusplus
}
#endif
#endif

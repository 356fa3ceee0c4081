/* SPDX-License-Identifier: MIT */
/* The loop record and its ring plumbing: private to the engine and the modules built on it. */
#ifndef WEFT_ENGINE_LOOP_H
#define WEFT_ENGINE_LOOP_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "weft/loop.h"
#include "ctx.h"
#include "list.h"
#include "sched.h"
#include "timer.h"

struct weft_task;
struct weft__callback;
struct weft__post;
struct weft_future;

struct weft__backend;
struct weft__epoll;

struct weft_loop {
	const struct weft__backend *be; /* how this loop reaches the kernel (backend.h) */
	struct weft__epoll *epoll;	/* the readiness backend's state, NULL on io_uring */
	struct io_uring ring;		/* io_uring backend */
	unsigned features;		/* WEFT_FEAT_* */
	unsigned ring_opts;		/* weft_loop_opts.ring_flags (WEFT_RING_*) */
	uint8_t ops[256 / 8];		/* opcodes the backend can run (the kernel's probe) */

	/* scheduling */
	struct weft__ctx sched_ctx;    /* the thread's own stack, where the loop turn runs */
	struct weft__ctx *switch_from; /* ASan: who switched to the context now resuming */
	struct weft_task *current;
	struct weft_task *runq_head, *runq_tail;
	unsigned runq_len;
	unsigned budget;	/* tasks left to run in this turn */
	struct weft_task *dead; /* finished task whose stack is released after the switch */
	uint64_t fpstate;	/* FP control state new fibers start with (weft__ctx_fpstate) */

	/* kernel */
	unsigned inflight;	      /* ops awaiting a CQE (the wake-up read excluded) */
	uint16_t gen;		      /* user_data generation, bumped per op */
	unsigned inline_streak;	      /* ops completed without parking, in a row (op.c) */
	struct weft__list multishots; /* armed multishot ops (multishot.c) */

	/* tasks */
	struct weft__list tasks; /* every task not yet freed, in spawn order */
	size_t alive;		 /* spawned and not finished */
	uint64_t next_id;
	struct weft_task *task_free; /* recycled task records */
	unsigned ntask_free;

	/* stacks */
	size_t stack_size;		 /* default usable size */
	struct weft__list stack_chunks;	 /* every chunk of default-sized stacks (stack.c) */
	struct weft__list stack_partial; /* chunks with a free stack, most recently used first */
	unsigned stacks_free, cache_cap; /* free stacks in chunks; how many to keep at least */

	/* time */
	struct weft__timer **heap;
	uint32_t heap_len, heap_cap;
	unsigned user_timers;	  /* armed weft_timer handles: they keep weft_loop_run going */
	unsigned ntimers;	  /* weft_timer handles in existence (each may take a heap slot) */
	struct weft__list timers; /* every weft_timer of the loop, freed at close */

	/* callbacks from weft_loop_call_soon */
	struct weft__callback *cb_head, *cb_tail;

	/* crossing threads: stop requests, posted work and wake-ups (post.c) */
	atomic_int stop;
	_Atomic(struct weft__post *) inbox; /* newest first */
	atomic_int sleeping;		    /* the loop is (about to be) blocked in the kernel */
	atomic_int posters;		    /* threads inside weft_loop_post/stop: close waits */
	int wake_fd;	    /* eventfd a read is kept armed on while the loop runs */
	atomic_int host_fd; /* embedding: eventfd registered with the ring (weft_loop_fd), or -1;
			     * posters read it (post.c) */
	uint64_t wake_buf;
	bool wake_armed;

	/* life cycle */
	int error; /* the backend failed (weft__loop_fail): every run returns it from then on */
	struct io_uring_sqe dead_sqe; /* what weft__sqe hands out on a failed loop */
	pthread_t owner;
	bool enabled; /* ring enabled on the owner thread */
	bool running;
	bool closing;

	/* registered resources (resource.c) */
	int *file_fds;	/* registered-file table: slot -> descriptor (-1: free) */
	int *file_free; /* stack of free slots */
	unsigned file_nfree, file_slots;
	struct iovec *bufs; /* registered buffers */
	unsigned nbufs;

	/* per-loop state of the modules built on the engine (weft__loop_slot, module.c) */
	struct weft__slot {
		const struct weft__slot_key *key;
		void *state;
		void (*destroy)(struct weft_loop *loop, void *state);
	} slots[8];

	/* debug */
	bool debug;
	int64_t slow_ns;
	int64_t slice_start;
	bool warned_stuck;
};

/* The current task, or NULL (loop callbacks, plain threads): two loads, inline everywhere. */
static inline struct weft_task *weft__current(void)
{
	struct weft_loop *loop = weft__loop();

	return loop ? loop->current : NULL;
}

/* user_data layout: [gen:16][pointer:45][kind:3]. The generation makes a stale ASYNC_CANCEL
 * miss a record reused at the same address; the kind selects the CQE handler (cqe_handlers). */
enum weft__ud_kind {
	WEFT__UD_IGNORE = 0,   /* failed cancels and other CQEs nobody waits for */
	WEFT__UD_OP = 1,       /* a fiber parked in weft__op_wait */
	WEFT__UD_WAKE = 2,     /* the loop's eventfd read */
	WEFT__UD_HANDLER = 3,  /* a struct weft__handler: multishot and internal completions */
	WEFT__UD_LIBURING = 7, /* liburing's own timeout SQEs (LIBURING_UDATA_TIMEOUT) */
};
#define WEFT__UD_PTR_MASK 0x0000fffffffffff8ull

static inline uint64_t weft__ud(const void *ptr, enum weft__ud_kind kind, uint16_t gen)
{
	return (uint64_t)gen << 48 | ((uint64_t)(uintptr_t)ptr & WEFT__UD_PTR_MASK) | kind;
}

/* SQEs queued for the ring's next submit (always none on the readiness backend). */
static inline bool weft__sq_queued(struct weft_loop *loop)
{
	return !loop->epoll && io_uring_sq_ready(&loop->ring);
}

/* An SQE, flushing the submission queue first if it is full. Never NULL. */
struct io_uring_sqe *weft__sqe(struct weft_loop *loop);
/* Reap every CQE available without entering the kernel, plus overflowed ones. */
void weft__reap(struct weft_loop *loop);
/* Whether the kernel supports @opcode (from the start-up probe). */
static inline bool weft__op_supported(const struct weft_loop *loop, unsigned opcode)
{
	return opcode < 256 && (loop->ops[opcode / 8] >> (opcode % 8) & 1);
}

/* Warn (debug mode) about a loop-affine call made from the wrong thread; returns -EXDEV. */
int weft__debug_wrong_thread(const struct weft_loop *loop, const char *call);

/* Calls that are not thread-safe must come from the loop's own thread: from its fibers and
 * callbacks, or from plain code on the thread that owns it (set-up before the first run, between
 * runs). Another thread, or a fiber of another loop, gets -EXDEV (and a warning in debug mode)
 * instead of a data race. */
static inline int weft__loop_affine(const struct weft_loop *loop, const char *call)
{
	struct weft_loop *cur = weft__loop();

	if (cur == loop)
		return 0;
	if (cur || (loop->enabled && !pthread_equal(loop->owner, pthread_self())))
		return weft__debug_wrong_thread(loop, call);
	return 0;
}

/* Debug helpers (debug.c). */
void weft__debug_init(struct weft_loop *loop, const struct weft_loop_opts *opts);
void weft__debug_slow(struct weft_loop *loop, struct weft_task *task);
void weft__debug_leftovers(struct weft_loop *loop);

/* The inbox (post.c): run what other threads posted; before blocking, false if a post arrived. */
struct weft__post {
	struct weft__post *next;
	void (*fn)(void *arg);
	void *arg;
	bool owned; /* weft_loop_post's own record, freed once run */
};
/* weft_loop_post with the poster's record: cannot fail, so a wake-up that must not be lost needs
 * no retry loop (which spins forever while memory is short). @p stays valid until @fn runs. */
void weft__post_node(struct weft_loop *loop, struct weft__post *p, void (*fn)(void *arg),
		     void *arg);
void weft__inbox_run(struct weft_loop *loop);
bool weft__inbox_sleep(struct weft_loop *loop);
void weft__posters_wait(struct weft_loop *loop);
/* The loop a future belongs to (future.c). */
struct weft_loop *weft__future_loop(struct weft_future *future);

/* The backend's kernel call failed with @err: say so once, and make the loop's runs return it
 * (loop.c). Not an abort: a sandbox, or the kernel running short of memory, can cause it. */
void weft__loop_fail(struct weft_loop *loop, const char *call, int err);

/* Callbacks queued by weft_loop_call_soon (loop.c). */
void weft__callbacks_run(struct weft_loop *loop);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The two ways a loop talks to the kernel. Private to engine/: modules describe ops as SQEs
 * through the op layer (op.h) and never see which backend runs them.
 *
 *   uring.c  io_uring: the SQE goes to the kernel, its CQE wakes the fiber
 *   epoll.c  readiness: the engine performs the SQE itself (opdef.c says how, per opcode) -
 *            a non-blocking syscall that parks on epoll when it would block, or a job on the
 *            I/O thread pool for regular files and path calls
 *
 * The loop turn (loop.c) calls the backend through this table; the op hot path (op.c) tests
 * loop->epoll directly, one predictable branch instead of an indirect call per op.
 */
#ifndef WEFT_ENGINE_BACKEND_H
#define WEFT_ENGINE_BACKEND_H

#include <stdbool.h>
#include <sys/uio.h>

#include "weft/loop.h"

struct weft_loop;
struct weft__op;
struct weft__multishot;
struct io_uring_sqe;

struct weft__backend {
	int id; /* WEFT_BACKEND_URING or WEFT_BACKEND_EPOLL */
	/* Set up (weft_loop_new) and tear down (weft_loop_close, after every task ended). */
	int (*init)(struct weft_loop *loop, const struct weft_loop_opts *opts);
	void (*exit)(struct weft_loop *loop);
	/* The first run, on the thread that will own the loop. */
	int (*enable)(struct weft_loop *loop);
	/* One trip to the kernel: push queued work, wait if @block (until the next timer), and
	 * complete what finished. */
	void (*turn)(struct weft_loop *loop, bool block);
	/* Push queued work to the kernel now (end of a run). */
	void (*flush)(struct weft_loop *loop);
	/* Whether a turn has something to do without blocking: queued work or completions. */
	bool (*pending)(struct weft_loop *loop);
	/* Keep the cross-thread wake-up armed (a no-op where it is always armed). */
	void (*arm_wake)(struct weft_loop *loop);
	/* Wake @loop, asleep in its kernel wait, from any thread (@self: the caller's loop). */
	void (*wake)(struct weft_loop *loop, struct weft_loop *self);
	/* Embedding: another event loop will drive this one (weft_loop_fd, or a first run that is
	 * weft_loop_run_nowait): set up for it while that is still possible. */
	void (*embed)(struct weft_loop *loop);
	/* Embedding: the fd a host polls, created on first call; and its reset before a turn. */
	int (*host_fd)(struct weft_loop *loop);
	void (*host_reset)(struct weft_loop *loop);

	/* Multishot ops (multishot.c): start @m as described by @sqe; ask it to end. */
	void (*multishot_arm)(struct weft__multishot *m, const struct io_uring_sqe *sqe);
	void (*multishot_cancel)(struct weft__multishot *m);
	/* The loop closes with @m armed: drop whatever the backend holds of it. */
	void (*multishot_forget)(struct weft__multishot *m);

	/* Ring resources (resource.c): the registered-file table, the registered buffers and the
	 * kernel's worker cap. Where the readiness backend has nothing to register they only
	 * succeed; the engine keeps the slot -> fd map either way. */
	int (*files_init)(struct weft_loop *loop, unsigned n);
	int (*files_update)(struct weft_loop *loop, unsigned slot, int fd);
	void (*files_exit)(struct weft_loop *loop);
	int (*buffers_register)(struct weft_loop *loop, const struct iovec *iov, unsigned n);
	void (*buffers_unregister)(struct weft_loop *loop);
	int (*max_workers)(struct weft_loop *loop, unsigned vals[2]);
};

extern const struct weft__backend weft__backend_uring;
/* The ring sizes @opts ask for (checked on every backend: options mean the same everywhere). */
int weft__uring_sizes(const struct weft_loop_opts *opts, unsigned *sq, unsigned *cq);
extern const struct weft__backend weft__backend_epoll;

/* The descriptor a loop's kernel side lives in: the ring's, or the epoll instance's. */
int weft__backend_fd(const struct weft_loop *loop);

/* The readiness backend's side of the op layer (epoll.c). */
struct io_uring_sqe *weft__epoll_op_sqe(struct weft__op *op);
int weft__epoll_op_wait(struct weft__op *op, bool shielded);

#endif

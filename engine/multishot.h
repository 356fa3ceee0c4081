/* SPDX-License-Identifier: MIT */
/*
 * Multishot ops: one SQE that completes many times (multishot accept today; a buffer-ring recv or
 * a multishot poll next). The engine owns the record's life in the kernel - arming, the
 * generation, re-arming after a CQE without IORING_CQE_F_MORE is the owner's call, cancelling,
 * waiting for the final CQE, and ending every multishot of a loop at its close - so an owner only
 * handles completions:
 *
 *     weft__multishot_init(&m, loop, on_cqe, on_loop_closed);
 *     io_uring_prep_multishot_accept(&sqe, fd, NULL, NULL, SOCK_CLOEXEC);
 *     weft__multishot_arm(&m, &sqe);       // on_cqe(m, res, more) per completion, outside fibers
 *     ...
 *     weft__multishot_cancel(&m);          // the final completion (more == false) follows
 *
 * The final completion (more == false: an error, a cancel, or the kernel's own reasons) has
 * already disarmed the record when on_cqe sees it, so on_cqe may arm it again. On the readiness
 * backend the engine re-issues the SQE each time the descriptor turns ready, until it would
 * block.
 */
#ifndef WEFT_ENGINE_MULTISHOT_H
#define WEFT_ENGINE_MULTISHOT_H

#include <liburing.h>
#include <stdbool.h>

#include "list.h"
#include "op.h"

struct weft_loop;
struct weft__wait;
struct weft__sync_wait;

struct weft__multishot {
	struct weft__handler h; /* the ring's CQEs */
	/* One completion: @res as a CQE's; @more: the multishot stays armed. */
	void (*cqe)(struct weft__multishot *m, int res, bool more);
	/* The loop closes with the multishot still armed (every task has ended): it is gone now. */
	void (*loop_closed)(struct weft__multishot *m);
	struct weft_loop *loop; /* NULL once the loop is closed */
	bool armed;		/* in the kernel (or, readiness backend, watching its fd) */
	bool cancelling;	/* and asked to end */
	struct weft__list node; /* in the loop's list of armed multishots */
	struct weft__wait *closer;
	/* readiness backend */
	struct weft__op op; /* the SQE as armed, and the fd wait */
	bool ending;	    /* queued to deliver its final completion */
	struct weft__list end_node;
};

void weft__multishot_init(struct weft__multishot *m, struct weft_loop *loop,
			  void (*cqe)(struct weft__multishot *, int, bool),
			  void (*loop_closed)(struct weft__multishot *));
void weft__multishot_arm(struct weft__multishot *m, const struct io_uring_sqe *sqe);
/* Ask an armed multishot to end; a no-op if it is not armed or already ending. */
void weft__multishot_cancel(struct weft__multishot *m);
/* From a fiber of its loop, wait (uninterruptibly: it is quick) until it is no longer armed;
 * from anywhere else return at once. */
void weft__multishot_wait_ended(struct weft__multishot *m);
/* Park the calling fiber on @queue (weft__sync_park) while the multishot delivers to it: the
 * loop keeps collecting completions even while other fibers are runnable. */
int weft__multishot_park(struct weft__multishot *m, struct weft__list *queue,
			 struct weft__sync_wait *sw, const char *what);

/* Whether @loop can run @opcode as a multishot op. */
bool weft__multishot_supported(struct weft_loop *loop, unsigned opcode);

/* Engine side: a completion (called by the backends), and the loop's close. */
void weft__multishot_complete(struct weft__multishot *m, int res, bool more);
void weft__multishot_loop_close(struct weft_loop *loop);

#endif

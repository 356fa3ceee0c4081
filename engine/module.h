/* SPDX-License-Identifier: MIT */
/*
 * The engine's interface for the modules built on it (net/, fileio/, serial/): the one engine
 * header they include (`make check-boundaries` enforces it). Everything a module does with the
 * loop goes through here; the loop's fields, the scheduler and the task internals stay private
 * to engine/, and nothing here depends on the backend the loop runs on.
 *
 *   ops            op.h: one SQE as a blocking-looking call (both backends perform it), polls,
 *                  shielded clean-up ops, descriptors closed through weft__fd_close
 *   multishot ops  multishot.h: one SQE, many completions, owned by the engine
 *   wait queues    waitq.h: FIFO queues of parked fibers with hand-off at wake time
 *   fibers         weft__fiber_check (the checkpoint), weft__in_fiber
 *   per-loop state module slots keyed at run time
 *   resources      the registered-file table and buffers (resource.c)
 *   memory         alloc.h: the library's allocator
 *   time           deadline.h: "now + duration", saturating at WEFT_FOREVER
 *   helpers        iov.h (checked iovec sums), delim.h (delimiter scans), splice.h (kernel
 *                  copies through a pipe)
 */
#ifndef WEFT_ENGINE_MODULE_H
#define WEFT_ENGINE_MODULE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "weft/loop.h"
#include "abi.h"
#include "alloc.h"
#include "deadline.h"
#include "delim.h"
#include "iov.h"
#include "list.h"
#include "multishot.h"
#include "op.h"
#include "opdef.h"
#include "sched.h"
#include "splice.h"
#include "waitq.h"

/* ---- fibers ---------------------------------------------------------------------------------- */

/*
 * weft__fiber_check - may the caller block now? 0 for a fiber (of @loop, unless NULL) that is
 * neither cancelled nor past its deadline; -EPERM from plain code, -EXDEV from a fiber of another
 * loop, -ECANCELED / -ETIMEDOUT (the checkpoint every blocking call starts with).
 */
int weft__fiber_check(const struct weft_loop *loop);

/* The same without the checkpoint: may the caller use an object of @loop as a fiber? */
int weft__fiber_on(const struct weft_loop *loop);

/* The entry check of a call documented "not thread-safe" that does not block: 0 from @loop's
 * own thread (or any thread before @loop first runs), else -EXDEV, and debug mode names @call. */
int weft__loop_check(const struct weft_loop *loop, const char *call);

/* The same for an object that may outlive its loop (a socket closed from plain code after
 * weft_run returned): @loop is only compared, never read, and @thread is the thread that made
 * the object on it. 0 from a fiber or callback of @loop, or from plain code of @thread. */
int weft__owner_check(const struct weft_loop *loop, pthread_t thread, const char *call);

/* Whether the caller runs in a fiber (of any loop): calls that must not block otherwise. */
bool weft__in_fiber(void);

/* ---- per-loop state of a module --------------------------------------------------------------- */

/* A module's key: the address of a static object of its own (its value is never read). */
struct weft__slot_key {
	const char *name;
};

/* The state @key's module keeps on @loop, or NULL. */
void *weft__loop_slot(const struct weft_loop *loop, const struct weft__slot_key *key);
/* Keep @state on @loop for @key's module; weft_loop_close calls @destroy once every task has
 * ended, while the backend still exists (a destructor may still unregister from it). 0 or
 * -ENOMEM (every slot taken). */
int weft__loop_slot_set(struct weft_loop *loop, const struct weft__slot_key *key, void *state,
			void (*destroy)(struct weft_loop *loop, void *state));

/* Whether @loop runs in debug mode (weft_loop_opts.debug, WEFT_DEBUG=1): modules say more. */
bool weft__loop_debug(const struct weft_loop *loop);

/* Whether @loop can run @opcode (the kernel's probe, or the readiness backend's table). */
bool weft__loop_has_op(const struct weft_loop *loop, unsigned opcode);

/* ---- registered resources (resource.c) -------------------------------------------------------- */

/* Put @fd in @loop's registered-file table: its slot (>= 0), -ENFILE, -ENOMEM, or the kernel's
 * refusal. Ops name the slot with IOSQE_FIXED_FILE. */
int weft__files_add(struct weft_loop *loop, int fd);
void weft__files_remove(struct weft_loop *loop, int slot);
/* -EFAULT unless [@buf, @buf + @len) lies inside registered buffer @index of @loop; -EINVAL if
 * there is no such buffer. */
int weft__buffers_check(const struct weft_loop *loop, unsigned index, const void *buf, size_t len);

#endif

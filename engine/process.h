/* SPDX-License-Identifier: MIT */
/* Process pool and child processes (weft/process.h): what the parent and child halves share. */
#ifndef WEFT_ENGINE_PROCESS_H
#define WEFT_ENGINE_PROCESS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/process.h"

/* Every frame on a worker's socket starts with this header, then @len payload bytes.
 * Request: @val is the function's index in the table. Reply: @val is its return value. */
struct weft__proc_hdr {
	uint32_t magic;
	int32_t val;
	uint64_t len;
};
#define WEFT__PROC_MAGIC 0x77667470u /* "pwft": a desynchronised stream shows at once */

/* What a worker needs, fixed when the pool is created (fork copies it into the child). */
struct weft__proc_conf {
	const struct weft_proc_func *funcs;
	size_t nfuncs;
	void (*init)(void *arg);
	void *init_arg;
};

/*
 * weft__child_start - first steps of a freshly forked child: forget the parent's loop, clear the
 * signal mask, close every descriptor except 0-2 and @keep (@nkeep of them, any order) when
 * @close_fds, then run @entry(@arg) on a fresh stack of @stack_size bytes (0: stay on this
 * stack) and _exit() with its return value after flushing stdio. Never returns.
 */
__attribute__((noreturn)) void weft__child_start(int (*entry)(void *arg), void *arg,
						 size_t stack_size, bool close_fds, const int *keep,
						 unsigned nkeep);

/* The worker's loop on socket @fd: serve jobs until end of file. Returns the exit status. */
int weft__proc_worker_main(int fd, const struct weft__proc_conf *conf);

/* Park the calling fiber until @fd is readable (IORING_OP_POLL_ADD through the op layer).
 * Returns the poll mask or -ECANCELED / -ETIMEDOUT / -EPERM. Shared with signal.c. */

#endif

/* SPDX-License-Identifier: MIT */
/*
 * What weft knows about each io_uring opcode, after the kernel's io_uring/opdef.c: one row per
 * opcode, read by the op layer (valgrind annotation, fixed files) and by the readiness backend
 * (how to perform the op without a ring). Private to engine/.
 */
#ifndef WEFT_ENGINE_OPDEF_H
#define WEFT_ENGINE_OPDEF_H

#include <stdbool.h>
#include <stdint.h>

struct io_uring_sqe;
struct weft__op;

/* Opcodes newer than Debian's liburing 2.3 headers, used raw (the kernel's probe says if the
 * running kernel has them). */
#define WEFT__OP_FTRUNCATE 55
#define WEFT__OP_LAST	   63

/* How the readiness backend performs an opcode. */
enum weft__run {
	WEFT__RUN_NONE = 0, /* not offered without a ring: -EOPNOTSUPP */
	WEFT__RUN_INLINE,   /* never blocks: on the loop thread */
	WEFT__RUN_READY, /* non-blocking on the loop thread; parks on readiness when it would block */
	WEFT__RUN_POOL, /* may block (a path, a disk): on the I/O thread pool */
	WEFT__RUN_FILE, /* by the descriptor: regular files and block devices on the pool,
			     * anything pollable (pipe, tty, socket, eventfd ...) as READY */
	WEFT__RUN_POLL, /* only waits for readiness (POLL_ADD) */
};

/* Readiness directions for weft__opdef.dir. */
#define WEFT__DIR_IN  1u
#define WEFT__DIR_OUT 2u

struct weft__opdef {
	const char *name;
	uint8_t run;	    /* enum weft__run */
	uint8_t dir;	    /* WEFT__DIR_*: what a READY op waits for */
	bool fills : 1;	    /* the kernel writes the caller's memory at addr (len bytes) */
	bool vectored : 1;  /* addr is an iovec array of len entries */
	bool msg : 1;	    /* addr is a msghdr */
	bool file : 1;	    /* sqe->fd is the op's file: IOSQE_FIXED_FILE makes it a table slot */
	bool two_files : 1; /* splice: splice_fd_in is a second file */
	bool dontwait : 1;  /* the call takes MSG_DONTWAIT: no need to make the fd O_NONBLOCK */
	/*
	 * Perform the op without a ring on descriptor @fd (a fixed slot already resolved), not
	 * blocking if @nonblock (loop thread) or blocking (pool thread). Returns what the CQE's
	 * res would be; -EAGAIN from a non-blocking call means "park until ready, call again".
	 */
	int (*issue)(struct weft__op *op, const struct io_uring_sqe *sqe, int fd, bool nonblock);
};

extern const struct weft__opdef weft__opdefs[WEFT__OP_LAST];

static inline const struct weft__opdef *weft__opdef(unsigned opcode)
{
	return &weft__opdefs[opcode < WEFT__OP_LAST ? opcode : 0];
}

/* A name per opcode for dumps and errors ("op" for an unknown one). */
const char *weft__opdef_name(unsigned opcode);

/* The issue functions of the readiness backend (epoll_issue.c). */
int weft__issue_nop(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_rw(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_sock(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_accept(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_connect(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_shutdown(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_close(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_splice(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_fsync(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_fallocate(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_ftruncate(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_fadvise(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_openat(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_statx(struct weft__op *, const struct io_uring_sqe *, int, bool);
int weft__issue_path(struct weft__op *, const struct io_uring_sqe *, int, bool);

#endif

/* SPDX-License-Identifier: MIT */
/* fileio/: what the files of the module share. Private. */
#ifndef WEFT_FILEIO_INTERNAL_H
#define WEFT_FILEIO_INTERNAL_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/file.h"
#include "engine/module.h"

/* Linux's MAX_RW_COUNT: the most one read or write transfers (and fits io_uring's u32 len). */
#define FILE_RW_MAX 0x7ffff000u

/* Newer than Debian's liburing 2.3 headers (the kernel's probe says if it exists). */
#define IORING_OP_FTRUNCATE_NR WEFT__OP_FTRUNCATE

struct weft_file {
	int fd;
	int slot;		    /* registered-file index, or -1 */
	struct weft_loop *reg;	    /* the loop whose table holds @slot */
	struct weft__list reg_link; /* in that loop's list of registered files */
	int64_t pos;		    /* position of the sequential calls */
	bool seekable;		    /* regular file or block device: offsets apply */
	bool direct;		    /* O_DIRECT, or no RWF_NOWAIT here: never read inline */
	uint8_t inline_skip;	    /* reads left to send to the ring before trying inline again */
	uint8_t inline_misses;	    /* consecutive inline misses: grows the skip */
};

/* Point @sqe at @file: its registered slot if it has one in this loop, else its descriptor. */
static inline void file_sqe_target(const weft_file *file, struct io_uring_sqe *sqe)
{
	weft__sqe_file(sqe, file->fd, file->slot);
}

/* -EXDEV if @file is registered with a loop other than the caller's. */
static inline int file_check_loop(const weft_file *file)
{
	if (file->slot >= 0 && file->reg != weft_loop_current())
		return -EXDEV;
	return 0;
}

/* The offset a positional op gets: non-seekable files read "at the current position". */
static inline uint64_t file_off(const weft_file *file, int64_t off)
{
	return file->seekable ? (uint64_t)off : (uint64_t)-1;
}

/* Whether [@off, @off + @len) is a range of offsets (pread(2) refuses one past INT64_MAX);
 * offsets mean nothing to a pipe. */
static inline bool file_range_ok(const weft_file *file, int64_t off, size_t len)
{
	return !file->seekable || (off >= 0 && len <= (uint64_t)(INT64_MAX - off));
}

/* @at + @len, saturated at INT64_MAX: a claim past it fails in the call, without overflowing. */
static inline int64_t pos_end(int64_t at, size_t len)
{
	return len > (uint64_t)(INT64_MAX - at) ? INT64_MAX : at + (int64_t)len;
}

/* Sequential calls claim [pos, pos + len) up front and give back what they did not use, if no
 * other call moved the position meanwhile. */
static inline int64_t pos_claim(weft_file *file, size_t len)
{
	int64_t at = file->pos;

	file->pos = pos_end(at, len);
	return at;
}

static inline void pos_settle(weft_file *file, int64_t at, size_t claimed, ssize_t done)
{
	size_t used = done > 0 ? (size_t)done : 0;

	if (file->pos == pos_end(at, claimed))
		file->pos = pos_end(at, used);
}

/* One read/write-family op through the ring (file.c). @sqe_flags: IOSQE_ASYNC etc. */
ssize_t weft__file_rw(weft_file *file, int opcode, const void *addr, unsigned len, int64_t off,
		      unsigned sqe_flags, unsigned buf_index);

/* One metadata op prepared by @prep(@sqe, @arg) through the ring. */
int weft__file_op(void (*prep)(struct io_uring_sqe *sqe, void *arg), void *arg);

/* The same, but neither cancellation nor deadlines cut it short (clean-up that must happen).
 * Must run in a fiber. */
int weft__file_op_shielded(void (*prep)(struct io_uring_sqe *sqe, void *arg), void *arg);

/* Remove @path even if the caller is cancelled (clean-up of a half-made file). */
int weft__file_unlink_shielded(const char *path);

/* Open through the ring: the new descriptor or a negative errno. */
int weft__file_openat_fd(int dirfd, const char *path, int flags, mode_t mode);
/* Close a descriptor through the ring (close(2) outside a fiber); never interrupted. */
int weft__file_close_fd(int fd);

/* Copy from @in's position to its end onto @out (splice.c): 0 or the first error. */
int weft__file_copy_to_end(weft_file *out, weft_file *in);

/* Registered-file table (reg.c): release @file's slot. */
void weft__file_unregister(weft_file *file);

/* Test hook for the atomic replace (replace.c): called after each step it takes (the syncs only
 * at the durability levels that do them) with the step's number (WEFT__REPLACE_*), so a test
 * can kill the process at an exact point or see which steps ran. NULL in production. */
enum {
	WEFT__REPLACE_CREATED = 1, /* temp file open (unnamed with O_TMPFILE) */
	WEFT__REPLACE_WRITTEN,	   /* contents written */
	WEFT__REPLACE_SYNCED,	   /* temp fsync'ed */
	WEFT__REPLACE_LINKED,	   /* temp has its name (O_TMPFILE path only) */
	WEFT__REPLACE_RENAMED,	   /* renamed over the target */
	WEFT__REPLACE_DIR_SYNCED,  /* directory fsync'ed */
};
extern void (*weft__file_replace_hook)(int step);
/* Switches for benchmarks comparing the read paths (perf/file_opts.c); 0 in production. */
#define WEFT__TUNE_NO_INLINE 1u /* every read through the ring, no inline page-cache attempt */
#define WEFT__TUNE_NO_ASYNC  2u /* no IOSQE_ASYNC for large reads that missed the cache */
extern unsigned weft__file_tune;
/* Force the named-temp path (as on a file system without O_TMPFILE): for tests. */
extern bool weft__file_replace_no_tmpfile;

#endif

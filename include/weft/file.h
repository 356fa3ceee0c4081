/* SPDX-License-Identifier: MIT */
/*
 * weft/file.h - files on io_uring (what aiofiles does with a thread pool, without the threads).
 *
 * Every call that touches the file system blocks the calling FIBER only: it is one io_uring
 * operation (OPENAT, READ, WRITE, READV, WRITEV, FSYNC, FALLOCATE, FTRUNCATE, STATX, RENAMEAT,
 * UNLINKAT, MKDIRAT, LINKAT, SYMLINKAT, SPLICE, CLOSE) submitted with the loop's next batch, and
 * the loop runs other fibers meanwhile. Calls that must run in a fiber return -EPERM elsewhere.
 *
 * Errors are negative errno values: -ENOENT, -EISDIR, -EACCES, -ENOSPC, -EFBIG ... as the
 * system calls report them, plus -ECANCELED / -ETIMEDOUT when the calling fiber is cancelled or
 * an enclosing scope's deadline passes (weft/task.h, weft/scope.h). A cancelled call returns
 * only after the kernel has let go of the caller's buffer, so stack buffers are safe; a read or
 * write that completed before the cancel took effect returns its count (nothing is lost) and the
 * cancel shows at the next blocking call. No call leaks a file descriptor on any error path.
 *
 * Page-cached reads: a buffered (not O_DIRECT) read of a seekable file is first tried with
 * preadv2(RWF_NOWAIT) on the calling thread. That never blocks - it copies what the page cache
 * holds or fails with EAGAIN - and costs about half an io_uring round trip; whatever it could not
 * serve goes through the ring. So a cached read is one plain system call. The fiber checks for
 * cancellation and deadlines first, as every blocking call does, and yields to the other fibers
 * after a run of inline reads so a reader of a hot file cannot starve the loop. Files that miss
 * often stop trying inline for a while (see the README's measurements).
 *
 * Positions: a weft_file keeps its own position for the sequential calls (weft_file_read,
 * weft_file_write_some ...), independent of the kernel's file offset; the positional calls (pread,
 * pwrite ...) neither use nor move it. Each sequential call claims its range when it starts, so
 * concurrent sequential calls on one file get distinct ranges; use the positional calls when
 * several fibers share a file. Non-seekable files (FIFOs, character devices) read and write at
 * the kernel's notion of "current". On an O_APPEND file every write goes to the end of the file
 * whatever the position says (as pwrite(2) there).
 *
 * A weft_file is not thread-safe; fibers of any loop may use it (one thread at a time), except a
 * registered file (weft_file_register), which belongs to the loop that registered it.
 */
#ifndef WEFT_FILE_H
#define WEFT_FILE_H

#include <fcntl.h>
#include <linux/stat.h> /* struct statx and STATX_*, whatever the feature macros (glibc's
			 * <sys/stat.h> declares them only under _GNU_SOURCE, from this header) */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "common.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_file weft_file;

/* ---- opening and closing ------------------------------------------------------------------ */

/*
 * weft_file_open - open @path (IORING_OP_OPENAT) with open(2) @flags (O_RDONLY, O_WRONLY|O_CREAT
 * |O_TRUNC, O_DIRECT ... ; O_CLOEXEC is always added) and @mode for created files.
 * Returns 0 and sets *@filep, or -ENOENT, -EISDIR, -EACCES, -EINVAL (NULL argument), -ENOMEM ...
 * Must run in a fiber.
 */
WEFT_API int weft_file_open(weft_file **filep, const char *path, int flags, mode_t mode);

/*
 * weft_file_openat - weft_file_open() relative to directory @dirfd (AT_FDCWD for the current
 * directory), as openat(2). Same returns. Must run in a fiber.
 */
WEFT_API int weft_file_openat(weft_file **filep, int dirfd, const char *path, int flags,
			      mode_t mode);

/*
 * weft_file_from_fd - wrap an open descriptor @fd (the weft_file takes ownership: closing the
 * weft_file closes @fd). The position starts at @fd's current offset. Returns 0, -EBADF,
 * -EINVAL or -ENOMEM (then @fd is left open). Runs anywhere; not thread-safe.
 */
WEFT_API int weft_file_from_fd(weft_file **filep, int fd);

/*
 * weft_file_close - close the descriptor (IORING_OP_CLOSE; a registered slot is released too)
 * and free @file. Returns 0 or the close's error (e.g. -EIO from a network file system); @file
 * is freed either way - except -EXDEV: a registered file must be closed by a fiber of its loop
 * (or after that loop closed), and is then left untouched. Cancellation does not stop a close:
 * the descriptor is always released.
 * From plain code (no fiber) it calls close(2). NULL is a no-op returning 0.
 */
WEFT_API int weft_file_close(weft_file *file);

/*
 * weft_file_release - free @file without closing its descriptor, which is returned (the caller
 * owns it from now on); -EBUSY if the file is registered (weft_file_unregister first), -EINVAL
 * for NULL. Runs anywhere.
 */
WEFT_API int weft_file_release(weft_file *file);

/* weft_file_fd - the descriptor (for calls weft does not wrap). Thread-safe. */
WEFT_API int weft_file_fd(const weft_file *file);

/* ---- sequential I/O at the file's position ------------------------------------------------ */

/*
 * weft_file_read - read up to @len bytes at the file's position and advance it by the count.
 * Returns the count, 0 at end of file, or a negative errno. For a regular file the count is short
 * only at end of file, or when an error, cancel or deadline cut the rest short after some bytes
 * arrived (those are returned; the error shows at the next call). Must run in a fiber.
 */
WEFT_API ssize_t weft_file_read(weft_file *file, void *buf, size_t len);

/*
 * weft_file_write_some - one write of up to @len bytes at the file's position (the count may be short:
 * disk full, RLIMIT_FSIZE); the position advances by the count. Returns the count or a negative
 * errno. Use weft_file_write() to write everything. Must run in a fiber.
 */
WEFT_API ssize_t weft_file_write_some(weft_file *file, const void *buf, size_t len);

/* weft_file_readv / weft_file_writev_some - vectored weft_file_read / weft_file_write_some (READV, WRITEV;
 * @iovcnt <= IOV_MAX). The count may be short (a partly cached range is not continued). Must
 * run in a fiber. */
WEFT_API ssize_t weft_file_readv(weft_file *file, const struct iovec *iov, int iovcnt);
WEFT_API ssize_t weft_file_writev_some(weft_file *file, const struct iovec *iov, int iovcnt);

/*
 * weft_file_read_exactly - read exactly @len bytes at the file's position (short reads are
 * continued). Returns 0; -ENODATA if the file ended first (the bytes that were there are in @buf);
 * or another negative errno. *@got (may be NULL) always holds how many bytes were stored, and the
 * position advances by that many - as weft_stream_read_exactly(). Must run in a fiber.
 */
WEFT_API int weft_file_read_exactly(weft_file *file, void *buf, size_t len, size_t *got);

/*
 * weft_file_write - write all @len bytes at the file's position, continuing short writes.
 * Returns @len, or a negative errno (-ENOSPC, -EFBIG, -EIO ...) if a write failed before the end;
 * the position has then advanced by the bytes that were written (weft_file_tell). Must run in a
 * fiber.
 */
WEFT_API ssize_t weft_file_write(weft_file *file, const void *buf, size_t len);

/*
 * weft_file_read_all - read from the position to the end of the file into a new buffer
 * (aiofiles' f.read() with no size). *@bufp gets memory from malloc() holding *@lenp bytes plus a
 * terminating NUL (so text can be used as a string); free() it. @max caps the size: -EFBIG if the
 * file holds more (0 means no cap). Returns 0, -ENOMEM, -EFBIG or a read error (then *@bufp is
 * NULL). Must run in a fiber.
 */
WEFT_API int weft_file_read_all(weft_file *file, void **bufp, size_t *lenp, size_t max);

/*
 * weft_file_seek - set the position as lseek(2) @whence says (SEEK_SET, SEEK_CUR, SEEK_END: the
 * latter asks the size with STATX, so it must run in a fiber). Returns the new position, -EINVAL
 * (negative result, bad @whence) or -ESPIPE on a non-seekable file.
 */
WEFT_API int64_t weft_file_seek(weft_file *file, int64_t offset, int whence);

/* weft_file_tell - the position the sequential calls use. */
WEFT_API int64_t weft_file_tell(const weft_file *file);

/* ---- positional I/O ----------------------------------------------------------------------- */

/*
 * weft_file_pread - read up to @len bytes at @offset (the file's position is not used or moved).
 * Returns the count, 0 at end of file, or a negative errno. A single call transfers at most
 * 0x7ffff000 bytes, as read(2). Must run in a fiber.
 */
WEFT_API ssize_t weft_file_pread(weft_file *file, void *buf, size_t len, int64_t offset);

/* weft_file_pwrite_some - one write of up to @len bytes at @offset (may be short). Must run in a
 * fiber. */
WEFT_API ssize_t weft_file_pwrite_some(weft_file *file, const void *buf, size_t len,
				       int64_t offset);

/* weft_file_preadv / weft_file_pwritev_some - vectored pread / pwrite. Must run in a fiber. */
WEFT_API ssize_t weft_file_preadv(weft_file *file, const struct iovec *iov, int iovcnt,
				  int64_t offset);
WEFT_API ssize_t weft_file_pwritev_some(weft_file *file, const struct iovec *iov, int iovcnt,
					int64_t offset);

/* weft_file_pread_exactly - weft_file_read_exactly() at @offset. Must run in a fiber. */
WEFT_API int weft_file_pread_exactly(weft_file *file, void *buf, size_t len, int64_t offset,
				     size_t *got);

/*
 * weft_file_pwrite - write all @len bytes at @offset, continuing short writes. Returns @len
 * (as every write-all call: weft_file_write, weft_sock_send, weft_stream_write) or a
 * negative errno; *@done (may be NULL) holds how many bytes were written either way. Must run in
 * a fiber.
 */
WEFT_API ssize_t weft_file_pwrite(weft_file *file, const void *buf, size_t len, int64_t offset,
				  size_t *done);

/* ---- metadata and durability -------------------------------------------------------------- */

/* weft_file_fsync / weft_file_fdatasync - IORING_OP_FSYNC (with IORING_FSYNC_DATASYNC for the
 * second). 0 or a negative errno (-EIO ...). Must run in a fiber. */
WEFT_API int weft_file_fsync(weft_file *file);
WEFT_API int weft_file_fdatasync(weft_file *file);

/* weft_file_fallocate - fallocate(2) @mode (0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE ...)
 * over [@offset, @offset + @len). 0, -ENOSPC, -EOPNOTSUPP ... Must run in a fiber. */
WEFT_API int weft_file_fallocate(weft_file *file, int mode, int64_t offset, int64_t len);

/*
 * weft_file_ftruncate - set the file's size to @len: IORING_OP_FTRUNCATE where the kernel has it
 * (6.9+), otherwise ftruncate(2) on weft's default thread pool (weft/executor.h), the fiber parked
 * meanwhile. 0 or a negative errno (-EINVAL for a negative @len or a file not open for writing).
 * Must run in a fiber.
 */
WEFT_API int weft_file_ftruncate(weft_file *file, int64_t len);

/* weft_file_statx - statx(2) on the open file (@mask: STATX_BASIC_STATS, STATX_DIOALIGN ...).
 * 0 or a negative errno. Must run in a fiber. */
WEFT_API int weft_file_statx(weft_file *file, unsigned mask, struct statx *stx);

/* weft_file_statx_at - statx(2) of @path relative to @dirfd with AT_* @flags
 * (AT_SYMLINK_NOFOLLOW ...). 0, -ENOENT ... Must run in a fiber. */
WEFT_API int weft_file_statx_at(int dirfd, const char *path, int flags, unsigned mask,
				struct statx *stx);

/* weft_file_size - the file's size in bytes (STATX), or a negative errno. Must run in a fiber. */
WEFT_API int64_t weft_file_size(weft_file *file);

/* ---- paths -------------------------------------------------------------------------------- */

/* Each of these is one io_uring operation and returns 0 or the system call's negative errno.
 * Relative paths resolve against the current directory (the *at forms: against @dirfd, or
 * AT_FDCWD). Must run in a fiber. */
WEFT_API int weft_file_rename(const char *from, const char *to);
/* @flags: 0, RENAME_NOREPLACE, RENAME_EXCHANGE (renameat2(2)). */
WEFT_API int weft_file_renameat(int fromdir, const char *from, int todir, const char *to,
				unsigned flags);
WEFT_API int weft_file_unlink(const char *path);
/* @flags: 0 or AT_REMOVEDIR. */
WEFT_API int weft_file_unlinkat(int dirfd, const char *path, int flags);
WEFT_API int weft_file_mkdir(const char *path, mode_t mode);
WEFT_API int weft_file_mkdirat(int dirfd, const char *path, mode_t mode);
WEFT_API int weft_file_rmdir(const char *path);
/* weft_file_link - hard link @to naming the file @from names. */
WEFT_API int weft_file_link(const char *from, const char *to);
/* @flags: 0 or AT_SYMLINK_FOLLOW. */
WEFT_API int weft_file_linkat(int fromdir, const char *from, int todir, const char *to, int flags);
/* weft_file_symlink - create @linkpath, a symbolic link holding @target. */
WEFT_API int weft_file_symlink(const char *target, const char *linkpath);
WEFT_API int weft_file_symlinkat(const char *target, int dirfd, const char *linkpath);

/*
 * Durability of an atomic replace (the @flags of weft_file_replace_begin / _from). Whatever the
 * level, other processes and a crash of this process see the old file or the new one, whole.
 * The levels differ in what survives a power loss or a kernel crash:
 * WEFT_REPLACE_SYNC_ALL  (0, the default, and what weft_file_replace_atomic does): fsync the
 *                        file before the rename and the directory after; once the call returns
 *                        the new file survives.
 * WEFT_REPLACE_SYNC_FILE: fsync the file, not the directory: @path is then old or new, whole,
 *                        but the replace itself may be lost (the old file back). For many files
 *                        in one directory: replace each this way, then fsync the directory once
 *                        (weft_file_fsync on it) to make them all durable.
 * WEFT_REPLACE_SYNC_NONE: no fsync: the kernel writes back when it likes; after a power loss
 *                        @path may be old, new, or (file-system dependent) empty. For caches and
 *                        build outputs that can be made again; much faster for small files.
 */
#define WEFT_REPLACE_SYNC_ALL  0u
#define WEFT_REPLACE_SYNC_FILE 1u
#define WEFT_REPLACE_SYNC_NONE 2u

typedef struct weft_file_replace weft_file_replace;

/*
 * weft_file_replace_begin - start replacing @path atomically (Go's renameio, Python's
 * atomicwrites): makes an unnamed temporary file in @path's directory (O_TMPFILE; where the file
 * system lacks it, a named ".<name>.<random>.tmp" created with O_EXCL) with permission @mode
 * (less the umask) and the caller's ownership. Write the new contents through
 * weft_file_replace_file() with any weft_file call (write_all, copy, a weft_file_stream without
 * WEFT_FILE_STREAM_OWN), then weft_file_replace_commit() or weft_file_replace_abort().
 * @flags: a WEFT_REPLACE_SYNC_* level. Returns 0 and sets *@repp, or -EINVAL, -ENOENT (no such
 * directory), -EISDIR (@path ends in '/'), -EACCES, -ENAMETOOLONG, -ENOMEM ... (nothing is left
 * behind then). Must run in a fiber; the object is not thread-safe.
 */
WEFT_API int weft_file_replace_begin(weft_file_replace **repp, const char *path, mode_t mode,
				     unsigned flags);

/* weft_file_replace_file - the temporary file to write (its position starts at 0). It belongs to
 * the replace: don't close, release or register it. NULL for NULL. Not thread-safe. */
WEFT_API weft_file *weft_file_replace_file(weft_file_replace *rep);

/*
 * weft_file_replace_commit - finish: fsync the temp (unless SYNC_NONE), give it a temporary name
 * (linkat, O_TMPFILE case), rename it over @path, fsync the directory (SYNC_ALL), and free @rep.
 * Returns 0 or the first error; on an error before the rename @path is untouched and the temp
 * is removed (also for a cancelled or timed-out caller); an error from the directory's fsync
 * comes after the rename. @rep is freed either way. A process killed mid-way leaves @path
 * intact or replaced; it may leave the temporary ".<name>.<random>.tmp" only if killed between
 * the link and the rename (O_TMPFILE) or after creating the temp (without), never a partial
 * @path. Must run in a fiber.
 */
WEFT_API int weft_file_replace_commit(weft_file_replace *rep);

/* weft_file_replace_abort - give up: close and remove the temp (even for a cancelled caller),
 * free @rep; @path is untouched. NULL is a no-op. Must run in a fiber. */
WEFT_API void weft_file_replace_abort(weft_file_replace *rep);

/*
 * weft_file_replace_atomic - replace the contents of @path with @len bytes from @buf so that a
 * crash at any moment leaves either the old file or the new one, complete - the safe way to save:
 * begin, write all, commit with WEFT_REPLACE_SYNC_ALL (see above). Returns 0 or the first error
 * (-ENOENT for a missing directory, -ENOSPC, -EACCES ...), @path untouched on an error before
 * the rename. Must run in a fiber.
 */
WEFT_API int weft_file_replace_atomic(const char *path, const void *buf, size_t len, mode_t mode);

/*
 * weft_file_replace_from - replace @path atomically with the contents of @src from its position
 * to its end (copied in the kernel, as weft_file_copy; @src's position ends at its end), at
 * durability @flags (WEFT_REPLACE_SYNC_*). For a bare descriptor, wrap it with
 * weft_file_from_fd and take it back with weft_file_release. Returns as
 * weft_file_replace_commit, or a read error of @src (then @path is untouched). Must run in a
 * fiber.
 */
WEFT_API int weft_file_replace_from(const char *path, weft_file *src, mode_t mode, unsigned flags);

/*
 * weft_file_load - read the whole file @path into a new buffer (open, read_all, close); as
 * weft_file_read_all() for *@bufp, *@lenp and @max. Must run in a fiber.
 */
WEFT_API int weft_file_load(const char *path, void **bufp, size_t *lenp, size_t max);

/* ---- copying and sending ------------------------------------------------------------------ */

/*
 * weft_file_copy - copy up to @len bytes (UINT64_MAX: to the end of @in; 0: nothing) from @in's
 * position to @out's position, advancing both by the count copied, in the kernel
 * (IORING_OP_SPLICE through a pipe; no copy through user memory). Returns the bytes copied, or
 * a negative errno if nothing could be copied. After a partial copy (an error, a cancel or a
 * deadline part-way) the count is exactly what reached @out, both positions stop there (so the
 * next call resumes without a gap, for a seekable @in), and the error shows at the next call.
 * Must run in a fiber.
 */
WEFT_API int64_t weft_file_copy(weft_file *out, weft_file *in, uint64_t len);

/*
 * weft_file_copy_path - copy the file @from to a new or truncated file @to created with @mode.
 * 0 or a negative errno (a partial @to is removed on error). Must run in a fiber.
 */
WEFT_API int weft_file_copy_path(const char *from, const char *to, mode_t mode);

/*
 * weft_file_sendfile - send @len bytes of @file from @offset to socket (or pipe) @sockfd, as
 * sendfile(2) does, through IORING_OP_SPLICE (file -> pipe -> socket). @len 0 sends nothing and
 * returns 0, as sendfile(2) does (unlike weft_sock_sendfile, where count 0 means "to the end");
 * UINT64_MAX sends to the end of the file. The file's position is not used. Returns the bytes
 * sent, short at end of file or when an error, a cancel or a deadline stopped it part-way: then
 * exactly what the socket took, so a caller may resume at @offset + count, and the next call
 * reports the error. A negative errno if nothing was sent (-EPIPE, -ECONNRESET ...). Must run
 * in a fiber.
 */
WEFT_API int64_t weft_file_sendfile(weft_file *file, int sockfd, int64_t offset, uint64_t len);

/* ---- line-by-line and buffered access ----------------------------------------------------- */

/* Flags for weft_file_stream(). */
#define WEFT_FILE_STREAM_OWN (1u << 0) /* weft_stream_close() also closes the file */

/*
 * weft_file_stream - a weft_stream (weft/stream.h) reading and writing @file at its position:
 * weft_stream_read_line() with a maximum length reads a file line by line (`async for line in
 * f`), weft_stream_read_until() splits records. The stream reads ahead, so the file's position
 * runs ahead of what was consumed; don't mix stream calls with direct calls on @file.
 * @opts may be NULL (16 KiB read buffer: the longest line). With WEFT_FILE_STREAM_OWN,
 * weft_stream_close() closes @file too; otherwise @file must outlive the stream.
 * Returns 0, -EINVAL or -ENOMEM. Runs anywhere.
 */
WEFT_API int weft_file_stream(weft_file *file, weft_stream **streamp,
			      const struct weft_stream_opts *opts, unsigned flags);

/* ---- O_DIRECT ------------------------------------------------------------------------------ */

/*
 * weft_file_aligned_alloc - @size bytes aligned for O_DIRECT (@align bytes; 0 means 4096, enough
 * for every device and file system weft knows). Release with free(). NULL if out of memory or
 * @align is not a power of two. O_DIRECT transfers need the buffer, the length and the offset
 * aligned (weft_file_dio_align says to what); misaligned ones fail with -EINVAL. Thread-safe.
 */
WEFT_API void *weft_file_aligned_alloc(size_t size, size_t align);

/*
 * weft_file_dio_align - the alignment O_DIRECT needs on @file (STATX_DIOALIGN): *@mem for the
 * buffer address, *@offset for offsets and lengths. 0 if both were filled, -EOPNOTSUPP if the
 * file system does not support O_DIRECT on this file. Must run in a fiber.
 */
WEFT_API int weft_file_dio_align(weft_file *file, unsigned *mem, unsigned *offset);

/* ---- throughput options -------------------------------------------------------------------- */

/*
 * weft_file_register - put @file in the calling loop's registered-file table, so each I/O skips
 * the kernel's descriptor lookup and reference counting (IOSQE_FIXED_FILE). The file then belongs
 * to this loop: another loop's fiber gets -EXDEV. 0, -EBUSY (already registered), -ENFILE (the
 * table's 4096 slots are taken), -ENOMEM, or the ring's error (-EBUSY also when another module
 * owns the ring's file table). Pays for ring I/O on long-lived files (O_DIRECT random reads:
 * about +7% IOPS here; see the README). Must run in a fiber.
 */
WEFT_API int weft_file_register(weft_file *file);

/* weft_file_unregister - take @file out of the table (closing it does that too). 0 or -EINVAL if
 * not registered, -EXDEV from another loop. Must run in a fiber. */
WEFT_API int weft_file_unregister(weft_file *file);

/*
 * weft_file_buffers_register - register @n buffers with the calling loop's ring for
 * weft_file_pread_fixed / weft_file_pwrite_fixed_some (IORING_OP_READ_FIXED / WRITE_FIXED: the kernel
 * maps and pins them once instead of per I/O). The memory must stay valid until
 * weft_file_buffers_unregister() or the loop's close. 0, -EBUSY (the loop has a set: unregister
 * it first), -ENOMEM, -EINVAL. Must run in a fiber.
 */
WEFT_API int weft_file_buffers_register(const struct iovec *iov, unsigned n);

/* weft_file_buffers_unregister - drop the calling loop's buffer set. Must run in a fiber. */
WEFT_API int weft_file_buffers_unregister(void);

/*
 * weft_file_pread_fixed / weft_file_pwrite_fixed_some - pread / pwrite into (from) @buf, which must
 * lie inside registered buffer @index of the calling loop. Returns as pread / pwrite; -EFAULT if
 * @buf is outside the buffer. No inline attempt: the fixed path always uses the ring. Must run
 * in a fiber.
 */
WEFT_API ssize_t weft_file_pread_fixed(weft_file *file, void *buf, size_t len, int64_t offset,
				       unsigned index);
WEFT_API ssize_t weft_file_pwrite_fixed_some(weft_file *file, const void *buf, size_t len,
					     int64_t offset, unsigned index);

/*
 * weft_file_max_workers - cap the kernel worker threads (io-wq) of the calling loop's thread
 * (IORING_REGISTER_IOWQ_MAX_WORKERS): *@bounded for regular-file work that blocks (buffered
 * writes, fsync, open with O_CREAT, path operations ...), *@unbounded for work that may wait
 * forever (splices to sockets, pipes). A value of 0 (or a NULL pointer) leaves that cap
 * unchanged. On return both hold the previous caps (as liburing's call does). 0 or a negative
 * errno. Must run in a fiber.
 */
WEFT_API int weft_file_max_workers(unsigned *bounded, unsigned *unbounded);

#ifdef __cplusplus
}
#endif
#endif

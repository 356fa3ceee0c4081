/* SPDX-License-Identifier: MIT */
/*
 * weft/stream.h - the buffered reader/writer shared by sockets, files and ttys.
 *
 * A stream wraps a transport (a struct weft_stream_ops: how to read and write bytes, each call a
 * blocking fiber call built on the op layer) and adds what protocols need on top: read_exactly,
 * read_until / read_line with a maximum length, peek/consume for frame parsers, write-all and
 * buffered writes with flush. net/, fileio/ and serial/ each supply a transport; users may supply
 * their own (a test double, TLS, a compressor).
 *
 * Buffers: the read buffer exists only for what needs look-ahead (lines, exact-size frames,
 * peeks) and is allocated on first use. weft_stream_read() with nothing buffered goes straight
 * into the caller's memory, so a stream used like a socket costs one transport call per read,
 * no copy, and an idle connection holds no buffer. Writes go straight to the transport
 * unless a write buffer size was given, in which case small writes are gathered until it is full
 * or weft_stream_flush() is called.
 *
 * Concurrency: one reader fiber and any number of writer fibers may use a stream at the same
 * time (a full-duplex connection). Writers take turns (asyncio's StreamWriter, where write()
 * queues whole): each write, writev, flush or shutdown call runs whole, its bytes never
 * interleaved with another call's, and callers that find the write side in use wait in FIFO
 * order - a chat server's broadcaster and each client's own fiber can write to one stream
 * without a queue of their own. A writer cancelled or timed out while waiting its turn returns
 * -ECANCELED / -ETIMEDOUT having sent nothing and not touched its buffer; the others keep their
 * places. A second concurrent reader gets -EBUSY (reads take no turns: two readers of one byte
 * stream would each get pieces). A stream belongs to the loop whose fibers use it; none of these
 * calls is thread-safe.
 *
 * Deadlines and cancellation come from the calling fiber's scopes (weft/scope.h) as for every
 * blocking call. A read cut short by a cancel or deadline never loses data: bytes that arrived
 * stay in the buffer for the next read.
 */
#ifndef WEFT_STREAM_H
#define WEFT_STREAM_H

#include <sys/types.h>
#include <sys/uio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_stream weft_stream;

/*
 * struct weft_stream_ops - a transport. Every callback is called from a fiber of the stream's
 * loop and may block it; each returns a negative errno on failure.
 * @read:     read up to @len bytes into @buf; the count read, 0 at end of file. Required.
 * @writev:   write from @iov; the count written (may be short; the stream continues). Required
 *            for writing streams; NULL makes the stream read-only (writes get -EBADF).
 * @shutdown: end the write direction (TCP half-close). Optional (-EOPNOTSUPP without).
 * @close:    release the transport; called once by weft_stream_close(). Optional.
 */
struct weft_stream_ops {
	ssize_t (*read)(void *io, void *buf, size_t len);
	ssize_t (*writev)(void *io, const struct iovec *iov, int iovcnt);
	int (*shutdown)(void *io);
	int (*close)(void *io);
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/* Default sizes: a read buffer of 16 KiB (a line or frame must fit in it), no write buffer. */
#define WEFT_STREAM_RBUF_DEFAULT (16 * 1024)
/* The longest delimiter weft_stream_read_until() takes, and the smallest read buffer. */
#define WEFT_STREAM_DELIM_MAX 16

/*
 * struct weft_stream_opts - optional settings for weft_stream_new(); zero means the default.
 * @rbuf_size: read buffer capacity: the largest line, frame or peek the stream can hold
 *             (at least WEFT_STREAM_DELIM_MAX).
 * @wbuf_size: write buffer capacity; 0 writes straight through.
 */
struct weft_stream_opts {
	size_t rbuf_size;
	size_t wbuf_size;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/*
 * weft_stream_new - wrap transport @io, driven by @ops (which must outlive the stream).
 * @opts may be NULL. Returns 0 and sets *@streamp, or -EINVAL / -ENOMEM. Allocates nothing
 * else until the first read. Not thread-safe; may be called outside a fiber.
 */
WEFT_API int weft_stream_new(weft_stream **streamp, const struct weft_stream_ops *ops, void *io,
			     const struct weft_stream_opts *opts);

/*
 * weft_stream_close - flush buffered writes, then close the transport (ops->close) and free the
 * stream. Returns 0, or the first error from the flush or the close; the stream is freed either
 * way - except -EBUSY, returned untouched while a reader or writer is inside a call (writers
 * that come to wait their turn during the close's flush get -EPIPE). Buffered bytes a flush
 * could not send are dropped (use weft_stream_flush() first to see the error while the stream
 * still exists). NULL is a no-op returning 0. Must run in a fiber if
 * anything is left to flush; otherwise anywhere.
 */
WEFT_API int weft_stream_close(weft_stream *stream);

/*
 * weft_stream_free - free the stream without flushing or closing the transport (the caller keeps
 * the transport, e.g. to abort it). NULL is a no-op. Not thread-safe.
 */
WEFT_API void weft_stream_free(weft_stream *stream);

/*
 * weft_stream_read - read up to @len bytes: what is buffered, or else one transport read.
 * Returns the count (> 0), 0 at end of file, or a negative errno. Blocks the calling fiber.
 */
WEFT_API ssize_t weft_stream_read(weft_stream *stream, void *buf, size_t len);

/*
 * weft_stream_read_exactly - read exactly @len bytes.
 * Returns 0 when all arrived. If the stream ends first, returns -ENODATA and the bytes that did
 * arrive are in @buf; *@got (if not NULL) always holds how many were stored, also on other errors
 * (then they are consumed from the stream, so nothing is lost or read twice).
 */
WEFT_API int weft_stream_read_exactly(weft_stream *stream, void *buf, size_t len, size_t *got);

/*
 * weft_stream_read_to_end - read until the end of the stream into @buf, at most @max bytes
 * (asyncio's read(-1) with a limit: a request body, a child's output, a whole file).
 * Returns the count (0..@max) once the stream ended. -EMSGSIZE if more than @max bytes come:
 * @buf then holds the first @max of them and what follows stays in the stream for the next read.
 * On -EMSGSIZE and every other error (-ECONNRESET, -ECANCELED, -ETIMEDOUT ...) *@got (may be
 * NULL) holds how many bytes were stored in @buf; they are consumed from the stream, as with
 * weft_stream_read_exactly(), so nothing is lost or read twice. Blocks the calling fiber.
 */
WEFT_API ssize_t weft_stream_read_to_end(weft_stream *stream, void *buf, size_t max, size_t *got);

/*
 * weft_stream_read_until - read through the first @delim byte sequence into @buf
 * (1 <= @dlen <= WEFT_STREAM_DELIM_MAX).
 * Returns the line's length including the delimiter. @max (<= @len; 0 means @len) caps it:
 * -EMSGSIZE if no delimiter arrived within @max bytes (or the read buffer's capacity); the
 * over-long line is then skipped through its delimiter, so the stream stays usable and the
 * next call returns the next line. At end of file: the remaining bytes without a delimiter are
 * returned as the last line, then 0.
 */
WEFT_API ssize_t weft_stream_read_until(weft_stream *stream, void *buf, size_t len, size_t max,
					const void *delim, size_t dlen);

/* weft_stream_read_line - weft_stream_read_until() with delimiter "\n". */
WEFT_API ssize_t weft_stream_read_line(weft_stream *stream, char *buf, size_t len, size_t max);

/*
 * weft_stream_peek - make at least @want bytes available in the read buffer without consuming
 * them, for frame parsers. Sets *@data and *@avail to the buffered bytes (avail may exceed want).
 * Returns 0; -ENODATA when the stream ended with fewer than @want bytes (*avail says how many
 * are left); -EMSGSIZE when @want exceeds the read buffer's capacity (*data and *avail still
 * describe what is buffered). @want 0 returns what is
 * buffered without reading. The pointer is valid until the next read or consume.
 */
WEFT_API int weft_stream_peek(weft_stream *stream, size_t want, const void **data, size_t *avail);

/* weft_stream_consume - drop @n buffered bytes (@n <= what peek reported). 0, -EINVAL, or
 * -EBUSY while another fiber's read is in flight on the stream. */
WEFT_API int weft_stream_consume(weft_stream *stream, size_t n);

/* weft_stream_buffered - how many bytes are buffered for reading (no I/O). */
WEFT_API size_t weft_stream_buffered(const weft_stream *stream);

/*
 * weft_stream_write - write all @len bytes (buffered if the stream has a write buffer), waiting
 * for the write turn first if another fiber is writing (see Concurrency above).
 * Returns @len, or a negative errno. After an error, some bytes may have reached the transport:
 * weft_stream_written() counts the bytes the transport accepted so far. A write cancelled or
 * timed out part-way (some bytes sent) returns -ECANCELED / -ETIMEDOUT like any error: the rest
 * of @buf is not sent (and never touched after the return), and the turn passes to the next
 * writer, whose bytes follow the partial ones. A message protocol that must not see a cut
 * message should close the stream after such an error, or write inside a shield scope.
 * -EPIPE: the stream was closed while this call waited its turn; -EDEADLK: called by the fiber
 * that has the turn (a transport writing to its own stream).
 */
WEFT_API ssize_t weft_stream_write(weft_stream *stream, const void *buf, size_t len);

/* weft_stream_writev - write all of @iov (@iovcnt <= IOV_MAX); as weft_stream_write(). */
WEFT_API ssize_t weft_stream_writev(weft_stream *stream, const struct iovec *iov, int iovcnt);

/* weft_stream_flush - send what the write buffer holds (asyncio's drain), in its own write turn.
 * 0 or negative errno. */
WEFT_API int weft_stream_flush(weft_stream *stream);

/* weft_stream_shutdown - flush, then end the write direction (ops->shutdown), in one write
 * turn (no other writer's bytes in between). */
WEFT_API int weft_stream_shutdown(weft_stream *stream);

/* weft_stream_written - bytes the transport has accepted since the stream was created. */
WEFT_API uint64_t weft_stream_written(const weft_stream *stream);

/* weft_stream_io - the transport pointer given to weft_stream_new(). */
WEFT_API void *weft_stream_io(const weft_stream *stream);

/* weft_stream_transport - the ops given to weft_stream_new(): tells which kind of transport a
 * stream runs on (TLS uses it to recognise its own streams). NULL for NULL. Not thread-safe. */
WEFT_API const struct weft_stream_ops *weft_stream_transport(const weft_stream *stream);

#ifdef __cplusplus
}
#endif
#endif

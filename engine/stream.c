/* SPDX-License-Identifier: MIT */
/*
 * The buffered stream shared by sockets, files and ttys (weft/stream.h).
 *
 * The read buffer holds [rhead, rtail) of rbuf. It exists only for what needs look-ahead (lines,
 * frames, peeks); a plain read with nothing buffered goes straight into the caller's memory, so a
 * stream used like a socket costs one transport call per read and no copy. Nothing here blocks
 * except through the transport, whose calls are fiber calls on the op layer: a cancel or deadline
 * shows up as a transport error, and whatever was already buffered stays buffered.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "weft/stream.h"
#include "weft/task.h"
#include "abi.h"
#include "alloc.h"
#include "delim.h"
#include "iov.h"
#include "rbuf.h"
#include "loop.h"
#include "module.h"

struct weft_stream {
	const struct weft_stream_ops *ops;
	void *io;

	char *rbuf;
	size_t rcap, rhead, rtail;
	char *wbuf;
	size_t wcap, wlen;
	uint64_t written;

	/* An over-long line is being skipped through this delimiter (see read_until). */
	char skip_delim[WEFT_STREAM_DELIM_MAX];
	size_t skip_dlen;

	/* Writers waiting their turn, FIFO (struct weft__sync_wait, waitq.h), and the task that
	 * has it (NULL for plain code). */
	struct weft__list writers;
	struct weft_task *writer;

	bool eof;     /* the transport reported end of file */
	bool reading; /* a reader fiber is inside a blocking call */
	bool writing; /* a writer has the turn (the write side is in use or handed over) */
	/* The loop that created it (NULL from plain code) and its thread. Only compared, never
	 * dereferenced: a file's stream may outlive the loop it was made on. */
	const struct weft_loop *loop;
	pthread_t thread;
};

/* A stream belongs to the loop that created it: -EXDEV from other threads and loops. */
static int stream_check(const struct weft_stream *s, const char *call)
{
	return s->loop ? weft__owner_check(s->loop, s->thread, call) : 0;
}

int weft_stream_new(weft_stream **streamp, const struct weft_stream_ops *ops, void *io,
		    const struct weft_stream_opts *opts)
{
	struct weft_stream *s;

	if (!streamp || !ops || !ops->read || weft__reserved_bad(ops) || weft__reserved_bad(opts) ||
	    (opts && opts->rbuf_size && opts->rbuf_size < WEFT_STREAM_DELIM_MAX))
		return -EINVAL;
	s = weft__new(struct weft_stream);
	if (!s)
		return -ENOMEM;
	s->ops = ops;
	s->io = io;
	s->loop = weft__loop();
	s->thread = pthread_self();
	weft__list_init(&s->writers);
	s->rcap = opts && opts->rbuf_size ? opts->rbuf_size : WEFT_STREAM_RBUF_DEFAULT;
	s->wcap = opts ? opts->wbuf_size : 0;
	if (s->wcap) {
		s->wbuf = weft__alloc(s->wcap);
		if (!s->wbuf) {
			weft__delete(s);
			return -ENOMEM;
		}
	}
	*streamp = s;
	return 0;
}

void weft_stream_free(weft_stream *s)
{
	if (!s)
		return;
	weft__free(s->rbuf, s->rcap);
	weft__free(s->wbuf, s->wcap);
	weft__delete(s);
}

static int flush(struct weft_stream *s);

int weft_stream_close(weft_stream *s)
{
	int r = 0, rc;

	if (!s)
		return 0;
	if (stream_check(s, __func__))
		return -EXDEV;
	if (s->reading || s->writing)
		return -EBUSY;
	/* Both sides stay taken while the flush and the close block: a reader arriving meanwhile
	 * gets -EBUSY, a writer queues and is turned away with -EPIPE before the stream goes. */
	s->reading = s->writing = true;
	s->writer = weft_task_current();
	if (s->wlen)
		r = flush(s);
	if (s->ops->close) {
		rc = s->ops->close(s->io);
		if (!r)
			r = rc;
	}
	weft__sync_wake_all(&s->writers, -EPIPE);
	weft_stream_free(s);
	return r;
}

size_t weft_stream_buffered(const weft_stream *s)
{
	return s ? s->rtail - s->rhead : 0;
}

uint64_t weft_stream_written(const weft_stream *s)
{
	return s ? s->written : 0;
}

void *weft_stream_io(const weft_stream *s)
{
	return s ? s->io : NULL;
}

const struct weft_stream_ops *weft_stream_transport(const weft_stream *s)
{
	return s ? s->ops : NULL;
}

size_t weft__stream_rbuf_cap(const weft_stream *s)
{
	return s->rcap;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* Claim the read side for one blocking call: a second concurrent reader would interleave. */
static int read_begin(struct weft_stream *s)
{
	if (s->reading)
		return -EBUSY;
	s->reading = true;
	return 0;
}

static int read_end(struct weft_stream *s, int r)
{
	s->reading = false;
	return r;
}

static void consume(struct weft_stream *s, size_t n)
{
	s->rhead += n;
	if (s->rhead == s->rtail)
		s->rhead = s->rtail = 0;
}

/* One transport read into the buffer's free tail, making room first. 1: data, 0: EOF. */
static int fill(struct weft_stream *s)
{
	ssize_t n;

	if (!s->rbuf) {
		s->rbuf = weft__alloc(s->rcap);
		if (!s->rbuf)
			return -ENOMEM;
	}
	if (s->rtail == s->rcap && s->rhead) {
		memmove(s->rbuf, s->rbuf + s->rhead, s->rtail - s->rhead);
		s->rtail -= s->rhead;
		s->rhead = 0;
	}
	if (s->eof)
		return 0;
	n = s->ops->read(s->io, s->rbuf + s->rtail, s->rcap - s->rtail);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		s->eof = true;
		return 0;
	}
	s->rtail += (size_t)n;
	return 1;
}

/* Offset just past the first @delim in the buffer, or 0; *@scanned is the resume point
 * (weft__delim_scan: 0 for a new search, kept between fills, never across a consume). */
static size_t find_delim(const struct weft_stream *s, const void *delim, size_t dlen,
			 size_t *scanned)
{
	if (!s->rbuf)
		return 0;
	return weft__delim_scan(s->rbuf + s->rhead, s->rtail - s->rhead, 0, delim, dlen, scanned);
}

/* Finish skipping an over-long line: discard through its delimiter, across as many reads as
 * it takes. Every read call starts here, so the next one sees the next line. */
static int skip_line(struct weft_stream *s)
{
	bool found;
	int r;

	while (s->skip_dlen) {
		if (s->rbuf) {
			consume(s, weft__delim_skip(s->rbuf + s->rhead, s->rtail - s->rhead,
						    s->skip_delim, s->skip_dlen, &found));
			if (found) {
				s->skip_dlen = 0;
				break;
			}
		}
		r = fill(s);
		if (r < 0)
			return r;
		if (r == 0) {
			consume(s, s->rtail - s->rhead); /* the file ended inside the long line */
			s->skip_dlen = 0;
		}
	}
	return 0;
}

static size_t take(struct weft_stream *s, void *buf, size_t len)
{
	size_t n = s->rtail - s->rhead;

	if (n > len)
		n = len;
	if (n) /* @buf may be NULL for a read of 0 bytes */
		memcpy(buf, s->rbuf + s->rhead, n);
	consume(s, n);
	return n;
}

ssize_t weft_stream_read(weft_stream *s, void *buf, size_t len)
{
	ssize_t r;

	if (!s || (!buf && len))
		return -EINVAL;
	if (stream_check(s, __func__))
		return -EXDEV;
	r = read_begin(s);
	if (r)
		return r;
	r = skip_line(s);
	if (r == 0 && len) {
		if (s->rtail > s->rhead)
			r = (ssize_t)take(s, buf, len);
		else if (!s->eof)
			r = s->ops->read(s->io, buf, len);
	}
	if (r == 0 && len)
		s->eof = true;
	s->reading = false;
	return r;
}

/* Read straight into @buf (the caller's memory: nothing needs buffering) until @len bytes are
 * there, *@done counting them. 0 when full, -ENODATA at end of file first, or the error. */
static int read_direct(struct weft_stream *s, void *buf, size_t len, size_t *done)
{
	ssize_t n;

	while (*done < len) {
		n = s->eof ? 0 : s->ops->read(s->io, (char *)buf + *done, len - *done);
		if (n < 0)
			return (int)n;
		if (n == 0) {
			s->eof = true;
			return -ENODATA;
		}
		*done += (size_t)n;
	}
	return 0;
}

/* What exact and to-the-end reads share: the buffered bytes, then straight into @buf until
 * @len bytes are there (read_direct's returns). The caller has claimed the read side. */
static int read_caller(struct weft_stream *s, void *buf, size_t len, size_t *done)
{
	int r = skip_line(s);

	if (r == 0 && s->rtail > s->rhead)
		*done = take(s, buf, len);
	return r ? r : read_direct(s, buf, len, done);
}

int weft_stream_read_exactly(weft_stream *s, void *buf, size_t len, size_t *got)
{
	size_t done = 0;
	int r;

	if (got)
		*got = 0;
	if (!s || (!buf && len))
		return -EINVAL;
	if (stream_check(s, __func__))
		return -EXDEV;
	r = read_begin(s);
	if (r)
		return r;
	r = read_caller(s, buf, len, &done);
	if (got)
		*got = done;
	return read_end(s, r);
}

/* @buf is full: is the stream at its end (0), or does more follow (-EMSGSIZE)? What follows is
 * read into the buffer, where it stays for the next read. */
static int at_end(struct weft_stream *s)
{
	int r = s->rtail > s->rhead ? 1 : fill(s);

	return r > 0 ? -EMSGSIZE : r;
}

ssize_t weft_stream_read_to_end(weft_stream *s, void *buf, size_t max, size_t *got)
{
	size_t done = 0;
	int r;

	if (!s || (!buf && max) || max > SSIZE_MAX)
		r = -EINVAL;
	else if (!(r = read_begin(s))) {
		r = read_caller(s, buf, max, &done);
		r = r == 0 ? at_end(s) : r == -ENODATA ? 0 : r; /* the end is what we wait for */
		read_end(s, r);
	}
	if (got)
		*got = done;
	return r ? r : (ssize_t)done;
}

static ssize_t read_until(struct weft_stream *s, void *buf, size_t max, const void *delim,
			  size_t dlen)
{
	size_t scanned = 0, avail, end;
	int r;

	for (;;) {
		end = find_delim(s, delim, dlen, &scanned);
		if (end && end <= max) {
			memcpy(buf, s->rbuf + s->rhead, end);
			consume(s, end);
			return (ssize_t)end;
		}
		avail = s->rtail - s->rhead;
		if (end || avail >= max || avail == s->rcap) {
			/* Too long: skip it through its delimiter from the next call on. */
			memcpy(s->skip_delim, delim, dlen);
			s->skip_dlen = dlen;
			return -EMSGSIZE;
		}
		r = fill(s);
		if (r < 0)
			return r;
		if (r == 0) /* EOF: what is left is the last line, then 0 */
			return (ssize_t)take(s, buf, avail);
	}
}

ssize_t weft_stream_read_until(weft_stream *s, void *buf, size_t len, size_t max, const void *delim,
			       size_t dlen)
{
	ssize_t r;

	if (!s || !buf || !len || !delim || !dlen || dlen > WEFT_STREAM_DELIM_MAX || max > len)
		return -EINVAL;
	if (stream_check(s, __func__))
		return -EXDEV;
	r = read_begin(s);
	if (r)
		return r;
	r = skip_line(s);
	if (r == 0)
		r = read_until(s, buf, max ? max : len, delim, dlen);
	s->reading = false;
	return r;
}

ssize_t weft_stream_read_line(weft_stream *s, char *buf, size_t len, size_t max)
{
	return weft_stream_read_until(s, buf, len, max, "\n", 1);
}

int weft_stream_peek(weft_stream *s, size_t want, const void **data, size_t *avail)
{
	int r;

	if (!s || !data || !avail)
		return -EINVAL;
	if (stream_check(s, __func__))
		return -EXDEV;
	*data = s->rbuf ? s->rbuf + s->rhead : NULL;
	*avail = s->rtail - s->rhead;
	if (want > s->rcap)
		return -EMSGSIZE;
	r = read_begin(s);
	if (r)
		return r;
	r = skip_line(s);
	while (r == 0 && s->rtail - s->rhead < want) {
		r = fill(s);
		if (r == 0)
			r = -ENODATA;
		else if (r > 0)
			r = 0;
	}
	*data = s->rbuf ? s->rbuf + s->rhead : NULL;
	*avail = s->rtail - s->rhead;
	return read_end(s, r);
}

int weft_stream_consume(weft_stream *s, size_t n)
{
	if (!s || n > s->rtail - s->rhead)
		return -EINVAL;
	if (stream_check(s, __func__))
		return -EXDEV;
	if (s->reading)
		return -EBUSY; /* a read in flight is filling the buffer's tail */
	consume(s, n);
	return 0;
}

/* ---- writing ------------------------------------------------------------------------------ */

/* Enough entries per transport call: a longer vector is written in slices of this many. */
#define IOV_SLICE 64

/* Write every byte of @iov, continuing after short writes. Counts what the transport took. */
static int writev_all(struct weft_stream *s, const struct iovec *iov, int iovcnt)
{
	struct iovec slice[IOV_SLICE];
	int i = 0;

	while (i < iovcnt) {
		int n = iovcnt - i < IOV_SLICE ? iovcnt - i : IOV_SLICE, k = 0;
		ssize_t w;

		memcpy(slice, iov + i, sizeof(*slice) * (size_t)n);
		while (k < n) {
			if (slice[k].iov_len == 0) {
				k++;
				continue;
			}
			w = s->ops->writev(s->io, slice + k, n - k);
			if (w < 0)
				return (int)w;
			if (w == 0)
				return -EIO; /* a transport that takes nothing would spin forever */
			s->written += (uint64_t)w;
			for (; k < n && (size_t)w >= slice[k].iov_len; k++)
				w -= (ssize_t)slice[k].iov_len;
			if (k < n) {
				slice[k].iov_base = (char *)slice[k].iov_base + w;
				slice[k].iov_len -= (size_t)w;
			}
		}
		i += n;
	}
	return 0;
}

/* Send the write buffer; on error keep what was not sent, so a retry (after a cancel) resumes. */
static int flush(struct weft_stream *s)
{
	uint64_t before = s->written;
	struct iovec iov = {s->wbuf, s->wlen};
	int r;

	if (!s->wlen)
		return 0;
	r = writev_all(s, &iov, 1);
	if (r) {
		size_t sent = (size_t)(s->written - before);

		memmove(s->wbuf, s->wbuf + sent, s->wlen - sent);
		s->wlen -= sent;
		return r;
	}
	s->wlen = 0;
	return 0;
}

static void gather(struct weft_stream *s, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		memcpy(s->wbuf + s->wlen, iov[i].iov_base, iov[i].iov_len);
		s->wlen += iov[i].iov_len;
	}
}

/*
 * Take the write turn for one whole call: at once if nobody has it, else behind the writers
 * already waiting (FIFO). The writer ending its turn hands it straight to the first waiter, so
 * nobody barges in between; a waiter cancelled or timed out while queued just leaves the queue
 * (nothing of its buffer was touched) and the turn passes over it.
 */
static int write_begin(struct weft_stream *s)
{
	struct weft__sync_wait sw;
	int r;

	if (!s->ops->writev)
		return -EBADF;
	if (!s->writing) {
		s->writing = true;
		s->writer = weft_task_current();
		return 0;
	}
	if (s->writer && s->writer == weft_task_current())
		return -EDEADLK; /* a transport writing to its own stream would wait for itself */
	r = weft__fiber_check(NULL);
	if (r)
		return r;
	/* Woken normally means the turn was handed to us (or the stream is closing: -EPIPE). */
	return weft__sync_park(&s->writers, &sw, weft_task_current(), "stream write",
			       weft__sync_interrupt);
}

static void write_end(struct weft_stream *s)
{
	if (weft__list_empty(&s->writers)) {
		s->writing = false;
		s->writer = NULL;
	} else {
		s->writer = weft__sync_wake_first(&s->writers, 0);
	}
}

ssize_t weft_stream_writev(weft_stream *s, const struct iovec *iov, int iovcnt)
{
	size_t total;
	int r;

	if (!s || weft__iov_total(iov, iovcnt, &total))
		return -EINVAL;
	if (stream_check(s, __func__))
		return -EXDEV;
	r = write_begin(s);
	if (r)
		return r;
	/* Small writes gather in the buffer; anything that does not fit flushes it and then
	 * goes out directly rather than being copied. */
	if (s->wlen + total > s->wcap)
		r = flush(s);
	if (r == 0 && total) {
		if (s->wlen + total <= s->wcap)
			gather(s, iov, iovcnt);
		else
			r = writev_all(s, iov, iovcnt);
	}
	write_end(s);
	return r ? r : (ssize_t)total;
}

ssize_t weft_stream_write(weft_stream *s, const void *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};

	if (!buf && len)
		return -EINVAL;
	return weft_stream_writev(s, &iov, 1);
}

int weft_stream_flush(weft_stream *s)
{
	int r;

	if (!s)
		return -EINVAL;
	if (stream_check(s, __func__))
		return -EXDEV;
	r = write_begin(s);
	if (r)
		return r == -EBADF ? 0 : r; /* a read-only stream has nothing to flush */
	r = flush(s);
	write_end(s);
	return r;
}

int weft_stream_shutdown(weft_stream *s)
{
	int r;

	if (!s)
		return -EINVAL;
	r = write_begin(s);
	if (r)
		return r != -EBADF ? r
		       : s->ops->shutdown
			   ? s->ops->shutdown(s->io) /* read-only: nothing to flush */
			   : -EOPNOTSUPP;
	/* In one turn: no other writer's bytes can slip in between the flush and the end. */
	r = flush(s);
	if (!r)
		r = s->ops->shutdown ? s->ops->shutdown(s->io) : -EOPNOTSUPP;
	write_end(s);
	return r;
}

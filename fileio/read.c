/* SPDX-License-Identifier: MIT */
/*
 * Reads. Buffered reads of seekable files try the page cache inline first (see weft/file.h and
 * read_inline below); what that cannot serve goes through the ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "weft/time.h"
#include "internal.h"

/* Reads sent straight to the ring after the n-th consecutive inline miss: 1, 2, 4 ... 64, so a
 * cold file stops paying a failed syscall per read, and a file that warms up is found again. */
#define INLINE_SKIP_MAX 64
/* A remainder this big that missed the cache is read by an io-wq worker (IOSQE_ASYNC): inline
 * issue of a large cold buffered read waits page by page (DESIGN.md section 5: ~0.6 vs 3.3 GB/s). */
#define ASYNC_MIN (128 * 1024)

unsigned weft__file_tune;

/* ---- reading ------------------------------------------------------------------------------- */

static void inline_missed(weft_file *file)
{
	unsigned skip = 1u << (file->inline_misses < 6 ? file->inline_misses : 6);

	file->inline_skip = (uint8_t)(skip < INLINE_SKIP_MAX ? skip : INLINE_SKIP_MAX);
	if (file->inline_misses < 255)
		file->inline_misses++;
}

/*
 * Serve a read from the page cache on this thread: preadv2(RWF_NOWAIT) copies what is cached
 * and never waits for the device. Returns the count (0 at end of file) or -EAGAIN: use the ring
 * (nothing cached, the file system can't do NOWAIT, or any error - the ring then reports the
 * authoritative one). The caller has passed its checkpoint.
 */
static ssize_t read_inline(weft_file *file, const struct iovec *iov, int iovcnt, int64_t off)
{
	ssize_t r;

	if (!file->seekable || file->direct || (weft__file_tune & WEFT__TUNE_NO_INLINE))
		return -EAGAIN;
	if (file->inline_skip) {
		file->inline_skip--;
		return -EAGAIN;
	}
	r = preadv2(file->fd, iov, iovcnt, off, RWF_NOWAIT);
	if (r > 0) {
		file->inline_misses = 0;
		return r;
	}
	if (r == 0)
		return 0;
	if (errno == EOPNOTSUPP)
		file->direct = true; /* no NOWAIT on this file system: never try again */
	else
		inline_missed(file);
	return -EAGAIN;
}

/* Through the ring. A large buffered read of a seekable file that missed the cache goes to an
 * io-wq worker; O_DIRECT is asynchronous already, and FIFOs must stay poll-driven (a worker would
 * block on them). */
static ssize_t pread_ring(weft_file *file, void *buf, size_t len, int64_t off)
{
	bool cold = file->seekable && !file->direct;
	unsigned flags =
	    cold && len >= ASYNC_MIN && !(weft__file_tune & WEFT__TUNE_NO_ASYNC) ? IOSQE_ASYNC : 0;

	return weft__file_rw(file, IORING_OP_READ, buf, (unsigned)len, off, flags, 0);
}

/* One logical pread: inline what is cached, the rest through the ring. */
static ssize_t file_pread(weft_file *file, void *buf, size_t len, int64_t off)
{
	size_t done = 0;
	ssize_t r = 0, more;
	int err;

	if (!weft__in_fiber())
		return -EPERM;
	if ((!buf && len) || !file_range_ok(file, off, len))
		return -EINVAL;
	if ((err = file_check_loop(file)) || (err = weft__fiber_check(NULL)))
		return err;
	if (len > FILE_RW_MAX)
		len = FILE_RW_MAX;
	/* A short inline read means end of file or a partly cached range: asking again for the rest
	 * tells them apart (0 at once, or EAGAIN) for a syscall, cheaper than a ring trip. */
	while (done < len) {
		struct iovec iov = {(char *)buf + done, len - done};
		r = read_inline(file, &iov, 1, off + (int64_t)done);
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	if (r != -EAGAIN) {
		weft__op_inline_done(); /* a fiber streaming a hot file yields now and then */
		return (ssize_t)done;
	}
	if (done)
		weft__op_inline_done();
	/* Data already read is returned whatever happens to the remainder. */
	more = pread_ring(file, (char *)buf + done, len - done, off + (int64_t)done);
	if (!done)
		return more;
	return more > 0 ? (ssize_t)done + more : (ssize_t)done;
}

static ssize_t file_preadv(weft_file *file, const struct iovec *iov, int iovcnt, int64_t off)
{
	size_t len;
	ssize_t r;
	int err;

	if (!weft__in_fiber())
		return -EPERM;
	if (!iov || weft__iov_total(iov, iovcnt, &len) || !file_range_ok(file, off, len))
		return -EINVAL;
	if ((err = file_check_loop(file)) || (err = weft__fiber_check(NULL)))
		return err;
	r = read_inline(file, iov, iovcnt, off);
	if (r != -EAGAIN) {
		weft__op_inline_done();
		return r;
	}
	return weft__file_rw(file, IORING_OP_READV, iov, (unsigned)iovcnt, off, 0, 0);
}

ssize_t weft_file_pread(weft_file *file, void *buf, size_t len, int64_t offset)
{
	if (!file)
		return -EINVAL;
	return file_pread(file, buf, len, offset);
}

ssize_t weft_file_preadv(weft_file *file, const struct iovec *iov, int iovcnt, int64_t offset)
{
	if (!file)
		return -EINVAL;
	return file_preadv(file, iov, iovcnt, offset);
}

ssize_t weft_file_read(weft_file *file, void *buf, size_t len)
{
	int64_t at;
	ssize_t r;

	if (!file)
		return -EINVAL;
	if (len > FILE_RW_MAX)
		len = FILE_RW_MAX;
	at = pos_claim(file, len);
	r = file_pread(file, buf, len, at);
	pos_settle(file, at, len, r);
	return r;
}

ssize_t weft_file_readv(weft_file *file, const struct iovec *iov, int iovcnt)
{
	size_t len;
	int64_t at;
	ssize_t r;

	if (!file || weft__iov_total(iov, iovcnt, &len))
		return -EINVAL;
	at = pos_claim(file, len);
	r = file_preadv(file, iov, iovcnt, at);
	pos_settle(file, at, len, r);
	return r;
}

int weft_file_pread_exactly(weft_file *file, void *buf, size_t len, int64_t offset, size_t *got)
{
	size_t done = 0;
	int err = 0;

	if (!file)
		err = -EINVAL;
	while (!err && done < len) {
		ssize_t r =
		    file_pread(file, (char *)buf + done, len - done, offset + (int64_t)done);
		if (r > 0)
			done += (size_t)r;
		else
			err = r == 0 ? -ENODATA : (int)r;
	}
	if (got)
		*got = done;
	return err;
}

int weft_file_read_exactly(weft_file *file, void *buf, size_t len, size_t *got)
{
	size_t done = 0;
	int64_t at;
	int err;

	if (!file)
		return -EINVAL;
	at = pos_claim(file, len);
	err = weft_file_pread_exactly(file, buf, len, at, &done);
	pos_settle(file, at, len, (ssize_t)done);
	if (got)
		*got = done;
	return err;
}

/* ---- whole files --------------------------------------------------------------------------- */

#define READ_ALL_FIRST (64 * 1024)

int weft_file_read_all(weft_file *file, void **bufp, size_t *lenp, size_t max)
{
	size_t cap, len = 0;
	int64_t size;
	char *buf;

	if (!file || !bufp || !lenp)
		return -EINVAL;
	*bufp = NULL;
	*lenp = 0;
	if (!max)
		max = SIZE_MAX - 1;
	/* The size is a hint (the file may grow or shrink meanwhile): read until end of file. */
	size = file->seekable ? weft_file_size(file) : -1;
	if (size == -EPERM || size == -ECANCELED || size == -ETIMEDOUT)
		return (int)size;
	cap = size > file->pos ? (size_t)(size - file->pos) + 1 : READ_ALL_FIRST;
	if (cap > max + 1)
		cap = max + 1; /* one byte over the cap is enough to see the file is too big */
	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;
		if (len == cap) {
			size_t ncap = cap * 2 < max + 1 ? cap * 2 : max + 1;
			char *nbuf;
			if (len > max) {
				free(buf);
				return -EFBIG;
			}
			nbuf = realloc(buf, ncap + 1);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
			cap = ncap;
		}
		r = weft_file_read(file, buf + len, cap - len);
		if (r < 0) {
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = 0;
	*bufp = buf;
	*lenp = len;
	return 0;
}

int weft_file_load(const char *path, void **bufp, size_t *lenp, size_t max)
{
	weft_file *f;
	int err, cerr;

	if (!bufp || !lenp)
		return -EINVAL;
	*bufp = NULL;
	*lenp = 0;
	err = weft_file_open(&f, path, O_RDONLY, 0);
	if (err)
		return err;
	err = weft_file_read_all(f, bufp, lenp, max);
	cerr = weft_file_close(f);
	if (!err && cerr) {
		free(*bufp);
		*bufp = NULL;
		*lenp = 0;
		err = cerr;
	}
	return err;
}

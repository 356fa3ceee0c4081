/* SPDX-License-Identifier: MIT */
/* Writes: one op each (buffered writes go to io-wq on most file systems: see the README). */
#include <errno.h>
#include <sys/uio.h>

#include "internal.h"

/* ---- writing ------------------------------------------------------------------------------- */

static ssize_t file_pwrite(weft_file *file, const void *buf, size_t len, int64_t off)
{
	if (!file)
		return -EINVAL;
	if ((!buf && len) || !file_range_ok(file, off, len))
		return -EINVAL;
	if (len > FILE_RW_MAX)
		len = FILE_RW_MAX;
	return weft__file_rw(file, IORING_OP_WRITE, buf, (unsigned)len, off, 0, 0);
}

ssize_t weft_file_pwrite_some(weft_file *file, const void *buf, size_t len, int64_t offset)
{
	return file_pwrite(file, buf, len, offset);
}

ssize_t weft_file_pwritev_some(weft_file *file, const struct iovec *iov, int iovcnt, int64_t offset)
{
	size_t len;

	if (!file || !iov || weft__iov_total(iov, iovcnt, &len) ||
	    !file_range_ok(file, offset, len))
		return -EINVAL;
	return weft__file_rw(file, IORING_OP_WRITEV, iov, (unsigned)iovcnt, offset, 0, 0);
}

ssize_t weft_file_write_some(weft_file *file, const void *buf, size_t len)
{
	int64_t at;
	ssize_t r;

	if (!file)
		return -EINVAL;
	if (len > FILE_RW_MAX)
		len = FILE_RW_MAX;
	at = pos_claim(file, len);
	r = file_pwrite(file, buf, len, at);
	pos_settle(file, at, len, r);
	return r;
}

ssize_t weft_file_writev_some(weft_file *file, const struct iovec *iov, int iovcnt)
{
	size_t len;
	int64_t at;
	ssize_t r;

	if (!file || weft__iov_total(iov, iovcnt, &len))
		return -EINVAL;
	at = pos_claim(file, len);
	r = weft_file_pwritev_some(file, iov, iovcnt, at);
	pos_settle(file, at, len, r);
	return r;
}

ssize_t weft_file_pwrite(weft_file *file, const void *buf, size_t len, int64_t offset, size_t *done)
{
	size_t n = 0;
	int err = 0;

	while (!err && n < len) {
		ssize_t r = file_pwrite(file, (const char *)buf + n, len - n, offset + (int64_t)n);
		if (r > 0)
			n += (size_t)r;
		else
			err = r == 0 ? -EIO
				     : (int)r; /* a regular file never accepts 0 for no reason */
	}
	if (done)
		*done = n;
	return err ? err : (ssize_t)len;
}

ssize_t weft_file_write(weft_file *file, const void *buf, size_t len)
{
	size_t done = 0;
	int64_t at;
	ssize_t r;

	if (!file)
		return -EINVAL;
	at = pos_claim(file, len);
	r = weft_file_pwrite(file, buf, len, at, &done);
	pos_settle(file, at, len, (ssize_t)done);
	return r;
}

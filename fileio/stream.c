/* SPDX-License-Identifier: MIT */
/* The file transport of weft_stream (engine/stream.c): line reading and buffered writing. */
#include <errno.h>

#include "internal.h"

static ssize_t fs_read(void *io, void *buf, size_t len)
{
	return weft_file_read(io, buf, len);
}

static ssize_t fs_writev(void *io, const struct iovec *iov, int iovcnt)
{
	return weft_file_writev_some(io, iov, iovcnt);
}

static int fs_close(void *io)
{
	return weft_file_close(io);
}

static const struct weft_stream_ops borrowed_ops = {.read = fs_read, .writev = fs_writev};
static const struct weft_stream_ops owned_ops = {
    .read = fs_read, .writev = fs_writev, .close = fs_close};

int weft_file_stream(weft_file *file, weft_stream **streamp, const struct weft_stream_opts *opts,
		     unsigned flags)
{
	if (!file || !streamp || (flags & ~WEFT_FILE_STREAM_OWN))
		return -EINVAL;
	return weft_stream_new(streamp, (flags & WEFT_FILE_STREAM_OWN) ? &owned_ops : &borrowed_ops,
			       file, opts);
}

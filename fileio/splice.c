/* SPDX-License-Identifier: MIT */
/*
 * Copying in the kernel: file -> pipe -> file or socket with IORING_OP_SPLICE (the engine's
 * weft__splice, shared with net's sendfile). io_uring has no copy_file_range op; splice moves
 * page references, so no byte crosses user memory either way.
 */
#include <errno.h>
#include <fcntl.h>

#include "internal.h"

int64_t weft_file_copy(weft_file *out, weft_file *in, uint64_t len)
{
	int64_t off_in, off_out, r;
	int err;

	if (!out || !in)
		return -EINVAL;
	if ((err = file_check_loop(out)) || (err = file_check_loop(in)))
		return err;
	off_in = in->seekable ? in->pos : -1;
	off_out = out->seekable ? out->pos : -1;
	r = weft__splice(in->fd, off_in, out->fd, off_out, len);
	/* Both positions move by what reached @out, exactly (bytes dropped with the pipe after a
	 * failed write are read again by the next call). */
	if (r > 0 && in->seekable)
		in->pos = off_in + r;
	if (r > 0 && out->seekable)
		out->pos = off_out + r;
	return r;
}

int weft__file_copy_to_end(weft_file *out, weft_file *in)
{
	int64_t r = weft_file_copy(out, in, WEFT__SPLICE_TO_END);

	/* Did it reach the end of @in? After a partial copy the next splice reports the error. */
	if (r >= 0)
		r = weft_file_copy(out, in, WEFT__SPLICE_TO_END);
	return (int)(r < 0 ? r : 0);
}

int weft_file_copy_path(const char *from, const char *to, mode_t mode)
{
	weft_file *in, *out;
	int err;

	if ((err = weft_file_open(&in, from, O_RDONLY, 0)))
		return err;
	if ((err = weft_file_open(&out, to, O_WRONLY | O_CREAT | O_TRUNC, mode))) {
		weft_file_close(in);
		return err;
	}
	err = weft__file_copy_to_end(out, in);
	weft_file_close(in);
	int cerr = weft_file_close(out);
	if (!err)
		err = cerr;
	if (err)
		weft__file_unlink_shielded(to);
	return err;
}

int64_t weft_file_sendfile(weft_file *file, int sockfd, int64_t offset, uint64_t len)
{
	if (!file || sockfd < 0 || offset < 0)
		return -EINVAL;
	return weft__splice(file->fd, offset, sockfd, -1, len);
}

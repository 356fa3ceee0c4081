/* SPDX-License-Identifier: MIT */
/*
 * Copying in the kernel: file -> pipe -> file or socket with IORING_OP_SPLICE. io_uring has no
 * copy_file_range op; splice moves page references, so no byte crosses user memory either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

struct splice_op {
	int fd_in, fd_out;
	int64_t off_in, off_out;
	unsigned len;
};

static void prep_splice(struct io_uring_sqe *sqe, void *arg)
{
	struct splice_op *a = arg;

	io_uring_prep_splice(sqe, a->fd_in, a->off_in, a->fd_out, a->off_out, a->len, 0);
}

static int splice_once(int fd_in, int64_t off_in, int fd_out, int64_t off_out, size_t len)
{
	struct splice_op a = {fd_in, fd_out, off_in, off_out, (unsigned)len};

	return weft__file_op(prep_splice, &a);
}

/*
 * Move up to @len bytes from @fd_in at *@off_in (-1: its current position) to @fd_out at
 * *@off_out (-1 likewise), through the loop's pipe. Offsets advance by what moved. Returns the
 * count moved, or a negative errno if nothing did. A chunk stuck in the pipe after a failed drain
 * is lost to the copy (the count says how far it got) and the pipe is discarded.
 */
static int64_t splice_copy(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out, uint64_t len)
{
	struct weft__file_pipe pipe, *p = &pipe;
	uint64_t done = 0;
	bool clean = true;
	int err;

	if ((err = weft__file_pipe_get(p)))
		return err;
	while (done < len && !err) {
		size_t want = len - done < p->cap ? (size_t)(len - done) : p->cap;
		int n = splice_once(fd_in, *off_in, p->w, -1, want);
		if (n <= 0) {
			err = n;
			break;
		}
		if (*off_in >= 0)
			*off_in += n;
		while (n > 0) {
			int m = splice_once(p->r, -1, fd_out, *off_out, (size_t)n);
			if (m <= 0) {
				err = m ? m : -EIO;
				clean = false;
				break;
			}
			n -= m;
			done += (uint64_t)m;
			if (*off_out >= 0)
				*off_out += m;
		}
	}
	weft__file_pipe_put(p, clean);
	return done ? (int64_t)done : err;
}

int64_t weft_file_copy(weft_file *out, weft_file *in, uint64_t len)
{
	int64_t off_in, off_out, r;
	int err;

	if (!out || !in)
		return -EINVAL;
	if ((err = file_check_loop(out)) || (err = file_check_loop(in)))
		return err;
	if (!weft__in_fiber())
		return -EPERM;
	off_in = in->seekable ? in->pos : -1;
	off_out = out->seekable ? out->pos : -1;
	r = splice_copy(in->fd, &off_in, out->fd, &off_out, len);
	if (in->seekable)
		in->pos = off_in;
	if (out->seekable)
		out->pos = off_out;
	return r;
}

int weft_file_copy_path(const char *from, const char *to, mode_t mode)
{
	weft_file *in, *out;
	int64_t r;
	int err;

	if ((err = weft_file_open(&in, from, O_RDONLY, 0)))
		return err;
	if ((err = weft_file_open(&out, to, O_WRONLY | O_CREAT | O_TRUNC, mode))) {
		weft_file_close(in);
		return err;
	}
	r = weft_file_copy(out, in, UINT64_MAX);
	/* Did it reach the end of @from? A partial copy means the next splice would fail. */
	if (r >= 0) {
		int64_t rest = weft_file_copy(out, in, UINT64_MAX);
		r = rest < 0 ? rest : 0;
	}
	err = (int)(r < 0 ? r : 0);
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
	int64_t off_out = -1;

	if (!file || sockfd < 0 || offset < 0)
		return -EINVAL;
	if (!weft__in_fiber())
		return -EPERM;
	return splice_copy(file->fd, &offset, sockfd, &off_out, len);
}

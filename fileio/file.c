/* SPDX-License-Identifier: MIT */
/*
 * Files: the op helpers every fileio call is built on, open/close, and the position. Reads are in
 * read.c, writes in write.c.
 */
#include <errno.h>
#include <unistd.h>

#include "weft/time.h"
#include "internal.h"

/* ---- the op helpers ------------------------------------------------------------------------ */

ssize_t weft__file_rw(weft_file *file, int opcode, const void *addr, unsigned len, int64_t off,
		      unsigned sqe_flags, unsigned buf_index)
{
	struct weft__op op;
	struct io_uring_sqe *sqe;
	int err = file_check_loop(file);

	if (err)
		return err;
	sqe = weft__op_start(&op);
	if (!sqe)
		return op.res;
	io_uring_prep_rw(opcode, sqe, 0, addr, len, file_off(file, off));
	file_sqe_target(file, sqe);
	sqe->flags |= (uint8_t)sqe_flags;
	sqe->buf_index = (uint16_t)buf_index;
	return weft__op_wait(&op, sqe);
}

int weft__file_op(void (*prep)(struct io_uring_sqe *sqe, void *arg), void *arg)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	prep(sqe, arg);
	return weft__op_wait(&op, sqe);
}

int weft__file_openat_fd(int dirfd, const char *path, int flags, mode_t mode)
{
	struct weft__op op;
	struct io_uring_sqe *sqe;

	if (!path)
		return -EINVAL;
	sqe = weft__op_start(&op);
	if (!sqe)
		return op.res;
	io_uring_prep_openat(sqe, dirfd, path, flags | O_CLOEXEC, mode);
	/* An open that beat a cancel returns its descriptor (as every op that completed does): the
	 * caller owns it, so nothing leaks. */
	return weft__op_wait(&op, sqe);
}

int weft__file_op_shielded(void (*prep)(struct io_uring_sqe *sqe, void *arg), void *arg)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start_shielded(&op);

	if (!sqe)
		return op.res;
	prep(sqe, arg);
	return weft__op_wait_shielded(&op, sqe);
}

static void prep_close(struct io_uring_sqe *sqe, void *arg)
{
	io_uring_prep_close(sqe, *(int *)arg);
}

/* A close must not be cut short (the descriptor would leak): it is shielded. */
int weft__file_close_fd(int fd)
{
	if (!weft__in_fiber())
		return weft__fd_close(fd);
	return weft__file_op_shielded(prep_close, &fd);
}

/* ---- open / close -------------------------------------------------------------------------- */

static int file_wrap(weft_file **filep, int fd, bool direct)
{
	weft_file *f = weft__new(weft_file);
	off_t pos;

	if (!f)
		return -ENOMEM;
	f->fd = fd;
	f->slot = -1;
	/* lseek never blocks; it tells seekable files from FIFOs and ttys (ESPIPE). */
	pos = lseek(fd, 0, SEEK_CUR);
	f->seekable = pos >= 0;
	f->pos = pos >= 0 ? pos : 0;
	f->direct = direct;
	*filep = f;
	return 0;
}

int weft_file_openat(weft_file **filep, int dirfd, const char *path, int flags, mode_t mode)
{
	int fd, err;

	if (!filep)
		return -EINVAL;
	fd = weft__file_openat_fd(dirfd, path, flags, mode);
	if (fd < 0)
		return fd;
	err = file_wrap(filep, fd, flags & O_DIRECT);
	if (err)
		weft__file_close_fd(fd);
	return err;
}

int weft_file_open(weft_file **filep, const char *path, int flags, mode_t mode)
{
	return weft_file_openat(filep, AT_FDCWD, path, flags, mode);
}

int weft_file_from_fd(weft_file **filep, int fd)
{
	int fl;

	if (!filep || fd < 0)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	return file_wrap(filep, fd, fl & O_DIRECT);
}

int weft_file_close(weft_file *file)
{
	int r;

	if (!file)
		return 0;
	if (file->slot >= 0 && file->reg != weft__loop())
		return -EXDEV; /* the table belongs to a loop running elsewhere: not ours to edit */
	if (file->slot >= 0)
		weft__file_unregister(file);
	r = weft__file_close_fd(file->fd);
	weft__delete(file);
	return r;
}

int weft_file_release(weft_file *file)
{
	int fd;

	if (!file)
		return -EINVAL;
	if (file->slot >= 0)
		return -EBUSY;
	fd = file->fd;
	weft__fd_forget(fd); /* yours now: weft keeps no state about it (nor its O_NONBLOCK) */
	weft__delete(file);
	return fd;
}

int weft_file_fd(const weft_file *file)
{
	return file ? file->fd : -EINVAL;
}

/* ---- position ------------------------------------------------------------------------------ */

int64_t weft_file_seek(weft_file *file, int64_t offset, int whence)
{
	int64_t base;

	if (!file)
		return -EINVAL;
	if (!file->seekable)
		return -ESPIPE;
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = file->pos;
		break;
	case SEEK_END:
		base = weft_file_size(file);
		if (base < 0)
			return base;
		break;
	default:
		return -EINVAL;
	}
	if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0)
		return -EINVAL;
	file->pos = base + offset;
	return file->pos;
}

int64_t weft_file_tell(const weft_file *file)
{
	return file ? file->pos : -EINVAL;
}

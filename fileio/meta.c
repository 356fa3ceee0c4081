/* SPDX-License-Identifier: MIT */
/* Durability and metadata: fsync, fallocate, ftruncate, statx; O_DIRECT alignment helpers. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft/executor.h"
#include "internal.h"

/* One op on @file prepared by @prep: the fd (or registered slot) is filled in afterwards. */
struct fd_op {
	weft_file *file;
	int mode;
	int64_t off, len;
	unsigned flags;
};

static int fd_op_run(struct fd_op *a, void (*prep)(struct io_uring_sqe *, void *))
{
	int err;

	if (!a->file)
		return -EINVAL;
	err = file_check_loop(a->file);
	return err ? err : weft__file_op(prep, a);
}

static void prep_fsync(struct io_uring_sqe *sqe, void *arg)
{
	struct fd_op *a = arg;

	io_uring_prep_fsync(sqe, 0, a->flags);
	file_sqe_target(a->file, sqe);
}

int weft_file_fsync(weft_file *file)
{
	struct fd_op a = {.file = file};

	return fd_op_run(&a, prep_fsync);
}

int weft_file_fdatasync(weft_file *file)
{
	struct fd_op a = {.file = file, .flags = IORING_FSYNC_DATASYNC};

	return fd_op_run(&a, prep_fsync);
}

static void prep_fallocate(struct io_uring_sqe *sqe, void *arg)
{
	struct fd_op *a = arg;

	io_uring_prep_fallocate(sqe, 0, a->mode, (off_t)a->off, (off_t)a->len);
	file_sqe_target(a->file, sqe);
}

int weft_file_fallocate(weft_file *file, int mode, int64_t offset, int64_t len)
{
	struct fd_op a = {.file = file, .mode = mode, .off = offset, .len = len};

	if (offset < 0 || len <= 0)
		return -EINVAL;
	return fd_op_run(&a, prep_fallocate);
}

/* IORING_OP_FTRUNCATE (6.9+): offset carries the length, as liburing's io_uring_prep_ftruncate. */
static void prep_ftruncate(struct io_uring_sqe *sqe, void *arg)
{
	struct fd_op *a = arg;

	io_uring_prep_rw(IORING_OP_FTRUNCATE_NR, sqe, 0, NULL, 0, (uint64_t)a->len);
	file_sqe_target(a->file, sqe);
}

static int ftruncate_job(void *arg)
{
	struct fd_op *a = arg;

	return ftruncate(a->file->fd, (off_t)a->len) ? -errno : 0;
}

int weft_file_ftruncate(weft_file *file, int64_t len)
{
	struct weft_loop *loop = weft_loop_current();
	struct fd_op a = {.file = file, .len = len};
	int err, res;

	if (!weft__in_fiber())
		return -EPERM;
	if (!file || len < 0)
		return -EINVAL;
	if (weft__loop_has_op(loop, IORING_OP_FTRUNCATE_NR))
		return fd_op_run(&a, prep_ftruncate);
	/* Older kernels: ftruncate(2) blocks on the file system's locks and journal, so it runs on
	 * the default thread pool with the fiber parked (the job reads only @a, on our stack,
	 * which weft_executor_default_run keeps alive until the job has ended). */
	err = weft_executor_default_run(ftruncate_job, &a, &res);
	return err ? err : res;
}

struct statx_op {
	weft_file *file;
	int dirfd;
	const char *path;
	int flags;
	unsigned mask;
	struct statx *stx;
};

static void prep_statx(struct io_uring_sqe *sqe, void *arg)
{
	struct statx_op *a = arg;

	io_uring_prep_statx(sqe, a->dirfd, a->path, a->flags, a->mask, a->stx);
}

static int statx_run(struct statx_op *a)
{
	return weft__file_op(prep_statx, a);
}

int weft_file_statx(weft_file *file, unsigned mask, struct statx *stx)
{
	/* STATX takes no fixed file: the real descriptor with an empty path. */
	struct statx_op a = {file, file ? file->fd : -1, "", AT_EMPTY_PATH, mask, stx};

	if (!file || !stx)
		return -EINVAL;
	return statx_run(&a);
}

int weft_file_statx_at(int dirfd, const char *path, int flags, unsigned mask, struct statx *stx)
{
	struct statx_op a = {NULL, dirfd, path, flags, mask, stx};

	if (!path || !stx)
		return -EINVAL;
	return statx_run(&a);
}

int64_t weft_file_size(weft_file *file)
{
	struct statx stx;
	int err = weft_file_statx(file, STATX_SIZE, &stx);

	return err ? err : (int64_t)stx.stx_size;
}

/* glibc 2.36's struct statx predates the O_DIRECT fields: the kernel's layout (linux/stat.h) puts
 * stx_dio_mem_align and stx_dio_offset_align at bytes 0x98 and 0x9c, inside glibc's padding. */
#ifndef STATX_DIOALIGN
#define STATX_DIOALIGN 0x00002000U
#endif
#define STX_DIO_MEM_AT 0x98
#define STX_DIO_OFF_AT 0x9c

int weft_file_dio_align(weft_file *file, unsigned *mem, unsigned *offset)
{
	struct statx stx;
	uint32_t m, o;
	int err = weft_file_statx(file, STATX_DIOALIGN, &stx);

	if (err)
		return err;
	memcpy(&m, (const char *)&stx + STX_DIO_MEM_AT, sizeof(m));
	memcpy(&o, (const char *)&stx + STX_DIO_OFF_AT, sizeof(o));
	if (!(stx.stx_mask & STATX_DIOALIGN) || !m)
		return -EOPNOTSUPP;
	if (mem)
		*mem = m;
	if (offset)
		*offset = o;
	return 0;
}

void *weft_file_aligned_alloc(size_t size, size_t align)
{
	void *p;

	if (!align)
		align = 4096;
	if (align & (align - 1) || align < sizeof(void *))
		return NULL;
	/* posix_memalign, so the caller releases it with plain free(). */
	return posix_memalign(&p, align, size ? size : 1) ? NULL : p;
}

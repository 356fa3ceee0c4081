/* SPDX-License-Identifier: MIT */
/* Path operations: one op each. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weft/time.h"
#include "internal.h"

/* The arguments of every *at op; @prep picks the ones it needs. */
struct path_op {
	int dfd1, dfd2;
	const char *p1, *p2;
	int flags;
	mode_t mode;
};

static void prep_rename(struct io_uring_sqe *sqe, void *arg)
{
	struct path_op *a = arg;

	io_uring_prep_renameat(sqe, a->dfd1, a->p1, a->dfd2, a->p2, (unsigned)a->flags);
}

static void prep_unlink(struct io_uring_sqe *sqe, void *arg)
{
	struct path_op *a = arg;

	io_uring_prep_unlinkat(sqe, a->dfd1, a->p1, a->flags);
}

static void prep_mkdir(struct io_uring_sqe *sqe, void *arg)
{
	struct path_op *a = arg;

	io_uring_prep_mkdirat(sqe, a->dfd1, a->p1, a->mode);
}

static void prep_link(struct io_uring_sqe *sqe, void *arg)
{
	struct path_op *a = arg;

	io_uring_prep_linkat(sqe, a->dfd1, a->p1, a->dfd2, a->p2, a->flags);
}

static void prep_symlink(struct io_uring_sqe *sqe, void *arg)
{
	struct path_op *a = arg;

	io_uring_prep_symlinkat(sqe, a->p1, a->dfd2, a->p2);
}

static int path_run(void (*prep)(struct io_uring_sqe *, void *), struct path_op a)
{
	if (!a.p1 || (prep != prep_unlink && prep != prep_mkdir && !a.p2))
		return -EINVAL;
	return weft__file_op(prep, &a);
}

int weft_file_renameat(int fromdir, const char *from, int todir, const char *to, unsigned flags)
{
	return path_run(prep_rename, (struct path_op){fromdir, todir, from, to, (int)flags, 0});
}

int weft_file_rename(const char *from, const char *to)
{
	return weft_file_renameat(AT_FDCWD, from, AT_FDCWD, to, 0);
}

int weft_file_unlinkat(int dirfd, const char *path, int flags)
{
	return path_run(prep_unlink, (struct path_op){dirfd, 0, path, NULL, flags, 0});
}

int weft_file_unlink(const char *path)
{
	return weft_file_unlinkat(AT_FDCWD, path, 0);
}

int weft_file_rmdir(const char *path)
{
	return weft_file_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

int weft_file_mkdirat(int dirfd, const char *path, mode_t mode)
{
	return path_run(prep_mkdir, (struct path_op){dirfd, 0, path, NULL, 0, mode});
}

int weft_file_mkdir(const char *path, mode_t mode)
{
	return weft_file_mkdirat(AT_FDCWD, path, mode);
}

int weft_file_linkat(int fromdir, const char *from, int todir, const char *to, int flags)
{
	return path_run(prep_link, (struct path_op){fromdir, todir, from, to, flags, 0});
}

int weft_file_link(const char *from, const char *to)
{
	return weft_file_linkat(AT_FDCWD, from, AT_FDCWD, to, 0);
}

int weft_file_symlinkat(const char *target, int dirfd, const char *linkpath)
{
	return path_run(prep_symlink, (struct path_op){0, dirfd, target, linkpath, 0, 0});
}

int weft_file_symlink(const char *target, const char *linkpath)
{
	return weft_file_symlinkat(target, AT_FDCWD, linkpath);
}

int weft__file_unlink_shielded(const char *path)
{
	struct path_op a = {AT_FDCWD, 0, path, NULL, 0, 0};

	return weft__file_op_shielded(prep_unlink, &a);
}

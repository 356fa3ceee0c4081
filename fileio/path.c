/* SPDX-License-Identifier: MIT */
/* Path operations (one op each) and the atomic replace built from them. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weft/time.h"
#include "internal.h"

void (*weft__file_replace_hook)(int step);
bool weft__file_replace_no_tmpfile;

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

/* ---- atomic replace ------------------------------------------------------------------------ */

struct replace {
	const char *path;
	char dir[PATH_MAX];
	const char *base;
	char tmp[PATH_MAX]; /* the temp's name, once it has one */
	int fd;
	bool named;
};

static void hook(int step)
{
	if (weft__file_replace_hook)
		weft__file_replace_hook(step);
}

static int split_path(struct replace *r)
{
	const char *slash = strrchr(r->path, '/');
	size_t dlen;

	if (!slash) {
		strcpy(r->dir, ".");
		r->base = r->path;
	} else {
		dlen = slash == r->path ? 1 : (size_t)(slash - r->path);
		if (dlen >= sizeof(r->dir))
			return -ENAMETOOLONG;
		memcpy(r->dir, r->path, dlen);
		r->dir[dlen] = 0;
		r->base = slash + 1;
	}
	return *r->base ? 0 : -EISDIR;
}

/* A fresh ".<base>.<random>.tmp" beside the target. */
static int tmp_name(struct replace *r, unsigned attempt)
{
	static __thread unsigned counter;
	unsigned long long x = (unsigned long long)weft_now() ^
			       ((unsigned long long)getpid() << 32) ^ (++counter * 0x9e3779b9ull) ^
			       attempt;
	int n = snprintf(r->tmp, sizeof(r->tmp), "%s/.%s.%08llx.tmp", r->dir, r->base,
			 x & 0xffffffffull);

	return n < 0 || (size_t)n >= sizeof(r->tmp) ? -ENAMETOOLONG : 0;
}

#define NAME_ATTEMPTS 16

/* Create the temp file: unnamed if the file system can (nothing to leave behind until it is
 * linked), else named with O_EXCL. */
static int create_tmp(struct replace *r, mode_t mode)
{
	int err = -EEXIST;

	if (!weft__file_replace_no_tmpfile) {
		r->fd = weft__file_openat_fd(AT_FDCWD, r->dir, O_TMPFILE | O_WRONLY, mode);
		if (r->fd >= 0)
			return 0;
		/* EOPNOTSUPP/EISDIR/EINVAL: no O_TMPFILE here; anything else is a real error. */
		if (r->fd != -EOPNOTSUPP && r->fd != -EISDIR && r->fd != -EINVAL)
			return r->fd;
	}
	for (unsigned i = 0; i < NAME_ATTEMPTS && err == -EEXIST; i++) {
		if ((err = tmp_name(r, i)))
			return err;
		r->fd = weft__file_openat_fd(AT_FDCWD, r->tmp, O_CREAT | O_EXCL | O_WRONLY, mode);
		err = r->fd < 0 ? r->fd : 0;
	}
	r->named = !err;
	return err;
}

/* Give the unnamed temp a name through /proc/self/fd (AT_EMPTY_PATH would need
 * CAP_DAC_READ_SEARCH). */
static int link_tmp(struct replace *r)
{
	char proc[64];
	int err = -EEXIST;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", r->fd);
	for (unsigned i = 0; i < NAME_ATTEMPTS && err == -EEXIST; i++) {
		if ((err = tmp_name(r, i)))
			return err;
		err = weft_file_linkat(AT_FDCWD, proc, AT_FDCWD, r->tmp, AT_SYMLINK_FOLLOW);
	}
	r->named = !err;
	return err;
}

static int sync_dir(const char *dir)
{
	int fd = weft__file_openat_fd(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY, 0);
	int err, cerr;
	weft_file f = {.fd = fd, .slot = -1};

	if (fd < 0)
		return fd;
	err = weft_file_fsync(&f);
	cerr = weft__file_close_fd(fd);
	return err ? err : cerr;
}

static int replace_steps(struct replace *r, const void *buf, size_t len, mode_t mode)
{
	weft_file f = {.slot = -1, .seekable = true};
	bool unnamed;
	int err;

	if ((err = create_tmp(r, mode)))
		return err;
	unnamed = !r->named;
	f.fd = r->fd;
	hook(WEFT__REPLACE_CREATED);
	if ((err = (int)weft_file_pwrite_all(&f, buf, len, 0, NULL)) < 0)
		return err;
	hook(WEFT__REPLACE_WRITTEN);
	if ((err = weft_file_fsync(&f)))
		return err;
	hook(WEFT__REPLACE_SYNCED);
	if (unnamed) {
		if ((err = link_tmp(r)))
			return err;
		hook(WEFT__REPLACE_LINKED);
	}
	err = weft__file_close_fd(r->fd);
	r->fd = -1;
	if (err)
		return err;
	if ((err = weft_file_rename(r->tmp, r->path)))
		return err;
	r->named = false; /* the temp name is gone: nothing to clean up from here on */
	hook(WEFT__REPLACE_RENAMED);
	err = sync_dir(r->dir);
	hook(WEFT__REPLACE_DIR_SYNCED);
	return err;
}

int weft_file_replace_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	struct replace r = {.path = path, .fd = -1};
	int err;

	if (!path || (!buf && len))
		return -EINVAL;
	if (!weft__in_fiber())
		return -EPERM;
	if ((err = split_path(&r)))
		return err;
	err = replace_steps(&r, buf, len, mode);
	if (r.fd >= 0)
		weft__file_close_fd(r.fd);
	/* The clean-up runs even for a cancelled or timed-out caller (uninterruptible ops). */
	if (err && r.named)
		weft__file_unlink_shielded(r.tmp);
	return err;
}

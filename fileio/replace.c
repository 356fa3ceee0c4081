/* SPDX-License-Identifier: MIT */
/*
 * The atomic replace: a temporary file beside the target, written by the caller (a buffer, a
 * copy from another file, or any weft_file call between begin and commit), made durable as the
 * flags ask, renamed over the target. Every step is an op; the clean-up of a failed or
 * abandoned replace runs even for a cancelled caller.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weft/time.h"
#include "internal.h"

void (*weft__file_replace_hook)(int step);
bool weft__file_replace_no_tmpfile;

struct weft_file_replace {
	weft_file file;	  /* the temp file, written through by the caller */
	unsigned sync;	  /* WEFT_REPLACE_SYNC_* */
	bool named;	  /* the temp has the name @tmp (to remove if the replace fails) */
	const char *base; /* the target's last component, in @path */
	char path[PATH_MAX];
	char dir[PATH_MAX];
	char tmp[PATH_MAX];
};

static void hook(int step)
{
	if (weft__file_replace_hook)
		weft__file_replace_hook(step);
}

static int split_path(struct weft_file_replace *r, const char *path)
{
	const char *slash;
	size_t dlen, plen = strlen(path);

	if (plen >= sizeof(r->path))
		return -ENAMETOOLONG;
	memcpy(r->path, path, plen + 1);
	slash = strrchr(r->path, '/');
	if (!slash) {
		strcpy(r->dir, ".");
		r->base = r->path;
	} else {
		dlen = slash == r->path ? 1 : (size_t)(slash - r->path);
		memcpy(r->dir, r->path, dlen);
		r->dir[dlen] = 0;
		r->base = slash + 1;
	}
	return *r->base ? 0 : -EISDIR;
}

/* A fresh ".<base>.<random>.tmp" beside the target. */
static int tmp_name(struct weft_file_replace *r, unsigned attempt)
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
static int create_tmp(struct weft_file_replace *r, mode_t mode)
{
	int err = -EEXIST, fd;

	if (!weft__file_replace_no_tmpfile) {
		fd = weft__file_openat_fd(AT_FDCWD, r->dir, O_TMPFILE | O_WRONLY, mode);
		if (fd >= 0)
			return r->file.fd = fd, 0;
		/* EOPNOTSUPP/EISDIR/EINVAL: no O_TMPFILE here; anything else is a real error. */
		if (fd != -EOPNOTSUPP && fd != -EISDIR && fd != -EINVAL)
			return fd;
	}
	for (unsigned i = 0; i < NAME_ATTEMPTS && err == -EEXIST; i++) {
		if ((err = tmp_name(r, i)))
			return err;
		fd = weft__file_openat_fd(AT_FDCWD, r->tmp, O_CREAT | O_EXCL | O_WRONLY, mode);
		err = fd < 0 ? fd : 0;
	}
	if (err)
		return err;
	r->file.fd = fd;
	r->named = true;
	return 0;
}

/* Give the unnamed temp a name through /proc/self/fd (AT_EMPTY_PATH would need
 * CAP_DAC_READ_SEARCH). */
static int link_tmp(struct weft_file_replace *r)
{
	char proc[64];
	int err = -EEXIST;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", r->file.fd);
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

/* Close what is open, remove a temp name left behind (even for a cancelled caller: the ops are
 * uninterruptible), free. Returns @err. */
static int finish(struct weft_file_replace *r, int err)
{
	if (r->file.fd >= 0)
		weft__file_close_fd(r->file.fd);
	if (r->named)
		weft__file_unlink_shielded(r->tmp);
	weft__delete(r);
	return err;
}

int weft_file_replace_begin(weft_file_replace **repp, const char *path, mode_t mode, unsigned flags)
{
	struct weft_file_replace *r;
	int err;

	if (!repp || !path || flags > WEFT_REPLACE_SYNC_NONE)
		return -EINVAL;
	if (!weft__in_fiber())
		return -EPERM;
	r = weft__new(struct weft_file_replace);
	if (!r)
		return -ENOMEM;
	r->file = (weft_file){.fd = -1, .slot = -1, .seekable = true};
	r->sync = flags;
	if ((err = split_path(r, path)) || (err = create_tmp(r, mode)))
		return finish(r, err);
	hook(WEFT__REPLACE_CREATED);
	*repp = r;
	return 0;
}

weft_file *weft_file_replace_file(weft_file_replace *r)
{
	return r ? &r->file : NULL;
}

/* From the written temp to the renamed target, made as durable as r->sync says. */
static int commit_steps(struct weft_file_replace *r)
{
	int err;

	hook(WEFT__REPLACE_WRITTEN);
	if (r->sync != WEFT_REPLACE_SYNC_NONE) {
		if ((err = weft_file_fsync(&r->file)))
			return err;
		hook(WEFT__REPLACE_SYNCED);
	}
	if (!r->named) {
		if ((err = link_tmp(r)))
			return err;
		hook(WEFT__REPLACE_LINKED);
	}
	err = weft__file_close_fd(r->file.fd);
	r->file.fd = -1;
	if (err)
		return err;
	if ((err = weft_file_rename(r->tmp, r->path)))
		return err;
	r->named = false; /* the temp name is gone: nothing to clean up from here on */
	hook(WEFT__REPLACE_RENAMED);
	if (r->sync != WEFT_REPLACE_SYNC_ALL)
		return 0;
	err = sync_dir(r->dir);
	hook(WEFT__REPLACE_DIR_SYNCED);
	return err;
}

int weft_file_replace_commit(weft_file_replace *r)
{
	if (!r)
		return -EINVAL;
	if (!weft__in_fiber())
		return -EPERM;
	return finish(r, commit_steps(r));
}

void weft_file_replace_abort(weft_file_replace *r)
{
	if (r)
		finish(r, 0);
}

int weft_file_replace_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	weft_file_replace *r;
	ssize_t n;
	int err;

	if (!buf && len)
		return -EINVAL;
	if ((err = weft_file_replace_begin(&r, path, mode, WEFT_REPLACE_SYNC_ALL)))
		return err;
	if ((n = weft_file_pwrite(&r->file, buf, len, 0, NULL)) < 0)
		return finish(r, (int)n);
	return weft_file_replace_commit(r);
}

/* What one read through user memory takes: a small file (the common case: configs, a tree of
 * sources) is then one read and one write, where a splice costs a pipe and two io-wq trips. */
#define COPY_SMALL (64 * 1024)

/* Copy @src from its position to its end into @out: the first COPY_SMALL bytes through a
 * buffer, the rest (if any) in the kernel. */
static int copy_in(weft_file *out, weft_file *src)
{
	char *buf = weft__alloc(COPY_SMALL);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = weft_file_read(src, buf, COPY_SMALL);
	if (n > 0)
		n = weft_file_write(out, buf, (size_t)n);
	weft__free(buf, COPY_SMALL);
	if (n < 0)
		return (int)n;
	return n < COPY_SMALL ? 0 : weft__file_copy_to_end(out, src);
}

int weft_file_replace_from(const char *path, weft_file *src, mode_t mode, unsigned flags)
{
	weft_file_replace *r;
	int err;

	if (!src)
		return -EINVAL;
	if ((err = weft_file_replace_begin(&r, path, mode, flags)))
		return err;
	if ((err = copy_in(&r->file, src)))
		return finish(r, err);
	return weft_file_replace_commit(r);
}

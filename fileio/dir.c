/* SPDX-License-Identifier: MIT */
/*
 * Directory listing that does not block the loop. io_uring has no getdents, and getdents64 on a
 * cold directory waits for the disk, so each batch is one getdents64 on weft's default thread
 * pool (as ftruncate on older kernels, meta.c) with the fiber parked; the entries of a batch are
 * then handed out one per call without any further system call.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weft/dir.h"
#include "weft/executor.h"
#include "internal.h"

/* One batch: a few hundred entries of ordinary names, one pool trip. */
#define DIR_BATCH (32 * 1024)

/* What getdents64(2) fills in; glibc declares no type for it. */
struct dirent64_rec {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

struct weft_dir {
	int fd;
	size_t pos, len; /* the batch's unread records: buf[pos, len) */
	bool eof;
	_Alignas(8) char buf[DIR_BATCH];
};

int weft_dir_openat(weft_dir **dirp, int dirfd, const char *path)
{
	weft_dir *d;
	int fd;

	if (!dirp || !path)
		return -EINVAL;
	if (!weft__in_fiber())
		return -EPERM;
	d = weft__new(weft_dir);
	if (!d)
		return -ENOMEM;
	fd = weft__file_openat_fd(dirfd, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		weft__delete(d);
		return fd;
	}
	d->fd = fd;
	*dirp = d;
	return 0;
}

int weft_dir_open(weft_dir **dirp, const char *path)
{
	return weft_dir_openat(dirp, AT_FDCWD, path);
}

static int getdents_job(void *arg)
{
	weft_dir *d = arg;
	long n = syscall(SYS_getdents64, d->fd, d->buf, sizeof(d->buf));

	return n < 0 ? -errno : (int)n;
}

/* Fetch the next batch on the pool. A cancel that finds the job already running waits for it;
 * its batch is kept (weft_executor_run stores the result) and handed out by the next calls, so no
 * entry is lost or repeated. */
static int refill(weft_dir *d)
{
	int res = INT_MIN, err = weft_executor_default_run(getdents_job, d, &res);

	if (res == INT_MIN) /* the job never ran */
		return err ? err : -EIO;
	if (res < 0)
		return res;
	d->pos = 0;
	d->len = (size_t)res;
	d->eof = res == 0;
	return err;
}

int weft_dir_next(weft_dir *d, struct weft_dirent *ent)
{
	const struct dirent64_rec *rec;
	int err;

	if (!d || !ent)
		return -EINVAL;
	/* Even a call the batch serves checks first, as every file call does. */
	err = weft__fiber_check(NULL);
	if (err)
		return err;
	for (;;) {
		if (d->pos == d->len) {
			if (d->eof)
				return 0;
			err = refill(d);
			if (err)
				return err;
			continue;
		}
		rec = (const struct dirent64_rec *)(d->buf + d->pos);
		d->pos += rec->d_reclen;
		if (!strcmp(rec->d_name, ".") || !strcmp(rec->d_name, ".."))
			continue;
		ent->name = rec->d_name;
		ent->ino = rec->d_ino;
		ent->type = rec->d_type;
		return 1;
	}
}

int weft_dir_fd(const weft_dir *d)
{
	return d ? d->fd : -EINVAL;
}

int weft_dir_close(weft_dir *d)
{
	int err;

	if (!d)
		return 0;
	err = weft__file_close_fd(d->fd);
	weft__delete(d);
	return err;
}

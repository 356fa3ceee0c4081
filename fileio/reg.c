/* SPDX-License-Identifier: MIT */
/*
 * Per-loop state (weft__loop_slot WEFT__SLOT_FILE): a sparse registered-file table created on
 * first use, a registered buffer set, the io-wq worker cap, and a cached pipe for splices.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "engine/alloc.h"
#include "internal.h"

#define TABLE_SLOTS 4096

struct file_state {
	struct weft__list files; /* registered weft_files: forgotten when the loop closes */
	int *free;		 /* stack of free slots */
	unsigned nfree;
	bool table;
	struct iovec *bufs;
	unsigned nbufs;
	struct weft__file_pipe pipe; /* reused by copies and sendfile: 4 syscalls fewer each */
	bool pipe_cached, pipe_busy;
};

static void state_destroy(struct weft_loop *loop, void *arg)
{
	struct file_state *st = arg;
	struct weft__list *pos, *tmp;

	/* Files still registered keep their descriptors and go on working unregistered (a file
	 * may outlive its loop): dropping the table only drops the ring's references. */
	weft__list_for_each_safe(pos, tmp, &st->files)
	{
		weft_file *f = weft__container_of(pos, weft_file, reg_link);
		weft__list_del(pos);
		f->slot = -1;
		f->reg = NULL;
	}
	if (st->table)
		io_uring_unregister_files(&loop->ring);
	if (st->bufs) {
		io_uring_unregister_buffers(&loop->ring);
		weft__delete_array(st->bufs, st->nbufs);
	}
	if (st->free)
		weft__delete_array(st->free, TABLE_SLOTS);
	if (st->pipe_cached) {
		close(st->pipe.r);
		close(st->pipe.w);
	}
	weft__delete(st);
}

static struct file_state *state_get(struct weft_loop *loop)
{
	struct file_state *st = weft__loop_slot(loop, WEFT__SLOT_FILE);

	if (!st) {
		st = weft__new(struct file_state);
		if (!st)
			return NULL;
		weft__list_init(&st->files);
		weft__loop_slot_set(loop, WEFT__SLOT_FILE, st, state_destroy);
	}
	return st;
}

static int table_init(struct weft_loop *loop, struct file_state *st)
{
	int r;

	st->free = weft__new_array(int, TABLE_SLOTS);
	if (!st->free)
		return -ENOMEM;
	r = io_uring_register_files_sparse(&loop->ring, TABLE_SLOTS);
	if (r < 0) {
		/* -EBUSY: another module registered the ring's (single) file table. */
		weft__delete_array(st->free, TABLE_SLOTS);
		st->free = NULL;
		return r;
	}
	for (unsigned i = 0; i < TABLE_SLOTS; i++)
		st->free[i] = (int)(TABLE_SLOTS - 1 - i);
	st->nfree = TABLE_SLOTS;
	st->table = true;
	return 0;
}

int weft_file_register(weft_file *file)
{
	struct weft_loop *loop = weft__loop();
	struct file_state *st;
	int slot, r;

	if (!loop || !loop->current)
		return -EPERM;
	if (!file)
		return -EINVAL;
	if (file->slot >= 0)
		return -EBUSY;
	st = state_get(loop);
	if (!st)
		return -ENOMEM;
	if (!st->table && (r = table_init(loop, st)))
		return r;
	if (!st->nfree)
		return -ENFILE;
	slot = st->free[--st->nfree];
	r = io_uring_register_files_update(&loop->ring, (unsigned)slot, &file->fd, 1);
	if (r < 0) {
		st->free[st->nfree++] = slot;
		return r;
	}
	file->slot = slot;
	file->reg = loop;
	weft__list_add_tail(&st->files, &file->reg_link);
	return 0;
}

void weft__file_unregister(weft_file *file)
{
	struct file_state *st = weft__loop_slot(file->reg, WEFT__SLOT_FILE);
	int none = -1;

	io_uring_register_files_update(&file->reg->ring, (unsigned)file->slot, &none, 1);
	st->free[st->nfree++] = file->slot;
	weft__list_del(&file->reg_link);
	file->slot = -1;
	file->reg = NULL;
}

int weft_file_unregister(weft_file *file)
{
	if (!file || file->slot < 0)
		return -EINVAL;
	if (file->reg != weft__loop())
		return -EXDEV;
	weft__file_unregister(file);
	return 0;
}

int weft_file_buffers_register(const struct iovec *iov, unsigned n)
{
	struct weft_loop *loop = weft__loop();
	struct file_state *st;
	int r;

	if (!loop || !loop->current)
		return -EPERM;
	if (!iov || !n)
		return -EINVAL;
	st = state_get(loop);
	if (!st)
		return -ENOMEM;
	if (st->bufs)
		return -EBUSY;
	st->bufs = weft__new_array(struct iovec, n);
	if (!st->bufs)
		return -ENOMEM;
	r = io_uring_register_buffers(&loop->ring, iov, n);
	if (r < 0) {
		weft__delete_array(st->bufs, n);
		st->bufs = NULL;
		return r;
	}
	memcpy(st->bufs, iov, n * sizeof(*iov));
	st->nbufs = n;
	return 0;
}

int weft_file_buffers_unregister(void)
{
	struct weft_loop *loop = weft__loop();
	struct file_state *st;

	if (!loop || !loop->current)
		return -EPERM;
	st = weft__loop_slot(loop, WEFT__SLOT_FILE);
	if (!st || !st->bufs)
		return -EINVAL;
	io_uring_unregister_buffers(&loop->ring);
	weft__delete_array(st->bufs, st->nbufs);
	st->bufs = NULL;
	st->nbufs = 0;
	return 0;
}

/* -EFAULT unless [@buf, @buf + @len) lies inside registered buffer @index of this loop. */
static int fixed_check(unsigned index, const void *buf, size_t len)
{
	struct weft_loop *loop = weft__loop();
	struct file_state *st = loop ? weft__loop_slot(loop, WEFT__SLOT_FILE) : NULL;
	const char *b, *p = buf;

	if (!loop || !loop->current)
		return -EPERM;
	if (!st || index >= st->nbufs)
		return -EINVAL;
	b = st->bufs[index].iov_base;
	if (p < b || len > st->bufs[index].iov_len ||
	    (size_t)(p - b) > st->bufs[index].iov_len - len)
		return -EFAULT;
	return 0;
}

ssize_t weft_file_pread_fixed(weft_file *file, void *buf, size_t len, int64_t offset,
			      unsigned index)
{
	int err;

	if (!file || (offset < 0 && file->seekable) || len > FILE_RW_MAX)
		return -EINVAL;
	if ((err = fixed_check(index, buf, len)))
		return err;
	return weft__file_rw(file, IORING_OP_READ_FIXED, buf, (unsigned)len, offset, 0, index);
}

ssize_t weft_file_pwrite_fixed(weft_file *file, const void *buf, size_t len, int64_t offset,
			       unsigned index)
{
	int err;

	if (!file || (offset < 0 && file->seekable) || len > FILE_RW_MAX)
		return -EINVAL;
	if ((err = fixed_check(index, buf, len)))
		return err;
	return weft__file_rw(file, IORING_OP_WRITE_FIXED, buf, (unsigned)len, offset, 0, index);
}

int weft_file_max_workers(unsigned *bounded, unsigned *unbounded)
{
	struct weft_loop *loop = weft__loop();
	unsigned vals[2] = {bounded ? *bounded : 0, unbounded ? *unbounded : 0};
	int r;

	if (!loop || !loop->current)
		return -EPERM;
	r = io_uring_register_iowq_max_workers(&loop->ring, vals);
	if (r < 0)
		return r;
	if (bounded)
		*bounded = vals[0];
	if (unbounded)
		*unbounded = vals[1];
	return 0;
}

/* ---- the splice pipe ------------------------------------------------------------------------ */

#define PIPE_WANT (1024 * 1024) /* a bigger pipe halves the op count; 64 KiB if refused */

static int pipe_open(struct weft__file_pipe *p)
{
	int fds[2], sz;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	p->r = fds[0];
	p->w = fds[1];
	sz = fcntl(p->w, F_SETPIPE_SZ, PIPE_WANT);
	if (sz < 0)
		sz = fcntl(p->w, F_GETPIPE_SZ);
	p->cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

int weft__file_pipe_get(struct weft__file_pipe *p)
{
	struct weft_loop *loop = weft__loop();
	struct file_state *st = loop ? state_get(loop) : NULL;
	int err;

	if (st && st->pipe_cached && !st->pipe_busy) {
		*p = st->pipe;
		st->pipe_busy = true;
		return 0;
	}
	if ((err = pipe_open(p)))
		return err;
	if (st && !st->pipe_cached) {
		st->pipe = *p;
		st->pipe_cached = st->pipe_busy = true;
	}
	return 0;
}

void weft__file_pipe_put(struct weft__file_pipe *p, bool clean)
{
	struct weft_loop *loop = weft__loop();
	struct file_state *st = loop ? weft__loop_slot(loop, WEFT__SLOT_FILE) : NULL;
	bool cached = st && st->pipe_cached && st->pipe.r == p->r;

	if (cached && clean) {
		st->pipe_busy = false;
		return;
	}
	if (cached) /* bytes stuck in it after a failed drain: never reuse */
		st->pipe_cached = st->pipe_busy = false;
	close(p->r);
	close(p->w);
}

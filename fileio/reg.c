/* SPDX-License-Identifier: MIT */
/*
 * Registered files and buffers, through the engine's tables (engine/module.h), and per-loop
 * state (a module slot): the files registered on the loop, forgotten when it closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const struct weft__slot_key file_key = {"fileio"};

struct file_state {
	struct weft__list files; /* registered weft_files: forgotten when the loop closes */
};

static void state_destroy(struct weft_loop *loop, void *arg)
{
	struct file_state *st = arg;
	struct weft__list *pos, *tmp;

	/* Files still registered keep their descriptors and go on working unregistered (a file
	 * may outlive its loop): the engine drops the table itself. */
	weft__list_for_each_safe(pos, tmp, &st->files)
	{
		weft_file *f = weft__container_of(pos, weft_file, reg_link);
		weft__list_del(pos);
		f->slot = -1;
		f->reg = NULL;
	}
	weft__delete(st);
}

static struct file_state *state_get(struct weft_loop *loop)
{
	struct file_state *st = weft__loop_slot(loop, &file_key);

	if (!st) {
		st = weft__new(struct file_state);
		if (!st)
			return NULL;
		weft__list_init(&st->files);
		if (weft__loop_slot_set(loop, &file_key, st, state_destroy)) {
			weft__delete(st);
			return NULL;
		}
	}
	return st;
}

int weft_file_register(weft_file *file)
{
	struct weft_loop *loop = weft_loop_current();
	struct file_state *st;
	int slot;

	if (!weft__in_fiber())
		return -EPERM;
	if (!file)
		return -EINVAL;
	if (file->slot >= 0)
		return -EBUSY;
	st = state_get(loop);
	if (!st)
		return -ENOMEM;
	slot = weft__files_add(loop, file->fd);
	if (slot < 0)
		return slot;
	file->slot = slot;
	file->reg = loop;
	weft__list_add_tail(&st->files, &file->reg_link);
	return 0;
}

void weft__file_unregister(weft_file *file)
{
	weft__files_remove(file->reg, file->slot);
	weft__list_del(&file->reg_link);
	file->slot = -1;
	file->reg = NULL;
}

int weft_file_unregister(weft_file *file)
{
	if (!file || file->slot < 0)
		return -EINVAL;
	if (file->reg != weft_loop_current())
		return -EXDEV;
	weft__file_unregister(file);
	return 0;
}

/* The fileio names of the loop's buffer and worker calls: the calling fiber's loop. */
int weft_file_buffers_register(const struct iovec *iov, unsigned n)
{
	if (!weft__in_fiber())
		return -EPERM;
	return weft_loop_buffers_register(weft_loop_current(), iov, n);
}

int weft_file_buffers_unregister(void)
{
	if (!weft__in_fiber())
		return -EPERM;
	return weft_loop_buffers_unregister(weft_loop_current());
}

int weft_file_max_workers(unsigned *bounded, unsigned *unbounded)
{
	if (!weft__in_fiber())
		return -EPERM;
	return weft_loop_max_workers(weft_loop_current(), bounded, unbounded);
}

/* -EFAULT unless [@buf, @buf + @len) lies inside registered buffer @index of this loop. */
static int fixed_check(unsigned index, const void *buf, size_t len)
{
	if (!weft__in_fiber())
		return -EPERM;
	return weft__buffers_check(weft_loop_current(), index, buf, len);
}

ssize_t weft_file_pread_fixed(weft_file *file, void *buf, size_t len, int64_t offset,
			      unsigned index)
{
	int err;

	if (!file || !file_range_ok(file, offset, len) || len > FILE_RW_MAX)
		return -EINVAL;
	if ((err = fixed_check(index, buf, len)))
		return err;
	return weft__file_rw(file, IORING_OP_READ_FIXED, buf, (unsigned)len, offset, 0, index);
}

ssize_t weft_file_pwrite_fixed_some(weft_file *file, const void *buf, size_t len, int64_t offset,
				    unsigned index)
{
	int err;

	if (!file || !file_range_ok(file, offset, len) || len > FILE_RW_MAX)
		return -EINVAL;
	if ((err = fixed_check(index, buf, len)))
		return err;
	return weft__file_rw(file, IORING_OP_WRITE_FIXED, buf, (unsigned)len, offset, 0, index);
}

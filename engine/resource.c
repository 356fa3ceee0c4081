/* SPDX-License-Identifier: MIT */
/* The loop's registered resources (resource.h) and their public calls (weft/loop.h). */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "backend.h"
#include "resource.h"

static int table_init(struct weft_loop *loop)
{
	int *fds = weft__new_array(int, WEFT__FILE_SLOTS);
	int *free = weft__new_array(int, WEFT__FILE_SLOTS);
	int r = fds && free ? loop->be->files_init(loop, WEFT__FILE_SLOTS) : -ENOMEM;

	if (r < 0) {
		weft__delete_array(fds, WEFT__FILE_SLOTS);
		weft__delete_array(free, WEFT__FILE_SLOTS);
		return r;
	}
	for (unsigned i = 0; i < WEFT__FILE_SLOTS; i++) {
		fds[i] = -1;
		free[i] = (int)(WEFT__FILE_SLOTS - 1 - i); /* slot 0 first */
	}
	loop->file_fds = fds;
	loop->file_free = free;
	loop->file_nfree = WEFT__FILE_SLOTS;
	loop->file_slots = WEFT__FILE_SLOTS;
	return 0;
}

int weft__files_add(struct weft_loop *loop, int fd)
{
	int slot, r;

	if (!loop->file_fds && (r = table_init(loop)))
		return r;
	if (!loop->file_nfree)
		return -ENFILE;
	slot = loop->file_free[--loop->file_nfree];
	r = loop->be->files_update(loop, (unsigned)slot, fd);
	if (r < 0) {
		loop->file_nfree++;
		return r;
	}
	loop->file_fds[slot] = fd;
	return slot;
}

void weft__files_remove(struct weft_loop *loop, int slot)
{
	loop->be->files_update(loop, (unsigned)slot, -1);
	loop->file_fds[slot] = -1;
	loop->file_free[loop->file_nfree++] = slot;
}

int weft__buffers_check(const struct weft_loop *loop, unsigned index, const void *buf, size_t len)
{
	const char *b, *p = buf;

	if (index >= loop->nbufs)
		return -EINVAL;
	b = loop->bufs[index].iov_base;
	if (p < b || len > loop->bufs[index].iov_len ||
	    (size_t)(p - b) > loop->bufs[index].iov_len - len)
		return -EFAULT;
	return 0;
}

static void buffers_drop(struct weft_loop *loop)
{
	loop->be->buffers_unregister(loop);
	weft__delete_array(loop->bufs, loop->nbufs);
	loop->bufs = NULL;
	loop->nbufs = 0;
}

void weft__resources_free(struct weft_loop *loop)
{
	if (loop->file_fds) {
		loop->be->files_exit(loop);
		weft__delete_array(loop->file_fds, WEFT__FILE_SLOTS);
		weft__delete_array(loop->file_free, WEFT__FILE_SLOTS);
		loop->file_fds = NULL;
	}
	if (loop->bufs)
		buffers_drop(loop);
}

/* ---- public calls ---------------------------------------------------------------------------- */

int weft_loop_buffers_register(weft_loop *loop, const struct iovec *iov, unsigned n)
{
	int r;

	if (!loop || !iov || !n || n > UIO_MAXIOV)
		return -EINVAL;
	if ((r = weft__loop_affine(loop, __func__)))
		return r;
	if (loop->bufs)
		return -EBUSY;
	loop->bufs = weft__new_array(struct iovec, n);
	if (!loop->bufs)
		return -ENOMEM;
	r = loop->be->buffers_register(loop, iov, n);
	if (r < 0) {
		weft__delete_array(loop->bufs, n);
		loop->bufs = NULL;
		return r;
	}
	memcpy(loop->bufs, iov, n * sizeof(*iov));
	loop->nbufs = n;
	return 0;
}

int weft_loop_buffers_unregister(weft_loop *loop)
{
	int r;

	if (!loop)
		return -EINVAL;
	if ((r = weft__loop_affine(loop, __func__)))
		return r;
	if (!loop->bufs)
		return -EINVAL;
	buffers_drop(loop);
	return 0;
}

int weft_loop_max_workers(weft_loop *loop, unsigned *bounded, unsigned *unbounded)
{
	unsigned vals[2] = {bounded ? *bounded : 0, unbounded ? *unbounded : 0};
	int r;

	if (!loop)
		return -EINVAL;
	if ((r = weft__loop_affine(loop, __func__)))
		return r;
	r = loop->be->max_workers(loop, vals);
	if (r < 0)
		return r;
	if (bounded)
		*bounded = vals[0];
	if (unbounded)
		*unbounded = vals[1];
	return 0;
}

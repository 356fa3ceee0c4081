/* SPDX-License-Identifier: MIT */
/*
 * The loop's registered resources (resource.c): the registered-file table, the registered
 * buffers and the kernel's worker cap. The engine owns them, so any module may take a file slot
 * (no module owns the ring's single table); each backend registers what it can (backend.h).
 */
#ifndef WEFT_ENGINE_RESOURCE_H
#define WEFT_ENGINE_RESOURCE_H

#include <stddef.h>
#include <sys/uio.h>

#include "loop.h"

#define WEFT__FILE_SLOTS 4096 /* the registered-file table's size, made on first use */

/* Put @fd in the calling loop's table: its slot (>= 0), -ENFILE (full), -ENOMEM, or the kernel's
 * refusal. Loop thread only. */
int weft__files_add(struct weft_loop *loop, int fd);
/* Release @slot. */
void weft__files_remove(struct weft_loop *loop, int slot);
/* The descriptor in @slot, or -EBADF. */
static inline int weft__files_fd(const struct weft_loop *loop, int slot)
{
	return slot >= 0 && (unsigned)slot < loop->file_slots && loop->file_fds
		   ? loop->file_fds[slot]
		   : -EBADF;
}
/* -EFAULT unless [@buf, @buf + @len) lies inside registered buffer @index of @loop; -EINVAL if
 * there is no such buffer. */
int weft__buffers_check(const struct weft_loop *loop, unsigned index, const void *buf, size_t len);
/* Free the table and the buffer set (weft_loop_close). */
void weft__resources_free(struct weft_loop *loop);

#endif

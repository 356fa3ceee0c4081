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
#include "module.h"

#define WEFT__FILE_SLOTS 4096 /* the registered-file table's size, made on first use */

/* The descriptor in @slot, or -EBADF. */
static inline int weft__files_fd(const struct weft_loop *loop, int slot)
{
	return slot >= 0 && (unsigned)slot < loop->file_slots && loop->file_fds
		   ? loop->file_fds[slot]
		   : -EBADF;
}
/* Free the table and the buffer set (weft_loop_close). */
void weft__resources_free(struct weft_loop *loop);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The one iovec sum, for every vectored call of the engine and the modules (through
 * engine/module.h).
 */
#ifndef WEFT_ENGINE_IOV_H
#define WEFT_ENGINE_IOV_H

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * The bytes in @iov[0 .. @iovcnt) into *@total; 0, or -EINVAL (and *@total untouched) for what
 * readv(2) and writev(2) refuse: a negative count or one over IOV_MAX, a NULL @iov with a
 * count, or lengths adding up past SSIZE_MAX. Checked entry by entry, so a sum that wrapped
 * cannot pass for a small one.
 */
static inline int weft__iov_total(const struct iovec *iov, int iovcnt, size_t *total)
{
	size_t sum = 0;

	if (iovcnt < 0 || iovcnt > IOV_MAX || (!iov && iovcnt))
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - sum)
			return -EINVAL;
		sum += iov[i].iov_len;
	}
	*total = sum;
	return 0;
}

#endif

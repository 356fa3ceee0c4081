/* SPDX-License-Identifier: MIT */
/*
 * Moving bytes from one descriptor to another in the kernel: file -> pipe -> file, socket or
 * pipe, each leg an IORING_OP_SPLICE through the op layer. The one implementation behind
 * weft_sock_sendfile (net/) and weft_file_copy / weft_file_sendfile (fileio/), through
 * engine/module.h.
 */
#ifndef WEFT_ENGINE_SPLICE_H
#define WEFT_ENGINE_SPLICE_H

#include <stdint.h>

/* @len for "until @fd_in ends". */
#define WEFT__SPLICE_TO_END UINT64_MAX

/*
 * weft__splice - move up to @len bytes from @fd_in to @fd_out without copying them through user
 * memory. @off_in / @off_out: where to read / write, or -1 for the descriptor's own position
 * (pipes, sockets, ttys; a file's position then advances as read(2)/write(2) would move it).
 * @len: the most to move; WEFT__SPLICE_TO_END until @fd_in reports its end; 0 moves nothing and
 * returns 0, as sendfile(2) and weft_file_copy / weft_file_sendfile do (weft_sock_sendfile
 * documents count 0 as "to the end" and passes WEFT__SPLICE_TO_END for it).
 *
 * Returns the bytes that reached @fd_out: @len, or fewer if @fd_in ended first. If an error, a
 * cancel or a deadline stops it part-way, the count is exactly what @fd_out took - bytes still in
 * the pipe are dropped with it (a source read at an offset resumes at @off_in + count; one read at
 * its own position has consumed them) - and the next call reports the error. A negative errno
 * if nothing reached @fd_out: -EPERM outside a fiber (even for @len 0), -ECANCELED, -ETIMEDOUT,
 * the kernel's (-EPIPE, -EBADF, -EINVAL for a descriptor that cannot splice ...), or pipe2's.
 *
 * The pipe is made for the call and closed before it returns, grown to hold the transfer (up to
 * 1 MiB) because each pipe-full costs two io-wq round trips: a 1 MiB send through the default
 * 64 KiB pipe took 3.4x as long. A pipe kept per loop would save what making one costs, ~7 us a
 * call (pipe2, two closes; measured on one pinned vCPU: 4 KiB file to /dev/null 9.4 us cached,
 * 16.5 us fresh; 8 MiB 175 vs 186 us). That wants per-loop state freed at loop close (a
 * module slot, engine/module.h); until then no pipe outlives a call, so none can leak or carry
 * bytes a failed drain left behind.
 */
int64_t weft__splice(int fd_in, int64_t off_in, int fd_out, int64_t off_out, uint64_t len);

#endif

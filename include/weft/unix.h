/* SPDX-License-Identifier: MIT */
/*
 * weft/unix.h - Unix sockets: stream, seqpacket and datagram, abstract names, socketpair, and
 * fd passing (SCM_RIGHTS). Part of the net module: the rules at the top of weft/net.h apply
 * (not thread-safe: -EXDEV from a thread that does not run the loop).
 */
#ifndef WEFT_UNIX_H
#define WEFT_UNIX_H

#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Unix sockets ---------------------------------------------------------------------- */

/*
 * weft_unix_connect - open a Unix socket of @type (SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM)
 * and connect it to @addr (a path or "@abstract" name). Returns 0, -ENOENT (no such path),
 * -ECONNREFUSED (nobody listens), -EINVAL (not a Unix address, bad type) ...
 */
WEFT_API int weft_unix_connect(weft_sock **sockp, const weft_sockaddr *addr, int type);

/*
 * weft_unix_listen - a Unix stream listener on @addr. A stale socket file at the path is removed
 * first (asyncio does the same) unless WEFT_LISTEN_NO_UNLINK; a file that is not a socket is
 * never removed (-EADDRINUSE). The file is not removed at close. Accept with weft_sock_accept.
 */
WEFT_API int weft_unix_listen(weft_sock **sockp, const weft_sockaddr *addr,
			      const struct weft_listen_opts *opts);

/*
 * weft_unix_dgram - a Unix datagram socket bound to @local and/or connected to @remote (either
 * may be NULL, both may be: an unnamed socket that can only send with weft_sock_sendto).
 * Returns 0 or a negative errno; nothing stays open on failure.
 */
WEFT_API int weft_unix_dgram(weft_sock **sockp, const weft_sockaddr *local,
			     const weft_sockaddr *remote);

/* weft_unix_socketpair - a connected pair of Unix sockets of @type. 0 or a negative errno. */
WEFT_API int weft_unix_socketpair(int type, weft_sock **a, weft_sock **b);

/* Most fds one message can carry through weft_unix_send_fds/_recv_fds. */
#define WEFT_UNIX_MAX_FDS 64

/*
 * weft_unix_send_fds - send @len bytes (at least 1: an fd needs a byte to travel with) and
 * @nfds fds (SCM_RIGHTS). The fds stay open here (the peer gets duplicates). Returns the bytes
 * sent (all of @len on a stream socket's first send; retry the rest without fds if short), or
 * -EINVAL (@len 0, @nfds > WEFT_UNIX_MAX_FDS), -EBADF (a bad fd) ... Must run in a fiber.
 */
WEFT_API ssize_t weft_unix_send_fds(weft_sock *sock, const void *buf, size_t len, const int *fds,
				    unsigned nfds);

/*
 * weft_unix_recv_fds - receive bytes into @buf and the fds that came with them (SCM_RIGHTS,
 * O_CLOEXEC set). *@nfds: in, the room in @fds (at most WEFT_UNIX_MAX_FDS is used); out, how
 * many were stored - they are yours to close. More fds than room: the kernel closes the extra
 * ones and WEFT_MSG_CTRUNC is reported as weft_sock_recvfrom() reports truncation (with @flags
 * NULL the call closes what it got and returns -EMSGSIZE). Returns the bytes received, 0 at EOF.
 */
WEFT_API ssize_t weft_unix_recv_fds(weft_sock *sock, void *buf, size_t len, int *fds,
				    unsigned *nfds, unsigned *flags);

#ifdef __cplusplus
}
#endif
#endif

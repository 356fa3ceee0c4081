/* SPDX-License-Identifier: MIT */
/*
 * weft/udp.h - UDP and datagram sockets (asyncio's create_datagram_endpoint): bind/connect,
 * sendto/recvfrom with addresses, truncation reported, multicast. Part of the net module: the
 * rules at the top of weft/net.h (errors, deadlines, where calls may run) apply: not thread-safe (-EXDEV from
 * a thread that does not run the loop).
 */
#ifndef WEFT_UDP_H
#define WEFT_UDP_H

#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- UDP and datagrams ----------------------------------------------------------------- */

/* Flags for weft_udp_open(). */
#define WEFT_UDP_REUSEADDR (1u << 0) /* SO_REUSEADDR (several receivers of one multicast port) */
#define WEFT_UDP_REUSEPORT (1u << 1) /* SO_REUSEPORT */
#define WEFT_UDP_BROADCAST (1u << 2) /* SO_BROADCAST */

/*
 * weft_udp_open - a UDP socket (asyncio.create_datagram_endpoint): bound to @local if not NULL
 * (port 0: the kernel picks), connected to @remote if not NULL (then weft_sock_send_some and
 * weft_sock_recv talk to it alone). At least one of them must be given; their families must
 * match. Returns 0, -EINVAL, -EADDRINUSE ... nothing stays open on failure.
 */
WEFT_API int weft_udp_open(weft_sock **sockp, const weft_sockaddr *local,
			   const weft_sockaddr *remote, unsigned flags);

/*
 * weft_sock_sendto - send one datagram of @len bytes to @to (NULL: the connected peer).
 * Returns @len (datagrams are not split), -EMSGSIZE (too big), -ECONNREFUSED (an earlier
 * datagram to a connected peer found no receiver), -EINVAL ... Must run in a fiber.
 */
WEFT_API ssize_t weft_sock_sendto(weft_sock *sock, const void *buf, size_t len,
				  const weft_sockaddr *to);

/* Bits weft_sock_recvfrom() and weft_unix_recv_fds() report in *flags. */
#define WEFT_MSG_TRUNC	(1u << 0) /* the datagram was longer than the buffer: the rest is lost */
#define WEFT_MSG_CTRUNC (1u << 1) /* more fds were sent than fitted: the kernel closed the rest */

/*
 * weft_sock_recvfrom - receive one datagram into @buf; @from (may be NULL) gets the sender.
 * Truncation: a datagram longer than @len is cut to @len (the rest is lost, as with recv(2)).
 * If @flags is not NULL it receives WEFT_MSG_TRUNC and the call returns @len; if @flags is NULL
 * the call returns -EMSGSIZE instead, so truncation is never silent.
 * Returns the bytes stored, or -EMSGSIZE, -ECONNREFUSED, -ETIMEDOUT, -ECANCELED ...
 */
WEFT_API ssize_t weft_sock_recvfrom(weft_sock *sock, void *buf, size_t len, weft_sockaddr *from,
				    unsigned *flags);

/*
 * weft_udp_multicast_join / _leave - join or leave multicast @group (an IPv4 or IPv6 address;
 * its port is ignored) on interface @ifindex (0: the kernel's choice by routing).
 * Returns 0, -EINVAL (not a multicast address, family mismatch), -ENODEV (no such interface or
 * no multicast route), -EADDRNOTAVAIL (leaving a group not joined).
 */
WEFT_API int weft_udp_multicast_join(weft_sock *sock, const weft_sockaddr *group, unsigned ifindex);
WEFT_API int weft_udp_multicast_leave(weft_sock *sock, const weft_sockaddr *group,
				      unsigned ifindex);

/* weft_udp_multicast_loop - whether our own multicast sends are looped back to us (default on). */
WEFT_API int weft_udp_multicast_loop(weft_sock *sock, bool on);

#ifdef __cplusplus
}
#endif
#endif

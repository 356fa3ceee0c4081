/* SPDX-License-Identifier: MIT */
/* Datagrams (UDP, Unix), addressed sends and receives, multicast, socketpairs, fd passing. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

/* A msghdr round trip through the ring: IORING_OP_SENDMSG or IORING_OP_RECVMSG. */
static ssize_t msg_op(weft_sock *sock, struct msghdr *msg, bool send)
{
	if (send)
		return weft__sock_io(sock, IORING_OP_SENDMSG, msg, 1, MSG_NOSIGNAL);
	return weft__sock_io(sock, IORING_OP_RECVMSG, msg, 1, MSG_CMSG_CLOEXEC);
}

static int dgram_setup(int fd, unsigned flags)
{
	int r = weft__set_reuse(fd, flags & WEFT_UDP_REUSEADDR, flags & WEFT_UDP_REUSEPORT);

	if (!r && flags & WEFT_UDP_BROADCAST)
		r = weft__sockopt_int(fd, SOL_SOCKET, SO_BROADCAST, 1);
	return r;
}

/* The family both (non-NULL) addresses share, or -EINVAL. */
static int common_family(const weft_sockaddr *a, const weft_sockaddr *b)
{
	if (!a && !b)
		return -EINVAL;
	if (a && b && a->sa.sa_family != b->sa.sa_family)
		return -EINVAL;
	return (a ? a : b)->sa.sa_family;
}

int weft_udp_open(weft_sock **sockp, const weft_sockaddr *local, const weft_sockaddr *remote,
		  unsigned flags)
{
	int family = common_family(local, remote);

	if ((family != AF_INET && family != AF_INET6) ||
	    (flags & ~(WEFT_UDP_REUSEADDR | WEFT_UDP_REUSEPORT | WEFT_UDP_BROADCAST)))
		return -EINVAL;
	return weft__sock_endpoint(sockp, family, SOCK_DGRAM, local, remote, dgram_setup, flags);
}

int weft_unix_dgram(weft_sock **sockp, const weft_sockaddr *local, const weft_sockaddr *remote)
{
	int family = local || remote ? common_family(local, remote) : AF_UNIX;

	if (family != AF_UNIX)
		return -EINVAL;
	return weft__sock_endpoint(sockp, AF_UNIX, SOCK_DGRAM, local, remote, NULL, 0);
}

int weft_unix_socketpair(int type, weft_sock **a, weft_sock **b)
{
	int sv[2], r;

	if (!a || !b)
		return -EINVAL;
	if (!weft_loop_current())
		return -EPERM;
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv))
		return -errno;
	r = weft__sock_new(a, sv[0], AF_UNIX, type, true);
	if (r) {
		close(sv[1]);
		return r;
	}
	r = weft__sock_new(b, sv[1], AF_UNIX, type, true);
	if (r)
		weft_sock_close(*a);
	return r;
}

ssize_t weft_sock_sendto(weft_sock *sock, const void *buf, size_t len, const weft_sockaddr *to)
{
	struct iovec iov = {(void *)buf, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (!buf && len)
		return -EINVAL;
	if (to) {
		if (!weft__addr_valid(to))
			return -EINVAL;
		msg.msg_name = (void *)&to->sa;
		msg.msg_namelen = to->len;
	}
	return msg_op(sock, &msg, true);
}

/* Truncation policy shared by recvfrom and recv_fds: reported in *@flags, or an error. */
static ssize_t trunc_result(ssize_t n, int msg_flags, unsigned *flags)
{
	unsigned f = (msg_flags & MSG_TRUNC ? WEFT_MSG_TRUNC : 0) |
		     (msg_flags & MSG_CTRUNC ? WEFT_MSG_CTRUNC : 0);

	if (flags)
		*flags = f;
	else if (f)
		return -EMSGSIZE;
	return n;
}

ssize_t weft_sock_recvfrom(weft_sock *sock, void *buf, size_t len, weft_sockaddr *from,
			   unsigned *flags)
{
	struct iovec iov = {buf, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (!buf && len)
		return -EINVAL; /* before parking, not -EFAULT once a datagram came */
	if (from) {
		msg.msg_name = &from->ss;
		msg.msg_namelen = sizeof(from->ss);
	}
	n = msg_op(sock, &msg, false);
	if (n < 0)
		return n;
	if (from)
		from->len = msg.msg_namelen;
	return trunc_result(n, msg.msg_flags, flags);
}

/* ---- fd passing -------------------------------------------------------------------------- */

union fd_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * WEFT_UNIX_MAX_FDS)];
};

ssize_t weft_unix_send_fds(weft_sock *sock, const void *buf, size_t len, const int *fds,
			   unsigned nfds)
{
	struct iovec iov = {(void *)buf, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	union fd_cmsg c;
	struct cmsghdr *cm;

	if (!len || !buf || nfds > WEFT_UNIX_MAX_FDS || (nfds && !fds))
		return -EINVAL;
	if (nfds) {
		memset(&c, 0, sizeof(c));
		msg.msg_control = c.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return msg_op(sock, &msg, true);
}

/* Move the fds of every SCM_RIGHTS message into @fds (closing any beyond @room). */
static unsigned take_fds(struct msghdr *msg, int *fds, unsigned room)
{
	unsigned got = 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (got < room)
				fds[got++] = fd;
			else
				close(fd);
		}
	}
	return got;
}

ssize_t weft_unix_recv_fds(weft_sock *sock, void *buf, size_t len, int *fds, unsigned *nfds,
			   unsigned *flags)
{
	struct iovec iov = {buf, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	unsigned room;
	union fd_cmsg c;
	ssize_t n;

	if (!nfds || (*nfds && !fds) || (!buf && len))
		return -EINVAL;
	room = *nfds < WEFT_UNIX_MAX_FDS ? *nfds : WEFT_UNIX_MAX_FDS;
	*nfds = 0;
	msg.msg_control = c.buf;
	/* Only room for what the caller can take: the kernel closes the rest and says CTRUNC. */
	msg.msg_controllen = room ? CMSG_SPACE(sizeof(int) * room) : 0;
	if (!room)
		msg.msg_control = NULL;
	n = msg_op(sock, &msg, false);
	if (n < 0)
		return n;
	*nfds = take_fds(&msg, fds, room);
	n = trunc_result(n, msg.msg_flags, flags);
	if (n < 0) {
		for (unsigned i = 0; i < *nfds; i++)
			close(fds[i]);
		*nfds = 0;
	}
	return n;
}

/* ---- multicast --------------------------------------------------------------------------- */

static int multicast(weft_sock *sock, const weft_sockaddr *group, unsigned ifindex, bool join)
{
	if (!sock || !group || group->sa.sa_family != sock->family)
		return -EINVAL;
	if (weft__sock_check(sock, join ? "weft_udp_multicast_join" : "weft_udp_multicast_leave"))
		return -EXDEV;
	if (group->sa.sa_family == AF_INET) {
		struct ip_mreqn m = {.imr_multiaddr = group->in.sin_addr,
				     .imr_ifindex = (int)ifindex};

		if (!IN_MULTICAST(ntohl(group->in.sin_addr.s_addr)))
			return -EINVAL;
		return setsockopt(sock->fd, IPPROTO_IP,
				  join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof(m))
			   ? -errno
			   : 0;
	}
	if (group->sa.sa_family == AF_INET6) {
		struct ipv6_mreq m = {.ipv6mr_multiaddr = group->in6.sin6_addr,
				      .ipv6mr_interface = ifindex};

		if (!IN6_IS_ADDR_MULTICAST(&group->in6.sin6_addr))
			return -EINVAL;
		return setsockopt(sock->fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP,
				  &m, sizeof(m))
			   ? -errno
			   : 0;
	}
	return -EINVAL;
}

int weft_udp_multicast_join(weft_sock *sock, const weft_sockaddr *group, unsigned ifindex)
{
	return multicast(sock, group, ifindex, true);
}

int weft_udp_multicast_leave(weft_sock *sock, const weft_sockaddr *group, unsigned ifindex)
{
	return multicast(sock, group, ifindex, false);
}

int weft_udp_multicast_loop(weft_sock *sock, bool on)
{
	if (!sock)
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	if (sock->family == AF_INET)
		return weft__sockopt_int(sock->fd, IPPROTO_IP, IP_MULTICAST_LOOP, on);
	if (sock->family == AF_INET6)
		return weft__sockopt_int(sock->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, on);
	return -EINVAL;
}

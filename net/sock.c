/* SPDX-License-Identifier: MIT */
/* Sockets: the weft_sock record, its life cycle and options, and connect. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "sock.h"

int weft__socket(int family, int type)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

int weft__sockopt_int(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value)) ? -errno : 0;
}

int weft__sock_new(weft_sock **sockp, int fd, int family, int type, bool close_on_fail)
{
	struct weft_loop *loop = weft_loop_current();
	weft_sock *s;

	if (!loop || !(s = weft__new(weft_sock))) {
		if (close_on_fail)
			close(fd);
		return loop ? -ENOMEM : -EPERM;
	}
	s->fd = fd;
	s->family = family;
	s->type = type;
	s->loop = loop;
	s->thread = pthread_self();
	*sockp = s;
	return 0;
}

int weft_sock_open(weft_sock **sockp, int family, int type, int protocol)
{
	int fd;

	if (!sockp)
		return -EINVAL;
	if (!weft_loop_current())
		return -EPERM;
	fd = socket(family, type | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	return weft__sock_new(sockp, fd, family, type & ~(SOCK_CLOEXEC | SOCK_NONBLOCK), true);
}

int weft_sock_wrap(weft_sock **sockp, int fd)
{
	int family, type;
	socklen_t len = sizeof(int);

	if (!sockp)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return errno == ENOTSOCK ? -EBADF : -errno;
	return weft__sock_new(sockp, fd, family, type, false);
}

int weft_sock_bind(weft_sock *sock, const weft_sockaddr *addr)
{
	if (!sock || !weft__addr_valid(addr))
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	return bind(sock->fd, &addr->sa, addr->len) ? -errno : 0;
}

int weft__set_reuse(int fd, bool addr, bool port)
{
	int r = addr ? weft__sockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) : 0;

	return !r && port ? weft__sockopt_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) : r;
}

int weft_sock_connect(weft_sock *sock, const weft_sockaddr *addr)
{
	struct weft__op op;
	struct io_uring_sqe *sqe;

	if (!sock || !weft__addr_valid(addr))
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	/* A datagram connect only sets the default peer: nothing to wait for. */
	if (sock->type == SOCK_DGRAM)
		return connect(sock->fd, &addr->sa, addr->len) ? -errno : 0;
	sqe = weft__op_start(&op);
	if (!sqe)
		return op.res;
	io_uring_prep_connect(sqe, sock->fd, &addr->sa, addr->len);
	return weft__op_wait(&op, sqe);
}

/* Open, set up, bind and connect as asked; on any failure close what was opened. */
int weft__sock_endpoint(weft_sock **sockp, int family, int type, const weft_sockaddr *local,
			const weft_sockaddr *remote, int (*setup)(int fd, unsigned flags),
			unsigned flags)
{
	weft_sock *s;
	int r;

	if (!sockp || (local && !weft__addr_valid(local)) || (remote && !weft__addr_valid(remote)))
		return -EINVAL;
	if (!weft_loop_current())
		return -EPERM;
	r = weft__socket(family, type);
	if (r < 0)
		return r;
	r = weft__sock_new(&s, r, family, type, true);
	if (r)
		return r;
	r = setup ? setup(s->fd, flags) : 0;
	if (!r && local)
		r = weft_sock_bind(s, local);
	if (!r && remote)
		r = weft_sock_connect(s, remote);
	if (r) {
		weft_sock_close(s);
		return r;
	}
	*sockp = s;
	return 0;
}

static int tcp_setup(int fd, unsigned flags)
{
	return weft__sockopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}

static bool is_ip(const weft_sockaddr *addr)
{
	return addr && (addr->sa.sa_family == AF_INET || addr->sa.sa_family == AF_INET6);
}

int weft_tcp_connect(weft_sock **sockp, const weft_sockaddr *addr)
{
	if (!is_ip(addr))
		return -EINVAL;
	return weft__sock_endpoint(sockp, addr->sa.sa_family, SOCK_STREAM, NULL, addr, tcp_setup,
				   0);
}

int weft_unix_connect(weft_sock **sockp, const weft_sockaddr *addr, int type)
{
	if (!addr || addr->sa.sa_family != AF_UNIX ||
	    (type != SOCK_STREAM && type != SOCK_SEQPACKET && type != SOCK_DGRAM))
		return -EINVAL;
	return weft__sock_endpoint(sockp, AF_UNIX, type, NULL, addr, NULL, 0);
}

/* ---- closing ---------------------------------------------------------------------------- */

/* The stream's close callback and the socket's own close end here: release everything. */
static int sock_release(weft_sock *s)
{
	int r = 0;

	if (s->acc)
		weft__acceptor_close(
		    s); /* takes over the fd and frees @s when the kernel is done */
	else {
		if (s->fd >= 0)
			r = weft__fd_close(s->fd);
		weft__delete(s);
	}
	return r;
}

int weft__sock_stream_closed(weft_sock *s)
{
	s->stream = NULL;
	return sock_release(s);
}

int weft_sock_close(weft_sock *sock)
{
	if (!sock)
		return 0;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	/* weft_stream_close flushes, then calls back weft__sock_stream_closed for the rest. */
	if (sock->stream)
		return weft_stream_close(sock->stream);
	return sock_release(sock);
}

int weft_sock_abort(weft_sock *sock)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	if (!sock)
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	if (sock->fd < 0)
		return 0;
	/* A listener's fd may be held by the kernel's accept op: only its close path knows. */
	if (sock->acc)
		return -EINVAL;
	setsockopt(sock->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	weft__fd_close(sock->fd);
	sock->fd = -1;
	return 0;
}

int weft_sock_shutdown(weft_sock *sock, int how)
{
	if (!sock)
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	return shutdown(sock->fd, how) ? -errno : 0;
}

int weft_sock_fd(const weft_sock *sock)
{
	if (sock && weft__sock_check(sock, __func__))
		return -EXDEV;
	return sock && sock->fd >= 0 ? sock->fd : -EBADF;
}

/* ---- addresses and options ------------------------------------------------------------- */

int weft_sock_local_addr(const weft_sock *sock, weft_sockaddr *addr)
{
	if (!sock || !addr)
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	addr->len = sizeof(addr->ss);
	return getsockname(sock->fd, &addr->sa, &addr->len) ? -errno : 0;
}

int weft_sock_peer_addr(const weft_sock *sock, weft_sockaddr *addr)
{
	if (!sock || !addr)
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	addr->len = sizeof(addr->ss);
	return getpeername(sock->fd, &addr->sa, &addr->len) ? -errno : 0;
}

int weft_sock_set_nodelay(weft_sock *sock, bool on)
{
	if (!sock)
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	return weft__sockopt_int(sock->fd, IPPROTO_TCP, TCP_NODELAY, on);
}

int weft_sock_set_keepalive(weft_sock *sock, bool on, int idle_s, int interval_s, int count)
{
	int r;

	if (!sock || idle_s < 0 || interval_s < 0 || count < 0)
		return -EINVAL;
	if (weft__sock_check(sock, __func__))
		return -EXDEV;
	r = weft__sockopt_int(sock->fd, SOL_SOCKET, SO_KEEPALIVE, on);
	if (!r && on && idle_s)
		r = weft__sockopt_int(sock->fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s);
	if (!r && on && interval_s)
		r = weft__sockopt_int(sock->fd, IPPROTO_TCP, TCP_KEEPINTVL, interval_s);
	if (!r && on && count)
		r = weft__sockopt_int(sock->fd, IPPROTO_TCP, TCP_KEEPCNT, count);
	return r;
}

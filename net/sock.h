/* SPDX-License-Identifier: MIT */
/* The socket record and the helpers net/'s files share. Private to net/. */
#ifndef WEFT_NET_SOCK_H
#define WEFT_NET_SOCK_H

#include <errno.h>
#include <sys/socket.h>

#include "weft/net.h"
#include "engine/module.h"

struct weft__acceptor;

struct weft_sock {
	int fd; /* -1 after weft_sock_abort */
	int family;
	int type;
	struct weft_loop *loop;
	pthread_t thread;	    /* the loop's thread (the socket may outlive the loop) */
	weft_stream *stream;	    /* made by weft_sock_stream, owned by the socket */
	struct weft__acceptor *acc; /* a listener's multishot accept state (accept.c) */
};

/* A weft_sock for @fd on the current loop (the fd is closed on failure if @close_on_fail). */
int weft__sock_new(weft_sock **sockp, int fd, int family, int type, bool close_on_fail);
/* socket(2) with SOCK_CLOEXEC, as a negative errno or the fd. */
int weft__socket(int family, int type);
/* One socket op through the ring for the calling fiber: @opcode (IORING_OP_RECV, SEND,
 * SENDMSG, RECVMSG) on @addr/@len (a buffer, or a msghdr with @len 1), msg_flags @flags.
 * Inline: it is the whole hot path of weft_sock_recv / weft_sock_send. */
static inline ssize_t weft__sock_io(weft_sock *sock, int opcode, const void *addr, unsigned len,
				    int flags)
{
	struct weft__op op;
	struct io_uring_sqe *sqe;

	if (!sock)
		return -EINVAL;
	sqe = weft__op_start_on(&op, sock->loop);
	if (!sqe)
		return op.res;
	io_uring_prep_rw(opcode, sqe, sock->fd, addr, len, 0);
	sqe->msg_flags = (unsigned)flags;
	return weft__op_wait(&op, sqe);
}
/* The entry check of the socket calls that do not block: -EXDEV from other threads and loops. */
static inline int weft__sock_check(const weft_sock *sock, const char *call)
{
	return weft__owner_check(sock->loop, sock->thread, call);
}
/* SO_REUSEADDR and/or SO_REUSEPORT, as 0 or a negative errno. */
int weft__set_reuse(int fd, bool addr, bool port);
/* setsockopt(2) of an int option, as 0 or a negative errno. */
int weft__sockopt_int(int fd, int level, int name, int value);
/* Open a socket of @addr's family and @type, apply @setup (may be NULL), bind to @local and/or
 * connect to @remote (either may be NULL). Nothing stays open on failure. */
int weft__sock_endpoint(weft_sock **sockp, int family, int type, const weft_sockaddr *local,
			const weft_sockaddr *remote, int (*setup)(int fd, unsigned flags),
			unsigned flags);
/* Listen on a bound socket and set up its accept state. */
int weft__sock_listen(weft_sock *sock, const struct weft_listen_opts *opts);
/* The accept state is torn down (accept.c); false if the socket must wait for the kernel. */
void weft__acceptor_close(weft_sock *sock);
/* The socket's stream is being closed by weft_stream_close: close and free the socket. */
int weft__sock_stream_closed(weft_sock *sock);
struct addrinfo;
/* getaddrinfo(3) as weft_addr_resolve calls it; tests may point it at a slow stand-in. */
extern int (*weft__getaddrinfo)(const char *, const char *, const struct addrinfo *,
				struct addrinfo **);
/* Whether @addr is a valid weft_sockaddr of one of the families we know. */
bool weft__addr_valid(const weft_sockaddr *addr);

#endif

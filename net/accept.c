/* SPDX-License-Identifier: MIT */
/*
 * Listening and accepting.
 *
 * A listener made by weft_tcp_listen / weft_unix_listen gets an acceptor: the first accept arms
 * one multishot IORING_OP_ACCEPT (the engine's multishot ops, engine/multishot.h: on the
 * readiness backend, accept4 each time the listener turns readable) whose completions (one per
 * connection) land in acceptor_cqe, outside any fiber. Each fd goes straight to the first fiber waiting in weft_sock_accept (hand-off at
 * wake time, engine/sync.h), or into a small queue the next accept takes from without entering
 * the kernel. When the queue reaches QUEUE_HIGH the multishot is cancelled (nobody is
 * accepting: let the kernel's backlog hold the rest) and the next accept that finds the queue
 * empty arms it again. Errors that end the multishot (EMFILE ...) go to the first waiter or, if
 * none, to the next accept.
 *
 * The kernel holds a reference to the listening socket while the multishot is armed, so closing
 * the fd is not enough to stop listening: the close path cancels the multishot and, from a
 * fiber, waits for its last CQE (so the port is free when weft_sock_close returns). From plain
 * code the acceptor is left behind as a zombie that its last CQE frees - or weft_loop_close,
 * which ends every multishot of the loop (acceptor_loop_closed).
 *
 * Kernels without multishot accept (before 5.19), and listeners opened with
 * WEFT_LISTEN_NO_MULTISHOT or wrapped with weft_sock_wrap, use one IORING_OP_ACCEPT per call.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sock.h"

#define QUEUE_INIT 16
#define QUEUE_HIGH 64 /* accepted but not taken: pause the multishot */

struct weft__acceptor {
	struct weft__multishot ms; /* ms.loop: NULL once the loop is closed */
	weft_sock *sock;	   /* NULL once closed: a zombie waiting for its last CQE */
	int *q;			   /* accepted fds not yet taken, a ring of qcap */
	unsigned qhead, qlen, qcap;
	int err;		   /* an error that ended the multishot while nobody waited */
	struct weft__list waiters; /* struct weft__sync_wait: fibers in weft_sock_accept */
};

static void acceptor_free(struct weft__acceptor *a)
{
	while (a->qlen) {
		close(a->q[a->qhead]);
		a->qhead = (a->qhead + 1) % a->qcap;
		a->qlen--;
	}
	weft__delete_array(a->q, a->qcap);
	weft__delete(a);
}

/* The loop is closing, every task has finished: the multishot is gone with the loop's backend.
 * Free a zombie; a live listener just learns it is no longer armed. */
static void acceptor_loop_closed(struct weft__multishot *m)
{
	struct weft__acceptor *a = weft__container_of(m, struct weft__acceptor, ms);

	if (!a->sock)
		acceptor_free(a);
}

static int queue_push(struct weft__acceptor *a, int fd)
{
	if (a->qlen == a->qcap) {
		unsigned cap = a->qcap * 2;
		int *q = weft__new_array(int, cap);

		if (!q)
			return -ENOMEM;
		for (unsigned i = 0; i < a->qlen; i++)
			q[i] = a->q[(a->qhead + i) % a->qcap];
		weft__delete_array(a->q, a->qcap);
		a->q = q;
		a->qcap = cap;
		a->qhead = 0;
	}
	a->q[(a->qhead + a->qlen) % a->qcap] = fd;
	a->qlen++;
	return 0;
}

static int queue_pop(struct weft__acceptor *a)
{
	int fd = a->q[a->qhead];

	a->qhead = (a->qhead + 1) % a->qcap;
	a->qlen--;
	return fd;
}

static void acceptor_arm(struct weft__acceptor *a)
{
	struct io_uring_sqe sqe;

	io_uring_prep_multishot_accept(&sqe, a->sock->fd, NULL, NULL, SOCK_CLOEXEC);
	weft__multishot_arm(&a->ms, &sqe);
}

/* A connection: to the first waiter, else to the queue (pausing the multishot when it fills). */
static void acceptor_deliver(struct weft__acceptor *a, int fd)
{
	if (!a->sock) {
		close(fd); /* a zombie's late arrival */
		return;
	}
	if (!weft__list_empty(&a->waiters)) {
		weft__sync_wake_first(&a->waiters, fd);
		return;
	}
	if (queue_push(a, fd))
		close(fd); /* no memory to hold it: the peer sees a reset */
	if (a->qlen >= QUEUE_HIGH)
		weft__multishot_cancel(&a->ms);
}

/* The multishot ended (our cancel, an error, or the kernel's own reasons). */
static void acceptor_ended(struct weft__acceptor *a)
{
	if (a->ms.closer)
		return; /* weft_sock_close is waiting for exactly this */
	if (!a->sock)
		acceptor_free(a);
	else if (!weft__list_empty(&a->waiters))
		acceptor_arm(a); /* e.g. the error went to one waiter: the others still wait */
}

static void acceptor_cqe(struct weft__multishot *m, int res, bool more)
{
	struct weft__acceptor *a = weft__container_of(m, struct weft__acceptor, ms);

	if (res >= 0)
		acceptor_deliver(a, res);
	else if (res != -ECANCELED && a->sock) {
		if (!weft__list_empty(&a->waiters))
			weft__sync_wake_first(&a->waiters, res);
		else if (!a->err)
			a->err = res;
	}
	if (!more)
		acceptor_ended(a);
}

/* Take a queued connection or a pending error, else wait for the multishot to deliver one. */
static int accept_multishot(struct weft__acceptor *a)
{
	struct weft__sync_wait sw;
	int r = weft__fiber_check(a->ms.loop);

	if (r)
		return r;
	if (a->qlen)
		return queue_pop(a);
	if (a->err) {
		r = a->err;
		a->err = 0;
		return r;
	}
	if (!a->ms.armed)
		acceptor_arm(a);
	return weft__multishot_park(&a->ms, &a->waiters, &sw, "accept");
}

static int accept_once(int fd)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_accept(sqe, fd, NULL, NULL, SOCK_CLOEXEC);
	return weft__op_wait(&op, sqe);
}

int weft_sock_accept(weft_sock *sock, weft_sock **connp, weft_sockaddr *peer)
{
	int fd, r;

	if (!sock || !connp)
		return -EINVAL;
	if (sock->acc && sock->acc->ms.loop)
		fd = accept_multishot(sock->acc);
	else
		fd = accept_once(sock->fd);
	if (fd < 0)
		return fd;
	if (peer) {
		peer->len = sizeof(peer->ss);
		if (getpeername(fd, &peer->sa, &peer->len))
			peer->len =
			    0; /* already reset by the peer: still a connection to hand out */
	}
	r = weft__sock_new(connp, fd, sock->family, sock->type, true);
	return r;
}

/* ---- listening and closing -------------------------------------------------------------- */

static int acceptor_new(weft_sock *s)
{
	struct weft__acceptor *a = weft__new(struct weft__acceptor);

	if (!a || !(a->q = weft__new_array(int, QUEUE_INIT))) {
		weft__delete(a);
		return -ENOMEM;
	}
	weft__multishot_init(&a->ms, s->loop, acceptor_cqe, acceptor_loop_closed);
	a->sock = s;
	a->qcap = QUEUE_INIT;
	weft__list_init(&a->waiters);
	s->acc = a;
	return 0;
}

int weft__sock_listen(weft_sock *s, const struct weft_listen_opts *opts)
{
	int backlog = opts && opts->backlog > 0 ? opts->backlog : SOMAXCONN;
	unsigned flags = opts ? opts->flags : 0;

	if (weft__reserved_bad(opts))
		return -EINVAL;
	if (listen(s->fd, backlog))
		return -errno;
	if (flags & WEFT_LISTEN_NO_MULTISHOT ||
	    !weft__multishot_supported(s->loop, IORING_OP_ACCEPT))
		return 0;
	return acceptor_new(s);
}

void weft__acceptor_close(weft_sock *s)
{
	struct weft__acceptor *a = s->acc;

	a->sock = NULL;
	/* Closing under a fiber waiting in accept is a bug, but one that must not crash it. */
	weft__sync_wake_all(&a->waiters, -EBADF);
	weft__multishot_cancel(&a->ms);
	weft__multishot_wait_ended(&a->ms); /* from a fiber of its loop; else the last CQE frees */
	weft__fd_close(s->fd);
	if (!a->ms.armed)
		acceptor_free(a);
	weft__delete(s);
}

/* ---- listeners --------------------------------------------------------------------------- */

static int listen_setup(int fd, unsigned flags)
{
	int r =
	    weft__set_reuse(fd, !(flags & WEFT_LISTEN_NO_REUSEADDR), flags & WEFT_LISTEN_REUSEPORT);

	if (!r && flags & WEFT_LISTEN_V6ONLY)
		r = weft__sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	return r;
}

static int tcp_listen_setup(int fd, unsigned flags)
{
	int r = listen_setup(fd, flags);

	/* Accepted sockets inherit it: one setsockopt for all connections. */
	return r ? r : weft__sockopt_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
}

static int unix_listen_setup(int fd, unsigned flags)
{
	return weft__set_reuse(fd, false, flags & WEFT_LISTEN_REUSEPORT);
}

#define LISTEN_FLAGS                                                             \
	(WEFT_LISTEN_REUSEPORT | WEFT_LISTEN_V6ONLY | WEFT_LISTEN_NO_MULTISHOT | \
	 WEFT_LISTEN_NO_REUSEADDR | WEFT_LISTEN_NO_UNLINK)

static int listen_on(weft_sock **sockp, const weft_sockaddr *addr,
		     const struct weft_listen_opts *opts, int (*setup)(int, unsigned))
{
	weft_sock *s;
	int r;

	r = weft__sock_endpoint(&s, addr->sa.sa_family, SOCK_STREAM, addr, NULL, setup,
				opts ? opts->flags : 0);
	if (r)
		return r;
	r = weft__sock_listen(s, opts);
	if (r) {
		weft_sock_close(s);
		return r;
	}
	*sockp = s;
	return 0;
}

int weft_tcp_listen(weft_sock **sockp, const weft_sockaddr *addr,
		    const struct weft_listen_opts *opts)
{
	if (!sockp || !addr || (addr->sa.sa_family != AF_INET && addr->sa.sa_family != AF_INET6) ||
	    (opts && opts->flags & ~LISTEN_FLAGS))
		return -EINVAL;
	return listen_on(sockp, addr, opts, tcp_listen_setup);
}

/* A socket file left by a previous run blocks bind(2): remove it, but only if it is a socket. */
static void unlink_stale(const weft_sockaddr *addr)
{
	const char *path = addr->un.sun_path;
	struct stat st;

	if (path[0] && !lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
}

int weft_unix_listen(weft_sock **sockp, const weft_sockaddr *addr,
		     const struct weft_listen_opts *opts)
{
	if (!sockp || !weft__addr_valid(addr) || addr->sa.sa_family != AF_UNIX ||
	    (opts && opts->flags & ~LISTEN_FLAGS))
		return -EINVAL;
	if (!(opts && opts->flags & WEFT_LISTEN_NO_UNLINK))
		unlink_stale(addr);
	return listen_on(sockp, addr, opts, unix_listen_setup);
}

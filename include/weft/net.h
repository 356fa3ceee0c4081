/* SPDX-License-Identifier: MIT */
/*
 * weft/net.h - sockets: TCP, UDP and Unix, addresses, servers, reconnect (asyncio's streams,
 * start_server, create_datagram_endpoint; trio's serve_tcp).
 *
 * A weft_sock is a socket fd plus what weft keeps for it (a buffered stream made on demand,
 * a listener's accept queue). Every blocking call parks the calling fiber on one io_uring
 * operation (connect, accept, recv, send ...), so the thread keeps running other fibers.
 *
 *     weft_sockaddr a;
 *     weft_sock *s;
 *     weft_addr_parse(&a, "127.0.0.1:8080");
 *     int err = weft_tcp_connect(&s, &a);            // 0, or -ECONNREFUSED, -ETIMEDOUT ...
 *     err = weft_sock_send(s, "ping\n", 5);          // all 5 bytes, or a negative errno
 *     char buf[64];
 *     ssize_t n = weft_sock_recv(s, buf, sizeof(buf)); // what one recv returned; 0 at EOF
 *     weft_sock_close(s);
 *
 * Errors: negative errno, never a signal: every send uses MSG_NOSIGNAL, so a peer that went
 * away is -EPIPE or -ECONNRESET, not SIGPIPE. The usual ones: -ECONNREFUSED (nobody listens),
 * -ECONNRESET (the peer aborted), -EPIPE (writing after the peer closed), -ETIMEDOUT (the
 * caller's scope deadline passed, weft/scope.h), -ECANCELED (the caller was cancelled), -EINVAL
 * (a malformed address or argument; nothing is opened then), -EMFILE (out of fds).
 *
 * Deadlines and cancellation come from the calling fiber's scopes, as for every weft call: wrap
 * a connect in a scope with a deadline to get a connect timeout. An interrupted call returns only
 * once the kernel has finished with the caller's buffer, and a receive that completed anyway
 * returns its data (nothing is lost).
 *
 * Sockets are created with SOCK_CLOEXEC and stay in blocking mode (io_uring does not need
 * O_NONBLOCK), so the fd from weft_sock_fd() also works with plain syscalls.
 *
 * Where calls may run: the blocking ones (connect, accept, every send and receive, sendfile,
 * the server's shutdown and wait, weft_addr_resolve of a name) must run in a fiber and return
 * -EPERM from plain code. Creating sockets (open, wrap, listen, udp_open, socketpair ...) binds
 * them to the loop running on the calling thread, so it works in fibers and loop callbacks and
 * returns -EPERM elsewhere. Options, addresses of sockets and weft_sock_close work in any code
 * of the loop's thread; parsing and formatting addresses need nothing at all.
 *
 * Concurrency: one fiber may receive while another sends on the same socket. Two fibers
 * receiving (or sending) at once is allowed but interleaves unpredictably, as with read(2). A
 * weft_sock belongs to the loop it was created on; nothing here is thread-safe. Closing a socket
 * while another fiber is blocked on it is not allowed (as for close(2) + free): stop that fiber
 * first (cancel it, or weft_sock_shutdown(SHUT_RDWR), which ends its receive with 0).
 */
#ifndef WEFT_NET_H
#define WEFT_NET_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "common.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- addresses ------------------------------------------------------------------------- */

/*
 * weft_sockaddr - any socket address (IPv4, IPv6, Unix) with its length, by value.
 * Fill it with weft_addr_parse/_inet/_unix/_resolve, or set @len and a member yourself.
 */
typedef struct weft_sockaddr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
		struct sockaddr_storage ss;
	};
	socklen_t len;
} weft_sockaddr;

/* Room weft_addr_format() needs for any address, with its NUL ("unix:" + 108 bytes of path). */
#define WEFT_ADDR_STRLEN 114

/*
 * weft_addr_parse - parse a numeric address string into @addr:
 *   "1.2.3.4:80", "[::1]:80", "[fe80::1%eth0]:80"   IPv4 / IPv6 with a port (0-65535)
 *   "/run/app.sock", "./app.sock"                    a Unix socket path (starts with / or .)
 *   "unix:app.sock", "unix:@x"                       a Unix socket path, any form, as it is
 *   "@name"                                          a Linux abstract Unix name
 * Returns 0, or -EINVAL for anything else (a host name - use weft_addr_resolve -, a missing or
 * out-of-range port, a path too long for sun_path). Never blocks; callable anywhere.
 */
WEFT_API int weft_addr_parse(weft_sockaddr *addr, const char *str);

/*
 * weft_addr_inet - an IPv4 or IPv6 address from a numeric @ip and @port. @ip NULL or "" is the
 * IPv4 wildcard 0.0.0.0; "::" the IPv6 one. Returns 0 or -EINVAL. Callable anywhere.
 */
WEFT_API int weft_addr_inet(weft_sockaddr *addr, const char *ip, uint16_t port);

/*
 * weft_addr_unix - a Unix socket address: a path, or an abstract name when @path starts with
 * '@' (the '@' becomes the leading NUL byte). Returns 0, or -EINVAL (empty, too long).
 */
WEFT_API int weft_addr_unix(weft_sockaddr *addr, const char *path);

/*
 * weft_addr_format - the address as weft_addr_parse() reads it ("1.2.3.4:80", "[::1]:80",
 * "/path", "./path", "unix:path", "@name"; an unnamed Unix socket is ""), NUL-terminated in
 * @buf. Every address weft_addr_parse() makes formats to a string that parses back to it
 * (not the IPv6 flow label, nor an abstract name with NUL bytes in it).
 * Returns the string's length, -ENOSPC if @len is too small (WEFT_ADDR_STRLEN always suffices),
 * -EINVAL for an unknown family. Callable anywhere.
 */
WEFT_API int weft_addr_format(const weft_sockaddr *addr, char *buf, size_t len);

/* weft_addr_port - the port of an IPv4/IPv6 address, or -EINVAL. */
WEFT_API int weft_addr_port(const weft_sockaddr *addr);

/*
 * weft_addr_resolve - look @host up (getaddrinfo) and store up to @max addresses with @port in
 * @addrs, in the resolver's preferred order. @family: AF_UNSPEC, AF_INET or AF_INET6.
 * A numeric @host is converted at once; a name is looked up on the default thread pool
 * (weft_executor_default_run), so the fiber's loop keeps running. The caller's deadline and cancellation
 * take effect at once even while getaddrinfo runs (it cannot be interrupted): the lookup then
 * finishes in the background, owned by a small helper fiber that frees it, and its answer is
 * dropped. That helper keeps weft_loop_run going until the lookup ends (bounded by the
 * resolver's own timeouts, resolv.conf), as asyncio waits for its executor at the end of run.
 * Returns the number of addresses stored (>= 1), or -ENOENT (no such name), -EAGAIN (temporary
 * resolver failure), -EAFNOSUPPORT (no address of @family), -EINVAL, -ENOMEM, -ETIMEDOUT,
 * -ECANCELED, -EIO (other resolver failures). From plain code (no fiber) the thread blocks.
 */
WEFT_API int weft_addr_resolve(const char *host, uint16_t port, int family, weft_sockaddr *addrs,
			       size_t max);

/* ---- sockets --------------------------------------------------------------------------- */

typedef struct weft_sock weft_sock;

/*
 * weft_sock_open - a new socket (socket(2) with SOCK_CLOEXEC added) wrapped in a weft_sock
 * of the current thread's loop. For odd protocols; weft_tcp_connect and friends do this for you.
 * Returns 0, -EPERM (no loop on this thread), -ENOMEM, or socket(2)'s error.
 */
WEFT_API int weft_sock_open(weft_sock **sockp, int family, int type, int protocol);

/*
 * weft_sock_wrap - adopt an open socket @fd (from systemd, fd passing, a socketpair ...): the
 * weft_sock owns it from now on (weft_sock_close closes it). Returns 0, -EBADF (not a socket),
 * -EPERM (no loop on this thread), -ENOMEM (@fd stays yours then).
 */
WEFT_API int weft_sock_wrap(weft_sock **sockp, int fd);

/* weft_sock_bind - bind(2). Returns 0 or its negative errno (-EADDRINUSE ...). */
WEFT_API int weft_sock_bind(weft_sock *sock, const weft_sockaddr *addr);

/*
 * weft_sock_connect - connect @sock to @addr (IORING_OP_CONNECT). Blocks the fiber until the
 * connection is established, refused, or the caller's deadline passes (-ETIMEDOUT; the socket
 * is then unusable: close it). Returns 0, -ECONNREFUSED, -ENETUNREACH, -ETIMEDOUT, -ECANCELED,
 * -EINVAL, -EPERM outside a fiber. A datagram socket's connect (which only sets its default
 * peer) never blocks and works outside fibers too.
 */
WEFT_API int weft_sock_connect(weft_sock *sock, const weft_sockaddr *addr);

/*
 * weft_sock_close - close the socket and free @sock (the stream too, after flushing it: see
 * weft_sock_stream). Returns 0 or the flush's error (the socket is closed and freed anyway);
 * -EBUSY if a fiber is inside a call on the socket's stream (nothing is done then). NULL is a
 * no-op. Callable from plain code too (nothing to flush then); the loop may already be closed.
 */
WEFT_API int weft_sock_close(weft_sock *sock);

/*
 * weft_sock_abort - reset the connection now (SO_LINGER 0, then close): the peer's next call
 * fails with -ECONNRESET, unsent data is dropped. @sock must still be freed with
 * weft_sock_close(); other calls on it return -EBADF meanwhile. Returns 0 or -EINVAL.
 */
WEFT_API int weft_sock_abort(weft_sock *sock);

/*
 * weft_sock_shutdown - shutdown(2): SHUT_WR sends FIN after what was sent (half close: the peer
 * reads EOF, this side can still receive); SHUT_RD / SHUT_RDWR also end this side's pending and
 * future receives with 0. Does not flush the stream (weft_stream_shutdown does).
 * Returns 0, -ENOTCONN, -EBADF, -EINVAL.
 */
WEFT_API int weft_sock_shutdown(weft_sock *sock, int how);

/* weft_sock_fd - the socket's fd (still owned by @sock), or -EBADF after weft_sock_abort. */
WEFT_API int weft_sock_fd(const weft_sock *sock);

/* weft_sock_local_addr / weft_sock_peer_addr - getsockname(2) / getpeername(2). 0 or errno. */
WEFT_API int weft_sock_local_addr(const weft_sock *sock, weft_sockaddr *addr);
WEFT_API int weft_sock_peer_addr(const weft_sock *sock, weft_sockaddr *addr);

/* weft_sock_set_nodelay - TCP_NODELAY on (true) or off. 0 or a negative errno. */
WEFT_API int weft_sock_set_nodelay(weft_sock *sock, bool on);

/*
 * weft_sock_set_keepalive - SO_KEEPALIVE on/off; when on, the first probe after @idle_s idle
 * seconds, then every @interval_s, giving up after @count unanswered (each 0 = system default).
 * A dead peer then fails pending calls with -ETIMEDOUT. 0 or a negative errno.
 */
WEFT_API int weft_sock_set_keepalive(weft_sock *sock, bool on, int idle_s, int interval_s,
				     int count);

/* ---- stream I/O ------------------------------------------------------------------------ */

/*
 * weft_sock_recv - one receive of up to @len bytes into @buf (IORING_OP_RECV).
 * Returns the count (> 0), 0 at end of stream (the peer shut down or closed; for a datagram
 * socket an empty datagram), or -ECONNRESET, -ETIMEDOUT, -ECANCELED, -EBADF, -EPERM ...
 * A cancelled receive that raced with arriving data returns the data; the cancellation shows at
 * the next call. Do not mix with reads through the socket's stream (its buffer would be skipped).
 */
WEFT_API ssize_t weft_sock_recv(weft_sock *sock, void *buf, size_t len);

/*
 * weft_sock_send - send all @len bytes (MSG_NOSIGNAL; short sends are continued).
 * Returns @len, or a negative errno (-EPIPE, -ECONNRESET, -ETIMEDOUT, -ECANCELED ...) - in which
 * case an unknown prefix may have been sent: a connection that failed mid-send is done for.
 * @buf is the caller's again when the call returns either way. (Zero-copy sends were measured
 * and do not pay on loopback at any size: see README "Sockets".)
 */
WEFT_API ssize_t weft_sock_send(weft_sock *sock, const void *buf, size_t len);

/*
 * weft_sock_send_some - one send of up to @len bytes (MSG_NOSIGNAL): the count the kernel took
 * (may be short), or a negative errno. For datagram sockets: one datagram.
 */
WEFT_API ssize_t weft_sock_send_some(weft_sock *sock, const void *buf, size_t len);

/* weft_sock_sendv - send all of @iov (gather, IORING_OP_SENDMSG); as weft_sock_send(). */
WEFT_API ssize_t weft_sock_sendv(weft_sock *sock, const struct iovec *iov, int iovcnt);

/*
 * weft_sock_sendfile - send @count bytes of file @fd from offset @off to the socket, without
 * copying them through user memory (splice through a pipe). @count 0 means up to the end of the
 * file (asyncio's count=None; sendfile(2) and weft_file_sendfile send nothing for 0). Returns
 * the bytes sent (less than @count if the file ended first), or a negative errno if nothing
 * could be sent. After a partial send (an error, a cancel or a deadline part-way) the count the
 * socket took is returned, exactly, so a caller may resume at @off + count; the next call
 * reports the error. Must run in a fiber.
 */
WEFT_API ssize_t weft_sock_sendfile(weft_sock *sock, int fd, off_t off, size_t count);

/*
 * weft_sock_stream - the buffered stream over @sock (weft/stream.h: read_exactly, read_line,
 * peek, buffered writes ...), created on the first call with @opts (NULL: defaults; later calls
 * ignore @opts). The stream belongs to @sock: weft_sock_close() flushes and frees it, and
 * weft_stream_close() on it closes and frees the socket too. Its shutdown is a TCP half close.
 * Returns 0, -EINVAL or -ENOMEM.
 */
WEFT_API int weft_sock_stream(weft_sock *sock, const struct weft_stream_opts *opts,
			      weft_stream **streamp);

/* ---- TCP ------------------------------------------------------------------------------- */

/*
 * weft_tcp_connect - open a TCP socket of @addr's family and connect it (TCP_NODELAY on, as
 * asyncio does). Returns 0 and sets *@sockp, or an error of weft_sock_connect (nothing is left
 * open then); -EINVAL for a non-IP address.
 */
WEFT_API int weft_tcp_connect(weft_sock **sockp, const weft_sockaddr *addr);

/*
 * weft_tcp_connect_host - resolve @host (weft_addr_resolve) and connect to its addresses in
 * turn until one accepts (asyncio.open_connection). Returns 0, or the last address's error, or
 * the resolver's.
 */
WEFT_API int weft_tcp_connect_host(weft_sock **sockp, const char *host, uint16_t port);

/*
 * struct weft_retry_opts - how weft_tcp_connect_retry() backs off; zero fields take defaults.
 * @initial_ns: first delay (default 100 ms); each failure doubles it, up to @max_ns (default
 *              10 s). Each delay is drawn uniformly from [delay/2, delay] ("equal jitter"), so
 *              clients that lost the server together do not return together.
 * @deadline:   absolute weft_now() time to give up (-ETIMEDOUT); 0 = only the caller's scopes.
 * @attempt_ns: time one attempt may take (a SYN into a black hole otherwise waits minutes for
 *              the kernel to give up); 0 = no limit of its own.
 * @max_tries:  give up after this many failed attempts (returning the last error); 0 = no limit.
 * @on_retry:   called before each wait with the attempt number (1 = the first failure), its
 *              error and the delay chosen - for logging. May be NULL.
 */
struct weft_retry_opts {
	int64_t initial_ns;
	int64_t max_ns;
	int64_t deadline;
	int64_t attempt_ns;
	unsigned max_tries;
	void (*on_retry)(void *arg, unsigned attempt, int err, int64_t delay_ns);
	void *arg;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/*
 * weft_tcp_connect_retry - weft_tcp_connect_host() until it succeeds, sleeping with exponential
 * backoff and jitter between attempts. Every error retries (refused, unreachable, a resolver
 * failure, a timed-out attempt) except -EINVAL and the caller's own cancellation.
 * Returns 0, -ETIMEDOUT (the deadline passed; the last attempt's error went to @on_retry), the
 * last error after @max_tries, -ECANCELED, -EINVAL.
 */
WEFT_API int weft_tcp_connect_retry(weft_sock **sockp, const char *host, uint16_t port,
				    const struct weft_retry_opts *opts);

/* Flags for struct weft_listen_opts. */
#define WEFT_LISTEN_REUSEPORT	 (1u << 0) /* SO_REUSEPORT: one listener per loop/thread */
#define WEFT_LISTEN_V6ONLY	 (1u << 1) /* IPV6_V6ONLY on an IPv6 listener */
#define WEFT_LISTEN_NO_MULTISHOT (1u << 2) /* one accept op per call, never multishot */
#define WEFT_LISTEN_NO_REUSEADDR (1u << 3) /* don't set SO_REUSEADDR (TCP) */
#define WEFT_LISTEN_NO_UNLINK	 (1u << 4) /* Unix: don't remove a stale socket file first */

/*
 * struct weft_listen_opts - listening options; zero fields take defaults.
 * @backlog: listen(2)'s backlog; default SOMAXCONN.
 * @flags:   WEFT_LISTEN_*.
 */
struct weft_listen_opts {
	int backlog;
	unsigned flags;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/*
 * weft_tcp_listen - a TCP listener bound to @addr (port 0: the kernel picks; see
 * weft_sock_local_addr) with SO_REUSEADDR and TCP_NODELAY (inherited by accepted sockets).
 * @opts may be NULL. Returns 0, -EADDRINUSE, -EACCES, -EINVAL (non-IP address), -EMFILE ...
 * Nothing stays open on failure. Does not block (callable from loop callbacks too).
 */
WEFT_API int weft_tcp_listen(weft_sock **sockp, const weft_sockaddr *addr,
			     const struct weft_listen_opts *opts);

/*
 * weft_sock_accept - wait for the next connection on listener @sock and wrap it in *@connp.
 * @peer (may be NULL) receives the peer's address (one getpeername(2)).
 * Where the kernel supports it, the first call arms one multishot accept that keeps accepting
 * into a small per-listener queue; later calls take from that queue without a trip to the
 * kernel. The queue is bounded: when it fills (nobody is calling accept) the multishot is
 * stopped and re-armed when it drains, so the kernel's backlog stays the real limit.
 * A listener does not keep weft_loop_run() going on its own; a fiber waiting in accept does.
 * Returns 0, -EMFILE / -ENFILE (out of fds: the listener stays usable, retry later),
 * -ECONNABORTED, -EINVAL (not listening), -ETIMEDOUT, -ECANCELED, -EPERM outside a fiber.
 */
WEFT_API int weft_sock_accept(weft_sock *sock, weft_sock **connp, weft_sockaddr *peer);

#ifdef __cplusplus
}
#endif

/* The rest of the module: datagrams, Unix sockets, servers. */
#include "udp.h"
#include "unix.h"
#include "server.h"

#endif

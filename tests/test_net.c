/* SPDX-License-Identifier: MIT */
/*
 * net/: addresses, TCP connect and listen, byte I/O and its errors over loopback. Accepting,
 * servers, datagrams and Unix sockets have their own suites (test_net_accept.c,
 * test_net_server.c, test_net_dgram.c).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>

#include "check_main.h"
#include "test_net_util.h"

/* ---- addresses ----------------------------------------------------------------------------- */

/* @text parses to exactly @want. */
static void addr_round_trip(const char *text, const weft_sockaddr *want)
{
	weft_sockaddr b;

	ck_assert_int_eq(weft_addr_parse(&b, text), 0);
	ck_assert_int_eq(b.len, want->len);
	ck_assert(!memcmp(&b.ss, &want->ss, want->len));
}

START_TEST(addr_parse_format)
{
	static const char *const good[] = {
	    "127.0.0.1:80",  "0.0.0.0:0",  "[::1]:65535", "[fe80::1%1]:8080",
	    "/tmp/x.sock",   "./rel.sock", "@abstract",	  "255.255.255.255:1",
	    "unix:rel.sock", "unix:@file", "unix:a",
	};
	char buf[WEFT_ADDR_STRLEN];
	weft_sockaddr a;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(weft_addr_parse(&a, good[i]) == 0, "%s", good[i]);
		ck_assert_int_eq(weft_addr_format(&a, buf, sizeof(buf)), (int)strlen(good[i]));
		ck_assert_str_eq(buf, good[i]);
		addr_round_trip(buf, &a);
	}
	/* A relative path formats with its "unix:", and one starting with '@' is not abstract. */
	addr_of(&a, "unix:@file");
	ck_assert_str_eq(a.un.sun_path, "@file");
	ck_assert_int_eq(weft_addr_unix(&a, "rel.sock"), 0);
	ck_assert_int_eq(weft_addr_format(&a, buf, sizeof(buf)), 13);
	ck_assert_str_eq(buf, "unix:rel.sock");
	/* The longest relative path fits WEFT_ADDR_STRLEN with its prefix, and parses back. */
	memset(buf, 'p', sizeof(a.un.sun_path) - 1);
	buf[sizeof(a.un.sun_path) - 1] = 0;
	ck_assert_int_eq(weft_addr_unix(&a, buf), 0);
	ck_assert_int_eq(weft_addr_format(&a, buf, sizeof(buf)), 5 + 107);
	addr_round_trip(buf, &a);
	/* The longest abstract name fills sun_path: '@' and 107 bytes (found by fuzz_addr). */
	memset(buf, 'n', sizeof(a.un.sun_path));
	buf[0] = '@';
	buf[sizeof(a.un.sun_path)] = 0;
	ck_assert_int_eq(weft_addr_parse(&a, buf), 0);
	ck_assert_int_eq(a.len, sizeof(a.un));
	ck_assert_int_eq(weft_addr_format(&a, buf, sizeof(buf)), 108);
	addr_round_trip(buf, &a);
	addr_of(&a, "10.1.2.3:4567");
	ck_assert_int_eq(weft_addr_port(&a), 4567);
	ck_assert_int_eq(a.len, sizeof(struct sockaddr_in));
	ck_assert_int_eq(weft_addr_format(&a, buf, 5), -ENOSPC);
	ck_assert_int_eq(weft_addr_inet(&a, "::", 9), 0);
	ck_assert_int_eq(a.sa.sa_family, AF_INET6);
	ck_assert_int_eq(weft_addr_inet(&a, NULL, 7), 0);
	ck_assert_int_eq(weft_addr_format(&a, buf, sizeof(buf)), 9);
	ck_assert_str_eq(buf, "0.0.0.0:7");
	/* The abstract name keeps no trailing NUL: its length is the name's. */
	ck_assert_int_eq(weft_addr_unix(&a, "@n"), 0);
	ck_assert_int_eq(a.len, offsetof(struct sockaddr_un, sun_path) + 2);
	ck_assert_int_eq(weft_addr_port(&a), -EINVAL);
}
END_TEST

START_TEST(addr_malformed)
{
	static const char *const bad[] = {
	    "",
	    "127.0.0.1",
	    "127.0.0.1:",
	    "127.0.0.1:65536",
	    "127.0.0.1:-1",
	    "1.2.3:80",
	    "256.1.1.1:80",
	    "localhost:80",
	    "::1:80",
	    "[::1]80",
	    "[::1]",
	    "[1.2.3.4]:80",
	    ":80",
	    "1.2.3.4:8x",
	    "[::1%nosuchif]:80",
	    "@",
	    "unix:",
	    "1.2.3.4:000080",
	};
	char longpath[200];
	int before = fd_count();
	weft_sockaddr a;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(weft_addr_parse(&a, bad[i]) == -EINVAL, "%s", bad[i]);
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	ck_assert_int_eq(weft_addr_parse(&a, longpath), -EINVAL);
	ck_assert_int_eq(weft_addr_parse(&a, NULL), -EINVAL);
	ck_assert_int_eq(weft_addr_inet(&a, "example.com", 1), -EINVAL);
	ck_assert_int_eq(fd_count(), before);
}
END_TEST

/* Calls given bad addresses fail with -EINVAL before opening anything. */
static int bad_calls_main(void *arg)
{
	int before = fd_count();
	weft_sockaddr a, un;
	weft_sock *s;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(weft_tcp_connect(&s, &a), -EINVAL);
	ck_assert_int_eq(weft_tcp_listen(&s, &a, NULL), -EINVAL);
	addr_of(&a, "127.0.0.1:1");
	a.len = 3; /* a truncated sockaddr_in */
	ck_assert_int_eq(weft_tcp_connect(&s, &a), -EINVAL);
	ck_assert_int_eq(weft_tcp_listen(&s, &a, NULL), -EINVAL);
	addr_of(&un, "@x");
	ck_assert_int_eq(weft_tcp_connect(&s, &un), -EINVAL);
	ck_assert_int_eq(weft_tcp_listen(&s, &un, NULL), -EINVAL);
	ck_assert_int_eq(weft_udp_open(&s, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(weft_unix_connect(&s, &un, SOCK_RAW), -EINVAL);
	addr_of(&a, "127.0.0.1:1");
	ck_assert_int_eq(weft_unix_listen(&s, &a, NULL), -EINVAL);
	ck_assert_int_eq(weft_tcp_connect_host(&s, "", 80), -EINVAL);
	/* Flag bits weft does not define. */
	addr_of(&a, "127.0.0.1:0");
	ck_assert_int_eq(weft_tcp_listen(&s, &a, &(struct weft_listen_opts){.flags = 1u << 20}),
			 -EINVAL);
	ck_assert_int_eq(weft_unix_listen(&s, &un, &(struct weft_listen_opts){.flags = 1u << 20}),
			 -EINVAL);
	ck_assert_int_eq(fd_count(), before);
	return 0;
}

FIBER_TEST(malformed_nothing_opened, bad_calls_main)

/* A NULL buffer with a length is -EINVAL at once: not -EFAULT, not after parking for data
 * (there is data waiting here, so the old behaviour shows as -EFAULT instead of a hang). */
static int null_buffers_main(void *arg)
{
	weft_sock *a, *b;
	unsigned nfds = 0;
	char c;

	ck_assert_int_eq(weft_unix_socketpair(SOCK_STREAM, &a, &b), 0);
	ck_assert_int_eq(weft_sock_send(b, "x", 1), 1);
	ck_assert_int_eq(weft_sock_recv(a, NULL, 10), -EINVAL);
	ck_assert_int_eq(weft_sock_send(a, NULL, 10), -EINVAL);
	ck_assert_int_eq(weft_sock_send_some(a, NULL, 10), -EINVAL);
	ck_assert_int_eq(weft_unix_send_fds(a, NULL, 10, NULL, 0), -EINVAL);
	ck_assert_int_eq(weft_sock_recv(a, &c, 1), 1); /* the byte is still there */
	ck_assert_int_eq(weft_sock_send(b, "y", 1), 1);
	ck_assert_int_eq(weft_unix_recv_fds(a, NULL, 10, NULL, &nfds, NULL), -EINVAL);
	ck_assert_int_eq(weft_sock_close(a), 0);
	ck_assert_int_eq(weft_sock_close(b), 0);
	ck_assert_int_eq(weft_unix_socketpair(SOCK_DGRAM, &a, &b), 0);
	ck_assert_int_eq(weft_sock_sendto(b, "x", 1, NULL), 1);
	ck_assert_int_eq(weft_sock_recvfrom(a, NULL, 10, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_sock_sendto(a, NULL, 10, NULL), -EINVAL);
	ck_assert_int_eq(weft_sock_recvfrom(a, &c, 1, NULL, NULL), 1);
	ck_assert_int_eq(weft_sock_close(a), 0);
	ck_assert_int_eq(weft_sock_close(b), 0);
	return 0;
}

FIBER_TEST(null_buffers, null_buffers_main)

static int resolve_main(void *arg)
{
	weft_sockaddr addrs[8];
	weft_scope sc;
	int n;

	/* Numeric hosts need no lookup; a family mismatch says so. */
	ck_assert_int_eq(weft_addr_resolve("::1", 5, AF_UNSPEC, addrs, 8), 1);
	ck_assert_int_eq(weft_addr_resolve("::1", 5, AF_INET, addrs, 8), -EAFNOSUPPORT);
	ck_assert_int_eq(weft_addr_resolve("localhost", 5, AF_UNIX, addrs, 8), -EINVAL);
	if (under_valgrind())
		return 0;

	n = weft_addr_resolve("localhost", 8080, AF_UNSPEC, addrs, 8);
	ck_assert_int_ge(n, 1);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(weft_addr_port(&addrs[i]), 8080);
		if (addrs[i].sa.sa_family == AF_INET)
			ck_assert_int_eq(ntohl(addrs[i].in.sin_addr.s_addr) >> 24, 127);
		else
			ck_assert(IN6_IS_ADDR_LOOPBACK(&addrs[i].in6.sin6_addr));
	}
	n = weft_addr_resolve("localhost", 1, AF_INET, addrs, 1);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(addrs[0].sa.sa_family, AF_INET);
	n = weft_addr_resolve("no-such-host.invalid", 5, AF_UNSPEC, addrs, 8);
	ck_assert_msg(n == -ENOENT || n == -EAGAIN, "%d", n);
	/* A passed deadline: refused before any lookup starts. */
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() - 1, 0), 0);
	ck_assert_int_eq(weft_addr_resolve("localhost", 5, AF_UNSPEC, addrs, 8), -ETIMEDOUT);
	weft_scope_exit(&sc);
	return 0;
}

FIBER_TEST(resolve_localhost, resolve_main)

/* A resolver that takes its time (as a DNS server that does not answer would). */
extern int (*weft__getaddrinfo)(const char *, const char *, const struct addrinfo *,
				struct addrinfo **);

static int slow_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			    struct addrinfo **res)
{
	usleep(600 * 1000);
	return getaddrinfo(node, service, hints, res);
}

static int slow_lookup(void *arg)
{
	weft_sockaddr addrs[4];

	return weft_addr_resolve("localhost", 1, AF_UNSPEC, addrs, 4);
}

/* The caller's deadline and cancellation cut a lookup short while getaddrinfo still runs; the
 * lookup ends in the background and nothing leaks (ASan and valgrind check that). */
static int resolve_interrupt_main(void *arg)
{
	weft_sockaddr addrs[4];
	weft_scope sc;
	weft_task *t;
	int64_t t0 = weft_now();

	weft__getaddrinfo = slow_getaddrinfo;
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 30 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_addr_resolve("localhost", 1, AF_UNSPEC, addrs, 4), -ETIMEDOUT);
	weft_scope_exit(&sc);
	ck_assert_int_lt(weft_now() - t0, 500 * WEFT_MSEC); /* well before the lookup's end */
	ck_assert_int_eq(weft_task_spawn(&t, slow_lookup, NULL, NULL), 0);
	ck_assert_int_eq(weft_sleep(20 * WEFT_MSEC), 0);
	weft_task_cancel(t);
	ck_assert_int_eq(join_status(t), -ECANCELED);
	/* Given the time, a lookup through the stand-in does answer. */
	ck_assert_int_ge(weft_addr_resolve("localhost", 1, AF_UNSPEC, addrs, 4), 1);
	weft__getaddrinfo = getaddrinfo;
	return 0; /* the abandoned lookups still run: the loop waits for their helpers */
}

START_TEST(resolve_interrupted)
{
	if (under_valgrind())
		return; /* pool threads cannot wake a sleeping loop under valgrind */
	run_main(resolve_interrupt_main, NULL);
}
END_TEST

/* ---- TCP basics ---------------------------------------------------------------------------- */

static int echo_main(void *arg)
{
	const char *ip = arg;
	weft_sock *l, *c, *s;
	weft_sockaddr a, peer, local;
	char buf[64];
	int on = 0;
	socklen_t len = sizeof(on);

	ck_assert_int_eq(weft_addr_inet(&a, ip, 0), 0);
	if (weft_tcp_listen(&l, &a, NULL) == -EADDRNOTAVAIL)
		return 0; /* no IPv6 here */
	ck_assert_int_eq(weft_sock_local_addr(l, &a), 0);
	ck_assert_int_eq(weft_tcp_connect(&c, &a), 0);
	ck_assert_int_eq(weft_sock_accept(l, &s, &peer), 0);
	/* The accepted side's peer is the client's local address. */
	ck_assert_int_eq(weft_sock_local_addr(c, &local), 0);
	ck_assert_int_eq(peer.len, local.len);
	ck_assert_int_eq(memcmp(&peer.ss, &local.ss, local.len), 0);
	ck_assert_int_eq(weft_sock_peer_addr(c, &peer), 0);
	ck_assert_int_eq(weft_addr_port(&peer), weft_addr_port(&a));
	ck_assert_int_eq(weft_sock_send(c, "hello", 5), 5);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(weft_sock_send_some(s, "yo", 2), 2);
	ck_assert_int_eq(weft_sock_recv(c, buf, sizeof(buf)), 2);
	/* TCP_NODELAY: set on connect, inherited from the listener on accept. */
	ck_assert_int_eq(getsockopt(weft_sock_fd(s), IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
	ck_assert_int_ne(on, 0);
	ck_assert_int_eq(weft_sock_set_nodelay(s, false), 0);
	ck_assert_int_eq(getsockopt(weft_sock_fd(s), IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
	ck_assert_int_eq(on, 0);
	ck_assert_int_eq(weft_sock_set_keepalive(c, true, 30, 5, 3), 0);
	ck_assert_int_eq(getsockopt(weft_sock_fd(c), IPPROTO_TCP, TCP_KEEPIDLE, &on, &len), 0);
	ck_assert_int_eq(on, 30);
	ck_assert_int_eq(weft_sock_set_keepalive(c, false, 0, 0, 0), 0);
	ck_assert_int_eq(weft_sock_close(c), 0);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 0); /* EOF */
	ck_assert_int_eq(weft_sock_close(s), 0);
	ck_assert_int_eq(weft_sock_close(l), 0);
	return 0;
}

START_TEST(tcp_echo_v4)
{
	int before = fd_count();

	run_main(echo_main, "127.0.0.1");
	ck_assert_int_eq(fd_count(), before);
}
END_TEST

START_TEST(tcp_echo_v6)
{
	run_main(echo_main, "::1");
}
END_TEST

static int refused_main(void *arg)
{
	weft_sockaddr a;
	weft_sock *l, *c;
	int before;

	/* A port nobody listens on: take an ephemeral one and give it back. */
	l = listen_lo("127.0.0.1", &a, 0);
	weft_sock_close(l);
	before = fd_count();
	ck_assert_int_eq(weft_tcp_connect(&c, &a), -ECONNREFUSED);
	ck_assert_int_eq(weft_tcp_connect_host(&c, "127.0.0.1", (uint16_t)weft_addr_port(&a)),
			 -ECONNREFUSED);
	ck_assert_int_eq(fd_count(), before);
	return 0;
}

FIBER_TEST(connect_refused, refused_main)

/* A listener whose backlog is full drops SYNs: the next connect hangs until our deadline. */
static int connect_timeout_main(void *arg)
{
	struct weft_listen_opts o = {.backlog = 1, .flags = WEFT_LISTEN_NO_MULTISHOT};
	weft_sock *l, *c[16];
	weft_sockaddr a;
	int n = 0, r = 0, before;

	ck_assert_int_eq(weft_addr_inet(&a, "127.0.0.1", 0), 0);
	ck_assert_int_eq(weft_tcp_listen(&l, &a, &o), 0);
	ck_assert_int_eq(weft_sock_local_addr(l, &a), 0);
	before = fd_count();
	while (n < 16) {
		weft_scope sc;
		int64_t t0 = weft_now();

		weft_scope_enter(&sc, weft_now() + 200 * WEFT_MSEC, 0);
		r = weft_tcp_connect(&c[n], &a);
		weft_scope_exit(&sc);
		if (r) {
			ck_assert_int_eq(r, -ETIMEDOUT);
			ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
			break;
		}
		n++;
	}
	ck_assert_int_eq(r, -ETIMEDOUT);
	ck_assert_int_eq(fd_count(), before + n); /* the timed-out socket was closed */
	while (n--)
		weft_sock_close(c[n]);
	weft_sock_close(l);
	return 0;
}

FIBER_TEST(connect_timeout, connect_timeout_main)

static int half_close_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	char buf[64];

	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	ck_assert_int_eq(weft_sock_send(c, "request", 7), 7);
	ck_assert_int_eq(weft_sock_shutdown(c, SHUT_WR), 0);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 7);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 0);
	/* The other direction still works after the client's half close. */
	ck_assert_int_eq(weft_sock_send(s, "reply", 5), 5);
	ck_assert_int_eq(weft_sock_shutdown(s, SHUT_WR), 0);
	ck_assert_int_eq(weft_sock_recv(c, buf, sizeof(buf)), 5);
	ck_assert_int_eq(weft_sock_recv(c, buf, sizeof(buf)), 0);
	ck_assert_int_eq(weft_sock_send(c, "x", 1), -EPIPE);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(half_close, half_close_main)

static int blocked_recv(void *arg)
{
	char buf[16];

	return (int)weft_sock_recv(arg, buf, sizeof(buf));
}

static int abort_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	weft_task *t;
	char buf[16];

	l = listen_lo("127.0.0.1", &a, 0);
	/* A reader parked in recv sees the reset. */
	tcp_pair(l, &a, &c, &s);
	ck_assert_int_eq(weft_task_spawn(&t, blocked_recv, s, NULL), 0);
	wait_parked(t);
	ck_assert_int_eq(weft_sock_send(c, "unread", 6), 6);
	ck_assert_int_eq(weft_sock_abort(c), 0);
	ck_assert_int_eq(join_status(t), 6);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), -ECONNRESET);
	ck_assert_int_eq(weft_sock_fd(c), -EBADF);
	ck_assert_int_eq(weft_sock_recv(c, buf, sizeof(buf)), -EBADF);
	ck_assert_int_eq(weft_sock_abort(c), 0); /* again: nothing left to do */
	ck_assert_int_eq(weft_sock_close(c), 0);
	weft_sock_close(s);
	/* What was sent before the abort may still be read; then comes the reset, not an EOF. */
	tcp_pair(l, &a, &c, &s);
	ck_assert_int_eq(weft_sock_send(s, "pending", 7), 7);
	ck_assert_int_eq(weft_sock_abort(s), 0);
	weft_sock_close(s);
	ssize_t n, total = 0;
	while ((n = weft_sock_recv(c, buf, sizeof(buf))) > 0)
		total += n;
	ck_assert_int_eq(n, -ECONNRESET);
	ck_assert_int_le(total, 7);
	weft_sock_close(c);
	ck_assert_int_eq(weft_sock_abort(l), -EINVAL); /* a listener just closes */
	weft_sock_close(l);
	return 0;
}

FIBER_TEST(abort_reset, abort_main)

static int send_x(void *arg)
{
	ck_assert_int_eq(weft_yield(), 0); /* the reader parks first: its socket is watched */
	ck_assert_int_eq(send(weft_sock_fd(arg), "x", 1, 0), 1);
	return 0;
}

/* TCP stops a read at the urgent mark: a read cut short there did not drain the socket, and
 * the bytes behind the mark come at once (the readiness backend must not park on them). */
static int oob_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	weft_task *t;
	char buf[64];

	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	ck_assert_int_eq(weft_task_spawn(&t, send_x, c, NULL), 0);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 1);
	ck_assert_int_eq(join_status(t), 0);
	ck_assert_int_eq(send(weft_sock_fd(c), "abc", 3, 0), 3);
	ck_assert_int_eq(send(weft_sock_fd(c), "!", 1, MSG_OOB), 1);
	ck_assert_int_eq(send(weft_sock_fd(c), "def", 3, 0), 3);
	ck_assert_int_eq(weft_sleep(5 * WEFT_MSEC), 0);		  /* a turn collects what arrived */
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 3); /* "abc", up to the mark */
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 3); /* "def", at once */
	ck_assert_mem_eq(buf, "def", 3);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(urgent_mark_short_read, oob_main)

/* The peer went away: sends fail with -EPIPE / -ECONNRESET, and no SIGPIPE kills us. */
static int peer_gone_main(void *arg)
{
	static char big[64 * 1024];
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	ssize_t r = 0;

	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	weft_sock_close(s);
	for (int i = 0; i < 100 && r >= 0; i++)
		r = weft_sock_send(c, big, sizeof(big));
	ck_assert_msg(r == -EPIPE || r == -ECONNRESET, "%zd", r);
	struct iovec iov = {big, 10};
	r = weft_sock_sendv(c, &iov, 1);
	ck_assert_msg(r == -EPIPE || r == -ECONNRESET, "%zd", r);
	/* splice to the socket too (the kernel's splice path has no MSG_NOSIGNAL of its own) */
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < 3; i++)
		r = weft_sock_sendfile(c, fd, 0, 100000);
	ck_assert_msg(r == -EPIPE || r == -ECONNRESET, "%zd", r);
	close(fd);
	weft_sock_close(c);
	weft_sock_close(l);
	return 0;
}

START_TEST(peer_gone_no_sigpipe)
{
	signal(SIGPIPE, SIG_DFL); /* the default action would kill the test */
	run_main(peer_gone_main, NULL);
}
END_TEST

/* ---- cancellation and deadlines on I/O ------------------------------------------------------ */

struct race {
	weft_sock *s;
	char buf[4096];
	ssize_t got;
};

static int race_reader(void *arg)
{
	struct race *r = arg;

	r->got = weft_sock_recv(r->s, r->buf, sizeof(r->buf));
	return 0;
}

/* Data arrives and the reader is cancelled in the same turn, many times: whatever it did not
 * return is still in the socket; nothing is lost or read twice. */
static int cancel_race_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	int data_returned = 0, cancelled = 0;

	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	for (int i = 0; i < 200; i++) {
		struct race r = {.s = s};
		char msg[16], rest[64];
		weft_task *t;
		ssize_t n;

		snprintf(msg, sizeof(msg), "m%05d", i);
		ck_assert_int_eq(weft_task_spawn(&t, race_reader, &r, NULL), 0);
		wait_parked(t);
		switch (i % 3) {
		case 0: /* the data is in before the cancel is even queued */
			ck_assert_int_eq(weft_sock_send(c, msg, 6), 6);
			weft_task_cancel(t);
			break;
		case 1: /* the cancel goes to the kernel in the same batch as the send, first */
			weft_task_cancel(t);
			ck_assert_int_eq(weft_sock_send(c, msg, 6), 6);
			break;
		case 2: /* the data lands (plain syscall) while the recv's completion is pending */
			ck_assert_int_eq(write(weft_sock_fd(c), msg, 6), 6);
			weft_task_cancel(t);
			break;
		}
		join_status(t);
		if (r.got == 6) {
			ck_assert_int_eq(memcmp(r.buf, msg, 6), 0);
			data_returned++;
			continue;
		}
		ck_assert_int_eq(r.got, -ECANCELED);
		cancelled++;
		n = weft_sock_recv(s, rest, sizeof(rest));
		ck_assert_int_eq(n, 6);
		ck_assert_int_eq(memcmp(rest, msg, 6), 0);
	}
	/* Both outcomes happened (so both paths were checked). */
	ck_assert_int_gt(data_returned, 0);
	ck_assert_int_gt(cancelled, 0);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(cancel_read_race, cancel_race_main)

static int deadline_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	weft_scope sc;
	char buf[16];
	int64_t t0 = weft_now();

	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	weft_scope_enter(&sc, weft_now() + 50 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&sc), -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	/* The socket is fine afterwards. */
	ck_assert_int_eq(weft_sock_send(c, "late", 4), 4);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 4);
	/* And an accept with nobody connecting times out too. */
	weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0);
	weft_sock *x;
	ck_assert_int_eq(weft_sock_accept(l, &x, NULL), -ETIMEDOUT);
	weft_scope_exit(&sc);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(io_deadline, deadline_main)

/* ---- streams, gathered sends, sendfile ------------------------------------------------------ */

static int stream_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	weft_stream *cs, *ss, *again;
	char line[64];
	size_t got;
	int before;

	l = listen_lo("127.0.0.1", &a, 0);
	before = fd_count();
	tcp_pair(l, &a, &c, &s);
	ck_assert_int_eq(weft_sock_stream(c, NULL, &cs), 0);
	ck_assert_int_eq(weft_sock_stream(c, NULL, &again), 0);
	ck_assert_ptr_eq(cs, again);
	ck_assert_int_eq(weft_sock_stream(s, NULL, &ss), 0);
	ck_assert_int_eq(weft_stream_write(cs, "one\ntwo\nthree", 13), 13);
	ck_assert_int_eq(weft_stream_shutdown(cs), 0); /* half close through the stream */
	ck_assert_int_eq(weft_stream_read_line(ss, line, sizeof(line), 0), 4);
	ck_assert_int_eq(memcmp(line, "one\n", 4), 0);
	ck_assert_int_eq(weft_stream_read_exactly(ss, line, 4, &got), 0);
	ck_assert_int_eq(memcmp(line, "two\n", 4), 0);
	ck_assert_int_eq(weft_stream_read_exactly(ss, line, 10, &got), -ENODATA);
	ck_assert_uint_eq(got, 5);
	ck_assert_int_eq(memcmp(line, "three", 5), 0);
	ck_assert_int_eq(weft_stream_write(ss, "bye", 3), 3);
	ck_assert_int_eq(weft_stream_read(cs, line, sizeof(line)), 3);
	/* Closing the stream closes the socket, and the other way round. */
	ck_assert_int_eq(weft_stream_close(cs), 0);
	ck_assert_int_eq(weft_sock_close(s), 0);
	ck_assert_int_eq(fd_count(), before);
	weft_sock_close(l);
	return 0;
}

FIBER_TEST(stream_over_tcp, stream_main)

static int line_reader(void *arg)
{
	char line[64];

	return (int)weft_stream_read_line(arg, line, sizeof(line), 0);
}

/* A line read cancelled half way: the half that arrived stays buffered for the next read. */
static int stream_cancel_main(void *arg)
{
	weft_sock *l, *c, *s, *x;
	weft_sockaddr a;
	weft_stream *st;
	weft_task *t;
	char line[64];

	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	ck_assert_int_eq(weft_sock_stream(s, NULL, &st), 0);
	ck_assert_int_eq(weft_task_spawn(&t, line_reader, st, NULL), 0);
	wait_parked(t);
	ck_assert_int_eq(weft_sock_send(c, "first ha", 8), 8);
	while (weft_stream_buffered(st) < 8) /* the reader took it in and waits for the rest */
		ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	weft_task_cancel(t);
	ck_assert_int_eq(join_status(t), -ECANCELED);
	ck_assert_int_eq(weft_sock_send(c, "lf\nsecond\n", 10), 10);
	ck_assert_int_eq(weft_stream_read_line(st, line, sizeof(line), 0), 11);
	ck_assert_int_eq(memcmp(line, "first half\n", 11), 0);
	ck_assert_int_eq(weft_stream_read_line(st, line, sizeof(line), 0), 7);
	/* accept on a socket that does not listen */
	ck_assert_int_eq(weft_sock_accept(c, &x, NULL), -EINVAL);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(stream_cancel_keeps_data, stream_cancel_main)

struct bulk {
	weft_sock *s;
	size_t len;
	uint64_t sum; /* of what the reader saw, weighted by position */
};

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 11));
}

static int bulk_reader(void *arg)
{
	struct bulk *b = arg;
	char buf[8192];
	size_t pos = 0;
	ssize_t n;

	while ((n = weft_sock_recv(b->s, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++, pos++)
			if ((uint8_t)buf[i] != pattern(pos))
				return -EILSEQ;
	}
	return n < 0 ? (int)n : pos == b->len ? 0 : -ENODATA;
}

/* 200 iovecs of odd sizes (more than one sendmsg batch), a few MB in all, checked byte by byte. */
static int sendv_main(void *arg)
{
	enum { NIOV = 200 };
	static struct iovec iov[NIOV];
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	struct bulk b;
	weft_task *t;
	size_t total = 0;
	char *mem;

	for (int i = 0; i < NIOV; i++)
		total += (size_t)(i % 7 == 0 ? 0 : 1 + i * 97);
	mem = malloc(total);
	for (size_t i = 0; i < total; i++)
		mem[i] = (char)pattern(i);
	for (int i = 0, off = 0; i < NIOV; i++) {
		iov[i].iov_base = mem + off;
		iov[i].iov_len = (size_t)(i % 7 == 0 ? 0 : 1 + i * 97);
		off += (int)iov[i].iov_len;
	}
	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	b = (struct bulk){.s = s, .len = total};
	ck_assert_int_eq(weft_task_spawn(&t, bulk_reader, &b, NULL), 0);
	ck_assert_int_eq(weft_sock_sendv(c, iov, NIOV), (ssize_t)total);
	ck_assert_int_eq(weft_sock_sendv(c, iov, 0), 0);
	ck_assert_int_eq(weft_sock_sendv(c, iov, -1), -EINVAL);
	struct iovec wrap[2] = {{mem, SIZE_MAX}, {mem, 2}}; /* a sum that wraps: nothing sent */
	ck_assert_int_eq(weft_sock_sendv(c, wrap, 2), -EINVAL);
	weft_sock_shutdown(c, SHUT_WR);
	ck_assert_int_eq(join_status(t), 0);
	free(mem);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(sendv_gather, sendv_main)

static int sendfile_main(void *arg)
{
	const size_t len = 300 * 1000 + 17;
	char path[300];
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	struct bulk b;
	weft_task *t;
	char *mem = malloc(len);
	int fd;

	snprintf(path, sizeof(path), "%s/file", tmp_dir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < len; i++)
		mem[i] = (char)pattern(i);
	ck_assert_int_eq(write(fd, mem, len), (ssize_t)len);
	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	b = (struct bulk){.s = s, .len = len};
	ck_assert_int_eq(weft_task_spawn(&t, bulk_reader, &b, NULL), 0);
	/* In two pieces: a counted one, then "to the end of the file". */
	ck_assert_int_eq(weft_sock_sendfile(c, fd, 0, 100000), 100000);
	ck_assert_int_eq(weft_sock_sendfile(c, fd, 100000, 0), (ssize_t)(len - 100000));
	ck_assert_int_eq(weft_sock_sendfile(c, fd, (off_t)len, 0), 0); /* at EOF */
	weft_sock_shutdown(c, SHUT_WR);
	ck_assert_int_eq(join_status(t), 0);
	ck_assert_int_eq(weft_sock_sendfile(c, fd, 0, 10), -EPIPE);
	close(fd);
	unlink(path);
	free(mem);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(sendfile_splice, sendfile_main)

/* A sendfile cut short by its deadline (the peer reads nothing) returns exactly what the socket
 * took, so resuming at off + count neither skips nor repeats a byte. */
static int sendfile_deadline_main(void *arg)
{
	static char chunk[65536];
	const size_t len = 64 * sizeof(chunk);
	int sz = 4096, fd;
	static char buf[65536];
	char path[300];
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	weft_scope sc;
	ssize_t r, n;
	size_t got = 0;

	snprintf(path, sizeof(path), "%s/file", tmp_dir());
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	memset(chunk, 'a', sizeof(chunk));
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	ck_assert_int_eq(setsockopt(weft_sock_fd(c), SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(setsockopt(weft_sock_fd(s), SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 100 * WEFT_MSEC, 0), 0);
	r = weft_sock_sendfile(c, fd, 0, len);
	weft_scope_exit(&sc);
	ck_assert_int_gt(r, 0); /* some went: the socket buffers hold at least a few KiB */
	ck_assert_int_lt(r, (ssize_t)len);
	weft_sock_shutdown(c, SHUT_WR);
	while ((n = weft_sock_recv(s, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(got, (size_t)r);
	close(fd);
	unlink(path);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(sendfile_deadline_count, sendfile_deadline_main)

/* Both directions at once, a few MB each: a reader and a writer fiber per side. */
static int bulk_writer(void *arg)
{
	struct bulk *b = arg;
	char buf[10000];
	size_t pos = 0;

	while (pos < b->len) {
		size_t n = b->len - pos < sizeof(buf) ? b->len - pos : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)pattern(pos + i);
		if (weft_sock_send(b->s, buf, n) != (ssize_t)n)
			return -EIO;
		pos += n;
	}
	return weft_sock_shutdown(b->s, SHUT_WR);
}

static int duplex_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	weft_task *t[4];
	struct bulk b[4];

	l = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(l, &a, &c, &s);
	for (int i = 0; i < 4; i++) {
		b[i] = (struct bulk){.s = i % 2 ? s : c, .len = 4 << 20};
		ck_assert_int_eq(
		    weft_task_spawn(&t[i], i < 2 ? bulk_writer : bulk_reader, &b[i], NULL), 0);
	}
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(join_status(t[i]), 0);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(full_duplex, duplex_main)

/* Plain I/O and its cancellation under the fallback ring set-ups (COOP_TASKRUN, and none). */
static int ring_modes_main(void *arg)
{
	ck_assert_int_eq(echo_main("127.0.0.1"), 0);
	ck_assert_int_eq(cancel_race_main(NULL), 0);
	return 0;
}

START_TEST(ring_modes)
{
	run_in_ring_mode(ring_modes_main, _i);
}
END_TEST

START_TEST(outside_fiber)
{
	weft_sock *s;
	weft_sockaddr a;
	char buf[4];

	addr_of(&a, "127.0.0.1:1");
	ck_assert_int_eq(weft_tcp_listen(&s, &a, NULL), -EPERM); /* no loop on this thread */
	ck_assert_int_eq(weft_tcp_connect(&s, &a), -EPERM);
	ck_assert_int_eq(weft_sock_recv(NULL, buf, 1), -EINVAL);
	ck_assert_int_eq(weft_sock_close(NULL), 0);
	ck_assert_int_eq(weft_sock_fd(NULL), -EBADF);
}
END_TEST

static Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("tcp");

	tcase_add_test(tc, addr_parse_format);
	tcase_add_test(tc, addr_malformed);
	tcase_add_test(tc, malformed_nothing_opened);
	tcase_add_test(tc, resolve_localhost);
	tcase_add_test(tc, resolve_interrupted);
	tcase_add_test(tc, tcp_echo_v4);
	tcase_add_test(tc, tcp_echo_v6);
	tcase_add_test(tc, connect_refused);
	tcase_add_test(tc, connect_timeout);
	tcase_add_test(tc, half_close);
	tcase_add_test(tc, abort_reset);
	tcase_add_test(tc, urgent_mark_short_read);
	tcase_add_test(tc, peer_gone_no_sigpipe);
	tcase_add_test(tc, cancel_read_race);
	tcase_add_test(tc, io_deadline);
	tcase_add_test(tc, stream_over_tcp);
	tcase_add_test(tc, stream_cancel_keeps_data);
	tcase_add_test(tc, sendv_gather);
	tcase_add_test(tc, null_buffers);
	tcase_add_test(tc, sendfile_splice);
	tcase_add_test(tc, sendfile_deadline_count);
	tcase_add_test(tc, full_duplex);
	tcase_add_loop_test(tc, ring_modes, 0, 2);
	tcase_add_test(tc, outside_fiber);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(net_suite)

/* SPDX-License-Identifier: MIT */
/*
 * net/ datagrams and Unix sockets: UDP (addressed, connected, truncation, multicast), Unix
 * stream / datagram / seqpacket sockets by path and abstract name, socketpairs, fd passing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/stat.h>

#include "check_main.h"
#include "test_net_util.h"

/* ---- UDP ----------------------------------------------------------------------------------- */

static int udp_main(void *arg)
{
	const char *ip = arg;
	weft_sockaddr any, srv_addr, from, cli_addr;
	weft_sock *srv, *cli;
	char buf[64];
	unsigned flags = 99;

	ck_assert_int_eq(weft_addr_inet(&any, ip, 0), 0);
	if (weft_udp_open(&srv, &any, NULL, 0) == -EADDRNOTAVAIL)
		return 0; /* no IPv6 here */
	ck_assert_int_eq(weft_sock_local_addr(srv, &srv_addr), 0);
	ck_assert_int_eq(weft_udp_open(&cli, &any, NULL, WEFT_UDP_REUSEADDR), 0);
	ck_assert_int_eq(weft_sock_local_addr(cli, &cli_addr), 0);
	ck_assert_int_eq(weft_sock_sendto(cli, "hello", 5, &srv_addr), 5);
	ck_assert_int_eq(weft_sock_recvfrom(srv, buf, sizeof(buf), &from, &flags), 5);
	ck_assert_uint_eq(flags, 0);
	ck_assert_int_eq(from.len, cli_addr.len);
	ck_assert_int_eq(memcmp(&from.ss, &cli_addr.ss, from.len), 0);
	ck_assert_int_eq(weft_sock_sendto(srv, "world!", 6, &from), 6);
	ck_assert_int_eq(weft_sock_recvfrom(cli, buf, sizeof(buf), NULL, NULL), 6);
	ck_assert_int_eq(memcmp(buf, "world!", 6), 0);
	/* An empty datagram is a datagram. */
	ck_assert_int_eq(weft_sock_sendto(cli, "", 0, &srv_addr), 0);
	ck_assert_int_eq(weft_sock_recvfrom(srv, buf, sizeof(buf), NULL, NULL), 0);
	weft_sock_close(srv);
	weft_sock_close(cli);
	return 0;
}

START_TEST(udp_v4)
{
	run_main(udp_main, "127.0.0.1");
}
END_TEST

START_TEST(udp_v6)
{
	run_main(udp_main, "::1");
}
END_TEST

static int truncation_main(void *arg)
{
	weft_sockaddr a;
	weft_sock *srv, *cli;
	char big[100], buf[10];
	unsigned flags = 0;

	memset(big, 'x', sizeof(big));
	addr_of(&a, "127.0.0.1:0");
	ck_assert_int_eq(weft_udp_open(&srv, &a, NULL, 0), 0);
	ck_assert_int_eq(weft_sock_local_addr(srv, &a), 0);
	ck_assert_int_eq(weft_udp_open(&cli, NULL, &a, 0), 0); /* connected */
	ck_assert_int_eq(weft_sock_send_some(cli, big, sizeof(big)), sizeof(big));
	ck_assert_int_eq(weft_sock_send_some(cli, big, sizeof(big)), sizeof(big));
	ck_assert_int_eq(weft_sock_send_some(cli, "short", 5), 5);
	/* Reported in flags, or as an error when nobody asked for flags. */
	ck_assert_int_eq(weft_sock_recvfrom(srv, buf, sizeof(buf), NULL, &flags), 10);
	ck_assert_uint_eq(flags, WEFT_MSG_TRUNC);
	ck_assert_int_eq(weft_sock_recvfrom(srv, buf, sizeof(buf), NULL, NULL), -EMSGSIZE);
	/* The rest of a truncated datagram is gone; the next one is whole. */
	ck_assert_int_eq(weft_sock_recvfrom(srv, buf, sizeof(buf), NULL, &flags), 5);
	ck_assert_uint_eq(flags, 0);
	ck_assert_int_eq(memcmp(buf, "short", 5), 0);
	weft_sock_close(srv);
	weft_sock_close(cli);
	return 0;
}

FIBER_TEST(udp_truncation, truncation_main)

/* A connected UDP socket learns (ICMP port unreachable) that nobody receives. */
static int udp_refused_main(void *arg)
{
	weft_sockaddr a;
	weft_sock *s, *c;
	weft_scope sc;
	char buf[8];
	ssize_t r;

	addr_of(&a, "127.0.0.1:0");
	ck_assert_int_eq(weft_udp_open(&s, &a, NULL, 0), 0);
	ck_assert_int_eq(weft_sock_local_addr(s, &a), 0);
	weft_sock_close(s);
	ck_assert_int_eq(weft_udp_open(&c, NULL, &a, 0), 0);
	ck_assert_int_eq(weft_sock_send_some(c, "?", 1), 1);
	weft_scope_enter(&sc, weft_now() + 5 * WEFT_SEC, 0);
	r = weft_sock_recv(c, buf, sizeof(buf));
	weft_scope_exit(&sc);
	ck_assert_int_eq(r, -ECONNREFUSED);
	/* And a receive with nothing coming times out. */
	weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_sock_recvfrom(c, buf, sizeof(buf), NULL, NULL), -ETIMEDOUT);
	weft_scope_exit(&sc);
	ck_assert_int_eq(weft_sock_sendto(c, "x", 1, &(weft_sockaddr){0}), -EINVAL);
	weft_sock_close(c);
	return 0;
}

FIBER_TEST(udp_refused, udp_refused_main)

static int multicast_main(void *arg)
{
	weft_sockaddr group, any, notmc;
	weft_sock *rx, *tx;
	unsigned lo = if_nametoindex("lo");
	struct in_addr lo_ip = {htonl(INADDR_LOOPBACK)};
	char buf[16];
	int r;

	addr_of(&any, "0.0.0.0:0");
	ck_assert_int_eq(weft_udp_open(&rx, &any, NULL, WEFT_UDP_REUSEADDR), 0);
	ck_assert_int_eq(weft_sock_local_addr(rx, &any), 0);
	ck_assert_int_eq(weft_addr_inet(&group, "239.255.42.99", (uint16_t)weft_addr_port(&any)),
			 0);
	addr_of(&notmc, "10.0.0.1:0");
	ck_assert_int_eq(weft_udp_multicast_join(rx, &notmc, 0), -EINVAL);
	ck_assert_int_eq(weft_udp_multicast_leave(rx, &group, lo), -EADDRNOTAVAIL);
	r = weft_udp_multicast_join(rx, &group, lo);
	if (r == -ENODEV) { /* no multicast on this machine's loopback: errors checked above */
		weft_sock_close(rx);
		return 0;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(weft_udp_open(&tx, NULL, &group, 0), 0);
	ck_assert_int_eq(weft_udp_multicast_loop(tx, true), 0);
	ck_assert_int_eq(
	    setsockopt(weft_sock_fd(tx), IPPROTO_IP, IP_MULTICAST_IF, &lo_ip, sizeof(lo_ip)), 0);
	ck_assert_int_eq(weft_sock_send_some(tx, "mc", 2), 2);
	ck_assert_int_eq(weft_sock_recvfrom(rx, buf, sizeof(buf), NULL, NULL), 2);
	ck_assert_int_eq(weft_udp_multicast_leave(rx, &group, lo), 0);
	weft_sock_close(tx);
	weft_sock_close(rx);
	return 0;
}

FIBER_TEST(udp_multicast, multicast_main)

/* ---- Unix sockets ---------------------------------------------------------------------------- */

static void unix_echo_once(const weft_sockaddr *a)
{
	weft_sock *l, *c, *s;
	char buf[8];

	ck_assert_int_eq(weft_unix_listen(&l, a, NULL), 0);
	ck_assert_int_eq(weft_unix_connect(&c, a, SOCK_STREAM), 0);
	ck_assert_int_eq(weft_sock_accept(l, &s, NULL), 0);
	ck_assert_int_eq(weft_sock_send(c, "unix", 4), 4);
	ck_assert_int_eq(weft_sock_recv(s, buf, sizeof(buf)), 4);
	ck_assert_int_eq(weft_sock_shutdown(s, SHUT_WR), 0);
	ck_assert_int_eq(weft_sock_recv(c, buf, sizeof(buf)), 0);
	close3(c, s, l);
}

static int unix_stream_main(void *arg)
{
	char path[300], abs[64];
	weft_sockaddr a;
	weft_sock *l, *c;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/s.sock", tmp_dir());
	ck_assert_int_eq(weft_addr_unix(&a, path), 0);
	unix_echo_once(&a);
	/* The file stays after close; listening again removes the stale one. */
	ck_assert_int_eq(stat(path, &st), 0);
	unix_echo_once(&a);
	ck_assert_int_eq(
	    weft_unix_listen(&l, &a, &(struct weft_listen_opts){.flags = WEFT_LISTEN_NO_UNLINK}),
	    -EADDRINUSE);
	/* A file that is not a socket is never removed. */
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	ck_assert_int_eq(weft_unix_listen(&l, &a, NULL), -EADDRINUSE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	unlink(path);
	ck_assert_int_eq(weft_unix_connect(&c, &a, SOCK_STREAM), -ENOENT);
	/* The abstract namespace: no file at all. */
	snprintf(abs, sizeof(abs), "@weft-test-%d", (int)getpid());
	ck_assert_int_eq(weft_addr_unix(&a, abs), 0);
	unix_echo_once(&a);
	ck_assert_int_eq(weft_unix_connect(&c, &a, SOCK_STREAM), -ECONNREFUSED);
	return 0;
}

FIBER_TEST(unix_stream, unix_stream_main)

static int unix_dgram_main(void *arg)
{
	char p1[300], p2[300], text[WEFT_ADDR_STRLEN];
	weft_sockaddr a1, a2, from;
	weft_sock *s1, *s2, *anon;
	char buf[16];
	const char *dir = tmp_dir();

	snprintf(p1, sizeof(p1), "%s/d1", dir);
	snprintf(p2, sizeof(p2), "%s/d2", dir);
	ck_assert_int_eq(weft_addr_unix(&a1, p1), 0);
	ck_assert_int_eq(weft_addr_unix(&a2, p2), 0);
	ck_assert_int_eq(weft_unix_dgram(&s1, &a1, NULL), 0);
	ck_assert_int_eq(weft_unix_dgram(&s2, &a2, &a1), 0);
	ck_assert_int_eq(weft_sock_send_some(s2, "to-one", 6), 6);
	ck_assert_int_eq(weft_sock_recvfrom(s1, buf, sizeof(buf), &from, NULL), 6);
	ck_assert_int_eq(weft_addr_format(&from, text, sizeof(text)), (int)strlen(p2));
	ck_assert_str_eq(text, p2);
	ck_assert_int_eq(weft_sock_sendto(s1, "back", 4, &from), 4);
	ck_assert_int_eq(weft_sock_recv(s2, buf, sizeof(buf)), 4);
	/* An unnamed sender: the receiver sees an empty address. */
	ck_assert_int_eq(weft_unix_dgram(&anon, NULL, NULL), 0);
	ck_assert_int_eq(weft_sock_sendto(anon, "anon", 4, &a1), 4);
	ck_assert_int_eq(weft_sock_recvfrom(s1, buf, sizeof(buf), &from, NULL), 4);
	ck_assert_int_eq(weft_addr_format(&from, text, sizeof(text)), 0);
	/* Connected to a datagram socket that went away. */
	weft_sock_close(s1);
	unlink(p1);
	ck_assert_int_lt(weft_sock_send_some(s2, "x", 1), 0);
	ck_assert_int_eq(weft_unix_connect(&s1, &a1, SOCK_DGRAM), -ENOENT);
	weft_sock_close(s2);
	weft_sock_close(anon);
	unlink(p2);
	return 0;
}

FIBER_TEST(unix_dgram, unix_dgram_main)

static int seqpacket_main(void *arg)
{
	weft_sock *a, *b;
	char buf[16];

	ck_assert_int_eq(weft_unix_socketpair(SOCK_SEQPACKET, &a, &b), 0);
	ck_assert_int_eq(weft_sock_send(a, "one", 3), 3);
	ck_assert_int_eq(weft_sock_send(a, "two!", 4), 4);
	ck_assert_int_eq(weft_sock_recv(b, buf, sizeof(buf)), 3); /* boundaries kept */
	ck_assert_int_eq(weft_sock_recv(b, buf, sizeof(buf)), 4);
	weft_sock_close(a);
	ck_assert_int_eq(weft_sock_recv(b, buf, sizeof(buf)), 0);
	weft_sock_close(b);
	return 0;
}

FIBER_TEST(socketpair_seqpacket, seqpacket_main)

/* ---- fd passing ---------------------------------------------------------------------------- */

static int fds_main(void *arg)
{
	weft_sock *a, *b, *w;
	int p[2], got[WEFT_UNIX_MAX_FDS], before;
	unsigned n, flags;
	char buf[8];

	ck_assert_int_eq(weft_unix_socketpair(SOCK_STREAM, &a, &b), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	/* The write end travels; what the receiver writes into its copy comes out here. */
	ck_assert_int_eq(weft_unix_send_fds(a, "F", 1, &p[1], 1), 1);
	n = 4;
	ck_assert_int_eq(weft_unix_recv_fds(b, buf, sizeof(buf), got, &n, &flags), 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(flags, 0);
	ck_assert_int_ne(got[0], p[1]);
	ck_assert_int_eq(fcntl(got[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(write(got[0], "via", 3), 3);
	ck_assert_int_eq(read(p[0], buf, sizeof(buf)), 3);
	close(got[0]);
	/* Three fds into room for one: the kernel closes two, and says so. */
	before = fd_count();
	int three[3] = {p[0], p[1], p[1]};
	ck_assert_int_eq(weft_unix_send_fds(a, "G", 1, three, 3), 1);
	n = 1;
	ck_assert_int_eq(weft_unix_recv_fds(b, buf, sizeof(buf), got, &n, &flags), 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(flags, WEFT_MSG_CTRUNC);
	close(got[0]);
	/* Without flags the truncated message is an error, and nothing received stays open. */
	ck_assert_int_eq(weft_unix_send_fds(a, "H", 1, three, 3), 1);
	n = 2;
	ck_assert_int_eq(weft_unix_recv_fds(b, buf, sizeof(buf), got, &n, NULL), -EMSGSIZE);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(fd_count(), before);
	/* Plain bytes through recv_fds: no fds. */
	ck_assert_int_eq(weft_sock_send(a, "plain", 5), 5);
	n = 4;
	ck_assert_int_eq(weft_unix_recv_fds(b, buf, sizeof(buf), got, &n, NULL), 5);
	ck_assert_uint_eq(n, 0);
	/* A received socket fd, wrapped, is a weft_sock like any other. */
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(weft_unix_send_fds(a, "S", 1, &sv[1], 1), 1);
	close(sv[1]);
	n = 1;
	ck_assert_int_eq(weft_unix_recv_fds(b, buf, sizeof(buf), got, &n, NULL), 1);
	ck_assert_int_eq(weft_sock_wrap(&w, got[0]), 0);
	ck_assert_int_eq(write(sv[0], "wrapped", 7), 7);
	ck_assert_int_eq(weft_sock_recv(w, buf, sizeof(buf)), 7);
	weft_sock_close(w);
	close(sv[0]);
	ck_assert_int_eq(weft_sock_wrap(&w, p[0]), -EBADF); /* a pipe is no socket */
	ck_assert_int_eq(weft_unix_send_fds(a, "", 0, &p[0], 1), -EINVAL);
	ck_assert_int_eq(weft_unix_send_fds(a, "x", 1, &p[0], WEFT_UNIX_MAX_FDS + 1), -EINVAL);
	int bad = 12345;
	ck_assert_int_eq(weft_unix_send_fds(a, "x", 1, &bad, 1), -EBADF);
	close(p[0]);
	close(p[1]);
	weft_sock_close(a);
	weft_sock_close(b);
	return 0;
}

START_TEST(fd_passing)
{
	int before = fd_count();

	run_main(fds_main, NULL);
	ck_assert_int_eq(fd_count(), before);
}
END_TEST

static Suite *dgram_suite(void)
{
	Suite *s = suite_create("net_dgram");
	TCase *tc = tcase_create("dgram");

	tcase_add_test(tc, udp_v4);
	tcase_add_test(tc, udp_v6);
	tcase_add_test(tc, udp_truncation);
	tcase_add_test(tc, udp_refused);
	tcase_add_test(tc, udp_multicast);
	tcase_add_test(tc, unix_stream);
	tcase_add_test(tc, unix_dgram);
	tcase_add_test(tc, socketpair_seqpacket);
	tcase_add_test(tc, fd_passing);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(dgram_suite)

/* SPDX-License-Identifier: MIT */
/* Helpers shared by the net suites (tests/test_net*.c). */
#ifndef WEFT_TESTS_NET_UTIL_H
#define WEFT_TESTS_NET_UTIL_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "weft.h"
#include "weft/net.h"

#include "timing.h"

static inline void run_main(int (*fn)(void *), void *arg)
{
	ck_assert_int_eq(weft_run(fn, arg, NULL), 0);
}

/* Run @fn as a loop's main fiber under fallback ring set-up @i: 0 = COOP_TASKRUN instead of
 * DEFER_TASKRUN, 1 = neither (a loop test over 0..1). */
static inline void run_in_ring_mode(int (*fn)(void *), int i)
{
	static const unsigned modes[] = {WEFT_RING_NO_DEFER_TASKRUN,
					 WEFT_RING_NO_DEFER_TASKRUN | WEFT_RING_NO_COOP_TASKRUN};
	struct weft_loop_opts o = {.ring_flags = modes[i]};

	ck_assert_int_eq(weft_run(fn, NULL, &o), 0);
}

/* A test that runs @fn as the main fiber of a fresh loop. */
#define FIBER_TEST(name, fn)        \
	START_TEST(name)            \
	{                           \
		run_main(fn, NULL); \
	}                           \
	END_TEST

/* Under valgrind (make check-valgrind) a few things cannot be tested: another thread cannot wake
 * a loop asleep in io_uring_enter (name lookups use the thread pool), and valgrind keeps fds of
 * its own above the soft RLIMIT_NOFILE, so EMFILE never comes. */
static inline bool under_valgrind(void)
{
	return getenv("WEFT_VALGRIND") != NULL;
}

/* Open fds of this process (to prove a failed call left nothing open). */
static inline int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static inline void addr_of(weft_sockaddr *a, const char *s)
{
	ck_assert_int_eq(weft_addr_parse(a, s), 0);
}

/* A listener on an ephemeral loopback port (@ip "127.0.0.1" or "::1"); its address in @a. */
static inline weft_sock *listen_lo(const char *ip, weft_sockaddr *a, unsigned flags)
{
	struct weft_listen_opts o = {.flags = flags};
	weft_sock *l;

	ck_assert_int_eq(weft_addr_inet(a, ip, 0), 0);
	ck_assert_int_eq(weft_tcp_listen(&l, a, &o), 0);
	ck_assert_int_eq(weft_sock_local_addr(l, a), 0);
	return l;
}

/* A connected TCP pair over @l (the connect completes through the backlog, then accept). */
static inline void tcp_pair(weft_sock *l, const weft_sockaddr *a, weft_sock **client,
			    weft_sock **server)
{
	ck_assert_int_eq(weft_tcp_connect(client, a), 0);
	ck_assert_int_eq(weft_sock_accept(l, server, NULL), 0);
}

/* Close a test's sockets (a client, its server side, their listener). */
static inline void close3(weft_sock *a, weft_sock *b, weft_sock *c)
{
	ck_assert_int_eq(weft_sock_close(a), 0);
	ck_assert_int_eq(weft_sock_close(b), 0);
	ck_assert_int_eq(weft_sock_close(c), 0);
}

/* A private directory for Unix socket paths. */
static inline const char *tmp_dir(void)
{
	static char dir[256];
	const char *base = getenv("WEFT_TEST_TMP");

	snprintf(dir, sizeof(dir), "%s/netXXXXXX", base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/* Raise RLIMIT_NOFILE's soft limit to at least @want (as far as the hard limit allows). */
static inline rlim_t raise_nofile(rlim_t want)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	return rl.rlim_cur;
}

/* Use up every fd below a lowered RLIMIT_NOFILE but @room: dups of 0 fill the gaps, their
 * number goes to *@n (close them with release_fds). */
static inline void starve_fds(int *spare, int max, int *n, int room)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = (rlim_t)fd_count() + 8;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	*n = 0;
	while (*n < max && (spare[*n] = dup(0)) >= 0)
		(*n)++;
	ck_assert_int_lt(*n, max);
	while (room-- && *n)
		close(spare[--*n]);
}

static inline void release_fds(int *spare, int *n)
{
	struct rlimit rl;

	while (*n)
		close(spare[--*n]);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

static inline int join_status(weft_task *t)
{
	int status = 12345;

	ck_assert_int_eq(weft_task_join(t, &status), 0);
	return status;
}

/* Let other tasks run until @t is parked. */
static inline void wait_parked(weft_task *t)
{
	for (int i = 0; i < 1000 && weft_task_state(t) != WEFT_TASK_PARKED; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
}

#endif

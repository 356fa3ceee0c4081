/* SPDX-License-Identifier: MIT */
/*
 * Backends: AUTO falls back to epoll readiness where io_uring is refused (a child process under
 * a seccomp filter like Docker's default profile runs a TCP echo there), the choice by option
 * and by env WEFT_BACKEND, bad choices, weft_loop_backend and weft_backend_name.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "weft/net.h"
#include "check_main.h"
#include "fork_child.h"
#include "seccomp_filter.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* Each case starts and ends without WEFT_BACKEND (tests/run sets it for its epoll pass). */
static void clear_env(void)
{
	unsetenv("WEFT_BACKEND");
}

/* The backend a loop made with @opts runs on, or weft_loop_new()'s error. */
static int backend_of(const struct weft_loop_opts *opts)
{
	weft_loop *l = NULL;
	int r = weft_loop_new(&l, opts);

	if (r)
		return r;
	r = weft_loop_backend(l);
	ck_assert_int_eq(weft_loop_close(l), 0);
	return r;
}

/* 0 if this machine lets us set up a ring, else the refusal (-EPERM under make check-seccomp). */
static int uring_error(void)
{
	const struct weft_loop_opts o = {.backend = WEFT_BACKEND_URING};
	int r = backend_of(&o);

	return r == WEFT_BACKEND_URING ? 0 : r;
}

#define SKIP_WITHOUT_URING(what)                                                              \
	do {                                                                                  \
		int err_ = uring_error();                                                     \
		if (err_) {                                                                   \
			fprintf(stderr, "%s: skipped, io_uring is refused here (%s)\n", what, \
				strerror(-err_));                                             \
			return;                                                               \
		}                                                                             \
	} while (0)

/*
 * For code that cannot use ck_assert (fibers of the seccomp child, which is not Check's): say
 * what failed on stderr and return the line from the enclosing function (0 means success).
 */
#define EXPECT(cond)                                                                       \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
			return __LINE__;                                                   \
		}                                                                          \
	} while (0)

/* ---- a TCP echo over 127.0.0.1 ------------------------------------------------------------ */

/* Big enough, with a small send buffer, that sends are taken in parts and wait for room. */
#define ECHO_LEN (256 * 1024)
static unsigned char sent[ECHO_LEN], echoed[ECHO_LEN];

struct echo {
	weft_sock *listener;
	weft_sockaddr addr;
};

/* Accept one connection and send back what arrives until the client shuts down its side. */
static int echo_server(void *arg)
{
	static unsigned char buf[16384];
	struct echo *e = arg;
	weft_sock *conn;
	ssize_t n;

	EXPECT(weft_sock_accept(e->listener, &conn, NULL) == 0);
	while ((n = weft_sock_recv(conn, buf, sizeof(buf))) > 0)
		if (weft_sock_send(conn, buf, (size_t)n) != n)
			break;
	EXPECT(weft_sock_close(conn) == 0); /* even after a failure: the client sees it end */
	EXPECT(n == 0);
	return 0;
}

static int echo_sender(void *arg)
{
	weft_sock *c = arg;

	EXPECT(weft_sock_send(c, sent, ECHO_LEN) == ECHO_LEN);
	EXPECT(weft_sock_shutdown(c, SHUT_WR) == 0);
	return 0;
}

/* Send the pattern from one fiber while this one reads the echo back. */
static int echo_client(void *arg)
{
	struct echo *e = arg;
	int sndbuf = 4096, status = -1;
	weft_task *sender;
	weft_sock *c;
	size_t got = 0;
	ssize_t n = 0;

	EXPECT(weft_tcp_connect(&c, &e->addr) == 0);
	EXPECT(setsockopt(weft_sock_fd(c), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) == 0);
	EXPECT(weft_task_spawn(&sender, echo_sender, c, NULL) == 0);
	while (got < ECHO_LEN && (n = weft_sock_recv(c, echoed + got, ECHO_LEN - got)) > 0)
		got += (size_t)n;
	EXPECT(weft_task_join(sender, &status) == 0);
	EXPECT(status == 0);
	EXPECT(n > 0 && got == ECHO_LEN);
	EXPECT(memcmp(sent, echoed, ECHO_LEN) == 0);
	EXPECT(weft_sock_recv(c, echoed, 1) == 0); /* the server closed after our shutdown */
	EXPECT(weft_sock_close(c) == 0);
	return 0;
}

/* A listener fiber (this one's child) and a client fiber; 0, or the line that failed. */
static int echo_main(void *arg)
{
	int server_status = -1, client_status = -1;
	weft_task *server, *client;
	struct echo e;

	for (size_t i = 0; i < ECHO_LEN; i++)
		sent[i] = (unsigned char)(i * 7 + i / 251);
	memset(echoed, 0, sizeof(echoed));
	EXPECT(weft_addr_inet(&e.addr, "127.0.0.1", 0) == 0);
	EXPECT(weft_tcp_listen(&e.listener, &e.addr, NULL) == 0);
	EXPECT(weft_sock_local_addr(e.listener, &e.addr) == 0);
	EXPECT(weft_task_spawn(&server, echo_server, &e, NULL) == 0);
	EXPECT(weft_task_spawn(&client, echo_client, &e, NULL) == 0);
	EXPECT(weft_task_join(client, &client_status) == 0);
	EXPECT(weft_task_join(server, &server_status) == 0);
	EXPECT(weft_sock_close(e.listener) == 0);
	return client_status ? client_status : server_status;
}

/* ---- AUTO under a seccomp filter that refuses io_uring -------------------------------------- */

/* What the child's exit status says. */
enum child_exit {
	CHILD_OK = 0,
	CHILD_FILTER = 10,  /* the filter could not be installed */
	CHILD_NOT_REFUSED,  /* io_uring still answers under it */
	CHILD_AUTO_NEW,	    /* weft_loop_new with default options failed */
	CHILD_AUTO_BACKEND, /* ... or its loop is not on epoll */
	CHILD_ECHO,	    /* the TCP echo on that loop failed */
	CHILD_CLOSE,	    /* weft_loop_close left something */
	CHILD_URING_FORCED, /* opts.backend URING did not fail with -EPERM */
	CHILD_URING_BY_ENV, /* WEFT_BACKEND=uring did not fail with -EPERM */
	CHILD_EXIT_MAX,
};

static const char *const child_said[CHILD_EXIT_MAX] = {
    [CHILD_OK] = "ok",
    [CHILD_FILTER] = "the seccomp filter could not be installed",
    [CHILD_NOT_REFUSED] = "io_uring still answers under the filter",
    [CHILD_AUTO_NEW] = "weft_loop_new(AUTO) failed under the filter",
    [CHILD_AUTO_BACKEND] = "the AUTO loop is not on WEFT_BACKEND_EPOLL",
    [CHILD_ECHO] = "the TCP echo failed on the epoll loop",
    [CHILD_CLOSE] = "weft_loop_close reported leftovers",
    [CHILD_URING_FORCED] = "opts.backend = WEFT_BACKEND_URING did not fail with -EPERM",
    [CHILD_URING_BY_ENV] = "WEFT_BACKEND=uring did not fail with -EPERM",
};

/* Say on stderr what went wrong (@detail: an error, a status or a line of this file). */
static int child_fail(enum child_exit code, int detail)
{
	fprintf(stderr, "seccomp child: %s (%d%s%s)\n", child_said[code], detail,
		detail < 0 ? ": " : "", detail < 0 ? strerror(-detail) : "");
	return code;
}

/* Runs in a fresh child; returns its exit status. Nothing here may ck_assert. */
static int seccomp_child(void)
{
	const struct weft_loop_opts uring = {.backend = WEFT_BACKEND_URING};
	weft_loop *loop = NULL;
	int r, status = -1;
	weft_task *t;

	r = seccomp_refuse_uring();
	if (r)
		return child_fail(CHILD_FILTER, r);
	if (!seccomp_uring_refused())
		return child_fail(CHILD_NOT_REFUSED, 0);

	r = weft_loop_new(&loop, NULL);
	if (r)
		return child_fail(CHILD_AUTO_NEW, r);
	r = weft_loop_backend(loop);
	if (r != WEFT_BACKEND_EPOLL)
		return child_fail(CHILD_AUTO_BACKEND, r);
	r = weft_loop_spawn(loop, &t, echo_main, NULL, NULL);
	if (!r)
		r = weft_loop_run_until(loop, t, &status);
	if (r || status)
		return child_fail(CHILD_ECHO, r ? r : status);
	r = weft_loop_close(loop);
	if (r)
		return child_fail(CHILD_CLOSE, r);

	loop = NULL;
	r = weft_loop_new(&loop, &uring);
	if (r != -EPERM)
		return child_fail(CHILD_URING_FORCED, r);
	setenv("WEFT_BACKEND", "uring", 1);
	r = weft_loop_new(&loop, NULL);
	if (r != -EPERM)
		return child_fail(CHILD_URING_BY_ENV, r);
	return CHILD_OK;
}

START_TEST(seccomp_auto_falls_back_to_epoll)
{
	int ws, code;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(seccomp_child()); /* env: WEFT_BACKEND unset by the fixture, as AUTO needs */
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_msg(WIFEXITED(ws), "the seccomp child died of signal %d", WTERMSIG(ws));
	code = WEXITSTATUS(ws);
	ck_assert_msg(code == CHILD_OK, "seccomp child: %s (exit %d)",
		      code < CHILD_EXIT_MAX && child_said[code] ? child_said[code] : "?", code);
}
END_TEST

static int nap(void *arg)
{
	return weft_sleep(WEFT_MSEC);
}

/* Runs in a fresh child: 0 if an epoll loop waits fine with epoll_pwait2 refused. */
static int pwait2_child(void)
{
	const struct weft_loop_opts epoll = {.backend = WEFT_BACKEND_EPOLL};

	if (seccomp_refuse_epoll_pwait2())
		return 2;
	return weft_run(nap, NULL, &epoll) ? 1 : 0;
}

/* An allow-list older than epoll_pwait2 (EPERM for it alone): millisecond waits instead. */
START_TEST(epoll_pwait2_refused)
{
	int ws;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(pwait2_child());
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	ck_assert_msg(WIFEXITED(ws), "the child died of signal %d", WTERMSIG(ws));
	ck_assert_int_eq(WEXITSTATUS(ws), 0);
}
END_TEST

/* ---- io_uring_enter or io_uring_register refused, alone ------------------------------------- */

/* Run @child in a fresh process with its stderr in @text: its exit status (0: passed). */
static int in_child(int (*child)(int), int arg, char *text, size_t size)
{
	int ws = fork_child(child, arg, text, size);

	ck_assert_msg(WIFEXITED(ws), "the child died of signal %d; stderr: %s", WTERMSIG(ws), text);
	return WEXITSTATUS(ws);
}

/* In a child: say what failed, exit 1. */
#define CHILD_EXPECT(cond)                                                                 \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
			return 1;                                                          \
		}                                                                          \
	} while (0)

/* Only @nr refused from the start: AUTO falls back to epoll, and io_uring chosen explicitly
 * fails at weft_loop_new, where the README says a refusal shows (before: with only
 * io_uring_register refused, loops were made and failed at their first run). */
static int refused_alone_child(int nr)
{
	const struct weft_loop_opts uring = {.backend = WEFT_BACKEND_URING};
	weft_loop *l = NULL;

	CHILD_EXPECT(seccomp_refuse_calls(&nr, 1) == 0);
	CHILD_EXPECT(weft_loop_new(&l, NULL) == 0);
	CHILD_EXPECT(weft_loop_backend(l) == WEFT_BACKEND_EPOLL);
	CHILD_EXPECT(weft_run(nap, NULL, NULL) == 0); /* and it runs */
	CHILD_EXPECT(weft_loop_close(l) == 0);
	CHILD_EXPECT(weft_loop_new(&l, &uring) == -EPERM);
	CHILD_EXPECT(weft_run(nap, NULL, &uring) == -EPERM); /* says why on stderr */
	return 0;
}

START_TEST(uring_call_refused_alone)
{
	static const int calls[] = {__NR_io_uring_enter, __NR_io_uring_register};
	char text[2048];
	int r;

	SKIP_WITHOUT_URING("uring_call_refused_alone");
	r = in_child(refused_alone_child, calls[_i], text, sizeof(text));
	ck_assert_msg(r == 0, "syscall %d refused: child exit %d; stderr: %s", calls[_i], r, text);
	ck_assert_msg(strstr(text, "cannot create an event loop: Operation not permitted"),
		      "stderr: %s", text);
}
END_TEST

/* Refused after the loop was made: its run fails with the error and says why (before:
 * io_uring_enter failing aborted the process; io_uring_register failing said nothing). The
 * readiness backend the same with its wait refused. */
#define EPOLL_WAITS (-1) /* refused_later_child: every epoll wait call */

static int refused_later_child(int nr)
{
	const int epoll_waits[] = {
#ifdef __NR_epoll_wait
	    __NR_epoll_wait,
#endif
	    __NR_epoll_pwait, __NR_epoll_pwait2};
	const struct weft_loop_opts o = {.backend = nr == EPOLL_WAITS ? WEFT_BACKEND_EPOLL
								      : WEFT_BACKEND_URING};
	weft_loop *l = NULL;
	int r;

	CHILD_EXPECT(weft_loop_new(&l, &o) == 0);
	CHILD_EXPECT(weft_loop_spawn(l, NULL, nap, NULL, NULL) == 0);
	if (nr == EPOLL_WAITS)
		CHILD_EXPECT(seccomp_refuse_calls(epoll_waits, sizeof(epoll_waits) /
								   sizeof(epoll_waits[0])) == 0);
	else
		CHILD_EXPECT(seccomp_refuse_calls(&nr, 1) == 0);
	r = weft_loop_run(l);
	CHILD_EXPECT(r == -EPERM);
	CHILD_EXPECT(weft_loop_run(l) == -EPERM); /* for good */
	CHILD_EXPECT(weft_loop_run_nowait(l) == -EPERM);
	CHILD_EXPECT(weft_loop_close(l) >= 0); /* frees what it can, never hangs */
	return 0;
}

START_TEST(kernel_call_refused_after_loop_new)
{
	static const int calls[] = {__NR_io_uring_enter, __NR_io_uring_register, EPOLL_WAITS};
	static const char *const names[] = {"io_uring_enter", "io_uring_register", "epoll_wait"};
	char text[2048], want[128];
	int r;

	if (calls[_i] != EPOLL_WAITS)
		SKIP_WITHOUT_URING("kernel_call_refused_after_loop_new (uring)");
	r = in_child(refused_later_child, calls[_i], text, sizeof(text));
	ck_assert_msg(r == 0, "%s refused: child exit %d; stderr: %s", names[_i], r, text);
	snprintf(want, sizeof(want), "weft: %s failed: Operation not permitted; this loop cannot",
		 names[_i]);
	ck_assert_msg(strstr(text, want), "stderr: %s", text);
}
END_TEST

/* ---- RLIMIT_MEMLOCK ----------------------------------------------------------------------------- */

/* Without CAP_IPC_LOCK (dropped here if we run as root) and with RLIMIT_MEMLOCK 0, this kernel
 * (6.18) refuses every ring with ENOMEM: the message must say that limit is why, with its
 * value, not blame "kernels before 5.12" (exit 2: this kernel takes the ring anyway). */
static int memlock_child(int unused)
{
	const struct weft_loop_opts uring = {.backend = WEFT_BACKEND_URING};
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	const struct rlimit zero = {0, 0};
	int r;

	CHILD_EXPECT(syscall(SYS_capget, &h, d) == 0);
	d[0].effective &= ~(1u << CAP_IPC_LOCK);
	CHILD_EXPECT(syscall(SYS_capset, &h, d) == 0);
	CHILD_EXPECT(setrlimit(RLIMIT_MEMLOCK, &zero) == 0);
	r = weft_run(nap, NULL, &uring);
	if (r == 0)
		return 2;
	CHILD_EXPECT(r == -ENOMEM);
	CHILD_EXPECT(weft_run(nap, NULL, NULL) == 0); /* AUTO: epoll */
	return 0;
}

START_TEST(memlock_zero_says_so)
{
	char text[2048];
	int r;

	SKIP_WITHOUT_URING("memlock_zero_says_so");
	r = in_child(memlock_child, 0, text, sizeof(text));
	if (r == 2) {
		fprintf(stderr, "memlock_zero_says_so: skipped, this kernel takes the ring\n");
		return;
	}
	ck_assert_msg(r == 0, "child exit %d; stderr: %s", r, text);
	ck_assert_msg(strstr(text, "RLIMIT_MEMLOCK (ulimit -l) is 0 KiB"), "stderr: %s", text);
	ck_assert_msg(strstr(text, "CAP_IPC_LOCK"), "stderr: %s", text);
}
END_TEST

/* ---- choosing a backend -------------------------------------------------------------------- */

START_TEST(auto_prefers_uring)
{
	const struct weft_loop_opts zero = {0};
	int want = uring_error() ? WEFT_BACKEND_EPOLL : WEFT_BACKEND_URING;

	ck_assert_int_eq(backend_of(NULL), want);
	ck_assert_int_eq(backend_of(&zero), want);
}
END_TEST

START_TEST(explicit_choice)
{
	const struct weft_loop_opts epoll = {.backend = WEFT_BACKEND_EPOLL};
	const struct weft_loop_opts uring = {.backend = WEFT_BACKEND_URING};

	ck_assert_int_eq(backend_of(&epoll), WEFT_BACKEND_EPOLL);
	SKIP_WITHOUT_URING("explicit_choice (uring)");
	ck_assert_int_eq(backend_of(&uring), WEFT_BACKEND_URING);
}
END_TEST

START_TEST(bad_enum_value)
{
	static const int bad[] = {3, 7, -1, 1 << 20};
	weft_loop *l = NULL;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct weft_loop_opts o = {.backend = (enum weft_backend)bad[i]};

		ck_assert_msg(weft_loop_new(&l, &o) == -EINVAL, "backend %d", bad[i]);
	}
	ck_assert_ptr_null(l);
}
END_TEST

START_TEST(env_epoll)
{
	const struct weft_loop_opts zero = {0};

	ck_assert_int_eq(setenv("WEFT_BACKEND", "epoll", 1), 0);
	ck_assert_int_eq(backend_of(NULL), WEFT_BACKEND_EPOLL);
	ck_assert_int_eq(backend_of(&zero), WEFT_BACKEND_EPOLL);
	clear_env();
}
END_TEST

START_TEST(env_uring)
{
	SKIP_WITHOUT_URING("env_uring");
	ck_assert_int_eq(setenv("WEFT_BACKEND", "uring", 1), 0);
	ck_assert_int_eq(backend_of(NULL), WEFT_BACKEND_URING);
	clear_env();
}
END_TEST

static int never_runs(void *arg)
{
	return 99;
}

START_TEST(env_bad_value)
{
	static const char *const bad[] = {"bogus", "io_uring", "epoll2"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(setenv("WEFT_BACKEND", bad[i], 1), 0);
		ck_assert_msg(backend_of(NULL) == -EINVAL, "WEFT_BACKEND=%s", bad[i]);
	}
	ck_assert_int_eq(weft_run(never_runs, NULL, NULL), -EINVAL); /* says why on stderr */
	clear_env();
}
END_TEST

/* The env decides only for AUTO: an explicit choice stands, whatever WEFT_BACKEND says. */
START_TEST(explicit_choice_beats_env)
{
	const struct weft_loop_opts epoll = {.backend = WEFT_BACKEND_EPOLL};
	const struct weft_loop_opts uring = {.backend = WEFT_BACKEND_URING};

	ck_assert_int_eq(setenv("WEFT_BACKEND", "uring", 1), 0);
	ck_assert_int_eq(backend_of(&epoll), WEFT_BACKEND_EPOLL);
	ck_assert_int_eq(setenv("WEFT_BACKEND", "bogus", 1), 0);
	ck_assert_int_eq(backend_of(&epoll), WEFT_BACKEND_EPOLL);
	clear_env();
	SKIP_WITHOUT_URING("explicit_choice_beats_env (uring)");
	ck_assert_int_eq(setenv("WEFT_BACKEND", "epoll", 1), 0);
	ck_assert_int_eq(backend_of(&uring), WEFT_BACKEND_URING);
	clear_env();
}
END_TEST

START_TEST(backend_and_names)
{
	ck_assert_int_eq(weft_loop_backend(NULL), -EINVAL);
	ck_assert_str_eq(weft_backend_name(WEFT_BACKEND_AUTO), "auto");
	ck_assert_str_eq(weft_backend_name(WEFT_BACKEND_URING), "uring");
	ck_assert_str_eq(weft_backend_name(WEFT_BACKEND_EPOLL), "epoll");
	ck_assert_str_eq(weft_backend_name(3), "?");
	ck_assert_str_eq(weft_backend_name(-1), "?");
	ck_assert_str_eq(weft_backend_name(-EINVAL), "?");
}
END_TEST

/* ---- the same echo on each backend, chosen explicitly -------------------------------------- */

static int echo_on(void *arg)
{
	EXPECT(weft_loop_backend(weft_loop_current()) == *(const int *)arg);
	return echo_main(NULL);
}

START_TEST(echo_each_backend)
{
	static const int backends[] = {WEFT_BACKEND_URING, WEFT_BACKEND_EPOLL};
	const struct weft_loop_opts o = {.backend = (enum weft_backend)backends[_i]};
	int r;

	if (backends[_i] == WEFT_BACKEND_URING)
		SKIP_WITHOUT_URING("echo_each_backend (uring)");
	r = weft_run(echo_on, (void *)&backends[_i], &o);
	ck_assert_msg(r == 0, "echo on %s: %s %d", weft_backend_name(backends[_i]),
		      r < 0 ? "weft_run failed with" : "failed at line", r);
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------------- */

static Suite *backend_suite(void)
{
	Suite *s = suite_create("backend");
	TCase *tc;

	tc = tcase_create("seccomp");
	tcase_add_checked_fixture(tc, clear_env, clear_env);
	tcase_add_test(tc, seccomp_auto_falls_back_to_epoll);
	tcase_add_test(tc, epoll_pwait2_refused);
	tcase_add_loop_test(tc, uring_call_refused_alone, 0, 2);
	tcase_add_loop_test(tc, kernel_call_refused_after_loop_new, 0, 3);
	tcase_add_test(tc, memlock_zero_says_so);
	suite_add_tcase(s, tc);

	tc = tcase_create("choice");
	tcase_add_checked_fixture(tc, clear_env, clear_env);
	tcase_add_test(tc, auto_prefers_uring);
	tcase_add_test(tc, explicit_choice);
	tcase_add_test(tc, bad_enum_value);
	tcase_add_test(tc, backend_and_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("env");
	tcase_add_checked_fixture(tc, clear_env, clear_env);
	tcase_add_test(tc, env_epoll);
	tcase_add_test(tc, env_uring);
	tcase_add_test(tc, env_bad_value);
	tcase_add_test(tc, explicit_choice_beats_env);
	suite_add_tcase(s, tc);

	tc = tcase_create("echo");
	tcase_add_checked_fixture(tc, clear_env, clear_env);
	tcase_add_loop_test(tc, echo_each_backend, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(backend_suite)

/* SPDX-License-Identifier: MIT */
/*
 * SIGPIPE never kills a weft program: a write to a pipe whose reader is gone returns -EPIPE on
 * every path (issue 11 item 5) - a weft_file over a pipe, a serial port adopted on a pipe, a
 * stream over such a file, sendfile into a pipe or socket, a write parked on a full pipe when the reader leaves, an embedded
 * loop whose write completes while the host, not weft, runs the thread, and a pool job. The
 * process keeps SIGPIPE's default action (a library must not change it): a case that raises it
 * dies, which Check reports as "Received signal 13".
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <weft.h>
#include "check_main.h"

/* The process's SIGPIPE action is the default, as in a C program that never touched it. */
static void default_sigpipe(void)
{
	struct sigaction sa;

	ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
	ck_assert_ptr_eq(sa.sa_handler, SIG_DFL);
}

/* A pipe with its read end closed; the write end for the case to wrap. */
static int broken_pipe(void)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	close(p[0]);
	return p[1];
}

/* Nothing left pending for later: the thread's mask is back and no SIGPIPE waits. */
static void nothing_pending(void)
{
	sigset_t set;

	ck_assert_int_eq(sigpending(&set), 0);
	ck_assert(!sigismember(&set, SIGPIPE));
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &set), 0);
	ck_assert(!sigismember(&set, SIGPIPE));
}

/* ---- weft_file_write_some on weft_file_from_fd ------------------------------------------------ */

static int file_write(void *arg)
{
	weft_file *f;

	ck_assert_int_eq(weft_file_from_fd(&f, broken_pipe()), 0);
	ck_assert_int_eq(weft_file_write_some(f, "x", 1), -EPIPE);
	ck_assert_int_eq(weft_file_write(f, "xy", 2), -EPIPE);
	return weft_file_close(f);
}

START_TEST(file_write_to_a_closed_pipe_is_epipe)
{
	default_sigpipe();
	ck_assert_int_eq(weft_run(file_write, NULL, NULL), 0);
	nothing_pending();
}
END_TEST

/* ---- weft_serial_write on a pipe --------------------------------------------------------- */

static int serial_write(void *arg)
{
	weft_serial *port;

	ck_assert_int_eq(weft_serial_adopt(&port, broken_pipe()), 0);
	ck_assert_int_eq(weft_serial_write(port, "x", 1), -EPIPE);
	return weft_serial_close(port);
}

START_TEST(serial_write_to_a_closed_pipe_is_epipe)
{
	ck_assert_int_eq(weft_run(serial_write, NULL, NULL), 0);
	nothing_pending();
}
END_TEST

/* ---- weft_stream_write on a file stream ---------------------------------------------------- */

static int stream_write(void *arg)
{
	const struct weft_stream_opts opts = {.wbuf_size = 64};
	weft_stream *s, *b;
	weft_file *f, *g;

	ck_assert_int_eq(weft_file_from_fd(&f, broken_pipe()), 0);
	ck_assert_int_eq(weft_file_stream(f, &s, NULL, WEFT_FILE_STREAM_OWN), 0);
	ck_assert_int_eq(weft_stream_write(s, "x", 1), -EPIPE);
	ck_assert_int_eq(weft_stream_close(s), 0);
	/* buffered: the flush is the write */
	ck_assert_int_eq(weft_file_from_fd(&g, broken_pipe()), 0);
	ck_assert_int_eq(weft_file_stream(g, &b, &opts, WEFT_FILE_STREAM_OWN), 0);
	ck_assert_int_eq(weft_stream_write(b, "x", 1), 1);
	ck_assert_int_eq(weft_stream_flush(b), -EPIPE);
	weft_stream_close(b); /* may report the same -EPIPE: the byte is still unsent */
	return 0;
}

START_TEST(stream_write_to_a_closed_pipe_is_epipe)
{
	ck_assert_int_eq(weft_run(stream_write, NULL, NULL), 0);
	nothing_pending();
}
END_TEST

/* ---- sendfile into a pipe and a socket whose readers are gone ------------------------------ */

static int sendfile_main(void *arg)
{
	int fd = memfd_create("weft-sigpipe", MFD_CLOEXEC), out = broken_pipe();
	weft_sock *a, *b;
	weft_file *f;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "data", 4), 4);
	ck_assert_int_eq(weft_file_from_fd(&f, fd), 0);
	ck_assert_int_eq(weft_file_sendfile(f, out, 0, 4), -EPIPE);
	close(out);
	ck_assert_int_eq(weft_unix_socketpair(SOCK_STREAM, &a, &b), 0);
	ck_assert_int_eq(weft_sock_close(b), 0);
	ck_assert_int_eq(weft_sock_sendfile(a, fd, 0, 4), -EPIPE);
	ck_assert_int_eq(weft_sock_send(a, "x", 1), -EPIPE);
	ck_assert_int_eq(weft_sock_close(a), 0);
	return weft_file_close(f);
}

START_TEST(sendfile_to_a_closed_reader_is_epipe)
{
	ck_assert_int_eq(weft_run(sendfile_main, NULL, NULL), 0);
	nothing_pending();
}
END_TEST

/* ---- a writer parked on a full pipe when the reader goes away ----------------------------- */

#define BIG (1 << 20)

struct parked {
	int rd;
	weft_file *f;
	char *buf;
	ssize_t res;
};

static int fill_writer(void *arg)
{
	struct parked *pk = arg;

	pk->res = weft_file_write(pk->f, pk->buf, BIG);
	return 0;
}

/* Whether the pipe holds all it can: the writer has parked. */
static bool pipe_full(int rd)
{
	int queued = 0, size = fcntl(rd, F_GETPIPE_SZ);

	ck_assert_int_eq(ioctl(rd, FIONREAD, &queued), 0);
	return queued >= size;
}

static int parked_main(void *arg)
{
	struct parked *pk = arg;
	weft_task *w;
	int status;

	ck_assert_int_eq(weft_task_spawn(&w, fill_writer, pk, NULL), 0);
	while (!pipe_full(pk->rd))
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_yield(), 0);
	close(pk->rd); /* the kernel completes the parked write with EPIPE */
	ck_assert_int_eq(weft_task_join(w, &status), 0);
	ck_assert_int_eq(pk->res, -EPIPE);
	return weft_file_close(pk->f);
}

static void parked_setup(struct parked *pk)
{
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pk->rd = p[0];
	ck_assert_int_eq(weft_file_from_fd(&pk->f, p[1]), 0);
	pk->buf = calloc(1, BIG);
	ck_assert_ptr_nonnull(pk->buf);
}

START_TEST(parked_write_whose_reader_leaves_is_epipe)
{
	struct parked pk;

	parked_setup(&pk);
	ck_assert_int_eq(weft_run(parked_main, &pk, NULL), 0);
	free(pk.buf);
	nothing_pending();
}
END_TEST

/* ---- an embedded loop: the host closes the reader while weft is not running ----------------- */

static void embedded(unsigned ring_flags)
{
	const struct weft_loop_opts opts = {.ring_flags = ring_flags};
	struct parked pk;
	weft_loop *loop;
	weft_task *w;
	int status;

	parked_setup(&pk);
	ck_assert_int_eq(weft_loop_new(&loop, &opts), 0);
	ck_assert_int_eq(weft_loop_spawn(loop, &w, fill_writer, &pk, NULL), 0);
	while (!pipe_full(pk.rd))
		ck_assert_int_ge(weft_loop_run_nowait(loop), 0);
	/* The host's code, with the thread's own mask: the parked write's retry now fails. */
	close(pk.rd);
	for (int i = 0; i < 3; i++)
		usleep(1000), getpid(); /* kernel entries where task work could run */
	while (weft_task_state(w) != WEFT_TASK_DONE) {
		struct pollfd pfd = {.fd = weft_loop_fd(loop), .events = POLLIN};

		ck_assert_int_ge(poll(&pfd, 1, 100), 0);
		ck_assert_int_ge(weft_loop_run_nowait(loop), 0);
	}
	ck_assert_int_eq(weft_loop_run_until(loop, w, &status), 0);
	ck_assert_int_eq(pk.res, -EPIPE);
	ck_assert_int_eq(weft_loop_spawn(loop, &w, (weft_task_fn)weft_file_close, pk.f, NULL), 0);
	ck_assert_int_eq(weft_loop_run_until(loop, w, &status), 0);
	ck_assert_int_eq(weft_loop_close(loop), 0);
	free(pk.buf);
	nothing_pending();
}

START_TEST(embedded_write_whose_reader_leaves_is_epipe)
{
	embedded(0);
}
END_TEST

START_TEST(embedded_write_without_defer_taskrun_is_epipe)
{
	embedded(WEFT_RING_NO_DEFER_TASKRUN);
}
END_TEST

/* ---- a pool job ------------------------------------------------------------------------------ */

static int job_write(void *arg)
{
	int fd = broken_pipe(), r = write(fd, "x", 1) < 0 ? -errno : 0;

	close(fd);
	return r;
}

static int pool_main(void *arg)
{
	int result = 0;

	ck_assert_int_eq(weft_executor_default_run(job_write, NULL, &result), 0);
	ck_assert_int_eq(result, -EPIPE);
	return 0;
}

START_TEST(pool_job_writing_a_closed_pipe_sees_epipe)
{
	ck_assert_int_eq(weft_run(pool_main, NULL, NULL), 0);
}
END_TEST

static Suite *sigpipe_suite(void)
{
	Suite *s = suite_create("sigpipe");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, file_write_to_a_closed_pipe_is_epipe);
	tcase_add_test(tc, serial_write_to_a_closed_pipe_is_epipe);
	tcase_add_test(tc, stream_write_to_a_closed_pipe_is_epipe);
	tcase_add_test(tc, sendfile_to_a_closed_reader_is_epipe);
	tcase_add_test(tc, parked_write_whose_reader_leaves_is_epipe);
	tcase_add_test(tc, embedded_write_whose_reader_leaves_is_epipe);
	tcase_add_test(tc, embedded_write_without_defer_taskrun_is_epipe);
	tcase_add_test(tc, pool_job_writing_a_closed_pipe_sees_epipe);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(sigpipe_suite)

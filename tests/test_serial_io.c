/* SPDX-License-Identifier: MIT */
/*
 * Moving data through serial ports over pseudo-terminals: both directions at once (through the
 * ring on both ends), the stream, cooked mode, an adopted pipe, reads parked without any io-wq
 * worker and cancelled promptly, deadlines, and a device that vanishes under a parked read.
 * Every test runs twice (Check loop index): with the port's IORING_OP_READ path and with the
 * portable POLL_ADD + read(2) path that older kernels fall back to.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "weft.h"
#include "weft/serial.h"
#include "serial/port.h"

#include "test_serial_pty.h"
#include "timing.h"
#include "check_main.h"

/* The read path under test: 0 = IORING_OP_READ, 1 = POLL_ADD + read(2) (white-box switch). */
static bool g_poll_path;

static weft_serial *path(weft_serial *port)
{
	port->poll_read = g_poll_path;
	return port;
}

/* ---- data ------------------------------------------------------------------------------------ */

/* Both directions at once, through the ring on both ends: the pty master is adopted as a port
 * too, so four fibers of one loop move 256 KiB each way and every full buffer (EAGAIN) parks a
 * writer on POLLOUT until the other side reads. */
#define BULK (256 * 1024)

struct pipe_job {
	weft_serial *port;
	uint8_t *buf;
	size_t len;
	bool write;
};

static int pump(void *arg)
{
	struct pipe_job *j = arg;

	if (j->write)
		return weft_serial_write(j->port, j->buf, j->len) == (ssize_t)j->len ? 0 : -EIO;
	for (size_t got = 0; got < j->len;) {
		ssize_t n = weft_serial_read(j->port, j->buf + got, j->len - got);
		if (n <= 0)
			return n ? (int)n : -ENODATA;
		got += (size_t)n;
	}
	return 0;
}

static void fill_pattern(uint8_t *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

static int duplex_main(void *arg)
{
	struct pty *p = arg;
	weft_serial *port, *dev;
	uint8_t *a = malloc(BULK), *b = malloc(BULK), *ra = malloc(BULK), *rb = malloc(BULK);
	struct pipe_job jobs[4] = {
	    {.buf = a, .write = true}, {.buf = ra}, {.buf = b, .write = true}, {.buf = rb}};
	weft_task *t[4];
	int st[4];

	fill_pattern(a, BULK, 1);
	fill_pattern(b, BULK, 2);
	ck_assert_int_eq(weft_serial_open(&port, p->path, NULL), 0);
	path(port);
	ck_assert_int_eq(weft_serial_adopt(&dev, p->master), 0);
	path(dev);
	jobs[0].port = port, jobs[1].port = dev; /* port -> device */
	jobs[2].port = dev, jobs[3].port = port; /* device -> port */
	for (int i = 0; i < 4; i++) {
		jobs[i].len = BULK;
		ck_assert_int_eq(weft_task_spawn(&t[i], pump, &jobs[i], NULL), 0);
	}
	ck_assert_int_eq(weft_tasks_gather(t, 4, st, 0), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(st[i], 0);
	ck_assert_int_eq(memcmp(a, ra, BULK), 0);
	ck_assert_int_eq(memcmp(b, rb, BULK), 0);
	ck_assert_int_eq(weft_serial_close(port), 0);
	ck_assert_int_eq(weft_serial_close(dev), 0);
	free(a), free(b), free(ra), free(rb);
	return 0;
}

START_TEST(test_data_both_ways)
{
	struct pty p;

	g_poll_path = _i;
	pty_open(&p);
	ck_assert_int_eq(weft_run(duplex_main, &p, NULL), 0);
}
END_TEST

/* The stream on a port: lines, exact reads, buffered writes, the same stream every time. */
static int stream_main(void *arg)
{
	struct pty *p = arg;
	weft_serial *port;
	weft_stream *s, *again;
	const struct weft_stream_opts o = {.wbuf_size = 64};
	char line[64], buf[8];

	ck_assert_int_eq(weft_serial_open(&port, p->path, NULL), 0);
	path(port);
	ck_assert_int_eq(weft_serial_stream(port, &o, &s), 0);
	ck_assert_int_eq(weft_serial_stream(port, NULL, &again), 0);
	ck_assert_ptr_eq(s, again);
	ck_assert_ptr_eq(weft_stream_io(s), port);
	ck_assert_int_eq(write(p->master, "hello\nwor", 9), 9);
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 0), 6);
	ck_assert_int_eq(memcmp(line, "hello\n", 6), 0);
	ck_assert_int_eq(write(p->master, "ld\nABCD", 7), 7);
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 0), 6);
	ck_assert_int_eq(weft_stream_read_exactly(s, buf, 4, NULL), 0);
	ck_assert_int_eq(memcmp(buf, "ABCD", 4), 0);
	/* Buffered: nothing reaches the device until the flush. */
	ck_assert_int_eq(weft_stream_write(s, "ping", 4), 4);
	ck_assert_uint_eq(weft_stream_written(s), 0);
	ck_assert_int_eq(weft_stream_flush(s), 0);
	ck_assert_uint_eq(weft_stream_written(s), 4);
	read_all_fd(p->master, buf, 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	/* Closing the stream closes the port (and its fd). */
	int fd = weft_serial_fd(port);
	ck_assert_int_eq(weft_stream_write(s, "bye", 3), 3);
	ck_assert_int_eq(weft_stream_close(s), 0); /* flushes first */
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	read_all_fd(p->master, buf, 3);
	ck_assert_int_eq(memcmp(buf, "bye", 3), 0);
	return 0;
}

START_TEST(test_stream)
{
	struct pty p;

	g_poll_path = _i;
	pty_open(&p);
	ck_assert_int_eq(weft_run(stream_main, &p, NULL), 0);
	close(p.master);
}
END_TEST

/* Cooked mode really is the line discipline's: a read returns a whole line, with ^D as EOF. */
static int cooked_main(void *arg)
{
	struct pty *p = arg;
	weft_serial *port;
	char buf[32];

	ck_assert_int_eq(
	    weft_serial_open(&port, p->path,
			     &(struct weft_serial_config){.flags = WEFT_SERIAL_COOKED}),
	    0);
	path(port);
	ck_assert_int_eq(write(p->master, "abc\n\004", 5), 5);
	ck_assert_int_eq(weft_serial_read(port, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "abc\n", 4), 0);
	ck_assert_int_eq(weft_serial_read(port, buf, sizeof(buf)), 0); /* ^D, not a hang-up */
	return weft_serial_close(port);
}

START_TEST(test_cooked_read)
{
	struct pty p;

	g_poll_path = _i;
	pty_open(&p);
	ck_assert_int_eq(weft_run(cooked_main, &p, NULL), 0);
	close(p.master);
}
END_TEST

/* An adopted pipe: not a tty, so its end is an end of file (0), not a vanished device. */
static int adopt_pipe_main(void *arg)
{
	int *fds = arg;
	weft_serial *port;
	char buf[8];

	ck_assert_int_eq(weft_serial_adopt(&port, fds[0]), 0);
	path(port);
	path(port);
	ck_assert_int_eq(write(fds[1], "xy", 2), 2);
	close(fds[1]);
	ck_assert_int_eq(weft_serial_read(port, buf, sizeof(buf)), 2);
	ck_assert_int_eq(weft_serial_read(port, buf, sizeof(buf)), 0);
	ck_assert_int_eq(weft_serial_get_config(port, &(struct weft_serial_config){0}), -ENOTTY);
	return weft_serial_close(port);
}

START_TEST(test_adopt_pipe)
{
	int fds[2];

	g_poll_path = _i;
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(weft_run(adopt_pipe_main, fds, NULL), 0);
	ck_assert_int_eq(weft_serial_adopt(&(weft_serial *){0}, -1), -EBADF);
}
END_TEST

/* ---- parked reads: no kernel worker, prompt cancellation ------------------------------------- */

struct parked {
	weft_serial *port[8];
	ssize_t res[8];
};

static int parked_reader(void *arg)
{
	weft_serial *port = arg;
	char buf[16];

	return (int)weft_serial_read(port, buf, sizeof(buf));
}

static int cancel_main(void *arg)
{
	struct pty *p = arg;
	weft_task *t[8];
	weft_serial *port[8];
	int st;

	/* Eight reads parked on eight ptys: no io-wq worker may exist for them. */
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(weft_serial_open(&port[i], p[i].path, NULL), 0);
		path(port[i]);
		ck_assert_int_eq(weft_task_spawn(&t[i], parked_reader, port[i], NULL), 0);
	}
	ck_assert_int_eq(weft_sleep(20 * WEFT_MSEC), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(weft_task_state(t[i]), WEFT_TASK_PARKED);
	ck_assert_int_eq(io_workers(), 0);
	/* Cancel them: each returns -ECANCELED at once (a poll is cancelled, no thread to wake). */
	int64_t t0 = weft_now();
	for (int i = 0; i < 8; i++)
		weft_task_cancel(t[i]);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(weft_task_join(t[i], &st), 0);
		ck_assert_int_eq(st, -ECANCELED);
	}
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	/* Nothing was lost: bytes sent now are there for the next read. */
	char buf[4];
	ck_assert_int_eq(write(p[0].master, "ok", 2), 2);
	ck_assert_int_eq(weft_serial_read(port[0], buf, sizeof(buf)), 2);
	for (int i = 0; i < 8; i++)
		weft_serial_close(port[i]);
	return 0;
}

START_TEST(test_parked_reads_cancel)
{
	struct pty p[8];

	g_poll_path = _i;
	for (int i = 0; i < 8; i++)
		pty_open(&p[i]);
	ck_assert_int_eq(weft_run(cancel_main, p, NULL), 0);
	for (int i = 0; i < 8; i++)
		close(p[i].master);
}
END_TEST

static int deadline_main(void *arg)
{
	struct pty *p = arg;
	weft_serial *port;
	weft_scope sc;
	char buf[4];
	int64_t t0;

	ck_assert_int_eq(weft_serial_open(&port, p->path, NULL), 0);
	path(port);
	t0 = weft_now();
	weft_scope_enter(&sc, t0 + 10 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_serial_read(port, buf, sizeof(buf)), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&sc), -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	/* A write blocked on a full pty (nobody reads the master) times out too. */
	static uint8_t big[1 << 20];
	weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_serial_write(port, big, sizeof(big)), -ETIMEDOUT);
	weft_scope_exit(&sc);
	return weft_serial_close(port);
}

START_TEST(test_read_write_deadline)
{
	struct pty p;

	g_poll_path = _i;
	pty_open(&p);
	ck_assert_int_eq(weft_run(deadline_main, &p, NULL), 0);
	close(p.master);
}
END_TEST

/* ---- a vanished device ----------------------------------------------------------------------- */

struct unplug {
	struct pty p;
	weft_serial *port;
};

static int unplug_reader(void *arg)
{
	struct unplug *u = arg;
	char buf[16];
	ssize_t n;

	/* Data sent before the hang-up still arrives; then the read reports the device gone. */
	while ((n = weft_serial_read(u->port, buf, sizeof(buf))) > 0)
		;
	return (int)n;
}

static int unplug_main(void *arg)
{
	struct unplug *u = arg;
	weft_task *t;
	int st;

	ck_assert_int_eq(weft_serial_open(&u->port, u->p.path, NULL), 0);
	path(u->port);
	ck_assert_int_eq(weft_task_spawn(&t, unplug_reader, u, NULL), 0);
	ck_assert_int_eq(write(u->p.master, "last words", 10), 10);
	ck_assert_int_eq(weft_sleep(10 * WEFT_MSEC), 0);
	close(u->p.master); /* the device goes away while the read is parked */
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, -EIO);
	/* Every later call says the same. */
	char c;
	ck_assert_int_eq(weft_serial_read(u->port, &c, 1), -EIO);
	ck_assert_int_eq(weft_serial_write(u->port, "x", 1), -EIO);
	ck_assert_int_eq(weft_serial_get_config(u->port, &(struct weft_serial_config){0}), -EIO);
	ck_assert_int_eq(weft_serial_configure(u->port, NULL), -EIO);
	ck_assert_int_eq(weft_serial_drain(u->port), -EIO);
	/* Through the stream too, and a framer passes it on. */
	weft_stream *s;
	weft_framer *f;
	struct weft_frame fr;
	ck_assert_int_eq(weft_serial_stream(u->port, NULL, &s), 0);
	ck_assert_int_eq(
	    weft_framer_new(
		&f, s,
		&(struct weft_frame_spec){.kind = WEFT_FRAME_DELIM, .delim = "\n", .delim_len = 1}),
	    0);
	ck_assert_int_eq(weft_framer_next(f, &fr), -EIO);
	weft_framer_free(f);
	/* Reopening the vanished path fails: a pty's node goes with its master. */
	weft_serial *again;
	ck_assert_int_eq(weft_serial_open(&again, u->p.path, NULL), -ENOENT);
	return weft_serial_close(u->port);
}

START_TEST(test_unplug)
{
	struct unplug u;

	g_poll_path = _i;
	pty_open(&u.p);
	ck_assert_int_eq(weft_run(unplug_main, &u, NULL), 0);
}
END_TEST

static Suite *serial_io_suite(void)
{
	Suite *s = suite_create("serial_io");
	TCase *tc = tcase_create("io");

	tcase_add_loop_test(tc, test_data_both_ways, 0, 2);
	tcase_add_loop_test(tc, test_stream, 0, 2);
	tcase_add_loop_test(tc, test_cooked_read, 0, 2);
	tcase_add_loop_test(tc, test_adopt_pipe, 0, 2);
	tcase_add_loop_test(tc, test_parked_reads_cancel, 0, 2);
	tcase_add_loop_test(tc, test_read_write_deadline, 0, 2);
	tcase_add_loop_test(tc, test_unplug, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(serial_io_suite)

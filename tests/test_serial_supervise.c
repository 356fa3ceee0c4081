/* SPDX-License-Identifier: MIT */
/*
 * weft_serial_supervise(): a device unplugged and plugged back (a pty behind a symlink that is
 * removed and re-pointed, as udev does with /dev/serial/by-id links), backoff with and without
 * jitter, giving up, cancellation and deadlines, errors that are not worth retrying.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "weft/serial.h"

#include "test_serial_pty.h"
#include "timing.h"
#include "check_main.h"

static char tmpdir[256];

static void setup(void)
{
	const char *base = getenv("WEFT_TEST_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/serial_sup_XXXXXX", base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static void tmp_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* Point the symlink @link at @target atomically (a new link renamed over the old one). */
static void repoint(const char *link, const char *target)
{
	char tmp[300];

	snprintf(tmp, sizeof(tmp), "%s.new", link);
	unlink(tmp);
	ck_assert_int_eq(symlink(target, tmp), 0);
	ck_assert_int_eq(rename(tmp, link), 0);
}

/* A pty whose master is adopted as a port, so the test's device side reads through the ring. */
static weft_serial *device_open(char *path, size_t cap)
{
	struct pty p;
	weft_serial *dev;

	pty_open(&p);
	snprintf(path, cap, "%s", p.path);
	ck_assert_int_eq(weft_serial_adopt(&dev, p.master), 0);
	return dev;
}

/* ---- recording what the supervisor reports --------------------------------------------------- */

#define MAX_EVENTS 64

struct record {
	int n;
	enum weft_serial_event ev[MAX_EVENTS];
	int err[MAX_EVENTS];
	int64_t delay[MAX_EVENTS];
};

static void note(void *arg, enum weft_serial_event ev, int err, int64_t delay)
{
	struct record *r = arg;

	if (r->n < MAX_EVENTS) {
		r->ev[r->n] = ev;
		r->err[r->n] = err;
		r->delay[r->n] = delay;
		r->n++;
	}
}

static int count(const struct record *r, enum weft_serial_event ev)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += r->ev[i] == ev;
	return n;
}

/* ---- unplug and replug ----------------------------------------------------------------------- */

struct replug {
	char link[300];
	struct record rec;
	int sessions;
	char lines[4][32];
	int nlines;
	int status;
};

/* The user's session: greet the device, then record lines until "quit". */
static int session(weft_serial *port, void *arg)
{
	struct replug *r = arg;
	weft_stream *s;
	char line[32], hello[16];
	ssize_t n;
	int len;

	r->sessions++;
	ck_assert_int_eq(weft_serial_stream(port, NULL, &s), 0);
	len = snprintf(hello, sizeof(hello), "hello %d\n", r->sessions);
	ck_assert_int_eq(weft_stream_write(s, hello, (size_t)len), len);
	while ((n = weft_stream_read_line(s, line, sizeof(line) - 1, 0)) > 0) {
		line[n] = 0;
		if (!strcmp(line, "quit\n"))
			return 0;
		if (r->nlines < 4)
			strcpy(r->lines[r->nlines++], line);
	}
	return n ? (int)n : -ENODATA;
}

static int supervisor(void *arg)
{
	struct replug *r = arg;
	const struct weft_serial_supervise_opts o = {.backoff_min_ns = 2 * WEFT_MSEC,
						     .backoff_max_ns = 8 * WEFT_MSEC,
						     .flags = WEFT_SERIAL_SUPERVISE_NO_JITTER,
						     .notify = note,
						     .notify_arg = &r->rec};

	return weft_serial_supervise(r->link, &(struct weft_serial_config){.baud = 115200}, session,
				     r, &o);
}

/* The device's side of one session: read the greeting, send @data. */
static void device_talk(weft_serial *dev, const char *greeting, const char *data)
{
	weft_stream *s;
	char line[32];
	ssize_t n;

	ck_assert_int_eq(weft_serial_stream(dev, NULL, &s), 0);
	n = weft_stream_read_line(s, line, sizeof(line) - 1, 0);
	ck_assert_int_gt(n, 0);
	line[n] = 0;
	ck_assert_str_eq(line, greeting);
	ck_assert_int_eq(weft_stream_write(s, data, strlen(data)), (ssize_t)strlen(data));
}

static int replug_main(void *arg)
{
	struct replug *r = arg;
	char pts[64], gone[300];
	weft_serial *dev;
	weft_task *sup;

	tmp_path(r->link, sizeof(r->link), "ttyWEFT0");
	tmp_path(gone, sizeof(gone), "no-such-device");
	dev = device_open(pts, sizeof(pts));
	repoint(r->link, pts);
	ck_assert_int_eq(weft_task_spawn(&sup, supervisor, r, NULL), 0);
	device_talk(dev, "hello 1\n", "data1\n");
	while (r->nlines < 1)
		ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);

	/* Unplug: the node goes away, then the device. The session sees -EIO, the supervisor
	 * retries against the missing node. */
	repoint(r->link, gone);
	ck_assert_int_eq(weft_serial_close(dev), 0);
	while (count(&r->rec, WEFT_SERIAL_OPEN_FAILED) < 3)
		ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);

	/* Plug back in: a new pty behind the same path; the session starts again. */
	dev = device_open(pts, sizeof(pts));
	repoint(r->link, pts);
	device_talk(dev, "hello 2\n", "data2\nquit\n");
	ck_assert_int_eq(weft_task_join(sup, &r->status), 0);
	return weft_serial_close(dev);
}

START_TEST(test_unplug_replug)
{
	struct replug r = {0};
	int failed_at = -1;

	ck_assert_int_eq(weft_run(replug_main, &r, NULL), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(r.sessions, 2);
	ck_assert_int_eq(r.nlines, 2);
	ck_assert_str_eq(r.lines[0], "data1\n");
	ck_assert_str_eq(r.lines[1], "data2\n");
	/* OPENED, LOST (-EIO), OPEN_FAILED (-ENOENT) a few times with growing delays, OPENED. */
	ck_assert_int_ge(r.rec.n, 6);
	ck_assert_int_eq(r.rec.ev[0], WEFT_SERIAL_OPENED);
	ck_assert_int_eq(r.rec.ev[1], WEFT_SERIAL_LOST);
	ck_assert_int_eq(r.rec.err[1], -EIO);
	for (int i = 2; i < r.rec.n - 1; i++) {
		ck_assert_int_eq(r.rec.ev[i], WEFT_SERIAL_OPEN_FAILED);
		ck_assert_int_eq(r.rec.err[i], -ENOENT);
		if (failed_at < 0)
			failed_at = i;
	}
	ck_assert_int_eq(r.rec.delay[failed_at], 2 * WEFT_MSEC);
	ck_assert_int_eq(r.rec.delay[failed_at + 1], 4 * WEFT_MSEC);
	ck_assert_int_eq(r.rec.delay[failed_at + 2], 8 * WEFT_MSEC);
	ck_assert_int_eq(r.rec.ev[r.rec.n - 1], WEFT_SERIAL_OPENED);
}
END_TEST

/* ---- backoff, giving up, stopping ------------------------------------------------------------ */

struct sup_args {
	const char *path;
	struct weft_serial_supervise_opts o;
	struct record rec;
	weft_serial_session_fn session;
	int status;
};

static int never_called(weft_serial *port, void *arg)
{
	ck_abort_msg("session ran without a device");
	return 0;
}

static int sup_main(void *arg)
{
	struct sup_args *a = arg;

	a->o.notify = note;
	a->o.notify_arg = &a->rec;
	return weft_serial_supervise(a->path, NULL, a->session ? a->session : never_called, NULL,
				     &a->o);
}

START_TEST(test_backoff_and_give_up)
{
	char missing[300];
	struct sup_args a = {.path = missing,
			     .o = {.backoff_min_ns = WEFT_MSEC,
				   .backoff_max_ns = 3 * WEFT_MSEC,
				   .max_attempts = 6,
				   .flags = WEFT_SERIAL_SUPERVISE_NO_JITTER}};
	static const int64_t want[] = {1, 2, 3, 3, 3};

	tmp_path(missing, sizeof(missing), "absent");
	ck_assert_int_eq(weft_run(sup_main, &a, NULL), -ENOENT);
	ck_assert_int_eq(a.rec.n, 5); /* the sixth failure is returned, not retried */
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(a.rec.ev[i], WEFT_SERIAL_OPEN_FAILED);
		ck_assert_int_eq(a.rec.delay[i], want[i] * WEFT_MSEC);
	}
}
END_TEST

START_TEST(test_backoff_jitter)
{
	char missing[300];
	struct sup_args a = {.path = missing,
			     .o = {.backoff_min_ns = 4 * WEFT_MSEC,
				   .backoff_max_ns = 4 * WEFT_MSEC,
				   .max_attempts = 9}};
	bool varied = false;

	tmp_path(missing, sizeof(missing), "absent");
	ck_assert_int_eq(weft_run(sup_main, &a, NULL), -ENOENT);
	ck_assert_int_eq(a.rec.n, 8);
	for (int i = 0; i < a.rec.n; i++) {
		ck_assert_int_ge(a.rec.delay[i], 3 * WEFT_MSEC); /* 4 ms +- 25% */
		ck_assert_int_le(a.rec.delay[i], 5 * WEFT_MSEC);
		varied |= a.rec.delay[i] != a.rec.delay[0];
	}
	ck_assert(varied);
}
END_TEST

static int cancel_main(void *arg)
{
	struct sup_args *a = arg;
	weft_task *t;
	int st;
	int64_t t0;

	ck_assert_int_eq(weft_task_spawn(&t, sup_main, a, NULL), 0);
	ck_assert_int_eq(weft_sleep(20 * WEFT_MSEC), 0);
	t0 = weft_now();
	weft_task_cancel(t);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	return st;
}

START_TEST(test_cancel_and_deadline)
{
	char missing[300];
	struct sup_args a = {.path = missing, .o = {.backoff_min_ns = LONG_SLEEP / 4}};

	tmp_path(missing, sizeof(missing), "absent");
	ck_assert_int_eq(weft_run(cancel_main, &a, NULL), -ECANCELED);
	ck_assert_int_eq(a.rec.n, 1); /* one failed open, then parked in the long backoff */
}
END_TEST

static int deadline_main(void *arg)
{
	weft_scope sc;
	int r;

	weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0);
	r = sup_main(arg);
	weft_scope_exit(&sc);
	return r;
}

START_TEST(test_deadline)
{
	char missing[300];
	struct sup_args a = {.path = missing, .o = {.backoff_min_ns = WEFT_MSEC}};

	tmp_path(missing, sizeof(missing), "absent");
	ck_assert_int_eq(weft_run(deadline_main, &a, NULL), -ETIMEDOUT);
	ck_assert_int_ge(a.rec.n, 1);
}
END_TEST

START_TEST(test_not_worth_retrying)
{
	struct sup_args a = {.path = "/dev/null"};

	ck_assert_int_eq(weft_run(sup_main, &a, NULL), -ENOTTY);
	ck_assert_int_eq(a.rec.n, 0);
	ck_assert_int_eq(weft_serial_supervise(NULL, NULL, never_called, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_serial_supervise("/dev/null", NULL, NULL, NULL, NULL), -EINVAL);
}
END_TEST

/* A session's own status ends the supervision, unless it is -EIO. */
static int session_42(weft_serial *port, void *arg)
{
	return 42;
}

static int session_proto(weft_serial *port, void *arg)
{
	return -EPROTO;
}

static int status_main(void *arg)
{
	struct sup_args *a = arg;
	char pts[64];
	weft_serial *dev = device_open(pts, sizeof(pts));

	a->path = pts;
	a->session = session_42;
	ck_assert_int_eq(sup_main(a), 42);
	a->session = session_proto;
	ck_assert_int_eq(sup_main(a), -EPROTO);
	ck_assert_int_eq(a->rec.n, 2);
	ck_assert_int_eq(a->rec.ev[0], WEFT_SERIAL_OPENED);
	ck_assert_int_eq(a->rec.ev[1], WEFT_SERIAL_OPENED);
	return weft_serial_close(dev);
}

START_TEST(test_session_status)
{
	struct sup_args a = {0};

	ck_assert_int_eq(weft_run(status_main, &a, NULL), 0);
	/* Outside a fiber there is nothing to supervise with. */
	ck_assert_int_eq(weft_serial_supervise("/dev/null", NULL, session_42, NULL, NULL), -EPERM);
}
END_TEST

static Suite *supervise_suite(void)
{
	Suite *s = suite_create("serial_supervise");
	TCase *tc = tcase_create("supervise");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unplug_replug);
	tcase_add_test(tc, test_backoff_and_give_up);
	tcase_add_test(tc, test_backoff_jitter);
	tcase_add_test(tc, test_cancel_and_deadline);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_not_worth_retrying);
	tcase_add_test(tc, test_session_status);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(supervise_suite)

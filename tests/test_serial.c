/* SPDX-License-Identifier: MIT */
/*
 * Serial ports (weft/serial.h) over pseudo-terminals: configuration round trips and refusals
 * (ptys silently force 8 data bits and no parity; a locked termios keeps its bits), misuse, and
 * what ptys cannot do (modem lines) next to what they accept (flush, drain, break).
 * Data and the read path: test_serial_io.c; the supervisor: test_serial_supervise.c; framing:
 * test_serial_frame.c.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "weft.h"
#include "weft/serial.h"
#include "serial/port.h"

#include "test_serial_pty.h"
#include "timing.h"
#include "check_main.h"

/* ---- configuration --------------------------------------------------------------------------- */

START_TEST(test_open_defaults)
{
	struct weft_serial_config c;
	struct termios t;
	struct pty p;
	weft_serial *port;

	pty_open(&p);
	ck_assert_int_eq(weft_serial_open(&port, p.path, NULL), 0);
	ck_assert_int_eq(weft_serial_get_config(port, &c), 0);
	ck_assert_uint_eq(c.baud, 9600);
	ck_assert_uint_eq(c.data_bits, 8);
	ck_assert_uint_eq(c.stop_bits, 1);
	ck_assert_uint_eq(c.parity, WEFT_SERIAL_PARITY_NONE);
	ck_assert_uint_eq(c.flow, WEFT_SERIAL_FLOW_NONE);
	ck_assert_uint_eq(c.flags, 0);
	/* Raw, seen through libc too: no echo, no canonical mode, no output processing. */
	ck_assert_int_eq(tcgetattr(weft_serial_fd(port), &t), 0);
	ck_assert(!(t.c_lflag & (ICANON | ECHO | ISIG)));
	ck_assert(!(t.c_oflag & OPOST));
	ck_assert_int_eq(t.c_cc[VMIN], 1);
	ck_assert(fcntl(weft_serial_fd(port), F_GETFL) & O_NONBLOCK);
	ck_assert_int_eq(weft_serial_close(port), 0);
	close(p.master);
}
END_TEST

static void assert_config_eq(const struct weft_serial_config *a, const struct weft_serial_config *b)
{
	ck_assert_uint_eq(a->baud, b->baud);
	ck_assert_uint_eq(a->data_bits, b->data_bits);
	ck_assert_uint_eq(a->stop_bits, b->stop_bits);
	ck_assert_uint_eq(a->parity, b->parity);
	ck_assert_uint_eq(a->flow, b->flow);
	ck_assert_uint_eq(a->flags, b->flags);
}

START_TEST(test_config_round_trips)
{
	/* Standard rates (Bxxx codes) and odd ones (termios2 BOTHER). */
	static const uint32_t bauds[] = {50,	  1200,	 9600,	 115200, 921600,
					 4000000, 12345, 250000, 31250};
	static const unsigned flag_sets[] = {0, WEFT_SERIAL_MODEM, WEFT_SERIAL_NO_HUPCL,
					     WEFT_SERIAL_EXCLUSIVE | WEFT_SERIAL_MODEM};
	struct weft_serial_config want, got;
	weft_serial *port;
	struct pty p;
	int n = 0;

	pty_open(&p);
	ck_assert_int_eq(weft_serial_open(&port, p.path, NULL), 0);
	/* A pty takes every setting but the word format (see test_config_pty_refuses). */
	for (size_t b = 0; b < sizeof(bauds) / sizeof(bauds[0]); b++)
		for (unsigned stop = 1; stop <= 2; stop++)
			for (unsigned flow = 0; flow <= WEFT_SERIAL_FLOW_XONXOFF; flow++) {
				want = (struct weft_serial_config){.baud = bauds[b],
								   .data_bits = 8,
								   .stop_bits = (uint8_t)stop,
								   .flow = (uint8_t)flow,
								   .flags = flag_sets[n++ % 4]};
				ck_assert_int_eq(weft_serial_configure(port, &want), 0);
				ck_assert_int_eq(weft_serial_get_config(port, &got), 0);
				assert_config_eq(&got, &want);
			}
	ck_assert_int_eq(weft_serial_close(port), 0);
	close(p.master);
}
END_TEST

/*
 * The kernel's pty driver forces CS8 and clears PARENB in every termios change, without an
 * error: exactly the silent refusal a real driver does for settings its UART lacks. Every other
 * word size and every parity must be reported (-EOPNOTSUPP) and the old settings kept.
 */
START_TEST(test_config_pty_refuses)
{
	struct weft_serial_config c;
	weft_serial *port;
	struct pty p;
	int refused = 0;

	pty_open(&p);
	ck_assert_int_eq(
	    weft_serial_open(&port, p.path,
			     &(struct weft_serial_config){.baud = 38400, .stop_bits = 2}),
	    0);
	for (unsigned bits = 5; bits <= 8; bits++)
		for (unsigned par = 0; par <= WEFT_SERIAL_PARITY_SPACE; par++) {
			const struct weft_serial_config want = {
			    .baud = 1200, .data_bits = (uint8_t)bits, .parity = (uint8_t)par};
			int r = weft_serial_configure(port, &want);
			if (bits == 8 && par == WEFT_SERIAL_PARITY_NONE) {
				ck_assert_int_eq(r, 0);
				ck_assert_int_eq(
				    weft_serial_configure(
					port, &(struct weft_serial_config){.baud = 38400,
									   .stop_bits = 2}),
				    0);
				continue;
			}
			ck_assert_int_eq(r, -EOPNOTSUPP);
			refused++;
			ck_assert_int_eq(weft_serial_get_config(port, &c), 0);
			ck_assert_uint_eq(c.baud, 38400); /* the previous settings, restored */
			ck_assert_uint_eq(c.stop_bits, 2);
			ck_assert_uint_eq(c.data_bits, 8);
		}
	ck_assert_int_eq(refused, 19);
	/* An open asking for one fails as a whole. */
	weft_serial *other = NULL;
	ck_assert_int_eq(weft_serial_open(&other, p.path,
					  &(struct weft_serial_config){
					      .data_bits = 7, .parity = WEFT_SERIAL_PARITY_EVEN}),
			 -EOPNOTSUPP);
	ck_assert_ptr_null(other);
	weft_serial_close(port);
	close(p.master);
}
END_TEST

START_TEST(test_config_invalid)
{
	static const struct weft_serial_config bad[] = {
	    {.data_bits = 4}, {.data_bits = 9}, {.stop_bits = 3},
	    {.parity = 5},    {.flow = 3},	{.flags = 1u << 20},
	};
	struct weft_serial_config c;
	weft_serial *port;
	struct pty p;

	pty_open(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(weft_serial_open(&port, p.path, &bad[i]), -EINVAL);
	ck_assert_int_eq(
	    weft_serial_open(&port, p.path, &(struct weft_serial_config){.baud = 57600}), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(weft_serial_configure(port, &bad[i]), -EINVAL);
	ck_assert_int_eq(weft_serial_get_config(port, &c), 0);
	ck_assert_uint_eq(c.baud, 57600); /* untouched by the refused calls */
	ck_assert_int_eq(weft_serial_configure(NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_serial_get_config(port, NULL), -EINVAL);
	ck_assert_int_eq(weft_serial_open(NULL, p.path, NULL), -EINVAL);
	ck_assert_int_eq(weft_serial_open(&port, NULL, NULL), -EINVAL);
	weft_serial_close(port);
	close(p.master);
}
END_TEST

START_TEST(test_open_errors)
{
	char path[256];
	weft_serial *port = NULL;
	const char *tmp = getenv("WEFT_TEST_TMP");
	int fd;

	ck_assert_int_eq(weft_serial_open(&port, "/nonexistent/ttyX", NULL), -ENOENT);
	ck_assert_int_eq(weft_serial_open(&port, "/dev/null", NULL), -ENOTTY);
	snprintf(path, sizeof(path), "%s/serial_plain_file_%d", tmp ? tmp : "/tmp", getpid());
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(weft_serial_open(&port, path, NULL), -ENOTTY);
	unlink(path);
	ck_assert_ptr_null(port);
}
END_TEST

/*
 * A locked termios (TIOCSLCKTRMIOS on the master, needs CAP_SYS_ADMIN) is another silent
 * refusal: the kernel keeps the locked bits and says nothing. Lock the stop bits, ask for two.
 */
START_TEST(test_config_locked_setting)
{
	struct termios lock = {0};
	struct weft_serial_config c;
	weft_serial *port;
	struct pty p;

	pty_open(&p);
	ck_assert_int_eq(
	    weft_serial_open(&port, p.path, &(struct weft_serial_config){.baud = 19200}), 0);
	lock.c_cflag = CSTOPB;
	if (ioctl(p.master, TIOCSLCKTRMIOS, &lock) < 0) {
		ck_assert_int_eq(errno, EPERM); /* not root: nothing to lock with */
		goto out;
	}
	ck_assert_int_eq(weft_serial_configure(port, &(struct weft_serial_config){.stop_bits = 2}),
			 -EOPNOTSUPP);
	ck_assert_int_eq(weft_serial_get_config(port, &c), 0);
	ck_assert_uint_eq(c.stop_bits, 1);
	ck_assert_uint_eq(c.baud, 19200); /* restored, not left at the refused call's 9600 */
	/* Settings the lock does not touch still work. */
	ck_assert_int_eq(weft_serial_configure(port, &(struct weft_serial_config){.baud = 4800}),
			 0);
out:
	weft_serial_close(port);
	close(p.master);
}
END_TEST

/* Open @path in a child process without CAP_SYS_ADMIN (which bypasses TIOCEXCL): its result. */
static int open_unprivileged(const char *path)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		weft_serial *port;
		int r;

		if (syscall(SYS_capget, &h, d) == 0) {
			d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
			if (syscall(SYS_capset, &h, d) != 0)
				_exit(100);
		}
		r = weft_serial_open(&port, path, NULL);
		if (!r)
			weft_serial_close(port);
		_exit(-r);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) != 100);
	return -WEXITSTATUS(st);
}

START_TEST(test_cooked_and_exclusive)
{
	struct weft_serial_config c;
	weft_serial *port;
	struct pty p;
	int excl = 0;

	pty_open(&p);
	/* A fresh pty is cooked; COOKED leaves the line discipline alone. */
	ck_assert_int_eq(
	    weft_serial_open(&port, p.path,
			     &(struct weft_serial_config){.flags = WEFT_SERIAL_COOKED}),
	    0);
	ck_assert_int_eq(weft_serial_get_config(port, &c), 0);
	ck_assert_uint_eq(c.flags & WEFT_SERIAL_COOKED, WEFT_SERIAL_COOKED);
	ck_assert_int_eq(weft_serial_configure(
			     port, &(struct weft_serial_config){.flags = WEFT_SERIAL_EXCLUSIVE}),
			 0);
	ck_assert_int_eq(weft_serial_get_config(port, &c), 0);
	ck_assert_uint_eq(c.flags, WEFT_SERIAL_EXCLUSIVE);
	ck_assert_int_eq(ioctl(weft_serial_fd(port), TIOCGEXCL, &excl), 0);
	ck_assert_int_eq(excl, 1);
	ck_assert_int_eq(open_unprivileged(p.path), -EBUSY);
	ck_assert_int_eq(weft_serial_configure(port, NULL), 0);
	ck_assert_int_eq(ioctl(weft_serial_fd(port), TIOCGEXCL, &excl), 0);
	ck_assert_int_eq(excl, 0);
	ck_assert_int_eq(open_unprivileged(p.path), 0);
	weft_serial_close(port);
	close(p.master);
}
END_TEST

/* ---- misuse ---------------------------------------------------------------------------------- */

static int second_reader(void *arg)
{
	char c;

	return (int)weft_serial_read(arg, &c, 1);
}

static int busy_main(void *arg)
{
	struct pty *p = arg;
	weft_serial *port;
	weft_task *t;
	char c;
	int st;

	ck_assert_int_eq(weft_serial_open(&port, p->path, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t, second_reader, port, NULL), 0);
	weft_yield(); /* let it park in its read */
	ck_assert_int_eq(weft_serial_read(port, &c, 1), -EBUSY);
	ck_assert_int_eq(write(p->master, "z", 1), 1);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 1);
	ck_assert_int_eq(weft_serial_read(port, &c, 0), 0);
	ck_assert_int_eq(weft_serial_read(NULL, &c, 1), -EINVAL);
	return weft_serial_close(port);
}

START_TEST(test_misuse)
{
	struct pty p;
	weft_serial *port;
	char c;

	pty_open(&p);
	ck_assert_int_eq(weft_run(busy_main, &p, NULL), 0);
	/* Outside a fiber: the calls that may wait say so, the rest work. */
	ck_assert_int_eq(weft_serial_open(&port, p.path, NULL), 0);
	ck_assert_int_eq(weft_serial_read(port, &c, 1), -EPERM);
	ck_assert_int_eq(weft_serial_write(port, "x", 1), -EPERM);
	ck_assert_int_eq(weft_serial_drain(port), -EPERM);
	ck_assert_int_eq(weft_serial_send_break(port, 0), -EPERM);
	ck_assert_int_eq(weft_serial_flush(port, WEFT_SERIAL_FLUSH_INPUT), 0);
	ck_assert_int_eq(weft_serial_flush(port, 0), -EINVAL);
	ck_assert_int_eq(weft_serial_flush(port, 4), -EINVAL);
	ck_assert_int_eq(weft_serial_close(port), 0);
	ck_assert_int_eq(weft_serial_close(NULL), 0);
	ck_assert_int_eq(weft_serial_fd(NULL), -EINVAL);
	close(p.master);
}
END_TEST

/* ---- what ptys cannot do, and line control --------------------------------------------------- */

START_TEST(test_modem_lines_rejected)
{
	weft_serial *port;
	struct pty p;
	unsigned lines = 0xdead;

	pty_open(&p);
	ck_assert_int_eq(weft_serial_open(&port, p.path, NULL), 0);
	ck_assert_int_eq(weft_serial_modem_get(port, &lines), -ENOTTY);
	ck_assert_uint_eq(lines, 0xdead); /* untouched on failure */
	ck_assert_int_eq(weft_serial_modem_set(port, WEFT_SERIAL_DTR, WEFT_SERIAL_DTR), -ENOTTY);
	ck_assert_int_eq(weft_serial_modem_set(port, WEFT_SERIAL_RTS, 0), -ENOTTY);
	/* Argument errors come first, whatever the device. */
	ck_assert_int_eq(weft_serial_modem_set(port, 0, 0), -EINVAL);
	ck_assert_int_eq(weft_serial_modem_set(port, WEFT_SERIAL_CTS, WEFT_SERIAL_CTS), -EINVAL);
	ck_assert_int_eq(weft_serial_modem_get(port, NULL), -EINVAL);
	weft_serial_close(port);
	close(p.master);
}
END_TEST

static int control_main(void *arg)
{
	struct pty *p = arg;
	weft_serial *port;
	weft_stream *s;
	const void *data;
	size_t avail;
	weft_scope sc;
	char c;

	ck_assert_int_eq(weft_serial_open(&port, p->path, NULL), 0);
	ck_assert_int_eq(weft_serial_stream(port, NULL, &s), 0);
	/* Flushing input drops both what the tty holds and what the stream buffered. */
	ck_assert_int_eq(write(p->master, "abc", 3), 3);
	ck_assert_int_eq(weft_stream_peek(s, 1, &data, &avail), 0);
	ck_assert_int_eq(write(p->master, "def", 3), 3);
	wait_inq(weft_serial_fd(port), 6 - (int)avail); /* all of it is in the tty */
	ck_assert_int_eq(
	    weft_serial_flush(port, WEFT_SERIAL_FLUSH_INPUT | WEFT_SERIAL_FLUSH_OUTPUT), 0);
	ck_assert_uint_eq(weft_stream_buffered(s), 0);
	weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_stream_read(s, &c, 1), -ETIMEDOUT);
	weft_scope_exit(&sc);
	/* Drain and break: a pty has nothing to wait for and ignores breaks, but both run. */
	ck_assert_int_eq(weft_serial_write(port, "xyz", 3), 3);
	ck_assert_int_eq(weft_serial_drain(port), 0);
	ck_assert_int_eq(weft_serial_send_break(port, 2 * WEFT_MSEC), 0);
	ck_assert_int_eq(weft_serial_send_break(port, -1), -EINVAL);
	/* A break cut short by a deadline returns the deadline (and still ends the break). */
	weft_scope_enter(&sc, weft_now() + 5 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_serial_send_break(port, LONG_SLEEP), -ETIMEDOUT);
	weft_scope_exit(&sc);
	return weft_serial_close(port);
}

/* A driver that cannot report its transmitter (USB adapters) ends a drain with tcdrain() on the
 * thread pool. A pty says it has no transmitter, so pretend (white-box) it is not a pty. */
static int drain_thread_main(void *arg)
{
	struct pty *p = arg;
	weft_serial *port;

	ck_assert_int_eq(weft_serial_open(&port, p->path, NULL), 0);
	ck_assert(port->pty);
	port->pty = false;
	ck_assert_int_eq(weft_serial_write(port, "abc", 3), 3);
	ck_assert_int_eq(weft_serial_drain(port), 0);
	return weft_serial_close(port);
}

START_TEST(test_drain_thread_path)
{
	struct pty p;

	if (getenv("WEFT_VALGRIND")) /* a pool thread wakes the sleeping loop: see README "Tests" */
		return;
	pty_open(&p);
	ck_assert_int_eq(weft_run(drain_thread_main, &p, NULL), 0);
	close(p.master);
}
END_TEST

START_TEST(test_flush_drain_break)
{
	struct pty p;

	pty_open(&p);
	ck_assert_int_eq(weft_run(control_main, &p, NULL), 0);
	close(p.master);
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *s = suite_create("serial");
	TCase *tc = tcase_create("serial");

	tcase_add_test(tc, test_open_defaults);
	tcase_add_test(tc, test_config_round_trips);
	tcase_add_test(tc, test_config_pty_refuses);
	tcase_add_test(tc, test_config_invalid);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_config_locked_setting);
	tcase_add_test(tc, test_cooked_and_exclusive);
	tcase_add_test(tc, test_misuse);
	tcase_add_test(tc, test_modem_lines_rejected);
	tcase_add_test(tc, test_flush_drain_break);
	tcase_add_test(tc, test_drain_thread_path);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(serial_suite)

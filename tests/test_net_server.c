/* SPDX-License-Identifier: MIT */
/*
 * net/ servers and reconnects: weft_server_* and weft_tcp_serve under many clients, connection
 * limits, graceful shutdown with stuck clients, running out of fds; weft_tcp_connect_host and
 * weft_tcp_connect_retry.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "test_net_util.h"

/* ---- handlers ------------------------------------------------------------------------------- */

/* Echo lines until EOF, through the connection's stream. */
static int echo_lines(weft_sock *conn, void *arg)
{
	weft_stream *st;
	char line[256];
	ssize_t n;
	int r = weft_sock_stream(conn, NULL, &st);

	while (!r && (n = weft_stream_read_line(st, line, sizeof(line), 0)) > 0)
		if (weft_stream_write(st, line, (size_t)n) < 0)
			return -EIO;
	return r;
}

/* One line "ping\n" -> "ping\n" over a fresh connection; 0 or an error. */
static int ping(const weft_sockaddr *a, weft_sock **keep)
{
	weft_sock *c;
	char buf[8];
	int r = weft_tcp_connect(&c, a);

	if (r)
		return r;
	if (weft_sock_send(c, "ping\n", 5) != 5 || weft_sock_recv(c, buf, 5) != 5 ||
	    memcmp(buf, "ping\n", 5))
		r = -EIO;
	if (keep && !r)
		*keep = c;
	else
		weft_sock_close(c);
	return r;
}

static weft_server *start_server(const char *ip, weft_sockaddr *a, weft_server_fn fn, void *arg,
				 const struct weft_server_opts *o)
{
	weft_server *srv;
	weft_sock *l = listen_lo(ip, a, 0);

	ck_assert_int_eq(weft_server_start(&srv, l, fn, arg, o), 0);
	return srv;
}

/* ---- a thousand clients ---------------------------------------------------------------------- */

enum { NCLIENTS = 1000 };

struct crowd {
	weft_sockaddr addr;
	weft_server *srv;
	weft_event *all_in;
	unsigned connected, peak, done;
};

static int crowd_client(void *arg)
{
	struct crowd *cr = arg;
	weft_sock *c;
	char buf[8];
	int r = ping(&cr->addr, &c);

	if (r)
		return r;
	/* Hold the connection until every client has one: the server handles all at once. */
	if (++cr->connected == NCLIENTS) {
		cr->peak = weft_server_conns(cr->srv);
		weft_event_set(cr->all_in);
	}
	r = weft_event_wait(cr->all_in);
	if (!r && (weft_sock_send(c, "again\n", 6) != 6 || weft_sock_recv(c, buf, 6) != 6))
		r = -EIO;
	weft_sock_close(c);
	cr->done += !r;
	return r;
}

static int crowd_main(void *arg)
{
	static weft_task *t[NCLIENTS];
	struct crowd cr = {0};
	int st[NCLIENTS];

	cr.srv = start_server("127.0.0.1", &cr.addr, echo_lines, NULL, NULL);
	ck_assert_int_eq(weft_event_new(NULL, &cr.all_in), 0);
	for (int i = 0; i < NCLIENTS; i++)
		ck_assert_int_eq(weft_task_spawn(&t[i], crowd_client, &cr, NULL), 0);
	ck_assert_int_eq(weft_tasks_gather(t, NCLIENTS, st, 0), 0);
	ck_assert_uint_eq(cr.done, NCLIENTS);
	ck_assert_uint_eq(cr.peak, NCLIENTS);
	ck_assert_int_eq(weft_server_shutdown(cr.srv, WEFT_SEC), 0);
	ck_assert_uint_eq(weft_server_conns(cr.srv), 0);
	ck_assert_int_eq(weft_server_free(cr.srv), 0);
	weft_event_free(cr.all_in);
	return 0;
}

START_TEST(thousand_clients)
{
	if (raise_nofile(2 * NCLIENTS + 100) < 2 * NCLIENTS + 100)
		return; /* the hard limit does not allow it here */
	run_main(crowd_main, NULL);
}
END_TEST

/* ---- connection limit ------------------------------------------------------------------------ */

struct limit {
	unsigned active, peak, served;
	weft_event *go;
};

static int limited(weft_sock *conn, void *arg)
{
	struct limit *lm = arg;
	int r;

	if (++lm->active > lm->peak)
		lm->peak = lm->active;
	r = weft_event_wait(lm->go);
	lm->active--;
	lm->served++;
	return r ? r : (int)weft_sock_send(conn, "k", 1);
}

static int limit_client(void *arg)
{
	weft_sock *c;
	char b;
	int r = weft_tcp_connect(&c, arg);

	if (r)
		return r;
	r = weft_sock_recv(c, &b, 1) == 1 ? 0 : -EIO;
	weft_sock_close(c);
	return r;
}

static int limit_main(void *arg)
{
	struct weft_server_opts o = {.max_conns = 2};
	struct limit lm = {0};
	weft_sockaddr a;
	weft_server *srv;
	weft_task *t[5];
	int st[5];

	ck_assert_int_eq(weft_event_new(NULL, &lm.go), 0);
	srv = start_server("127.0.0.1", &a, limited, &lm, &o);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(weft_task_spawn(&t[i], limit_client, &a, NULL), 0);
	weft_sleep(50 * WEFT_MSEC);
	ck_assert_uint_eq(lm.active, 2);
	ck_assert_uint_eq(weft_server_conns(srv), 2);
	weft_event_set(lm.go);
	ck_assert_int_eq(weft_tasks_gather(t, 5, st, 0), 0);
	ck_assert_uint_eq(lm.peak, 2);
	ck_assert_uint_eq(lm.served, 5);
	ck_assert_int_eq(weft_server_shutdown(srv, 0), 0);
	weft_server_free(srv);
	weft_event_free(lm.go);
	return 0;
}

FIBER_TEST(max_conns, limit_main)

/* ---- graceful shutdown --------------------------------------------------------------------- */

struct stuck {
	int quick_status; /* what the quick handler ended with */
	int stuck_status;
	unsigned started;
};

/* The first line decides: "quick" finishes within the grace period, "stuck" never does. */
static int quick_or_stuck(weft_sock *conn, void *arg)
{
	struct stuck *sk = arg;
	char buf[16];
	ssize_t n = weft_sock_recv(conn, buf, sizeof(buf));

	sk->started++;
	if (n == 5 && !memcmp(buf, "quick", 5)) {
		int r = weft_sleep(30 * WEFT_MSEC);
		sk->quick_status = r ? r : (int)weft_sock_send(conn, "done", 4);
		return sk->quick_status;
	}
	n = weft_sock_recv(conn, buf, sizeof(buf)); /* the client never sends more */
	sk->stuck_status = (int)n;
	return (int)n;
}

static int shutdown_main(void *arg)
{
	struct stuck sk = {.quick_status = 1, .stuck_status = 1};
	weft_sock *quick, *stuck, *late;
	weft_sockaddr a;
	weft_server *srv;
	char buf[8];
	int64_t t0;

	srv = start_server("127.0.0.1", &a, quick_or_stuck, &sk, NULL);
	ck_assert_int_eq(weft_tcp_connect(&quick, &a), 0);
	ck_assert_int_eq(weft_tcp_connect(&stuck, &a), 0);
	ck_assert_int_eq(weft_sock_send(quick, "quick", 5), 5);
	ck_assert_int_eq(weft_sock_send(stuck, "stuck", 5), 5);
	while (sk.started < 2)
		weft_sleep(WEFT_MSEC);
	ck_assert_int_eq(weft_server_free(srv), -EBUSY);
	t0 = weft_now();
	ck_assert_int_eq(weft_server_shutdown(srv, 200 * WEFT_MSEC), 1); /* one cancelled */
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(sk.quick_status, 4);
	ck_assert_int_eq(sk.stuck_status, -ECANCELED);
	/* The quick client got its answer, both see the server's close, nobody listens now. */
	ck_assert_int_eq(weft_sock_recv(quick, buf, sizeof(buf)), 4);
	ck_assert_int_eq(weft_sock_recv(quick, buf, sizeof(buf)), 0);
	ck_assert_int_eq(weft_sock_recv(stuck, buf, sizeof(buf)), 0);
	ck_assert_int_eq(weft_tcp_connect(&late, &a), -ECONNREFUSED);
	ck_assert_int_eq(weft_server_addr(srv, &a), -EBADF);
	ck_assert_int_eq(weft_server_wait(srv), 0);
	ck_assert_int_eq(weft_server_shutdown(srv, 0), 1); /* again: harmless */
	ck_assert_int_eq(weft_server_free(srv), 0);
	weft_sock_close(quick);
	weft_sock_close(stuck);
	return 0;
}

FIBER_TEST(graceful_shutdown, shutdown_main)

/* ---- weft_tcp_serve: trio's serve_tcp ------------------------------------------------------- */

struct serve_arg {
	weft_sockaddr addr;
	weft_server *srv;
	weft_event *ready;
	int grace_ms;
};

static void serve_started(weft_server *srv, void *arg)
{
	struct serve_arg *sa = arg;

	sa->srv = srv;
	ck_assert_int_eq(weft_server_addr(srv, &sa->addr), 0);
	weft_event_set(sa->ready);
}

static int serve_task(void *arg)
{
	struct serve_arg *sa = arg;
	struct weft_server_opts o = {
	    .grace_ns = sa->grace_ms * WEFT_MSEC, .on_start = serve_started, .arg = sa};

	return weft_tcp_serve(&sa->addr, echo_lines, NULL, &o);
}

/* Serve on 127.0.0.1 in a task of its own, connect an idle client, then cancel the serving
 * task; returns it (still to be joined) and the client in @idle. */
static weft_task *serve_then_cancel(struct serve_arg *sa, weft_sock **idle)
{
	weft_task *t;

	ck_assert_int_eq(weft_event_new(NULL, &sa->ready), 0);
	addr_of(&sa->addr, "127.0.0.1:0");
	ck_assert_int_eq(weft_task_spawn(&t, serve_task, sa, NULL), 0);
	ck_assert_int_eq(weft_event_wait(sa->ready), 0);
	ck_assert_int_eq(ping(&sa->addr, idle), 0);
	weft_task_cancel(t);
	return t;
}

static int tcp_serve_main(void *arg)
{
	struct serve_arg sa = {.grace_ms = 50};
	weft_sock *idle;
	weft_task *t;
	char buf[4];

	/* Stopped by cancelling the serving fiber: the idle client is cut after the grace. */
	t = serve_then_cancel(&sa, &idle);
	ck_assert_int_eq(join_status(t), -ECANCELED);
	ck_assert_int_eq(weft_sock_recv(idle, buf, sizeof(buf)), 0);
	weft_sock_close(idle);
	/* Stopped by weft_server_shutdown: returns 0. */
	weft_event_clear(sa.ready);
	addr_of(&sa.addr, "[::1]:0");
	ck_assert_int_eq(weft_task_spawn(&t, serve_task, &sa, NULL), 0);
	weft_event_wait(sa.ready);
	ck_assert_int_eq(ping(&sa.addr, NULL), 0);
	ck_assert_int_eq(weft_server_shutdown(sa.srv, WEFT_SEC), 0);
	ck_assert_int_eq(join_status(t), 0);
	/* A listen error comes back at once. */
	ck_assert_int_eq(weft_tcp_serve(&sa.addr, NULL, NULL, NULL), -EINVAL);
	weft_sock *l = listen_lo("127.0.0.1", &sa.addr, WEFT_LISTEN_NO_REUSEADDR);
	ck_assert_int_eq(weft_tcp_serve(&sa.addr, echo_lines, NULL, NULL), -EADDRINUSE);
	weft_sock_close(l);
	weft_event_free(sa.ready);
	return 0;
}

FIBER_TEST(tcp_serve, tcp_serve_main)

/* A grace of 0 means none, in the options as in weft_server_shutdown(srv, 0): a cancelled
 * weft_tcp_serve cuts its connections at once (it used to mean a hidden 5 s). */
static int zero_grace_main(void *arg)
{
	struct serve_arg sa = {.grace_ms = 0};
	struct weft_server_opts bad = {.grace_ns = -1};
	weft_scope sc;
	weft_sock *idle, *l;
	weft_task *t;
	weft_server *srv;
	char buf[4];

	t = serve_then_cancel(&sa, &idle);
	/* Half the old default: only a grace period that was really given could outlast it. */
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 2500 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(join_status(t), -ECANCELED);
	weft_scope_exit(&sc);
	ck_assert_int_eq(weft_sock_recv(idle, buf, sizeof(buf)), 0);
	weft_sock_close(idle);
	weft_event_free(sa.ready);
	/* Negative is no grace period at all: refused. */
	l = listen_lo("127.0.0.1", &sa.addr, 0);
	ck_assert_int_eq(weft_server_start(&srv, l, echo_lines, NULL, &bad), -EINVAL);
	weft_sock_close(l);
	return 0;
}

FIBER_TEST(zero_grace_means_none, zero_grace_main)

/* ---- out of fds: the server keeps running and says so once ------------------------------ */

struct fdstarve {
	weft_event *release;
	unsigned served;
	int errors[8];
	unsigned nerrors;
};

static int hold_until_released(weft_sock *conn, void *arg)
{
	struct fdstarve *fs = arg;
	int r = weft_event_wait(fs->release);

	fs->served++;
	return r ? r : (int)weft_sock_send(conn, "k", 1);
}

static void count_error(weft_server *srv, int err, void *arg)
{
	struct fdstarve *fs = arg;

	if (fs->nerrors < 8)
		fs->errors[fs->nerrors] = err;
	fs->nerrors++;
}

static int emfile_main(void *arg)
{
	bool quiet = *(bool *)arg; /* on_error given: no stderr line */
	struct fdstarve fs = {0};
	struct weft_server_opts o = {.on_error = quiet ? count_error : NULL, .arg = &fs};
	weft_sock *c[4];
	weft_sockaddr a;
	weft_server *srv;
	int spare[64], nspare;
	char b;

	ck_assert_int_eq(weft_event_new(NULL, &fs.release), 0);
	/* The clients wait in the backlog; then there is room for one accept only. */
	weft_sock *l = listen_lo("127.0.0.1", &a, 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(weft_tcp_connect(&c[i], &a), 0);
	starve_fds(spare, 64, &nspare, 1);
	ck_assert_int_eq(weft_server_start(&srv, l, hold_until_released, &fs, &o), 0);
	weft_sleep(300 * WEFT_MSEC); /* the server fails, pauses, retries - a few times */
	ck_assert_uint_eq(weft_server_conns(srv), 1);
	ck_assert_uint_eq(fs.served, 0);
	release_fds(spare, &nspare);
	weft_event_set(fs.release);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(weft_sock_recv(c[i], &b, 1), 1);
		weft_sock_close(c[i]);
	}
	ck_assert_uint_eq(fs.served, 4);
	if (quiet) {
		ck_assert_uint_ge(fs.nerrors, 2); /* told every time */
		ck_assert_int_eq(fs.errors[0], -EMFILE);
	}
	ck_assert_int_eq(weft_server_shutdown(srv, 0), 0);
	weft_server_free(srv);
	weft_event_free(fs.release);
	return 0;
}

START_TEST(server_emfile)
{
	bool quiet = _i;
	char path[300], log[512];
	int fd, saved;
	ssize_t n;

	if (under_valgrind())
		return;
	saved = dup(2);
	snprintf(path, sizeof(path), "%s/stderr", tmp_dir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	dup2(fd, 2);
	run_main(emfile_main, &quiet);
	dup2(saved, 2);
	n = pread(fd, log, sizeof(log) - 1, 0);
	ck_assert_int_ge(n, 0);
	log[n] = 0;
	close(fd);
	if (quiet) {
		ck_assert_str_eq(log, "");
	} else { /* said once, however often it happened */
		char *first = strstr(log, "accept failed");
		ck_assert_ptr_nonnull(first);
		ck_assert_ptr_null(strstr(first + 1, "accept failed"));
	}
}
END_TEST

/* ---- a server on a Unix socket, and a handler's failure reported -------------------------- */

static int failing(weft_sock *conn, void *arg)
{
	return -EPROTO;
}

static void remember_error(weft_server *srv, int err, void *arg)
{
	*(int *)arg = err;
}

static int unix_server_main(void *arg)
{
	int err = 0;
	struct weft_server_opts o = {.on_error = remember_error, .arg = &err};
	char path[300];
	weft_sockaddr a;
	weft_sock *l, *c;
	weft_server *srv;
	char b;

	snprintf(path, sizeof(path), "%s/srv.sock", tmp_dir());
	ck_assert_int_eq(weft_addr_unix(&a, path), 0);
	ck_assert_int_eq(weft_unix_listen(&l, &a, NULL), 0);
	ck_assert_int_eq(weft_server_start(&srv, l, failing, NULL, &o), 0);
	ck_assert_int_eq(weft_unix_connect(&c, &a, SOCK_STREAM), 0);
	ck_assert_int_eq(weft_sock_recv(c, &b, 1), 0); /* closed after the handler returned */
	weft_sock_close(c);
	ck_assert_int_eq(err, -EPROTO);
	ck_assert_int_eq(weft_server_shutdown(srv, 0), 0);
	weft_server_free(srv);
	unlink(path);
	return 0;
}

FIBER_TEST(unix_server, unix_server_main)

/* ---- connecting by name, and retrying ------------------------------------------------------- */

static int connect_host_main(void *arg)
{
	weft_sockaddr a;
	weft_sock *l, *c, *s;

	if (under_valgrind())
		return 0;
	/* "localhost" may resolve to ::1 first: refused there, then 127.0.0.1 answers. */
	l = listen_lo("127.0.0.1", &a, 0);
	ck_assert_int_eq(weft_tcp_connect_host(&c, "localhost", (uint16_t)weft_addr_port(&a)), 0);
	ck_assert_int_eq(weft_sock_accept(l, &s, NULL), 0);
	close3(c, s, l);
	return 0;
}

FIBER_TEST(connect_host, connect_host_main)

struct retries {
	unsigned n;
	int errs[64];
	int64_t delays[64];
};

static void on_retry(void *arg, unsigned attempt, int err, int64_t delay)
{
	struct retries *rt = arg;

	ck_assert_uint_eq(attempt, rt->n + 1);
	if (rt->n < 64) {
		rt->errs[rt->n] = err;
		rt->delays[rt->n] = delay;
	}
	rt->n++;
}

static int late_listener(void *arg)
{
	weft_sock *l, *s;
	int r = weft_sleep(300 * WEFT_MSEC);

	if (!r)
		r = weft_tcp_listen(&l, arg, NULL);
	if (r)
		return r;
	r = weft_sock_accept(l, &s, NULL);
	if (!r)
		weft_sock_close(s);
	weft_sock_close(l);
	return r;
}

static int retry_main(void *arg)
{
	struct retries rt = {0};
	struct weft_retry_opts o = {.initial_ns = 20 * WEFT_MSEC,
				    .max_ns = 80 * WEFT_MSEC,
				    .on_retry = on_retry,
				    .arg = &rt};
	char host[16] = "127.0.0.1";
	weft_sockaddr a;
	weft_sock *l, *c;
	weft_task *t;
	int64_t t0;

	l = listen_lo(host, &a, 0);
	weft_sock_close(l); /* a port nobody listens on, until late_listener does */
	ck_assert_int_eq(weft_task_spawn(&t, late_listener, &a, NULL), 0);
	ck_assert_int_eq(weft_tcp_connect_retry(&c, host, (uint16_t)weft_addr_port(&a), &o), 0);
	ck_assert_int_eq(join_status(t), 0);
	weft_sock_close(c);
	ck_assert_uint_ge(rt.n, 2);
	/* Exponential with equal jitter: each delay within [d/2, d], d doubling up to max. */
	for (unsigned i = 0, d = 20; i < rt.n && i<64; i++, d = d * 2> 80 ? 80 : d * 2) {
		ck_assert_int_eq(rt.errs[i], -ECONNREFUSED);
		ck_assert_int_ge(rt.delays[i], d / 2 * WEFT_MSEC);
		ck_assert_int_le(rt.delays[i], d * WEFT_MSEC);
	}
	/* Nobody ever listens: the deadline ends it; or the number of tries does. */
	rt.n = 0;
	o.deadline = weft_now() + 150 * WEFT_MSEC;
	t0 = weft_now();
	ck_assert_int_eq(weft_tcp_connect_retry(&c, host, (uint16_t)weft_addr_port(&a), &o),
			 -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	rt.n = 0;
	o.deadline = 0;
	o.max_tries = 3;
	ck_assert_int_eq(weft_tcp_connect_retry(&c, host, (uint16_t)weft_addr_port(&a), &o),
			 -ECONNREFUSED);
	ck_assert_uint_eq(rt.n, 2);
	/* A malformed request is not retried. */
	ck_assert_int_eq(weft_tcp_connect_retry(&c, "", 1, &o), -EINVAL);
	return 0;
}

FIBER_TEST(connect_retry, retry_main)

static int retry_cancel_task(void *arg)
{
	weft_sock *c;
	struct weft_retry_opts o = {.initial_ns = LONG_SLEEP};

	return weft_tcp_connect_retry(&c, "127.0.0.1", *(uint16_t *)arg, &o);
}

static int retry_cancel_main(void *arg)
{
	weft_sockaddr a;
	weft_sock *l = listen_lo("127.0.0.1", &a, 0);
	uint16_t port = (uint16_t)weft_addr_port(&a);
	weft_task *t;

	weft_sock_close(l);
	ck_assert_int_eq(weft_task_spawn(&t, retry_cancel_task, &port, NULL), 0);
	weft_sleep(20 * WEFT_MSEC); /* in its (long) backoff sleep */
	weft_task_cancel(t);
	ck_assert_int_eq(join_status(t), -ECANCELED);
	return 0;
}

FIBER_TEST(connect_retry_cancel, retry_cancel_main)

/* A connection accepted in the same turn as the shutdown: its task is cancelled before it first
 * runs, so its handler never runs - and its socket must still be closed and its count dropped. */
static int never_called(weft_sock *conn, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int shutdown_races_accept_main(void *arg)
{
	for (unsigned flags = 0; flags <= WEFT_LISTEN_NO_MULTISHOT;
	     flags += WEFT_LISTEN_NO_MULTISHOT) {
		int before = fd_count(), handled = 0, c;
		weft_sockaddr a;
		weft_sock *l = listen_lo("127.0.0.1", &a, flags);
		weft_server *srv;

		ck_assert_int_eq(weft_server_start(&srv, l, never_called, &handled, NULL), 0);
		ck_assert_int_eq(weft_sleep(10 * WEFT_MSEC), 0); /* the server is in accept */
		c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(c, 0);
		ck_assert_int_eq(connect(c, &a.sa, a.len), 0);
		ck_assert_int_eq(weft_yield(), 0);
		ck_assert_int_ge(weft_server_shutdown(srv, 0), 0);
		ck_assert_uint_eq(weft_server_conns(srv), 0);
		ck_assert_int_eq(weft_server_free(srv), 0);
		close(c);
		ck_assert_int_le(handled, 1);
		ck_assert_int_eq(fd_count(), before);
	}
	return 0;
}

FIBER_TEST(shutdown_races_accept, shutdown_races_accept_main)

static Suite *server_suite(void)
{
	Suite *s = suite_create("net_server");
	TCase *tc = tcase_create("server");

	tcase_add_test(tc, thousand_clients);
	tcase_add_test(tc, max_conns);
	tcase_add_test(tc, graceful_shutdown);
	tcase_add_test(tc, shutdown_races_accept);
	tcase_add_test(tc, tcp_serve);
	tcase_add_test(tc, zero_grace_means_none);
	tcase_add_loop_test(tc, server_emfile, 0, 2);
	tcase_add_test(tc, unix_server);
	tcase_add_test(tc, connect_host);
	tcase_add_test(tc, connect_retry);
	tcase_add_test(tc, connect_retry_cancel);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(server_suite)

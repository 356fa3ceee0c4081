/* SPDX-License-Identifier: MIT */
/*
 * The programs `make check-alloc` runs with one allocation failing (tests/alloc_fail.c,
 * tests/alloc_run): alloc_sweep SCENARIO runs one representative program and exits
 *   0  it worked (no failure was injected, or the library got around it),
 *   2  a weft call returned an error, after a failure was injected, and everything was released,
 *   1  a wrong result, or an error although no allocation failed: a test failure.
 * A crash, a hang (tests/alloc_run's timeout) or an ASan/LSan report fails the run too.
 * With WEFT_ALLOC_FAIL unset it prints "allocations N": how many the sweep can fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <weft.h>
#include <weft/net.h>

#include "tests/alloc_fail.h"

#define TRY(expr)                     \
	do {                          \
		int r_ = (int)(expr); \
		if (r_ < 0)           \
			return r_;    \
	} while (0)

static int wrong; /* a result that is wrong (not an error): always a failure */

static void check_equal(const void *a, const void *b, size_t n, const char *what)
{
	if (memcmp(a, b, n)) {
		fprintf(stderr, "alloc_sweep: %s: wrong bytes\n", what);
		wrong = 1;
	}
}

/* ---- echo round trip: a server, a client, a stream on each side --------------------------- */

static int echo_conn(weft_sock *conn, void *arg)
{
	char line[64];
	weft_stream *s;
	ssize_t n;

	TRY(weft_sock_stream(conn, NULL, &s)); /* the server closes @conn, and its stream */
	while ((n = weft_stream_read_line(s, line, sizeof(line), sizeof(line))) > 0)
		if ((n = weft_stream_write(s, line, (size_t)n)) < 0 ||
		    (n = weft_stream_flush(s)) < 0)
			break;
	return (int)n;
}

static int echo_client(const weft_sockaddr *addr)
{
	static const char msg[] = "hello, weft\n";
	char buf[64];
	weft_stream *s;
	weft_sock *sock;
	ssize_t n = 0;
	int r, i;

	TRY(weft_tcp_connect(&sock, addr));
	r = weft_sock_stream(sock, NULL, &s);
	if (r < 0) {
		weft_sock_close(sock);
		return r;
	}
	for (i = 0; i < 3 && n >= 0; i++) {
		n = weft_stream_write(s, msg, sizeof(msg) - 1);
		if (n >= 0)
			n = weft_stream_flush(s);
		if (n >= 0)
			n = weft_stream_read_line(s, buf, sizeof(buf), sizeof(buf));
		if (n == 0) /* the server's side failed and closed */
			n = -ECONNRESET;
		if (n > 0)
			check_equal(buf, msg, sizeof(msg) - 1, "echo");
	}
	r = weft_stream_close(s);
	return n < 0 ? (int)n : r;
}

static int server_errors; /* what the server rode out (it retries accepts that lack memory) */

static void server_error(weft_server *srv, int err, void *arg)
{
	server_errors++;
}

/* The client, with a deadline: a server short of memory pauses and retries its accepts while
 * the connection waits in the backlog, so the client waits too, but only for that reason. */
static int echo_client_timed(const weft_sockaddr *addr)
{
	weft_scope scope;
	int r;

	TRY(weft_scope_enter(&scope, weft_now() + 3 * WEFT_SEC, 0));
	r = echo_client(addr);
	weft_scope_exit(&scope);
	if (r == -ETIMEDOUT && !server_errors) {
		fprintf(stderr, "alloc_sweep: echo: no reply, and the server saw no error\n");
		wrong = 1;
	}
	return r;
}

static int echo_main(void *arg)
{
	struct weft_server_opts opts = {.on_error = server_error};
	weft_sockaddr addr;
	weft_sock *listener;
	weft_server *srv;
	int r;

	TRY(weft_addr_parse(&addr, "127.0.0.1:0"));
	TRY(weft_tcp_listen(&listener, &addr, NULL));
	r = weft_server_start(&srv, listener, echo_conn, NULL, &opts);
	if (r < 0) {
		weft_sock_close(listener);
		return r;
	}
	r = weft_server_addr(srv, &addr);
	if (!r)
		r = echo_client_timed(&addr);
	if (r < 0)
		weft_server_shutdown(srv, 0);
	else
		r = weft_server_shutdown(srv, WEFT_SEC);
	weft_server_free(srv);
	return r;
}

/* ---- a name lookup (getaddrinfo on the thread pool) and a connect to it --------------------- */

static int resolve_main(void *arg)
{
	weft_sockaddr addr;
	weft_sock *listener, *conn, *peer;
	int r;

	TRY(weft_addr_parse(&addr, "127.0.0.1:0"));
	TRY(weft_tcp_listen(&listener, &addr, NULL));
	r = weft_sock_local_addr(listener, &addr);
	if (!r) /* the backlog takes the connection: no accept needed before connect returns */
		r = weft_tcp_connect_host(&conn, "localhost", (uint16_t)weft_addr_port(&addr));
	if (!r) {
		r = weft_sock_accept(listener, &peer, NULL);
		if (!r)
			weft_sock_close(peer);
		weft_sock_close(conn);
	}
	weft_sock_close(listener);
	weft_executor_default_shutdown(0);
	return r;
}

/* ---- file copy: write, copy, read back, stream lines --------------------------------------- */

static char src[4096], dst[4096];

static int copy_check(void)
{
	char line[128];
	weft_stream *s;
	weft_file *f;
	ssize_t n;
	int lines = 0, r;

	TRY(weft_file_open(&f, dst, O_RDONLY, 0));
	r = weft_file_stream(f, &s, NULL, WEFT_FILE_STREAM_OWN);
	if (r < 0) {
		weft_file_close(f);
		return r;
	}
	while ((n = weft_stream_read_line(s, line, sizeof(line), sizeof(line))) > 0)
		lines++;
	r = weft_stream_close(s);
	if (n == 0 && !r && lines != 1000) {
		fprintf(stderr, "alloc_sweep: copy: %d lines\n", lines);
		wrong = 1;
	}
	return n < 0 ? (int)n : r;
}

static int copy_main(void *arg)
{
	char *data, *back = NULL;
	size_t len = 0, back_len = 0;
	int r, i;

	data = malloc(1000 * 16);
	if (!data)
		return -ENOMEM;
	for (i = 0; i < 1000; i++)
		len += (size_t)sprintf(data + len, "line %9d\n", i);
	r = weft_file_replace_atomic(src, data, len, 0600);
	if (!r)
		r = weft_file_copy_path(src, dst, 0600);
	if (!r)
		r = weft_file_load(dst, (void **)&back, &back_len, 1 << 20);
	if (!r && back_len != len) {
		fprintf(stderr, "alloc_sweep: copy: %zu bytes, not %zu\n", back_len, len);
		wrong = 1;
	} else if (!r) {
		check_equal(back, data, len, "copy");
	}
	free(back);
	free(data);
	if (!r)
		r = copy_check();
	unlink(src);
	unlink(dst);
	return r;
}

/* ---- queue workers: producer, consumers, join, a thread-pool hop --------------------------- */

struct qstate {
	weft_queue *q;
	long sum;
};

static int square(void *arg)
{
	long *v = arg;

	*v *= *v;
	return 0;
}

static int consumer(void *arg)
{
	struct qstate *st = arg;
	void *item;
	long v;
	int r;

	while ((r = weft_queue_get(st->q, &item)) == 0) {
		v = (long)(intptr_t)item;
		if (v % 8 == 0) {
			int res;

			r = weft_executor_default_run(square, &v, &res);
		}
		st->sum += v;
		weft_queue_task_done(st->q);
		if (r < 0)
			return r;
	}
	return r == -EPIPE ? 0 : r; /* shut down: done */
}

static int queue_body(weft_group *g, struct qstate *st)
{
	long v, want = 0;
	int i;

	for (i = 0; i < 3; i++)
		TRY(weft_group_spawn(g, consumer, st, NULL));
	for (v = 1; v <= 100; v++) {
		TRY(weft_queue_put(st->q, (void *)(intptr_t)v));
		want += v % 8 ? v : v * v;
	}
	TRY(weft_queue_join(st->q));
	TRY(weft_queue_shutdown(st->q, 0));
	if (st->sum != want) {
		fprintf(stderr, "alloc_sweep: queue: sum %ld, not %ld\n", st->sum, want);
		wrong = 1;
	}
	return 0;
}

static int queue_main(void *arg)
{
	struct qstate st = {0};
	weft_group *g;
	int r, rc;

	TRY(weft_queue_new(NULL, &st.q, WEFT_QUEUE_FIFO, 8, NULL, NULL));
	r = weft_group_open(&g);
	if (r < 0) {
		weft_queue_free(st.q);
		return r;
	}
	r = queue_body(g, &st);
	if (r < 0)
		weft_group_cancel(g);
	rc = weft_group_close(g);
	weft_queue_free(st.q);
	weft_executor_default_shutdown(0);
	return r < 0 ? r : rc;
}

/* ---- process pool: fork workers, run jobs with byte arguments and replies ------------------ */

static int reverse(const void *in, size_t inlen, void **out, size_t *outlen)
{
	char *o = malloc(inlen ? inlen : 1);
	size_t i;

	if (!o)
		return -ENOMEM;
	for (i = 0; i < inlen; i++)
		o[i] = ((const char *)in)[inlen - 1 - i];
	*out = o;
	*outlen = inlen;
	return 0;
}

static const struct weft_proc_func funcs[] = {{"reverse", reverse}};

static int pool_main(void *arg)
{
	struct weft_procpool_opts opts = {.nworkers = 2};
	weft_procpool *pool;
	void *out;
	size_t outlen;
	int r = 0, i;

	TRY(weft_procpool_new(&pool, funcs, 1, &opts));
	for (i = 0; i < 4 && r >= 0; i++) {
		r = weft_procpool_run(pool, "reverse", "abcdef", 6, &out, &outlen);
		if (r >= 0) {
			if (outlen != 6)
				wrong = 1;
			else
				check_equal(out, "fedcba", 6, "procpool");
			free(out);
		}
	}
	weft_procpool_shutdown(pool, r < 0 ? WEFT_PROCPOOL_KILL : 0);
	weft_procpool_free(pool);
	return r < 0 ? r : 0;
}

/* ---- timers, sleeps, a group, scopes, futures ---------------------------------------------- */

struct tstate {
	weft_future *fut;
	int ticks;
	weft_timer *timer;
};

static void tick(void *arg)
{
	struct tstate *st = arg;

	if (++st->ticks == 3) {
		weft_timer_stop(st->timer);
		weft_future_set(st->fut, 0, st);
	}
}

static int sleeper(void *arg)
{
	return weft_sleep((int64_t)(intptr_t)arg * WEFT_MSEC);
}

static int stuck(void *arg)
{
	weft_scope s;
	int r;

	TRY(weft_scope_enter(&s, weft_now() + 2 * WEFT_MSEC, 0));
	r = weft_sleep(WEFT_SEC);
	weft_scope_exit(&s);
	return r == -ETIMEDOUT ? 0 : r;
}

static int timers_body(struct tstate *st)
{
	weft_task *t;
	weft_group *g;
	void *v;
	int r, rc, status;

	TRY(weft_timer_start(st->timer, weft_now() + WEFT_MSEC, WEFT_MSEC));
	TRY(weft_group_open(&g));
	r = weft_group_spawn(g, sleeper, (void *)(intptr_t)1, NULL);
	if (!r)
		r = weft_group_spawn(g, stuck, NULL, NULL);
	if (r < 0)
		weft_group_cancel(g);
	rc = weft_group_close(g);
	TRY(r < 0 ? r : rc);
	TRY(weft_task_spawn(&t, sleeper, (void *)(intptr_t)1000,
			    &(struct weft_task_opts){.name = "slow"}));
	r = weft_task_wait_for(t, 2 * WEFT_MSEC, &status); /* consumes @t */
	if (!r)
		wrong = 1; /* a task sleeping 1 s finished within 2 ms */
	else if (r != -ETIMEDOUT)
		return r;
	TRY(weft_future_wait(st->fut, &v));
	if (st->ticks != 3 || v != st)
		wrong = 1;
	return 0;
}

static int timers_main(void *arg)
{
	struct tstate st = {0};
	int r;

	TRY(weft_future_new(weft_loop_current(), &st.fut));
	r = weft_timer_new(weft_loop_current(), &st.timer, tick, &st);
	if (!r)
		r = timers_body(&st);
	weft_timer_free(st.timer);
	weft_future_free(st.fut);
	return r;
}

/* ---- sync: lock, semaphore, barrier, event, gather, as_completed --------------------------- */

struct sync_objs {
	weft_lock *lock;
	weft_sem *sem;
	weft_barrier *barrier;
	weft_event *event;
	int inside;
};

#define NSYNC 3

static int sync_worker(void *arg)
{
	struct sync_objs *o = arg;

	TRY(weft_sem_acquire(o->sem));
	TRY(weft_lock_acquire(o->lock));
	o->inside++;
	weft_lock_release(o->lock);
	weft_sem_release(o->sem);
	TRY(weft_barrier_wait(o->barrier));
	return weft_event_wait(o->event);
}

/* Spawn @n tasks of @fn; on failure cancel and join those started. */
static int spawn_all(weft_task **t, size_t n, weft_task_fn fn, void *arg)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && !r; i++)
		r = weft_task_spawn(&t[i], fn, arg, NULL);
	if (!r)
		return 0;
	for (i--; i-- > 0;) {
		weft_task_cancel(t[i]);
		weft_task_join(t[i], NULL);
	}
	return r;
}

static int sync_run(struct sync_objs *o)
{
	weft_as_completed *it;
	weft_task *t[NSYNC];
	int st[NSYNC], r, n = 0;

	TRY(spawn_all(t, NSYNC, sync_worker, o));
	weft_event_set(o->event);
	TRY(weft_tasks_gather(t, NSYNC, st,
			      WEFT_GATHER_FAIL_FAST)); /* or the rest wait at the barrier */
	if (o->inside != NSYNC)
		wrong = 1;
	TRY(spawn_all(t, NSYNC, sleeper, (void *)(intptr_t)1));
	r = weft_as_completed_new(&it, t, NSYNC);
	if (r < 0) {
		weft_tasks_gather(t, NSYNC, st, 0);
		return r;
	}
	while ((r = weft_as_completed_next(it, &t[0])) == 0) {
		weft_task_join(t[0], &st[0]);
		n++;
	}
	weft_as_completed_free(it);
	if (r == -ENOENT && n != NSYNC)
		wrong = 1;
	return r == -ENOENT ? 0 : r;
}

static int sync_main(void *arg)
{
	weft_loop *loop = weft_loop_current();
	struct sync_objs o = {0};
	int r;

	r = weft_lock_new(loop, &o.lock);
	if (!r)
		r = weft_sem_new(loop, &o.sem, 2, 2);
	if (!r)
		r = weft_barrier_new(loop, &o.barrier, NSYNC);
	if (!r)
		r = weft_event_new(loop, &o.event);
	if (!r)
		r = sync_run(&o);
	if (o.event)
		weft_event_free(o.event);
	if (o.barrier)
		weft_barrier_free(o.barrier);
	if (o.sem)
		weft_sem_free(o.sem);
	if (o.lock)
		weft_lock_free(o.lock);
	return r;
}

/* ---- datagrams and frames: a UDP echo, a framed Unix stream -------------------------------- */

static int udp_server(void *arg)
{
	weft_sock *srv = arg;
	weft_sockaddr from;
	char buf[64];
	ssize_t n = weft_sock_recvfrom(srv, buf, sizeof(buf), &from, NULL);

	if (n >= 0)
		n = weft_sock_sendto(srv, buf, (size_t)n, &from);
	return n < 0 ? (int)n : 0;
}

/* The server runs in a group: if it fails, the group cancels the client's wait. */
static int udp_round_trip(weft_sock *srv, weft_sock *cli)
{
	weft_group *g;
	char buf[64];
	ssize_t n;
	int rc;

	TRY(weft_group_open(&g));
	n = weft_group_spawn(g, udp_server, srv, NULL);
	if (!n)
		n = weft_sock_send(cli, "ping", 4);
	if (n >= 0)
		n = weft_sock_recv(cli, buf, sizeof(buf));
	if (n == 4)
		check_equal(buf, "ping", 4, "udp");
	else if (n >= 0)
		wrong = 1;
	if (n < 0)
		weft_group_cancel(g);
	rc = weft_group_close(g);
	return rc < 0 ? rc : n < 0 ? (int)n : 0;
}

static int frames(weft_sock *a, weft_sock *b)
{
	static const struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_DELIM, .delim = "\n", .delim_len = 1};
	struct weft_frame f;
	weft_framer *fr;
	weft_stream *s;
	ssize_t n;
	int count = 0;

	TRY(weft_sock_send(a, "one\ntwo\nthree\n", 14));
	TRY(weft_sock_shutdown(a, SHUT_WR));
	TRY(weft_sock_stream(b, NULL, &s)); /* the socket owns it */
	TRY(weft_framer_new(&fr, s, &spec));
	while ((n = weft_framer_next(fr, &f)) > 0)
		count++;
	weft_framer_free(fr);
	if (!n && count != 3)
		wrong = 1;
	return (int)n;
}

static int dgram_main(void *arg)
{
	weft_sockaddr addr;
	weft_sock *srv, *cli = NULL, *a, *b;
	int r;

	TRY(weft_addr_parse(&addr, "127.0.0.1:0"));
	TRY(weft_udp_open(&srv, &addr, NULL, 0));
	r = weft_sock_local_addr(srv, &addr);
	if (!r)
		r = weft_udp_open(&cli, NULL, &addr, 0);
	if (!r)
		r = udp_round_trip(srv, cli);
	weft_sock_close(cli);
	weft_sock_close(srv);
	TRY(r);
	TRY(weft_unix_socketpair(SOCK_STREAM, &a, &b));
	r = frames(a, b);
	weft_sock_close(a);
	weft_sock_close(b);
	return r;
}

/* ---- threads: a loopset, a channel from a plain thread, a cross-thread call -------------- */

static weft_chan *chan;
static long chan_sum[2];

static int chan_consumer(void *arg)
{
	int i = weft_loopset_index(), r;
	void *item;

	while ((r = weft_chan_recv(chan, &item)) == 0)
		chan_sum[i] += (long)(intptr_t)item;
	return r == -EPIPE ? 0 : r; /* closed and drained */
}

static int call_square(void *arg)
{
	long *v = arg;

	*v *= *v;
	return 0;
}

/* Feed both loops through the channel, then call into loop 0. */
static int threads_body(weft_loopset *g)
{
	long v, want = 0;
	int r = 0, rw, status;

	for (v = 1; v <= 50 && !r; v++) {
		r = weft_chan_send_timeout(chan, (void *)(intptr_t)v, WEFT_SEC);
		want += v;
	}
	weft_chan_shutdown(chan);
	rw = weft_loopset_wait(g); /* -ENOMEM if a loop could not start its consumer */
	if (r == -ETIMEDOUT && !rw) {
		fprintf(stderr, "alloc_sweep: threads: a send timed out, both consumers ran\n");
		wrong = 1;
	}
	TRY(r < 0 ? r : rw);
	if (chan_sum[0] + chan_sum[1] != want) {
		fprintf(stderr, "alloc_sweep: threads: sum %ld, not %ld\n",
			chan_sum[0] + chan_sum[1], want);
		wrong = 1;
	}
	v = 12;
	TRY(weft_loop_call(weft_loopset_loop(g, 0), call_square, &v, WEFT_FOREVER, &status));
	TRY(status); /* -ENOMEM: the task could not be started (or watched) */
	if (v != 144)
		wrong = 1;
	return 0;
}

/* Plain code: the loops run on threads of their own. */
static int threads_main(void)
{
	struct weft_loopset_opts opts = {.nloops = 2, .main = chan_consumer};
	weft_loopset *g;
	int r, rs;

	TRY(weft_chan_new(&chan, 4));
	r = weft_loopset_start(&g, &opts);
	if (r < 0) {
		weft_chan_free(chan);
		return r;
	}
	r = threads_body(g);
	rs = weft_loopset_stop(g);
	weft_chan_free(chan);
	return r < 0 ? r : rs;
}

/* -------------------------------------------------------------------------------------------- */

/* A scenario runs as a loop's main fiber (weft_run), or as plain code. */
static const struct {
	const char *name;
	int (*main)(void *arg);
	int (*plain)(void);
} scenarios[] = {
    {"echo", echo_main, NULL},	 {"copy", copy_main, NULL},	  {"queue", queue_main, NULL},
    {"pool", pool_main, NULL},	 {"timers", timers_main, NULL},	  {"sync", sync_main, NULL},
    {"dgram", dgram_main, NULL}, {"resolve", resolve_main, NULL}, {"threads", NULL, threads_main},
};

int main(int argc, char **argv)
{
	const char *tmp = getenv("WEFT_TEST_TMP");
	unsigned long injected;
	size_t i;
	int r;

	for (i = 0; argc == 2 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name))
			break;
	if (argc != 2 || i == sizeof(scenarios) / sizeof(scenarios[0])) {
		fprintf(
		    stderr,
		    "usage: alloc_sweep echo|copy|queue|pool|timers|sync|dgram|resolve|threads\n");
		return 1;
	}
	snprintf(src, sizeof(src), "%s/alloc_src.%d", tmp ? tmp : "/tmp", (int)getpid());
	snprintf(dst, sizeof(dst), "%s/alloc_dst.%d", tmp ? tmp : "/tmp", (int)getpid());
	alloc_fail_arm();
	r = scenarios[i].main ? weft_run(scenarios[i].main, NULL, NULL) : scenarios[i].plain();
	injected = alloc_fail_disarm();
	if (!getenv("WEFT_ALLOC_FAIL"))
		printf("allocations %lu\n", alloc_fail_count());
	if (wrong)
		return 1;
	if (r >= 0)
		return 0;
	fprintf(stderr, "alloc_sweep %s: %s (%lu allocation(s) failed)\n", argv[1],
		weft_strerror(r), injected);
	return injected ? 2 : 1;
}

/* SPDX-License-Identifier: MIT */
/*
 * perf/serial - the `serial` suite: a port over a pty pair, weft against a blocking read/write
 * thread per port, measured in the same process, run by run (A B A B ...), medians reported.
 *
 *   serial.rtt         16-byte frame round trip: write it, read the echo back (ns per trip)
 *                      weft: one fiber, stream write + read_exactly on the port
 *                      vs one thread doing blocking write(2) + read(2) on the slave
 *                      [info] weft on its portable path (POLL_ADD, then read(2)), and a bare
 *                      liburing loop doing weft's IORING_OP_READ (the kernel path's own cost)
 *   serial.throughput  bulk echo, 4 KiB writes in flight while the echo is read back (MB/s
 *                      each way): weft: a writer and a reader fiber on one loop thread
 *                      vs a writer thread and a reader thread, blocking
 *                      [info] weft on its portable path
 *   serial.workers     io_uring worker threads alive while 8 reads are parked on 8 ptys: weft's
 *                      read path vs IORING_OP_READ on blocking tty fds (what the read path
 *                      exists to avoid; 0 on kernels >= 6.4, one iou-wrk per read before)
 *
 * The device side is the same for every contender: a plain thread on the pty master echoing
 * whatever arrives with blocking read/write. Its CPU time is in every figure (getrusage covers
 * the process), so CPU per operation compares the two sides plus a constant.
 *
 * Usage: serial [-q] [-n pairs] [filter]   (as every suite: see perf/bench.h)
 * Other programs share these 2 vCPUs: the figures are noisy; medians of alternating pairs are
 * what keeps them honest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "weft.h"
#include "weft/serial.h"
#include "engine/op.h"
#include "serial/port.h"

#define BENCH_SUITE "serial"
#include "bench.h"

#define FRAME	 16
#define CHUNK	 4096
#define ECHO_BUF (64 * 1024)

/* ---- the rig: a pty pair and the echoing device ---------------------------------------------- */

struct rig {
	int master;
	int holder; /* keeps the slave open between contenders, so the echo sees no hang-up */
	char path[64];
	pthread_t echo;
};

static void *echo_thread(void *arg)
{
	struct rig *r = arg;
	static __thread char buf[ECHO_BUF];
	ssize_t n;

	while ((n = read(r->master, buf, sizeof(buf))) > 0)
		for (ssize_t off = 0, w; off < n; off += w)
			if ((w = write(r->master, buf + off, (size_t)(n - off))) <= 0)
				return NULL;
	return NULL; /* EIO: every slave fd is closed */
}

static void make_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		die("tcgetattr", errno);
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		die("tcsetattr", errno);
}

static void rig_open(struct rig *r)
{
	r->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->master < 0 || grantpt(r->master) || unlockpt(r->master) ||
	    ptsname_r(r->master, r->path, sizeof(r->path)))
		die("posix_openpt", errno);
	r->holder = open(r->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->holder < 0)
		die("open pty slave", errno);
	make_raw(r->holder);
	check("pthread_create", pthread_create(&r->echo, NULL, echo_thread, r));
}

static void rig_close(struct rig *r)
{
	close(r->holder); /* the last slave fd: the echo thread's read fails with EIO */
	pthread_join(r->echo, NULL);
	close(r->master);
}

/* A blocking fd on the slave, for the thread baselines. */
static int open_blocking(const struct rig *r)
{
	int fd = open(r->path, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		die("open pty slave", errno);
	make_raw(fd);
	return fd;
}

static void read_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			die("read", n < 0 ? errno : EIO);
		got += (size_t)n;
	}
}

static void write_full(int fd, const void *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, (const char *)buf + off, len - off);
		if (n <= 0)
			die("write", n < 0 ? errno : EIO);
		off += (size_t)n;
	}
}

/* ---- the A/B driver -------------------------------------------------------------------------- */

typedef void (*run_fn)(struct rig *r, long n, struct sample *s);

struct bench {
	const char *name;
	const char *what;     /* one operation, for the human line */
	const char *baseline; /* JSON baseline name */
	double bytes_per_op;  /* > 0: report MB/s instead of ns per operation */
	long n;		      /* operations per run */
	run_fn weft, base;
	run_fn extra[2]; /* optional further contenders, printed only */
	const char *extra_name[2];
	double target_ratio;
};

static void print_line(const char *label, const char *who, const struct bench *b,
		       const struct stats *st, const char *tail)
{
	if (b->bytes_per_op > 0)
		printf("%-18s %-22s %9.1f MB/s  (%.0f ns/%s; cpu %.0f, sys %.0f ns; runs "
		       "%.0f..%.0f ns)%s\n",
		       label, who, b->bytes_per_op * 1e3 / st->ns, st->ns, b->what, st->cpu_ns,
		       st->sys_ns, st->lo, st->hi, tail);
	else
		printf("%-18s %-22s %9.0f ns/%s  (cpu %.0f, sys %.0f; runs %.0f..%.0f)%s\n", label,
		       who, st->ns, b->what, st->cpu_ns, st->sys_ns, st->lo, st->hi, tail);
}

static void run_bench(const struct bench *b)
{
	struct sample w[MAX_PAIRS], s[MAX_PAIRS], x[2][MAX_PAIRS], tmp;
	long n = scaled(b->n);
	struct stats sw, sb, sx;
	double ratio, value, bvalue;
	struct rig rig;

	rig_open(&rig);
	/* Warm-up: page faults, the pty's buffers, the loop's stack cache. Discarded. */
	b->weft(&rig, n / 10 ? n / 10 : 1, &tmp);
	b->base(&rig, n / 10 ? n / 10 : 1, &tmp);
	for (int i = 0; i < opt_pairs; i++) {
		b->weft(&rig, n, &w[i]);
		b->base(&rig, n, &s[i]);
		for (int k = 0; k < 2 && b->extra[k]; k++)
			b->extra[k](&rig, n, &x[k][i]);
	}
	rig_close(&rig);
	sw = stats_of(w, opt_pairs);
	sb = stats_of(s, opt_pairs);
	ratio = sb.ns / sw.ns; /* the same for times and rates: weft ahead when > 1 */
	print_line(b->name, "weft", b, &sw, "");
	print_line("", b->baseline, b, &sb, "");
	for (int k = 0; k < 2 && b->extra[k]; k++) {
		sx = stats_of(x[k], opt_pairs);
		print_line("", b->extra_name[k], b, &sx, "  [info]");
	}
	printf("%-18s ratio %.3f, by cpu time %.3f (weft ahead when > 1)", "", ratio,
	       sb.cpu_ns / sw.cpu_ns);
	if (b->target_ratio > 0)
		printf("  target >= %.2f: %s", b->target_ratio,
		       ratio >= b->target_ratio ? "met" : "MISSED");
	printf("   [%d pairs, %ld ops per run; noisy: shared 2-vCPU VM]\n", opt_pairs, n);
	fflush(stdout);
	if (b->bytes_per_op > 0) {
		value = b->bytes_per_op * 1e3 / sw.ns;
		bvalue = b->bytes_per_op * 1e3 / sb.ns;
		emit_json(b->name, value, "MB/s", b->baseline, &bvalue, &ratio);
	} else {
		emit_json(b->name, sw.ns, "ns", b->baseline, &sb.ns, &ratio);
	}
}

/* ---- weft contenders ------------------------------------------------------------------------- */

struct weft_run {
	struct rig *rig;
	long n;
	struct sample s;
	int err;
	weft_serial *port;
	weft_stream *stream;
	bool poll_path; /* [info]: the portable POLL_ADD + read(2) path instead of IORING_OP_READ */
};

static int rtt_main(void *arg)
{
	struct weft_run *j = arg;
	uint8_t msg[FRAME], back[FRAME];
	weft_stream *s;
	struct clocks c0, c1;
	int r = 0;

	if ((r = weft_serial_open(&j->port, j->rig->path, NULL)) ||
	    (r = weft_serial_stream(j->port, NULL, &s)))
		return j->err = r;
	j->port->poll_read = j->poll_path;
	memset(msg, 'r', sizeof(msg));
	clocks_now(&c0);
	for (long i = 0; i < j->n && !r; i++) {
		ssize_t w = weft_stream_write(s, msg, sizeof(msg));
		r = w < 0 ? (int)w : weft_stream_read_exactly(s, back, sizeof(back), NULL);
	}
	clocks_now(&c1);
	sample_from(&j->s, &c0, &c1, j->n);
	weft_serial_close(j->port);
	return j->err = r;
}

static void weft_contender(int (*fn)(void *), struct rig *r, long n, struct sample *s,
			   bool poll_path)
{
	const struct weft_loop_opts opts = {.debug = WEFT_DEBUG_OFF};
	struct weft_run j = {.rig = r, .n = n, .poll_path = poll_path};
	int st = weft_run(fn, &j, &opts);

	if (st < 0 || j.err)
		die("weft run", j.err ? j.err : st);
	*s = j.s;
}

static void rtt_weft(struct rig *r, long n, struct sample *s)
{
	weft_contender(rtt_main, r, n, s, false);
}

static void rtt_weft_poll(struct rig *r, long n, struct sample *s)
{
	weft_contender(rtt_main, r, n, s, true);
}

static int bulk_writer(void *arg)
{
	struct weft_run *j = arg;
	static uint8_t chunk[CHUNK];

	for (long i = 0; i < j->n; i++) {
		ssize_t w = weft_stream_write(j->stream, chunk, sizeof(chunk));
		if (w < 0)
			return (int)w;
	}
	return 0;
}

static int bulk_main(void *arg)
{
	struct weft_run *j = arg;
	static uint8_t buf[ECHO_BUF];
	size_t total = (size_t)j->n * CHUNK, got = 0;
	struct clocks c0, c1;
	weft_task *w;
	int r, st;

	if ((r = weft_serial_open(&j->port, j->rig->path, NULL)) ||
	    (r = weft_serial_stream(j->port, NULL, &j->stream)))
		return j->err = r;
	j->port->poll_read = j->poll_path;
	clocks_now(&c0);
	if ((r = weft_task_spawn(&w, bulk_writer, j, NULL)))
		return j->err = r;
	while (got < total) {
		ssize_t n = weft_stream_read(j->stream, buf, sizeof(buf));
		if (n <= 0) {
			r = n ? (int)n : -EIO;
			break;
		}
		got += (size_t)n;
	}
	weft_task_join(w, &st);
	clocks_now(&c1);
	sample_from(&j->s, &c0, &c1, j->n);
	weft_serial_close(j->port);
	return j->err = r ? r : st;
}

static void bulk_weft(struct rig *r, long n, struct sample *s)
{
	weft_contender(bulk_main, r, n, s, false);
}

static void bulk_weft_poll(struct rig *r, long n, struct sample *s)
{
	weft_contender(bulk_main, r, n, s, true);
}

/* ---- thread baselines ------------------------------------------------------------------------ */

static void rtt_thread(struct rig *r, long n, struct sample *s)
{
	uint8_t msg[FRAME], back[FRAME];
	int fd = open_blocking(r);
	struct clocks c0, c1;

	memset(msg, 'r', sizeof(msg));
	clocks_now(&c0);
	for (long i = 0; i < n; i++) {
		write_full(fd, msg, sizeof(msg));
		read_full(fd, back, sizeof(back));
	}
	clocks_now(&c1);
	sample_from(s, &c0, &c1, n);
	close(fd);
}

/* [info] The kernel path alone: the same IORING_OP_READ on an O_NONBLOCK fd, from a bare
 * liburing loop (the ring set up as weft sets its own up), no fibers. weft minus this is weft's
 * own cost; this minus the blocking thread is io_uring's. */
static void rtt_liburing(struct rig *r, long n, struct sample *s)
{
	struct io_uring_params p = {.flags =
					IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN};
	uint8_t msg[FRAME], back[FRAME];
	int fd = open_blocking(r);
	struct io_uring ring;
	struct clocks c0, c1;

	if (io_uring_queue_init_params(8, &ring, &p) < 0)
		die("io_uring_queue_init", EINVAL);
	fcntl(fd, F_SETFL, O_RDWR | O_NONBLOCK);
	memset(msg, 'r', sizeof(msg));
	clocks_now(&c0);
	for (long i = 0; i < n; i++) {
		write_full(fd, msg, sizeof(msg));
		for (size_t got = 0; got < sizeof(back);) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			struct io_uring_cqe *cqe;

			io_uring_prep_read(sqe, fd, back + got, (unsigned)(sizeof(back) - got), -1);
			if (io_uring_submit_and_wait(&ring, 1) < 0 ||
			    io_uring_peek_cqe(&ring, &cqe))
				die("io_uring_submit_and_wait", EIO);
			if (cqe->res <= 0)
				die("IORING_OP_READ", cqe->res ? -cqe->res : EIO);
			got += (size_t)cqe->res;
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	clocks_now(&c1);
	sample_from(s, &c0, &c1, n);
	io_uring_queue_exit(&ring);
	close(fd);
}

struct writer_arg {
	int fd;
	long n;
};

static void *bulk_writer_thread(void *arg)
{
	struct writer_arg *a = arg;
	static uint8_t chunk[CHUNK];

	for (long i = 0; i < a->n; i++)
		write_full(a->fd, chunk, sizeof(chunk));
	return NULL;
}

static void bulk_thread(struct rig *r, long n, struct sample *s)
{
	static uint8_t buf[ECHO_BUF];
	struct writer_arg a = {.fd = open_blocking(r), .n = n};
	size_t total = (size_t)n * CHUNK, got = 0;
	struct clocks c0, c1;
	pthread_t w;

	clocks_now(&c0);
	check("pthread_create", pthread_create(&w, NULL, bulk_writer_thread, &a));
	while (got < total) {
		ssize_t k = read(a.fd, buf, sizeof(buf));
		if (k <= 0)
			die("read", k < 0 ? errno : EIO);
		got += (size_t)k;
	}
	pthread_join(w, NULL);
	clocks_now(&c1);
	sample_from(s, &c0, &c1, n);
	close(a.fd);
}

/* ---- serial.workers -------------------------------------------------------------------------- */

#define PARKED 8

static int io_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], comm[32];
	int n = 0;

	if (!d)
		die("opendir /proc/self/task", errno);
	while ((e = readdir(d))) {
		FILE *f;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if (e->d_name[0] == '.' || !(f = fopen(path, "r")))
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

struct parked {
	struct rig rig[PARKED];
	weft_serial *port[PARKED];
	int workers;
	int mode; /* 0: weft's read; 1: the portable poll path; 2: IORING_OP_READ, blocking fd */
};

static int parked_read(void *arg)
{
	char buf[16];

	return (int)weft_serial_read(arg, buf, sizeof(buf));
}

static int workers_main(void *arg)
{
	struct parked *p = arg;
	weft_task *t[PARKED];
	int r;

	for (int i = 0; i < PARKED; i++) {
		if ((r = weft_serial_open(&p->port[i], p->rig[i].path, NULL)))
			return r;
		p->port[i]->poll_read = p->mode == 1;
		/* What the read path exists to avoid: a plain read on a blocking tty fd. */
		if (p->mode == 2)
			fcntl(weft_serial_fd(p->port[i]), F_SETFL, O_RDWR);
		if ((r = weft_task_spawn(&t[i], parked_read, p->port[i], NULL)))
			return r;
	}
	weft_sleep(50 * WEFT_MSEC);
	p->workers = io_workers();
	for (int i = 0; i < PARKED; i++)
		weft_task_cancel(t[i]);
	for (int i = 0; i < PARKED; i++) {
		weft_task_join(t[i], NULL);
		weft_serial_close(p->port[i]);
	}
	return 0;
}

static int count_workers(int mode)
{
	const struct weft_loop_opts opts = {.debug = WEFT_DEBUG_OFF};
	struct parked *p = calloc(1, sizeof(*p));
	int n;

	if (!p)
		die("calloc", ENOMEM);
	p->mode = mode;
	for (int i = 0; i < PARKED; i++)
		rig_open(&p->rig[i]);
	check("weft_run", weft_run(workers_main, p, &opts));
	for (int i = 0; i < PARKED; i++)
		rig_close(&p->rig[i]);
	n = p->workers;
	free(p);
	return n;
}

static void run_workers(void)
{
	double w = count_workers(0), pp = count_workers(1), b = count_workers(2);

	printf("%-18s %-22s %9.0f iou-wrk threads with %d reads parked\n", "serial.workers", "weft",
	       w, PARKED);
	printf("%-18s %-22s %9.0f  [info]\n", "", "weft, POLL_ADD+read", pp);
	printf("%-18s %-22s %9.0f  (0 on 6.4+, one per read before)\n", "",
	       "uring_read_blocking_fd", b);
	fflush(stdout);
	emit_json("serial.workers", w, "threads", "uring_read_blocking_fd", &b, NULL);
}

/* ---- main ------------------------------------------------------------------------------------ */

static const struct bench benches[] = {
    {.name = "serial.rtt",
     .what = "trip",
     .baseline = "blocking_thread",
     .n = 5000,
     .weft = rtt_weft,
     .base = rtt_thread,
     .extra = {rtt_weft_poll, rtt_liburing},
     .extra_name = {"weft, POLL_ADD+read", "liburing IORING_OP_READ"},
     .target_ratio = 0.83},
    {.name = "serial.throughput",
     .what = "4KiB",
     .baseline = "blocking_threads",
     .bytes_per_op = CHUNK,
     .n = 8192,
     .weft = bulk_weft,
     .base = bulk_thread,
     .extra = {bulk_weft_poll},
     .extra_name = {"weft, POLL_ADD+read"},
     .target_ratio = 1.0},
};

static const char *const all_names[] = {"serial.rtt", "serial.throughput", "serial.workers"};

static bool selected(const char *name)
{
	return bench_selected(name, all_names, sizeof(all_names) / sizeof(all_names[0]));
}

int main(int argc, char **argv)
{
	bench_parse_args(argc, argv);
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		if (selected(benches[i].name))
			run_bench(&benches[i]);
	if (selected("serial.workers"))
		run_workers();
	return failures ? 1 : 0;
}

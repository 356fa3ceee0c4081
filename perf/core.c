/* SPDX-License-Identifier: MIT */
/*
 * perf/core - the `core` suite: the engine's own costs against the obvious baseline for each,
 * measured in the same process, run by run (A B A B ...), medians reported.
 *
 *   core.switch            weft_yield ping-pong of two fibers      vs swapcontext ping-pong
 *   core.spawn_join        spawn + run + join of an empty task     vs pthread_create + join
 *   core.spawn_join_batch64  the same, 64 spawned then 64 joined   vs 64 threads likewise
 *   core.nop               one NOP through the op layer            vs a bare liburing loop
 *   core.nop_batch32       32 fibers, one NOP each per turn        vs 32 NOPs per submit
 *   core.sleep_100k        100 000 fibers sleeping 1 ms (wall)     vs the ideal 1 ms
 *   core.sleep_100k_rss    peak RSS of that run (own process)      (no baseline)
 *
 * Usage: core [-q] [-n pairs] [filter]
 *   -q        quick: a tenth of the iterations (smoke test)
 *   -n pairs  weft/baseline pairs per benchmark (default 7)
 *   filter    run only the benchmark of that name ("core.nop"), or those whose name contains it
 *             ("nop", "spawn")
 * Each benchmark appends one JSON line per figure to $WEFT_RESULTS (default perf/results.jsonl);
 * ratio > 1 always means weft is ahead.
 *
 * The VM under us swings up to 30% between runs, so A and B alternate and medians are kept; the
 * CPU time of the process (getrusage) is printed beside the wall clock because it is steadier.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <liburing.h>

#include "weft.h"
#include "engine/op.h"

#define BENCH_SUITE "core"
#include "bench.h"

/* ---- the A/B driver --------------------------------------------------------------------- */

typedef void (*run_fn)(long n, struct sample *s);

struct bench {
	const char *name;
	const char *what;     /* unit of one operation, for the human line */
	const char *baseline; /* JSON baseline name */
	long n_weft, n_base;  /* operations per run */
	run_fn weft, base;
	run_fn extra; /* optional third contender, printed only */
	const char *extra_name;
	double target_ratio; /* > 0: ratio to reach */
	double target_ns;    /* > 0: absolute time to beat */
};

static void run_bench(const struct bench *b)
{
	struct sample w[MAX_PAIRS], s[MAX_PAIRS], x[MAX_PAIRS], tmp;
	long nw = scaled(b->n_weft), nb = scaled(b->n_base);
	struct stats sw, sb, sx = {0};
	double ratio;

	/* Warm-up pair: page faults, stack caches, the kernel's io_uring slabs. Discarded. */
	b->weft(nw / 10 ? nw / 10 : 1, &tmp);
	b->base(nb / 10 ? nb / 10 : 1, &tmp);
	if (b->extra)
		b->extra(nb / 10 ? nb / 10 : 1, &tmp);
	for (int i = 0; i < opt_pairs; i++) {
		b->weft(nw, &w[i]);
		b->base(nb, &s[i]);
		if (b->extra)
			b->extra(nb, &x[i]);
	}
	sw = stats_of(w, opt_pairs);
	sb = stats_of(s, opt_pairs);
	if (b->extra)
		sx = stats_of(x, opt_pairs);
	ratio = sb.ns / sw.ns;

	printf("%-24s weft %9.2f ns/%s  (cpu %.2f, sys %.2f; runs %.2f..%.2f)\n", b->name, sw.ns,
	       b->what, sw.cpu_ns, sw.sys_ns, sw.lo, sw.hi);
	printf("%-24s %-13s %9.2f ns/%s  (cpu %.2f, sys %.2f; runs %.2f..%.2f)\n", "", b->baseline,
	       sb.ns, b->what, sb.cpu_ns, sb.sys_ns, sb.lo, sb.hi);
	if (b->extra)
		printf("%-24s %-13s %9.2f ns/%s  (cpu %.2f, sys %.2f; runs %.2f..%.2f)  [info]\n",
		       "", b->extra_name, sx.ns, b->what, sx.cpu_ns, sx.sys_ns, sx.lo, sx.hi);
	/* CPU time is steadier than wall time when the hypervisor steals the vCPU mid-run. */
	printf("%-24s ratio %.3f, by cpu time %.3f (weft ahead when > 1)", "", ratio,
	       sb.cpu_ns / sw.cpu_ns);
	if (b->target_ratio > 0) {
		bool met = ratio >= b->target_ratio;
		printf("  target >= %.2f: %s", b->target_ratio, met ? "met" : "MISSED");
	}
	if (b->target_ns > 0) {
		bool met = sw.ns < b->target_ns;
		printf("  target < %.0f ns: %s", b->target_ns, met ? "met" : "MISSED");
	}
	printf("   [%d pairs, %ld/%ld ops per run]\n", opt_pairs, nw, nb);
	fflush(stdout);
	emit_json(b->name, sw.ns, "ns", b->baseline, &sb.ns, &ratio);
}

/* ---- core.switch ------------------------------------------------------------------------ */

static int yield_fiber(void *arg)
{
	struct job *job = arg;

	for (long i = 0; i < job->n; i++) {
		int r = weft_yield();
		if (r)
			return r;
	}
	return 0;
}

static int switch_main(void *arg)
{
	struct job *job = arg;
	struct weft_task *a, *b;
	struct clocks c0, c1;
	int sa, sb, r;

	clocks_now(&c0);
	if ((r = weft_task_spawn(&a, yield_fiber, job, NULL)) ||
	    (r = weft_task_spawn(&b, yield_fiber, job, NULL)))
		return job->err = r;
	if ((r = weft_task_join(a, &sa)) || (r = weft_task_join(b, &sb)))
		return job->err = r;
	clocks_now(&c1);
	if (sa || sb)
		return job->err = sa ? sa : sb;
	/* Each fiber yields n times, and each yield is one switch to the other fiber. */
	sample_from(&job->s, &c0, &c1, 2 * job->n);
	return 0;
}

static void switch_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(switch_main, &job);
	*s = job.s;
}

static ucontext_t uc_main, uc_co;
static long uc_n;

static void uc_body(void)
{
	for (long i = 0; i < uc_n; i++)
		swapcontext(&uc_co, &uc_main);
}

static void switch_ucontext(long n, struct sample *s)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	struct clocks c0, c1;

	uc_n = n;
	getcontext(&uc_co);
	uc_co.uc_stack.ss_sp = stack;
	uc_co.uc_stack.ss_size = sizeof(stack);
	uc_co.uc_link = &uc_main;
	makecontext(&uc_co, uc_body, 0);
	clocks_now(&c0);
	for (long i = 0; i < n; i++)
		swapcontext(&uc_main, &uc_co);
	clocks_now(&c1);
	swapcontext(&uc_main, &uc_co); /* let uc_body return through uc_link */
	sample_from(s, &c0, &c1, 2 * n);
}

/* ---- core.spawn_join -------------------------------------------------------------------- */

static int empty_task(void *arg)
{
	return 0;
}

static int spawn_join_main(void *arg)
{
	struct job *job = arg;
	struct clocks c0, c1;

	clocks_now(&c0);
	for (long i = 0; i < job->n; i++) {
		struct weft_task *t;
		int r = weft_task_spawn(&t, empty_task, NULL, NULL);
		if (r || (r = weft_task_join(t, NULL)))
			return job->err = r;
	}
	clocks_now(&c1);
	sample_from(&job->s, &c0, &c1, job->n);
	return 0;
}

static void spawn_join_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(spawn_join_main, &job);
	*s = job.s;
}

#define BATCH 64

static int spawn_join_batch_main(void *arg)
{
	struct job *job = arg;
	struct weft_task *t[BATCH];
	struct clocks c0, c1;
	long rounds = (job->n + BATCH - 1) / BATCH;

	clocks_now(&c0);
	for (long i = 0; i < rounds; i++) {
		int r;
		for (int k = 0; k < BATCH; k++)
			if ((r = weft_task_spawn(&t[k], empty_task, NULL, NULL)))
				return job->err = r;
		for (int k = 0; k < BATCH; k++)
			if ((r = weft_task_join(t[k], NULL)))
				return job->err = r;
	}
	clocks_now(&c1);
	sample_from(&job->s, &c0, &c1, rounds * BATCH);
	return 0;
}

static void spawn_join_batch_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(spawn_join_batch_main, &job);
	*s = job.s;
}

static void *empty_thread(void *arg)
{
	return NULL;
}

static void spawn_join_pthread(long n, struct sample *s)
{
	struct clocks c0, c1;

	clocks_now(&c0);
	for (long i = 0; i < n; i++) {
		pthread_t th;
		int r = pthread_create(&th, NULL, empty_thread, NULL);
		if (r)
			die("pthread_create", r);
		pthread_join(th, NULL);
	}
	clocks_now(&c1);
	sample_from(s, &c0, &c1, n);
}

static void spawn_join_batch_pthread(long n, struct sample *s)
{
	long rounds = (n + BATCH - 1) / BATCH;
	pthread_t th[BATCH];
	struct clocks c0, c1;

	clocks_now(&c0);
	for (long i = 0; i < rounds; i++) {
		for (int k = 0; k < BATCH; k++) {
			int r = pthread_create(&th[k], NULL, empty_thread, NULL);
			if (r)
				die("pthread_create", r);
		}
		for (int k = 0; k < BATCH; k++)
			pthread_join(th[k], NULL);
	}
	clocks_now(&c1);
	sample_from(s, &c0, &c1, rounds * BATCH);
}

/* ---- core.nop --------------------------------------------------------------------------- */

static int nop_op(void)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_nop(sqe);
	return weft__op_wait(&op, sqe);
}

static int nop_fiber(void *arg)
{
	struct job *job = arg;

	for (long i = 0; i < job->n; i++) {
		int r = nop_op();
		if (r < 0)
			return r;
	}
	return 0;
}

static int nop_main(void *arg)
{
	struct job *job = arg;
	struct clocks c0, c1;
	int r;

	clocks_now(&c0);
	r = nop_fiber(job);
	clocks_now(&c1);
	if (r)
		return job->err = r;
	sample_from(&job->s, &c0, &c1, job->n);
	return 0;
}

static void nop_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(nop_main, &job);
	*s = job.s;
}

/* The baseline ring: what a careful hand-written liburing loop would set up. */
static void base_ring(struct io_uring *ring, bool reg_fd)
{
	struct io_uring_params p = {0};
	int r;

	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	r = io_uring_queue_init_params(256, ring, &p);
	if (r == -EINVAL) {
		p = (struct io_uring_params){0};
		r = io_uring_queue_init_params(256, ring, &p);
	}
	if (r)
		die("io_uring_queue_init_params", r);
	if (reg_fd && io_uring_register_ring_fd(ring) != 1)
		die("io_uring_register_ring_fd", -EINVAL);
}

static void nop_liburing_x(long n, struct sample *s, bool reg_fd)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct clocks c0, c1;

	base_ring(&ring, reg_fd);
	clocks_now(&c0);
	for (long i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		io_uring_prep_nop(sqe);
		int r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0)
			die("io_uring_submit_and_wait", r);
		if (io_uring_peek_cqe(&ring, &cqe) || cqe->res < 0)
			die("nop cqe", -EIO);
		io_uring_cqe_seen(&ring, cqe);
	}
	clocks_now(&c1);
	io_uring_queue_exit(&ring);
	sample_from(s, &c0, &c1, n);
}

static void nop_liburing(long n, struct sample *s)
{
	nop_liburing_x(n, s, false);
}

static void nop_liburing_regfd(long n, struct sample *s)
{
	nop_liburing_x(n, s, true);
}

/* ---- core.nop_batch32 ------------------------------------------------------------------- */

#define NOP_BATCH 32

static int nop_batch_main(void *arg)
{
	struct job *job = arg;
	struct job per = {.n = job->n / NOP_BATCH};
	struct weft_task *t[NOP_BATCH];
	struct clocks c0, c1;
	int r, st;

	clocks_now(&c0);
	for (int k = 0; k < NOP_BATCH; k++)
		if ((r = weft_task_spawn(&t[k], nop_fiber, &per, NULL)))
			return job->err = r;
	for (int k = 0; k < NOP_BATCH; k++) {
		if ((r = weft_task_join(t[k], &st)))
			return job->err = r;
		if (st)
			job->err = st;
	}
	clocks_now(&c1);
	sample_from(&job->s, &c0, &c1, per.n * NOP_BATCH);
	return 0;
}

static void nop_batch_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(nop_batch_main, &job);
	*s = job.s;
}

static void nop_batch_liburing_x(long n, struct sample *s, bool reg_fd)
{
	long rounds = n / NOP_BATCH;
	struct io_uring ring;
	struct clocks c0, c1;

	base_ring(&ring, reg_fd);
	clocks_now(&c0);
	for (long i = 0; i < rounds; i++) {
		unsigned got = 0;
		for (int k = 0; k < NOP_BATCH; k++)
			io_uring_prep_nop(io_uring_get_sqe(&ring));
		int r = io_uring_submit_and_wait(&ring, NOP_BATCH);
		if (r < 0)
			die("io_uring_submit_and_wait", r);
		while (got < NOP_BATCH) {
			struct io_uring_cqe *cqe;
			unsigned head, seen = 0;
			io_uring_for_each_cqe(&ring, head, cqe)
			{
				if (cqe->res < 0)
					die("nop cqe", cqe->res);
				seen++;
			}
			io_uring_cq_advance(&ring, seen);
			got += seen;
			if (got < NOP_BATCH && (r = io_uring_wait_cqe(&ring, &cqe)))
				die("io_uring_wait_cqe", r);
		}
	}
	clocks_now(&c1);
	io_uring_queue_exit(&ring);
	sample_from(s, &c0, &c1, rounds * NOP_BATCH);
}

static void nop_batch_liburing(long n, struct sample *s)
{
	nop_batch_liburing_x(n, s, false);
}

static void nop_batch_liburing_regfd(long n, struct sample *s)
{
	nop_batch_liburing_x(n, s, true);
}

/* ---- core.sleep_100k (in a child process of its own, for a clean peak RSS) -------------- */

#define SLEEPERS   100000
#define SLEEP_NS   (1 * WEFT_MSEC)
#define CHILD_FLAG "--child-sleep"

static int sleeper(void *arg)
{
	return weft_sleep(SLEEP_NS);
}

static long status_kib(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

struct sleep_job {
	long n;
	struct weft_task **tasks;
	struct clocks c0, c1;
	long rss0_kib;
	int err;
};

static int sleep_main(void *arg)
{
	struct sleep_job *job = arg;
	int r, st;

	job->rss0_kib = status_kib("VmRSS");
	clocks_now(&job->c0);
	for (long i = 0; i < job->n; i++)
		if ((r = weft_task_spawn(&job->tasks[i], sleeper, NULL, NULL)))
			return job->err = r;
	for (long i = 0; i < job->n; i++) {
		if ((r = weft_task_join(job->tasks[i], &st)))
			return job->err = r;
		if (st)
			job->err = st;
	}
	clocks_now(&job->c1);
	return 0;
}

/* The child: one run, one line on stdout: n wall_ns cpu_ns sys_ns rss0_kib hwm_kib. */
static int sleep_child(long n)
{
	const struct weft_loop_opts opts = {.debug = WEFT_DEBUG_OFF};
	struct sleep_job job = {.n = n};
	int r;

	job.tasks = calloc((size_t)n, sizeof(*job.tasks));
	if (!job.tasks)
		die("calloc", ENOMEM);
	r = weft_run(sleep_main, &job, &opts);
	if (r < 0 || job.err) {
		fprintf(stderr, "core: sleep child: %s\n", weft_strerror(r < 0 ? r : job.err));
		return 1;
	}
	printf("%ld %" PRId64 " %" PRId64 " %" PRId64 " %ld %ld\n", n, job.c1.wall - job.c0.wall,
	       job.c1.cpu - job.c0.cpu, job.c1.sys - job.c0.sys, job.rss0_kib, status_kib("VmHWM"));
	return 0;
}

struct sleep_result {
	double wall_ms, cpu_ms, sys_ms, hwm_mib, kib_per_fiber;
};

static void sleep_spawn_child(const char *self, long n, struct sleep_result *res)
{
	char arg[32], line[256];
	long got_n, rss0, hwm;
	int64_t wall, cpu, sys;
	int fds[2], status;
	pid_t pid;
	FILE *f;

	snprintf(arg, sizeof(arg), "%ld", n);
	if (pipe(fds))
		die("pipe", errno);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(self, self, CHILD_FLAG, arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof(line), f) ||
	    sscanf(line, "%ld %" SCNd64 " %" SCNd64 " %" SCNd64 " %ld %ld", &got_n, &wall, &cpu,
		   &sys, &rss0, &hwm) != 6)
		line[0] = 0;
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	if (!line[0] || !WIFEXITED(status) || WEXITSTATUS(status))
		die("sleep child failed", EIO);
	res->wall_ms = (double)wall / 1e6;
	res->cpu_ms = (double)cpu / 1e6;
	res->sys_ms = (double)sys / 1e6;
	res->hwm_mib = (double)hwm / 1024.0;
	res->kib_per_fiber = (double)(hwm - rss0) / (double)n;
}

static void run_sleep_bench(const char *self)
{
	long n = scaled(SLEEPERS);
	double wall[MAX_PAIRS], cpu[MAX_PAIRS], sys[MAX_PAIRS], hwm[MAX_PAIRS], per[MAX_PAIRS];
	struct sleep_result r;
	double w, ideal = (double)SLEEP_NS / 1e6, ratio, h;

	for (int i = 0; i < opt_pairs; i++) {
		sleep_spawn_child(self, n, &r);
		wall[i] = r.wall_ms;
		cpu[i] = r.cpu_ms;
		sys[i] = r.sys_ms;
		hwm[i] = r.hwm_mib;
		per[i] = r.kib_per_fiber;
	}
	w = median(wall, opt_pairs);
	h = median(hwm, opt_pairs);
	ratio = ideal / w;
	printf("%-24s weft %9.2f ms for %ld fibers sleeping 1 ms, spawn to last join  "
	       "(cpu %.2f ms, sys %.2f; runs %.2f..%.2f)\n",
	       "core.sleep_100k", w, n, median(cpu, opt_pairs), median(sys, opt_pairs),
	       vmin(wall, opt_pairs), vmax(wall, opt_pairs));
	printf("%-24s ideal %.2f ms, ratio %.4f; cpu per fiber %.0f ns   [%d runs, one process "
	       "each]\n",
	       "", ideal, ratio, median(cpu, opt_pairs) * 1e6 / (double)n, opt_pairs);
	printf("%-24s peak RSS %.1f MiB (runs %.1f..%.1f), %.2f KiB per fiber above the idle "
	       "process\n",
	       "core.sleep_100k_rss", h, vmin(hwm, opt_pairs), vmax(hwm, opt_pairs),
	       median(per, opt_pairs));
	fflush(stdout);
	emit_json("core.sleep_100k", w, "ms", "ideal_1ms", &ideal, &ratio);
	emit_json("core.sleep_100k_rss", h, "MiB", "none", NULL, NULL);
}

/* ---- main ------------------------------------------------------------------------------- */

static const struct bench benches[] = {
    {"core.switch", "switch", "swapcontext", 5000000, 500000, switch_weft, switch_ucontext, NULL,
     NULL, 30, 0},
    {"core.spawn_join", "task", "pthread", 1000000, 10000, spawn_join_weft, spawn_join_pthread,
     NULL, NULL, 0, 150},
    {"core.spawn_join_batch64", "task", "pthread_batch64", 1000000, 10240, spawn_join_batch_weft,
     spawn_join_batch_pthread, NULL, NULL, 0, 0},
    {"core.nop", "op", "liburing", 300000, 300000, nop_weft, nop_liburing, nop_liburing_regfd,
     "liburing+regfd", 0.77, 0},
    {"core.nop_batch32", "op", "liburing_b32", 1000000, 1000000, nop_batch_weft, nop_batch_liburing,
     nop_batch_liburing_regfd, "lu_b32+regfd", 0.91, 0},
};

static const char *const all_names[] = {
    "core.switch",	"core.spawn_join", "core.spawn_join_batch64", "core.nop",
    "core.nop_batch32", "core.sleep_100k", "core.sleep_100k_rss"};

/* A filter naming a benchmark exactly selects that one; otherwise any name containing it. */
static bool selected(const char *name)
{
	return bench_selected(name, all_names, sizeof(all_names) / sizeof(all_names[0]));
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t len;

	if (argc == 3 && !strcmp(argv[1], CHILD_FLAG))
		return sleep_child(atol(argv[2]));
	bench_parse_args(argc, argv);
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0)
		die("readlink /proc/self/exe", errno);
	self[len] = 0;

	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		if (selected(benches[i].name))
			run_bench(&benches[i]);
	if (selected("core.sleep_100k") || selected("core.sleep_100k_rss"))
		run_sleep_bench(self);
	return failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * perf/process - the process pool's cost per job (perf/run process).
 *
 * [process.roundtrip] an empty job through a one-worker weft_procpool (a fiber sends a 16-byte
 *   request frame with IORING_OP_SENDMSG and reads the 16-byte reply with IORING_OP_RECV; the
 *   worker answers with blocking read/send) vs the same 16 bytes each way over two plain pipes
 *   between two processes with blocking write/read on both sides. Sequential round trips, same
 *   run, alternating A/B, medians. CPU time is the parent's only, on both sides. Report only.
 */
#define BENCH_SUITE "process"
#include "bench.h"

#include <signal.h>
#include <sys/wait.h>

#include "weft/process.h"

typedef void (*run_fn)(long n, struct sample *s);

/* ---- weft: the pool ------------------------------------------------------------------------- */

static weft_procpool *pool;

static int empty_fn(const void *in, size_t inlen, void **out, size_t *outlen)
{
	return 1;
}

static const struct weft_proc_func funcs[] = {{"empty", empty_fn}};

static int roundtrip_main(void *arg)
{
	struct job *job = arg;
	struct clocks c0, c1;
	int r;

	clocks_now(&c0);
	for (long i = 0; i < job->n; i++)
		if ((r = weft_procpool_run(pool, "empty", NULL, 0, NULL, NULL)) != 1)
			return job->err = r < 0 ? r : -EIO;
	clocks_now(&c1);
	sample_from(&job->s, &c0, &c1, job->n);
	return 0;
}

static void roundtrip_weft(long n, struct sample *s)
{
	struct job job = {.n = n};

	weft_job(roundtrip_main, &job);
	*s = job.s;
}

/* ---- baseline: two pipes, blocking read/write ----------------------------------------------- */

#define MSG 16

static void full(ssize_t (*io)(int, void *, size_t), int fd, void *buf)
{
	size_t done = 0;

	while (done < MSG) {
		ssize_t r = io(fd, (char *)buf + done, MSG - done);

		if (r <= 0)
			die("pipe round trip", r ? errno : EPIPE);
		done += r;
	}
}

static ssize_t write_io(int fd, void *buf, size_t len)
{
	return write(fd, buf, len);
}

static void roundtrip_pipe(long n, struct sample *s)
{
	int req[2], rsp[2], st;
	char buf[MSG] = {0};
	struct clocks c0, c1;
	pid_t pid;

	if (pipe(req) || pipe(rsp))
		die("pipe", errno);
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		close(req[1]);
		close(rsp[0]);
		for (;;) {
			if (read(req[0], buf, MSG) != MSG) /* end of file: done */
				_exit(0);
			full(write_io, rsp[1], buf);
		}
	}
	close(req[0]);
	close(rsp[1]);
	clocks_now(&c0);
	for (long i = 0; i < n; i++) {
		full(write_io, req[1], buf);
		full(read, rsp[0], buf);
	}
	clocks_now(&c1);
	close(req[1]);
	close(rsp[0]);
	waitpid(pid, &st, 0);
	sample_from(s, &c0, &c1, n);
}

/* ---- main --------------------------------------------------------------------------------- */

static void run_pair_bench(const char *name, long n, run_fn a, run_fn b)
{
	struct sample w[MAX_PAIRS], p[MAX_PAIRS], tmp;
	struct stats sw, sp;
	double ratio;

	n = scaled(n);
	a(n / 10 ? n / 10 : 1, &tmp); /* warm-up pair, discarded */
	b(n / 10 ? n / 10 : 1, &tmp);
	for (int i = 0; i < opt_pairs; i++) {
		a(n, &w[i]);
		b(n, &p[i]);
	}
	sw = stats_of(w, opt_pairs);
	sp = stats_of(p, opt_pairs);
	ratio = sp.ns / sw.ns;
	printf("%-18s %-12s %10.0f ns/trip  (cpu %.0f, sys %.0f; runs %.0f..%.0f)\n", name, "weft",
	       sw.ns, sw.cpu_ns, sw.sys_ns, sw.lo, sw.hi);
	printf("%-18s %-12s %10.0f ns/trip  (cpu %.0f, sys %.0f; runs %.0f..%.0f)\n", "", "pipe_rt",
	       sp.ns, sp.cpu_ns, sp.sys_ns, sp.lo, sp.hi);
	printf("%-18s ratio %.3f, by cpu time %.3f (weft ahead when > 1)   [%d pairs, %ld trips "
	       "per run]\n",
	       "", ratio, sp.cpu_ns / sw.cpu_ns, opt_pairs, n);
	fflush(stdout);
	emit_json(name, sw.ns, "ns", "pipe_rt", &sp.ns, &ratio);
}

int main(int argc, char **argv)
{
	static const char *const names[] = {"process.roundtrip"};
	struct weft_procpool_opts opts = {.nworkers = 1};

	bench_parse_args(argc, argv);
	if (!bench_selected(names[0], names, 1))
		return 0;
	/* Before any loop: the worker is forked from a small, ring-less image. */
	check("weft_procpool_new", weft_procpool_new(&pool, funcs, 1, &opts));
	run_pair_bench(names[0], 20000, roundtrip_weft, roundtrip_pipe);
	weft_procpool_free(pool);
	return failures ? 1 : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * perf/bench.h - the harness every perf/ suite shares: clocks (wall and CPU time of the
 * process), medians over alternating A/B pairs, the JSON line each figure appends to
 * $WEFT_RESULTS, running a benchmark as a weft main fiber, and the command line
 * `SUITE [-q] [-n pairs] [filter]`. Define BENCH_SUITE ("core", "sync" ...) before including.
 */
#ifndef WEFT_PERF_BENCH_H
#define WEFT_PERF_BENCH_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"

#ifndef BENCH_SUITE
#error "define BENCH_SUITE before including perf/bench.h"
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

#define MAX_PAIRS 64

static int opt_quick;
static int opt_pairs = 7;
static const char *opt_filter;
static const char *results_path;
static int failures;

/* ---- measuring -------------------------------------------------------------------------- */

struct clocks {
	int64_t wall;
	int64_t cpu; /* user + system of the whole process */
	int64_t sys;
};

static int64_t tv_ns(struct timeval tv)
{
	return (int64_t)tv.tv_sec * 1000000000LL + (int64_t)tv.tv_usec * 1000LL;
}

static void clocks_now(struct clocks *c)
{
	struct timespec ts;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->wall = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	c->cpu = tv_ns(ru.ru_utime) + tv_ns(ru.ru_stime);
	c->sys = tv_ns(ru.ru_stime);
}

/* One measured run: per-operation wall and CPU time in ns. */
struct sample {
	double ns;
	double cpu_ns;
	double sys_ns;
};

static void sample_from(struct sample *s, const struct clocks *a, const struct clocks *b, long ops)
{
	s->ns = (double)(b->wall - a->wall) / (double)ops;
	s->cpu_ns = (double)(b->cpu - a->cpu) / (double)ops;
	s->sys_ns = (double)(b->sys - a->sys) / (double)ops;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[MAX_PAIRS];

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double vmin(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double vmax(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* Medians of a series of samples. */
struct stats {
	double ns, cpu_ns, sys_ns, lo, hi;
};

static struct stats stats_of(const struct sample *s, int n)
{
	double ns[MAX_PAIRS], cpu[MAX_PAIRS], sys[MAX_PAIRS];
	struct stats st;

	for (int i = 0; i < n; i++) {
		ns[i] = s[i].ns;
		cpu[i] = s[i].cpu_ns;
		sys[i] = s[i].sys_ns;
	}
	st.ns = median(ns, n);
	st.cpu_ns = median(cpu, n);
	st.sys_ns = median(sys, n);
	st.lo = vmin(ns, n);
	st.hi = vmax(ns, n);
	return st;
}

static void die(const char *what, int err) __attribute__((noreturn));
static void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", BENCH_SUITE, what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void check(const char *what, int err)
{
	if (err)
		die(what, err);
}

/* ---- results ---------------------------------------------------------------------------- */

static void emit_json(const char *name, double value, const char *unit, const char *baseline,
		      const double *baseline_value, const double *ratio)
{
	char bv[64] = "null", r[64] = "null";
	FILE *f;

	if (baseline_value)
		snprintf(bv, sizeof(bv), "%.3f", *baseline_value);
	if (ratio)
		snprintf(r, sizeof(r), "%.4f", *ratio);
	f = fopen(results_path, "a");
	if (!f) {
		fprintf(stderr, "%s: cannot append to %s: %s\n", BENCH_SUITE, results_path,
			strerror(errno));
		failures++;
		return;
	}
	fprintf(f,
		"{\"suite\":\"%s\",\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\","
		"\"baseline\":\"%s\",\"baseline_value\":%s,\"ratio\":%s}\n",
		BENCH_SUITE, name, value, unit, baseline, bv, r);
	fclose(f);
}

/* ---- running weft --------------------------------------------------------------------------- */

struct job {
	long n;
	struct sample s;
	int err;
};

/* Runs @main_fn as the main fiber of a fresh loop; the fiber fills job->s itself, so loop
 * creation and teardown stay out of the figure. */
static void weft_job(int (*main_fn)(void *), struct job *job)
{
	const struct weft_loop_opts opts = {.debug = WEFT_DEBUG_OFF};
	int r;

	job->err = 0;
	r = weft_run(main_fn, job, &opts);
	if (r < 0)
		die("weft_run", r);
	if (job->err)
		die("weft benchmark", job->err);
}

static long scaled(long n)
{
	return opt_quick ? (n / 10 > 0 ? n / 10 : 1) : n;
}

/* Whether the benchmark @name was asked for: a filter equal to one of @names picks exactly that
 * one; any other filter picks every name containing it. */
static bool bench_selected(const char *name, const char *const *names, size_t n)
{
	if (!opt_filter)
		return true;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], opt_filter))
			return !strcmp(name, opt_filter);
	return strstr(name, opt_filter) != NULL;
}

static void bench_usage(void)
{
	fprintf(stderr, "usage: %s [-q] [-n pairs] [filter]\n", BENCH_SUITE);
	exit(2);
}

/* Parse `[-q] [-n pairs] [filter]` and find where results go. */
static void bench_parse_args(int argc, char **argv)
{
	int c;

	while ((c = getopt(argc, argv, "qn:h")) != -1) {
		switch (c) {
		case 'q':
			opt_quick = 1;
			break;
		case 'n':
			opt_pairs = atoi(optarg);
			if (opt_pairs < 1 || opt_pairs > MAX_PAIRS)
				bench_usage();
			break;
		default:
			bench_usage();
		}
	}
	if (optind < argc)
		opt_filter = argv[optind++];
	if (optind < argc)
		bench_usage();
	results_path = getenv("WEFT_RESULTS");
	if (!results_path || !*results_path)
		results_path = "perf/results.jsonl";
	printf("weft %s %s suite: %d pairs%s, results to %s\n", weft_version(), BENCH_SUITE,
	       opt_pairs, opt_quick ? " (quick)" : "", results_path);
}

#pragma GCC diagnostic pop
#endif

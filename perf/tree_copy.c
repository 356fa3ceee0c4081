/* SPDX-License-Identifier: MIT */
/*
 * perf/tree_copy - an atomic copy of a directory of small files with weft (weft_dir listing,
 * weft_file_replace_from for each file, 32 fibers) at each durability level, against `cp -r`
 * of the same tree, in the same run: the rounds alternate cp, weft ALL, weft FILE, weft FILE +
 * one directory fsync, weft NONE, and the medians are printed. The tree copy of issue 10 (5000
 * small files) measured 1.7-2x slower than cp -r when every file was fsync'ed with its
 * directory; this shows what each level costs.
 *
 * Usage: tree_copy [-n files] [-s bytes] [-r rounds] [dir]
 *   defaults: 5000 files of 2000 bytes, 5 rounds, in $WEFT_PERF_DIR, else /var/tmp (a real
 *   file system: the syncs are what is measured). Between runs the copy is removed and the file
 *   system synced (not timed), so no run pays for the previous one's writeback.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "weft.h"

#define WORKERS	   32
#define MAX_ROUNDS 32

static char src[PATH_MAX], dst[PATH_MAX];
static int nfiles = 5000, fsize = 2000, rounds = 5;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time (user + system) of this process (its io-wq workers are its threads) and of the
 * children it waited for (cp): steadier than wall time on a shared machine. */
static double cpu_s(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
			kids.ru_stime.tv_sec) +
	       (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
			kids.ru_stime.tv_usec) /
		   1e6;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "tree_copy: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static void sh(const char *fmt, const char *a, const char *b)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	if (system(cmd) != 0)
		die(cmd, EIO);
}

static void make_source(void)
{
	char path[PATH_MAX + 32], *data = malloc((size_t)fsize);

	if (!data || mkdir(src, 0755))
		die("source", errno);
	for (int i = 0; i < nfiles; i++) {
		int fd;

		memset(data, 'a' + i % 26, (size_t)fsize);
		snprintf(path, sizeof(path), "%s/file%05d.txt", src, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, data, (size_t)fsize) != fsize || close(fd))
			die(path, errno);
	}
	free(data);
	sync();
}

/* ---- the weft copy ---------------------------------------------------------------------------- */

struct copy {
	char (*names)[NAME_MAX + 1];
	int n, next;
	unsigned level;
	bool dir_sync; /* one directory fsync at the end (with WEFT_REPLACE_SYNC_FILE) */
};

static int copy_worker(void *arg)
{
	struct copy *c = arg;
	char from[PATH_MAX + NAME_MAX + 2], to[PATH_MAX + NAME_MAX + 2];
	weft_file *in;
	int err;

	while (c->next < c->n) {
		int i = c->next++;

		snprintf(from, sizeof(from), "%s/%s", src, c->names[i]);
		snprintf(to, sizeof(to), "%s/%s", dst, c->names[i]);
		if ((err = weft_file_open(&in, from, O_RDONLY, 0)))
			return err;
		err = weft_file_replace_from(to, in, 0644, c->level);
		weft_file_close(in);
		if (err)
			return err;
	}
	return 0;
}

static int list_source(struct copy *c)
{
	struct weft_dirent e;
	weft_dir *d;
	int r;

	if ((r = weft_dir_open(&d, src)))
		return r;
	while ((r = weft_dir_next(d, &e)) == 1 && c->n < nfiles)
		snprintf(c->names[c->n++], NAME_MAX + 1, "%s", e.name);
	weft_dir_close(d);
	return r < 0 ? r : 0;
}

static int sync_dst_dir(void)
{
	weft_file *f;
	int err = weft_file_open(&f, dst, O_RDONLY | O_DIRECTORY, 0);

	if (err)
		return err;
	err = weft_file_fsync(f);
	weft_file_close(f);
	return err;
}

static int weft_copy_main(void *arg)
{
	struct copy *c = arg;
	weft_task *t[WORKERS];
	int err, st, first = 0;

	if ((err = weft_file_mkdir(dst, 0755)) || (err = list_source(c)))
		return err;
	for (int i = 0; i < WORKERS; i++)
		if ((err = weft_task_spawn(&t[i], copy_worker, c, NULL)))
			return err;
	for (int i = 0; i < WORKERS; i++) {
		weft_task_join(t[i], &st);
		if (st && !first)
			first = st;
	}
	if (!first && c->dir_sync)
		first = sync_dst_dir();
	return first;
}

/* ---- runs ------------------------------------------------------------------------------------ */

enum { CP, ALL, FILE_ONLY, FILE_DIRSYNC, NONE, NKINDS };
static const char *const kind_name[NKINDS] = {"cp -r", "weft SYNC_ALL", "weft SYNC_FILE",
					      "weft SYNC_FILE + 1 dir fsync", "weft SYNC_NONE"};

static double run_one(int kind, double *cpu)
{
	struct copy c = {.level = kind == ALL	 ? WEFT_REPLACE_SYNC_ALL
				  : kind == NONE ? WEFT_REPLACE_SYNC_NONE
						 : WEFT_REPLACE_SYNC_FILE,
			 .dir_sync = kind == FILE_DIRSYNC};
	double t0;
	int err;

	c.names = malloc(sizeof(*c.names) * (size_t)nfiles);
	if (!c.names)
		die("names", ENOMEM);
	sh("rm -rf '%s'%s", dst, "");
	sync();
	*cpu = cpu_s();
	t0 = now_s();
	if (kind == CP) {
		sh("cp -r '%s' '%s'", src, dst);
	} else if ((err = weft_run(weft_copy_main, &c, NULL))) {
		die(kind_name[kind], err);
	}
	t0 = now_s() - t0;
	*cpu = cpu_s() - *cpu;
	free(c.names);
	return t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	double t[NKINDS][MAX_ROUNDS], cpu[NKINDS][MAX_ROUNDS];
	const char *base = getenv("WEFT_PERF_DIR");
	int opt;

	while ((opt = getopt(argc, argv, "n:s:r:")) != -1) {
		if (opt == 'n')
			nfiles = atoi(optarg);
		else if (opt == 's')
			fsize = atoi(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			return fprintf(stderr, "usage: tree_copy [-n files] [-s bytes] [-r rounds] "
					       "[dir]\n"),
			       2;
	}
	if (nfiles < 1 || fsize < 1 || rounds < 1 || rounds > MAX_ROUNDS)
		die("arguments", EINVAL);
	if (optind < argc)
		base = argv[optind];
	if (!base || !*base)
		base = "/var/tmp";
	snprintf(src, sizeof(src), "%s/weft_tree_copy.%d.src", base, (int)getpid());
	snprintf(dst, sizeof(dst), "%s/weft_tree_copy.%d.dst", base, (int)getpid());
	make_source();
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < NKINDS; k++) {
			int kind = r % 2 ? NKINDS - 1 - k : k; /* A B .. B A: alternate the order */

			t[kind][r] = run_one(kind, &cpu[kind][r]);
		}
	printf("atomic copy of %d files of %d bytes, %s, median of %d rounds\n", nfiles, fsize,
	       base, rounds);
	for (int k = 0; k < NKINDS; k++) {
		qsort(t[k], (size_t)rounds, sizeof(double), cmp_double);
		qsort(cpu[k], (size_t)rounds, sizeof(double), cmp_double);
		t[k][0] = t[k][rounds / 2];
		cpu[k][0] = cpu[k][rounds / 2];
	}
	printf("  %-30s %9s %8s %9s %8s\n", "", "wall", "vs cp", "cpu", "vs cp");
	for (int k = 0; k < NKINDS; k++)
		printf("  %-30s %8.3fs %7.2fx %8.3fs %7.2fx\n", kind_name[k], t[k][0],
		       t[k][0] / t[CP][0], cpu[k][0], cpu[k][0] / cpu[CP][0]);
	sh("rm -rf '%s' '%s'", src, dst);
	return 0;
}

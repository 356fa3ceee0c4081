/* SPDX-License-Identifier: MIT */
/*
 * perf/file - the `file` suite: weft's file I/O against fio and against the aiofiles model, in
 * the same run, A B B A A B ..., medians reported (JSON lines: see perf/run).
 *
 *   file.randread_qd1 / _qd32 / _qd128   4 KiB random reads, O_DIRECT where the file system allows
 *                                        (else cached), N fibers on one loop  vs fio io_uring, same
 *                                        file, depth and block size
 *   file.randread_pool4 / _pool16        4 KiB random cached reads, 32 fibers vs one "loop" thread
 *                                        handing each pread to a pool of 4 (16) threads through a
 *                                        queue, 32 in flight (run_in_executor / aiofiles)
 *   file.randread_pool4_eventfd          the same, completions announced through an eventfd the
 *                                        loop thread sleeps on, as asyncio's self-pipe does
 *   file.fallback_randread_pool4         file.randread_pool4 with weft's loop on the readiness
 *                                        backend (opts.backend = WEFT_BACKEND_EPOLL: preadv2
 *                                        RWF_NOWAIT on the loop thread, else the thread pool);
 *                                        not measured (and the suite fails) where the loop does
 *                                        not run on it
 *   file.pread_cached                    one fiber's cached 4 KiB reads vs plain pread(2) on one
 *                                        thread: CPU time per read side by side
 *   file.randread_cached_qd32            32 fibers, cached  vs fio io_uring depth 32, cached
 *   file.seqread                         1 MiB sequential reads of the cold file  vs fio
 *   file.seqwrite                        1 MiB sequential writes + fsync  vs fio
 *   file.smallfiles                      open + read 4 KiB + close of many files, 32 fibers  vs
 *                                        the same system calls on one thread
 *
 * Only when the filter names them ("opt"), weft against weft, one option on (A) and off (B):
 *   file.opt_inline_qd1 / _qd32          the inline page-cache read vs every read through the ring
 *   file.opt_regfile_cached_qd32         registered file vs not (ring-only reads, cached)
 *   file.opt_regfile_direct_qd32         registered file vs not (O_DIRECT)
 *   file.opt_fixedbuf_direct_qd32        fixed buffers + registered file vs registered file only
 *   file.opt_async_seqread               IOSQE_ASYNC for large cold reads vs inline issue
 *   file.opt_maxworkers_write            io-wq capped at 2 bounded workers vs uncapped, 32 fibers
 *                                        writing 4 KiB buffered, one file each
 *
 * Usage: file [-q] [-n pairs] [filter]   (-q: short runs, a 128 MiB file, 3 pairs unless -n)
 * The test file (1 GiB) lives in $WEFT_PERF_DIR, else /var/tmp, else /tmp - a real file system
 * (tmpfs has no O_DIRECT) with room to spare; it is created once per run and removed at exit.
 * Throughputs are ops or bytes per second of wall time; the CPU time of the process under test
 * (getrusage; fio's own usr+sys) is printed per operation beside them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "weft.h"
#include "weft/file.h"
#include "fileio/internal.h" /* weft__file_tune, for the file.opt_* comparisons */

#define BENCH_SUITE "file"
#include "bench.h"

#define BS	  4096
#define MIB	  (1024 * 1024)
#define TMPFS_FS  0x01021994
#define MAX_DEPTH 128

static char dir[PATH_MAX];
static char data_path[PATH_MAX + 32];
static int64_t file_size;
static bool direct_ok;
static double run_s; /* seconds per timed run */

/* ---- set-up and clean-up ------------------------------------------------------------------- */

static void cleanup(void)
{
	char cmd[PATH_MAX + 32];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "file: could not remove %s\n", dir);
	dir[0] = 0;
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const char *pick_base(void)
{
	static const char *const cands[] = {NULL, "/var/tmp", "/tmp"};
	int64_t need = file_size * 2 + 512LL * MIB;

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++) {
		const char *c = i ? cands[i] : getenv("WEFT_PERF_DIR");
		struct statvfs vs;
		struct statfs fs;
		if (!c || statvfs(c, &vs) || statfs(c, &fs))
			continue;
		if ((int64_t)vs.f_bavail * (int64_t)vs.f_frsize < need) {
			fprintf(stderr, "file: %s has too little free space\n", c);
			continue;
		}
		if (fs.f_type == TMPFS_FS && i + 1 < sizeof(cands) / sizeof(cands[0]))
			continue; /* rather a disk: O_DIRECT and real cold reads */
		return c;
	}
	die("no directory with room for the test file", ENOSPC);
}

static void make_data_file(void)
{
	char *buf = malloc(MIB);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	int fd;

	snprintf(dir, sizeof(dir), "%s/weft_perf_file.XXXXXX", pick_base());
	if (!mkdtemp(dir))
		die("mkdtemp", errno);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	snprintf(data_path, sizeof(data_path), "%s/data", dir);
	fd = open(data_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || !buf)
		die("create test file", errno);
	for (int64_t done = 0; done < file_size; done += MIB) {
		for (size_t i = 0; i < MIB / 8; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			memcpy(buf + i * 8, &x, 8);
		}
		if (write(fd, buf, MIB) != MIB)
			die("write test file", errno);
	}
	fsync(fd);
	close(fd);
	free(buf);
	fd = open(data_path, O_RDONLY | O_DIRECT);
	direct_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	printf("test file %s: %" PRId64 " MiB, O_DIRECT %s\n", data_path, file_size / MIB,
	       direct_ok ? "works" : "not supported (random-read baselines use the page cache)");
}

static void cache_warm(void)
{
	char *buf = malloc(MIB);
	int fd = open(data_path, O_RDONLY);

	for (int64_t off = 0; fd >= 0 && off < file_size; off += MIB)
		if (pread(fd, buf, MIB, off) != MIB)
			die("warm", EIO);
	close(fd);
	free(buf);
}

static void cache_drop(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

static inline int64_t rnd_off(uint64_t *s)
{
	return (int64_t)(rnd(s) % (uint64_t)(file_size / BS)) * BS;
}

/* ---- one measured run ----------------------------------------------------------------------- */

/* What a run measured: operations (or bytes) per second and CPU ns per operation. */
struct run {
	double rate;
	double cpu_ns;
};

static void run_from(struct run *r, const struct clocks *a, const struct clocks *b, double ops,
		     double units)
{
	double s = (double)(b->wall - a->wall) / 1e9;

	r->rate = units / s;
	r->cpu_ns = ops > 0 ? (double)(b->cpu - a->cpu) / ops : 0;
}

/* ---- fio ----------------------------------------------------------------------------------- */

static double json_num(const char *from, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\" : ", key);
	p = from ? strstr(from, pat) : NULL;
	return p ? strtod(p + strlen(pat), NULL) : -1;
}

/* Run fio with @args on the test file (or @path); fill @r with its IOPS (or bytes/s if @bytes)
 * and CPU ns per op. @rw names the JSON section ("read" / "write"). */
static void fio_run(const char *args, const char *path, const char *rw, bool bytes, struct run *r)
{
	static char out[1 << 17];
	char cmd[PATH_MAX + 4096], sect[32];
	size_t n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "fio --name=w --filename=%s --ioengine=io_uring --output-format=json "
		 "--randrepeat=0 --norandommap %s 2>/dev/null",
		 path ? path : data_path, args);
	p = popen(cmd, "r");
	if (!p)
		die("popen fio", errno);
	while (n < sizeof(out) - 1 && !feof(p))
		n += fread(out + n, 1, sizeof(out) - 1 - n, p);
	out[n] = 0;
	if (pclose(p) != 0)
		die("fio failed", EIO);
	snprintf(sect, sizeof(sect), "\"%s\" : {", rw);
	const char *s = strstr(out, sect);
	double iops = json_num(s, "iops"), bw = json_num(s, "bw_bytes");
	double cpu = json_num(out, "usr_cpu") + json_num(out, "sys_cpu");
	if (iops <= 0)
		die("fio output", EIO);
	r->rate = bytes ? bw : iops;
	r->cpu_ns = cpu / 100.0 * 1e9 / iops;
}

/* ---- weft: random reads from N fibers ------------------------------------------------------- */

/* Options of a weft random-read run (the file.opt_* comparisons switch them). */
#define O_REG	  1u  /* registered file */
#define O_FIXED	  2u  /* fixed buffers (implies O_REG) */
#define O_RING	  4u  /* no inline page-cache attempt: every read through the ring */
#define O_NOASYNC 8u  /* no IOSQE_ASYNC for large cold reads */
#define O_EPOLL	  16u /* the loop on the readiness backend (opts.backend = WEFT_BACKEND_EPOLL) */

struct rr {
	weft_file *f;
	int depth;
	bool cached;
	unsigned opts;
	char *bufs; /* depth x BS, aligned; registered with O_FIXED */
	int next_id;
	long ops;
	int64_t until;
	int err;
	struct run run;
};

static int rr_fiber(void *arg)
{
	struct rr *rr = arg;
	int id = rr->next_id++;
	char *buf = rr->bufs + (size_t)id * BS;
	uint64_t seed = ((uint64_t)id + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)weft_now();
	long n = 0;
	int err = 0;

	while (!err) {
		for (int i = 0; i < 16 && !err; i++, n++) {
			int64_t off = rnd_off(&seed);
			ssize_t r = rr->opts & O_FIXED
					? weft_file_pread_fixed(rr->f, buf, BS, off, 0)
					: weft_file_pread(rr->f, buf, BS, off);
			err = r == BS ? 0 : r < 0 ? (int)r : -EIO;
		}
		if (weft_now() >= rr->until)
			break;
	}
	rr->ops += n;
	return err;
}

static int rr_setup(struct rr *rr)
{
	struct iovec iov = {rr->bufs, (size_t)rr->depth * BS};
	int err;

	err = weft_file_open(&rr->f, data_path,
			     rr->cached || !direct_ok ? O_RDONLY : O_RDONLY | O_DIRECT, 0);
	if (!err && (rr->opts & (O_REG | O_FIXED)))
		err = weft_file_register(rr->f);
	if (!err && (rr->opts & O_FIXED))
		err = weft_file_buffers_register(&iov, 1);
	weft__file_tune = (rr->opts & O_RING ? WEFT__TUNE_NO_INLINE : 0) |
			  (rr->opts & O_NOASYNC ? WEFT__TUNE_NO_ASYNC : 0);
	return err;
}

static int rr_main(void *arg)
{
	struct rr *rr = arg;
	weft_task *t[MAX_DEPTH];
	struct clocks c0, c1;
	int err, st;

	if ((err = rr_setup(rr)))
		return rr->err = err;
	clocks_now(&c0);
	rr->until = c0.wall + (int64_t)(run_s * 1e9);
	for (int i = 0; i < rr->depth; i++)
		if ((err = weft_task_spawn(&t[i], rr_fiber, rr, NULL)))
			return rr->err = err;
	for (int i = 0; i < rr->depth; i++)
		if (!(err = weft_task_join(t[i], &st)) && st)
			rr->err = st;
	clocks_now(&c1);
	weft_file_close(rr->f);
	weft__file_tune = 0;
	run_from(&rr->run, &c0, &c1, (double)rr->ops, (double)rr->ops);
	return rr->err;
}

static void weft_randread_opts(int depth, bool cached, unsigned opts, struct run *out)
{
	struct rr rr = {.depth = depth, .cached = cached, .opts = opts};
	struct weft_loop_opts lo = {0};
	int r;

	if (opts & O_EPOLL)
		lo.backend = WEFT_BACKEND_EPOLL;
	rr.bufs = weft_file_aligned_alloc((size_t)depth * BS, 0);
	if (!rr.bufs)
		die("alloc", ENOMEM);
	r = weft_run(rr_main, &rr, &lo);
	free(rr.bufs);
	if (r)
		die("weft random read", r);
	*out = rr.run;
}

static void weft_randread(int depth, bool cached, struct run *out)
{
	weft_randread_opts(depth, cached, 0, out);
}

/* ---- the aiofiles model: one loop thread, a pool of workers, a queue each way --------------- */

struct preq {
	struct preq *next;
	int64_t off;
	ssize_t res;
	char buf[BS];
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct preq *work, *done;
	bool stop;
	int fd;
	int efd; /* >= 0: each completion also writes this eventfd and the loop thread sleeps in
		  * read(2) on it - asyncio's call_soon_threadsafe writing its self-pipe */
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct preq *q;
		while (!p->work && !p->stop)
			pthread_cond_wait(&p->work_cv, &p->mu);
		if (!p->work)
			break;
		q = p->work;
		p->work = q->next;
		pthread_mutex_unlock(&p->mu);
		q->res = pread(p->fd, q->buf, BS, q->off);
		pthread_mutex_lock(&p->mu);
		q->next = p->done;
		p->done = q;
		pthread_cond_signal(&p->done_cv);
		if (p->efd >= 0) {
			uint64_t one = 1;
			pthread_mutex_unlock(&p->mu);
			if (write(p->efd, &one, sizeof(one)) != sizeof(one))
				die("eventfd write", errno);
			pthread_mutex_lock(&p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Hand @q to the pool (executor.submit). Called with the lock held. */
static void pool_submit(struct pool *p, struct preq *q, uint64_t *seed)
{
	q->off = rnd_off(seed);
	q->next = p->work;
	p->work = q;
	pthread_cond_signal(&p->work_cv);
}

/* The loop thread waits for completions: on the condition variable, or in read(2) on the eventfd. */
static void pool_wait(struct pool *p)
{
	uint64_t v;

	while (!p->done) {
		if (p->efd < 0) {
			pthread_cond_wait(&p->done_cv, &p->mu);
			continue;
		}
		pthread_mutex_unlock(&p->mu);
		if (read(p->efd, &v, sizeof(v)) != sizeof(v))
			die("eventfd read", errno);
		pthread_mutex_lock(&p->mu);
	}
}

static void pool_randread(int nthreads, int inflight, bool efd, struct run *out)
{
	struct pool p = {.fd = open(data_path, O_RDONLY),
			 .efd = efd ? eventfd(0, EFD_CLOEXEC) : -1};
	struct preq *reqs = calloc((size_t)inflight, sizeof(*reqs));
	pthread_t th[64];
	uint64_t seed = 88172645463325252ull;
	struct clocks c0, c1;
	long ops = 0;
	int64_t until;

	if (p.fd < 0 || !reqs)
		die("pool set-up", errno);
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.work_cv, NULL);
	pthread_cond_init(&p.done_cv, NULL);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, pool_worker, &p);
	clocks_now(&c0);
	until = c0.wall + (int64_t)(run_s * 1e9);
	pthread_mutex_lock(&p.mu);
	for (int i = 0; i < inflight; i++)
		pool_submit(&p, &reqs[i], &seed);
	for (int outstanding = inflight; outstanding;) {
		struct preq *d;
		bool more;
		pool_wait(&p);
		d = p.done;
		p.done = NULL;
		/* The loop's turn: every completion that arrived, then submit replacements. */
		pthread_mutex_unlock(&p.mu);
		clocks_now(&c1);
		more = c1.wall < until;
		pthread_mutex_lock(&p.mu);
		while (d) {
			struct preq *next = d->next;
			if (d->res != BS)
				die("pool pread", EIO);
			ops++;
			if (more)
				pool_submit(&p, d, &seed);
			else
				outstanding--;
			d = next;
		}
	}
	p.stop = true;
	pthread_cond_broadcast(&p.work_cv);
	pthread_mutex_unlock(&p.mu);
	clocks_now(&c1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	run_from(out, &c0, &c1, (double)ops, (double)ops);
	close(p.fd);
	if (p.efd >= 0)
		close(p.efd);
	free(reqs);
}

/* ---- plain synchronous pread on one thread ------------------------------------------------- */

static void sync_pread(struct run *out)
{
	char *buf = weft_file_aligned_alloc(BS, 0);
	int fd = open(data_path, O_RDONLY);
	uint64_t seed = 2463534242ull;
	struct clocks c0, c1;
	long ops = 0;
	int64_t until;

	clocks_now(&c0);
	until = c0.wall + (int64_t)(run_s * 1e9);
	do {
		for (int i = 0; i < 64; i++, ops++)
			if (pread(fd, buf, BS, rnd_off(&seed)) != BS)
				die("pread", errno);
		clocks_now(&c1);
	} while (c1.wall < until);
	run_from(out, &c0, &c1, (double)ops, (double)ops);
	close(fd);
	free(buf);
}

/* ---- sequential read and write -------------------------------------------------------------- */

struct seq {
	const char *path;
	bool write;
	int64_t total;
	struct run run;
};

static int seq_main(void *arg)
{
	struct seq *s = arg;
	char *buf = weft_file_aligned_alloc(MIB, 0);
	struct clocks c0, c1;
	int64_t done = 0, until;
	weft_file *f;
	int err;

	err = weft_file_open(&f, s->path, s->write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY, 0644);
	if (err || !buf)
		return err ? err : -ENOMEM;
	memset(buf, 'w', MIB);
	clocks_now(&c0);
	until = c0.wall + (int64_t)(run_s * 1e9);
	while (done < s->total && !err) {
		ssize_t r = s->write ? weft_file_write(f, buf, MIB) : weft_file_read(f, buf, MIB);
		if (r <= 0)
			err = r ? (int)r : -EIO;
		done += r;
		if (!s->write && weft_now() >= until)
			break;
	}
	if (!err && s->write)
		err = weft_file_fsync(f);
	clocks_now(&c1);
	weft_file_close(f);
	free(buf);
	run_from(&s->run, &c0, &c1, (double)done / MIB, (double)done);
	return err;
}

static void weft_seq_opts(bool write, const char *path, int64_t total, unsigned opts,
			  struct run *out)
{
	struct seq s = {.path = path, .write = write, .total = total};
	int r;

	if (!write)
		cache_drop(path);
	weft__file_tune = opts & O_NOASYNC ? WEFT__TUNE_NO_ASYNC : 0;
	r = weft_run(seq_main, &s, NULL);
	weft__file_tune = 0;
	if (r)
		die("weft sequential", r);
	*out = s.run;
}

static void weft_seq(bool write, const char *path, int64_t total, struct run *out)
{
	weft_seq_opts(write, path, total, 0, out);
}

/* ---- many small files ----------------------------------------------------------------------- */

#define SMALL_FILES 2000
#define SMALL_DEPTH 32

static char small_dir[PATH_MAX + 16];

struct small {
	int next;
	long ops;
	int64_t until;
	struct run run;
};

static void small_name(char *p, size_t len, int i)
{
	snprintf(p, len, "%s/f%04d", small_dir, i);
}

static int small_fiber(void *arg)
{
	struct small *s = arg;
	char path[PATH_MAX + 32], buf[BS];

	while (weft_now() < s->until) {
		weft_file *f;
		int i = s->next++ % SMALL_FILES, err;
		small_name(path, sizeof(path), i);
		if ((err = weft_file_open(&f, path, O_RDONLY, 0)))
			return err;
		ssize_t r = weft_file_read(f, buf, sizeof(buf));
		weft_file_close(f);
		if (r != BS)
			return r < 0 ? (int)r : -EIO;
		s->ops++;
	}
	return 0;
}

static int small_main(void *arg)
{
	struct small *s = arg;
	weft_task *t[SMALL_DEPTH];
	struct clocks c0, c1;
	int err = 0, st;

	clocks_now(&c0);
	s->until = c0.wall + (int64_t)(run_s * 1e9);
	for (int i = 0; i < SMALL_DEPTH; i++)
		if ((err = weft_task_spawn(&t[i], small_fiber, s, NULL)))
			return err;
	for (int i = 0; i < SMALL_DEPTH; i++)
		if (!weft_task_join(t[i], &st) && st)
			err = st;
	clocks_now(&c1);
	run_from(&s->run, &c0, &c1, (double)s->ops, (double)s->ops);
	return err;
}

static void small_weft(struct run *out)
{
	struct small s = {0};
	int r = weft_run(small_main, &s, NULL);

	if (r)
		die("weft small files", r);
	*out = s.run;
}

static void small_sync(struct run *out)
{
	char path[PATH_MAX + 32], buf[BS];
	struct clocks c0, c1;
	long ops = 0;
	int64_t until;

	clocks_now(&c0);
	until = c0.wall + (int64_t)(run_s * 1e9);
	do {
		for (int k = 0; k < 16; k++, ops++) {
			small_name(path, sizeof(path), (int)(ops % SMALL_FILES));
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || read(fd, buf, BS) != BS)
				die("small sync", errno);
			close(fd);
		}
		clocks_now(&c1);
	} while (c1.wall < until);
	run_from(out, &c0, &c1, (double)ops, (double)ops);
}

static void make_small_files(void)
{
	char path[PATH_MAX + 32], buf[BS];

	memset(buf, 's', sizeof(buf));
	snprintf(small_dir, sizeof(small_dir), "%s/small", dir);
	if (mkdir(small_dir, 0755))
		die("mkdir small", errno);
	for (int i = 0; i < SMALL_FILES; i++) {
		small_name(path, sizeof(path), i);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, BS) != BS)
			die("small files", errno);
		close(fd);
	}
}

/* ---- the A/B driver ------------------------------------------------------------------------- */

enum kind { K_RATE, K_BYTES }; /* ops/s or bytes/s */

struct bench {
	const char *name;
	const char *baseline;
	enum kind kind;
	void (*weft)(const struct bench *b, struct run *r);
	void (*base)(const struct bench *b, struct run *r);
	int depth;	    /* fibers and fio's depth; for the pools, the pool's size */
	bool cached;	    /* needs the test file in the page cache */
	unsigned a, b_opts; /* file.opt_*: the options of side A (weft) and side B */
};

static void report(const struct bench *b, const struct run *w, const struct run *s, int n)
{
	double wr[MAX_PAIRS], sr[MAX_PAIRS], wc[MAX_PAIRS], sc[MAX_PAIRS];
	const char *unit = b->kind == K_BYTES ? "MB/s" : "kops/s";
	double scale = b->kind == K_BYTES ? 1e6 : 1e3;
	double mw, ms, ratio;

	for (int i = 0; i < n; i++) {
		wr[i] = w[i].rate / scale;
		sr[i] = s[i].rate / scale;
		wc[i] = w[i].cpu_ns;
		sc[i] = s[i].cpu_ns;
	}
	mw = median(wr, n);
	ms = median(sr, n);
	ratio = mw / ms;
	printf("%-26s weft %9.1f %s  (cpu %.0f ns/op; runs %.1f..%.1f)\n", b->name, mw, unit,
	       median(wc, n), vmin(wr, n), vmax(wr, n));
	printf("%-26s %-14s %9.1f %s  (cpu %.0f ns/op; runs %.1f..%.1f)\n", "", b->baseline, ms,
	       unit, median(sc, n), vmin(sr, n), vmax(sr, n));
	printf("%-26s ratio %.3f (weft ahead when > 1)   [%d pairs, %.2f s runs]\n", "", ratio, n,
	       run_s);
	fflush(stdout);
	emit_json(b->name, mw, unit, b->baseline, &ms, &ratio);
}

static void run_bench(const struct bench *b)
{
	struct run w[MAX_PAIRS], s[MAX_PAIRS], tmp;
	double keep = run_s;

	if (!opt_quick) {
		run_s = keep / 4; /* warm-up pair, discarded */
		b->weft(b, &tmp);
		b->base(b, &tmp);
		run_s = keep;
	}
	/* A B, B A, A B ...: whatever warms up over a run (the host's cache under the virtual
	 * disk, the page cache) favours neither side. */
	for (int i = 0; i < opt_pairs; i++) {
		if (i % 2 == 0)
			b->weft(b, &w[i]);
		b->base(b, &s[i]);
		if (i % 2 == 1)
			b->weft(b, &w[i]);
	}
	report(b, w, s, opt_pairs);
}

static void w_rand_direct(const struct bench *b, struct run *r)
{
	weft_randread(b->depth, false, r);
}

static void w_rand_cached(const struct bench *b, struct run *r)
{
	weft_randread(b->depth, true, r);
}

static void fio_rand(const struct bench *b, struct run *r, bool direct)
{
	char args[512];

	snprintf(args, sizeof(args),
		 "--rw=randread --bs=4k --iodepth=%d --direct=%d --runtime=%.0fms --time_based "
		 "--invalidate=0 --size=%" PRId64,
		 b->depth, direct && direct_ok, run_s * 1000, file_size);
	fio_run(args, NULL, "read", false, r);
}

static void b_fio_direct(const struct bench *b, struct run *r)
{
	fio_rand(b, r, true);
}

static void b_fio_cached(const struct bench *b, struct run *r)
{
	fio_rand(b, r, false);
}

static void b_pool(const struct bench *b, struct run *r)
{
	pool_randread(b->depth, 32, false, r);
}

static void b_pool_efd(const struct bench *b, struct run *r)
{
	pool_randread(b->depth, 32, true, r);
}

static void b_sync_pread(const struct bench *b, struct run *r)
{
	sync_pread(r);
}

static void w_seqread(const struct bench *b, struct run *r)
{
	weft_seq(false, data_path, file_size, r);
}

static void b_fio_seqread(const struct bench *b, struct run *r)
{
	char args[256];

	cache_drop(data_path);
	snprintf(args, sizeof(args),
		 "--rw=read --bs=1M --iodepth=1 --runtime=%.0fms --invalidate=1 --size=%" PRId64,
		 run_s * 1000, file_size);
	fio_run(args, NULL, "read", true, r);
}

static char out_path[PATH_MAX + 32];

static int64_t seqwrite_total(void)
{
	return file_size / 4;
}

static void w_seqwrite(const struct bench *b, struct run *r)
{
	weft_seq(true, out_path, seqwrite_total(), r);
	unlink(out_path);
}

static void b_fio_seqwrite(const struct bench *b, struct run *r)
{
	char args[256];

	snprintf(args, sizeof(args), "--rw=write --bs=1M --iodepth=1 --end_fsync=1 --size=%" PRId64,
		 seqwrite_total());
	fio_run(args, out_path, "write", true, r);
	unlink(out_path);
}

static void w_small(const struct bench *b, struct run *r)
{
	small_weft(r);
}

static void b_small(const struct bench *b, struct run *r)
{
	small_sync(r);
}

/* 32 fibers, cached, against a pool: b->a may put the loop on the readiness backend. */
static void w_rand_cached32(const struct bench *b, struct run *r)
{
	weft_randread_opts(32, true, b->a, r);
}

/* ---- the readiness backend ----------------------------------------------------------------- */

/* What this process drives its I/O with, told from /proc/self as perf/net.sh tells its servers':
 * "io_uring" if it holds an io_uring instance (an fd or a ring mapping), else "epoll" if it holds
 * an epoll instance, else "none". (weft_loop_backend() would say it too, but this suite must
 * still link against a libweft from before the readiness backend.) */
static const char *backend_seen(void)
{
	char path[PATH_MAX], link[64], line[512];
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	bool uring = false, epoll = false;
	FILE *m;

	while (d && (e = readdir(d))) {
		ssize_t n;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = 0;
		uring = uring || strstr(link, "[io_uring]");
		epoll = epoll || strstr(link, "[eventpoll]");
	}
	if (d)
		closedir(d);
	m = fopen("/proc/self/maps", "r");
	while (m && fgets(line, sizeof(line), m))
		uring = uring || strstr(line, "[io_uring]");
	if (m)
		fclose(m);
	return uring ? "io_uring" : epoll ? "epoll" : "none";
}

static int backend_main(void *arg)
{
	*(const char **)arg = backend_seen();
	return 0;
}

/* Whether a loop created with opts.backend = WEFT_BACKEND_EPOLL runs on it; if not, says so. */
static bool epoll_backend_ok(const char *name)
{
	const struct weft_loop_opts lo = {.backend = WEFT_BACKEND_EPOLL};
	const char *seen = "none";
	int r = weft_run(backend_main, &seen, &lo);

	if (!r && !strcmp(seen, "epoll"))
		return true;
	if (r)
		fprintf(stderr, "%s: not measured: a loop asked for WEFT_BACKEND_EPOLL: %s\n", name,
			weft_strerror(r));
	else
		fprintf(stderr,
			"%s: not measured: a loop asked for WEFT_BACKEND_EPOLL runs on %s (this "
			"libweft has no readiness backend?)\n",
			name, seen);
	return false;
}

/* ---- file.opt_*: one option on (A) against off (B), weft both sides ------------------------ */

static void o_rand_a(const struct bench *b, struct run *r)
{
	weft_randread_opts(b->depth, b->cached, b->a, r);
}

static void o_rand_b(const struct bench *b, struct run *r)
{
	weft_randread_opts(b->depth, b->cached, b->b_opts, r);
}

static void o_seq_a(const struct bench *b, struct run *r)
{
	weft_seq_opts(false, data_path, file_size, b->a, r);
}

static void o_seq_b(const struct bench *b, struct run *r)
{
	weft_seq_opts(false, data_path, file_size, b->b_opts, r);
}

/* Buffered 4 KiB writes from many fibers, one file each: io-wq work on ext4 (see file_probe).
 * With a cap, the bounded io-wq workers are limited to that many. */
#define WR_FILES 32

struct wr {
	unsigned cap;
	int next_id;
	long ops;
	int64_t until;
	int workers;
	int err;
	struct run run;
};

static int wr_fiber(void *arg)
{
	struct wr *w = arg;
	char path[PATH_MAX + 32], buf[BS];
	weft_file *f;
	int64_t off = 0;
	int err;

	memset(buf, 'x', sizeof(buf));
	snprintf(path, sizeof(path), "%s/w%d", dir, w->next_id++);
	if ((err = weft_file_open(&f, path, O_WRONLY | O_CREAT | O_TRUNC, 0644)))
		return err;
	while (!err && weft_now() < w->until) {
		ssize_t r = weft_file_pwrite_some(f, buf, BS, off);
		err = r == BS ? 0 : r < 0 ? (int)r : -EIO;
		off = (off + BS) % (16 * MIB);
		w->ops++;
	}
	weft_file_close(f);
	weft_file_unlink(path);
	return err;
}

static int count_iou_workers(void)
{
	char cmd[96];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "grep -l iou-wrk /proc/%d/task/*/comm 2>/dev/null | wc -l",
		 (int)getpid());
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

static int wr_main(void *arg)
{
	struct wr *w = arg;
	weft_task *t[WR_FILES];
	struct clocks c0, c1;
	unsigned bounded = w->cap, unbounded = 0;
	int err = 0, st;

	if (w->cap && (err = weft_file_max_workers(&bounded, &unbounded)))
		return err;
	clocks_now(&c0);
	w->until = c0.wall + (int64_t)(run_s * 1e9);
	for (int i = 0; i < WR_FILES; i++)
		if ((err = weft_task_spawn(&t[i], wr_fiber, w, NULL)))
			return err;
	for (int i = 0; i < WR_FILES; i++)
		if (!weft_task_join(t[i], &st) && st)
			err = st;
	clocks_now(&c1);
	w->workers = count_iou_workers(); /* idle workers linger for seconds: about the peak */
	run_from(&w->run, &c0, &c1, (double)w->ops, (double)w->ops);
	return err;
}

/* On a thread of its own: io-wq workers belong to the thread and go away with it. */
static void *wr_thread(void *arg)
{
	struct wr *w = arg;

	w->err = weft_run(wr_main, w, NULL);
	return NULL;
}

static void weft_writes(unsigned cap, struct run *out)
{
	struct wr w = {.cap = cap};
	pthread_t th;

	if (pthread_create(&th, NULL, wr_thread, &w) || pthread_join(th, NULL))
		die("pthread", EAGAIN);
	if (w.err)
		die("weft writes", w.err);
	printf("%-26s io-wq bounded cap %u: %d iou-wrk threads at the end of the run\n", "", cap,
	       w.workers);
	*out = w.run;
}

static void o_write_a(const struct bench *b, struct run *r)
{
	weft_writes(b->a, r);
}

static void o_write_b(const struct bench *b, struct run *r)
{
	weft_writes(b->b_opts, r);
}

static const struct bench benches[] = {
    {"file.randread_qd1", "fio_io_uring", K_RATE, w_rand_direct, b_fio_direct, 1, false, 0, 0},
    {"file.randread_qd32", "fio_io_uring", K_RATE, w_rand_direct, b_fio_direct, 32, false, 0, 0},
    {"file.randread_qd128", "fio_io_uring", K_RATE, w_rand_direct, b_fio_direct, 128, false, 0, 0},
    {"file.randread_pool4", "pread_pool4", K_RATE, w_rand_cached32, b_pool, 4, true, 0, 0},
    {"file.randread_pool16", "pread_pool16", K_RATE, w_rand_cached32, b_pool, 16, true, 0, 0},
    {"file.randread_pool4_eventfd", "pool4_eventfd", K_RATE, w_rand_cached32, b_pool_efd, 4, true,
     0, 0},
    {"file.fallback_randread_pool4", "pread_pool4", K_RATE, w_rand_cached32, b_pool, 4, true,
     O_EPOLL, 0},
    {"file.pread_cached", "pread_sync", K_RATE, w_rand_cached, b_sync_pread, 1, true, 0, 0},
    {"file.randread_cached_qd32", "fio_io_uring", K_RATE, w_rand_cached, b_fio_cached, 32, true, 0,
     0},
    {"file.seqread", "fio_io_uring", K_BYTES, w_seqread, b_fio_seqread, 1, false, 0, 0},
    {"file.seqwrite", "fio_io_uring", K_BYTES, w_seqwrite, b_fio_seqwrite, 1, false, 0, 0},
    {"file.smallfiles", "sync_syscalls", K_RATE, w_small, b_small, SMALL_DEPTH, false, 0, 0},
    /* Run only when asked for ("perf/run file opt"): what each option is worth. */
    {"file.opt_inline_qd1", "ring_only", K_RATE, o_rand_a, o_rand_b, 1, true, 0, O_RING},
    {"file.opt_inline_qd32", "ring_only", K_RATE, o_rand_a, o_rand_b, 32, true, 0, O_RING},
    {"file.opt_regfile_cached_qd32", "ring_only", K_RATE, o_rand_a, o_rand_b, 32, true,
     O_RING | O_REG, O_RING},
    {"file.opt_regfile_direct_qd32", "unregistered", K_RATE, o_rand_a, o_rand_b, 32, false, O_REG,
     0},
    {"file.opt_fixedbuf_direct_qd32", "regfile_only", K_RATE, o_rand_a, o_rand_b, 32, false,
     O_REG | O_FIXED, O_REG},
    {"file.opt_async_seqread", "no_async", K_BYTES, o_seq_a, o_seq_b, 1, false, 0, O_NOASYNC},
    {"file.opt_maxworkers_write", "uncapped", K_RATE, o_write_a, o_write_b, WR_FILES, false, 2, 0},
};

#define NBENCH (sizeof(benches) / sizeof(benches[0]))

int main(int argc, char **argv)
{
	const char *names[NBENCH];
	bool pairs_given = false, warm = false, small = false;

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "-n", 2))
			pairs_given = true;
	bench_parse_args(argc, argv);
	if (opt_quick && !pairs_given)
		opt_pairs = 3;
	file_size = opt_quick ? 128LL * MIB : 1024LL * MIB;
	run_s = opt_quick ? 0.1 : 0.4;
	for (size_t i = 0; i < NBENCH; i++)
		names[i] = benches[i].name;
	make_data_file();
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	for (size_t i = 0; i < NBENCH; i++) {
		const struct bench *b = &benches[i];
		if (!bench_selected(b->name, names, NBENCH))
			continue;
		if (!strncmp(b->name, "file.opt_", 9) && !(opt_filter && strstr(opt_filter, "opt")))
			continue;
		if ((b->a & O_EPOLL) && !epoll_backend_ok(b->name)) {
			failures++;
			continue;
		}
		if (b->cached && !warm)
			cache_warm();
		warm = b->cached || (warm && b->weft != w_seqread); /* cold reads evict it */
		if (b->weft == w_small && !small)
			make_small_files();
		small = small || b->weft == w_small;
		run_bench(b);
	}
	cleanup();
	return failures ? 1 : 0;
}

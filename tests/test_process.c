/* SPDX-License-Identifier: MIT */
/*
 * The process pool and child processes (weft/process.h): results both ways (empty, 1 MiB),
 * many fibers sharing few workers, FIFO queueing, unknown names, function errors, crashing and
 * exiting workers, an idle worker killed from outside, cancellation and deadlines of queued and
 * running jobs, shutdown (WAIT / CANCEL_PENDING / KILL), what a worker inherits (descriptors,
 * stack, no loop), and that free leaves no child and no descriptor behind.
 */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weft.h>
#include <weft/process.h>

#include "engine/backend.h" /* white box: the loop's kernel fd */
#include "engine/loop.h"
#include "check_main.h"

/* ---- registered functions (they run in the workers) ---------------------------------------- */

static int64_t get_i64(const void *in, size_t inlen)
{
	int64_t x = 0;

	if (inlen == sizeof(x))
		memcpy(&x, in, sizeof(x));
	return x;
}

static int put_i64(int64_t x, void **out, size_t *outlen)
{
	*out = malloc(sizeof(x));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, &x, sizeof(x));
	*outlen = sizeof(x);
	return 0;
}

static int fn_square(const void *in, size_t inlen, void **out, size_t *outlen)
{
	int64_t x = get_i64(in, inlen);

	return put_i64(x * x, out, outlen);
}

/* Every byte xor 0x5a: proves the bytes went through the function, not just the socket. */
static int fn_xor(const void *in, size_t inlen, void **out, size_t *outlen)
{
	unsigned char *o;

	if (!inlen)
		return 7;
	o = malloc(inlen);
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < inlen; i++)
		o[i] = ((const unsigned char *)in)[i] ^ 0x5a;
	*out = o;
	*outlen = inlen;
	return 7;
}

static int fn_fail(const void *in, size_t inlen, void **out, size_t *outlen)
{
	*out = malloc(16); /* an error reply carries no bytes: the worker frees this */
	*outlen = 16;
	return -EIO;
}

static int fn_abort(const void *in, size_t inlen, void **out, size_t *outlen)
{
	abort();
}

static int fn_segv(const void *in, size_t inlen, void **out, size_t *outlen)
{
	signal(SIGSEGV, SIG_DFL); /* past any sanitizer's handler */
	raise(SIGSEGV);
	return 0;
}

static int fn_exit(const void *in, size_t inlen, void **out, size_t *outlen)
{
	_exit(3);
}

static int fn_pid(const void *in, size_t inlen, void **out, size_t *outlen)
{
	return put_i64(getpid(), out, outlen);
}

/* Sleep for the int64 milliseconds in the request, then return them. */
static int fn_sleep(const void *in, size_t inlen, void **out, size_t *outlen)
{
	int64_t ms = get_i64(in, inlen);

	usleep((useconds_t)ms * 1000);
	return (int)ms;
}

/* Open descriptors, not counting valgrind's own (which sit above the limit it reports). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct rlimit rl;
	struct dirent *e;
	int n = 0;

	if (!d || getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.' && (rlim_t)atoi(e->d_name) < rl.rlim_cur;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static int fn_nfds(const void *in, size_t inlen, void **out, size_t *outlen)
{
	return count_fds();
}

/* Uses 1 MiB of stack: a worker forked from a 64 KiB fiber stack must still manage. */
static int fn_deep(const void *in, size_t inlen, void **out, size_t *outlen)
{
	volatile char big[1 << 20];

	memset((char *)big, 1, sizeof(big));
	return big[sizeof(big) - 1] + big[0];
}

static int loop_main(void *arg)
{
	return weft_sleep(WEFT_MSEC) ? -1 : 42;
}

/* asyncio.run() inside a worker. */
static int fn_weft_run(const void *in, size_t inlen, void **out, size_t *outlen)
{
	return weft_run(loop_main, NULL, NULL);
}

static int init_value;

static void init_hook(void *arg)
{
	init_value = (int)(intptr_t)arg;
}

static int fn_init_value(const void *in, size_t inlen, void **out, size_t *outlen)
{
	return init_value;
}

/* Write the request to the inherited fd given by the init hook's value. */
static int fn_write_kept(const void *in, size_t inlen, void **out, size_t *outlen)
{
	return write(init_value, in, inlen) == (ssize_t)inlen ? 0 : -errno;
}

static const struct weft_proc_func funcs[] = {
    {"square", fn_square},
    {"xor", fn_xor},
    {"fail", fn_fail},
    {"abort", fn_abort},
    {"segv", fn_segv},
    {"exit", fn_exit},
    {"pid", fn_pid},
    {"sleep", fn_sleep},
    {"nfds", fn_nfds},
    {"deep", fn_deep},
    {"weft_run", fn_weft_run},
    {"init_value", fn_init_value},
    {"write_kept", fn_write_kept},
};
#define NFUNCS (sizeof(funcs) / sizeof(funcs[0]))

/* ---- helpers --------------------------------------------------------------------------------- */

static weft_procpool *pool_of(unsigned n)
{
	struct weft_procpool_opts o = {.nworkers = n};
	weft_procpool *p;

	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, &o), 0);
	return p;
}

static int run_i64(weft_procpool *p, const char *fn, int64_t in, int64_t *res)
{
	void *out;
	size_t outlen;
	int r = weft_procpool_run(p, fn, &in, sizeof(in), &out, &outlen);

	if (r >= 0 && res && outlen) {
		ck_assert_uint_eq(outlen, sizeof(*res));
		memcpy(res, out, sizeof(*res));
	}
	free(out);
	return r;
}

/* No child of ours left, not even a zombie. */
static void assert_no_children(void)
{
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/* @pid is gone and reaped: it is not our child any more. */
static void assert_reaped(pid_t pid)
{
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

static void wait_parked(weft_task *t)
{
	for (int i = 0; i < 100 && weft_task_state(t) != WEFT_TASK_PARKED; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
}

/* A fiber running one job. */
struct job {
	weft_procpool *pool;
	const char *fn;
	int64_t in;
	int64_t deadline; /* 0: none */
	int ret;
	int64_t res;
	int64_t ended; /* weft_now() at return */
	int *order, *norder, id;
};

static int job_main(void *arg)
{
	struct job *j = arg;
	weft_scope s;

	if (j->deadline)
		ck_assert_int_eq(weft_scope_enter(&s, j->deadline, 0), 0);
	j->ret = run_i64(j->pool, j->fn, j->in, &j->res);
	j->ended = weft_now();
	if (j->order)
		j->order[(*j->norder)++] = j->id;
	if (j->deadline)
		weft_scope_exit(&s);
	return 0;
}

static weft_task *spawn_job(struct job *j)
{
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, job_main, j, NULL), 0);
	return t;
}

static void join_ok(weft_task *t)
{
	int st;

	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 0);
}

static void run_test(int (*fn)(void *), void *arg)
{
	ck_assert_int_eq(weft_run(fn, arg, NULL), 0);
}

/* ---- misuse ------------------------------------------------------------------------------------ */

START_TEST(bad_args)
{
	static const struct weft_proc_func dup[] = {{"a", fn_pid}, {"a", fn_square}};
	static const struct weft_proc_func noname[] = {{NULL, fn_pid}};
	struct weft_procpool_opts o = {.nworkers = WEFT_PROCPOOL_MAX_WORKERS + 1};
	int bad_fd = -1;
	weft_procpool *p;
	void *out = (void *)1;
	size_t outlen = 1;

	ck_assert_int_eq(weft_procpool_new(NULL, funcs, NFUNCS, NULL), -EINVAL);
	ck_assert_int_eq(weft_procpool_new(&p, NULL, 1, NULL), -EINVAL);
	ck_assert_int_eq(weft_procpool_new(&p, funcs, 0, NULL), -EINVAL);
	ck_assert_int_eq(weft_procpool_new(&p, dup, 2, NULL), -EINVAL);
	ck_assert_int_eq(weft_procpool_new(&p, noname, 1, NULL), -EINVAL);
	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, &o), -EINVAL);
	o = (struct weft_procpool_opts){.keep_fds = &bad_fd, .nkeep_fds = 1};
	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, &o), -EINVAL);
	/* Stacks the worker could not map (or run on) are refused before any fork. */
	o = (struct weft_procpool_opts){.nworkers = 1, .stack_size = SIZE_MAX};
	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, &o), -EINVAL);
	o.stack_size = 100;
	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, &o), -EINVAL);
	o = (struct weft_procpool_opts){.keep_fds = &bad_fd, .nkeep_fds = UINT_MAX};
	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, &o), -EINVAL);
	assert_no_children();

	p = pool_of(1);
	ck_assert_uint_eq(weft_procpool_size(p), 1);
	ck_assert_int_gt(weft_procpool_pid(p, 0), 0);
	ck_assert_int_eq(weft_procpool_pid(p, 1), 0);
	ck_assert_int_eq(weft_procpool_run(p, "pid", NULL, 0, &out, &outlen), -EPERM);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(outlen, 0);
	ck_assert_int_eq(weft_procpool_run(NULL, "pid", NULL, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_procpool_run(p, NULL, NULL, 0, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_procpool_run(p, "pid", NULL, 3, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_procpool_shutdown(NULL, 0), -EINVAL);
	ck_assert_int_eq(weft_procpool_shutdown(p, 1u << 7), -EINVAL);
	ck_assert_int_eq(weft_procpool_shutdown(p, WEFT_PROCPOOL_WAIT),
			 0); /* idle: no fiber needed */
	weft_procpool_free(p);
	weft_procpool_free(NULL);
	assert_no_children();
}
END_TEST

START_TEST(default_size_is_cpus)
{
	weft_procpool *p;

	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, NULL), 0);
	ck_assert_uint_eq(weft_procpool_size(p), (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
	for (unsigned i = 0; i < weft_procpool_size(p); i++)
		ck_assert_int_gt(weft_procpool_pid(p, i), 0);
	weft_procpool_free(p);
	assert_no_children();
}
END_TEST

/* ---- results --------------------------------------------------------------------------------- */

static int roundtrip_main(void *arg)
{
	weft_procpool *p = arg;
	void *out = (void *)1;
	size_t outlen = 1;
	int64_t res;

	ck_assert_int_eq(run_i64(p, "square", 12, &res), 0);
	ck_assert_int_eq(res, 144);
	ck_assert_int_eq(run_i64(p, "square", -3, &res), 0);
	ck_assert_int_eq(res, 9);
	/* empty request, empty reply: the function's value still comes back */
	ck_assert_int_eq(weft_procpool_run(p, "xor", NULL, 0, &out, &outlen), 7);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(outlen, 0);
	/* a reply may be dropped */
	ck_assert_int_eq(run_i64(p, "square", 5, NULL), 0);
	ck_assert_int_eq(weft_procpool_run(p, "square", NULL, 0, NULL, NULL), 0);
	/* errors */
	ck_assert_int_eq(weft_procpool_run(p, "nope", NULL, 0, &out, &outlen), -ENOENT);
	ck_assert_int_eq(weft_procpool_run(p, "fail", NULL, 0, &out, &outlen), -EIO);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(outlen, 0);
	ck_assert_int_eq(run_i64(p, "square", 4, &res), 0);
	ck_assert_int_eq(res, 16);
	return 0;
}

START_TEST(roundtrip)
{
	weft_procpool *p = pool_of(1);
	pid_t pid = weft_procpool_pid(p, 0);

	run_test(roundtrip_main, p);
	ck_assert_int_eq(weft_procpool_pid(p, 0),
			 pid); /* errors of functions don't cost the worker */
	weft_procpool_free(p);
	assert_no_children();
}
END_TEST

#define BIG (1u << 20)

static int big_main(void *arg)
{
	weft_procpool *p = arg;
	unsigned char *in = malloc(BIG), *out;
	size_t outlen;

	ck_assert_ptr_nonnull(in);
	for (size_t i = 0; i < BIG; i++)
		in[i] = (unsigned char)(i * 31 + (i >> 11));
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(weft_procpool_run(p, "xor", in, BIG, (void **)&out, &outlen), 7);
		ck_assert_uint_eq(outlen, BIG);
		for (size_t i = 0; i < BIG; i++)
			if (out[i] != (in[i] ^ 0x5a))
				ck_abort_msg("byte %zu differs", i);
		free(out);
	}
	free(in);
	return 0;
}

START_TEST(large_buffers_both_ways)
{
	weft_procpool *p = pool_of(2);

	run_test(big_main, p);
	weft_procpool_free(p);
}
END_TEST

/* ---- sharing ---------------------------------------------------------------------------------- */

#define NFIB  12
#define NJOBS 5

static int many_fiber(void *arg)
{
	struct job *j = arg;

	for (int k = 0; k < NJOBS; k++) {
		int64_t x = j->in * 100 + k, res;

		ck_assert_int_eq(run_i64(j->pool, "square", x, &res), 0);
		ck_assert_int_eq(res, x * x);
	}
	j->ret = 1;
	return 0;
}

static int many_main(void *arg)
{
	struct job jobs[NFIB];
	weft_task *t[NFIB];

	for (int i = 0; i < NFIB; i++) {
		jobs[i] = (struct job){.pool = arg, .in = i};
		ck_assert_int_eq(weft_task_spawn(&t[i], many_fiber, &jobs[i], NULL), 0);
	}
	for (int i = 0; i < NFIB; i++) {
		join_ok(t[i]);
		ck_assert_int_eq(jobs[i].ret, 1);
	}
	return 0;
}

START_TEST(many_fibers_few_workers)
{
	weft_procpool *p = pool_of(3);

	run_test(many_main, p);
	/* A later loop may use the pool too. */
	run_test(roundtrip_main, p);
	weft_procpool_free(p);
	assert_no_children();
}
END_TEST

static int fifo_main(void *arg)
{
	int order[4], n = 0;
	struct job j[4];
	weft_task *t[4];

	for (int i = 0; i < 4; i++) {
		j[i] = (struct job){.pool = arg, .fn = "sleep", .in = i ? 1 : 50};
		j[i].order = order;
		j[i].norder = &n;
		j[i].id = i;
		t[i] = spawn_job(&j[i]);
		wait_parked(t[i]);
	}
	for (int i = 0; i < 4; i++) {
		join_ok(t[i]);
		ck_assert_int_eq(j[i].ret, j[i].in);
		ck_assert_int_eq(order[i], i);
	}
	return 0;
}

START_TEST(queue_is_fifo)
{
	weft_procpool *p = pool_of(1);

	run_test(fifo_main, p);
	weft_procpool_free(p);
}
END_TEST

/* ---- dying workers ----------------------------------------------------------------------------- */

struct crash {
	weft_procpool *pool;
	const char *fn;
};

static int crash_main(void *arg)
{
	struct crash *c = arg;
	pid_t before = weft_procpool_pid(c->pool, 0);
	int64_t pid;

	ck_assert_int_eq(weft_procpool_run(c->pool, c->fn, NULL, 0, NULL, NULL), -ECHILD);
	ck_assert_int_eq(weft_procpool_pid(c->pool, 0), 0); /* replaced when next needed */
	assert_reaped(before);
	ck_assert_int_eq(run_i64(c->pool, "pid", 0, &pid), 0);
	ck_assert_int_ne(pid, before);
	ck_assert_int_eq(weft_procpool_pid(c->pool, 0), pid);
	return 0;
}

static void crash_case(const char *fn)
{
	struct crash c = {pool_of(1), fn};

	run_test(crash_main, &c);
	run_test(crash_main, &c); /* and again, on the replacement */
	weft_procpool_free(c.pool);
	assert_no_children();
}

START_TEST(worker_abort)
{
	crash_case("abort");
}
END_TEST

START_TEST(worker_segv)
{
	crash_case("segv");
}
END_TEST

START_TEST(worker_exit)
{
	crash_case("exit");
}
END_TEST

/* A worker with no memory for a job's payload fails that job with -ENOMEM and serves the next
 * (it used to exit: the job failed with -ECHILD and the pool forked a replacement). */
#define NOMEM_PAYLOAD (64u << 20)

static void limit_memory(void *arg)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	/* room for small blocks, none for the payload */
	setrlimit(RLIMIT_AS, &(struct rlimit){pages * (unsigned long)getpagesize() + (16u << 20),
					      RLIM_INFINITY});
}

static int nomem_main(void *arg)
{
	weft_procpool *p = arg;
	pid_t before = weft_procpool_pid(p, 0);
	char *big = calloc(1, NOMEM_PAYLOAD);
	int64_t pid;

	ck_assert_ptr_nonnull(big);
	ck_assert_int_eq(weft_procpool_run(p, "xor", big, NOMEM_PAYLOAD, NULL, NULL), -ENOMEM);
	free(big);
	ck_assert_int_eq(run_i64(p, "pid", 0, &pid), 0);
	ck_assert_int_eq(pid, before);
	return 0;
}

START_TEST(worker_out_of_memory)
{
	struct weft_procpool_opts o = {.nworkers = 1, .init = limit_memory};
	weft_procpool *p;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return; /* their allocators abort instead of returning NULL (make check-alloc covers ASan) */
#endif
	if (getenv("WEFT_VALGRIND"))
		return; /* valgrind's address-space limit is its own */
	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, &o), 0);
	run_test(nomem_main, p);
	weft_procpool_free(p);
}
END_TEST

/* An idle worker killed from outside: the next job never reached it, so it runs on a fresh one. */
static int killed_idle_main(void *arg)
{
	weft_procpool *p = arg;
	pid_t before = weft_procpool_pid(p, 0);
	siginfo_t si;
	int64_t pid;

	ck_assert_int_eq(kill(before, SIGKILL), 0);
	/* dead (its socket closed) but not reaped: the pool must find out itself */
	ck_assert_int_eq(waitid(P_PID, before, &si, WEXITED | WNOWAIT), 0);
	ck_assert_int_eq(run_i64(p, "pid", 0, &pid), 0);
	ck_assert_int_ne(pid, before);
	assert_reaped(before);
	return 0;
}

START_TEST(idle_worker_killed_outside)
{
	weft_procpool *p = pool_of(1);

	run_test(killed_idle_main, p);
	weft_procpool_free(p);
	assert_no_children();
}
END_TEST

/* ---- cancellation and deadlines -------------------------------------------------------------- */

/* One worker busy with a 300 ms job; a second job queued behind it is cancelled or times out.
 * The running job is untouched; the queued one returns long before the first ends. */
static int queued_main(void *arg)
{
	bool by_deadline = arg != NULL;
	weft_procpool *p = pool_of(1);
	pid_t pid = weft_procpool_pid(p, 0);
	struct job a = {.pool = p, .fn = "sleep", .in = 300};
	struct job b = {.pool = p, .fn = "pid"};
	weft_task *ta = spawn_job(&a), *tb;

	wait_parked(ta);
	if (by_deadline)
		b.deadline = weft_now() + 30 * WEFT_MSEC;
	tb = spawn_job(&b);
	wait_parked(tb);
	if (!by_deadline) {
		ck_assert_int_eq(weft_sleep(10 * WEFT_MSEC), 0);
		ck_assert_int_eq(weft_task_cancel(tb), 0);
	}
	join_ok(tb);
	ck_assert_int_eq(b.ret, by_deadline ? -ETIMEDOUT : -ECANCELED);
	join_ok(ta);
	ck_assert_int_eq(a.ret, 300);
	ck_assert_int_lt(b.ended, a.ended);
	ck_assert_int_eq(weft_procpool_pid(p, 0), pid);
	weft_procpool_free(p);
	return 0;
}

START_TEST(cancel_queued)
{
	run_test(queued_main, NULL);
	assert_no_children();
}
END_TEST

START_TEST(timeout_queued)
{
	run_test(queued_main, (void *)1);
	assert_no_children();
}
END_TEST

/* A running 10 s job is cancelled or times out: the worker is killed and replaced, the call
 * returns well before the job would have ended. */
static int running_main(void *arg)
{
	bool by_deadline = arg != NULL;
	weft_procpool *p = pool_of(1);
	pid_t pid = weft_procpool_pid(p, 0);
	struct job a = {.pool = p, .fn = "sleep", .in = 10000};
	int64_t start = weft_now(), newpid;
	weft_task *t;

	if (by_deadline)
		a.deadline = start + 50 * WEFT_MSEC;
	t = spawn_job(&a);
	wait_parked(t);
	if (!by_deadline) {
		ck_assert_int_eq(weft_sleep(50 * WEFT_MSEC), 0);
		ck_assert_int_eq(weft_task_cancel(t), 0);
	}
	join_ok(t);
	ck_assert_int_eq(a.ret, by_deadline ? -ETIMEDOUT : -ECANCELED);
	ck_assert_int_lt(a.ended - start, 5 * WEFT_SEC);
	assert_reaped(pid);
	ck_assert_int_eq(run_i64(p, "pid", 0, &newpid), 0);
	ck_assert_int_ne(newpid, pid);
	weft_procpool_free(p);
	return 0;
}

START_TEST(cancel_running)
{
	run_test(running_main, NULL);
	assert_no_children();
}
END_TEST

START_TEST(timeout_running)
{
	run_test(running_main, (void *)1);
	assert_no_children();
}
END_TEST

/* A queued fiber is handed the worker, then cancelled before it runs: the call returns
 * -ECANCELED without sending anything, and the worker is not killed for it. */
static void cancel_on_done(weft_task *done, void *arg)
{
	weft_task_cancel(arg);
}

static int handoff_main(void *arg)
{
	weft_procpool *p = pool_of(1);
	pid_t pid = weft_procpool_pid(p, 0);
	struct job a = {.pool = p, .fn = "sleep", .in = 20};
	struct job b = {.pool = p, .fn = "pid"};
	weft_task *ta = spawn_job(&a), *tb;

	wait_parked(ta);
	tb = spawn_job(&b);
	wait_parked(tb);
	/* runs when a returns: after a handed b the slot, before b runs */
	ck_assert_int_eq(weft_task_on_done(ta, cancel_on_done, tb), 0);
	join_ok(ta);
	join_ok(tb);
	ck_assert_int_eq(a.ret, 20);
	ck_assert_int_eq(b.ret, -ECANCELED);
	ck_assert_int_eq(weft_procpool_pid(p, 0), pid);
	ck_assert_int_eq(run_i64(p, "square", 3, NULL), 0);
	ck_assert_int_eq(weft_procpool_pid(p, 0), pid);
	weft_procpool_free(p);
	return 0;
}

START_TEST(cancel_after_handoff_keeps_worker)
{
	run_test(handoff_main, NULL);
	assert_no_children();
}
END_TEST

/* A fiber cancelled before the call never sends anything. */
static int precancelled_main(void *arg)
{
	weft_procpool *p = arg;

	ck_assert_int_eq(weft_task_cancel(weft_task_current()), 0);
	ck_assert_int_eq(run_i64(p, "square", 2, NULL), -ECANCELED);
	return 0;
}

START_TEST(cancelled_caller_sends_nothing)
{
	weft_procpool *p = pool_of(1);
	pid_t pid = weft_procpool_pid(p, 0);

	ck_assert_int_eq(weft_run(precancelled_main, p, NULL), 0);
	ck_assert_int_eq(weft_procpool_pid(p, 0), pid);
	weft_procpool_free(p);
}
END_TEST

/* ---- shutdown --------------------------------------------------------------------------------- */

/* Two workers busy with 100 ms jobs, two more jobs queued; then shutdown with @flags. */
static int shutdown_main(void *arg)
{
	unsigned flags = (unsigned)(uintptr_t)arg;
	weft_procpool *p = pool_of(2);
	struct job j[4];
	weft_task *t[4];
	int64_t start = weft_now();

	for (int i = 0; i < 4; i++) {
		j[i] = (struct job){
		    .pool = p, .fn = "sleep", .in = flags & WEFT_PROCPOOL_KILL ? 10000 : 100};
		t[i] = spawn_job(&j[i]);
		wait_parked(t[i]);
	}
	ck_assert_int_eq(weft_procpool_shutdown(p, flags), 0);
	ck_assert_int_eq(weft_procpool_run(p, "pid", NULL, 0, NULL, NULL), -EPIPE);
	for (int i = 0; i < 4; i++) {
		ck_assert(weft_task_done(t[i]));
		join_ok(t[i]);
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(j[i].ret, flags & WEFT_PROCPOOL_KILL ? -ECANCELED : 100);
	for (int i = 2; i < 4; i++)
		ck_assert_int_eq(j[i].ret, flags ? -ECANCELED : 100);
	ck_assert_int_lt(weft_now() - start, 5 * WEFT_SEC);
	ck_assert_int_eq(weft_procpool_shutdown(p, WEFT_PROCPOOL_WAIT), 0); /* again: fine */
	weft_procpool_free(p);
	return 0;
}

START_TEST(shutdown_wait)
{
	run_test(shutdown_main, (void *)(uintptr_t)WEFT_PROCPOOL_WAIT);
	assert_no_children();
}
END_TEST

START_TEST(shutdown_cancel_pending)
{
	run_test(shutdown_main, (void *)(uintptr_t)WEFT_PROCPOOL_CANCEL_PENDING);
	assert_no_children();
}
END_TEST

START_TEST(shutdown_kill)
{
	run_test(shutdown_main, (void *)(uintptr_t)WEFT_PROCPOOL_KILL);
	assert_no_children();
}
END_TEST

/* Shutdown from plain code (a loop callback) while a job runs can't wait: -EBUSY. */
struct busy {
	weft_procpool *pool;
	int ret;
};

static void shutdown_cb(void *arg)
{
	struct busy *b = arg;

	b->ret = weft_procpool_shutdown(b->pool, WEFT_PROCPOOL_WAIT);
}

static int busy_main(void *arg)
{
	struct busy b = {.pool = pool_of(1), .ret = 1};
	struct job a = {.pool = b.pool, .fn = "sleep", .in = 50};
	weft_task *t = spawn_job(&a);

	wait_parked(t);
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), shutdown_cb, &b), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(b.ret, -EBUSY);
	join_ok(t);
	ck_assert_int_eq(a.ret, 50); /* the running job went on */
	ck_assert_int_eq(weft_procpool_run(b.pool, "pid", NULL, 0, NULL, NULL), -EPIPE);
	weft_procpool_free(b.pool);
	return 0;
}

START_TEST(shutdown_from_plain_code_busy)
{
	run_test(busy_main, NULL);
	assert_no_children();
}
END_TEST

/* ---- what a worker inherits ------------------------------------------------------------------- */

static int fds_main(void *arg)
{
	weft_procpool *p = arg, *inner;
	struct weft_procpool_opts o = {.nworkers = 1};
	int r;

	/* 0, 1, 2 and the worker's socket; the parent's other fds (its ring, Check's pipes, the
	 * other workers' sockets) are not there. */
	ck_assert_int_eq(weft_procpool_run(p, "nfds", NULL, 0, NULL, NULL), 4);
	/* A pool created inside a fiber, with a loop and its ring alive: the same. */
	ck_assert_int_eq(weft_procpool_new(&inner, funcs, NFUNCS, &o), 0);
	ck_assert_int_eq(weft_procpool_run(inner, "nfds", NULL, 0, NULL, NULL), 4);
	/* It has a full stack and can run a loop of its own. */
	r = weft_procpool_run(inner, "deep", NULL, 0, NULL, NULL);
	ck_assert_int_eq(r, 2);
	ck_assert_int_eq(weft_procpool_run(inner, "weft_run", NULL, 0, NULL, NULL), 42);
	weft_procpool_free(inner);
	/* Replacement workers are forked from a fiber too. */
	ck_assert_int_eq(weft_procpool_run(p, "abort", NULL, 0, NULL, NULL), -ECHILD);
	ck_assert_int_eq(weft_procpool_run(p, "nfds", NULL, 0, NULL, NULL), 4);
	ck_assert_int_eq(weft_procpool_run(p, "deep", NULL, 0, NULL, NULL), 2);
	ck_assert_int_eq(weft_procpool_run(p, "weft_run", NULL, 0, NULL, NULL), 42);
	return 0;
}

START_TEST(worker_environment)
{
	weft_procpool *p = pool_of(2);

	run_test(fds_main, p);
	weft_procpool_free(p);
	assert_no_children();
}
END_TEST

struct kept {
	weft_procpool *pool;
	int rd;
};

static int kept_main(void *arg)
{
	struct kept *k = arg;
	char buf[16] = {0};

	ck_assert_int_eq(weft_procpool_run(k->pool, "write_kept", "hello", 5, NULL, NULL), 0);
	ck_assert_int_eq(read(k->rd, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "hello");
	ck_assert_int_eq(weft_procpool_run(k->pool, "nfds", NULL, 0, NULL, NULL), 5);
	return 0;
}

START_TEST(keep_fds_and_init)
{
	int pfd[2];
	struct weft_procpool_opts o = {.nworkers = 1, .init = init_hook};
	struct kept k;

	ck_assert_int_eq(pipe(pfd), 0);
	o.keep_fds = &pfd[1];
	o.nkeep_fds = 1;
	o.init_arg = (void *)(intptr_t)pfd[1];
	ck_assert_int_eq(weft_procpool_new(&k.pool, funcs, NFUNCS, &o), 0);
	k.rd = pfd[0];
	run_test(kept_main, &k);
	weft_procpool_free(k.pool);
	close(pfd[0]);
	close(pfd[1]);
}
END_TEST

static int init_main(void *arg)
{
	ck_assert_int_eq(weft_procpool_run(arg, "init_value", NULL, 0, NULL, NULL), 1234);
	return 0;
}

START_TEST(init_hook_runs_in_workers)
{
	struct weft_procpool_opts o = {
	    .nworkers = 2, .init = init_hook, .init_arg = (void *)(intptr_t)1234};
	weft_procpool *p;

	ck_assert_int_eq(weft_procpool_new(&p, funcs, NFUNCS, &o), 0);
	ck_assert_int_eq(init_value, 0); /* not in the parent */
	run_test(init_main, p);
	weft_procpool_free(p);
}
END_TEST

/* ---- no leaks ----------------------------------------------------------------------------------- */

static int churn_main(void *arg)
{
	weft_procpool *p = arg;
	struct job a = {.pool = p, .fn = "sleep", .in = 10000};
	weft_task *t;

	ck_assert_int_eq(weft_procpool_run(p, "segv", NULL, 0, NULL, NULL), -ECHILD);
	ck_assert_int_eq(weft_procpool_run(p, "exit", NULL, 0, NULL, NULL), -ECHILD);
	t = spawn_job(&a);
	wait_parked(t);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	join_ok(t);
	ck_assert_int_eq(a.ret, -ECANCELED);
	ck_assert_int_eq(run_i64(p, "square", 3, NULL), 0);
	return 0;
}

START_TEST(no_zombies_no_fd_leaks)
{
	int before = count_fds();

	for (int round = 0; round < 3; round++) {
		weft_procpool *p = pool_of(2);

		run_test(churn_main, p);
		weft_procpool_free(p);
		assert_no_children();
		ck_assert_int_eq(count_fds(), before);
	}
}
END_TEST

static int ring_fd(void)
{
	return weft__backend_fd(weft_loop_current()); /* the ring's, or the epoll instance's */
}

/* ---- child processes ------------------------------------------------------------------------ */

static int child_returns(void *arg)
{
	return (int)(intptr_t)arg;
}

static int child_runs_loop(void *arg)
{
	return weft_run(loop_main, NULL, NULL);
}

/* 0 if descriptor @arg is closed in the child. */
static int child_fd_closed(void *arg)
{
	return fcntl((int)(intptr_t)arg, F_GETFD) == -1 && errno == EBADF ? 0 : 1;
}

static int child_sleeps(void *arg)
{
	sleep(30);
	return 0;
}

static int spawn_main(void *arg)
{
	int64_t start;
	pid_t pid;
	int st;

	ck_assert_int_eq(weft_process_spawn(&pid, child_returns, (void *)7), 0);
	ck_assert_int_eq(weft_process_wait(pid, &st), 0);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 7);
	ck_assert_int_eq(weft_process_wait(pid, &st), -ECHILD);
	/* asyncio.run in the child, forked from this fiber */
	ck_assert_int_eq(weft_process_spawn(&pid, child_runs_loop, NULL), 0);
	ck_assert_int_eq(weft_process_wait(pid, &st), 0);
	ck_assert_int_eq(WEXITSTATUS(st), 42);
	/* the parent loop's ring is closed in the child; other descriptors are inherited */
	ck_assert_int_eq(weft_process_spawn(&pid, child_fd_closed, (void *)(intptr_t)ring_fd()), 0);
	ck_assert_int_eq(weft_process_wait(pid, &st), 0);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_int_eq(weft_process_spawn(&pid, child_fd_closed, (void *)(intptr_t)2), 0);
	ck_assert_int_eq(weft_process_wait(pid, &st), 0);
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	/* a deadline leaves the child running */
	ck_assert_int_eq(weft_process_spawn(&pid, child_sleeps, NULL), 0);
	start = weft_now();
	{
		weft_scope s;

		ck_assert_int_eq(weft_scope_enter(&s, start + 30 * WEFT_MSEC, 0), 0);
		ck_assert_int_eq(weft_process_wait(pid, &st), -ETIMEDOUT);
		weft_scope_exit(&s);
	}
	ck_assert_int_eq(kill(pid, SIGKILL), 0); /* not SIGTERM: Check's handler is inherited */
	ck_assert_int_eq(weft_process_wait(pid, &st), 0);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGKILL);
	ck_assert_int_lt(weft_now() - start, 10 * WEFT_SEC);
	return 0;
}

START_TEST(spawn_and_wait)
{
	pid_t pid;
	int st;

	ck_assert_int_eq(weft_process_spawn(NULL, child_returns, NULL), -EINVAL);
	ck_assert_int_eq(weft_process_spawn(&pid, child_returns, (void *)3), 0);
	ck_assert_int_eq(weft_process_wait(pid, &st), -EPERM);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 3);
	run_test(spawn_main, NULL);
	assert_no_children();
}
END_TEST

static Suite *process_suite(void)
{
	Suite *s = suite_create("process");
	TCase *pool = tcase_create("pool"), *proc = tcase_create("process");

	tcase_add_test(pool, bad_args);
	tcase_add_test(pool, default_size_is_cpus);
	tcase_add_test(pool, roundtrip);
	tcase_add_test(pool, large_buffers_both_ways);
	tcase_add_test(pool, many_fibers_few_workers);
	tcase_add_test(pool, queue_is_fifo);
	tcase_add_test(pool, worker_abort);
	tcase_add_test(pool, worker_segv);
	tcase_add_test(pool, worker_exit);
	tcase_add_test(pool, worker_out_of_memory);
	tcase_add_test(pool, idle_worker_killed_outside);
	tcase_add_test(pool, cancel_queued);
	tcase_add_test(pool, timeout_queued);
	tcase_add_test(pool, cancel_running);
	tcase_add_test(pool, timeout_running);
	tcase_add_test(pool, cancelled_caller_sends_nothing);
	tcase_add_test(pool, cancel_after_handoff_keeps_worker);
	tcase_add_test(pool, shutdown_wait);
	tcase_add_test(pool, shutdown_cancel_pending);
	tcase_add_test(pool, shutdown_kill);
	tcase_add_test(pool, shutdown_from_plain_code_busy);
	tcase_add_test(pool, worker_environment);
	tcase_add_test(pool, keep_fds_and_init);
	tcase_add_test(pool, init_hook_runs_in_workers);
	tcase_add_test(pool, no_zombies_no_fd_leaks);
	tcase_add_test(proc, spawn_and_wait);
	tcase_set_timeout(pool, 60);
	tcase_set_timeout(proc, 60);
	suite_add_tcase(s, pool);
	suite_add_tcase(s, proc);
	return s;
}

WEFT_CHECK_MAIN(process_suite)

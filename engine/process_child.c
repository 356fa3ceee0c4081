/* SPDX-License-Identifier: MIT */
/*
 * The child half of weft/process.h: leaving the parent's world behind right after fork(), and the
 * worker's job loop. Everything here runs in a child that must never touch the parent's loops or
 * rings; it only uses plain blocking calls.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <valgrind/valgrind.h>

#include "backend.h"
#include "ctx.h"
#include "loop.h"
#include "process.h"
#include "sched.h"

/* ---- leaving the parent ------------------------------------------------------------------ */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Where close_range() is missing (valgrind 3.19 does not know it): close what /proc lists. */
static void close_listed(const int *k, unsigned nkeep)
{
	DIR *d = opendir("/proc/self/fd");
	int self = d ? dirfd(d) : -1;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (fd >= 3 && fd != self && !bsearch(&fd, k, nkeep, sizeof(*k), cmp_int))
			close(fd);
	}
	if (d)
		closedir(d);
}

/* Close every descriptor >= 3 not in @keep. Inherited ring fds, other workers' sockets and
 * signalfds go: a worker holding another worker's socket would hide that worker's death (no end
 * of file), and one holding a ring would keep the parent's ring alive after it closes it. */
static void close_all_but(const int *keep, unsigned nkeep)
{
	int *k = malloc(sizeof(*k) * (nkeep + 1));
	unsigned from = 3, i;

	if (!k)
		_exit(127);
	for (i = 0; i < nkeep; i++)
		k[i] = keep[i];
	qsort(k, nkeep, sizeof(*k), cmp_int);
	for (i = 0; i < nkeep; i++) {
		if (k[i] < (int)from)
			continue;
		if ((unsigned)k[i] > from && close_range(from, k[i] - 1, 0))
			break;
		from = k[i] + 1;
	}
	if (i < nkeep || close_range(from, ~0u, 0))
		close_listed(k, nkeep);
	free(k);
}

struct child_entry {
	int (*fn)(void *arg);
	void *arg;
	struct weft__ctx *prev; /* ASan: the context we switched from */
};

static __attribute__((noreturn)) void child_finish(int status)
{
	fflush(NULL);
	_exit(status & 0xff);
}

static __attribute__((noreturn)) void child_on_new_stack(void *arg)
{
	struct child_entry *e = arg;

	weft__ctx_entered(&e->prev);
	child_finish(e->fn(e->arg));
}

/* A child forked from a fiber runs on that fiber's small stack: give it a real one. The old stack
 * stays mapped (it is the parent's memory image) and is simply never resumed. */
static __attribute__((noreturn)) void run_on_new_stack(struct child_entry *e, size_t size)
{
	struct weft__ctx from = {0}, to;
	void *lo = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);

	if (lo == MAP_FAILED)
		child_finish(e->fn(e->arg)); /* better a small stack than no child */
	VALGRIND_STACK_REGISTER(lo, (char *)lo + size);
	weft__ctx_adopt_thread(&from);
	weft__ctx_make(&to, lo, size, child_on_new_stack, e, weft__ctx_fpstate());
	/* Not "dying": ASan would drop this context's fake stack, where @e may live. */
	weft__ctx_jump(&from, &to, 0, &e->prev);
	__builtin_unreachable();
}

void weft__child_start(int (*entry)(void *arg), void *arg, size_t stack_size, bool close_fds,
		       const int *keep, unsigned nkeep)
{
	struct child_entry e = {entry, arg, NULL};
	struct weft_loop *loop = weft__loop();
	sigset_t none;

	/* The parent's loop (if we were forked from its thread) is not ours: a weft_run() in the
	 * child must start a loop of its own. Its ring goes too, where the fds are not all closed
	 * anyway: held by the child, it would outlive the parent's weft_loop_close(). */
	weft__loop_set(NULL);
	if (loop && !close_fds)
		close(weft__backend_fd(loop));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (close_fds)
		close_all_but(keep, nkeep);
	if (stack_size)
		run_on_new_stack(&e, stack_size);
	child_finish(entry(arg));
}

/* ---- the worker's job loop --------------------------------------------------------------- */

/* 0 on success, 1 at end of file before any byte, -1 on errors or a short stream. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n > 0)
			got += n;
		else if (n == 0)
			return got ? -1 : 1;
		else if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* MSG_NOSIGNAL: a parent gone away is an error to exit on, not a SIGPIPE. */
static int write_full(int fd, const void *buf, size_t len)
{
	size_t put = 0;

	while (put < len) {
		ssize_t n = send(fd, (const char *)buf + put, len - put, MSG_NOSIGNAL);

		if (n >= 0)
			put += n;
		else if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Read and drop a payload of @len bytes there is no memory for: 0 or -1 (stream broken). */
static int discard(int fd, size_t len)
{
	char buf[4096];

	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (read_full(fd, buf, n))
			return -1;
		len -= n;
	}
	return 0;
}

/* One job: read its payload, call the function, send the reply. 0 or -1 (stream broken). */
static int serve_one(int fd, const struct weft__proc_conf *conf, const struct weft__proc_hdr *req)
{
	struct weft__proc_hdr rep = {.magic = WEFT__PROC_MAGIC};
	void *in = NULL, *out = NULL;
	size_t outlen = 0;
	int r;

	if (req->magic != WEFT__PROC_MAGIC || req->val < 0 || (size_t)req->val >= conf->nfuncs)
		return -1; /* the parent validates both: this stream is not ours */
	if (req->len && !(in = malloc(req->len))) {
		if (discard(fd, req->len))
			return -1;
		r = -ENOMEM; /* the job fails; the worker (and its stream) lives on */
	} else if (req->len && read_full(fd, in, req->len)) {
		free(in);
		return -1;
	} else {
		r = conf->funcs[req->val].fn(in, req->len, &out, &outlen);
		free(in);
	}
	fflush(NULL); /* a worker may be killed later: what it printed must be out */
	rep.val = r;
	rep.len = r >= 0 && out ? outlen : 0;
	r = write_full(fd, &rep, sizeof(rep));
	if (!r && rep.len)
		r = write_full(fd, out, rep.len);
	free(out);
	return r;
}

int weft__proc_worker_main(int fd, const struct weft__proc_conf *conf)
{
	struct weft__proc_hdr req;
	int r;

	if (conf->init) {
		conf->init(conf->init_arg);
		fflush(NULL);
	}
	while ((r = read_full(fd, &req, sizeof(req))) == 0 && serve_one(fd, conf, &req) == 0)
		;
	return r == 1 ? 0 : 1;
}

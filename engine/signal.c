/* SPDX-License-Identifier: MIT */
/*
 * Signals through a signalfd (weft/signal.h).
 *
 * The fd is non-blocking and read with IORING_OP_READ. Where the kernel's signalfd supports
 * non-blocking reads from io_uring, the read runs in the loop thread and, when nothing is
 * pending, io_uring arms a poll and retries it there - so it sees signals sent to the loop thread
 * as well as to the process. A kernel that hands -EAGAIN back instead gets an explicit poll
 * through the ring and another read. (A blocking signalfd would be worse: io_uring would punt the
 * read to an io-wq thread, which sees only the process's signals, not the loop thread's.)
 *
 * Masks are per thread, and two weft_signals may share a signal, so each thread counts how many
 * open weft_signals watch each signal; close unblocks a signal when its count drops to zero and
 * it was not blocked before the first open.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "weft/signal.h"
#include "alloc.h"
#include "op.h"

struct weft_signal {
	int fd;
	sigset_t set;	  /* what it watches */
	pthread_t thread; /* whose mask it changed */
};

/* Per thread: how many open weft_signals watch each signal, and which signals were blocked
 * before weft blocked them (those stay blocked). */
static __thread struct {
	unsigned short count[_NSIG];
	sigset_t before;
} watched;

static bool bad_set(const sigset_t *set)
{
	bool any = false;

	if (sigismember(set, SIGKILL) == 1 || sigismember(set, SIGSTOP) == 1)
		return true;
	for (int s = 1; s < _NSIG && !any; s++)
		any = sigismember(set, s) == 1;
	return !any;
}

static void watch_add(const sigset_t *set)
{
	sigset_t old;

	pthread_sigmask(SIG_BLOCK, set, &old);
	for (int s = 1; s < _NSIG; s++) {
		if (sigismember(set, s) != 1)
			continue;
		if (!watched.count[s]++) {
			if (sigismember(&old, s) == 1)
				sigaddset(&watched.before, s);
			else
				sigdelset(&watched.before, s);
		}
	}
}

static void watch_drop(const sigset_t *set)
{
	sigset_t unblock;

	sigemptyset(&unblock);
	for (int s = 1; s < _NSIG; s++) {
		if (sigismember(set, s) != 1 || !watched.count[s])
			continue;
		if (!--watched.count[s] && sigismember(&watched.before, s) != 1)
			sigaddset(&unblock, s);
	}
	pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
}

int weft_signal_open(weft_signal **sigp, const sigset_t *set)
{
	struct weft_signal *sig;

	if (!sigp || !set || bad_set(set))
		return -EINVAL;
	sig = weft__new(struct weft_signal);
	if (!sig)
		return -ENOMEM;
	/* Block first: a signal arriving between the two calls then stays pending for the fd
	 * instead of running its default action. */
	watch_add(set);
	sig->fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig->fd < 0) {
		int err = -errno;

		watch_drop(set);
		weft__delete(sig);
		return err;
	}
	sig->set = *set;
	sig->thread = pthread_self();
	*sigp = sig;
	return 0;
}

void weft_signal_close(weft_signal *sig)
{
	if (!sig)
		return;
	weft__fd_close(sig->fd);
	if (pthread_equal(sig->thread, pthread_self()))
		watch_drop(&sig->set);
	weft__delete(sig);
}

int weft_signal_fd(const weft_signal *sig)
{
	return sig ? sig->fd : -EINVAL;
}

static int read_through_ring(int fd, struct signalfd_siginfo *si)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);
	int r;

	if (!sqe)
		return op.res;
	io_uring_prep_read(sqe, fd, si, sizeof(*si), 0);
	r = weft__op_wait(&op, sqe);
	return r;
}

/* A signalfd read returns whole records: anything else is a kernel surprise. */
static int got(int r, const struct signalfd_siginfo *si, struct signalfd_siginfo *info)
{
	if (r != (int)sizeof(*si))
		return r < 0 ? r : -EIO;
	if (info)
		*info = *si;
	return (int)si->ssi_signo;
}

int weft_signal_wait(weft_signal *sig, struct signalfd_siginfo *info)
{
	struct signalfd_siginfo si;
	int r;

	if (!sig)
		return -EINVAL;
	/* -EAGAIN: another reader took the signal after the poll fired, or this kernel does not
	 * poll-retry signalfd reads itself. Either way: poll, then read again. */
	while ((r = read_through_ring(sig->fd, &si)) == -EAGAIN) {
		r = weft__op_poll(sig->fd, POLLIN);
		if (r < 0)
			return r;
	}
	return got(r, &si, info);
}

int weft_signal_try_wait(weft_signal *sig, struct signalfd_siginfo *info)
{
	struct signalfd_siginfo si;
	ssize_t r;

	if (!sig)
		return -EINVAL;
	r = read(sig->fd, &si, sizeof(si));
	return got(r < 0 ? -errno : (int)r, &si, info);
}

/* ---- callback style ----------------------------------------------------------------------- */

struct watch {
	weft_signal *sig;
	weft_signal_fn fn;
	void *arg;
};

static int watch_task(void *arg)
{
	struct watch *w = arg;
	struct signalfd_siginfo si;
	int r;

	while ((r = weft_signal_wait(w->sig, &si)) > 0)
		if ((r = w->fn(w->sig, &si, w->arg)) != 0)
			break;
	return r;
}

/* Freed when the task ends, also if it is cancelled before it first runs. */
static void watch_done(weft_task *t, void *arg)
{
	weft__delete((struct watch *)arg);
}

int weft_signal_watch(weft_signal *sig, weft_signal_fn fn, void *arg, weft_task **taskp)
{
	struct watch *w;
	weft_task *t;
	int err;

	if (!sig || !fn)
		return -EINVAL;
	if (!weft__loop())
		return -EPERM;
	w = weft__new(struct watch);
	if (!w)
		return -ENOMEM;
	*w = (struct watch){sig, fn, arg};
	err = weft_task_spawn(&t, watch_task, w, NULL);
	if (err) {
		weft__delete(w);
		return err;
	}
	err = weft_task_on_done(t, watch_done, w);
	if (err) {
		/* Cancelled before it runs, it never does; @w (a few bytes) is lost with this
		 * -ENOMEM rather than risk freeing it under a task that might still run. */
		weft_task_cancel(t);
		weft_task_detach(t);
		return err;
	}
	if (taskp)
		*taskp = t;
	else
		weft_task_detach(t);
	return 0;
}

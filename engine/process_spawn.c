/* SPDX-License-Identifier: MIT */
/*
 * Child processes (multiprocessing.Process): fork a child running a function, and wait for it
 * from a fiber by polling a pidfd through the ring (a pidfd turns readable when the process
 * exits; IORING_OP_WAITID would need kernel 6.7 and a newer liburing).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft/time.h"
#include "loop.h"
#include "op.h"
#include "process.h"

#define CHILD_STACK (8u << 20)

int weft_process_spawn(pid_t *pidp, int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	if (!pidp || !fn)
		return -EINVAL;
	fflush(NULL); /* or the child would print the parent's buffered output again */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		weft__child_start(fn, arg, weft__current() ? CHILD_STACK : 0, false, NULL, 0);
	*pidp = pid;
	return 0;
}

/* Reap @pid if it has exited: 0 (reaped), 1 (still running) or -errno. */
static int try_reap(pid_t pid, int *status)
{
	int st, r;

	while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -errno;
	if (r == 0)
		return 1;
	if (status)
		*status = st;
	return 0;
}

/* No pidfd_open (kernels before 5.3, valgrind 3.19): look again after growing sleeps. */
static int wait_polling(pid_t pid, int *status)
{
	int64_t nap = 100 * WEFT_USEC;
	int r;

	while ((r = try_reap(pid, status)) == 1) {
		r = weft_sleep(nap);
		if (r)
			return r;
		if (nap < 20 * WEFT_MSEC)
			nap *= 2;
	}
	return r;
}

int weft_process_wait(pid_t pid, int *status)
{
	int fd, r;

	if (pid <= 0)
		return -ECHILD;
	if (!weft__current())
		return -EPERM;
	r = try_reap(pid, status);
	if (r <= 0)
		return r;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno == ENOSYS)
		return wait_polling(pid, status);
	if (fd < 0)
		return errno == ESRCH ? -ECHILD : -errno;
	/* Readable means exited; loop anyway in case someone else reaped it meanwhile. */
	while ((r = weft__op_poll(fd, POLLIN)) >= 0 && (r = try_reap(pid, status)) == 1)
		;
	weft__fd_close(fd);
	return r;
}

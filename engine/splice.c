/* SPDX-License-Identifier: MIT */
/* weft__splice (splice.h): @fd_in -> a pipe of the call's own -> @fd_out. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "loop.h"
#include "op.h"
#include "splice.h"

/* The default pipe (16 pages) holds this much; bigger ones are asked for with F_SETPIPE_SZ. */
#define PIPE_DEFAULT (64 * 1024)
/* The largest pipe asked for: Linux's default pipe-max-size, so no privilege is needed. */
#define PIPE_MAX (1024 * 1024)

struct splice_pipe {
	int r, w;
	unsigned cap;
};

/* A pipe that holds min(@len, PIPE_MAX) bytes if the kernel allows, else what it gives. */
static int pipe_open(struct splice_pipe *p, uint64_t len)
{
	int fds[2], sz;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	p->r = fds[0];
	p->w = fds[1];
	p->cap = PIPE_DEFAULT;
	if (len > PIPE_DEFAULT) {
		/* Refused over the user's pipe-buffer limits: keep the default one. */
		sz = fcntl(p->w, F_SETPIPE_SZ, len < PIPE_MAX ? (int)len : PIPE_MAX);
		if (sz > 0)
			p->cap = (unsigned)sz;
	}
	return 0;
}

static int splice_leg(int fd_in, int64_t off_in, int fd_out, int64_t off_out, unsigned len)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_splice(sqe, fd_in, off_in, fd_out, off_out, len, 0);
	return weft__op_wait(&op, sqe);
}

/* @off advanced by @done, or -1 (the descriptor's own position) left alone. */
static int64_t at(int64_t off, uint64_t done)
{
	return off < 0 ? -1 : off + (int64_t)done;
}

int64_t weft__splice(int fd_in, int64_t off_in, int fd_out, int64_t off_out, uint64_t len)
{
	uint64_t done = 0;
	struct splice_pipe p = {.r = -1, .w = -1};
	int err;

	if (!weft__current())
		return -EPERM;
	if (!len)
		return 0;
	if ((err = pipe_open(&p, len)))
		return err;
	/* Fill the pipe from @fd_in, empty it into @fd_out, repeat: the pipe is empty at every
	 * fill, so @done (what @fd_out took) is also how far @fd_in was read. */
	while (done < len) {
		unsigned want = len - done < p.cap ? (unsigned)(len - done) : p.cap;
		int n = splice_leg(fd_in, at(off_in, done), p.w, -1, want);

		if (n <= 0) {
			err = n; /* 0: @fd_in ended */
			break;
		}
		while (n > 0) {
			int m = splice_leg(p.r, -1, fd_out, at(off_out, done), (unsigned)n);

			if (m <= 0) {
				err = m ? m : -EIO; /* the pipe holds data: 0 cannot happen */
				break;
			}
			n -= m;
			done += (uint64_t)m;
		}
		if (err)
			break;
	}
	weft__fd_close(p.r); /* ops used them: the readiness backend keeps records */
	weft__fd_close(p.w);
	return done ? (int64_t)done : err;
}

/* SPDX-License-Identifier: MIT */
/*
 * The readiness backend's per-descriptor records (epoll.h): keyed by number, registered with
 * epoll once, and retired by a process-wide generation that weft__fd_close / weft__fd_forget
 * bump from any thread (see epoll.c's top comment).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "epoll.h"
#include "loop.h"
#include "op.h"
#include "opdef.h"
#include "sched.h"

/* ---- descriptor generations (process-wide) -------------------------------------------------- */

#define GEN_CHUNK  4096
#define GEN_CHUNKS 1024 /* numbers up to 4 Mi: past that, records are trusted as they are */

static _Atomic(_Atomic uint32_t *) fd_gens[GEN_CHUNKS];

static _Atomic uint32_t *gen_slot(int fd, bool create)
{
	unsigned c = (unsigned)fd / GEN_CHUNK;
	_Atomic uint32_t *chunk, *fresh = NULL;

	if (fd < 0 || c >= GEN_CHUNKS)
		return NULL;
	chunk = atomic_load_explicit(&fd_gens[c], memory_order_acquire);
	if (!chunk && create && (fresh = weft__new_array(_Atomic uint32_t, GEN_CHUNK))) {
		/* Chunks are never freed: a racing reader may hold one. */
		if (atomic_compare_exchange_strong(&fd_gens[c], &chunk, fresh))
			chunk = fresh;
		else
			weft__delete_array(fresh, GEN_CHUNK);
	}
	return chunk ? &chunk[(unsigned)fd % GEN_CHUNK] : NULL;
}

static uint32_t fd_gen(int fd)
{
	_Atomic uint32_t *g = gen_slot(fd, false);

	return g ? atomic_load_explicit(g, memory_order_acquire) : 0;
}

/* ---- descriptors ---------------------------------------------------------------------------- */

struct fdrec *weft__fdrec_find(struct weft__epoll *ep, int fd)
{
	return fd >= 0 && (unsigned)fd < ep->nfds ? ep->fds[fd] : NULL;
}

/* The number was closed (and perhaps reused) since @rec was made: forget all of it. Whoever
 * still waits wakes with -EBADF, never calling again on what may be another descriptor now. */
static void fdrec_reset(struct weft__epoll *ep, struct fdrec *rec, int fd)
{
	if (rec->watched)
		epoll_ctl(ep->epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT: gone with its file */
	weft__fd_ready(rec, GONE);
	rec->gen++;
	rec->fdgen = fd_gen(fd);
	rec->kind = FD_UNKNOWN;
	rec->stream = 0;
	rec->hup = false;
	rec->watched = false;
	rec->nonblock = false;
}

struct fdrec *weft__fdrec_get(struct weft__epoll *ep, int fd)
{
	struct fdrec *rec;

	if (fd < 0)
		return NULL;
	if ((unsigned)fd >= ep->nfds) {
		unsigned n = ep->nfds ? ep->nfds : 64;
		struct fdrec **fds;

		while (n <= (unsigned)fd)
			n *= 2;
		fds = weft__new_array(struct fdrec *, n);
		if (!fds)
			return NULL;
		for (unsigned i = 0; i < ep->nfds; i++)
			fds[i] = ep->fds[i];
		weft__delete_array(ep->fds, ep->nfds);
		ep->fds = fds;
		ep->nfds = n;
	}
	rec = ep->fds[fd];
	if (!rec && (rec = weft__new(struct fdrec))) {
		weft__list_init(&rec->waiters);
		rec->fdgen = fd_gen(fd);
		ep->fds[fd] = rec;
	}
	if (rec && rec->fdgen != fd_gen(fd))
		fdrec_reset(ep, rec, fd);
	return rec;
}

int weft__fd_kind(struct fdrec *rec, int fd)
{
	struct stat st;

	if (rec->kind == FD_UNKNOWN) {
		if (fstat(fd, &st))
			return -errno;
		rec->kind = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) || S_ISDIR(st.st_mode)
				? FD_FILE
				: FD_POLLABLE;
	}
	return rec->kind;
}

int weft__fd_nonblock(struct fdrec *rec, int fd)
{
	int fl;

	if (rec->nonblock)
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK)))
		return -errno;
	rec->nonblock = true;
	rec->set_nonblock = !(fl & O_NONBLOCK);
	return 0;
}

int weft__fd_watch(struct weft__epoll *ep, struct fdrec *rec, int fd)
{
	struct epoll_event ev = {.events = WATCH_EVENTS,
				 .data.u64 = (uint64_t)rec->gen << 32 | (uint32_t)fd};

	if (rec->watched)
		return 0;
	rec->ready = WEFT__DIR_IN | WEFT__DIR_OUT; /* unknown until tried: the ADD reports it */
	if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, fd, &ev) &&
	    (errno != EEXIST || epoll_ctl(ep->epfd, EPOLL_CTL_MOD, fd, &ev)))
		return -errno;
	rec->watched = true;
	return 0;
}

/* Wake every waiter of @rec whose direction @events covers. Waiters only get queued (tasks made
 * ready, multishots put on the run list): nothing here runs user code. */
void weft__fd_ready(struct fdrec *rec, uint32_t events)
{
	struct weft__list *pos, *tmp;

	if (events != GONE)
		rec->ready |= (events & READABLE ? WEFT__DIR_IN : 0) |
			      (events & WRITABLE ? WEFT__DIR_OUT : 0);
	/* An end of file no later edge announces again; urgent data stops a read short. */
	if (events != GONE && events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI))
		rec->hup = true;
	weft__list_for_each_safe(pos, tmp, &rec->waiters)
	{
		struct weft__fdwait *w = weft__container_of(pos, struct weft__fdwait, link);

		if (events != GONE && ((w->want == WEFT__DIR_IN && !(events & READABLE)) ||
				       (w->want == WEFT__DIR_OUT && !(events & WRITABLE))))
			continue;
		weft__list_del(&w->link);
		weft__list_init(&w->link);
		w->revents = events;
		w->ready(w);
	}
}

static void fd_gen_bump(int fd)
{
	_Atomic uint32_t *g = gen_slot(fd, true);

	if (g)
		atomic_fetch_add_explicit(g, 1, memory_order_acq_rel);
}

void weft__fd_forget(int fd)
{
	struct weft_loop *loop = weft__loop();
	struct weft__epoll *ep = loop ? loop->epoll : NULL;
	struct fdrec *rec;

	fd_gen_bump(fd);
	/* On a loop's own thread its record goes at once (waiters wake now); every other loop's
	 * at its next use of the number. The file description may be shared (a tty, stdin, a
	 * pipe from the parent): O_NONBLOCK goes back as we found it. */
	if (ep && (rec = weft__fdrec_find(ep, fd))) {
		int fl = rec->set_nonblock ? fcntl(fd, F_GETFL) : -1;

		if (fl >= 0)
			fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
		rec->set_nonblock = false;
		fdrec_reset(ep, rec, fd);
	}
}

int weft__fd_close(int fd)
{
	int r;

	weft__fd_forget(fd);
	r = close(fd) && errno != EINTR ? -errno : 0; /* Linux closes the fd even on EINTR */
	/* Again once it is gone: a loop on another thread that used the number between the two
	 * still recorded the old file under the new generation. */
	fd_gen_bump(fd);
	return r;
}

/* SPDX-License-Identifier: MIT */
/*
 * perf/echo_uring - the raw liburing echo server: the kernel-path limit weft's echo server is
 * measured against (perf/net.sh). No weft in it, only what a careful io_uring programmer writes:
 *
 *   - SINGLE_ISSUER|DEFER_TASKRUN (else COOP_TASKRUN|TASKRUN_FLAG, else nothing), registered ring
 *     fd, a CQ eight times the SQ;
 *   - one multishot accept per listening socket;
 *   - one multishot recv per connection, drawing buffers from a provided buffer ring;
 *   - the received buffer itself is sent back (no copy) and returned to the ring once sent;
 *   - buffers a cache line apart from a power-of-two stride, on huge pages where available: the
 *     ring rotates through all of them, and aligned 16 KiB buffers made every receive a cache
 *     and TLB miss (measured: ~330 ns of copy per 64 B message at 1000 connections, ~100 now);
 *   - every SQE of a batch of CQEs goes to the kernel in one io_uring_enter, which also waits.
 *
 * Sends on one socket are kept in order with one send in flight per connection and a FIFO of the
 * buffers waiting behind it (two sends in flight on a stream socket may reorder if the first one
 * has to wait for space). A short send is resumed from where it stopped.
 *
 * Usage: echo_uring [-p PORT] [-t THREADS] [-b BUFSIZE] [-n NBUFS]
 *   -p  TCP port, bound on every address (default 7000)
 *   -t  threads: one ring and one SO_REUSEPORT listening socket each (default 1)
 *   -b  size of each provided buffer (default 16384)
 *   -n  provided buffers per thread, a power of two (default 4096)
 * Runs until killed; prints nothing per message.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#define BGID   0
#define NO_BUF 0xffff

static int opt_port = 7000;
static int opt_threads = 1;
static unsigned opt_bufsize = 16384;
static unsigned opt_nbufs = 4096;

/* user_data: a pointer with the kind in its low bits. */
enum kind { K_ACCEPT = 0, K_RECV = 1, K_SEND = 2 };

struct conn {
	int fd;
	bool recv_armed;   /* a multishot recv is in the kernel */
	bool send_armed;   /* a send is in the kernel */
	bool closing;	   /* EOF or error seen: no new recv, close when idle */
	uint16_t head;	   /* first buffer waiting to be sent (the one in flight if send_armed) */
	uint16_t tail;	   /* last buffer waiting */
	struct conn *next; /* on the worker's list of connections needing a new recv */
};

struct worker {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	unsigned char *bufs;
	unsigned mask;
	unsigned recycled; /* buffers added to the ring since the last advance */
	/* per buffer: bytes held, bytes already sent, next buffer in its connection's FIFO */
	uint32_t *len, *off;
	uint16_t *next;
	int lfd;
	struct conn *rearm; /* connections whose multishot recv ended for want of buffers */
	pthread_t thread;
};

static void die(const char *what, int err)
{
	fprintf(stderr, "echo_uring: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static struct io_uring_sqe *get_sqe(struct worker *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);

	while (!sqe) {
		/* SQ full: hand what is queued to the kernel and take a fresh slot. */
		int r = io_uring_submit(&w->ring);
		if (r < 0 && r != -EBUSY && r != -EAGAIN)
			die("io_uring_submit", r);
		sqe = io_uring_get_sqe(&w->ring);
	}
	return sqe;
}

/* Buffers are BUF_STRIDE apart, one cache line more than their size: at a power-of-two stride
 * the first lines of all buffers - all a 64-byte message touches - would share a handful of
 * cache sets and evict each other, and the ring hands the buffers out in rotation. */
static size_t buf_stride(void)
{
	return ((size_t)opt_bufsize + 63) / 64 * 64 + 64;
}

static void *buf_addr(struct worker *w, unsigned bid)
{
	return w->bufs + (size_t)bid * buf_stride();
}

static void recycle(struct worker *w, unsigned bid)
{
	io_uring_buf_ring_add(w->br, buf_addr(w, bid), opt_bufsize, (unsigned short)bid, w->mask,
			      (int)w->recycled);
	w->recycled++;
}

static void arm_accept(struct worker *w)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_multishot_accept(sqe, w->lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, K_ACCEPT);
}

static void arm_recv(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | K_RECV);
	c->recv_armed = true;
}

static void arm_send(struct worker *w, struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe(w);
	unsigned bid = c->head;

	io_uring_prep_send(sqe, c->fd, (char *)buf_addr(w, bid) + w->off[bid],
			   w->len[bid] - w->off[bid], MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | K_SEND);
	c->send_armed = true;
}

/* Free the connection once the kernel holds nothing of it. */
static void maybe_close(struct worker *w, struct conn *c)
{
	if (!c->closing || c->recv_armed || c->send_armed)
		return;
	while (c->head != NO_BUF) {
		unsigned bid = c->head;
		c->head = w->next[bid];
		recycle(w, bid);
	}
	close(c->fd);
	free(c);
}

static void on_accept(struct worker *w, const struct io_uring_cqe *cqe)
{
	struct conn *c;
	int one = 1;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		arm_accept(w);
	if (cqe->res < 0) {
		if (cqe->res != -EMFILE && cqe->res != -ENFILE && cqe->res != -ECONNABORTED)
			fprintf(stderr, "echo_uring: accept: %s\n", strerror(-cqe->res));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(cqe->res);
		return;
	}
	c->fd = cqe->res;
	c->head = c->tail = NO_BUF;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	arm_recv(w, c);
}

static void on_recv(struct worker *w, struct conn *c, const struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;

	if (!more)
		c->recv_armed = false;
	if (cqe->res > 0) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		w->len[bid] = (uint32_t)cqe->res;
		w->off[bid] = 0;
		w->next[bid] = NO_BUF;
		if (c->closing) {
			recycle(w, bid);
		} else if (c->head == NO_BUF) {
			c->head = c->tail = (uint16_t)bid;
			arm_send(w, c);
		} else {
			w->next[c->tail] = (uint16_t)bid;
			c->tail = (uint16_t)bid;
		}
		if (!more && !c->closing) {
			/* The kernel ended the multishot (e.g. CQ overflow): start another. */
			arm_recv(w, c);
		}
		return;
	}
	if (cqe->res == -ENOBUFS && !c->closing) {
		/* The ring ran dry: try again after this batch has recycled what it sent. */
		if (!more) {
			c->next = w->rearm;
			w->rearm = c;
		}
		return;
	}
	/* EOF or an error: no more reads; close once the sends in flight finish. */
	if (more) {
		/* Still armed (an error CQE of a live multishot): cancel it by shutting down. */
		shutdown(c->fd, SHUT_RDWR);
	}
	c->closing = true;
	maybe_close(w, c);
}

static void on_send(struct worker *w, struct conn *c, const struct io_uring_cqe *cqe)
{
	unsigned bid = c->head;

	c->send_armed = false;
	if (cqe->res < 0 || c->closing) {
		if (!c->closing) {
			c->closing = true;
			if (c->recv_armed)
				shutdown(c->fd, SHUT_RDWR);
		}
		maybe_close(w, c);
		return;
	}
	w->off[bid] += (uint32_t)cqe->res;
	if (w->off[bid] < w->len[bid]) {
		arm_send(w, c); /* a short send: the rest goes next */
		return;
	}
	c->head = w->next[bid];
	if (c->head == NO_BUF)
		c->tail = NO_BUF;
	recycle(w, bid);
	if (c->head != NO_BUF)
		arm_send(w, c);
}

static int listen_socket(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket", errno);
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		die("setsockopt", errno);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind", errno);
	if (listen(fd, 4096))
		die("listen", errno);
	return fd;
}

static void ring_setup(struct worker *w)
{
	static const unsigned flag_sets[] = {
	    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	    IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	    0,
	};
	int r = -EINVAL;

	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		struct io_uring_params p = {
		    .flags = flag_sets[i] | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL,
		    .cq_entries = 8192,
		};
		r = io_uring_queue_init_params(1024, &w->ring, &p);
		if (r == 0)
			break;
	}
	if (r)
		die("io_uring_queue_init", r);
	io_uring_register_ring_fd(&w->ring); /* an optimisation only: failure is fine */
}

static void bufs_setup(struct worker *w)
{
	size_t ring_size = opt_nbufs * sizeof(struct io_uring_buf);
	struct io_uring_buf_reg reg = {.ring_entries = opt_nbufs, .bgid = BGID};
	void *mem;
	int r;

	mem = mmap(NULL, ring_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap", errno);
	w->br = mem;
	reg.ring_addr = (uint64_t)(uintptr_t)mem;
	r = io_uring_register_buf_ring(&w->ring, &reg, 0);
	if (r)
		die("io_uring_register_buf_ring", r);
	w->bufs = mmap(NULL, (size_t)opt_nbufs * buf_stride(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->bufs == MAP_FAILED)
		die("mmap", errno);
	/* Huge pages where the kernel has them: the rotation touches every buffer, and 4 KiB pages
	 * would cost a TLB miss per receive. */
	madvise(w->bufs, (size_t)opt_nbufs * buf_stride(), MADV_HUGEPAGE);
	w->len = calloc(opt_nbufs, sizeof(*w->len));
	w->off = calloc(opt_nbufs, sizeof(*w->off));
	w->next = calloc(opt_nbufs, sizeof(*w->next));
	if (!w->len || !w->off || !w->next)
		die("calloc", ENOMEM);
	w->mask = (unsigned)io_uring_buf_ring_mask(opt_nbufs);
	io_uring_buf_ring_init(w->br);
	for (unsigned i = 0; i < opt_nbufs; i++)
		recycle(w, i);
	io_uring_buf_ring_advance(w->br, (int)w->recycled);
	w->recycled = 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	ring_setup(w); /* here: SINGLE_ISSUER binds the ring to the thread that sets it up */
	bufs_setup(w);
	arm_accept(w);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int r = io_uring_submit_and_wait(&w->ring, 1);

		if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN)
			die("io_uring_submit_and_wait", r);
		io_uring_for_each_cqe(&w->ring, head, cqe)
		{
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			struct conn *c = (struct conn *)(uintptr_t)(ud & ~(uint64_t)3);

			n++;
			switch (ud & 3) {
			case K_ACCEPT:
				on_accept(w, cqe);
				break;
			case K_RECV:
				on_recv(w, c, cqe);
				break;
			case K_SEND:
				on_send(w, c, cqe);
				break;
			}
		}
		io_uring_cq_advance(&w->ring, n);
		if (w->recycled) {
			io_uring_buf_ring_advance(w->br, (int)w->recycled);
			w->recycled = 0;
		}
		while (w->rearm) {
			struct conn *c = w->rearm;
			w->rearm = c->next;
			arm_recv(w, c);
		}
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: echo_uring [-p PORT] [-t THREADS] [-b BUFSIZE] [-n NBUFS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	struct worker *w;
	int c;

	while ((c = getopt(argc, argv, "p:t:b:n:")) != -1) {
		switch (c) {
		case 'p':
			opt_port = atoi(optarg);
			break;
		case 't':
			opt_threads = atoi(optarg);
			break;
		case 'b':
			opt_bufsize = (unsigned)atoi(optarg);
			break;
		case 'n':
			opt_nbufs = (unsigned)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (opt_port <= 0 || opt_port > 65535 || opt_threads < 1 || opt_bufsize < 64 ||
	    opt_nbufs < 2 || opt_nbufs > 32768 || (opt_nbufs & (opt_nbufs - 1)))
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	w = calloc((size_t)opt_threads, sizeof(*w));
	if (!w)
		die("calloc", ENOMEM);
	/* Every listening socket exists before the first thread runs, so a client that sees the
	 * port open finds all of them. */
	for (int i = 0; i < opt_threads; i++)
		w[i].lfd = listen_socket();
	for (int i = 1; i < opt_threads; i++)
		if ((errno = pthread_create(&w[i].thread, NULL, worker_main, &w[i])))
			die("pthread_create", errno);
	worker_main(&w[0]);
	return 0;
}

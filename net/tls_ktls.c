/* SPDX-License-Identifier: MIT */
/*
 * kTLS: handing the record layer to the kernel after the handshake (WEFT_TLS_KTLS).
 *
 * OpenSSL (built with kTLS, as Debian's is) does the hand-over through its BIO: at each key
 * change it flushes the BIO, then passes the keys in a BIO_CTRL_SET_KTLS control; once that
 * succeeds it writes plaintext to the BIO (marking alerts and handshake messages with
 * BIO_CTRL_SET_KTLS_TX_SEND_CTRL_MSG) and, for receives, expects records whose header the BIO
 * rebuilds from the kernel's record type. Our BIO answers those controls here: the socket gets
 * the `tls` ULP and the keys (setsockopt SOL_TLS), sends of plain bytes stay io_uring sends
 * (the kernel encrypts), control records go out as one sendmsg with a TLS_SET_RECORD_TYPE
 * cmsg, and receives become recvmsg with TLS_GET_RECORD_TYPE. OpenSSL 3.0 hands over sends
 * for TLS 1.2 and 1.3 and receives for TLS 1.2 only.
 *
 * A direction is handed over only when nothing is buffered for it in user space (the flush at
 * the key change sends what was queued; bytes already received past the handshake keep
 * receives in user space for that connection). A refusal (no `tls` module, an unsupported
 * cipher) leaves that direction in user space: the handshake goes on either way.
 */
#include <errno.h>
#include <linux/tls.h>
#include <netinet/tcp.h>
#include <string.h>

#include "sock.h"
#include "tls.h"

/* Whether the kernel offers the ULP: asked once per process (the module cannot go away while
 * sockets use it, and loading it later is rare enough to need a restart). */
static bool ulp_available(void)
{
	static int cached; /* 0: unknown, 1: no, 2: yes */
	int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (!v) {
		v = weft_tls_ktls_available() ? 2 : 1;
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v == 2;
}

/* The size of the kernel's crypto_info for OpenSSL's: it starts with struct tls_crypto_info,
 * whose cipher type names the rest (OpenSSL's own wrapper's size depends on its build). */
static socklen_t crypto_info_len(const void *info)
{
	const struct tls_crypto_info *ci = info;

	switch (ci->cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		return sizeof(struct tls12_crypto_info_aes_gcm_128);
	case TLS_CIPHER_AES_GCM_256:
		return sizeof(struct tls12_crypto_info_aes_gcm_256);
	case TLS_CIPHER_AES_CCM_128:
		return sizeof(struct tls12_crypto_info_aes_ccm_128);
	case TLS_CIPHER_CHACHA20_POLY1305:
		return sizeof(struct tls12_crypto_info_chacha20_poly1305);
	default:
		return 0;
	}
}

/* BIO_CTRL_SET_KTLS: give the kernel @info for one direction. 1 if it took it. */
static long ktls_start(struct weft__tls *t, bool tx, const void *info)
{
	int fd = weft_sock_fd(t->sock);
	socklen_t len = info ? crypto_info_len(info) : 0;

	if (!t->ktls_ok || fd < 0 || !len || !ulp_available())
		return 0;
	/* Sends: the flush before this emptied tx. Receives: bytes already taken in from the
	 * socket are records the kernel would never see. */
	if (tx ? t->ttail > t->thead : t->rtail > t->rhead)
		return 0;
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", 3) && errno != EEXIST)
		return 0;
	if (setsockopt(fd, SOL_TLS, tx ? TLS_TX : TLS_RX, info, len))
		return 0;
	if (tx)
		t->ktls_tx = true;
	else
		t->ktls_rx = true;
	return 1;
}

/* BIO_CTRL_FLUSH. In the handshake, with kTLS asked for, OpenSSL flushes before it switches
 * keys and skips kTLS unless that succeeds: send what is queued now (the handshake fiber is
 * the connection's only user, so it may park inside OpenSSL). Elsewhere the fiber sends tx
 * after each OpenSSL call; with kTLS sends on, a control record must not share tx with
 * plaintext: ask OpenSSL to come back once it is sent. */
static long ktls_flush(BIO *bio, struct weft__tls *t)
{
	if (t->ttail == t->thead)
		return 1;
	if (!t->handshaken && t->ktls_ok)
		return weft__tls_tx_flush(t) == 0;
	if (!t->ktls_tx)
		return 1;
	BIO_set_retry_write(bio);
	return 0;
}

long weft__tls_ktls_ctrl(BIO *bio, struct weft__tls *t, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return ktls_flush(bio, t);
	case WEFT__BIO_CTRL_SET_KTLS:
		return ktls_start(t, num != 0, ptr);
	case BIO_CTRL_GET_KTLS_SEND:
		return t->ktls_tx;
	case BIO_CTRL_GET_KTLS_RECV:
		return t->ktls_rx;
	case WEFT__BIO_CTRL_SET_KTLS_TX_SEND_CTRL_MSG:
		t->ctrl_next = (int)num;
		return 0;
	case WEFT__BIO_CTRL_CLEAR_KTLS_CTRL_MSG:
		t->ctrl_next = 0;
		return 0;
	case BIO_C_GET_FD:
		return t->sock ? weft_sock_fd(t->sock) : -1;
	default:
		return 0;
	}
}

/* One sendmsg of tx as a record of type t->tx_ctrl (an alert, a handshake message). */
ssize_t weft__tls_ktls_send_ctrl(struct weft__tls *t)
{
	union {
		char buf[CMSG_SPACE(1)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {t->tx + t->thead, t->ttail - t->thead};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_TLS;
	c->cmsg_type = TLS_SET_RECORD_TYPE;
	c->cmsg_len = CMSG_LEN(1);
	*CMSG_DATA(c) = (unsigned char)t->tx_ctrl;
	return weft__sock_io(t->sock, IORING_OP_SENDMSG, &msg, 1, MSG_NOSIGNAL);
}

/* Receive one record the kernel decrypted into the empty rx, with the 5-byte header OpenSSL's
 * record layer expects rebuilt in front (type from the cmsg, TLS 1.2, the length). */
ssize_t weft__tls_ktls_recv(struct weft__tls *t)
{
	union {
		char buf[CMSG_SPACE(1)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {t->rx + 5, 16384};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *c;
	unsigned char type = 23; /* application data, unless the kernel says otherwise */
	ssize_t n = weft__sock_io(t->sock, IORING_OP_RECVMSG, &msg, 1, 0);

	if (n <= 0)
		return n;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_TLS && c->cmsg_type == TLS_GET_RECORD_TYPE)
		type = *CMSG_DATA(c);
	t->rx[0] = (char)type;
	t->rx[1] = 3;
	t->rx[2] = 3;
	t->rx[3] = (char)(n >> 8);
	t->rx[4] = (char)n;
	return n + 5;
}

/* ---- sendfile --------------------------------------------------------------------------------- */

/* One read of the file through the op layer (io_uring, or the pool on the readiness backend). */
static ssize_t file_read(int fd, void *buf, size_t len, off_t off)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_read(sqe, fd, buf, (unsigned)len, (uint64_t)off);
	return weft__op_wait(&op, sqe);
}

/* Without kTLS sends: read the file and encrypt it as any write, a chunk at a time. */
static ssize_t sendfile_copy(weft_stream *stream, struct weft__tls *t, int fd, off_t off,
			     size_t count)
{
	size_t done = 0;

	if (!t->gather && !(t->gather = weft__alloc(16384)))
		return -ENOMEM;
	while (!count || done < count) {
		size_t want = count && count - done < 16384 ? count - done : 16384;
		ssize_t n = file_read(fd, t->gather, want, off + (off_t)done), w;

		if (n <= 0)
			return done ? (ssize_t)done : n;
		w = weft_stream_write(stream, t->gather, (size_t)n);
		if (w < 0)
			return done ? (ssize_t)done : w;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t weft__tls_sendfile(weft_stream *stream, struct weft__tls *t, int fd, off_t off,
			   size_t count)
{
	int r = weft_stream_flush(stream);

	if (!r && t->ttail > t->thead)
		r = weft__tls_tx_flush(t);
	if (r)
		return r;
	if (!t->ktls_tx)
		return sendfile_copy(stream, t, fd, off, count);
	/* The kernel encrypts what the socket sends: the file goes as for plain TCP. */
	return weft_sock_sendfile(t->sock, fd, off, count);
}

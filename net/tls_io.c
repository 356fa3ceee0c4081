/* SPDX-License-Identifier: MIT */
/*
 * TLS record I/O: OpenSSL talks to a BIO of ours that only moves bytes between it and two
 * per-connection buffers; a fiber then receives into / sends from those buffers with the
 * transport's ordinary blocking calls. So no OpenSSL call ever blocks (each one runs to
 * completion or returns WANT_READ / WANT_WRITE), a reader and a writer fiber can share one
 * connection (every OpenSSL call is over before the fiber parks), and a receive or send cut
 * short by a cancel or deadline leaves the records where they were for the next call.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "weft/task.h"
#include "tls.h"

/* ---- the BIO ------------------------------------------------------------------------------- */

/* kTLS sends: a control record goes out alone (one sendmsg with its type), so it waits for
 * tx to empty, and data waits for it. */
static bool ktls_must_wait(struct weft__tls *t)
{
	if (t->ttail > t->thead && (t->ctrl_next || t->tx_ctrl))
		return true;
	t->tx_ctrl = t->ctrl_next;
	return false;
}

static int bio_write(BIO *bio, const char *buf, int len)
{
	struct weft__tls *t = BIO_get_data(bio);
	size_t room;

	BIO_clear_retry_flags(bio);
	if (t->ktls_tx && ktls_must_wait(t)) {
		BIO_set_retry_write(bio);
		return -1;
	}
	if (!t->sending && t->thead) { /* no send holds a pointer into tx: compact it */
		memmove(t->tx, t->tx + t->thead, t->ttail - t->thead);
		t->ttail -= t->thead;
		t->thead = 0;
	}
	room = WEFT__TLS_TX_CAP - t->ttail;
	if (!room) {
		BIO_set_retry_write(bio);
		return -1;
	}
	if ((size_t)len > room)
		len = (int)room;
	memcpy(t->tx + t->ttail, buf, (size_t)len);
	t->ttail += (size_t)len;
	return len;
}

static int bio_read(BIO *bio, char *buf, int len)
{
	struct weft__tls *t = BIO_get_data(bio);
	size_t n = t->rtail - t->rhead;

	BIO_clear_retry_flags(bio);
	if (!n) {
		if (t->rx_eof)
			return 0;
		BIO_set_retry_read(bio);
		return -1;
	}
	if (n > (size_t)len)
		n = (size_t)len;
	memcpy(buf, t->rx + t->rhead, n);
	t->rhead += n;
	if (t->rhead == t->rtail && !t->receiving)
		t->rhead = t->rtail = 0;
	return (int)n;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	struct weft__tls *t = BIO_get_data(bio);

	switch (cmd) {
	case BIO_CTRL_EOF:
		return t->rx_eof && t->rhead == t->rtail;
	case BIO_CTRL_PENDING:
		return (long)(t->rtail - t->rhead);
	case BIO_CTRL_WPENDING:
		return (long)(t->ttail - t->thead);
	default: /* flush and kTLS: the fiber sends tx after each OpenSSL call otherwise */
		return weft__tls_ktls_ctrl(bio, t, cmd, num, ptr);
	}
}

static int bio_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void bio_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "weft");

	if (m && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
	    BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
		bio_method = m;
	else
		BIO_meth_free(m);
}

BIO *weft__tls_bio_new(struct weft__tls *t)
{
	BIO *bio;

	pthread_once(&bio_once, bio_method_init);
	bio = bio_method ? BIO_new(bio_method) : NULL;
	if (bio)
		BIO_set_data(bio, t);
	return bio;
}

/* ---- moving records ------------------------------------------------------------------------ */

/* Another fiber is receiving (or sending) for this connection: wait until it is done. */
static int wait_turn(struct weft__list *queue)
{
	struct weft__sync_wait sw;
	int r = weft__fiber_check(NULL);

	if (r)
		return r;
	return weft__sync_park(queue, &sw, weft_task_current(), "tls", weft__sync_interrupt);
}

int weft__tls_rx_fill(struct weft__tls *t)
{
	ssize_t n;

	if (t->receiving)
		return wait_turn(&t->rx_waiters); /* then OpenSSL is tried again */
	if (t->rx_eof)
		return 0;
	if (t->rhead) {
		memmove(t->rx, t->rx + t->rhead, t->rtail - t->rhead);
		t->rtail -= t->rhead;
		t->rhead = 0;
	}
	t->receiving = true;
	if (t->ktls_rx) /* rx is empty: OpenSSL read all it had before asking for more */
		n = weft__tls_ktls_recv(t);
	else
		n = t->lread(t->lio, t->rx + t->rtail, WEFT__TLS_RX_CAP - t->rtail);
	t->receiving = false;
	if (n > 0)
		t->rtail += (size_t)n;
	else if (n == 0)
		t->rx_eof = true;
	weft__sync_wake_all(&t->rx_waiters, 0);
	return n < 0 ? (int)n : 0;
}

int weft__tls_tx_flush(struct weft__tls *t)
{
	int r = 0;

	if (t->sending)
		return wait_turn(&t->tx_waiters); /* the sender sends what we added too */
	t->sending = true;
	while (t->thead < t->ttail) {
		ssize_t n = t->tx_ctrl ? weft__tls_ktls_send_ctrl(t)
				       : t->lwrite(t->lio, t->tx + t->thead, t->ttail - t->thead);

		if (n <= 0 || (t->tx_ctrl && (size_t)n != t->ttail - t->thead)) {
			r = n < 0 ? (int)n : -EIO; /* a control record goes whole or not at all */
			break;
		}
		t->thead += (size_t)n;
	}
	if (t->thead == t->ttail)
		t->tx_ctrl = 0;
	if (t->thead == t->ttail)
		t->thead = t->ttail = 0;
	t->sending = false;
	weft__sync_wake_all(&t->tx_waiters, r);
	return r;
}

/* ---- errors ---------------------------------------------------------------------------------- */

/* Alerts about certificates: the peer rejected ours. */
static bool cert_alert(int alert)
{
	switch (alert) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return true;
	default:
		return false;
	}
}

/* The transport ended where TLS needs more: a clean end between records unless STRICT_EOF. */
static int eof_error(struct weft__tls *t)
{
	t->failed = true; /* no close_notify to a peer that is gone */
	if (t->handshaken && !SSL_has_pending(t->ssl) && !(t->flags & WEFT_TLS_STRICT_EOF))
		return 0;
	snprintf(t->err, sizeof(t->err), "the connection ended %s",
		 !t->handshaken		   ? "during the handshake"
		 : SSL_has_pending(t->ssl) ? "inside a TLS record"
					   : "without close_notify");
	return -ECONNRESET;
}

/* A fatal error from OpenSSL's queue, as errno, with its text in t->err. */
static int ssl_error(struct weft__tls *t)
{
	unsigned long e = ERR_peek_error();
	int reason = ERR_GET_REASON(e);
	long vr = SSL_get_verify_result(t->ssl);

	if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return eof_error(t);
	if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED && vr != X509_V_OK) {
		snprintf(t->err, sizeof(t->err), "certificate verify failed: %s",
			 X509_verify_cert_error_string(vr));
		return -EKEYREJECTED;
	}
	weft__tls_errtext(t->err, sizeof(t->err));
	if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		return -EKEYREJECTED;
	if (reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
		int alert = reason - SSL_AD_REASON_OFFSET;

		snprintf(t->err, sizeof(t->err), "the peer sent alert: %s",
			 SSL_alert_desc_string_long(alert));
		return cert_alert(alert) ? -EKEYREJECTED : -ECONNABORTED;
	}
	if (reason == ERR_R_MALLOC_FAILURE)
		return -ENOMEM;
	return -EPROTO;
}

int weft__tls_fail(struct weft__tls *t, int e)
{
	int r;

	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_SYSCALL && !ERR_peek_error())
		r = eof_error(t); /* our BIO has no errno: only its EOF ends up here */
	else
		r = ssl_error(t);
	ERR_clear_error();
	if (r) {
		t->failed = true;
		if (t->ttail > t->thead && !t->sending)
			weft__tls_tx_flush(t); /* the alert, if OpenSSL made one: best effort */
	}
	return r;
}

/* ---- the stream transport's read and write ----------------------------------------------- */

ssize_t weft__tls_read(void *io, void *buf, size_t len)
{
	struct weft__tls *t = io;
	size_t got;
	int r;

	t->busy++;
	for (;;) {
		ERR_clear_error();
		if (SSL_read_ex(t->ssl, buf, len, &got)) {
			r = (int)got;
			break;
		}
		r = SSL_get_error(t->ssl, 0);
		/* Records OpenSSL made while reading (a KeyUpdate reply) go out unless a writer
		 * is sending already (it sends them too; waiting for it could deadlock). */
		if (t->ttail > t->thead && !t->sending)
			weft__tls_tx_flush(t);
		if (r == SSL_ERROR_WANT_READ)
			r = weft__tls_rx_fill(t);
		else if (r == SSL_ERROR_WANT_WRITE)
			r = weft__tls_tx_flush(t);
		else {
			r = weft__tls_fail(t, r);
			break;
		}
		if (r)
			break;
	}
	t->busy--;
	return r;
}

/* How much plaintext one SSL_write may take so that its records fit the send buffer's free
 * room (a full record each, with room for overhead): OpenSSL then never waits for the BIO. */
static size_t write_room(const struct weft__tls *t)
{
	size_t room = WEFT__TLS_TX_CAP - (t->sending ? t->ttail : t->ttail - t->thead);

	if (room >= WEFT__TLS_RECORD_MAX)
		return room / WEFT__TLS_RECORD_MAX * 16384;
	return room > 512 ? room - 512 : 0;
}

/* Point at what to encrypt next: the first buffer, or several small ones gathered. */
static int write_source(struct weft__tls *t, const struct iovec *iov, int iovcnt, const void **p,
			size_t *len)
{
	size_t n = 0;

	if (iovcnt == 1 || iov[0].iov_len >= 16384) {
		*p = iov[0].iov_base;
		*len = iov[0].iov_len;
		return 0;
	}
	if (!t->gather && !(t->gather = weft__alloc(16384)))
		return -ENOMEM;
	for (int i = 0; i < iovcnt && n < 16384; i++) {
		size_t k = iov[i].iov_len < 16384 - n ? iov[i].iov_len : 16384 - n;

		memcpy(t->gather + n, iov[i].iov_base, k);
		n += k;
	}
	*p = t->gather;
	*len = n;
	return 0;
}

/* Encrypt up to @len bytes of @p into the send buffer: the count taken, or a negative errno. */
static ssize_t encrypt(struct weft__tls *t, const void *p, size_t len)
{
	size_t done;
	int r;

	for (;;) {
		size_t room = write_room(t);

		if (room == 0) {
			r = weft__tls_tx_flush(t);
			if (r)
				return r;
			continue;
		}
		ERR_clear_error();
		if (SSL_write_ex(t->ssl, p, len < room ? len : room, &done))
			return (ssize_t)done;
		r = SSL_get_error(t->ssl, 0);
		if (r == SSL_ERROR_WANT_WRITE)
			r = weft__tls_tx_flush(t);
		else if (r == SSL_ERROR_WANT_READ)
			r = weft__tls_rx_fill(t);
		else
			return weft__tls_fail(t, r) ?: -EPIPE;
		if (r)
			return r;
	}
}

ssize_t weft__tls_writev(void *io, const struct iovec *iov, int iovcnt)
{
	struct weft__tls *t = io;
	const void *p;
	size_t len;
	ssize_t n;

	t->busy++;
	/* A failed send (a reset, a cancelled write's tail) shows here, before more is taken. */
	n = t->ttail > t->thead ? weft__tls_tx_flush(t) : 0;
	if (!n)
		n = write_source(t, iov, iovcnt, &p, &len);
	if (!n)
		n = encrypt(t, p, len);
	/* The bytes OpenSSL took are committed to records: report them even if sending is cut
	 * short (a cancel); what is left in tx goes out with the next write, shutdown or close. */
	if (n > 0)
		weft__tls_tx_flush(t);
	t->busy--;
	return n;
}

/* SPDX-License-Identifier: MIT */
/*
 * TLS connections (weft/tls.h): set up an SSL over a socket or a stream, run the handshake,
 * hand the connection out as a weft_stream, and close it (close_notify) or abort it.
 * The record I/O is in tls_io.c, contexts in tls_ctx.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "sock.h"
#include "tls.h"

static int tls_shutdown(void *io);
static int tls_close(void *io);

static const struct weft_stream_ops tls_ops = {
    .read = weft__tls_read,
    .writev = weft__tls_writev,
    .shutdown = tls_shutdown,
    .close = tls_close,
};

/* ---- the transport under TLS ----------------------------------------------------------------- */

static ssize_t sock_read(void *io, void *buf, size_t len)
{
	return weft_sock_recv(io, buf, len);
}

static ssize_t sock_write(void *io, const void *buf, size_t len)
{
	return weft_sock_send_some(io, buf, len);
}

static ssize_t stream_read(void *io, void *buf, size_t len)
{
	return weft_stream_read(io, buf, len);
}

static ssize_t stream_write(void *io, const void *buf, size_t len)
{
	return weft_stream_write(io, buf, len);
}

/* Close what is under TLS if the connection owns it (after weft_sock_abort, if asked). */
static int close_transport(struct weft__tls *t, bool abort)
{
	if (abort && t->sock)
		weft_sock_abort(t->sock);
	if (!(t->flags & WEFT_TLS_CLOSE_TRANSPORT))
		return 0;
	return t->sock ? weft_sock_close(t->sock) : weft_stream_close(t->inner);
}

/* ---- the connection record ------------------------------------------------------------------ */

const char *weft__tls_conn_name(const SSL *ssl)
{
	struct weft__tls *t = SSL_get_ex_data(ssl, weft__tls_conn_index());

	return t ? t->name : NULL;
}

static void conn_free(struct weft__tls *t)
{
	SSL_free(t->ssl); /* and the BIO */
	weft__free(t->rx, WEFT__TLS_RX_CAP);
	weft__free(t->tx, WEFT__TLS_TX_CAP);
	weft__free(t->gather, 16384);
	free(t->name);
	weft_tls_ctx_free(t->ctx);
	weft__delete(t);
}

/* Client: SNI and the name to verify (an IP literal is checked as an address, without SNI),
 * and a saved session to resume. */
static int client_setup(struct weft__tls *t, const char *name)
{
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;
	bool check = !(t->ctx->flags & WEFT_TLS_NO_VERIFY) && !(t->flags & WEFT_TLS_NO_VERIFY_NAME);
	SSL_SESSION *sess;

	if (!(t->name = strdup(name)))
		return -ENOMEM;
	if (!is_ip && !SSL_set_tlsext_host_name(t->ssl, name))
		return -EINVAL;
	if (check && !(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name)
			     : SSL_set1_host(t->ssl, name)))
		return -EINVAL;
	sess = weft__tls_session_get(t->ctx, name);
	if (sess) {
		SSL_set_session(t->ssl, sess);
		SSL_SESSION_free(sess);
	}
	return 0;
}

static int conn_new(struct weft__tls **tp, weft_tls_ctx *ctx, const struct weft_tls_opts *o,
		    bool server)
{
	struct weft__tls *t = weft__new(struct weft__tls);
	BIO *bio;

	if (!t)
		return -ENOMEM;
	weft__tls_ctx_ref(ctx);
	t->ctx = ctx;
	t->loop = weft_loop_current();
	t->thread = pthread_self();
	t->flags = o->flags;
	weft__list_init(&t->rx_waiters);
	weft__list_init(&t->tx_waiters);
	t->rx = weft__alloc(WEFT__TLS_RX_CAP);
	t->tx = weft__alloc(WEFT__TLS_TX_CAP);
	t->ssl = SSL_new(ctx->ssl_ctx);
	bio = t->ssl ? weft__tls_bio_new(t) : NULL;
	if (!t->rx || !t->tx || !bio) {
		conn_free(t);
		return -ENOMEM;
	}
	SSL_set_bio(t->ssl, bio, bio);
	SSL_set_ex_data(t->ssl, weft__tls_conn_index(), t);
	if (server)
		SSL_set_accept_state(t->ssl);
	else
		SSL_set_connect_state(t->ssl);
	*tp = t;
	return 0;
}

/* ---- the handshake ---------------------------------------------------------------------------- */

static int handshake(struct weft__tls *t)
{
	int r;

	for (;;) {
		ERR_clear_error();
		r = SSL_do_handshake(t->ssl);
		if (r == 1) {
			t->handshaken = true;
			return weft__tls_tx_flush(t); /* our last flight */
		}
		r = SSL_get_error(t->ssl, r);
		if (r == SSL_ERROR_WANT_READ) {
			r = weft__tls_tx_flush(t);
			if (!r)
				r = weft__tls_rx_fill(t);
		} else if (r == SSL_ERROR_WANT_WRITE) {
			r = weft__tls_tx_flush(t);
		} else {
			return weft__tls_fail(t, r) ?: -ECONNRESET;
		}
		if (r) {
			t->failed = true;
			return r;
		}
	}
}

/* Say once per process, in debug mode, when records stay in user space, and why. */
static void debug_ktls(const struct weft__tls *t)
{
	static int said;
	const char *why;

	if (t->ktls_tx || !weft__loop_debug(weft_loop_current()) ||
	    __atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		return;
	if (!(t->ctx->flags & WEFT_TLS_KTLS))
		why = "kTLS not asked for: WEFT_TLS_KTLS";
	else if (!t->sock)
		why = "not over a socket";
	else if (!weft_tls_ktls_available())
		why = "the kernel offers no `tls` ULP: try `modprobe tls`";
	else
		why = "the kernel or OpenSSL refused this cipher or version";
	fprintf(stderr, "weft: tls: records are encrypted in user space (%s)\n", why);
}

static int check_args(weft_stream **streamp, weft_tls_ctx *ctx, const struct weft_tls_opts *o,
		      bool server)
{
	if (!streamp || !ctx || server != !!(ctx->flags & WEFT_TLS_SERVER))
		return -EINVAL;
	/* A verifying client needs a name to check, or an explicit opt-out. */
	if (!server && !o->server_name && !(ctx->flags & WEFT_TLS_NO_VERIFY) &&
	    !(o->flags & WEFT_TLS_NO_VERIFY_NAME))
		return -EINVAL;
	return weft__fiber_check(NULL);
}

static int tls_start(weft_stream **streamp, struct weft__tls *proto, weft_tls_ctx *ctx,
		     const struct weft_tls_opts *opts, bool server)
{
	static const struct weft_tls_opts none;
	const struct weft_tls_opts *o = opts ? opts : &none;
	struct weft__tls *t = NULL;
	int r = check_args(streamp, ctx, o, server);

	if (!r)
		r = conn_new(&t, ctx, o, server);
	if (!r) {
		t->lread = proto->lread, t->lwrite = proto->lwrite, t->lio = proto->lio;
		t->sock = proto->sock, t->inner = proto->inner;
		if (t->sock && (ctx->flags & WEFT_TLS_KTLS)) {
			t->ktls_ok = true;
			SSL_set_options(t->ssl, SSL_OP_ENABLE_KTLS);
		}
		if (!server && o->server_name)
			r = client_setup(t, o->server_name);
	}
	if (!r)
		r = handshake(t);
	if (!r)
		r = weft_stream_new(&t->stream, &tls_ops, t, &o->stream);
	if (r) {
		if (o->errbuf && o->errlen)
			snprintf(o->errbuf, o->errlen, "%s",
				 t && t->err[0] ? t->err : weft_strerror(r));
		if (t)
			conn_free(t);
		proto->flags = o->flags;
		close_transport(proto, false);
		return r;
	}
	debug_ktls(t);
	*streamp = t->stream;
	return 0;
}

static int sock_start(weft_stream **streamp, weft_sock *sock, weft_tls_ctx *ctx,
		      const struct weft_tls_opts *opts, bool server)
{
	struct weft__tls proto = {
	    .lread = sock_read, .lwrite = sock_write, .lio = sock, .sock = sock};

	if (!sock)
		return -EINVAL;
	if (weft__sock_check(sock, server ? "weft_tls_server" : "weft_tls_client"))
		return -EXDEV;
	return tls_start(streamp, &proto, ctx, opts, server);
}

static int stream_start(weft_stream **streamp, weft_stream *inner, weft_tls_ctx *ctx,
			const struct weft_tls_opts *opts, bool server)
{
	struct weft__tls proto = {
	    .lread = stream_read, .lwrite = stream_write, .lio = inner, .inner = inner};

	if (!inner)
		return -EINVAL;
	return tls_start(streamp, &proto, ctx, opts, server);
}

int weft_tls_client(weft_stream **streamp, weft_sock *sock, weft_tls_ctx *ctx,
		    const struct weft_tls_opts *opts)
{
	return sock_start(streamp, sock, ctx, opts, false);
}

int weft_tls_server(weft_stream **streamp, weft_sock *sock, weft_tls_ctx *ctx,
		    const struct weft_tls_opts *opts)
{
	return sock_start(streamp, sock, ctx, opts, true);
}

int weft_tls_client_stream(weft_stream **streamp, weft_stream *inner, weft_tls_ctx *ctx,
			   const struct weft_tls_opts *opts)
{
	return stream_start(streamp, inner, ctx, opts, false);
}

int weft_tls_server_stream(weft_stream **streamp, weft_stream *inner, weft_tls_ctx *ctx,
			   const struct weft_tls_opts *opts)
{
	return stream_start(streamp, inner, ctx, opts, true);
}

/* ---- closing ------------------------------------------------------------------------------------ */

/* Queue close_notify (once, if the connection is sound) and send what is queued. */
static int send_close_notify(struct weft__tls *t)
{
	if (!t->failed && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN)) {
		ERR_clear_error();
		SSL_shutdown(t->ssl); /* 0: sent, the peer's not awaited - we do not wait for it */
		ERR_clear_error();
	}
	return t->ttail > t->thead ? weft__tls_tx_flush(t) : 0;
}

static int tls_shutdown(void *io)
{
	struct weft__tls *t = io;
	int r;

	t->busy++;
	r = send_close_notify(t);
	t->busy--;
	return r;
}

static int tls_close(void *io)
{
	struct weft__tls *t = io;
	int r = weft__in_fiber() ? send_close_notify(t) : 0;
	int rc = close_transport(t, false);

	conn_free(t);
	return r ? r : rc;
}

static struct weft__tls *tls_of(weft_stream *stream)
{
	return weft_stream_transport(stream) == &tls_ops ? weft_stream_io(stream) : NULL;
}

/* A connection's calls: -EINVAL for a stream that is not TLS, -EXDEV from the wrong thread. */
static int tls_check(weft_stream *stream, struct weft__tls **tp, const char *call)
{
	*tp = tls_of(stream);
	if (!*tp)
		return -EINVAL;
	return weft__owner_check((*tp)->loop, (*tp)->thread, call) ? -EXDEV : 0;
}

int weft_tls_abort(weft_stream *stream)
{
	struct weft__tls *t;
	int r = tls_check(stream, &t, __func__);

	if (r)
		return r;
	if (t->busy)
		return -EBUSY;
	weft_stream_free(stream);
	close_transport(t, true);
	conn_free(t);
	return 0;
}

/* ---- what was negotiated ------------------------------------------------------------------------ */

int weft_tls_info(weft_stream *stream, struct weft_tls_info *info)
{
	struct weft__tls *t;
	const unsigned char *alpn;
	unsigned alpn_len;
	const char *sni;
	X509 *peer;
	int r = info ? tls_check(stream, &t, __func__) : -EINVAL;

	if (r)
		return r;
	SSL_get0_alpn_selected(t->ssl, &alpn, &alpn_len);
	/* OpenSSL's selected protocol is not NUL-terminated. */
	snprintf(t->alpn, sizeof(t->alpn), "%.*s", (int)alpn_len, alpn ? (const char *)alpn : "");
	sni = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
	peer = SSL_get0_peer_certificate(t->ssl);
	t->subject[0] = 0;
	if (peer)
		X509_NAME_oneline(X509_get_subject_name(peer), t->subject, sizeof(t->subject));
	*info = (struct weft_tls_info){
	    .version = SSL_get_version(t->ssl),
	    .cipher = SSL_get_cipher_name(t->ssl),
	    .alpn = t->alpn,
	    .server_name = sni ? sni : "",
	    .resumed = SSL_session_reused(t->ssl),
	    .ktls_tx = t->ktls_tx,
	    .ktls_rx = t->ktls_rx,
	    .peer_cert = peer != NULL,
	    .peer_subject = t->subject,
	};
	return 0;
}

ssize_t weft_tls_sendfile(weft_stream *stream, int fd, off_t off, size_t count)
{
	struct weft__tls *t;
	int r = off < 0 ? -EINVAL : tls_check(stream, &t, __func__);

	if (r)
		return r;
	return weft__tls_sendfile(stream, t, fd, off, count);
}

const char *weft_tls_error(weft_stream *stream)
{
	struct weft__tls *t = tls_of(stream);

	return t ? t->err : NULL;
}

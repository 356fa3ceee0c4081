/* SPDX-License-Identifier: MIT */
/*
 * TLS (weft/tls.h) against a local server, with a test CA made at start-up (no network):
 * echo through read_line / read_exactly / buffered writes, verification (host name, IP,
 * untrusted, expired), client certificates, ALPN, resumption, a full-duplex megabyte, a TLS
 * stream over another stream; and the bad peers: garbage, a close mid-handshake, a truncated
 * record, a ragged EOF, a handshake that never finishes (deadline), a cancelled one, an abort.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft/tls.h"

#include "examples/tls_cert.h"
#include "test_net_util.h"
#include "check_main.h"

/* ---- the test PKI ------------------------------------------------------------------------------ */

static struct tls_cert ca, other_ca, server_cert, expired_cert, client_cert, rogue_cert;
static char ca_path[512], cert_path[512], key_path[512];

static void write_file(char *path, size_t len, const char *dir, const char *name, const char *text)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void pki_setup(void)
{
	const char *dir = tmp_dir();

	ck_assert(tls_cert_make(&ca, "weft test CA", NULL, true, NULL, -60, 86400));
	ck_assert(tls_cert_make(&other_ca, "another CA", NULL, true, NULL, -60, 86400));
	ck_assert(tls_cert_make(&server_cert, "localhost", "127.0.0.1", false, &ca, -60, 86400));
	ck_assert(tls_cert_make(&expired_cert, "localhost", NULL, false, &ca, -7200, -3600));
	ck_assert(tls_cert_make(&client_cert, "client", NULL, false, &ca, -60, 86400));
	ck_assert(tls_cert_make(&rogue_cert, "localhost", NULL, false, &other_ca, -60, 86400));
	write_file(ca_path, sizeof(ca_path), dir, "ca.pem", ca.cert_pem);
	write_file(cert_path, sizeof(cert_path), dir, "server.pem", server_cert.cert_pem);
	write_file(key_path, sizeof(key_path), dir, "server.key", server_cert.key_pem);
}

static void pki_teardown(void)
{
	struct tls_cert *all[] = {&ca,		 &other_ca,    &server_cert,
				  &expired_cert, &client_cert, &rogue_cert};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		tls_cert_free(all[i]);
}

static weft_tls_ctx *server_ctx_of(const struct tls_cert *c, unsigned flags, const char *alpn)
{
	struct weft_tls_ctx_opts o = {.flags = WEFT_TLS_SERVER | flags,
				      .cert_pem = c->cert_pem,
				      .key_pem = c->key_pem,
				      .ca_pem = ca.cert_pem,
				      .alpn = alpn};
	weft_tls_ctx *ctx;

	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), 0);
	return ctx;
}

/* A client trusting the test CA (from its file), optionally with a client certificate. */
static weft_tls_ctx *client_ctx(unsigned flags, const struct tls_cert *mine, const char *alpn)
{
	struct weft_tls_ctx_opts o = {.flags = flags, .ca_file = ca_path, .alpn = alpn};
	weft_tls_ctx *ctx;

	if (mine) {
		o.cert_pem = mine->cert_pem;
		o.key_pem = mine->key_pem;
	}
	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), 0);
	return ctx;
}

/* ---- a one-connection server ------------------------------------------------------------------- */

struct srv {
	weft_sock *l;
	weft_sockaddr a;
	weft_tls_ctx *ctx;
	struct weft_tls_opts opts;
	int64_t hs_timeout; /* the handshake's deadline from accept, 0: none */
	bool keep_ctx;	    /* srv_join leaves the context to the test */
	int (*body)(struct srv *srv, weft_stream *st);
	int hs; /* the handshake's result */
	char err[256];
	struct weft_tls_info info;
	char subject[256], sni[256]; /* info's strings, kept past the stream */
	weft_task *task;
};

static int srv_main(void *arg)
{
	struct srv *s = arg;
	weft_sock *conn;
	weft_stream *st;
	weft_scope sc;
	int r;

	ck_assert_int_eq(weft_sock_accept(s->l, &conn, NULL), 0);
	s->opts.errbuf = s->err;
	s->opts.errlen = sizeof(s->err);
	weft_scope_enter(&sc, s->hs_timeout ? weft_now() + s->hs_timeout : WEFT_FOREVER, 0);
	s->hs = weft_tls_server(&st, conn, s->ctx, &s->opts);
	weft_scope_exit(&sc);
	r = s->hs;
	if (!r) {
		ck_assert_int_eq(weft_tls_info(st, &s->info), 0);
		snprintf(s->subject, sizeof(s->subject), "%s", s->info.peer_subject);
		snprintf(s->sni, sizeof(s->sni), "%s", s->info.server_name);
		r = s->body ? s->body(s, st) : 0;
		snprintf(s->err, sizeof(s->err), "%s", weft_tls_error(st));
		weft_stream_close(st);
	}
	weft_sock_close(conn);
	return r;
}

static void srv_start(struct srv *s, weft_tls_ctx *ctx, int (*body)(struct srv *, weft_stream *))
{
	s->ctx = ctx;
	s->body = body;
	s->l = listen_lo("127.0.0.1", &s->a, 0);
	ck_assert_int_eq(weft_task_spawn(&s->task, srv_main, s, NULL), 0);
}

/* Wait for the server; its status. */
static int srv_join(struct srv *s)
{
	int status;

	ck_assert_int_eq(weft_task_join(s->task, &status), 0);
	weft_sock_close(s->l);
	if (!s->keep_ctx)
		weft_tls_ctx_free(s->ctx);
	return status;
}

/* Echo lines until EOF. */
static int echo_body(struct srv *s, weft_stream *st)
{
	char line[256];
	ssize_t n;

	while ((n = weft_stream_read_line(st, line, sizeof(line), 0)) > 0)
		if (weft_stream_write(st, line, (size_t)n) != n)
			return -EIO;
	return (int)n;
}

/* Connect a TLS client to @s as @name. */
static int client_to(struct srv *s, weft_tls_ctx *ctx, const char *name, unsigned flags,
		     weft_stream **st, char *err, size_t errlen)
{
	struct weft_tls_opts o = {.server_name = name,
				  .flags = flags | WEFT_TLS_CLOSE_TRANSPORT,
				  .errbuf = err,
				  .errlen = errlen};
	weft_sock *sock;

	ck_assert_int_eq(weft_tcp_connect(&sock, &s->a), 0);
	return weft_tls_client(st, sock, ctx, &o);
}

static void echo_check(weft_stream *st, const char *text)
{
	char buf[256];
	size_t len = strlen(text);

	ck_assert_int_eq(weft_stream_write(st, text, len), (ssize_t)len);
	ck_assert_int_eq(weft_stream_read_exactly(st, buf, len, NULL), 0);
	ck_assert_mem_eq(buf, text, len);
}

/* ---- the good paths -------------------------------------------------------------------------- */

static int echo_main(void *arg)
{
	struct srv s = {0};
	struct weft_tls_ctx_opts co = {
	    .ca_file = ca_path, .alpn = "h2,http/1.1", .ciphersuites = "TLS_AES_128_GCM_SHA256"};
	weft_tls_ctx *cc;
	struct weft_tls_info info;
	weft_stream *st;
	char line[64];

	ck_assert_int_eq(weft_tls_ctx_new(&cc, &co), 0);
	srv_start(&s, server_ctx_of(&server_cert, 0, "http/1.1"), echo_body);
	ck_assert_int_eq(client_to(&s, cc, "localhost", 0, &st, NULL, 0), 0);
	echo_check(st, "hello over tls\n");
	ck_assert_int_eq(weft_stream_write(st, "a\nbb\n", 5), 5);
	ck_assert_int_eq(weft_stream_read_line(st, line, sizeof(line), 0), 2);
	ck_assert_int_eq(weft_stream_read_line(st, line, sizeof(line), 0), 3);
	ck_assert_int_eq(weft_tls_info(st, &info), 0);
	ck_assert_str_eq(info.version, "TLSv1.3");
	ck_assert_str_eq(info.cipher, "TLS_AES_128_GCM_SHA256");
	ck_assert_str_eq(info.alpn, "http/1.1");
	ck_assert(info.peer_cert);
	ck_assert_str_eq(info.peer_subject, "/CN=localhost");
	ck_assert(!info.ktls_tx && !info.ktls_rx); /* records stay in user space */
	ck_assert_str_eq(weft_tls_error(st), "");
	ck_assert_int_eq(weft_stream_close(st), 0); /* close_notify: the server reads 0 */
	ck_assert_int_eq(srv_join(&s), 0);
	ck_assert_str_eq(s.sni, "localhost");
	ck_assert(!s.info.peer_cert);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(echo, echo_main)

/* Server certificate from files, client checking an IP literal, TLS 1.2. */
static int files_ip_main(void *arg)
{
	struct weft_tls_ctx_opts so = {
	    .flags = WEFT_TLS_SERVER, .cert_file = cert_path, .key_file = key_path};
	struct weft_tls_ctx_opts co = {.ca_pem = ca.cert_pem, .max_version = 0x0303};
	struct srv s = {0};
	weft_tls_ctx *sc, *cc;
	struct weft_tls_info info;
	weft_stream *st;

	ck_assert_int_eq(weft_tls_ctx_new(&sc, &so), 0);
	co.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
	ck_assert_int_eq(weft_tls_ctx_new(&cc, &co), 0);
	srv_start(&s, sc, echo_body);
	ck_assert_int_eq(client_to(&s, cc, "127.0.0.1", 0, &st, NULL, 0), 0);
	echo_check(st, "by address\n");
	ck_assert_int_eq(weft_tls_info(st, &info), 0);
	ck_assert_str_eq(info.server_name, ""); /* no SNI for an address */
	ck_assert_str_eq(info.version, "TLSv1.2");
	ck_assert_str_eq(info.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
	ck_assert_int_eq(weft_stream_close(st), 0);
	ck_assert_int_eq(srv_join(&s), 0);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(files_and_ip, files_ip_main)

/* The second connection resumes the first one's session. */
static int resume_main(void *arg)
{
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);
	weft_tls_ctx *sc = server_ctx_of(&server_cert, 0, NULL);
	struct weft_tls_info info;
	weft_stream *st;

	for (int i = 0; i < 2; i++) {
		struct srv s = {.keep_ctx = true};

		srv_start(&s, sc, echo_body);
		ck_assert_int_eq(client_to(&s, cc, "localhost", 0, &st, NULL, 0), 0);
		echo_check(st, "again\n"); /* a read: the session ticket arrives */
		ck_assert_int_eq(weft_tls_info(st, &info), 0);
		ck_assert_int_eq(info.resumed, i == 1);
		ck_assert_int_eq(weft_stream_close(st), 0);
		ck_assert_int_eq(srv_join(&s), 0);
		ck_assert_int_eq(s.info.resumed, i == 1);
	}
	weft_tls_ctx_free(sc);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(resumption, resume_main)

/* Client certificates: required and given (the server sees it), required and missing. */
static int client_cert_main(void *arg)
{
	struct srv s = {0}, s2 = {0};
	weft_tls_ctx *with = client_ctx(0, &client_cert, NULL),
		     *without = client_ctx(0, NULL, NULL);
	weft_stream *st;
	char buf[8];
	int r;

	srv_start(&s, server_ctx_of(&server_cert, WEFT_TLS_REQUIRE_PEER, NULL), echo_body);
	ck_assert_int_eq(client_to(&s, with, "localhost", 0, &st, NULL, 0), 0);
	echo_check(st, "it is me\n");
	ck_assert_int_eq(weft_stream_close(st), 0);
	ck_assert_int_eq(srv_join(&s), 0);
	ck_assert(s.info.peer_cert);
	ck_assert_str_eq(s.subject, "/CN=client");

	/* TLS 1.3: the client's handshake ends before the server checks; the refusal comes as
	 * an alert on the client's first read. */
	srv_start(&s2, server_ctx_of(&server_cert, WEFT_TLS_REQUIRE_PEER, NULL), echo_body);
	r = client_to(&s2, without, "localhost", 0, &st, NULL, 0);
	if (r == 0) {
		r = (int)weft_stream_read(st, buf, sizeof(buf));
		ck_assert_str_ne(weft_tls_error(st), "");
		weft_stream_close(st);
	}
	ck_assert_int_eq(r, -EKEYREJECTED);
	ck_assert_int_eq(srv_join(&s2), -EKEYREJECTED);
	ck_assert_ptr_nonnull(strstr(s2.err, "certificate"));
	weft_tls_ctx_free(with);
	weft_tls_ctx_free(without);
	return 0;
}
FIBER_TEST(client_certificates, client_cert_main)

/* ---- certificate errors ------------------------------------------------------------------------ */

/* A client to a server with @cert, as @name: the client's error and reason, the server's. */
static void reject_case(const struct tls_cert *cert, weft_tls_ctx *cc, const char *name,
			const char *why)
{
	struct srv s = {0};
	weft_stream *st;
	char err[256] = "";
	int fds = fd_count();

	srv_start(&s, server_ctx_of(cert, 0, NULL), echo_body);
	ck_assert_int_eq(client_to(&s, cc, name, 0, &st, err, sizeof(err)), -EKEYREJECTED);
	ck_assert_msg(strstr(err, why), "%s: reason: %s", why, err);
	ck_assert_int_eq(srv_join(&s), -EKEYREJECTED); /* our alert reached the server */
	ck_assert_int_eq(fd_count(), fds);	       /* the client's socket was closed */
}

static int verify_main(void *arg)
{
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL), *sys, *any;
	struct weft_tls_ctx_opts nv = {.flags = WEFT_TLS_NO_VERIFY};
	struct srv s = {0};
	weft_stream *st;

	reject_case(&server_cert, cc, "wrong.example", "hostname mismatch");
	reject_case(&server_cert, cc, "127.0.0.2", "IP address mismatch");
	reject_case(&expired_cert, cc, "localhost", "expired");
	reject_case(&rogue_cert, cc, "localhost", "local issuer");
	/* The system store does not know the test CA (which the server sends in its chain). */
	ck_assert_int_eq(weft_tls_ctx_new(&sys, NULL), 0);
	reject_case(&server_cert, sys, "localhost", "self-signed certificate in certificate chain");
	/* A verifying client must name the server, or opt out explicitly; refused, the socket
	 * is closed (CLOSE_TRANSPORT) and the server sees the connection end. */
	srv_start(&s, server_ctx_of(&server_cert, 0, NULL), echo_body);
	ck_assert_int_eq(client_to(&s, cc, NULL, 0, &st, NULL, 0), -EINVAL);
	ck_assert_int_eq(srv_join(&s), -ECONNRESET);
	memset(&s, 0, sizeof(s));
	srv_start(&s, server_ctx_of(&server_cert, 0, NULL), echo_body);
	ck_assert_int_eq(client_to(&s, cc, NULL, WEFT_TLS_NO_VERIFY_NAME, &st, NULL, 0), 0);
	echo_check(st, "chain only\n");
	weft_stream_close(st);
	ck_assert_int_eq(srv_join(&s), 0);
	/* The explicit opt-out accepts anything. */
	ck_assert_int_eq(weft_tls_ctx_new(&any, &nv), 0);
	memset(&s, 0, sizeof(s));
	srv_start(&s, server_ctx_of(&rogue_cert, 0, NULL), echo_body);
	ck_assert_int_eq(client_to(&s, any, NULL, 0, &st, NULL, 0), 0);
	echo_check(st, "trusting\n");
	weft_stream_close(st);
	ck_assert_int_eq(srv_join(&s), 0);
	weft_tls_ctx_free(any);
	weft_tls_ctx_free(sys);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(verification, verify_main)

START_TEST(ctx_errors)
{
	struct weft_tls_ctx_opts o = {.flags = WEFT_TLS_SERVER};
	weft_tls_ctx *ctx;
	char err[256] = "";

	o.errbuf = err;
	o.errlen = sizeof(err);
	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), -EINVAL); /* a server without certificate */
	o.cert_file = "/nonexistent/cert.pem";
	o.key_file = key_path;
	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), -ENOENT);
	ck_assert_str_ne(err, "");
	o.cert_file = NULL;
	o.cert_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
	o.key_pem = server_cert.key_pem;
	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), -EINVAL);
	o.cert_pem = client_cert.cert_pem; /* the key does not match */
	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), -EINVAL);
	o.cert_pem = server_cert.cert_pem;
	o.alpn = "h2,,x";
	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), -EINVAL);
	o.alpn = NULL;
	o.ciphersuites = "NO_SUCH_SUITE";
	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), -EINVAL);
	o.ciphersuites = NULL;
	o.ca_pem = "junk";
	ck_assert_int_eq(weft_tls_ctx_new(&ctx, &o), -EINVAL);
	ck_assert_int_eq(weft_tls_ctx_new(NULL, NULL), -EINVAL);
	weft_tls_ctx_free(NULL);
	ck_assert_int_eq(weft_tls_info(NULL, NULL), -EINVAL);
	ck_assert_ptr_null(weft_tls_error(NULL));
}
END_TEST

/* ---- bad peers --------------------------------------------------------------------------------- */

/* Start a TLS server whose peer is a raw socket the test drives; returns that socket. */
static weft_sock *raw_client(struct srv *s, int64_t hs_timeout)
{
	weft_sock *c;

	s->hs_timeout = hs_timeout;
	srv_start(s, server_ctx_of(&server_cert, 0, NULL), echo_body);
	ck_assert_int_eq(weft_tcp_connect(&c, &s->a), 0);
	return c;
}

static int garbage_main(void *arg)
{
	struct srv s = {0}, s2 = {0}, s3 = {0};
	weft_sock *c = raw_client(&s, 0);
	static const char partial[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

	/* Plain HTTP to a TLS server. */
	ck_assert_int_eq(weft_sock_send(c, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	ck_assert_int_eq(srv_join(&s), -EPROTO);
	ck_assert_str_ne(s.err, "");
	weft_sock_close(c);
	/* A ClientHello cut short by a close. */
	c = raw_client(&s2, 0);
	ck_assert_int_eq(weft_sock_send(c, partial, sizeof(partial) - 1), sizeof(partial) - 1);
	ck_assert_int_eq(weft_sock_shutdown(c, SHUT_WR), 0);
	ck_assert_int_eq(srv_join(&s2), -ECONNRESET);
	ck_assert_ptr_nonnull(strstr(s2.err, "during the handshake"));
	weft_sock_close(c);
	/* Nothing at all, then a close. */
	c = raw_client(&s3, 0);
	weft_sock_close(c);
	ck_assert_int_eq(srv_join(&s3), -ECONNRESET);
	return 0;
}
FIBER_TEST(garbage_and_early_close, garbage_main)

/* A server that speaks garbage (or hangs up) to a TLS client. */
static int bad_server_fn(void *arg)
{
	weft_sock *l = arg, *c;

	ck_assert_int_eq(weft_sock_accept(l, &c, NULL), 0);
	weft_sock_send(c, "220 smtp.example ESMTP\r\n", 25);
	weft_sock_close(c);
	ck_assert_int_eq(weft_sock_accept(l, &c, NULL), 0);
	weft_sock_close(c);
	return 0;
}

static int bad_server_main(void *arg)
{
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);
	weft_sockaddr a;
	weft_sock *l = listen_lo("127.0.0.1", &a, 0), *c;
	weft_task *t;
	weft_stream *st;
	struct weft_tls_opts o = {.server_name = "localhost", .flags = WEFT_TLS_CLOSE_TRANSPORT};

	ck_assert_int_eq(weft_task_spawn(&t, bad_server_fn, l, NULL), 0);
	ck_assert_int_eq(weft_tcp_connect(&c, &a), 0);
	ck_assert_int_eq(weft_tls_client(&st, c, cc, &o), -EPROTO);
	ck_assert_int_eq(weft_tcp_connect(&c, &a), 0);
	ck_assert_int_eq(weft_tls_client(&st, c, cc, &o), -ECONNRESET);
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	weft_sock_close(l);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(garbage_server, bad_server_main)

/* The handshake never finishes: the deadline ends it; then the loop serves the next one. */
static int deadline_main(void *arg)
{
	struct srv s = {0}, s2 = {0};
	weft_sock *c = raw_client(&s, 50 * WEFT_MSEC);
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);
	weft_stream *st;

	ck_assert_int_eq(srv_join(&s), -ETIMEDOUT);
	weft_sock_close(c);
	srv_start(&s2, server_ctx_of(&server_cert, 0, NULL), echo_body);
	ck_assert_int_eq(client_to(&s2, cc, "localhost", 0, &st, NULL, 0), 0);
	echo_check(st, "still serving\n");
	weft_stream_close(st);
	ck_assert_int_eq(srv_join(&s2), 0);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(handshake_deadline, deadline_main)

static int cancel_main(void *arg)
{
	struct srv s = {0};
	weft_sock *c = raw_client(&s, 0);

	ck_assert_int_eq(weft_yield(), 0); /* the server reaches its handshake */
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(s.task), 0);
	ck_assert_int_eq(srv_join(&s), -ECANCELED);
	weft_sock_close(c);
	return 0;
}
FIBER_TEST(handshake_cancel, cancel_main)

/* The client aborts after a first echo: the server's read fails with the transport's error. */
static int abort_case(void)
{
	struct srv s = {0};
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);
	weft_stream *st;

	srv_start(&s, server_ctx_of(&server_cert, 0, NULL), echo_body);
	ck_assert_int_eq(client_to(&s, cc, "localhost", 0, &st, NULL, 0), 0);
	echo_check(st, "before the end\n");
	ck_assert_int_eq(weft_tls_abort(st), 0); /* RST, and the owned socket closed */
	weft_tls_ctx_free(cc);
	return srv_join(&s);
}

static int eof_main(void *arg)
{
	struct srv s = {0};
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);
	struct weft_tls_opts o = {.server_name = "localhost"};
	weft_sock *c;
	weft_stream *st;

	ck_assert_int_eq(abort_case(), -ECONNRESET);
	/* A truncated record: a header promising 64 bytes, 10 sent, then FIN. */
	srv_start(&s, server_ctx_of(&server_cert, 0, NULL), echo_body);
	ck_assert_int_eq(weft_tcp_connect(&c, &s.a), 0);
	ck_assert_int_eq(weft_tls_client(&st, c, cc, &o), 0);
	echo_check(st, "then a cut\n");
	ck_assert_int_eq(weft_sock_send(c,
					"\x17\x03\x03\x00\x40"
					"0123456789",
					15),
			 15);
	ck_assert_int_eq(weft_sock_shutdown(c, SHUT_WR), 0);
	ck_assert_int_eq(srv_join(&s), -ECONNRESET);
	ck_assert_ptr_nonnull(strstr(s.err, "inside a TLS record"));
	weft_tls_abort(st);
	weft_sock_close(c);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(reset_and_truncated_record, eof_main)

/* EOF between records without close_notify: 0 by default, -ECONNRESET when strict. */
static int ragged_body(struct srv *s, weft_stream *st)
{
	char line[64];
	ssize_t n = weft_stream_read_line(st, line, sizeof(line), 0);

	ck_assert_int_gt(n, 0);
	return (int)weft_stream_read(st, line, sizeof(line));
}

static int ragged_main(void *arg)
{
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);

	for (int strict = 0; strict < 2; strict++) {
		struct srv s = {.opts.flags = strict ? WEFT_TLS_STRICT_EOF : 0};
		struct weft_tls_opts o = {.server_name = "localhost"};
		weft_sock *c;
		weft_stream *st;

		srv_start(&s, server_ctx_of(&server_cert, 0, NULL), ragged_body);
		ck_assert_int_eq(weft_tcp_connect(&c, &s.a), 0);
		ck_assert_int_eq(weft_tls_client(&st, c, cc, &o), 0);
		ck_assert_int_eq(weft_stream_write(st, "one line\n", 9), 9);
		ck_assert_int_eq(weft_sock_shutdown(c, SHUT_WR), 0); /* FIN, no close_notify */
		ck_assert_int_eq(srv_join(&s), strict ? -ECONNRESET : 0);
		weft_tls_abort(st);
		weft_sock_close(c);
	}
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(ragged_eof, ragged_main)

/* ---- streams: full duplex, cancellation, TLS over a stream --------------------------------- */

#define BIG (1 << 20)

static int sink_body(struct srv *s, weft_stream *st)
{
	char *buf = malloc(BIG);
	int r = weft_stream_read_exactly(st, buf, BIG, NULL);

	for (size_t i = 0; r == 0 && i < BIG; i++)
		if (buf[i] != (char)(i * 7))
			r = -EBADMSG;
	if (!r && weft_stream_write(st, buf, BIG) != BIG)
		r = -EIO;
	free(buf);
	return r;
}

static int writer_fn(void *arg)
{
	char *buf = malloc(BIG);
	ssize_t n;

	for (size_t i = 0; i < BIG; i++)
		buf[i] = (char)(i * 7);
	n = weft_stream_write(arg, buf, BIG);
	free(buf);
	return n == BIG ? 0 : (int)n;
}

/* A writer fiber sends a megabyte while the main fiber reads the echo: both directions at once
 * on one connection, more than the socket buffers hold. */
static int duplex_main(void *arg)
{
	struct srv s = {0};
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);
	char *back = malloc(BIG);
	weft_stream *st;
	weft_task *w;
	int status;

	srv_start(&s, server_ctx_of(&server_cert, 0, NULL), sink_body);
	ck_assert_int_eq(client_to(&s, cc, "localhost", 0, &st, NULL, 0), 0);
	ck_assert_int_eq(weft_task_spawn(&w, writer_fn, st, NULL), 0);
	ck_assert_int_eq(weft_stream_read_exactly(st, back, BIG, NULL), 0);
	ck_assert_int_eq(weft_task_join(w, &status), 0);
	ck_assert_int_eq(status, 0);
	for (size_t i = 0; i < BIG; i++)
		ck_assert_int_eq(back[i], (char)(i * 7));
	free(back);
	weft_stream_close(st);
	ck_assert_int_eq(srv_join(&s), 0);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(full_duplex_megabyte, duplex_main)

/* A read cut short by a deadline leaves the connection usable. */
static int late_body(struct srv *s, weft_stream *st)
{
	char line[64];
	ssize_t n = weft_stream_read_line(st, line, sizeof(line), 0); /* "go\n" */

	ck_assert_int_eq(n, 3);
	return weft_stream_write(st, "late\n", 5) == 5 ? echo_body(s, st) : -EIO;
}

static int read_deadline_main(void *arg)
{
	struct srv s = {0};
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);
	weft_stream *st;
	weft_scope sc;
	char buf[16];

	srv_start(&s, server_ctx_of(&server_cert, 0, NULL), late_body);
	ck_assert_int_eq(client_to(&s, cc, "localhost", 0, &st, NULL, 0), 0);
	weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_stream_read(st, buf, sizeof(buf)), -ETIMEDOUT);
	weft_scope_exit(&sc);
	ck_assert_int_eq(weft_stream_write(st, "go\n", 3), 3);
	ck_assert_int_eq(weft_stream_read_exactly(st, buf, 5, NULL), 0);
	ck_assert_mem_eq(buf, "late\n", 5);
	echo_check(st, "and on\n");
	weft_stream_close(st);
	ck_assert_int_eq(srv_join(&s), 0);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(read_deadline_survives, read_deadline_main)

/* TLS over a weft_stream (a socket's buffered stream) with buffered writes on top. */
static int over_stream_srv(void *arg)
{
	weft_sock *sock = arg;
	weft_stream *inner, *st;
	weft_tls_ctx *sc = server_ctx_of(&server_cert, 0, NULL);
	char line[64];
	ssize_t n;

	ck_assert_int_eq(weft_sock_stream(sock, NULL, &inner), 0);
	ck_assert_int_eq(weft_tls_server_stream(&st, inner, sc, NULL), 0);
	while ((n = weft_stream_read_line(st, line, sizeof(line), 0)) > 0)
		ck_assert_int_eq(weft_stream_write(st, line, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	weft_stream_close(st);
	weft_tls_ctx_free(sc);
	return 0;
}

static int over_stream_main(void *arg)
{
	weft_tls_ctx *cc = client_ctx(0, NULL, NULL);
	struct weft_tls_opts o = {.server_name = "localhost",
				  .flags = WEFT_TLS_CLOSE_TRANSPORT,
				  .stream.wbuf_size = 4096};
	weft_sock *a, *b;
	weft_stream *inner, *st;
	weft_task *t;
	struct iovec iov[3] = {{"gath", 4}, {"ered ", 5}, {"line\n", 5}};
	char buf[16];

	ck_assert_int_eq(weft_unix_socketpair(SOCK_STREAM, &a, &b), 0);
	ck_assert_int_eq(weft_task_spawn(&t, over_stream_srv, b, NULL), 0);
	ck_assert_int_eq(weft_sock_stream(a, NULL, &inner), 0);
	ck_assert_int_eq(weft_tls_client_stream(&st, inner, cc, &o), 0);
	ck_assert_int_eq(weft_stream_writev(st, iov, 3), 14);
	ck_assert_int_eq(weft_stream_flush(st), 0);
	ck_assert_int_eq(weft_stream_read_exactly(st, buf, 14, NULL), 0);
	ck_assert_mem_eq(buf, "gathered line\n", 14);
	ck_assert_int_eq(weft_stream_close(st), 0); /* closes @inner and @a too */
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	weft_sock_close(b);
	weft_tls_ctx_free(cc);
	return 0;
}
FIBER_TEST(over_a_stream, over_stream_main)

/* ---- kTLS and sendfile ------------------------------------------------------------------------ */

#define FILE_LEN (256 * 1024 + 77)

static char file_path[512];

/* The server sends the file after a line: kTLS's splice where the kernel took the keys. */
static int file_body(struct srv *s, weft_stream *st)
{
	char line[64];
	int fd = open(file_path, O_RDONLY | O_CLOEXEC);
	ssize_t n = weft_stream_read_line(st, line, sizeof(line), 0);

	ck_assert_int_eq(n, 5);
	ck_assert_int_eq(weft_stream_write(st, "file:", 5), 5); /* buffered before the file */
	n = weft_tls_sendfile(st, fd, 0, 0);
	close(fd);
	return n == FILE_LEN ? echo_body(s, st) : (int)n;
}

/* Where the kernel offers `tls`, both directions of a TLS 1.3 (and a TLS 1.2) connection go
 * through it; here the hand-over is tried, refused, and everything stays in user space. */
static int ktls_main(void *arg)
{
	bool kernel = weft_tls_ktls_available();
	char *want = malloc(FILE_LEN), *got = malloc(FILE_LEN);
	FILE *f;

	snprintf(file_path, sizeof(file_path), "%s/file", tmp_dir());
	for (size_t i = 0; i < FILE_LEN; i++)
		want[i] = (char)(i * 13 + i / 4096);
	f = fopen(file_path, "w");
	ck_assert_int_eq(fwrite(want, 1, FILE_LEN, f), FILE_LEN);
	fclose(f);
	if (!kernel)
		fprintf(stderr, "ktls: the kernel offers no `tls` ULP: the user-space path only\n");
	for (int v12 = 0; v12 < 2; v12++) {
		struct weft_tls_ctx_opts co = {.flags = WEFT_TLS_KTLS, .ca_pem = ca.cert_pem};
		struct srv s = {0};
		struct weft_tls_info info;
		weft_tls_ctx *cc;
		weft_stream *st;

		co.ciphers = v12 ? "ECDHE-ECDSA-AES128-GCM-SHA256" : NULL;
		co.max_version = v12 ? 0x0303 : 0; /* a client that offers only TLS 1.2 */
		ck_assert_int_eq(weft_tls_ctx_new(&cc, &co), 0);
		srv_start(&s, server_ctx_of(&server_cert, WEFT_TLS_KTLS, NULL), file_body);
		ck_assert_int_eq(client_to(&s, cc, "localhost", 0, &st, NULL, 0), 0);
		ck_assert_int_eq(weft_tls_info(st, &info), 0);
		ck_assert_str_eq(info.version, v12 ? "TLSv1.2" : "TLSv1.3");
		ck_assert_int_eq(info.ktls_tx, kernel);
		ck_assert_int_eq(weft_stream_write(st, "file\n", 5), 5);
		ck_assert_int_eq(weft_stream_read_exactly(st, got, 5, NULL), 0);
		ck_assert_mem_eq(got, "file:", 5);
		ck_assert_int_eq(weft_stream_read_exactly(st, got, FILE_LEN, NULL), 0);
		ck_assert(!memcmp(got, want, FILE_LEN));
		echo_check(st, "after the file\n");
		ck_assert_int_eq(weft_stream_close(st), 0);
		ck_assert_int_eq(srv_join(&s), 0);
		ck_assert_int_eq(s.info.ktls_tx, kernel);
		weft_tls_ctx_free(cc);
	}
	free(want);
	free(got);
	return 0;
}
FIBER_TEST(ktls_and_sendfile, ktls_main)

START_TEST(outside_fiber)
{
	weft_tls_ctx *cc;
	weft_stream *st;

	ck_assert_int_eq(weft_tls_ctx_new(&cc, NULL), 0); /* contexts need no loop */
	ck_assert_int_eq(weft_tls_client(&st, NULL, cc, NULL), -EINVAL);
	weft_tls_ctx_free(cc);
	/* kTLS: what the kernel offers, as /proc says. */
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
	char ulp[256] = "";

	if (f) {
		ck_assert_ptr_nonnull(fgets(ulp, sizeof(ulp), f));
		fclose(f);
	}
	ck_assert_int_eq(weft_tls_ktls_available(), strstr(ulp, "tls") != NULL);
}
END_TEST

static Suite *tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_add_unchecked_fixture(tc, pki_setup, pki_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, echo);
	tcase_add_test(tc, files_and_ip);
	tcase_add_test(tc, resumption);
	tcase_add_test(tc, client_certificates);
	tcase_add_test(tc, verification);
	tcase_add_test(tc, ctx_errors);
	tcase_add_test(tc, garbage_and_early_close);
	tcase_add_test(tc, garbage_server);
	tcase_add_test(tc, handshake_deadline);
	tcase_add_test(tc, handshake_cancel);
	tcase_add_test(tc, reset_and_truncated_record);
	tcase_add_test(tc, ragged_eof);
	tcase_add_test(tc, full_duplex_megabyte);
	tcase_add_test(tc, read_deadline_survives);
	tcase_add_test(tc, over_a_stream);
	tcase_add_test(tc, ktls_and_sendfile);
	tcase_add_test(tc, outside_fiber);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(tls_suite)

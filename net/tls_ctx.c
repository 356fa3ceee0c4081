/* SPDX-License-Identifier: MIT */
/*
 * TLS contexts (weft/tls.h): an SSL_CTX with our defaults, certificates and trust anchors from
 * files or memory, ALPN, and the client's session cache for resumption.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "tls.h"

static int ctx_index = -1, conn_index = -1;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void index_init(void)
{
	ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int weft__tls_ctx_index(void)
{
	pthread_once(&index_once, index_init);
	return ctx_index;
}

int weft__tls_conn_index(void)
{
	pthread_once(&index_once, index_init);
	return conn_index;
}

void weft__tls_errtext(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (!buf || !len)
		return;
	buf[0] = 0;
	if (e)
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
}

/* Why loading failed, as an errno: a missing file, bad PEM, or no memory. */
static int load_error(void)
{
	unsigned long first = ERR_peek_error(), e = ERR_peek_last_error();

	if (ERR_GET_LIB(first) == ERR_LIB_SYS) /* a file: the errno is queued first */
		return -ERR_GET_REASON(first);
	if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
		return -ENOMEM;
	return -EINVAL;
}

/* ---- the session cache (clients) ---------------------------------------------------------- */

static void session_put(weft_tls_ctx *ctx, const char *name, SSL_SESSION *sess)
{
	struct weft__tls_session *slot = &ctx->sessions[0];

	pthread_mutex_lock(&ctx->lock);
	for (int i = 0; i < WEFT__TLS_SESSIONS; i++) {
		struct weft__tls_session *s = &ctx->sessions[i];

		if (s->name && !strcmp(s->name, name)) {
			slot = s;
			break;
		}
		if (!s->name || s->used < slot->used)
			slot = s;
	}
	if (!slot->name || strcmp(slot->name, name)) {
		free(slot->name);
		slot->name = strdup(name);
	}
	if (slot->sess)
		SSL_SESSION_free(slot->sess);
	slot->sess = slot->name ? sess : NULL;
	slot->used = ++ctx->clock;
	pthread_mutex_unlock(&ctx->lock);
	if (!slot->sess)
		SSL_SESSION_free(sess);
}

SSL_SESSION *weft__tls_session_get(weft_tls_ctx *ctx, const char *name)
{
	SSL_SESSION *sess = NULL;

	if (!name || (ctx->flags & (WEFT_TLS_SERVER | WEFT_TLS_NO_RESUME)))
		return NULL;
	pthread_mutex_lock(&ctx->lock);
	for (int i = 0; i < WEFT__TLS_SESSIONS; i++) {
		struct weft__tls_session *s = &ctx->sessions[i];

		if (s->name && s->sess && !strcmp(s->name, name)) {
			if (SSL_SESSION_is_resumable(s->sess) && SSL_SESSION_up_ref(s->sess))
				sess = s->sess;
			s->used = ++ctx->clock;
			break;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	return sess;
}

/* OpenSSL hands us each new session (TLS 1.3: each ticket); keep it by server name. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	weft_tls_ctx *ctx = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), weft__tls_ctx_index());
	const char *name = weft__tls_conn_name(ssl);

	if (!ctx || !name)
		return 0;
	session_put(ctx, name, sess);
	return 1; /* we keep the reference */
}

/* ---- ALPN ------------------------------------------------------------------------------------ */

/* "h2,http/1.1" -> "\x02h2\x08http/1.1". */
static int alpn_parse(weft_tls_ctx *ctx, const char *list)
{
	size_t n = strlen(list), out = 0;
	const char *p = list;

	ctx->alpn = malloc(n + 1);
	if (!ctx->alpn)
		return -ENOMEM;
	while (*p) {
		size_t len = strcspn(p, ",");

		if (len == 0 || len > 255)
			return -EINVAL;
		ctx->alpn[out++] = (unsigned char)len;
		memcpy(ctx->alpn + out, p, len);
		out += len;
		p += len + (p[len] == ',');
	}
	ctx->alpn_len = out;
	return out ? 0 : -EINVAL;
}

/* Server: the first of our protocols the client also offers; none shared: go on without. */
static int on_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
			  const unsigned char *in, unsigned inlen, void *arg)
{
	weft_tls_ctx *ctx = arg;
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, ctx->alpn, (unsigned)ctx->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* ---- certificates -------------------------------------------------------------------------- */

/* The certificate chain (leaf first) and key from PEM text. */
static int use_pem(SSL_CTX *sc, const char *cert_pem, const char *key_pem)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = NULL;
	int ok = x && SSL_CTX_use_certificate(sc, x) == 1;

	X509_free(x);
	while (ok && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		ok = SSL_CTX_add0_chain_cert(sc, x) == 1 || (X509_free(x), 0);
	ERR_clear_error(); /* the end of the chain reads as an error */
	BIO_free(bio);
	bio = ok ? BIO_new_mem_buf(key_pem, -1) : NULL;
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	ok = key && SSL_CTX_use_PrivateKey(sc, key) == 1;
	EVP_PKEY_free(key);
	BIO_free(bio);
	return ok ? 0 : load_error();
}

static int use_cert(SSL_CTX *sc, const struct weft_tls_ctx_opts *o)
{
	int r;

	if (o->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(sc, o->cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(sc, o->key_file, SSL_FILETYPE_PEM) != 1)
			return load_error();
	} else if ((r = use_pem(sc, o->cert_pem, o->key_pem))) {
		return r;
	}
	return SSL_CTX_check_private_key(sc) == 1 ? 0 : -EINVAL;
}

/* Trust anchors from PEM text into the context's store. */
static int load_ca_pem(SSL_CTX *sc, const char *pem)
{
	X509_STORE *store = SSL_CTX_get_cert_store(sc);
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0;

	while (bio && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		n += X509_STORE_add_cert(store, x) == 1;
		X509_free(x);
	}
	BIO_free(bio);
	if (!n)
		return load_error();
	ERR_clear_error();
	return 0;
}

static int load_trust(SSL_CTX *sc, const struct weft_tls_ctx_opts *o)
{
	if (o->ca_file)
		return SSL_CTX_load_verify_locations(sc, o->ca_file, NULL) == 1 ? 0 : load_error();
	if (o->ca_pem)
		return load_ca_pem(sc, o->ca_pem);
	if (!(o->flags & WEFT_TLS_SERVER))
		return SSL_CTX_set_default_verify_paths(sc) == 1 ? 0 : load_error();
	return 0;
}

/* ---- the context ----------------------------------------------------------------------------- */

static int verify_mode(unsigned flags)
{
	if (!(flags & WEFT_TLS_SERVER))
		return flags & WEFT_TLS_NO_VERIFY ? SSL_VERIFY_NONE : SSL_VERIFY_PEER;
	if (flags & WEFT_TLS_REQUIRE_PEER)
		return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	return flags & WEFT_TLS_VERIFY_PEER ? SSL_VERIFY_PEER : SSL_VERIFY_NONE;
}

/* Everything but the certificates: versions, modes, caches, verification, ALPN. */
static int ctx_setup(weft_tls_ctx *ctx, const struct weft_tls_ctx_opts *o)
{
	SSL_CTX *sc = ctx->ssl_ctx;
	bool server = o->flags & WEFT_TLS_SERVER;
	static const unsigned char sid_ctx[] = "weft";

	if (!SSL_CTX_set_min_proto_version(sc, o->min_version ? o->min_version : TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(sc, o->max_version) ||
	    (o->ciphers && !SSL_CTX_set_cipher_list(sc, o->ciphers)) ||
	    (o->ciphersuites && !SSL_CTX_set_ciphersuites(sc, o->ciphersuites)))
		return -EINVAL;
	/* Writes may complete record by record; renegotiation (TLS 1.2) would let a write need
	 * a read, which full-duplex use of one connection cannot allow. */
	SSL_CTX_set_mode(sc, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(sc, verify_mode(o->flags), NULL);
	SSL_CTX_set_ex_data(sc, weft__tls_ctx_index(), ctx);
	if (server) {
		SSL_CTX_set_session_id_context(sc, sid_ctx, sizeof(sid_ctx) - 1);
		if (o->alpn)
			SSL_CTX_set_alpn_select_cb(sc, on_alpn_select, ctx);
	} else {
		if (!(o->flags & WEFT_TLS_NO_RESUME)) {
			SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_CLIENT |
							       SSL_SESS_CACHE_NO_INTERNAL_STORE);
			SSL_CTX_sess_set_new_cb(sc, on_new_session);
		}
		if (ctx->alpn && SSL_CTX_set_alpn_protos(sc, ctx->alpn, (unsigned)ctx->alpn_len))
			return -ENOMEM;
	}
	return 0;
}

static int ctx_build(weft_tls_ctx *ctx, const struct weft_tls_ctx_opts *o)
{
	bool server = o->flags & WEFT_TLS_SERVER;
	bool has_cert = o->cert_file || o->cert_pem;
	int r;

	if ((o->cert_file && !o->key_file) || (o->cert_pem && !o->key_pem) || (server && !has_cert))
		return -EINVAL;
	if (o->alpn && (r = alpn_parse(ctx, o->alpn)))
		return r;
	ctx->ssl_ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!ctx->ssl_ctx)
		return -ENOMEM;
	r = ctx_setup(ctx, o);
	if (!r && has_cert)
		r = use_cert(ctx->ssl_ctx, o);
	if (!r)
		r = load_trust(ctx->ssl_ctx, o);
	return r;
}

static void ctx_destroy(weft_tls_ctx *ctx)
{
	for (int i = 0; i < WEFT__TLS_SESSIONS; i++) {
		free(ctx->sessions[i].name);
		SSL_SESSION_free(ctx->sessions[i].sess);
	}
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx->alpn);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

int weft_tls_ctx_new(weft_tls_ctx **ctxp, const struct weft_tls_ctx_opts *opts)
{
	static const struct weft_tls_ctx_opts none;
	const struct weft_tls_ctx_opts *o = opts ? opts : &none;
	weft_tls_ctx *ctx;
	int r;

	if (!ctxp)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	pthread_mutex_init(&ctx->lock, NULL);
	ctx->flags = o->flags;
	ctx->refs = 1;
	ERR_clear_error();
	r = ctx_build(ctx, o);
	if (r) {
		if (o->errbuf && o->errlen) {
			weft__tls_errtext(o->errbuf, o->errlen);
			if (!o->errbuf[0])
				snprintf(o->errbuf, o->errlen, "%s", weft_strerror(r));
		}
		ERR_clear_error();
		ctx_destroy(ctx);
		return r;
	}
	*ctxp = ctx;
	return 0;
}

void weft__tls_ctx_ref(weft_tls_ctx *ctx)
{
	__atomic_add_fetch(&ctx->refs, 1, __ATOMIC_RELAXED);
}

void weft_tls_ctx_free(weft_tls_ctx *ctx)
{
	if (ctx && __atomic_sub_fetch(&ctx->refs, 1, __ATOMIC_ACQ_REL) == 0)
		ctx_destroy(ctx);
}

bool weft_tls_ktls_available(void)
{
	char buf[256] = "";
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "re");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (char *save, *tok = strtok_r(buf, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save))
		if (!strcmp(tok, "tls"))
			return true;
	return false;
}

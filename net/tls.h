/* SPDX-License-Identifier: MIT */
/* TLS: the context and connection records the tls*.c files share. Private to net/. */
#ifndef WEFT_NET_TLS_H
#define WEFT_NET_TLS_H

#include <openssl/ssl.h>
#include <pthread.h>

#include "weft/tls.h"
#include "engine/module.h"

/* Client sessions kept for resumption, per context: the most recent per server name. */
#define WEFT__TLS_SESSIONS 64

struct weft__tls_session {
	char *name;
	SSL_SESSION *sess;
	uint64_t used; /* for least-recently-used replacement */
};

struct weft_tls_ctx {
	SSL_CTX *ssl_ctx;
	unsigned flags;
	int refs;	      /* the caller's + one per connection (atomic) */
	pthread_mutex_t lock; /* the session cache (contexts are shared across threads) */
	struct weft__tls_session sessions[WEFT__TLS_SESSIONS];
	uint64_t clock;
	unsigned char *alpn; /* wire format: length-prefixed names */
	size_t alpn_len;
};

/* Per-connection buffers: records received but not yet read by OpenSSL, and records OpenSSL
 * made but not yet sent. The send buffer holds a few whole records, so a write sized to its free
 * room (see tls_io.c) never makes OpenSSL wait for it. */
#define WEFT__TLS_RX_CAP     (32 * 1024)
#define WEFT__TLS_RECORD_MAX (16 * 1024 + 512) /* 16 KiB of plaintext plus any overhead */
#define WEFT__TLS_TX_CAP     (2 * WEFT__TLS_RECORD_MAX)

/* A TLS connection: the io behind the weft_stream it is handed out as. */
struct weft__tls {
	SSL *ssl;
	weft_tls_ctx *ctx;
	weft_stream *stream;
	/* the transport under TLS: a socket or a stream */
	ssize_t (*lread)(void *io, void *buf, size_t len);
	ssize_t (*lwrite)(void *io, const void *buf, size_t len);
	void *lio;
	weft_sock *sock;
	weft_stream *inner;
	struct weft_loop *loop; /* the connection's loop and thread (the thread rule) */
	pthread_t thread;
	unsigned flags;
	char *name; /* client: the server name asked for */

	char *rx; /* rx[rhead, rtail): received, not yet read by OpenSSL */
	size_t rhead, rtail;
	char *tx; /* tx[thead, ttail): records not yet sent */
	size_t thead, ttail;
	char *gather; /* a gathered write's bytes (made on first use) */
	struct weft__list rx_waiters, tx_waiters;
	int busy; /* calls in progress (abort refuses meanwhile) */
	bool rx_eof;
	bool receiving, sending;
	bool handshaken, failed;
	bool ktls_ok;	       /* kTLS asked for, over a socket: answer OpenSSL's hand-over */
	bool ktls_tx, ktls_rx; /* the kernel took the keys for sends / receives */
	int ctrl_next;	       /* kTLS: the record type OpenSSL's next write is, 0: data */
	int tx_ctrl;	       /* kTLS: tx holds one control record of this type, 0: data */
	char err[256];	       /* the last error's reason (weft_tls_error) */
	char alpn[256];	       /* weft_tls_info's copies, NUL-terminated */
	char subject[256];
};

/* tls_io.c: the BIO, moving records between OpenSSL and the transport, errors. */
BIO *weft__tls_bio_new(struct weft__tls *t);
int weft__tls_rx_fill(struct weft__tls *t);
int weft__tls_tx_flush(struct weft__tls *t);
/* Map a failed SSL call's error (SSL_get_error's @e) to a negative errno, 0 for a clean (ragged)
 * end of stream; keeps the reason in t->err and sends any alert OpenSSL queued. */
int weft__tls_fail(struct weft__tls *t, int e);
ssize_t weft__tls_read(void *io, void *buf, size_t len);
ssize_t weft__tls_writev(void *io, const struct iovec *iov, int iovcnt);

/* tls_ktls.c. OpenSSL's kTLS BIO controls (include/internal/bio.h, not installed). */
#define WEFT__BIO_CTRL_SET_KTLS			 72
#define WEFT__BIO_CTRL_SET_KTLS_TX_SEND_CTRL_MSG 74
#define WEFT__BIO_CTRL_CLEAR_KTLS_CTRL_MSG	 75
long weft__tls_ktls_ctrl(BIO *bio, struct weft__tls *t, int cmd, long num, void *ptr);
ssize_t weft__tls_ktls_send_ctrl(struct weft__tls *t);
ssize_t weft__tls_ktls_recv(struct weft__tls *t);
ssize_t weft__tls_sendfile(weft_stream *stream, struct weft__tls *t, int fd, off_t off,
			   size_t count);

/* The index of the SSL ex_data slot that points back at our context / connection. */
int weft__tls_ctx_index(void);
int weft__tls_conn_index(void);
void weft__tls_ctx_ref(weft_tls_ctx *ctx);
/* Look up a saved session for @name (a new reference) or NULL. */
SSL_SESSION *weft__tls_session_get(weft_tls_ctx *ctx, const char *name);

/* The server name a client connection was opened for (its session cache key), or NULL. */
const char *weft__tls_conn_name(const SSL *ssl);

/* The text of OpenSSL's most recent queued error (and clear the queue) into @buf. */
void weft__tls_errtext(char *buf, size_t len);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * weft/tls.h - TLS over weft sockets and streams (asyncio's open_connection(ssl=...) and
 * start_server(ssl=...)), built on OpenSSL 3. Part of the net module: the rules at the top of
 * weft/net.h apply.
 *
 * A TLS connection is a weft_stream, so read_line, read_exactly, framing (weft/frame.h) and
 * buffered writes work over it unchanged:
 *
 *     weft_tls_ctx *ctx;                        // once, shared by every connection
 *     weft_tls_ctx_new(&ctx, &(struct weft_tls_ctx_opts){0});   // client: system CA store
 *     weft_tcp_connect_host(&sock, "example.com", 443);
 *     weft_stream *st;
 *     int err = weft_tls_client(&st, sock, ctx, &(struct weft_tls_opts){
 *                                   .server_name = "example.com",   // SNI + hostname check
 *                                   .flags = WEFT_TLS_CLOSE_TRANSPORT});
 *     weft_stream_write(st, req, len);  weft_stream_read_line(st, ...);
 *     weft_stream_close(st);                    // close_notify, then the socket is closed
 *
 * A server's connection handler does: weft_tls_server(&st, conn, ctx, NULL), use @st,
 * weft_stream_close(st) (close_notify; the weft_server closes @conn as usual).
 *
 * How it runs: OpenSSL never touches the descriptor. It reads and writes records through a
 * BIO of our own that only moves bytes between two per-connection buffers; the fiber then
 * receives and sends those bytes with the transport's ordinary calls (io_uring ops on a socket).
 * No OpenSSL call can block the loop's thread, and deadlines and cancellation apply to the
 * handshake and to every read and write as to any other blocking call. A read or write cut
 * short by a cancel or deadline leaves the TLS connection intact: the next call continues.
 *
 * kTLS (contexts made with WEFT_TLS_KTLS): where the kernel offers the `tls` upper-layer
 * protocol (weft_tls_ktls_available), the record layer is handed to it after the handshake, so
 * sends (TLS 1.2 and 1.3) and receives (TLS 1.2: OpenSSL 3.0 hands over no TLS 1.3 receive
 * keys) are plaintext io_uring ops on the socket and weft_tls_sendfile() is the kernel's
 * splice. Otherwise records stay in user space, said once per process in debug mode.
 * weft_tls_info() reports per connection which directions kTLS took.
 *
 * Errors (negative errno; weft_tls_error() gives OpenSSL's reason as text):
 *   -EKEYREJECTED   a certificate was rejected: ours of the peer's (chain, expiry, host name:
 *                   X509_V_ERR_*), or the peer's of ours (it sent a certificate alert:
 *                   bad_certificate, unknown_ca, certificate_required ...).
 *   -ECONNABORTED   the peer ended the handshake or connection with any other fatal alert
 *                   (handshake_failure, protocol_version, no shared cipher ...).
 *   -EPROTO         the peer's bytes are not valid TLS (garbage, a bad record MAC, a malformed
 *                   message, a protocol violation), or the handshake failed locally.
 *   -ECONNRESET     the transport ended where TLS says more must come: mid-handshake, inside
 *                   a record (a truncated record), or (with WEFT_TLS_STRICT_EOF) at a record
 *                   boundary without close_notify; also the transport's own reset.
 *   -ENOMEM         OpenSSL ran out of memory.
 *   -ETIMEDOUT, -ECANCELED  the caller's deadline or cancellation (the connection survives
 *                   after the handshake; a handshake cut short is over).
 *   anything else   the transport's error as it reported it (-EPIPE, -EBADF ...).
 * A read returns 0 at the peer's close_notify, and also (by default, as Python's
 * suppress_ragged_eofs) when the transport ends cleanly between records without one: protocols
 * that frame their own messages (HTTP's Content-Length) stay readable from peers that skip it.
 *
 * Threads: a weft_tls_ctx is immutable once made and may be shared by connections on any loops
 * and threads (the context calls are marked Thread-safe). A connection belongs to its loop, as
 * every stream does: the connection calls are not thread-safe, and return -EXDEV from the wrong
 * thread.
 */
#ifndef WEFT_TLS_H
#define WEFT_TLS_H

#include "common.h"
#include "net.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- contexts: settings shared by many connections ------------------------------------- */

typedef struct weft_tls_ctx weft_tls_ctx;

/* Context flags (struct weft_tls_ctx_opts.flags). */
enum {
	WEFT_TLS_SERVER = 1u << 0,	 /* a server context (needs a certificate and key) */
	WEFT_TLS_NO_VERIFY = 1u << 1,	 /* client: accept any server certificate (explicit
					    opt-out of chain and host name checks; for tests) */
	WEFT_TLS_VERIFY_PEER = 1u << 2,	 /* server: ask for a client certificate, verify it if
					    one is sent */
	WEFT_TLS_REQUIRE_PEER = 1u << 3, /* server: as VERIFY_PEER, and refuse clients without */
	WEFT_TLS_NO_RESUME = 1u << 4,	 /* client: no session resumption cache */
	WEFT_TLS_KTLS = 1u << 5,	 /* hand records to the kernel where it can (see top);
					    off by default until run on a kernel with `tls` */
};

/*
 * struct weft_tls_ctx_opts - a context's settings; zero fields take defaults.
 * @flags:       WEFT_TLS_* above.
 * @cert_file, @key_file: PEM certificate chain (leaf first) and private key files.
 * @cert_pem, @key_pem:   the same from memory (NUL-terminated PEM text); used when the file
 *               is NULL. A server needs one of each; a client uses them as its certificate.
 * @ca_file:     PEM file of trust anchors to verify the peer with; @ca_pem: the same from
 *               memory. Default (both NULL): the system store for clients (OpenSSL's default
 *               paths, Debian's /etc/ssl/certs), nothing for servers.
 * @alpn:        protocols offered (client) or accepted in the server's order of preference,
 *               comma-separated: "h2,http/1.1". NULL: no ALPN. A server that shares none with
 *               the client goes on without one (as nginx does).
 * @min_version: lowest protocol version as OpenSSL numbers it (TLS1_2_VERSION = 0x0303,
 *               TLS1_3_VERSION = 0x0304); 0 is TLS 1.2. @max_version: the highest; 0 is the
 *               newest OpenSSL knows.
 * @ciphers:     TLS 1.2 cipher list (OpenSSL syntax); NULL: OpenSSL's default.
 * @ciphersuites: TLS 1.3 suites ("TLS_AES_128_GCM_SHA256:..."); NULL: OpenSSL's default (nginx's
 *               ssl_conf_command Ciphersuites sets the same list, to compare like with like).
 * @errbuf, @errlen: where weft_tls_ctx_new() writes why it failed (may be NULL).
 */
struct weft_tls_ctx_opts {
	unsigned flags;
	const char *cert_file;
	const char *key_file;
	const char *cert_pem;
	const char *key_pem;
	const char *ca_file;
	const char *ca_pem;
	const char *alpn;
	int min_version;
	int max_version;
	const char *ciphers;
	const char *ciphersuites;
	char *errbuf;
	size_t errlen;
};

/*
 * weft_tls_ctx_new - make a context from @opts (NULL: a verifying client). Reads the files it
 * names synchronously (do it at start-up, as Python's load_cert_chain). Returns 0, -EINVAL (a
 * bad option, a server without certificate or key, a key that does not match the
 * certificate, malformed PEM), -ENOENT (a file is missing), -ENOMEM. Thread-safe: callable
 * anywhere, no loop needed.
 */
WEFT_API int weft_tls_ctx_new(weft_tls_ctx **ctxp, const struct weft_tls_ctx_opts *opts);

/*
 * weft_tls_ctx_free - drop the caller's reference: the context is freed when the last
 * connection made with it is closed too. NULL is a no-op. Thread-safe.
 */
WEFT_API void weft_tls_ctx_free(weft_tls_ctx *ctx);

/* ---- connections ----------------------------------------------------------------------- */

/* Connection flags (struct weft_tls_opts.flags). */
enum {
	WEFT_TLS_CLOSE_TRANSPORT = 1u << 0, /* the TLS stream owns the socket or stream under it:
					       closing (or a failed handshake) closes it too */
	WEFT_TLS_NO_VERIFY_NAME = 1u << 1,  /* client: verify the chain but no host name (explicit
					       opt-out; required when @server_name is NULL) */
	WEFT_TLS_STRICT_EOF = 1u << 2,	    /* a transport EOF without close_notify is
					       -ECONNRESET, not 0 */
};

/*
 * struct weft_tls_opts - per-connection settings; all optional for servers.
 * @server_name: client: the name sent as SNI and checked against the certificate (an IP
 *               address literal is checked as an IP, with no SNI). Also the key of the
 *               session resumption cache.
 * @flags:       WEFT_TLS_CLOSE_TRANSPORT, WEFT_TLS_NO_VERIFY_NAME, WEFT_TLS_STRICT_EOF.
 * @stream:      the returned stream's buffer sizes (weft/stream.h).
 * @errbuf, @errlen: where a failed handshake writes its reason as text (may be NULL).
 */
struct weft_tls_opts {
	const char *server_name;
	unsigned flags;
	struct weft_stream_opts stream;
	char *errbuf;
	size_t errlen;
};

/*
 * weft_tls_client / weft_tls_server - run a TLS handshake over connected socket @sock as client
 * or server, then return the connection as a stream in *@streamp. The handshake obeys the
 * caller's deadline and cancellation. weft_stream_close() on the stream sends close_notify (one
 * small send, under the caller's deadline; it does not wait for the peer's) and frees the TLS
 * state (from plain code it skips close_notify); the socket stays the caller's
 * unless WEFT_TLS_CLOSE_TRANSPORT. Do not use @sock directly meanwhile. @opts may be NULL
 * (a client then needs WEFT_TLS_NO_VERIFY on its context, or a server_name).
 * Returns 0, or an error listed at the top (nothing is left allocated; @sock is closed only
 * with WEFT_TLS_CLOSE_TRANSPORT), -EINVAL (a client context for a server or the reverse, a
 * verifying client without a server name), -EPERM outside a fiber. Not thread-safe.
 */
WEFT_API int weft_tls_client(weft_stream **streamp, weft_sock *sock, weft_tls_ctx *ctx,
			     const struct weft_tls_opts *opts);
WEFT_API int weft_tls_server(weft_stream **streamp, weft_sock *sock, weft_tls_ctx *ctx,
			     const struct weft_tls_opts *opts);

/*
 * weft_tls_client_stream / weft_tls_server_stream - the same over any weft_stream @inner (a
 * pipe, a tty, a test double, TLS inside TLS). @inner must not be read or written directly
 * meanwhile; with WEFT_TLS_CLOSE_TRANSPORT, closing the TLS stream closes @inner.
 */
WEFT_API int weft_tls_client_stream(weft_stream **streamp, weft_stream *inner, weft_tls_ctx *ctx,
				    const struct weft_tls_opts *opts);
WEFT_API int weft_tls_server_stream(weft_stream **streamp, weft_stream *inner, weft_tls_ctx *ctx,
				    const struct weft_tls_opts *opts);

/*
 * weft_tls_abort - abortive close: free @stream and its TLS state without close_notify, and
 * reset the connection under it when that is a socket (weft_sock_abort: the peer gets
 * -ECONNRESET). A socket the caller owns must still be closed by it (weft_sock_close); with
 * WEFT_TLS_CLOSE_TRANSPORT it is closed here. Returns 0, or -EINVAL if @stream is not a TLS
 * stream, -EBUSY while a fiber is inside a call on it. Not thread-safe.
 */
WEFT_API int weft_tls_abort(weft_stream *stream);

/*
 * weft_tls_sendfile - send @count bytes of file @fd from @off over TLS stream @stream (0: to
 * the end of the file), after flushing its buffered writes. With kTLS sends on, the file is
 * spliced to the socket without passing through user memory (weft_sock_sendfile); otherwise it
 * is read and encrypted 16 KiB at a time. Returns the bytes sent (fewer if the file ended),
 * or a negative errno if nothing could be sent. Must run in a fiber; not thread-safe.
 */
WEFT_API ssize_t weft_tls_sendfile(weft_stream *stream, int fd, off_t off, size_t count);

/*
 * struct weft_tls_info - what was negotiated (weft_tls_info).
 * @version:   "TLSv1.3", "TLSv1.2".
 * @cipher:    the cipher suite's standard-ish OpenSSL name ("TLS_AES_256_GCM_SHA384").
 * @alpn:      the protocol agreed by ALPN, "" if none.
 * @server_name: the SNI name (a server: what the client asked for, "" if nothing).
 * @resumed:   the handshake resumed an earlier session (no certificate exchange).
 * @ktls_tx, @ktls_rx: the kernel encrypts sends / decrypts receives (kTLS).
 * @peer_cert: the peer sent a certificate (for a server: a client certificate).
 * @peer_subject: the peer certificate's subject, one line ("/CN=localhost"), "" without one.
 * The strings are valid while the stream is.
 */
struct weft_tls_info {
	const char *version;
	const char *cipher;
	const char *alpn;
	const char *server_name;
	bool resumed;
	bool ktls_tx;
	bool ktls_rx;
	bool peer_cert;
	const char *peer_subject;
};

/* weft_tls_info - fill @info for TLS stream @stream. 0, or -EINVAL (not a TLS stream).
 * Not thread-safe (the stream's loop only). */
WEFT_API int weft_tls_info(weft_stream *stream, struct weft_tls_info *info);

/*
 * weft_tls_error - the reason for the connection's last TLS error, as text (OpenSSL's error
 * string, or the certificate check that failed: "certificate has expired", "hostname
 * mismatch"); "" if none. Valid while the stream is. NULL if @stream is not a TLS stream.
 * Not thread-safe.
 */
WEFT_API const char *weft_tls_error(weft_stream *stream);

/*
 * weft_tls_ktls_available - whether the running kernel offers the `tls` upper-layer protocol
 * (/proc/sys/net/ipv4/tcp_available_ulp lists it; `modprobe tls` loads it). Thread-safe.
 */
WEFT_API bool weft_tls_ktls_available(void);

#ifdef __cplusplus
}
#endif
#endif

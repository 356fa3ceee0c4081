/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_tls.c - libFuzzer target for weft's TLS record path (net/tls*.c): the input
 * is what the peer sends, handed to one TLS connection through an in-memory transport in pieces
 * (so the BIO's partial records and the driver's WANT_READ resumption are exercised), as a
 * server (the input is a client's flight) or a client (a server's). Byte 0 picks the side, byte
 * 1 the piece size. Each run must end in 0 or a documented error (weft/tls.h), with nothing
 * leaked (ASan) and the loop reusable for the next input.
 *
 * Build and run: make fuzz (every target; FUZZ_SECONDS=60); seeds in tests/fuzz/corpus/tls are
 * real TLS 1.2 and 1.3 flights (a ClientHello for the server side, a server's flight, and one
 * with application data after it, for the client side).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "weft/tls.h"

#include "examples/tls_cert.h"
#include "fuzz_common.h"

static weft_loop *loop;
static weft_tls_ctx *server_ctx, *client_ctx;

struct feed {
	const uint8_t *data;
	size_t len, pos, piece;
	bool server; /* we play the server: the input is a client's flight */
};

static ssize_t feed_read(void *io, void *buf, size_t len)
{
	struct feed *f = io;
	size_t n = f->len - f->pos;

	if (n > f->piece)
		n = f->piece;
	if (n > len)
		n = len;
	memcpy(buf, f->data + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

static ssize_t feed_writev(void *io, const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len; /* what we would send the peer: dropped */
	return (ssize_t)n;
}

static const struct weft_stream_ops feed_ops = {.read = feed_read, .writev = feed_writev};

static bool documented(int r)
{
	return r >= 0 || r == -EPROTO || r == -ECONNRESET || r == -ECONNABORTED ||
	       r == -EKEYREJECTED || r == -ENOMEM;
}

static int one_input(void *arg)
{
	struct feed *f = arg;
	struct weft_tls_opts o = {.server_name = "localhost", .flags = WEFT_TLS_CLOSE_TRANSPORT};
	weft_stream *inner, *st;
	char buf[4096];
	ssize_t n;
	int r;

	FUZZ_CHECK(!weft_stream_new(&inner, &feed_ops, f, NULL), "stream_new");
	r = f->server ? weft_tls_server_stream(&st, inner, server_ctx, &o)
		      : weft_tls_client_stream(&st, inner, client_ctx, &o);
	FUZZ_CHECK(documented(r), "handshake returned %d (%s)", r, weft_strerror(r));
	if (r)
		return 0;
	while ((n = weft_stream_read(st, buf, sizeof(buf))) > 0)
		weft_stream_write(st, buf, (size_t)n);
	FUZZ_CHECK(documented((int)n), "read returned %zd (%s)", n, weft_strerror((int)n));
	weft_stream_close(st);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tls_cert ca, cert;

	(void)argc;
	(void)argv;
	if (!tls_cert_make(&ca, "fuzz CA", NULL, true, NULL, -60, 86400) ||
	    !tls_cert_make(&cert, "localhost", NULL, false, &ca, -60, 86400) ||
	    weft_tls_ctx_new(&server_ctx, &(struct weft_tls_ctx_opts){.flags = WEFT_TLS_SERVER,
								      .cert_pem = cert.cert_pem,
								      .key_pem = cert.key_pem}) ||
	    weft_tls_ctx_new(&client_ctx, &(struct weft_tls_ctx_opts){.ca_pem = ca.cert_pem}) ||
	    weft_loop_new(&loop, NULL))
		abort();
	tls_cert_free(&cert);
	tls_cert_free(&ca);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed f;
	weft_task *t;
	int status;

	if (size < 2)
		return 0;
	f = (struct feed){.data = data + 2,
			  .len = size - 2,
			  .piece = data[1] ? data[1] : 4096,
			  .server = data[0] & 1};
	if (weft_loop_spawn(loop, &t, one_input, &f, NULL) || weft_loop_run_until(loop, t, &status))
		abort();
	return 0;
}

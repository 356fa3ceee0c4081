/*
 * The TCP echo server (000_tcp_echo_server.c) over TLS: asyncio.start_server(handle_client,
 * "127.0.0.1", 8443, ssl=context). Each connection's fiber runs the TLS handshake
 * (weft_tls_server) and then uses the same stream calls as the plain server.
 *
 * By default it listens on an ephemeral port, lets two in-process TLS clients talk to it and
 * shuts down. `--forever CERT KEY` serves on 127.0.0.1:8443 with that certificate until killed;
 * try it with `openssl s_client -connect 127.0.0.1:8443`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>
#include <weft/net.h>
#include <weft/tls.h>

#include "tls_cert.h"

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

/* handle_client: one fiber per connection; @arg is the server's TLS context. */
static int handle_client(weft_sock *conn, void *arg)
{
	char line[1024], why[256] = "";
	struct weft_tls_info info;
	weft_stream *st;
	ssize_t n = 0;
	int err = weft_tls_server(&st, conn, arg,
				  &(struct weft_tls_opts){.errbuf = why, .errlen = sizeof(why)});

	if (err) {
		printf("Handshake failed: %s (%s)\n", weft_strerror(err), why);
		return err;
	}
	weft_tls_info(st, &info);
	printf("Connection: %s, %s, kTLS %s\n", info.version, info.cipher,
	       info.ktls_tx ? "on" : "off");
	while ((n = weft_stream_read_line(st, line, sizeof(line), 0)) > 0) {
		printf("Received: %.*s\n", (int)strcspn(line, "\r\n"), line);
		n = weft_stream_write(st, line, (size_t)n);
		if (n < 0)
			break;
	}
	printf("Connection closed\n");
	weft_stream_close(st); /* close_notify; the server closes @conn */
	return n < 0 ? (int)n : 0;
}

struct demo {
	const weft_sockaddr *addr;
	weft_tls_ctx *ctx;
	int id;
};

/* A client of the demo: send two lines over TLS, read their echoes. */
static int demo_client(void *arg)
{
	struct demo *d = arg;
	char buf[64];
	weft_sock *sock;
	weft_stream *st;
	int err = weft_tcp_connect(&sock, d->addr);

	if (err)
		return err;
	err = weft_tls_client(
	    &st, sock, d->ctx,
	    &(struct weft_tls_opts){.server_name = "localhost", .flags = WEFT_TLS_CLOSE_TRANSPORT});
	if (err)
		return err;
	for (int i = 1; !err && i <= 2; i++) {
		int n = snprintf(buf, sizeof(buf), "line %d from client %d\n", i, d->id);
		ssize_t r = weft_stream_write(st, buf, (size_t)n);
		if (r >= 0)
			r = weft_stream_read_line(st, buf, sizeof(buf), 0);
		if (r < 0)
			err = (int)r;
	}
	weft_stream_close(st);
	return err;
}

static int demo(weft_server *srv, const weft_sockaddr *addr, const char *ca_pem)
{
	weft_tls_ctx *ctx;
	weft_task *clients[2];
	struct demo demos[2];
	int statuses[2];

	check(weft_tls_ctx_new(&ctx, &(struct weft_tls_ctx_opts){.ca_pem = ca_pem}), "client");
	for (int i = 0; i < 2; i++) {
		demos[i] = (struct demo){addr, ctx, i + 1};
		check(weft_task_spawn(&clients[i], demo_client, &demos[i], NULL), "spawn");
	}
	check(weft_tasks_gather(clients, 2, statuses, 0), "clients");
	for (int i = 0; i < 2; i++)
		check(statuses[i], "client");
	weft_tls_ctx_free(ctx);
	check(weft_server_shutdown(srv, WEFT_SEC), "shutdown");
	return 0;
}

static int main_task(void *arg)
{
	char **files = arg; /* --forever CERT KEY, or NULL */
	struct weft_tls_ctx_opts o = {.flags = WEFT_TLS_SERVER};
	struct tls_cert ca = {0}, cert = {0};
	char text[WEFT_ADDR_STRLEN];
	weft_tls_ctx *ctx;
	weft_sockaddr addr;
	weft_sock *listener;
	weft_server *srv;

	if (files) {
		o.cert_file = files[0];
		o.key_file = files[1];
	} else if (tls_cert_make(&ca, "demo CA", NULL, true, NULL, -60, 3600) &&
		   tls_cert_make(&cert, "localhost", NULL, false, &ca, -60, 3600)) {
		o.cert_pem = cert.cert_pem;
		o.key_pem = cert.key_pem;
	}
	check(weft_tls_ctx_new(&ctx, &o), "certificate");
	check(weft_addr_parse(&addr, files ? "127.0.0.1:8443" : "127.0.0.1:0"), "address");
	check(weft_tcp_listen(&listener, &addr, NULL), "listen");
	check(weft_sock_local_addr(listener, &addr), "address");
	check(weft_server_start(&srv, listener, handle_client, ctx, NULL), "start_server");
	weft_addr_format(&addr, text, sizeof(text));
	printf("TLS server running on %s\n", text);
	if (files)
		return weft_server_wait(srv); /* serve_forever */
	demo(srv, &addr, ca.cert_pem);
	weft_server_free(srv);
	weft_tls_ctx_free(ctx);
	tls_cert_free(&cert);
	tls_cert_free(&ca);
	return 0;
}

int main(int argc, char **argv)
{
	bool forever = argc > 3 && !strcmp(argv[1], "--forever");

	setvbuf(stdout, NULL, _IOLBF, 0);
	return weft_run(main_task, forever ? argv + 2 : NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

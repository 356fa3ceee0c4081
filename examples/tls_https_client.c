/*
 * aiohttp fetching an https:// URL (the tutorial's fetch_url, over TLS):
 *
 *     async with session.get("https://localhost:PORT/hello") as response:
 *         print(response.status, await response.text())
 *
 * `make check` runs without a network, so the site is a local HTTPS server in the same process,
 * with a certificate for "localhost" issued by a CA made at start-up (examples/tls_cert.h). The
 * client trusts that CA and nothing else, and checks the name as a browser would: the URL's
 * host is sent as SNI and must match the certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>
#include <weft/net.h>
#include <weft/tls.h>

#include "net_http.h"
#include "tls_cert.h"

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

/* ---- the site: one HTTPS handler per connection ---- */

static int serve_page(weft_sock *conn, void *arg)
{
	char target[256], host[128], page[512];
	weft_stream *st;
	int err = weft_tls_server(&st, conn, arg, NULL); /* the server closes @conn */

	if (err)
		return err;
	err = http_read_request(st, target, sizeof(target), host, sizeof(host));
	if (!err) {
		snprintf(page, sizeof(page), "hello from %s%s over TLS", host, target);
		err = http_respond(st, 200, page);
	}
	weft_stream_close(st); /* close_notify */
	return err;
}

/* ---- the client: fetch_url("https://host:port/path") ---- */

/* Split "https://host:port/path" (port and path optional). */
static int parse_url(const char *url, char *host, size_t hlen, uint16_t *port, const char **path)
{
	const char *h = url + 8, *end;
	unsigned p = 443;

	if (strncmp(url, "https://", 8))
		return -EINVAL;
	end = h + strcspn(h, ":/");
	http_copy(host, hlen, h, (size_t)(end - h));
	if (*end == ':' && sscanf(end + 1, "%u", &p) != 1)
		return -EINVAL;
	*port = (uint16_t)p;
	*path = strchr(end, '/') ? strchr(end, '/') : "/";
	return 0;
}

static int fetch_url(weft_tls_ctx *ctx, const char *url, char *body, size_t len)
{
	char host[128], err_text[256] = "";
	const char *path;
	uint16_t port;
	weft_sock *sock;
	weft_stream *st;
	int status = parse_url(url, host, sizeof(host), &port, &path);

	if (!status)
		status = weft_tcp_connect_host(&sock, host, port);
	if (status)
		return status;
	status = weft_tls_client(&st, sock, ctx,
				 &(struct weft_tls_opts){.server_name = host,
							 .flags = WEFT_TLS_CLOSE_TRANSPORT,
							 .errbuf = err_text,
							 .errlen = sizeof(err_text)});
	if (status) {
		fprintf(stderr, "TLS to %s: %s (%s)\n", host, weft_strerror(status), err_text);
		return status;
	}
	status = http_request(st, host, path, body, len);
	weft_stream_close(st); /* close_notify, then the socket */
	return status;
}

static int main_task(void *arg)
{
	struct tls_cert ca, cert;
	weft_tls_ctx *server_ctx, *client_ctx;
	weft_sockaddr addr;
	weft_sock *listener;
	weft_server *srv;
	char url[64], body[512];
	int status;

	if (!tls_cert_make(&ca, "example CA", NULL, true, NULL, -60, 3600) ||
	    !tls_cert_make(&cert, "localhost", "127.0.0.1", false, &ca, -60, 3600))
		check(-ENOMEM, "certificates");
	check(weft_tls_ctx_new(&server_ctx, &(struct weft_tls_ctx_opts){.flags = WEFT_TLS_SERVER,
									.cert_pem = cert.cert_pem,
									.key_pem = cert.key_pem}),
	      "server context");
	check(weft_tls_ctx_new(&client_ctx, &(struct weft_tls_ctx_opts){.ca_pem = ca.cert_pem}),
	      "client context");

	check(weft_addr_parse(&addr, "127.0.0.1:0"), "address");
	check(weft_tcp_listen(&listener, &addr, NULL), "listen");
	check(weft_sock_local_addr(listener, &addr), "address");
	check(weft_server_start(&srv, listener, serve_page, server_ctx, NULL), "server");

	snprintf(url, sizeof(url), "https://localhost:%d/hello", weft_addr_port(&addr));
	status = fetch_url(client_ctx, url, body, sizeof(body));
	check(status, "fetch");
	printf("%d %s\n", status, body);

	check(weft_server_shutdown(srv, WEFT_SEC), "shutdown");
	weft_server_free(srv);
	weft_tls_ctx_free(client_ctx);
	weft_tls_ctx_free(server_ctx);
	tls_cert_free(&cert);
	tls_cert_free(&ca);
	return 0;
}

int main(void)
{
	return weft_run(main_task, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

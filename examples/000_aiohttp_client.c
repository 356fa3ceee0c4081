/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "Example of using aiohttp for HTTP requests".
 * Python: fetch_url(session, url) GETs a URL and returns its text; main gathers fetch_url for
 * http://example.com, http://example.org and http://example.net and prints the three results.
 *
 * `make check` runs without a network, so the three sites are served by a tiny HTTP/1.0 server
 * in the same process (examples/net_http.h), which answers by the Host header as a web server
 * with three virtual hosts would. The client part is the tutorial's: three fetches gathered
 * concurrently, results printed in request order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>
#include <weft/net.h>

#include "net_http.h"

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

/* ---- the stand-in for the three web sites ---- */

static int serve_page(weft_sock *conn, void *arg)
{
	char target[256], host[128], page[512];
	weft_stream *st;
	int err = weft_sock_stream(conn, NULL, &st);

	if (!err)
		err = http_read_request(st, target, sizeof(target), host, sizeof(host));
	if (err)
		return err;
	snprintf(page, sizeof(page),
		 "<html><head><title>%s</title></head>"
		 "<body><h1>Example Domain</h1><p>This is %s.</p></body></html>",
		 host, host);
	return http_respond(st, 200, page);
}

/* ---- the tutorial's client ---- */

struct fetch {
	const char *site; /* what the URL names */
	uint16_t port;	  /* where our stand-in listens */
	char text[1024];
};

/* fetch_url: GET the site's "/" and keep the response text. */
static int fetch_url(void *arg)
{
	struct fetch *f = arg;
	/* The URL's host goes in the Host header; the connection goes to the local stand-in. */
	int status = http_get("127.0.0.1", f->port, f->site, "/", f->text, sizeof(f->text));

	if (status < 0)
		return status;
	return status == 200 ? 0 : -EPROTO;
}

static int main_task(void *arg)
{
	const char *urls[] = {"example.com", "example.org", "example.net"};
	struct fetch f[3];
	weft_task *tasks[3];
	weft_sockaddr addr;
	weft_server *srv;
	weft_sock *listener;
	int statuses[3];

	check(weft_addr_parse(&addr, "127.0.0.1:0"), "address");
	check(weft_tcp_listen(&listener, &addr, NULL), "listen");
	check(weft_sock_local_addr(listener, &addr), "address");
	check(weft_server_start(&srv, listener, serve_page, NULL, NULL), "server");

	for (int i = 0; i < 3; i++) {
		f[i] = (struct fetch){.site = urls[i], .port = (uint16_t)weft_addr_port(&addr)};
		check(weft_task_spawn(&tasks[i], fetch_url, &f[i], NULL), "spawn");
	}
	check(weft_tasks_gather(tasks, 3, statuses, 0), "gather");
	for (int i = 0; i < 3; i++)
		printf("%s\n", f[i].text);

	check(weft_server_shutdown(srv, WEFT_SEC), "shutdown");
	weft_server_free(srv);
	return 0;
}

int main(void)
{
	return weft_run(main_task, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

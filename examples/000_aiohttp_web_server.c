/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "Example of using aiohttp to build an HTTP
 * server". Python: handle(request) answers GET / with "Hello, <name>!" (name from the query,
 * default "world"); main starts a web.TCPSite on localhost:8080, prints "Server running on
 * http://localhost:8080" and waits on an asyncio.Event forever.
 *
 * Here the server (a tiny HTTP/1.0 one, examples/net_http.h, on weft_server_start) listens on an
 * ephemeral port so `make check` can run it anywhere; instead of waiting forever, main fetches
 * "/" and "/?name=weft" from it, prints the answers, then sets the Event the tutorial waits on,
 * which stops the server gracefully. `--forever` serves on localhost:8080 until killed, as the
 * tutorial does.
 *
 * weft-example: no-valgrind ("localhost" is looked up on a pool thread, which must wake the loop;
 * valgrind serialises threads and a loop asleep in io_uring_enter holds its lock)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* handle(request): "Hello, <name>!" */
static int handle(weft_sock *conn, void *arg)
{
	char target[512], host[128], name[128], text[256];
	weft_stream *st;
	int err = weft_sock_stream(conn, NULL, &st);

	if (!err)
		err = http_read_request(st, target, sizeof(target), host, sizeof(host));
	if (err == -ENOTSUP)
		return http_respond(st, 405, "Method Not Allowed");
	if (err)
		return err;
	if (strcmp(target, "/") && strncmp(target, "/?", 2))
		return http_respond(st, 404, "Not Found");
	snprintf(text, sizeof(text), "Hello, %s!",
		 http_query(target, "name", name, sizeof(name), "world"));
	return http_respond(st, 200, text);
}

static bool forever;

static int main_task(void *arg)
{
	weft_sockaddr addr;
	weft_sock *listener;
	weft_server *srv;
	weft_event *stop;
	char body[256];
	uint16_t port;

	/* web.TCPSite(runner, "localhost", 8080) */
	check(weft_addr_resolve("localhost", forever ? 8080 : 0, AF_INET, &addr, 1), "resolve");
	check(weft_tcp_listen(&listener, &addr, NULL), "listen");
	check(weft_sock_local_addr(listener, &addr), "address");
	port = (uint16_t)weft_addr_port(&addr);
	check(weft_server_start(&srv, listener, handle, NULL, NULL), "server");
	printf("Server running on http://localhost:%u\n", port);
	fflush(stdout);

	check(weft_event_new(NULL, &stop), "event");
	if (!forever) {
		const char *paths[] = {"/", "/?name=weft"};
		for (int i = 0; i < 2; i++) {
			int status =
			    http_get("localhost", port, NULL, paths[i], body, sizeof(body));
			check(status, "GET");
			printf("GET %s -> %d %s\n", paths[i], status, body);
		}
		weft_event_set(stop);
	}
	check(weft_event_wait(stop), "wait"); /* await asyncio.Event().wait() */

	check(weft_server_shutdown(srv, WEFT_SEC), "shutdown");
	weft_server_free(srv);
	weft_event_free(stop);
	return 0;
}

int main(int argc, char **argv)
{
	forever = argc > 1 && !strcmp(argv[1], "--forever");
	return weft_run(main_task, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

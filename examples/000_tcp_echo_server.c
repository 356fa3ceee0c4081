/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "A basic TCP server ... asyncio.start_server".
 * Python: handle_client(reader, writer) prints "Connection from <peer>", then echoes each line
 * ("Received: <line>") until EOF, prints "Connection closed: <peer>" and closes; main runs
 * asyncio.start_server(handle_client, "127.0.0.1", 8888), prints "Server running on
 * 127.0.0.1:8888" and awaits server.serve_forever().
 *
 * serve_forever never returns, so by default this program listens on an ephemeral port, lets two
 * in-process clients talk to it, and then shuts the server down gracefully (what Ctrl-C would
 * do). `--forever` serves on 127.0.0.1:8888 until killed, as the tutorial does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>
#include <weft/net.h>

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

/* handle_client: one fiber per connection, run by the server. */
static int handle_client(weft_sock *conn, void *arg)
{
	char peer[WEFT_ADDR_STRLEN], line[1024];
	weft_sockaddr addr;
	weft_stream *st;
	ssize_t n;
	int err;

	weft_sock_peer_addr(conn, &addr);
	weft_addr_format(&addr, peer, sizeof(peer));
	printf("Connection from %s\n", peer);
	err = weft_sock_stream(conn, NULL, &st);
	while (!err && (n = weft_stream_read_line(st, line, sizeof(line), 0)) > 0) {
		printf("Received: %.*s\n", (int)strcspn(line, "\r\n"), line);
		n = weft_stream_write(st, line, (size_t)n); /* writer.write + drain */
		if (n < 0)
			err = (int)n;
	}
	printf("Connection closed: %s\n", peer);
	return err; /* the server closes the connection */
}

struct demo {
	const weft_sockaddr *addr;
	int id;
};

/* A client of the demo: send two lines, read their echoes. */
static int demo_client(void *arg)
{
	struct demo *d = arg;
	char buf[64];
	weft_sock *sock;
	weft_stream *st;
	int err = weft_tcp_connect(&sock, d->addr);

	if (err)
		return err;
	err = weft_sock_stream(sock, NULL, &st);
	for (int i = 1; !err && i <= 2; i++) {
		int n = snprintf(buf, sizeof(buf), "line %d from client %d\n", i, d->id);
		ssize_t r = weft_stream_write(st, buf, (size_t)n);
		if (r >= 0)
			r = weft_stream_read_line(st, buf, sizeof(buf), 0);
		if (r < 0)
			err = (int)r;
	}
	weft_sock_close(sock);
	return err;
}

static int main_task(void *arg)
{
	bool forever = *(bool *)arg;
	char text[WEFT_ADDR_STRLEN];
	weft_sockaddr addr;
	weft_sock *listener;
	weft_server *srv;
	weft_task *clients[2];
	struct demo demos[2];
	int statuses[2];

	check(weft_addr_parse(&addr, forever ? "127.0.0.1:8888" : "127.0.0.1:0"), "address");
	check(weft_tcp_listen(&listener, &addr, NULL), "listen");
	check(weft_sock_local_addr(listener, &addr), "address");
	check(weft_server_start(&srv, listener, handle_client, NULL, NULL), "start_server");
	weft_addr_format(&addr, text, sizeof(text));
	printf("Server running on %s\n", text);
	if (forever)
		return weft_server_wait(srv); /* serve_forever */

	for (int i = 0; i < 2; i++) {
		demos[i] = (struct demo){&addr, i + 1};
		check(weft_task_spawn(&clients[i], demo_client, &demos[i], NULL), "spawn");
	}
	check(weft_tasks_gather(clients, 2, statuses, 0), "clients");
	check(weft_server_shutdown(srv, WEFT_SEC), "shutdown");
	weft_server_free(srv);
	return 0;
}

int main(int argc, char **argv)
{
	bool forever = argc > 1 && !strcmp(argv[1], "--forever");

	setvbuf(stdout, NULL, _IOLBF, 0);
	return weft_run(main_task, &forever, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.17 (Streams): the TCP echo client and
 * the TCP echo server, in one program.
 * Python, server: handle_echo reads up to 100 bytes, prints "Received <msg> from <peer>" and
 * "Send: <msg>", writes them back, prints "Close the connection" and closes; main runs
 * asyncio.start_server(handle_echo, '127.0.0.1', 8888), prints "Serving on <addr>" and
 * serve_forever(). Client: tcp_echo_client('Hello World!') connects, prints "Send: ...",
 * writes, reads up to 100 bytes, prints "Received: ...", "Close the connection", closes.
 *
 * The tutorial runs them as two programs; here the server runs in a fiber (on an ephemeral port,
 * 8888 may be taken) and the client talks to it, then the server is shut down gracefully
 * instead of serving forever.
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

/* ---- the server ---- */

static int handle_echo(weft_sock *conn, void *arg)
{
	char data[100], peer[WEFT_ADDR_STRLEN];
	weft_sockaddr addr;
	ssize_t n = weft_sock_recv(conn, data, sizeof(data)); /* reader.read(100) */

	if (n < 0)
		return (int)n;
	weft_sock_peer_addr(conn, &addr);
	weft_addr_format(&addr, peer, sizeof(peer));
	printf("Received '%.*s' from %s\n", (int)n, data, peer);
	printf("Send: '%.*s'\n", (int)n, data);
	n = weft_sock_send(conn, data, (size_t)n);
	printf("Close the connection\n");
	return n < 0 ? (int)n : 0; /* the server closes the connection */
}

/* ---- the client ---- */

static int tcp_echo_client(const weft_sockaddr *server, const char *message)
{
	char data[100];
	weft_sock *sock;
	ssize_t n;

	check(weft_tcp_connect(&sock, server), "open_connection");
	printf("Send: '%s'\n", message);
	check((int)weft_sock_send(sock, message, strlen(message)), "write");
	n = weft_sock_recv(sock, data, sizeof(data));
	check((int)n, "read");
	printf("Received: '%.*s'\n", (int)n, data);
	printf("Close the connection\n");
	return weft_sock_close(sock);
}

static int main_task(void *arg)
{
	char text[WEFT_ADDR_STRLEN];
	weft_sockaddr addr;
	weft_sock *listener;
	weft_server *srv;

	check(weft_addr_parse(&addr, "127.0.0.1:0"), "address");
	check(weft_tcp_listen(&listener, &addr, NULL), "listen");
	check(weft_server_start(&srv, listener, handle_echo, NULL, NULL), "start_server");
	check(weft_server_addr(srv, &addr), "getsockname");
	weft_addr_format(&addr, text, sizeof(text));
	printf("Serving on %s\n", text);

	check(tcp_echo_client(&addr, "Hello World!"), "client");

	check(weft_server_shutdown(srv, WEFT_SEC), "shutdown");
	weft_server_free(srv);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return weft_run(main_task, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

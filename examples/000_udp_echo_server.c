/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "UDP Server" (asyncio.DatagramProtocol).
 * Python: a protocol whose datagram_received prints "Received <text> from <addr>" and sends the
 * data back with transport.sendto(data, addr); main opens it with create_datagram_endpoint
 * (local_addr=("127.0.0.1", 9999)), prints "UDP server running on 127.0.0.1:9999" and waits
 * forever.
 *
 * In weft the protocol's callback becomes a fiber looping on weft_sock_recvfrom. By default the
 * server binds an ephemeral port and a client fiber in the same process sends it three
 * datagrams, then the server task is cancelled (the tutorial's `finally: transport.close()`
 * runs). `--forever` serves 127.0.0.1:9999 until killed.
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

/* datagram_received, in a loop: print and echo every datagram. */
static int udp_server(void *arg)
{
	weft_sock *sock = arg;
	char data[2048], from_text[WEFT_ADDR_STRLEN];
	weft_sockaddr from;
	unsigned flags;
	ssize_t n;

	while ((n = weft_sock_recvfrom(sock, data, sizeof(data), &from, &flags)) >= 0) {
		weft_addr_format(&from, from_text, sizeof(from_text));
		printf("Received %.*s from %s%s\n", (int)n, data, from_text,
		       flags & WEFT_MSG_TRUNC ? " (truncated)" : "");
		n = weft_sock_sendto(sock, data, (size_t)n, &from);
		if (n < 0)
			fprintf(stderr, "sendto: %s\n", weft_strerror((int)n));
	}
	weft_sock_close(sock); /* finally: transport.close() */
	return n == -ECANCELED ? 0 : (int)n;
}

/* The demo's client: three datagrams, each echo awaited. */
static int demo_client(void *arg)
{
	const weft_sockaddr *server = arg;
	char buf[64];
	weft_sock *sock;
	int err = weft_udp_open(&sock, NULL, server, 0);

	for (int i = 1; !err && i <= 3; i++) {
		int len = snprintf(buf, sizeof(buf), "datagram %d", i);
		ssize_t n = weft_sock_send_some(sock, buf, (size_t)len);
		if (n >= 0)
			n = weft_sock_recv(sock, buf, sizeof(buf));
		if (n < 0)
			err = (int)n;
	}
	weft_sock_close(sock);
	return err;
}

static int main_task(void *arg)
{
	bool forever = *(bool *)arg;
	char text[WEFT_ADDR_STRLEN];
	weft_sockaddr addr;
	weft_sock *sock;
	weft_task *server, *client;
	int status;

	check(weft_addr_parse(&addr, forever ? "127.0.0.1:9999" : "127.0.0.1:0"), "address");
	check(weft_udp_open(&sock, &addr, NULL, 0), "create_datagram_endpoint");
	check(weft_sock_local_addr(sock, &addr), "address");
	weft_addr_format(&addr, text, sizeof(text));
	printf("UDP server running on %s\n", text);
	check(weft_task_spawn(&server, udp_server, sock, NULL), "spawn");
	if (forever)
		return weft_task_join(server, NULL);

	check(weft_task_spawn(&client, demo_client, &addr, NULL), "spawn");
	check(weft_task_join(client, &status), "join");
	check(status, "client");
	weft_task_cancel(server);
	check(weft_task_join(server, &status), "join");
	return status;
}

int main(int argc, char **argv)
{
	bool forever = argc > 1 && !strcmp(argv[1], "--forever");

	setvbuf(stdout, NULL, _IOLBF, 0);
	return weft_run(main_task, &forever, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "UDP Client".
 * Python: create_datagram_endpoint(remote_addr=("127.0.0.1", 9999)), transport.sendto(b"Hello,
 * UDP Server!"), print "Sent: Hello, UDP Server!", sleep 1 s "for the server response", close.
 *
 * The tutorial's client ignores the answer (its protocol has no datagram_received). Here the
 * client waits up to that second for the echo and prints it; so that there is one, a minimal
 * echo responder runs in the same process on an ephemeral port, standing in for
 * 000_udp_echo_server (its 9999 may be taken on this machine). Times are scaled 1:5.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>
#include <weft/net.h>

#define SECOND (WEFT_SEC / 5) /* one tutorial second, scaled down */

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int udp_client(const weft_sockaddr *server)
{
	const char message[] = "Hello, UDP Server!";
	char reply[64];
	weft_sock *sock;
	weft_scope scope;
	ssize_t n;

	check(weft_udp_open(&sock, NULL, server, 0), "create_datagram_endpoint");
	check((int)weft_sock_send_some(sock, message, sizeof(message) - 1), "sendto");
	printf("Sent: %s\n", message);
	/* await asyncio.sleep(1), listening meanwhile */
	check(weft_scope_enter(&scope, weft_now() + SECOND, 0), "scope");
	n = weft_sock_recv(sock, reply, sizeof(reply));
	weft_scope_exit(&scope);
	if (n >= 0)
		printf("Received: %.*s\n", (int)n, reply);
	else
		printf("No reply: %s\n", weft_strerror((int)n));
	weft_sock_close(sock); /* transport.close() */
	return n < 0 ? (int)n : 0;
}

/* The stand-in server: echo one datagram. */
static int echo_once(void *arg)
{
	weft_sock *sock = arg;
	char buf[64];
	weft_sockaddr from;
	ssize_t n = weft_sock_recvfrom(sock, buf, sizeof(buf), &from, NULL);

	if (n >= 0)
		n = weft_sock_sendto(sock, buf, (size_t)n, &from);
	return n < 0 ? (int)n : 0;
}

static int main_task(void *arg)
{
	weft_sockaddr addr;
	weft_sock *server;
	weft_task *echo;
	int status;

	check(weft_addr_parse(&addr, "127.0.0.1:0"), "address");
	check(weft_udp_open(&server, &addr, NULL, 0), "server");
	check(weft_sock_local_addr(server, &addr), "address");
	check(weft_task_spawn(&echo, echo_once, server, NULL), "spawn");

	check(udp_client(&addr), "client");

	check(weft_task_join(echo, &status), "join");
	weft_sock_close(server);
	return status;
}

int main(void)
{
	return weft_run(main_task, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

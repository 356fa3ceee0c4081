/*
 * Seed: shared/seeds/002_c090b335120b1163.txt, "Using Asyncio with Sockets": the TCP server and
 * the client sending lines typed with input(), in one program.
 * Python, server: handle_connection loops reader.read(100) until EOF, printing "Received: <msg>"
 * and writing it back; main serves 127.0.0.1:8888 forever. Client: loops input('Enter a
 * message: '), writes the message, drains, prints "Sent: <msg>".
 *
 * input() would block the event loop; here each line is read on the default thread pool
 * (weft_executor_default_run, asyncio.to_thread), so the loop keeps serving meanwhile. The server runs in a
 * fiber of the same program on an ephemeral port. At end of input the client closes and the
 * server is shut down; when stdin is empty from the start (as under `make check`, which gives
 * /dev/null) the client sends three demo lines instead.
 *
 * weft-example: no-valgrind (a pool thread wakes the loop; valgrind serialises threads and a loop
 * asleep in io_uring_enter holds its lock)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

static int handle_connection(weft_sock *conn, void *arg)
{
	char data[100];
	ssize_t n;

	while ((n = weft_sock_recv(conn, data, sizeof(data))) > 0) {
		printf("Received: %.*s\n", (int)n, data);
		n = weft_sock_send(conn, data, (size_t)n);
		if (n < 0)
			break;
	}
	return n < 0 ? (int)n : 0;
}

/* ---- the client ---- */

/* input(): one line from stdin, on a pool thread. 1 with a line, 0 at EOF. */
static int input_line(void *arg)
{
	char *line = arg;

	if (!fgets(line, 256, stdin))
		return 0;
	line[strcspn(line, "\n")] = 0;
	return 1;
}

static int send_messages(weft_sock *writer)
{
	static const char *const demo[] = {"Hello", "How are you?", "Bye"};
	char message[256], echo[256];
	int got = 0;

	for (unsigned i = 0;; i++) {
		int have;
		printf("Enter a message: ");
		fflush(stdout);
		check(weft_executor_default_run(input_line, message, &have), "input");
		if (!have && (got || i >= 3))
			break;
		if (!have) /* nothing on stdin at all: the demo lines */
			snprintf(message, sizeof(message), "%s", demo[i]);
		else
			got = 1;
		if (!isatty(0)) /* a terminal echoed the line already */
			printf("%s\n", message);
		check((int)weft_sock_send(writer, message, strlen(message)), "write");
		printf("Sent: %s\n", message);
		/* The server echoes; read it so its "Received" and our next prompt keep their order. */
		check((int)weft_sock_recv(writer, echo, sizeof(echo)), "read");
	}
	printf("\n");
	return 0;
}

static int main_task(void *arg)
{
	weft_sockaddr addr;
	weft_sock *listener, *sock;
	weft_server *srv;

	check(weft_addr_parse(&addr, "127.0.0.1:0"), "address");
	check(weft_tcp_listen(&listener, &addr, NULL), "listen");
	check(weft_sock_local_addr(listener, &addr), "address");
	check(weft_server_start(&srv, listener, handle_connection, NULL, NULL), "start_server");

	check(weft_tcp_connect(&sock, &addr), "open_connection");
	check(send_messages(sock), "client");
	weft_sock_close(sock);

	check(weft_server_shutdown(srv, WEFT_SEC), "shutdown");
	weft_server_free(srv);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return weft_run(main_task, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

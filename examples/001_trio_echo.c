/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.21.1 (Trio): the echo client
 * (sender + receiver in a nursery) and the echo server (trio.serve_tcp), in one program.
 * Python, server: echo_server(stream) numbers each connection, then loops receive_some(16384) /
 * send_all, printing "echo_server <n>: received data ...", "... sending data ...", and
 * "... connection closed" at EOF; main is trio.serve_tcp(echo_server, 12345). Client: connects,
 * opens a nursery with sender (prints and sends a sentence every second, forever) and receiver
 * (prints what comes back; exits the program when the connection closes).
 *
 * The server runs in a fiber here (weft_tcp_serve, on an ephemeral port) and is cancelled at the
 * end, which is how serve_tcp stops. The sender sends three times (not forever) and then closes
 * its direction, so the server sees EOF and closes, and the receiver sees the close - the
 * tutorial's exit path, reached on its own. The one-second period is scaled 1:10.
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>
#include <weft/net.h>

#define SECOND	(WEFT_SEC / 10) /* one tutorial second, scaled down */
#define BUFSIZE 16384

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

/* ---- the server ---- */

static int connection_counter;

static int echo_server(weft_sock *stream, void *arg)
{
	int ident = connection_counter++;
	char data[BUFSIZE];

	printf("echo_server %d: started\n", ident);
	for (;;) {
		ssize_t n = weft_sock_recv(stream, data, sizeof(data));
		if (n < 0) {
			printf("echo_server %d: crashed: %s\n", ident, weft_strerror((int)n));
			return 0;
		}
		printf("echo_server %d: received data '%.*s'\n", ident, (int)n, data);
		if (n == 0) {
			printf("echo_server %d: connection closed\n", ident);
			return 0;
		}
		printf("echo_server %d: sending data '%.*s'\n", ident, (int)n, data);
		n = weft_sock_send(stream, data, (size_t)n);
		if (n < 0)
			return (int)n;
	}
}

struct serving {
	weft_sockaddr addr;
	weft_event *ready;
};

static void started(weft_server *srv, void *arg)
{
	struct serving *sv = arg;

	weft_server_addr(srv, &sv->addr); /* the port the kernel picked */
	weft_event_set(sv->ready);
}

static int server_main(void *arg)
{
	struct serving *sv = arg;
	struct weft_server_opts opts = {.on_start = started, .arg = sv};
	int err = weft_tcp_serve(&sv->addr, echo_server, NULL, &opts);

	return err == -ECANCELED ? 0 : err; /* serve_tcp ends when cancelled */
}

/* ---- the client ---- */

static int sender(void *arg)
{
	static const char data[] = "async can sometimes be confusing, but I believe in you!";
	weft_sock *stream = arg;

	printf("sender: started!\n");
	for (int i = 0; i < 3; i++) {
		printf("sender: sending '%s'\n", data);
		check((int)weft_sock_send(stream, data, sizeof(data) - 1), "send_all");
		check(weft_sleep(SECOND), "sleep");
	}
	return weft_sock_shutdown(stream, SHUT_WR); /* no more to say */
}

static int receiver(void *arg)
{
	weft_sock *stream = arg;
	char data[BUFSIZE];

	printf("receiver: started!\n");
	for (;;) {
		ssize_t n = weft_sock_recv(stream, data, sizeof(data));
		check((int)n, "receive_some");
		printf("receiver: got data '%.*s'\n", (int)n, data);
		if (n == 0) {
			printf("receiver: connection closed\n");
			return 0;
		}
	}
}

static int client(const weft_sockaddr *addr)
{
	char text[WEFT_ADDR_STRLEN];
	weft_sock *stream;
	weft_group *nursery;

	weft_addr_format(addr, text, sizeof(text));
	printf("parent: connecting to %s\n", text);
	check(weft_tcp_connect(&stream, addr), "open_tcp_stream");
	check(weft_group_open(&nursery), "open_nursery");
	printf("parent: spawning sender...\n");
	check(weft_group_spawn(nursery, sender, stream, NULL), "start_soon");
	printf("parent: spawning receiver...\n");
	check(weft_group_spawn(nursery, receiver, stream, NULL), "start_soon");
	check(weft_group_close(nursery), "nursery");
	return weft_sock_close(stream);
}

static int main_task(void *arg)
{
	struct serving sv;
	weft_task *server;
	int status;

	check(weft_addr_parse(&sv.addr, "127.0.0.1:0"), "address");
	check(weft_event_new(NULL, &sv.ready), "event");
	check(weft_task_spawn(&server, server_main, &sv, NULL), "spawn");
	check(weft_event_wait(sv.ready), "wait");

	check(client(&sv.addr), "client");

	weft_task_cancel(server);
	check(weft_task_join(server, &status), "join");
	weft_event_free(sv.ready);
	return status;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return weft_run(main_task, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

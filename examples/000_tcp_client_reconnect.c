/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, "A TCP client ... asyncio.open_connection ...
 * with reconnect logic". Python: tcp_client(host, port) loops: open_connection, print
 * "Connected to <host>:<port>", write "Hello, Server!\n", readline, print "Received: <line>",
 * close and stop; on ConnectionRefusedError / TimeoutError print "Connection failed, retrying
 * in 5 seconds..." and sleep 5 s.
 *
 * The loop is weft_tcp_connect_retry (exponential backoff with jitter instead of a fixed 5 s; its
 * on_retry callback prints the tutorial's message). So that the run shows both the failures and
 * the success on its own, an echo server comes up in the same process a little later (it stands
 * in for the 000_tcp_echo_server example started in another terminal). Times are scaled 1:25.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>
#include <weft/net.h>

#define SECOND (WEFT_SEC / 25) /* one tutorial second, scaled down */

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static void on_retry(void *arg, unsigned attempt, int err, int64_t delay)
{
	printf("Connection failed (%s), retrying in %.1f seconds...\n", weft_strerror(err),
	       (double)delay / SECOND);
}

static int tcp_client(const char *host, uint16_t port)
{
	struct weft_retry_opts retry = {.initial_ns = 1 * SECOND,
					.max_ns = 5 * SECOND,
					.attempt_ns = 5 * SECOND, /* asyncio.TimeoutError */
					.on_retry = on_retry};
	char line[256];
	weft_sock *sock;
	weft_stream *st;
	ssize_t n;
	int err;

	check(weft_tcp_connect_retry(&sock, host, port, &retry), "connect");
	printf("Connected to %s:%u\n", host, port);
	check(weft_sock_stream(sock, NULL, &st), "stream");
	check((int)weft_stream_write(st, "Hello, Server!\n", 15), "write");
	n = weft_stream_read_line(st, line, sizeof(line), 0);
	check((int)n, "readline");
	printf("Received: %.*s\n", (int)strcspn(line, "\n"), line);
	err = weft_sock_close(sock); /* writer.close(); await writer.wait_closed() */
	check(err, "close");
	return 0;
}

/* ---- the server the client waits for ---- */

static int echo_line(weft_sock *conn, void *arg)
{
	char line[256];
	weft_stream *st;
	ssize_t n;
	int err = weft_sock_stream(conn, NULL, &st);

	if (!err && (n = weft_stream_read_line(st, line, sizeof(line), 0)) > 0)
		err = weft_stream_write(st, line, (size_t)n) < 0 ? -EIO : 0;
	return err;
}

struct late {
	weft_sockaddr addr;
	weft_event *done; /* the client has finished: the server may go */
};

static int late_server(void *arg)
{
	struct late *l = arg;
	weft_sock *listener;
	weft_server *srv;
	int err = weft_sleep(3 * SECOND);

	if (err)
		return err;
	check(weft_tcp_listen(&listener, &l->addr, NULL), "listen");
	printf("(the server is up now)\n");
	check(weft_server_start(&srv, listener, echo_line, NULL, NULL), "server");
	err = weft_event_wait(l->done);
	check(weft_server_shutdown(srv, SECOND), "shutdown");
	weft_server_free(srv);
	return err;
}

static int main_task(void *arg)
{
	struct late late;
	weft_sock *probe;
	weft_task *server;
	int status;

	/* A free port for the late server (the tutorial's 8888 may be taken on this machine). */
	check(weft_addr_parse(&late.addr, "127.0.0.1:0"), "address");
	check(weft_tcp_listen(&probe, &late.addr, NULL), "listen");
	check(weft_sock_local_addr(probe, &late.addr), "address");
	weft_sock_close(probe);
	check(weft_event_new(NULL, &late.done), "event");

	check(weft_task_spawn(&server, late_server, &late, NULL), "spawn");
	check(tcp_client("127.0.0.1", (uint16_t)weft_addr_port(&late.addr)), "client");
	weft_event_set(late.done);
	check(weft_task_join(server, &status), "join");
	weft_event_free(late.done);
	return status;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	return weft_run(main_task, NULL, NULL) ? EXIT_FAILURE : EXIT_SUCCESS;
}

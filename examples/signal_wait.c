/*
 * Graceful shutdown on SIGINT / SIGTERM (asyncio's loop.add_signal_handler).
 * A "server" task does periodic work until a signal arrives; a watcher task waits for SIGINT or
 * SIGTERM through a signalfd read on the ring, then cancels the server, which cleans up and
 * ends. So that `make check` can run it, the program sends itself SIGTERM after 150 ms
 * (run it with an argument, e.g. `signal_wait wait`, to wait for a real Ctrl-C instead).
 * The signals are blocked in main() before anything else starts, so every thread inherits the
 * mask and the signals wait in the kernel for the watcher.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <weft.h>
#include <weft/signal.h>

static int server(void *arg)
{
	int ticks = 0, err;

	while ((err = weft_sleep(50 * WEFT_MSEC)) == 0)
		printf("server: tick %d\n", ++ticks);
	printf("server: cancelled after %d ticks, closing connections\n", ticks);
	return err == -ECANCELED ? 0 : err;
}

static int self_signal(void *arg)
{
	int err = weft_sleep(150 * WEFT_MSEC);
	return err ? err : kill(getpid(), SIGTERM);
}

struct app {
	weft_signal *sig;
	bool self_signal; /* no argument given: end on our own SIGTERM */
};

static int async_main(void *arg)
{
	struct app *app = arg;
	struct signalfd_siginfo info;
	weft_task *srv;
	int status, signo;
	int err = weft_task_spawn(&srv, server, NULL, NULL);
	if (err)
		return err;
	if (app->self_signal && (err = weft_task_spawn(NULL, self_signal, NULL, NULL)))
		return err;
	signo = weft_signal_wait(app->sig, &info); /* parks: the server keeps ticking */
	if (signo < 0)
		return signo;
	printf("got %s from pid %u: shutting down\n", strsignal(signo), info.ssi_pid);
	weft_task_cancel(srv);
	err = weft_task_join(srv, &status);
	return err ? err : status;
}

int main(int argc, char **argv)
{
	struct app app = {.self_signal = argc < 2};
	sigset_t set;
	int err;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	err = weft_signal_open(&app.sig, &set); /* before any thread or loop exists */
	if (!err)
		err = weft_run(async_main, &app, NULL);
	weft_signal_close(app.sig);
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	printf("clean exit\n");
	return 0;
}

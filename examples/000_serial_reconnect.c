/* SPDX-License-Identifier: MIT */
/*
 * 000 - "To handle reconnections when a serial resource is physically disconnected"
 * (pyserial-asyncio): a SerialReconnector protocol prints what arrives, and when the connection
 * is lost keeps calling create_serial_connection every 5 seconds until the port is back.
 *
 * In weft that loop is weft_serial_supervise(): it opens the port, runs a session function, and
 * when the device vanishes (-EIO) reopens it with backoff; its notify callback prints the
 * tutorial's messages. With no hardware around, the example plays the device itself: a pty
 * reached through a symlink in a temporary directory (as udev's /dev/serial/by-id links are).
 * It unplugs the device (the link goes, the pty closes), waits, and plugs a new one in behind
 * the same path. Time runs 1:50 (retries every 100 ms, not 5 s); after the second connection has
 * delivered its data, the supervisor is cancelled and the program ends.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "weft/serial.h"

struct lab {
	char dir[64], link[96], gone[96];
	int opened;   /* connections made */
	int received; /* messages the sessions printed */
};

/* ---- the application: the SerialReconnector -------------------------------------------------- */

static void on_event(void *arg, enum weft_serial_event ev, int err, int64_t delay_ns)
{
	struct lab *lab = arg;

	switch (ev) {
	case WEFT_SERIAL_OPENED:
		printf("%s to %s\n",
		       lab->opened++ ? "Reconnected successfully, connected" : "Connected",
		       lab->link);
		break;
	case WEFT_SERIAL_LOST:
		printf("Connection lost, attempting to reconnect...\n");
		break;
	case WEFT_SERIAL_OPEN_FAILED:
		printf("Reconnection failed: %s, retrying in %.1f seconds...\n", weft_strerror(err),
		       (double)delay_ns / WEFT_SEC);
		break;
	}
}

/* data_received: print each chunk as it comes. */
static int session(weft_serial *port, void *arg)
{
	struct lab *lab = arg;
	char buf[128];
	ssize_t n;

	while ((n = weft_serial_read(port, buf, sizeof(buf))) > 0) {
		printf("Received: %.*s\n", (int)n, buf);
		lab->received++;
	}
	return (int)n; /* -EIO: the device is gone; the supervisor reconnects */
}

static int reconnector(void *arg)
{
	struct lab *lab = arg;
	const struct weft_serial_supervise_opts opts = {
	    .backoff_min_ns = 100 * WEFT_MSEC, /* the tutorial's 5 s, at 1:50 */
	    .backoff_max_ns = 100 * WEFT_MSEC,
	    .notify = on_event,
	    .notify_arg = lab,
	};

	return weft_serial_supervise(lab->link, &(struct weft_serial_config){.baud = 9600}, session,
				     lab, &opts);
}

/* ---- the simulated hardware ------------------------------------------------------------------ */

static int plug_in(struct lab *lab, int *master)
{
	char pts[64], tmp[128];

	*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*master < 0 || grantpt(*master) || unlockpt(*master) ||
	    ptsname_r(*master, pts, sizeof(pts)))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.new", lab->link);
	unlink(tmp);
	return symlink(pts, tmp) || rename(tmp, lab->link) ? -1 : 0;
}

static int unplug(struct lab *lab, int master)
{
	char tmp[128];

	snprintf(tmp, sizeof(tmp), "%s.new", lab->link);
	unlink(tmp);
	if (symlink(lab->gone, tmp) || rename(tmp, lab->link))
		return -1;
	return close(master);
}

/* Wait (polling: it is only a demo) until *@counter reaches @n. */
static int until(const int *counter, int n)
{
	while (*counter < n)
		if (weft_sleep(WEFT_MSEC))
			return -1;
	return 0;
}

static int amain(void *arg)
{
	struct lab *lab = arg;
	weft_task *app;
	int master, st;

	if (plug_in(lab, &master) || weft_task_spawn(&app, reconnector, lab, NULL))
		return -1;
	if (until(&lab->opened, 1) || write(master, "hello from the device", 21) != 21 ||
	    until(&lab->received, 1))
		return -1;
	unplug(lab, master);
	weft_sleep(250 * WEFT_MSEC); /* unplugged for a while: a few failed attempts */
	if (plug_in(lab, &master) || until(&lab->opened, 2) ||
	    write(master, "back again", 10) != 10 || until(&lab->received, 2))
		return -1;
	weft_task_cancel(app); /* the tutorial runs forever; we stop here */
	weft_task_join(app, &st);
	printf("Supervisor stopped: %s\n", weft_strerror(st));
	close(master);
	return st == -ECANCELED ? 0 : -1;
}

int main(void)
{
	struct lab lab = {0};
	int r;

	snprintf(lab.dir, sizeof(lab.dir), "/tmp/weft-serial-XXXXXX");
	if (!mkdtemp(lab.dir))
		return 1;
	snprintf(lab.link, sizeof(lab.link), "%s/ttyUSB0", lab.dir);
	snprintf(lab.gone, sizeof(lab.gone), "%s/unplugged", lab.dir);
	r = weft_run(amain, &lab, NULL);
	unlink(lab.link);
	rmdir(lab.dir);
	return r == 0 ? 0 : 1;
}

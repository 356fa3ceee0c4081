/* SPDX-License-Identifier: MIT */
/*
 * 000 - "Example of reading data from a serial port" (pyserial-asyncio): a SerialReader protocol
 * on /dev/ttyU0 at 9600 baud that splits the byte stream into tagged messages - tag 1: a length
 * byte and that many bytes; tag 2: bytes up to "\n"; any other tag byte is reported and dropped.
 *
 * In weft the protocol class becomes a framer (WEFT_FRAME_TAGGED is exactly that protocol) read
 * by a fiber. With no serial hardware around, the example makes its own device: a pty, whose
 * master side a second fiber drives, sending messages in pieces (as a slow line would) with a
 * stray byte between them. The tutorial runs forever; here the device unplugs at the end, the
 * read reports the vanished device (-EIO), and the program ends.
 *
 * Usage: 000_serial_asyncio_reader [TTY]   (a real port instead of the built-in device)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "weft/serial.h"

/* What the simulated device sends: the tutorial's two kinds of message and one unknown tag. */
static const uint8_t messages[] = {
    1, 5,   'h', 'e', 'l', 'l', 'o',				/* tag 1: length-prefixed */
    2, 'w', 'o', 'r', 'l', 'd', '\n',				/* tag 2: newline-terminated */
    9,								/* unknown tag: dropped */
    1, 10,  't', 'e', 'm', 'p', '=',  '2', '1', '.', '5',  'C', /* tag 1 again */
    2, 's', 't', 'a', 't', 'u', 's',  ' ', 'O', 'K', '\n',
};

static int device(void *arg)
{
	int master = *(int *)arg;

	/* Three bytes at a time, a little apart: frames arrive split, as on a real line. */
	for (size_t i = 0; i < sizeof(messages); i += 3) {
		size_t n = sizeof(messages) - i < 3 ? sizeof(messages) - i : 3;
		if (write(master, messages + i, n) != (ssize_t)n)
			return -1;
		weft_sleep(2 * WEFT_MSEC);
	}
	weft_sleep(20 * WEFT_MSEC);
	close(master); /* unplugged */
	return 0;
}

/* The SerialReader protocol: print each message by its tag. */
static int serial_reader(weft_serial *port)
{
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_TAGGED,
					     .flags = WEFT_FRAME_REPORT_SKIPPED};
	struct weft_frame fr;
	weft_stream *stream;
	weft_framer *framer;
	ssize_t r;

	if ((r = weft_serial_stream(port, NULL, &stream)) ||
	    (r = weft_framer_new(&framer, stream, &spec)))
		return (int)r;
	for (;;) {
		r = weft_framer_next(framer, &fr);
		if (r == -EBADMSG) {
			printf("Unknown tag: %u\n", fr.tag);
			continue;
		}
		if (r <= 0)
			break;
		printf("Tag %u: Received message: %.*s\n", fr.tag, (int)fr.payload_len,
		       (const char *)fr.payload);
	}
	weft_framer_free(framer);
	return (int)r;
}

static int amain(void *arg)
{
	const char *tty = arg;
	char path[64];
	int master = -1, r;
	weft_task *dev = NULL;
	weft_serial *port;

	if (!tty) {
		master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (master < 0 || grantpt(master) || unlockpt(master) ||
		    ptsname_r(master, path, sizeof(path)))
			return -1;
		tty = path;
	}
	/* serial_asyncio.create_serial_connection(loop, SerialReader, tty, baudrate=9600) */
	r = weft_serial_open(&port, tty, &(struct weft_serial_config){.baud = 9600});
	if (r) {
		fprintf(stderr, "open %s: %s\n", tty, weft_strerror(r));
		return r;
	}
	if (master >= 0 && (r = weft_task_spawn(&dev, device, &master, NULL)))
		return r;
	r = serial_reader(port);
	printf("Connection closed: %s\n", r == -EIO ? "device gone" : weft_strerror(r));
	weft_serial_close(port);
	if (dev)
		weft_task_join(dev, NULL);
	return r == -EIO || r == 0 ? 0 : r;
}

int main(int argc, char **argv)
{
	return weft_run(amain, argc > 1 ? argv[1] : NULL, NULL) == 0 ? 0 : 1;
}

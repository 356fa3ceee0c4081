/* SPDX-License-Identifier: MIT */
/* serial/ internals: the port record, the kernel's termios2 without its header, the I/O waits. */
#ifndef WEFT_SERIAL_PORT_H
#define WEFT_SERIAL_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "weft/executor.h"
#include "weft/scope.h"
#include "weft/serial.h"
#include "weft/time.h"

struct weft_serial {
	int fd;
	bool is_tty;
	bool pty;	       /* a pty slave: no transmitter to wait for once TIOCOUTQ is 0 */
	bool reading, writing; /* a fiber is inside a read / a write (one of each at a time) */
	bool poll_read;	       /* IORING_OP_READ said EAGAIN: read(2) after POLL_ADD instead */
	uint32_t baud;	       /* the applied rate, for drain's sleeps (0: unknown) */
	weft_stream *stream;   /* made by weft_serial_stream(); owns the port once made */
};

/*
 * The kernel's struct termios2 (asm/termbits.h), mirrored so that files using <termios.h>'s
 * flag names never see that header: the two declare different structs of the same name.
 * The flag values are the same in both (glibc copies the kernel's).
 */
#define WEFT__TTY_NCCS 19
struct weft__tty {
	uint32_t iflag, oflag, cflag, lflag;
	uint8_t line;
	uint8_t cc[WEFT__TTY_NCCS];
	uint32_t ispeed, ospeed;
};

/* termios2.c: TCGETS2 / TCSETS2 (TCSANOW) and the speed bits. 0 or a negative errno. */
int weft__tty_get(int fd, struct weft__tty *t);
int weft__tty_set(int fd, const struct weft__tty *t);
/* Encode @baud: a standard rate as its Bxxx code, any other as BOTHER; input follows output. */
void weft__tty_set_speed(struct weft__tty *t, uint32_t baud);

/* port.c: close the fd and free the record (the stream, if any, is the caller's business). */
int weft__serial_destroy(struct weft_serial *port);

/* io.c: the port's errno after a failed syscall, -EIO for a hang-up. */
int weft__serial_errno(const struct weft_serial *port, int err);

#endif

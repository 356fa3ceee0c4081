/* SPDX-License-Identifier: MIT */
/*
 * Line control: modem lines, break, flush and drain.
 *
 * Drain: tcdrain() sleeps in the kernel until the output is on the wire - at 9600 baud, a 4 KiB
 * queue takes four seconds - and cannot be interrupted but by a signal. Handing the whole wait to
 * a thread (weft_executor_default_run) would tie a pool thread up for that long, and a cancel would still
 * have to wait for it (the fd must stay valid while the thread uses it). So the fiber sleeps on
 * the loop while TIOCOUTQ shows bytes queued, re-checking after roughly the time they take to
 * send. Once the kernel's queue is empty only the UART's FIFO is left: serial_core drivers report
 * that through TIOCSERGETLSR (polled likewise); for drivers without it, tcdrain() finishes the job
 * on the default thread pool, where it now waits one FIFO's worth of time at most. A pty has no
 * transmitter: its empty queue is the end.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "port.h"

#define DRAIN_MIN_NS (1 * WEFT_MSEC)
#define DRAIN_MAX_NS (100 * WEFT_MSEC)
#define BREAK_NS     (250 * WEFT_MSEC)

static int port_ioctl(const struct weft_serial *port, unsigned long req, void *arg)
{
	return ioctl(port->fd, req, arg) < 0 ? weft__serial_errno(port, -errno) : 0;
}

/* ---- modem lines ----------------------------------------------------------------------------- */

static const struct {
	unsigned weft, tiocm;
} lines[] = {
    {WEFT_SERIAL_DTR, TIOCM_DTR}, {WEFT_SERIAL_RTS, TIOCM_RTS}, {WEFT_SERIAL_CTS, TIOCM_CTS},
    {WEFT_SERIAL_DSR, TIOCM_DSR}, {WEFT_SERIAL_DCD, TIOCM_CAR}, {WEFT_SERIAL_RI, TIOCM_RNG},
};
#define NLINES (sizeof(lines) / sizeof(lines[0]))

int weft_serial_modem_get(weft_serial *port, unsigned *out)
{
	int bits, err;

	if (!port || !out)
		return -EINVAL;
	if ((err = port_ioctl(port, TIOCMGET, &bits)))
		return err;
	*out = 0;
	for (size_t i = 0; i < NLINES; i++)
		if (bits & (int)lines[i].tiocm)
			*out |= lines[i].weft;
	return 0;
}

static int to_tiocm(unsigned weft)
{
	int bits = 0;

	for (size_t i = 0; i < NLINES; i++)
		if (weft & lines[i].weft)
			bits |= (int)lines[i].tiocm;
	return bits;
}

int weft_serial_modem_set(weft_serial *port, unsigned mask, unsigned values)
{
	const unsigned outputs = WEFT_SERIAL_DTR | WEFT_SERIAL_RTS;
	int on = to_tiocm(mask & values), off = to_tiocm(mask & ~values), err = 0;

	if (!port || !mask || (mask & ~outputs))
		return -EINVAL;
	/* BIS/BIC rather than GET+SET: no window in which another line could be overwritten. */
	if (on)
		err = port_ioctl(port, TIOCMBIS, &on);
	if (!err && off)
		err = port_ioctl(port, TIOCMBIC, &off);
	return err;
}

/* ---- flush ----------------------------------------------------------------------------------- */

int weft_serial_flush(weft_serial *port, unsigned which)
{
	static const int how[] = {[WEFT_SERIAL_FLUSH_INPUT] = TCIFLUSH,
				  [WEFT_SERIAL_FLUSH_OUTPUT] = TCOFLUSH,
				  [WEFT_SERIAL_FLUSH_INPUT | WEFT_SERIAL_FLUSH_OUTPUT] = TCIOFLUSH};

	if (!port || !which || which > (WEFT_SERIAL_FLUSH_INPUT | WEFT_SERIAL_FLUSH_OUTPUT))
		return -EINVAL;
	if (tcflush(port->fd, how[which]) < 0)
		return weft__serial_errno(port, -errno);
	/* Not under a reader parked in the transport: the stream would append its read to bytes
	 * that are gone. It keeps what it had buffered then. */
	if ((which & WEFT_SERIAL_FLUSH_INPUT) && port->stream && !port->reading)
		weft_stream_consume(port->stream, weft_stream_buffered(port->stream));
	return 0;
}

/* ---- drain ----------------------------------------------------------------------------------- */

/* How long @bytes take to leave at the port's rate (11 bits a character covers start, 8 data,
 * parity and stop bits), clamped: an unknown rate or a pty re-checks every millisecond. */
static int64_t send_time(const struct weft_serial *port, int bytes)
{
	int64_t ns = port->baud ? (int64_t)bytes * 11 * WEFT_SEC / port->baud : 0;

	return ns < DRAIN_MIN_NS ? DRAIN_MIN_NS : ns > DRAIN_MAX_NS ? DRAIN_MAX_NS : ns;
}

static int wait_queue_empty(struct weft_serial *port)
{
	int queued, err;

	while (!(err = port_ioctl(port, TIOCOUTQ, &queued)) && queued > 0)
		if ((err = weft_sleep(send_time(port, queued))))
			break;
	return err;
}

/* 1 once the transmitter is empty, 0 if not yet, -ENOTTY/-EINVAL when the driver cannot say. */
static int transmitter_empty(const struct weft_serial *port)
{
	int lsr, err = port_ioctl(port, TIOCSERGETLSR, &lsr);

	return err ? err : !!(lsr & TIOCSER_TEMT);
}

static int tcdrain_job(void *arg)
{
	return tcdrain(*(const int *)arg) < 0 ? -errno : 0;
}

int weft_serial_drain(weft_serial *port)
{
	int err, r;

	if (!port)
		return -EINVAL;
	if ((err = weft_checkpoint()) || (err = wait_queue_empty(port)) || port->pty)
		return err;
	while ((r = transmitter_empty(port)) == 0)
		if ((err = weft_sleep(DRAIN_MIN_NS)))
			return err;
	if (r == 1)
		return 0;
	if (r != -ENOTTY && r != -EINVAL)
		return r;
	err = weft_executor_default_run(tcdrain_job, &port->fd, &r);
	return err ? err : weft__serial_errno(port, r);
}

/* ---- break ----------------------------------------------------------------------------------- */

int weft_serial_send_break(weft_serial *port, int64_t duration_ns)
{
	int err, off;

	if (!port || duration_ns < 0)
		return -EINVAL;
	/* TIOCSBRK itself waits (blocking) until the output is sent: drain it on the loop first. */
	if ((err = weft_serial_drain(port)) || (err = port_ioctl(port, TIOCSBRK, NULL)))
		return err;
	err = weft_sleep(duration_ns ? duration_ns : BREAK_NS);
	/* End the break whatever cut the sleep short: a line left in break is a dead line. */
	off = port_ioctl(port, TIOCCBRK, NULL);
	return err ? err : off;
}

/* SPDX-License-Identifier: MIT */
/*
 * weft/serial.h - serial ports (pyserial-asyncio's create_serial_connection), framed protocols
 * and a reconnecting supervisor.
 *
 *     struct weft_serial_config cfg = {.baud = 115200};        // 8N1, raw, no flow control
 *     weft_serial *port;
 *     int err = weft_serial_open(&port, "/dev/ttyUSB0", &cfg);
 *     weft_stream *s;
 *     err = weft_serial_stream(port, NULL, &s);               // read_line, peek, write ...
 *     ...
 *     weft_serial_close(port);
 *
 * Reads and writes: the port's fd is non-blocking, so no kernel worker thread ever sits blocked
 * in a tty read. A read is an IORING_OP_READ through the loop's ring, which Linux 6.4+ serves by
 * arming its internal poll when no byte is waiting; on older kernels (the read completes with
 * EAGAIN instead) the port falls back to IORING_OP_POLL_ADD, then read(2). Either way, cancelling
 * a read (or its deadline expiring) is prompt: it cancels a poll. Writes call write(2) and wait
 * for POLLOUT through the ring when the tty's buffer is full.
 *
 * A vanished device: when the device goes away (USB unplug, the master side of a pty closed, the
 * carrier dropped with WEFT_SERIAL_MODEM) the kernel hangs the tty up. Every read, write and
 * control call of the port then returns -EIO ("device gone"), including a read that was parked
 * waiting; a plain end of file cannot happen on a raw port, so it is reported the same way. Close
 * the port and open the path again (weft_serial_supervise() does that for you).
 *
 * Ptys stand in for hardware in tests: they take any baud rate, stop bits and flow control and
 * report them back, but silently force 8 data bits without parity (so asking a pty for 7E1
 * fails with -EOPNOTSUPP), have no modem lines (-ENOTTY) and ignore breaks.
 *
 * A port belongs to the loop of the fiber that uses it; none of these calls is thread-safe.
 * Calls that may wait must run in a fiber (-EPERM otherwise) and honour the calling task's
 * cancellation and deadlines (weft/scope.h). One reader and one writer fiber may use a port at
 * the same time; a second concurrent reader (or writer) gets -EBUSY.
 */
#ifndef WEFT_SERIAL_H
#define WEFT_SERIAL_H

#include <sys/types.h>

#include "common.h"
#include "frame.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_serial weft_serial;

/* Parity for struct weft_serial_config. MARK and SPACE use the CMSPAR ("stick parity") bit. */
enum weft_serial_parity {
	WEFT_SERIAL_PARITY_NONE = 0,
	WEFT_SERIAL_PARITY_EVEN,
	WEFT_SERIAL_PARITY_ODD,
	WEFT_SERIAL_PARITY_MARK,
	WEFT_SERIAL_PARITY_SPACE,
};

/* Flow control for struct weft_serial_config. */
enum weft_serial_flow {
	WEFT_SERIAL_FLOW_NONE = 0,
	WEFT_SERIAL_FLOW_RTSCTS,  /* hardware: CRTSCTS */
	WEFT_SERIAL_FLOW_XONXOFF, /* software: IXON | IXOFF */
};

/* Flags for struct weft_serial_config. */
#define WEFT_SERIAL_EXCLUSIVE (1u << 0) /* TIOCEXCL: further opens fail with -EBUSY (not root's) */
#define WEFT_SERIAL_COOKED    (1u << 1) /* keep the line discipline's processing (no raw mode) */
#define WEFT_SERIAL_MODEM     (1u << 2) /* honour DCD (clear CLOCAL): carrier loss hangs up */
#define WEFT_SERIAL_NO_HUPCL  (1u << 3) /* keep DTR/RTS up after the last close (HUPCL off) */

/*
 * struct weft_serial_config - line settings. Zero fields mean the defaults, so {0} is 9600 8N1,
 * raw, no flow control.
 * @baud:      bits per second, any value: the standard rates are set through their Bxxx codes,
 *             any other through termios2's BOTHER (the driver must support it). 0 = 9600.
 * @data_bits: 5, 6, 7 or 8; 0 = 8.
 * @stop_bits: 1 or 2; 0 = 1.
 * @parity:    an enum weft_serial_parity.
 * @flow:      an enum weft_serial_flow.
 * @flags:     WEFT_SERIAL_* flags above.
 * Raw mode (the default) turns every byte transformation of the line discipline off (no echo,
 * no line editing, no CR/LF mapping, no signals) and makes a read return as soon as one byte is
 * there. With parity on, received parity is checked (INPCK): a byte with a parity error reads
 * as 0.
 */
struct weft_serial_config {
	uint32_t baud;
	uint8_t data_bits;
	uint8_t stop_bits;
	uint8_t parity;
	uint8_t flow;
	uint32_t flags;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/* ---- opening and configuring ----------------------------------------------------------------- */

/*
 * weft_serial_open - open the tty at @path and apply @config (NULL: all defaults).
 * The fd is opened O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC (never blocks waiting for a
 * carrier). The settings are applied and read back: a setting the driver silently refused
 * fails the open with -EOPNOTSUPP instead of leaving the port half-configured.
 * Returns 0 and sets *@portp; -EINVAL (bad @config value), -ENOTTY (@path is not a tty),
 * -EOPNOTSUPP (setting refused by the driver), -EBUSY (someone holds it with TIOCEXCL), or
 * open(2)'s error (-ENOENT, -EACCES, -ENXIO ...), -ENOMEM.
 * Plain system calls that never block: may be called from a fiber or from plain code.
 */
WEFT_API int weft_serial_open(weft_serial **portp, const char *path,
			      const struct weft_serial_config *config);

/*
 * weft_serial_adopt - wrap an fd that is already open (stdin, an fd from a parent, a pty master)
 * without configuring it. The port takes the fd over (weft_serial_close() closes it) and makes
 * it non-blocking. Any fd poll(2) works on is accepted (a pipe too: it then reads 0 at its end,
 * where a tty reports a hang-up as -EIO). Returns 0 and sets *@portp, -EBADF, -ENOMEM.
 * May be called from plain code. Note that O_NONBLOCK is a property of the open file
 * description, shared with every dup of the fd.
 */
WEFT_API int weft_serial_adopt(weft_serial **portp, int fd);

/*
 * weft_serial_configure - apply @config to an open port (reconfigure), then read it back.
 * Takes effect at once (TCSANOW): bytes still queued for output go at the new settings; call
 * weft_serial_drain() first if that matters. On -EOPNOTSUPP (a setting the driver refused) the
 * previous settings are restored. Returns 0, -EINVAL, -EOPNOTSUPP, -ENOTTY (not a tty), -EIO
 * (device gone). May be called from plain code.
 */
WEFT_API int weft_serial_configure(weft_serial *port, const struct weft_serial_config *config);

/*
 * weft_serial_get_config - read the settings the kernel is applying now into @config (the actual
 * baud rate, which a driver may have rounded, from termios2). WEFT_SERIAL_COOKED is reported when
 * any line-discipline processing is on, WEFT_SERIAL_EXCLUSIVE from TIOCGEXCL.
 * Returns 0, -ENOTTY, -EIO (device gone), -EINVAL (NULL argument).
 */
WEFT_API int weft_serial_get_config(weft_serial *port, struct weft_serial_config *config);

/*
 * weft_serial_close - close the port: its stream (if weft_serial_stream() made one) is closed
 * with weft_stream_close() (flushing buffered writes: that part must run in a fiber), then the
 * fd. Returns 0 or the first error (the port is freed either way), except -EBUSY: a fiber is
 * inside a stream call on the port, and nothing was closed. NULL is a no-op.
 * Must not be called while another fiber is inside a call on the port.
 */
WEFT_API int weft_serial_close(weft_serial *port);

/* weft_serial_fd - the port's fd, for ioctls weft does not wrap (RS-485, low latency...). */
WEFT_API int weft_serial_fd(const weft_serial *port);

/* ---- data ------------------------------------------------------------------------------------ */

/*
 * weft_serial_stream - the port's buffered stream (weft/stream.h: read_exactly, read_until,
 * peek/consume, buffered writes). Made on the first call with @opts (NULL: the stream defaults);
 * later calls return the same stream and ignore @opts. The port owns it: weft_serial_close()
 * closes it, and weft_stream_close() on it closes the whole port (as asyncio's writer.close()
 * closes the transport); do not weft_stream_free() it. Returns 0 and sets *@streamp, -EINVAL,
 * -ENOMEM. Do not mix weft_serial_read() with stream reads: the stream may hold bytes already
 * read.
 */
WEFT_API int weft_serial_stream(weft_serial *port, const struct weft_stream_opts *opts,
				weft_stream **streamp);

/*
 * weft_serial_read - read up to @len bytes, waiting (parked on the ring) until at least one is
 * there. Every call parks the fiber until the loop's next turn at least (fair to other fibers).
 * Returns the count (> 0), 0 only for a non-tty adopted fd at its end (or a cooked tty's
 * end-of-file character), -EIO when the device is gone, -ECANCELED / -ETIMEDOUT, -EBUSY (another
 * fiber is reading), -EPERM outside a fiber. Bytes that arrived are never lost to a cancel.
 */
WEFT_API ssize_t weft_serial_read(weft_serial *port, void *buf, size_t len);

/*
 * weft_serial_write - write all @len bytes, waiting for room in the tty's output buffer through
 * the ring. Returns @len, -EIO when the device is gone, -ECANCELED / -ETIMEDOUT (some bytes may
 * have been written: use the stream's weft_stream_written() to count them), -EBUSY (another fiber
 * is writing), -EPERM outside a fiber.
 */
WEFT_API ssize_t weft_serial_write(weft_serial *port, const void *buf, size_t len);

/*
 * weft_serial_drain - wait until the output has been transmitted (tcdrain) without blocking the
 * loop: the fiber sleeps while TIOCOUTQ reports bytes in the kernel's output queue (re-checking
 * after the time those bytes take at the port's baud rate, 1-100 ms), then while the UART's
 * transmitter is busy (TIOCSERGETLSR, 1 ms steps). Drivers that cannot report the transmitter
 * (USB adapters) get a final tcdrain() on the default thread pool (weft_executor_default_run), which by then
 * only waits for the adapter's own FIFO. A pty is done once its queue is empty.
 * Bytes buffered in the port's stream are not flushed: call weft_stream_flush() first.
 * Returns 0, -EIO, -ECANCELED / -ETIMEDOUT (prompt, except during the final tcdrain: at most one
 * FIFO's transmit time), -EPERM outside a fiber.
 */
WEFT_API int weft_serial_drain(weft_serial *port);

/* For weft_serial_flush(). */
#define WEFT_SERIAL_FLUSH_INPUT	 (1u << 0) /* received, not yet read: tty and stream buffers */
#define WEFT_SERIAL_FLUSH_OUTPUT (1u << 1) /* written, not yet transmitted (kernel queue only) */

/*
 * weft_serial_flush - discard queued data (tcflush). FLUSH_INPUT also drops the bytes the
 * port's stream buffered but nobody read (unless a fiber is parked reading the port right now).
 * Returns 0, -EINVAL (no or unknown flag), -EIO.
 * Never blocks; may be called from plain code.
 */
WEFT_API int weft_serial_flush(weft_serial *port, unsigned which);

/* ---- modem lines and break ------------------------------------------------------------------- */

/* Modem lines, for weft_serial_modem_get() / weft_serial_modem_set(). */
#define WEFT_SERIAL_DTR (1u << 0) /* output: data terminal ready */
#define WEFT_SERIAL_RTS (1u << 1) /* output: request to send */
#define WEFT_SERIAL_CTS (1u << 2) /* input: clear to send */
#define WEFT_SERIAL_DSR (1u << 3) /* input: data set ready */
#define WEFT_SERIAL_DCD (1u << 4) /* input: data carrier detect */
#define WEFT_SERIAL_RI	(1u << 5) /* input: ring indicator */

/*
 * weft_serial_modem_get - read the modem lines (TIOCMGET) into *@lines (WEFT_SERIAL_* bits).
 * Returns 0, -ENOTTY (the device has no modem lines: ptys), -EIO, -EINVAL.
 */
WEFT_API int weft_serial_modem_get(weft_serial *port, unsigned *lines);

/*
 * weft_serial_modem_set - set the output lines in @mask (WEFT_SERIAL_DTR and/or WEFT_SERIAL_RTS)
 * to their values in @lines, leaving the others alone (TIOCMBIS / TIOCMBIC).
 * Returns 0, -EINVAL (@mask empty or naming an input line), -ENOTTY (no modem lines: ptys), -EIO.
 */
WEFT_API int weft_serial_modem_set(weft_serial *port, unsigned mask, unsigned lines);

/*
 * weft_serial_send_break - hold the line in break for @duration_ns (0: 250 ms): output is
 * drained first (weft_serial_drain), then TIOCSBRK, a fiber sleep, TIOCCBRK. The break is ended
 * even when the sleep is cut short by a cancel or deadline (whose error is returned then).
 * Ptys accept and ignore it. Returns 0, -EIO, -ECANCELED / -ETIMEDOUT, -EPERM outside a fiber.
 */
WEFT_API int weft_serial_send_break(weft_serial *port, int64_t duration_ns);

/* Framing (fixed, length-prefixed, delimited, tagged, custom) is in weft/frame.h: it works on
 * any weft_stream, serial or not. */

/* ---- reconnecting ---------------------------------------------------------------------------- */

/* What happened, for struct weft_serial_supervise_opts.notify. */
enum weft_serial_event {
	WEFT_SERIAL_OPENED,	 /* the port is open; the session starts */
	WEFT_SERIAL_LOST,	 /* the session ended with -EIO (device gone): reopening */
	WEFT_SERIAL_OPEN_FAILED, /* an open failed with @err; retrying after @delay_ns */
};

/* A session: runs while the port is open. Must not close @port (the supervisor does). */
typedef int (*weft_serial_session_fn)(weft_serial *port, void *arg);

/* Flags for struct weft_serial_supervise_opts. */
#define WEFT_SERIAL_SUPERVISE_NO_JITTER (1u << 0) /* exact backoff delays (tests) */

/*
 * struct weft_serial_supervise_opts - optional settings of weft_serial_supervise(); zero fields
 * mean the defaults.
 * @backoff_min_ns: the first retry delay (default 100 ms); each failed open doubles it...
 * @backoff_max_ns: ... up to this (default 5 s). A successful open resets it.
 * @max_attempts:   give up after this many failed opens in a row and return the last error
 *                  (0: never give up).
 * @flags:          WEFT_SERIAL_SUPERVISE_* flags. Delays are randomised by +-25% unless
 *                  NO_JITTER, so many ports do not retry in lockstep.
 * @notify:         called (from the supervising fiber; it must not block) on every event.
 */
struct weft_serial_supervise_opts {
	int64_t backoff_min_ns;
	int64_t backoff_max_ns;
	unsigned max_attempts;
	unsigned flags;
	void (*notify)(void *arg, enum weft_serial_event event, int err, int64_t delay_ns);
	void *notify_arg;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/*
 * weft_serial_supervise - keep @path open and run @session on it, pyserial's reconnect loop:
 * open the port with @config (the open fails while the device is absent: -ENOENT, -ENODEV,
 * -ENXIO, -EIO, -EBUSY, -EACCES are retried after the backoff delay), run @session(port, @arg),
 * close the port; if the session returned -EIO (device gone), start again; otherwise return
 * the session's status. Also returns: -ECANCELED / -ETIMEDOUT when the calling task is cancelled
 * or its deadline passes (while waiting, or as the session's own status); the last open error
 * after @opts->max_attempts failures; a non-retryable open error at once (-EINVAL, -ENOTTY,
 * -EOPNOTSUPP). @opts may be NULL. Must run in a fiber.
 */
WEFT_API int weft_serial_supervise(const char *path, const struct weft_serial_config *config,
				   weft_serial_session_fn session, void *arg,
				   const struct weft_serial_supervise_opts *opts);

#ifdef __cplusplus
}
#endif
#endif

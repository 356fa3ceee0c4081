/* SPDX-License-Identifier: MIT */
/*
 * The reconnect loop of the pyserial-asyncio tutorial, as a library call: open, run the session,
 * and when the device vanishes, reopen with exponential backoff until it is back.
 */
#include <errno.h>

#include "engine/module.h"
#include "port.h"

#define BACKOFF_MIN_NS (100 * WEFT_MSEC)
#define BACKOFF_MAX_NS (5 * WEFT_SEC)
#define JITTER_PCT     25

/* Open errors that mean "not there (yet)": the device node is missing or being re-created,
 * its driver is still binding, someone else holds it, or udev has not fixed its mode yet. */
static bool retryable(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
	case -EIO:
	case -EBUSY:
	case -EACCES:
	case -EPERM:
		return true;
	}
	return false;
}

/* @delay randomised by +-JITTER_PCT, so that ports unplugged together do not retry in step. */
static int64_t jitter(int64_t delay, uint64_t *seed)
{
	uint64_t x = *seed;
	int64_t span;

	x ^= x << 13; /* xorshift64: cheap and good enough to spread retries */
	x ^= x >> 7;
	x ^= x << 17;
	*seed = x;
	span = delay / 100 * JITTER_PCT; /* no overflow, whatever the delay */
	return delay - span + (int64_t)(x % (uint64_t)(2 * span + 1));
}

static void notify(const struct weft_serial_supervise_opts *o, enum weft_serial_event ev, int err,
		   int64_t delay)
{
	if (o->notify)
		o->notify(o->notify_arg, ev, err, delay);
}

/* Open @path, retrying with backoff. */
static int open_retrying(weft_serial **portp, const char *path,
			 const struct weft_serial_config *config,
			 const struct weft_serial_supervise_opts *o, uint64_t *seed)
{
	int64_t backoff = o->backoff_min_ns, delay;
	unsigned failures = 0;
	int err;

	for (;;) {
		if ((err = weft_checkpoint()))
			return err;
		err = weft_serial_open(portp, path, config);
		if (!err || !retryable(err))
			return err;
		if (o->max_attempts && ++failures >= o->max_attempts)
			return err;
		delay =
		    o->flags & WEFT_SERIAL_SUPERVISE_NO_JITTER ? backoff : jitter(backoff, seed);
		notify(o, WEFT_SERIAL_OPEN_FAILED, err, delay);
		if ((err = weft_sleep(delay)))
			return err;
		backoff = backoff > o->backoff_max_ns / 2 ? o->backoff_max_ns : backoff * 2;
	}
}

int weft_serial_supervise(const char *path, const struct weft_serial_config *config,
			  weft_serial_session_fn session, void *arg,
			  const struct weft_serial_supervise_opts *opts)
{
	struct weft_serial_supervise_opts o = opts ? *opts : (struct weft_serial_supervise_opts){0};
	uint64_t seed = (uint64_t)weft_now() ^ (uint64_t)(uintptr_t)&o;
	weft_serial *port;
	int status;

	if (!path || !session || o.backoff_min_ns < 0 || o.backoff_max_ns < 0 ||
	    weft__reserved_bad(opts))
		return -EINVAL;
	if (!o.backoff_min_ns)
		o.backoff_min_ns = BACKOFF_MIN_NS;
	if (!o.backoff_max_ns)
		o.backoff_max_ns = BACKOFF_MAX_NS;
	if (o.backoff_max_ns < o.backoff_min_ns)
		o.backoff_max_ns = o.backoff_min_ns;
	seed |= 1; /* xorshift must not start at 0 */
	for (;;) {
		status = open_retrying(&port, path, config, &o, &seed);
		if (status)
			return status;
		notify(&o, WEFT_SERIAL_OPENED, 0, 0);
		status = session(port, arg);
		weft_serial_close(port);
		if (status != -EIO)
			return status;
		notify(&o, WEFT_SERIAL_LOST, status, 0);
	}
}

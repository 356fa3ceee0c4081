/* SPDX-License-Identifier: MIT */
/*
 * Line settings: struct weft_serial_config <-> termios bits. Every change is read back: drivers
 * silently drop settings they cannot do (CMSPAR, odd baud rates, 5-bit words; a locked termios
 * keeps its bits), and a port that quietly runs 7E1 instead of 8N1 is worse than an error.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "engine/module.h"
#include "port.h"

_Static_assert(VMIN < WEFT__TTY_NCCS && VTIME < WEFT__TTY_NCCS, "termios layout");

#define ALL_FLAGS \
	(WEFT_SERIAL_EXCLUSIVE | WEFT_SERIAL_COOKED | WEFT_SERIAL_MODEM | WEFT_SERIAL_NO_HUPCL)

/* Raw mode clears these (cfmakeraw's set, plus IXANY); COOKED leaves them alone. */
#define RAW_IFLAG (IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXANY)
#define RAW_OFLAG (OPOST)
#define RAW_LFLAG (ECHO | ECHONL | ICANON | ISIG | IEXTEN)

/* Bits every configuration decides, raw or not. */
#define CFG_IFLAG (IXON | IXOFF | INPCK)
#define CFG_CFLAG (CSIZE | CSTOPB | PARENB | PARODD | CMSPAR | CRTSCTS | CLOCAL | HUPCL | CREAD)

/* What a configuration wants: the values, and which bits of each word it decided. */
struct tty_want {
	struct weft__tty t;
	uint32_t imask, omask, cmask, lmask;
	bool raw;
};

/* Fill in the defaults and check the ranges. */
static int normalise(const struct weft_serial_config *in, struct weft_serial_config *c)
{
	if (weft__reserved_bad(in))
		return -EINVAL;
	*c = in ? *in : (struct weft_serial_config){0};
	if (!c->baud)
		c->baud = 9600;
	if (!c->data_bits)
		c->data_bits = 8;
	if (!c->stop_bits)
		c->stop_bits = 1;
	if (c->data_bits < 5 || c->data_bits > 8 || c->stop_bits > 2 ||
	    c->parity > WEFT_SERIAL_PARITY_SPACE || c->flow > WEFT_SERIAL_FLOW_XONXOFF ||
	    (c->flags & ~ALL_FLAGS))
		return -EINVAL;
	return 0;
}

static uint32_t csize_bits(unsigned data_bits)
{
	static const uint32_t cs[] = {CS5, CS6, CS7, CS8};

	return cs[data_bits - 5];
}

static uint32_t parity_bits(unsigned parity)
{
	switch (parity) {
	case WEFT_SERIAL_PARITY_EVEN:
		return PARENB;
	case WEFT_SERIAL_PARITY_ODD:
		return PARENB | PARODD;
	case WEFT_SERIAL_PARITY_MARK: /* stick parity: PARODD selects mark */
		return PARENB | CMSPAR | PARODD;
	case WEFT_SERIAL_PARITY_SPACE:
		return PARENB | CMSPAR;
	}
	return 0;
}

static void set_bits(uint32_t *word, uint32_t *mask, uint32_t bits, uint32_t values)
{
	*word = (*word & ~bits) | (values & bits);
	*mask |= bits;
}

/* The termios that applies @c on top of @cur. */
static void build(const struct weft_serial_config *c, const struct weft__tty *cur,
		  struct tty_want *w)
{
	uint32_t cflag = CREAD | csize_bits(c->data_bits) | parity_bits(c->parity);
	uint32_t iflag = c->parity ? INPCK : 0;

	w->t = *cur;
	w->imask = w->omask = w->cmask = w->lmask = 0;
	w->raw = !(c->flags & WEFT_SERIAL_COOKED);
	if (c->stop_bits == 2)
		cflag |= CSTOPB;
	if (c->flow == WEFT_SERIAL_FLOW_RTSCTS)
		cflag |= CRTSCTS;
	if (c->flow == WEFT_SERIAL_FLOW_XONXOFF)
		iflag |= IXON | IXOFF;
	if (!(c->flags & WEFT_SERIAL_MODEM))
		cflag |= CLOCAL;
	if (!(c->flags & WEFT_SERIAL_NO_HUPCL))
		cflag |= HUPCL;
	set_bits(&w->t.cflag, &w->cmask, CFG_CFLAG, cflag);
	set_bits(&w->t.iflag, &w->imask, CFG_IFLAG, iflag);
	if (w->raw) {
		set_bits(&w->t.iflag, &w->imask, RAW_IFLAG, 0);
		set_bits(&w->t.oflag, &w->omask, RAW_OFLAG, 0);
		set_bits(&w->t.lflag, &w->lmask, RAW_LFLAG, 0);
		/* A read returns as soon as one byte is there; no inter-byte timer. */
		w->t.cc[VMIN] = 1;
		w->t.cc[VTIME] = 0;
	}
	weft__tty_set_speed(&w->t, c->baud);
}

/* Whether the rate a driver applied is close enough to the one asked for: UARTs tolerate a
 * few percent between the two ends, so a driver's rounding to its divisor (within 2%) is fine. */
static bool rate_ok(uint32_t want, uint32_t got)
{
	uint64_t diff = want > got ? want - got : got - want;

	return diff * 50 <= want;
}

static bool applied(const struct tty_want *w, const struct weft__tty *got)
{
	const struct weft__tty *t = &w->t;

	if ((got->iflag ^ t->iflag) & w->imask || (got->oflag ^ t->oflag) & w->omask ||
	    (got->cflag ^ t->cflag) & w->cmask || (got->lflag ^ t->lflag) & w->lmask)
		return false;
	if (w->raw && (got->cc[VMIN] != t->cc[VMIN] || got->cc[VTIME] != t->cc[VTIME]))
		return false;
	return rate_ok(t->ospeed, got->ospeed);
}

static int set_exclusive(int fd, bool on)
{
	int r = ioctl(fd, on ? TIOCEXCL : TIOCNXCL);

	return r < 0 ? -errno : 0;
}

int weft_serial_configure(weft_serial *port, const struct weft_serial_config *config)
{
	struct weft_serial_config c;
	struct weft__tty old, got;
	struct tty_want w;
	int err;

	if (!port)
		return -EINVAL;
	if ((err = normalise(config, &c)))
		return err;
	if ((err = weft__tty_get(port->fd, &old)))
		return weft__serial_errno(port, err);
	build(&c, &old, &w);
	if ((err = weft__tty_set(port->fd, &w.t)) || (err = weft__tty_get(port->fd, &got)))
		return weft__serial_errno(port, err);
	if (!applied(&w, &got)) {
		weft__tty_set(port->fd, &old);
		return -EOPNOTSUPP;
	}
	if ((err = set_exclusive(port->fd, c.flags & WEFT_SERIAL_EXCLUSIVE)))
		return weft__serial_errno(port, err);
	port->baud = got.ospeed;
	return 0;
}

static unsigned parity_of(uint32_t cflag)
{
	if (!(cflag & PARENB))
		return WEFT_SERIAL_PARITY_NONE;
	if (cflag & CMSPAR)
		return cflag & PARODD ? WEFT_SERIAL_PARITY_MARK : WEFT_SERIAL_PARITY_SPACE;
	return cflag & PARODD ? WEFT_SERIAL_PARITY_ODD : WEFT_SERIAL_PARITY_EVEN;
}

static unsigned flow_of(const struct weft__tty *t)
{
	if (t->cflag & CRTSCTS)
		return WEFT_SERIAL_FLOW_RTSCTS;
	if (t->iflag & (IXON | IXOFF))
		return WEFT_SERIAL_FLOW_XONXOFF;
	return WEFT_SERIAL_FLOW_NONE;
}

static unsigned flags_of(int fd, const struct weft__tty *t)
{
	unsigned flags = 0;
	int excl = 0;

	if ((t->iflag & RAW_IFLAG) || (t->oflag & RAW_OFLAG) || (t->lflag & RAW_LFLAG))
		flags |= WEFT_SERIAL_COOKED;
	if (!(t->cflag & CLOCAL))
		flags |= WEFT_SERIAL_MODEM;
	if (!(t->cflag & HUPCL))
		flags |= WEFT_SERIAL_NO_HUPCL;
	/* TIOCGEXCL is Linux 3.8+; without it exclusivity is simply not reported. */
	if (ioctl(fd, TIOCGEXCL, &excl) == 0 && excl)
		flags |= WEFT_SERIAL_EXCLUSIVE;
	return flags;
}

int weft_serial_get_config(weft_serial *port, struct weft_serial_config *config)
{
	static const uint8_t bits[] = {
	    [CS5 >> 4] = 5, [CS6 >> 4] = 6, [CS7 >> 4] = 7, [CS8 >> 4] = 8};
	struct weft__tty t;
	int err;

	if (!port || !config)
		return -EINVAL;
	if ((err = weft__tty_get(port->fd, &t)))
		return weft__serial_errno(port, err);
	_Static_assert(CSIZE >> 4 == 3, "CSIZE layout");
	*config = (struct weft_serial_config){
	    .baud = t.ospeed,
	    .data_bits = bits[(t.cflag & CSIZE) >> 4],
	    .stop_bits = t.cflag & CSTOPB ? 2 : 1,
	    .parity = (uint8_t)parity_of(t.cflag),
	    .flow = (uint8_t)flow_of(&t),
	    .flags = flags_of(port->fd, &t),
	};
	return 0;
}

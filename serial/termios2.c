/* SPDX-License-Identifier: MIT */
/*
 * The one file that talks termios2 (TCGETS2 / TCSETS2, any baud rate through BOTHER). It
 * includes <asm/termbits.h>, whose struct termios clashes with <termios.h>'s, so nothing else
 * here may include <termios.h>; the rest of serial/ sees struct weft__tty instead.
 */
#include <asm/ioctls.h>
#include <asm/termbits.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "port.h"

_Static_assert(NCCS == WEFT__TTY_NCCS, "struct termios2 changed");

static void to_kernel(struct termios2 *k, const struct weft__tty *t)
{
	memset(k, 0, sizeof(*k));
	k->c_iflag = t->iflag;
	k->c_oflag = t->oflag;
	k->c_cflag = t->cflag;
	k->c_lflag = t->lflag;
	k->c_line = t->line;
	memcpy(k->c_cc, t->cc, sizeof(k->c_cc));
	k->c_ispeed = t->ispeed;
	k->c_ospeed = t->ospeed;
}

int weft__tty_get(int fd, struct weft__tty *t)
{
	struct termios2 k;

	if (ioctl(fd, TCGETS2, &k) < 0)
		return -errno;
	t->iflag = k.c_iflag;
	t->oflag = k.c_oflag;
	t->cflag = k.c_cflag;
	t->lflag = k.c_lflag;
	t->line = k.c_line;
	memcpy(t->cc, k.c_cc, sizeof(t->cc));
	t->ispeed = k.c_ispeed;
	t->ospeed = k.c_ospeed;
	return 0;
}

int weft__tty_set(int fd, const struct weft__tty *t)
{
	struct termios2 k;

	to_kernel(&k, t);
	return ioctl(fd, TCSETS2, &k) < 0 ? -errno : 0;
}

/* Rates with a Bxxx code: drivers without BOTHER support still take these. */
static const struct {
	uint32_t rate;
	uint32_t code;
} std_rates[] = {
    {50, B50},		 {75, B75},	      {110, B110},	   {134, B134},
    {150, B150},	 {200, B200},	      {300, B300},	   {600, B600},
    {1200, B1200},	 {1800, B1800},	      {2400, B2400},	   {4800, B4800},
    {9600, B9600},	 {19200, B19200},     {38400, B38400},	   {57600, B57600},
    {115200, B115200},	 {230400, B230400},   {460800, B460800},   {500000, B500000},
    {576000, B576000},	 {921600, B921600},   {1000000, B1000000}, {1152000, B1152000},
    {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
    {3500000, B3500000}, {4000000, B4000000},
};

void weft__tty_set_speed(struct weft__tty *t, uint32_t baud)
{
	uint32_t code = BOTHER;

	for (size_t i = 0; i < sizeof(std_rates) / sizeof(std_rates[0]); i++)
		if (std_rates[i].rate == baud)
			code = std_rates[i].code;
	/* CIBAUD left 0: the input rate follows the output rate. */
	t->cflag &= ~(uint32_t)(CBAUD | CIBAUD);
	t->cflag |= code;
	t->ispeed = baud;
	t->ospeed = baud;
}

/* SPDX-License-Identifier: MIT */
/* Opening, adopting and closing ports. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "port.h"
#include "engine/module.h"

/* Unix98 pty slaves (/dev/pts/N) have majors 136-143. */
static bool is_pty_slave(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 &&
	       major(st.st_rdev) <= 143;
}

static struct weft_serial *port_new(int fd)
{
	struct weft_serial *port = weft__new(struct weft_serial);

	if (port) {
		port->fd = fd;
		port->is_tty = isatty(fd);
		port->pty = port->is_tty && is_pty_slave(fd);
	}
	return port;
}

int weft__serial_destroy(struct weft_serial *port)
{
	int r = weft__fd_close(port->fd);

	weft__delete(port);
	/* A hung-up tty may still report EIO at close; the fd is gone either way. */
	return r == -EIO ? 0 : r;
}

int weft_serial_open(weft_serial **portp, const char *path, const struct weft_serial_config *config)
{
	struct weft_serial *port;
	int fd, err;

	if (!portp || !path)
		return -EINVAL;
	/* O_NONBLOCK: open must not wait for a carrier, and every read is tried without parking. */
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!isatty(fd)) {
		close(fd);
		return -ENOTTY;
	}
	port = port_new(fd);
	if (!port) {
		close(fd);
		return -ENOMEM;
	}
	err = weft_serial_configure(port, config);
	if (err) {
		weft__serial_destroy(port);
		return err;
	}
	*portp = port;
	return 0;
}

int weft_serial_adopt(weft_serial **portp, int fd)
{
	struct weft_serial *port;
	struct weft__tty t;
	int fl;

	if (!portp)
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	port = port_new(fd);
	if (!port)
		return -ENOMEM;
	if (port->is_tty && weft__tty_get(fd, &t) == 0)
		port->baud = t.ospeed;
	*portp = port;
	return 0;
}

int weft_serial_close(weft_serial *port)
{
	if (!port)
		return 0;
	/* The stream's close flushes, then calls back into tr_close, which destroys the port. */
	if (port->stream)
		return weft_stream_close(port->stream);
	return weft__serial_destroy(port);
}

int weft_serial_fd(const weft_serial *port)
{
	return port ? port->fd : -EINVAL;
}

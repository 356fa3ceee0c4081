/* SPDX-License-Identifier: MIT */
/* Helpers shared by the serial suites: pty pairs standing in for serial devices. */
#ifndef WEFT_TEST_SERIAL_PTY_H
#define WEFT_TEST_SERIAL_PTY_H

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* A pty pair: the master plays the device, the slave's path is the "serial port". */
struct pty {
	int master;
	char path[64];
};

static inline void pty_open(struct pty *p)
{
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert_int_ge(p->master, 0);
	ck_assert_int_eq(grantpt(p->master), 0);
	ck_assert_int_eq(unlockpt(p->master), 0);
	ck_assert_int_eq(ptsname_r(p->master, p->path, sizeof(p->path)), 0);
}

/* Wait (plain poll, outside the loop) until @fd has @n bytes to read: pty data reaches the
 * other side through a kernel work item, not synchronously with write(). */
static inline void wait_inq(int fd, int n)
{
	for (int i = 0, q = 0; i < 5000; i++) {
		ck_assert_int_eq(ioctl(fd, FIONREAD, &q), 0);
		if (q >= n)
			return;
		usleep(1000);
	}
	ck_abort_msg("bytes never arrived");
}

static inline void read_all_fd(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		ck_assert_int_gt(n, 0);
		got += (size_t)n;
	}
}

/* io_uring's worker threads are named iou-wrk-<pid>. */
static inline int io_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	char path[300], comm[32];
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(path, "r");
		if (f && fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk", 7))
			n++;
		if (f)
			fclose(f);
	}
	closedir(d);
	return n;
}

#endif

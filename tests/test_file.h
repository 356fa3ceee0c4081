/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the fileio suites (tests/test_file*.c): a scratch directory per test, file
 * descriptor counting for leak checks, running a fiber body, small file utilities.
 */
#ifndef WEFT_TEST_FILE_H
#define WEFT_TEST_FILE_H

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <weft.h>
#include <weft/file.h>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"

/* The scratch directory of the running test (made by tmp_setup, removed by tmp_teardown). */
static char tdir[PATH_MAX];

/* tdir/name in a static rotating buffer (four live at once). */
static const char *tpath(const char *name)
{
	static char bufs[4][PATH_MAX + 64];
	static int i;
	char *b = bufs[i++ & 3];

	snprintf(b, PATH_MAX + 64, "%s/%s", tdir, name);
	return b;
}

static void rm_rf(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "rm -rf %s failed\n", path);
}

static void tmp_setup(void)
{
	const char *base = getenv("WEFT_TEST_TMP");

	if (!base || !*base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	snprintf(tdir, sizeof(tdir), "%s/weft_file.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void tmp_teardown(void)
{
	rm_rf(tdir);
}

/* Open descriptors of this process (leak checks). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

/* Write @len bytes of @data to @path with plain system calls (test set-up). */
static void put_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* Read @path with plain system calls into a static buffer; its length in *@len. */
static const char *get_file(const char *path, size_t *len)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_ge(n, 0);
	close(fd);
	buf[n] = 0;
	if (len)
		*len = (size_t)n;
	return buf;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Entries of tdir whose name starts with @prefix. */
static int count_entries(const char *prefix)
{
	DIR *d = opendir(tdir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && strcmp(e->d_name, ".") &&
		    strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static bool is_tmpfs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

/* Run @fn as the main fiber of a fresh loop and assert it returned 0. */
static void run_main(int (*fn)(void *), void *arg)
{
	int r = weft_run(fn, arg, NULL);

	ck_assert_msg(r == 0, "fiber failed: %s (%d)", weft_strerror(r), r);
}

/* A test that runs @fn as the main fiber of a fresh loop and checks no descriptor leaked. */
#define FIBER_FD_TEST(name, fn)                            \
	START_TEST(name)                                   \
	{                                                  \
		int fds_before = count_fds();              \
		run_main(fn, NULL);                        \
		ck_assert_int_eq(count_fds(), fds_before); \
	}                                                  \
	END_TEST

#pragma GCC diagnostic pop
#endif

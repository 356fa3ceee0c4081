/* SPDX-License-Identifier: MIT */
/*
 * fileio (weft/file.h), the I/O calls: open/close and their errors, sequential and positional
 * reads and writes, short-read continuation and EOF in read_exactly, whole-file helpers, large
 * (> 2 GiB) offsets, metadata (fsync, fallocate, ftruncate, statx), O_DIRECT, many fibers at
 * once, cancellation and deadlines of a read in flight, and no descriptor leaked on any error.
 * Paths, the atomic replace, copies and disk-full cases are in test_file_path.c; registered
 * files, fixed buffers and the stream in test_file_extra.c.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "test_file.h"
#include "check_main.h"

static char pattern[256 * 1024];

static void fill_pattern(void)
{
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)(i * 7 + i / 251);
}

static void setup(void)
{
	tmp_setup();
	fill_pattern();
}

/* ---- open / close ------------------------------------------------------------------------- */

static int open_close_main(void *arg)
{
	weft_file *f;
	char buf[16];

	ck_assert_int_eq(weft_file_open(&f, tpath("a"), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_ge(weft_file_fd(f), 0);
	ck_assert_int_eq(weft_file_write_some(f, "hello", 5), 5);
	ck_assert_int_eq(weft_file_close(f), 0);
	ck_assert_int_eq(weft_file_open(&f, tpath("a"), O_RDONLY, 0), 0);
	ck_assert_int_eq(fcntl(weft_file_fd(f), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_int_eq(weft_file_read(f, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
	ck_assert_int_eq(weft_file_read(f, buf, sizeof(buf)), 0);
	ck_assert_int_eq(weft_file_close(f), 0);
	ck_assert_int_eq(weft_file_close(NULL), 0);
	return 0;
}

START_TEST(open_write_read_close)
{
	int fds = count_fds();

	run_main(open_close_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static int open_errors_main(void *arg)
{
	weft_file *f = NULL;

	ck_assert_int_eq(weft_file_open(&f, tpath("missing"), O_RDONLY, 0), -ENOENT);
	ck_assert_int_eq(weft_file_open(&f, tpath("nodir/x"), O_WRONLY | O_CREAT, 0600), -ENOENT);
	ck_assert_int_eq(weft_file_open(&f, tdir, O_WRONLY, 0), -EISDIR);
	ck_assert_int_eq(weft_file_open(&f, tdir, O_RDWR, 0), -EISDIR);
	put_file(tpath("plain"), "x", 1);
	ck_assert_int_eq(weft_file_open(&f, tpath("plain/x"), O_RDONLY, 0), -ENOTDIR);
	ck_assert_int_eq(weft_file_open(&f, tpath("plain"), O_WRONLY | O_CREAT | O_EXCL, 0600),
			 -EEXIST);
	ck_assert_int_eq(weft_file_open(&f, tpath("plain"), O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	ck_assert_int_eq(weft_file_open(NULL, tpath("plain"), O_RDONLY, 0), -EINVAL);
	ck_assert_int_eq(weft_file_open(&f, NULL, O_RDONLY, 0), -EINVAL);
	ck_assert_ptr_null(f);
	return 0;
}

START_TEST(open_errors_leak_nothing)
{
	int fds = count_fds();

	run_main(open_errors_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* EACCES: root bypasses permission bits, so a child drops to "nobody" before its loop starts. */
static int eacces_main(void *arg)
{
	weft_file *f;
	int fds = count_fds();

	if (weft_file_open(&f, tpath("secret"), O_RDONLY, 0) != -EACCES)
		return 1;
	if (weft_file_open(&f, tpath("secret"), O_WRONLY | O_TRUNC, 0) != -EACCES)
		return 2;
	if (weft_file_open(&f, tpath("locked/new"), O_WRONLY | O_CREAT, 0600) != -EACCES)
		return 3;
	if (weft_file_replace_atomic(tpath("locked/new"), "x", 1, 0644) != -EACCES)
		return 4;
	return count_fds() == fds ? 0 : 5;
}

START_TEST(open_eacces_as_unprivileged_user)
{
	int status;
	pid_t pid;

	put_file(tpath("secret"), "s", 1);
	ck_assert_int_eq(chmod(tpath("secret"), 0600), 0);
	ck_assert_int_eq(mkdir(tpath("locked"), 0755), 0);
	ck_assert_int_eq(chmod(tdir, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(100);
		_exit(weft_run(eacces_main, NULL, NULL) & 0xff);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_msg(WEXITSTATUS(status) == 0, "child step %d failed", WEXITSTATUS(status));
}
END_TEST

START_TEST(calls_outside_a_fiber_are_eperm)
{
	weft_file *f;
	char b[4];
	int fd = open(tdir, O_RDONLY);

	ck_assert_int_eq(weft_file_open(&f, tpath("x"), O_RDONLY, 0), -EPERM);
	ck_assert_int_eq(weft_file_from_fd(&f, fd), 0);
	ck_assert_int_eq(weft_file_pread(f, b, 4, 0), -EPERM);
	ck_assert_int_eq(weft_file_fsync(f), -EPERM);
	ck_assert_int_eq(weft_file_unlink(tpath("x")), -EPERM);
	ck_assert_int_eq(weft_file_replace_atomic(tpath("x"), "a", 1, 0644), -EPERM);
	ck_assert_int_eq(weft_file_copy(f, f, 10), -EPERM);
	ck_assert_int_eq(weft_file_copy(f, f, 0), -EPERM); /* even with nothing to move */
	ck_assert_int_eq(weft_file_sendfile(f, 1, 0, 0), -EPERM);
	ck_assert_int_eq(weft_file_close(f), 0); /* plain close(2) outside a fiber */
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
}
END_TEST

/* ---- reads and writes --------------------------------------------------------------------- */

static int rw_main(void *arg)
{
	char buf[64];
	struct iovec iov[3];
	weft_file *f;

	ck_assert_int_eq(weft_file_open(&f, tpath("rw"), O_RDWR | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(weft_file_write(f, "0123456789", 10), 10);
	ck_assert_int_eq(weft_file_tell(f), 10);
	ck_assert_int_eq(weft_file_pwrite_some(f, "AB", 2, 20), 2); /* a hole of zeros at 10..19 */
	ck_assert_int_eq(weft_file_tell(f), 10);
	ck_assert_int_eq(weft_file_pread(f, buf, sizeof(buf), 0), 22);
	ck_assert_int_eq(memcmp(buf, "0123456789", 10), 0);
	ck_assert_int_eq(buf[15], 0);
	ck_assert_int_eq(memcmp(buf + 20, "AB", 2), 0);
	ck_assert_int_eq(weft_file_pread(f, buf, 8, 100), 0);

	iov[0] = (struct iovec){"ab", 2};
	iov[1] = (struct iovec){"cde", 3};
	iov[2] = (struct iovec){"f", 1};
	ck_assert_int_eq(weft_file_pwritev_some(f, iov, 3, 30), 6);
	ck_assert_int_eq(weft_file_seek(f, 30, SEEK_SET), 30);
	char x[2], y[4];
	iov[0] = (struct iovec){x, 2};
	iov[1] = (struct iovec){y, 4};
	ck_assert_int_eq(weft_file_readv(f, iov, 2), 6);
	ck_assert_int_eq(memcmp(x, "ab", 2), 0);
	ck_assert_int_eq(memcmp(y, "cdef", 4), 0);
	ck_assert_int_eq(weft_file_tell(f), 36);
	ck_assert_int_eq(weft_file_preadv(f, iov, 2, 31), 5);
	ck_assert_int_eq(memcmp(x, "bc", 2), 0);
	iov[0] = (struct iovec){"XY", 2};
	ck_assert_int_eq(weft_file_writev_some(f, iov, 1), 2);
	ck_assert_int_eq(weft_file_tell(f), 38);
	/* Lengths whose sum wraps (or passes SSIZE_MAX) are refused before the position moves. */
	iov[0] = (struct iovec){x, SIZE_MAX};
	iov[1] = (struct iovec){y, 2};
	ck_assert_int_eq(weft_file_writev_some(f, iov, 2), -EINVAL);
	ck_assert_int_eq(weft_file_readv(f, iov, 2), -EINVAL);
	iov[0].iov_len = (size_t)SSIZE_MAX;
	ck_assert_int_eq(weft_file_readv(f, iov, 2), -EINVAL);
	ck_assert_int_eq(weft_file_pwritev_some(f, iov, 2, 0), -EINVAL);
	ck_assert_int_eq(weft_file_preadv(f, iov, 2, 0), -EINVAL);
	ck_assert_int_eq(weft_file_readv(f, iov, -1), -EINVAL);
	ck_assert_int_eq(weft_file_writev_some(f, iov, IOV_MAX + 1), -EINVAL);
	ck_assert_int_eq(weft_file_tell(f), 38);

	ck_assert_int_eq(weft_file_seek(f, -3, SEEK_END), 35);
	ck_assert_int_eq(weft_file_seek(f, 2, SEEK_CUR), 37);
	ck_assert_int_eq(weft_file_seek(f, -100, SEEK_CUR), -EINVAL);
	ck_assert_int_eq(weft_file_seek(f, 0, 42), -EINVAL);
	ck_assert_int_eq(weft_file_size(f), 38);

	ck_assert_int_eq(weft_file_pread(f, buf, 4, -1), -EINVAL);
	ck_assert_int_eq(weft_file_pwrite_some(f, buf, 4, -1), -EINVAL);
	ck_assert_int_eq(weft_file_pread(NULL, buf, 4, 0), -EINVAL);
	/* A NULL buffer with a length, a range past INT64_MAX: -EINVAL, the position kept. */
	ck_assert_int_eq(weft_file_read(f, NULL, 4), -EINVAL);
	ck_assert_int_eq(weft_file_write_some(f, NULL, 4), -EINVAL);
	ck_assert_int_eq(weft_file_pread(f, NULL, 4, 0), -EINVAL);
	ck_assert_int_eq(weft_file_pwrite_some(f, NULL, 4, 0), -EINVAL);
	ck_assert_int_eq(weft_file_tell(f), 37);
	ck_assert_int_eq(weft_file_seek(f, INT64_MAX, SEEK_SET), INT64_MAX);
	ck_assert_int_eq(weft_file_read(f, buf, 4), -EINVAL);
	ck_assert_int_eq(weft_file_write_some(f, "abcd", 4), -EINVAL);
	ck_assert_int_eq(weft_file_read_exactly(f, buf, 4, NULL), -EINVAL);
	ck_assert_int_eq(weft_file_tell(f), INT64_MAX);
	ck_assert_int_eq(weft_file_pread(f, buf, 4, INT64_MAX - 1), -EINVAL);
	ck_assert_int_eq(weft_file_pread(f, buf, 0, INT64_MAX), 0);
	ck_assert_int_eq(weft_file_close(f), 0);

	/* Writing a read-only file, reading a write-only one: EBADF from the kernel. */
	ck_assert_int_eq(weft_file_open(&f, tpath("rw"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_write_some(f, "z", 1), -EBADF);
	ck_assert_int_eq(weft_file_close(f), 0);
	ck_assert_int_eq(weft_file_open(&f, tpath("rw"), O_WRONLY, 0), 0);
	ck_assert_int_eq(weft_file_read(f, buf, 1), -EBADF);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(read_write_positions)
{
	run_main(rw_main, NULL);
}
END_TEST

static int exactly_main(void *arg)
{
	static char buf[sizeof(pattern) + 100];
	weft_file *f;
	size_t got = 12345;

	put_file(tpath("p"), pattern, sizeof(pattern));
	ck_assert_int_eq(weft_file_open(&f, tpath("p"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_read_exactly(f, buf, 1000, &got), 0);
	ck_assert_uint_eq(got, 1000);
	ck_assert_int_eq(memcmp(buf, pattern, 1000), 0);
	/* Past the end: -ENODATA, and what was there is in the buffer and counted. */
	ck_assert_int_eq(weft_file_read_exactly(f, buf, sizeof(buf), &got), -ENODATA);
	ck_assert_uint_eq(got, sizeof(pattern) - 1000);
	ck_assert_int_eq(memcmp(buf, pattern + 1000, got), 0);
	ck_assert_int_eq(weft_file_tell(f), (int64_t)sizeof(pattern));
	ck_assert_int_eq(weft_file_read_exactly(f, buf, 1, &got), -ENODATA);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(weft_file_pread_exactly(f, buf, 10, sizeof(pattern) - 4, &got), -ENODATA);
	ck_assert_uint_eq(got, 4);
	ck_assert_int_eq(weft_file_pread_exactly(f, buf, 0, 0, &got), 0);
	ck_assert_uint_eq(got, 0);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(read_exactly_eof_is_enodata_with_count)
{
	run_main(exactly_main, NULL);
}
END_TEST

/* A reader of a FIFO gets what a writer sends in small pieces: read_exactly continues the short
 * reads until the whole record is there (regular files rarely return short reads). */
static int fifo_short_main(void *arg)
{
	weft_file *f;
	char buf[12];
	size_t got;
	int wfd;

	ck_assert_int_eq(weft_file_open(&f, tpath("fifo"), O_RDWR, 0), 0);
	wfd = open(tpath("fifo"), O_WRONLY);
	ck_assert_int_ge(wfd, 0);
	ck_assert_int_eq(write(wfd, "abcd", 4), 4);
	ck_assert_int_eq(weft_file_seek(f, 0, SEEK_SET), -ESPIPE);
	ck_assert_int_eq(weft_file_read(f, buf, 12), 4); /* one read: what is there */
	ck_assert_int_eq(write(wfd, "efgh", 4), 4);
	ck_assert_int_eq(write(wfd, "ijkl", 4), 4);
	ck_assert_int_eq(write(wfd, "mnop", 4), 4);
	ck_assert_int_eq(weft_file_read_exactly(f, buf, 12, &got), 0);
	ck_assert_int_eq(memcmp(buf, "efghijklmnop", 12), 0);
	close(wfd);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(fifo_short_reads_continued)
{
	ck_assert_int_eq(mkfifo(tpath("fifo"), 0600), 0);
	run_main(fifo_short_main, NULL);
}
END_TEST

static int read_all_main(void *arg)
{
	void *data;
	size_t len;
	weft_file *f;

	put_file(tpath("big"), pattern, sizeof(pattern));
	ck_assert_int_eq(weft_file_load(tpath("big"), &data, &len, 0), 0);
	ck_assert_uint_eq(len, sizeof(pattern));
	ck_assert_int_eq(memcmp(data, pattern, len), 0);
	ck_assert_int_eq(((char *)data)[len], 0);
	free(data);
	ck_assert_int_eq(weft_file_load(tpath("big"), &data, &len, 1000), -EFBIG);
	ck_assert_ptr_null(data);
	ck_assert_int_eq(weft_file_load(tpath("none"), &data, &len, 0), -ENOENT);
	ck_assert_int_eq(weft_file_load(tdir, &data, &len, 0), -EISDIR);

	put_file(tpath("empty"), "", 0);
	ck_assert_int_eq(weft_file_load(tpath("empty"), &data, &len, 0), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(data, "");
	free(data);

	/* From the position on; a FIFO (no size) grows its buffer as it goes. */
	ck_assert_int_eq(weft_file_open(&f, tpath("big"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_seek(f, 1000, SEEK_SET), 1000);
	ck_assert_int_eq(weft_file_read_all(f, &data, &len, 0), 0);
	ck_assert_uint_eq(len, sizeof(pattern) - 1000);
	ck_assert_int_eq(memcmp(data, pattern + 1000, len), 0);
	free(data);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(read_all_and_load)
{
	int fds = count_fds();

	run_main(read_all_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* A file evicted from the page cache: the inline attempt misses (or serves the part readahead
 * brought in) and the rest comes through the ring - as an io-wq read for big remainders. */
static int cold_main(void *arg)
{
	static char buf[sizeof(pattern)];
	weft_file *f;
	int fd;

	put_file(tpath("cold"), pattern, sizeof(pattern));
	fd = open(tpath("cold"), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fdatasync(fd), 0);
	ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
	ck_assert_int_eq(weft_file_open(&f, tpath("cold"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_pread(f, buf, 4096, 100000), 4096);
	ck_assert_int_eq(memcmp(buf, pattern + 100000, 4096), 0);
	ck_assert_int_eq(weft_file_read_exactly(f, buf, sizeof(buf), NULL), 0);
	ck_assert_int_eq(memcmp(buf, pattern, sizeof(buf)), 0);
	/* And at the end of the file a short read, then 0. */
	ck_assert_int_eq(weft_file_pread(f, buf, 8192, sizeof(pattern) - 100), 100);
	ck_assert_int_eq(weft_file_read(f, buf, 10), 0);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(cold_file_reads)
{
	run_main(cold_main, NULL);
}
END_TEST

/* ---- large offsets, metadata --------------------------------------------------------------- */

#define FIVE_GIB (5LL << 30)

static int large_main(void *arg)
{
	char buf[8];
	weft_file *f;
	struct statx stx;

	ck_assert_int_eq(weft_file_open(&f, tpath("sparse"), O_RDWR | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(weft_file_pwrite_some(f, "far", 3, FIVE_GIB), 3);
	ck_assert_int_eq(weft_file_pwrite_some(f, "mid", 3, (3LL << 30) + 1), 3);
	ck_assert_int_eq(weft_file_size(f), FIVE_GIB + 3);
	ck_assert_int_eq(weft_file_pread(f, buf, 8, FIVE_GIB), 3);
	ck_assert_int_eq(memcmp(buf, "far", 3), 0);
	ck_assert_int_eq(weft_file_seek(f, (3LL << 30) + 1, SEEK_SET), (3LL << 30) + 1);
	ck_assert_int_eq(weft_file_read(f, buf, 3), 3);
	ck_assert_int_eq(memcmp(buf, "mid", 3), 0);
	ck_assert_int_eq(weft_file_seek(f, 0, SEEK_END), FIVE_GIB + 3);
	ck_assert_int_eq(weft_file_write_some(f, "end", 3), 3);
	ck_assert_int_eq(weft_file_statx(f, STATX_SIZE | STATX_BLOCKS, &stx), 0);
	ck_assert_uint_eq(stx.stx_size, FIVE_GIB + 6);
	ck_assert_uint_lt(stx.stx_blocks, 1024); /* sparse: a few blocks, not 5 GiB */
	ck_assert_int_eq(weft_file_pread(f, buf, 4, 1LL << 32), 4); /* the hole reads as zeros */
	ck_assert_int_eq(buf[0] | buf[1] | buf[2] | buf[3], 0);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(offsets_beyond_2gib)
{
	run_main(large_main, NULL);
}
END_TEST

static int meta_main(void *arg)
{
	struct statx stx;
	weft_file *f;

	ck_assert_int_eq(weft_file_open(&f, tpath("m"), O_RDWR | O_CREAT | O_TRUNC, 0640), 0);
	ck_assert_int_eq(weft_file_write(f, pattern, 10000), 10000);
	ck_assert_int_eq(weft_file_fsync(f), 0);
	ck_assert_int_eq(weft_file_fdatasync(f), 0);
	ck_assert_int_eq(weft_file_ftruncate(f, 100), 0);
	ck_assert_int_eq(weft_file_size(f), 100);
	ck_assert_int_eq(weft_file_ftruncate(f, 3LL << 30), 0);
	ck_assert_int_eq(weft_file_size(f), 3LL << 30);
	ck_assert_int_eq(weft_file_ftruncate(f, -1), -EINVAL);
	ck_assert_int_eq(weft_file_fallocate(f, 0, 0, 1 << 20), 0);
	ck_assert_int_eq(weft_file_fallocate(f, FALLOC_FL_KEEP_SIZE, 3LL << 30, 1 << 20), 0);
	ck_assert_int_eq(weft_file_size(f), 3LL << 30);
	ck_assert_int_eq(weft_file_fallocate(f, 0, -1, 10), -EINVAL);
	ck_assert_int_eq(weft_file_statx(f, STATX_BASIC_STATS, &stx), 0);
	ck_assert_uint_eq(stx.stx_mode & 07777, 0640 & ~0022 & 0640);
	ck_assert(S_ISREG(stx.stx_mode));
	ck_assert_int_eq(weft_file_statx_at(AT_FDCWD, tdir, 0, STATX_TYPE, &stx), 0);
	ck_assert(S_ISDIR(stx.stx_mode));
	ck_assert_int_eq(weft_file_statx_at(AT_FDCWD, tpath("nope"), 0, STATX_TYPE, &stx), -ENOENT);
	ck_assert_int_eq(weft_file_close(f), 0);

	/* A read-only file cannot be truncated or allocated. */
	ck_assert_int_eq(weft_file_open(&f, tpath("m"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_ftruncate(f, 0), -EINVAL);
	ck_assert_int_eq(weft_file_fallocate(f, 0, 0, 4096), -EBADF);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(fsync_fallocate_ftruncate_statx)
{
	umask(0022);
	run_main(meta_main, NULL);
}
END_TEST

/* ---- disk full analogue: RLIMIT_FSIZE ------------------------------------------------------- */

static int fsize_main(void *arg)
{
	weft_file *f;
	size_t done;

	ck_assert_int_eq(weft_file_open(&f, tpath("limited"), O_WRONLY | O_CREAT | O_TRUNC, 0600),
			 0);
	/* 10000 bytes against a 4096-byte limit: the first write is short, the next fails. */
	ck_assert_int_eq(weft_file_write_some(f, pattern, 10000), 4096);
	ck_assert_int_eq(weft_file_write_some(f, pattern, 10), -EFBIG);
	ck_assert_int_eq(weft_file_pwrite(f, pattern, 10000, 0, &done), -EFBIG);
	ck_assert_uint_eq(done, 4096);
	ck_assert_int_eq(weft_file_seek(f, 0, SEEK_SET), 0);
	ck_assert_int_eq(weft_file_write(f, pattern, 5000), -EFBIG);
	ck_assert_int_eq(weft_file_tell(f), 4096);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(write_all_reports_efbig_with_partial_count)
{
	struct rlimit old, lim = {4096, 4096};

	/* RLIMIT_FSIZE stands for "disk full" portably (ENOSPC itself: test_file_path.c, on a
	 * tiny tmpfs). SIGXFSZ would kill the process: ignore it, as servers do. */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	run_main(fsize_main, NULL);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
}
END_TEST

/* ---- O_DIRECT ----------------------------------------------------------------------------- */

static int direct_main(void *arg)
{
	char *buf = weft_file_aligned_alloc(8192, 0);
	unsigned mem = 0, off = 0;
	weft_file *f;

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq((uintptr_t)buf % 4096, 0);
	ck_assert_ptr_null(weft_file_aligned_alloc(100, 3));
	put_file(tpath("d"), pattern, 65536);
	ck_assert_int_eq(weft_file_open(&f, tpath("d"), O_RDWR | O_DIRECT, 0), 0);
	ck_assert_int_eq(weft_file_dio_align(f, &mem, &off), 0);
	ck_assert_uint_ge(mem, 1);
	ck_assert_uint_le(off, 4096);
	/* Aligned: works, and reads what is on the disk. */
	ck_assert_int_eq(weft_file_pread(f, buf, 4096, 8192), 4096);
	ck_assert_int_eq(memcmp(buf, pattern + 8192, 4096), 0);
	memset(buf, 'D', 4096);
	ck_assert_int_eq(weft_file_pwrite_some(f, buf, 4096, 4096), 4096);
	ck_assert_int_eq(weft_file_pread(f, buf + 4096, 4096, 4096), 4096);
	ck_assert_int_eq(memcmp(buf, buf + 4096, 4096), 0);
	/* Misaligned offset, length and buffer: -EINVAL, whatever the file system's alignment. */
	if (off > 1) {
		ck_assert_int_eq(weft_file_pread(f, buf, 4096, 1), -EINVAL);
		ck_assert_int_eq(weft_file_pread(f, buf, 4095, 0), -EINVAL);
		ck_assert_int_eq(weft_file_pwrite_some(f, buf, 4096, 7), -EINVAL);
	}
	if (mem > 1)
		ck_assert_int_eq(weft_file_pread(f, buf + 1, 4096, 0), -EINVAL);
	ck_assert_int_eq(weft_file_close(f), 0);
	free(buf);
	return 0;
}

START_TEST(o_direct_alignment)
{
	static const char *const bases[] = {"/var/tmp", "/work"};

	/* tmpfs has no O_DIRECT (open fails with EINVAL): use a disk-backed scratch directory. */
	for (size_t i = 0; is_tmpfs(tdir) && i < sizeof(bases) / sizeof(bases[0]); i++) {
		char alt[PATH_MAX];
		snprintf(alt, sizeof(alt), "%s/weft_file.XXXXXX", bases[i]);
		if (!is_tmpfs(bases[i]) && mkdtemp(alt)) {
			rm_rf(tdir);
			strcpy(tdir, alt); /* the fixture's teardown removes it */
		}
	}
	if (is_tmpfs(tdir)) {
		fprintf(stderr,
			"o_direct_alignment: skipped, no disk-backed directory (tmpfs has no "
			"O_DIRECT)\n");
		return;
	}
	run_main(direct_main, NULL);
}
END_TEST

/* ---- concurrency ---------------------------------------------------------------------------- */

#define NFIBERS 32
#define CHUNK	8192

struct worker {
	weft_file *f;
	int id;
	int rounds;
};

static int writer_reader(void *arg)
{
	struct worker *w = arg;
	char buf[CHUNK], want[CHUNK];

	for (int r = 0; r < w->rounds; r++) {
		int64_t off = (int64_t)(r * NFIBERS + w->id) * CHUNK;
		memset(want, 'a' + (w->id + r) % 26, sizeof(want));
		ck_assert_int_eq(weft_file_pwrite(w->f, want, CHUNK, off, NULL), CHUNK);
		ck_assert_int_eq(weft_file_pread_exactly(w->f, buf, CHUNK, off, NULL), 0);
		ck_assert_int_eq(memcmp(buf, want, CHUNK), 0);
	}
	return 0;
}

/* Sequential readers sharing one file: each read claims its own range, so between them they
 * see every chunk exactly once. */
static int seq_reader(void *arg)
{
	struct worker *w = arg;
	char buf[CHUNK];
	ssize_t n;

	while ((n = weft_file_read(w->f, buf, CHUNK)) > 0) {
		ck_assert_int_eq(n, CHUNK);
		w->rounds++;
	}
	ck_assert_int_eq(n, 0);
	return 0;
}

static int concurrent_main(void *arg)
{
	struct worker w[NFIBERS];
	weft_task *t[NFIBERS];
	weft_file *f;
	int st, total = 0;

	ck_assert_int_eq(weft_file_open(&f, tpath("c"), O_RDWR | O_CREAT | O_TRUNC, 0600), 0);
	for (int i = 0; i < NFIBERS; i++) {
		w[i] = (struct worker){f, i, 8};
		ck_assert_int_eq(weft_task_spawn(&t[i], writer_reader, &w[i], NULL), 0);
	}
	for (int i = 0; i < NFIBERS; i++) {
		ck_assert_int_eq(weft_task_join(t[i], &st), 0);
		ck_assert_int_eq(st, 0);
	}
	ck_assert_int_eq(weft_file_size(f), (int64_t)NFIBERS * 8 * CHUNK);
	for (int i = 0; i < NFIBERS; i++) {
		w[i] = (struct worker){f, i, 0};
		ck_assert_int_eq(weft_task_spawn(&t[i], seq_reader, &w[i], NULL), 0);
	}
	for (int i = 0; i < NFIBERS; i++) {
		ck_assert_int_eq(weft_task_join(t[i], &st), 0);
		ck_assert_int_eq(st, 0);
		total += w[i].rounds;
	}
	ck_assert_int_eq(total, NFIBERS * 8);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(many_fibers_read_and_write)
{
	run_main(concurrent_main, NULL);
}
END_TEST

/* A fiber reading a hot (page-cached) file in a loop is served inline, yet others still run. */
static int ticker(void *arg)
{
	int *ticks = arg;

	for (;;) {
		(*ticks)++;
		if (weft_yield())
			return 0;
	}
}

static int fairness_main(void *arg)
{
	char buf[4096];
	weft_task *t;
	weft_file *f;
	int ticks = 0;

	put_file(tpath("hot"), pattern, sizeof(pattern));
	ck_assert_int_eq(weft_file_open(&f, tpath("hot"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_pread(f, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	ck_assert_int_eq(weft_task_spawn(&t, ticker, &ticks, NULL), 0);
	for (int i = 0; i < 2000; i++)
		ck_assert_int_eq(weft_file_pread(f, buf, sizeof(buf), (i % 64) * 4096), 4096);
	ck_assert_int_gt(ticks, 10);
	weft_task_cancel(t);
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(cached_reader_does_not_starve_others)
{
	run_main(fairness_main, NULL);
}
END_TEST

/* ---- cancellation and deadlines -------------------------------------------------------------- */

struct blocked {
	weft_file *f;
	char buf[16];
	ssize_t ret;
	bool returned;
};

static int blocked_reader(void *arg)
{
	struct blocked *b = arg;

	b->ret = weft_file_read(b->f, b->buf, sizeof(b->buf));
	b->returned = true;
	return 0;
}

static int cancel_main(void *arg)
{
	struct blocked b = {.ret = 1};
	char got[8];
	weft_task *t;
	int wfd;

	/* A FIFO opened read-write: reads block until someone writes, never at EOF. */
	ck_assert_int_eq(weft_file_open(&b.f, tpath("fifo"), O_RDWR, 0), 0);
	memset(b.buf, '#', sizeof(b.buf));
	ck_assert_int_eq(weft_task_spawn(&t, blocked_reader, &b, NULL), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert(!b.returned);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	ck_assert(b.returned);
	ck_assert_int_eq(b.ret, -ECANCELED);
	/* Data arriving now is not written into the returned call's buffer; it is still there
	 * for the next read. */
	wfd = open(tpath("fifo"), O_WRONLY);
	ck_assert_int_ge(wfd, 0);
	ck_assert_int_eq(write(wfd, "late", 4), 4);
	ck_assert_int_eq(weft_sleep(20 * WEFT_MSEC), 0);
	for (size_t i = 0; i < sizeof(b.buf); i++)
		ck_assert_int_eq(b.buf[i], '#');
	ck_assert_int_eq(weft_file_read(b.f, got, sizeof(got)), 4);
	ck_assert_int_eq(memcmp(got, "late", 4), 0);

	/* A deadline ends the read the same way. */
	weft_scope s;
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + 30 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_file_read(b.f, got, sizeof(got)), -ETIMEDOUT);
	weft_scope_exit(&s);
	close(wfd);
	ck_assert_int_eq(weft_file_close(b.f), 0);
	return 0;
}

START_TEST(cancel_read_in_flight)
{
	ck_assert_int_eq(mkfifo(tpath("fifo"), 0600), 0);
	run_main(cancel_main, NULL);
}
END_TEST

/* A cancelled fiber does no file I/O at all, cached or not, and leaks nothing. */
static int cancelled_main(void *arg)
{
	weft_file *f = arg;
	char buf[16];

	weft_task_cancel(weft_task_current());
	ck_assert_int_eq(weft_file_pread(f, buf, sizeof(buf), 0), -ECANCELED);
	ck_assert_int_eq(weft_file_write_some(f, "x", 1), -ECANCELED);
	ck_assert_int_eq(weft_file_open(&f, tpath("new"), O_CREAT | O_WRONLY, 0600), -ECANCELED);
	ck_assert_int_eq(weft_file_replace_atomic(tpath("new"), "x", 1, 0600), -ECANCELED);
	/* Close still closes. */
	ck_assert_int_eq(weft_file_close(arg), 0);
	return 0;
}

START_TEST(cancelled_fiber_does_no_io)
{
	weft_file *f;
	int fds = count_fds(), fd;

	put_file(tpath("c"), "cached", 6);
	fd = open(tpath("c"), O_RDWR);
	ck_assert_int_eq(weft_file_from_fd(&f, fd), 0);
	ck_assert_int_eq(weft_run(cancelled_main, f, NULL), 0);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert(!exists(tpath("new")));
	ck_assert_str_eq(get_file(tpath("c"), NULL), "cached");
}
END_TEST

static Suite *file_suite(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("io");

	tcase_add_checked_fixture(tc, setup, tmp_teardown);
	tcase_add_test(tc, open_write_read_close);
	tcase_add_test(tc, open_errors_leak_nothing);
	tcase_add_test(tc, open_eacces_as_unprivileged_user);
	tcase_add_test(tc, calls_outside_a_fiber_are_eperm);
	tcase_add_test(tc, read_write_positions);
	tcase_add_test(tc, read_exactly_eof_is_enodata_with_count);
	tcase_add_test(tc, fifo_short_reads_continued);
	tcase_add_test(tc, read_all_and_load);
	tcase_add_test(tc, cold_file_reads);
	tcase_add_test(tc, offsets_beyond_2gib);
	tcase_add_test(tc, fsync_fallocate_ftruncate_statx);
	tcase_add_test(tc, write_all_reports_efbig_with_partial_count);
	tcase_add_test(tc, o_direct_alignment);
	tcase_add_test(tc, many_fibers_read_and_write);
	tcase_add_test(tc, cached_reader_does_not_starve_others);
	tcase_add_test(tc, cancel_read_in_flight);
	tcase_add_test(tc, cancelled_fiber_does_no_io);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(file_suite)

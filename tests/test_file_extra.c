/* SPDX-License-Identifier: MIT */
/*
 * fileio (weft/file.h), the throughput options and descriptor hand-over: registered files
 * (including use from another loop: -EXDEV), fixed buffers, the io-wq worker cap, from_fd and
 * release.
 */
#include <pthread.h>

#include "test_file.h"
#include "engine/loop.h"
#include "fileio/internal.h"
#include "check_main.h"

static char pattern[64 * 1024];

static void setup(void)
{
	tmp_setup();
	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)(i * 13 + 5);
	put_file(tpath("data"), pattern, sizeof(pattern));
}

static int registered_main(void *arg)
{
	weft_file *f, *g;
	char buf[4096];
	struct statx stx;

	ck_assert_int_eq(weft_file_open(&f, tpath("data"), O_RDWR, 0), 0);
	ck_assert_int_eq(weft_file_unregister(f), -EINVAL);
	ck_assert_int_eq(weft_file_register(f), 0);
	ck_assert_int_eq(weft_file_register(f), -EBUSY);
	ck_assert_int_eq(weft_file_release(f), -EBUSY);
	/* Every kind of call works on a registered file. */
	ck_assert_int_eq(weft_file_pread(f, buf, sizeof(buf), 4096), 4096);
	ck_assert_int_eq(memcmp(buf, pattern + 4096, 4096), 0);
	ck_assert_int_eq(weft_file_pwrite_some(f, "REG", 3, 0), 3);
	ck_assert_int_eq(weft_file_read(f, buf, 3), 3);
	ck_assert_int_eq(memcmp(buf, "REG", 3), 0);
	ck_assert_int_eq(weft_file_fsync(f), 0);
	ck_assert_int_eq(weft_file_statx(f, STATX_SIZE, &stx), 0);
	ck_assert_uint_eq(stx.stx_size, sizeof(pattern));
	/* A second file gets another slot; unregistering and registering again works. */
	ck_assert_int_eq(weft_file_open(&g, tpath("data"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_register(g), 0);
	ck_assert_int_eq(weft_file_unregister(g), 0);
	ck_assert_int_eq(weft_file_pread(g, buf, 10, 100), 10);
	ck_assert_int_eq(weft_file_register(g), 0);
	ck_assert_int_eq(weft_file_close(g), 0);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(registered_files)
{
	int fds = count_fds();

	run_main(registered_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* A registered file belongs to its loop: another loop's fiber gets -EXDEV. */
static weft_file *shared;

static int other_loop_main(void *arg)
{
	char b[4];

	ck_assert_int_eq(weft_file_pread(shared, b, 4, 0), -EXDEV);
	ck_assert_int_eq(weft_file_fsync(shared), -EXDEV);
	ck_assert_int_eq(weft_file_unregister(shared), -EXDEV);
	return 0;
}

static void *other_thread(void *arg)
{
	*(int *)arg = weft_run(other_loop_main, NULL, NULL);
	return NULL;
}

static int owner_main(void *arg)
{
	pthread_t th;
	int r = -1;

	ck_assert_int_eq(weft_file_open(&shared, tpath("data"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_register(shared), 0);
	/* The other loop runs on its own thread, while this one is not touching the file. */
	ck_assert_int_eq(pthread_create(&th, NULL, other_thread, &r), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(weft_file_close(shared), 0);
	return 0;
}

START_TEST(registered_file_belongs_to_its_loop)
{
	run_main(owner_main, NULL);
}
END_TEST

static int fixed_main(void *arg)
{
	char *mem = weft_file_aligned_alloc(2 * 8192, 0);
	struct iovec iov[2] = {{mem, 8192}, {mem + 8192, 8192}};
	weft_file *f;

	ck_assert_int_eq(weft_file_buffers_unregister(), -EINVAL);
	ck_assert_int_eq(weft_file_buffers_register(iov, 2), 0);
	ck_assert_int_eq(weft_file_buffers_register(iov, 2), -EBUSY);
	ck_assert_int_eq(weft_file_open(&f, tpath("data"), O_RDWR, 0), 0);
	ck_assert_int_eq(weft_file_pread_fixed(f, mem + 8192, 4096, 0, 1), 4096);
	ck_assert_int_eq(memcmp(mem + 8192, pattern, 4096), 0);
	ck_assert_int_eq(weft_file_pread_fixed(f, mem + 100, 4096, 4096, 0), 4096);
	ck_assert_int_eq(memcmp(mem + 100, pattern + 4096, 4096), 0);
	/* Outside the buffer, or a buffer that does not exist. */
	ck_assert_int_eq(weft_file_pread_fixed(f, mem + 8000, 4096, 0, 0), -EFAULT);
	ck_assert_int_eq(weft_file_pread_fixed(f, mem, 4096, 0, 1), -EFAULT);
	ck_assert_int_eq(weft_file_pread_fixed(f, mem, 4096, 0, 2), -EINVAL);
	memcpy(mem, "FIXED", 5);
	ck_assert_int_eq(weft_file_pwrite_fixed_some(f, mem, 5, 10, 0), 5);
	ck_assert_int_eq(weft_file_register(f), 0); /* both options at once */
	ck_assert_int_eq(weft_file_pread_fixed(f, mem + 8192, 5, 10, 1), 5);
	ck_assert_int_eq(memcmp(mem + 8192, "FIXED", 5), 0);
	ck_assert_int_eq(weft_file_close(f), 0);
	ck_assert_int_eq(weft_file_buffers_unregister(), 0);
	ck_assert_int_eq(weft_file_buffers_register(iov, 1), 0); /* left for loop close */
	free(mem);
	return 0;
}

START_TEST(fixed_buffers)
{
	run_main(fixed_main, NULL);
}
END_TEST

static int workers_main(void *arg)
{
	unsigned bounded = 2, unbounded = 0, b2 = 0, u2 = 0;
	weft_file *f;

	ck_assert_int_eq(weft_file_max_workers(&bounded, &unbounded), 0);
	if (weft_test_uring(NULL, "io_wq_worker_cap: the kernel's limits")) {
		ck_assert_uint_gt(bounded, 0); /* the previous values came back */
		ck_assert_int_eq(weft_file_max_workers(&b2, &u2), 0);
		ck_assert_uint_eq(b2, 2);
		ck_assert_uint_eq(u2, unbounded);
	} else { /* no kernel workers to cap */
		ck_assert_uint_eq(bounded, 0);
		ck_assert_uint_eq(unbounded, 0);
	}
	/* Buffered writes (which go to io-wq on most file systems) still complete. */
	ck_assert_int_eq(weft_file_open(&f, tpath("w"), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(weft_file_write(f, pattern, 4096), 4096);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(io_wq_worker_cap)
{
	ck_assert_int_eq(weft_file_max_workers(NULL, NULL), -EPERM);
	run_main(workers_main, NULL);
}
END_TEST

static int fd_main(void *arg)
{
	weft_file *f;
	char b[8];
	int fd = open(tpath("data"), O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lseek(fd, 100, SEEK_SET), 100);
	ck_assert_int_eq(weft_file_from_fd(&f, fd), 0);
	ck_assert_int_eq(weft_file_tell(f), 100); /* starts at the descriptor's offset */
	ck_assert_int_eq(weft_file_read(f, b, 8), 8);
	ck_assert_int_eq(memcmp(b, pattern + 100, 8), 0);
	ck_assert_int_eq(weft_file_release(f), fd); /* the descriptor stays open */
	ck_assert_int_ge(fcntl(fd, F_GETFD), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(weft_file_from_fd(&f, fd), -EBADF);
	ck_assert_int_eq(weft_file_from_fd(&f, -1), -EINVAL);
	ck_assert_int_eq(weft_file_release(NULL), -EINVAL);
	return 0;
}

START_TEST(from_fd_and_release)
{
	int fds = count_fds();

	run_main(fd_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* ---- a pipe handed back, and its number reused ------------------------------------------- */

static int pipe_write_later(void *arg)
{
	ck_assert_int_eq(weft_yield(), 0); /* the reader parks first */
	ck_assert_int_eq(write(*(int *)arg, "y", 1), 1);
	return 0;
}

/* A read of @fd through a weft_file that must park; then the file lets go of @fd. */
static void read_parked_then_release(int rfd, int wfd)
{
	weft_file *f;
	weft_task *t;
	char c = 0;

	ck_assert_int_eq(weft_file_from_fd(&f, rfd), 0);
	ck_assert_int_eq(weft_task_spawn(&t, pipe_write_later, &wfd, NULL), 0);
	ck_assert_int_eq(weft_file_read(f, &c, 1), 1);
	ck_assert_int_eq(c, 'y');
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	ck_assert_int_eq(weft_file_release(f), rfd);
}

/* A released descriptor is the caller's as it was (no O_NONBLOCK left behind), and a new pipe
 * that takes its number after the caller closes it works like any other. */
static int release_reuse_main(void *arg)
{
	int p[2], q[2];

	ck_assert_int_eq(pipe(p), 0);
	read_parked_then_release(p[0], p[1]);
	ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	close(p[0]);
	close(p[1]);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(q[0], p[0]);
	read_parked_then_release(q[0], q[1]);
	close(q[0]);
	close(q[1]);
	return 0;
}

START_TEST(release_then_reuse_number)
{
	run_main(release_reuse_main, NULL);
}
END_TEST

/* A registered file may outlive its loop: the loop's close forgets the registration. */
static int leave_registered_main(void *arg)
{
	weft_file **fp = arg;

	ck_assert_int_eq(weft_file_open(fp, tpath("data"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_register(*fp), 0);
	return 0;
}

static int reuse_main(void *arg)
{
	char b[4];

	/* Another loop may use it now, unregistered, and register it with itself. */
	ck_assert_int_eq(weft_file_pread(arg, b, 4, 0), 4);
	ck_assert_int_eq(memcmp(b, pattern, 4), 0);
	ck_assert_int_eq(weft_file_register(arg), 0);
	ck_assert_int_eq(weft_file_close(arg), 0);
	return 0;
}

START_TEST(registered_file_outlives_its_loop)
{
	weft_file *f = NULL;
	int fds = count_fds();

	run_main(leave_registered_main, &f);
	ck_assert_ptr_nonnull(f);
	run_main(reuse_main, f);
	ck_assert_int_eq(count_fds(), fds);
	run_main(leave_registered_main, &f);
	ck_assert_int_eq(weft_file_close(f), 0); /* plain close(2), outside any loop */
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* Kernels before 6.9 have no IORING_OP_FTRUNCATE: the call then runs ftruncate(2) on the default
 * thread pool. Pretend the probe did not report the op. */
static int ftruncate_fallback_main(void *arg)
{
	struct weft_loop *loop = weft__loop();
	weft_file *f;

	loop->ops[IORING_OP_FTRUNCATE_NR / 8] &= (uint8_t) ~(1u << (IORING_OP_FTRUNCATE_NR % 8));
	ck_assert(!weft__op_supported(loop, IORING_OP_FTRUNCATE_NR));
	ck_assert_int_eq(weft_file_open(&f, tpath("data"), O_RDWR, 0), 0);
	ck_assert_int_eq(weft_file_ftruncate(f, 1234), 0);
	ck_assert_int_eq(weft_file_size(f), 1234);
	ck_assert_int_eq(weft_file_ftruncate(f, -5), -EINVAL);
	ck_assert_int_eq(weft_file_close(f), 0);
	ck_assert_int_eq(weft_file_open(&f, tpath("data"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_ftruncate(f, 0), -EINVAL); /* not open for writing */
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(ftruncate_without_the_opcode_uses_the_pool)
{
	run_main(ftruncate_fallback_main, NULL);
}
END_TEST

static Suite *file_extra_suite(void)
{
	Suite *s = suite_create("file_extra");
	TCase *tc = tcase_create("extra");

	tcase_add_checked_fixture(tc, setup, tmp_teardown);
	tcase_add_test(tc, registered_files);
	tcase_add_test(tc, registered_file_belongs_to_its_loop);
	tcase_add_test(tc, registered_file_outlives_its_loop);
	tcase_add_test(tc, fixed_buffers);
	tcase_add_test(tc, io_wq_worker_cap);
	tcase_add_test(tc, from_fd_and_release);
	tcase_add_test(tc, release_then_reuse_number);
	/* valgrind: the pool's worker must wake the sleeping loop, which valgrind cannot do. */
	if (!getenv("WEFT_VALGRIND"))
		tcase_add_test(tc, ftruncate_without_the_opcode_uses_the_pool);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(file_extra_suite)

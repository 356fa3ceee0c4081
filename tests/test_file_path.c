/* SPDX-License-Identifier: MIT */
/*
 * fileio (weft/file.h), paths: rename/unlink/mkdir/rmdir/link/symlink and their *at forms and
 * errors; the atomic replace, including a child killed at each step (old or new content, never a
 * mix; which temp files may be left); disk full (ENOSPC on a 64 KiB tmpfs in a private mount
 * namespace); copies and sendfile through splice.
 */
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "test_file.h"
#include "fileio/internal.h"
#include "check_main.h"

static char big[3 * 1024 * 1024 + 123];

static void setup(void)
{
	tmp_setup();
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 31 + i / 4093);
}

/* ---- path operations ------------------------------------------------------------------------ */

static int paths_main(void *arg)
{
	char link[PATH_MAX];
	ssize_t n;
	int dfd;

	ck_assert_int_eq(weft_file_mkdir(tpath("d"), 0755), 0);
	ck_assert_int_eq(weft_file_mkdir(tpath("d"), 0755), -EEXIST);
	ck_assert_int_eq(weft_file_mkdir(tpath("no/such"), 0755), -ENOENT);
	put_file(tpath("d/f"), "one", 3);
	put_file(tpath("g"), "two", 3);

	ck_assert_int_eq(weft_file_rename(tpath("g"), tpath("h")), 0);
	ck_assert(!exists(tpath("g")));
	ck_assert_str_eq(get_file(tpath("h"), NULL), "two");
	ck_assert_int_eq(weft_file_rename(tpath("g"), tpath("i")), -ENOENT);
	ck_assert_int_eq(
	    weft_file_renameat(AT_FDCWD, tpath("h"), AT_FDCWD, tpath("d/f"), RENAME_NOREPLACE),
	    -EEXIST);
	ck_assert_int_eq(
	    weft_file_renameat(AT_FDCWD, tpath("h"), AT_FDCWD, tpath("d/f"), RENAME_EXCHANGE), 0);
	ck_assert_str_eq(get_file(tpath("h"), NULL), "one");
	ck_assert_str_eq(get_file(tpath("d/f"), NULL), "two");

	ck_assert_int_eq(weft_file_link(tpath("h"), tpath("hl")), 0);
	ck_assert_int_eq(weft_file_link(tpath("h"), tpath("hl")), -EEXIST);
	ck_assert_str_eq(get_file(tpath("hl"), NULL), "one");
	ck_assert_int_eq(weft_file_symlink("h", tpath("sl")), 0);
	n = readlink(tpath("sl"), link, sizeof(link) - 1);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(link[0], 'h');
	ck_assert_str_eq(get_file(tpath("sl"), NULL), "one");

	ck_assert_int_eq(weft_file_rmdir(tpath("d")), -ENOTEMPTY);
	ck_assert_int_eq(weft_file_unlink(tpath("d")), -EISDIR);
	ck_assert_int_eq(weft_file_rmdir(tpath("h")), -ENOTDIR);
	ck_assert_int_eq(weft_file_unlink(tpath("d/f")), 0);
	ck_assert_int_eq(weft_file_unlink(tpath("d/f")), -ENOENT);
	ck_assert_int_eq(weft_file_rmdir(tpath("d")), 0);

	/* The *at forms, relative to a directory descriptor. */
	dfd = open(tdir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(weft_file_mkdirat(dfd, "sub", 0700), 0);
	weft_file *f;
	ck_assert_int_eq(weft_file_openat(&f, dfd, "sub/x", O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_eq(weft_file_close(f), 0);
	ck_assert_int_eq(weft_file_linkat(dfd, "sub/x", dfd, "sub/y", 0), 0);
	ck_assert_int_eq(weft_file_symlinkat("x", dfd, "sub/z"), 0);
	ck_assert_int_eq(weft_file_renameat(dfd, "sub/y", dfd, "sub/w", 0), 0);
	ck_assert_int_eq(weft_file_unlinkat(dfd, "sub", AT_REMOVEDIR), -ENOTEMPTY);
	ck_assert_int_eq(weft_file_unlinkat(dfd, "sub/x", 0), 0);
	ck_assert_int_eq(weft_file_unlinkat(dfd, "sub/w", 0), 0);
	ck_assert_int_eq(weft_file_unlinkat(dfd, "sub/z", 0), 0);
	ck_assert_int_eq(weft_file_unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
	close(dfd);

	ck_assert_int_eq(weft_file_unlink(NULL), -EINVAL);
	ck_assert_int_eq(weft_file_rename(tpath("h"), NULL), -EINVAL);
	return 0;
}

START_TEST(path_operations_and_errors)
{
	int fds = count_fds();

	run_main(paths_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* ---- atomic replace ------------------------------------------------------------------------- */

static int replace_main(void *arg)
{
	struct statx stx;

	/* New file, then over an existing one (and over a hard link's name: the other name keeps
	 * the old inode, as a rename does). */
	ck_assert_int_eq(weft_file_replace_atomic(tpath("cfg"), "v1", 2, 0640), 0);
	ck_assert_str_eq(get_file(tpath("cfg"), NULL), "v1");
	ck_assert_int_eq(weft_file_statx_at(AT_FDCWD, tpath("cfg"), 0, STATX_MODE, &stx), 0);
	ck_assert_uint_eq(stx.stx_mode & 0777, 0640);
	ck_assert_int_eq(link(tpath("cfg"), tpath("cfg.old")), 0);
	ck_assert_int_eq(weft_file_replace_atomic(tpath("cfg"), big, sizeof(big), 0600), 0);
	size_t len;
	const char *got = get_file(tpath("cfg"), &len);
	ck_assert_uint_eq(len, 65535); /* get_file reads at most that: enough to compare */
	ck_assert_int_eq(memcmp(got, big, len), 0);
	ck_assert_str_eq(get_file(tpath("cfg.old"), NULL), "v1");
	ck_assert_int_eq(weft_file_replace_atomic(tpath("empty"), NULL, 0, 0600), 0);
	ck_assert(exists(tpath("empty")));

	/* Errors leave nothing behind. */
	ck_assert_int_eq(weft_file_replace_atomic(tpath("nodir/cfg"), "x", 1, 0600), -ENOENT);
	ck_assert_int_eq(weft_file_replace_atomic(tpath("sub/"), "x", 1, 0600), -EISDIR);
	ck_assert_int_eq(mkdir(tpath("adir"), 0755), 0);
	ck_assert_int_eq(weft_file_replace_atomic(tpath("adir"), "x", 1, 0600), -EISDIR);
	ck_assert_int_eq(weft_file_replace_atomic(NULL, "x", 1, 0600), -EINVAL);
	ck_assert_int_eq(count_entries(".cfg"), 0);
	ck_assert_int_eq(count_entries(".adir"), 0);
	return 0;
}

START_TEST(replace_atomic_tmpfile)
{
	int fds = count_fds();

	run_main(replace_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(replace_atomic_named_temp)
{
	int fds = count_fds();

	weft__file_replace_no_tmpfile = true;
	run_main(replace_main, NULL);
	weft__file_replace_no_tmpfile = false;
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* Kill the process at one step of the replace; the parent looks at what is left. */
static int kill_step;

static void kill_hook(int step)
{
	if (step == kill_step)
		raise(SIGKILL);
}

static int crash_main(void *arg)
{
	return weft_file_replace_atomic(tpath("data"), "NEW CONTENT", 11, 0644);
}

static void crash_at(int step, bool named)
{
	int status, leftovers;
	const char *content;
	pid_t pid;

	put_file(tpath("data"), "old content", 11);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		kill_step = step;
		weft__file_replace_no_tmpfile = named;
		weft__file_replace_hook = kill_hook;
		_exit(weft_run(crash_main, NULL, NULL) ? 2 : 3); /* reached only if not killed */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		      "step %d: child was not killed (status %#x)", step, status);
	content = get_file(tpath("data"), NULL);
	/* Before the rename the old file is complete; from the rename on, the new one. */
	ck_assert_str_eq(content, step < WEFT__REPLACE_RENAMED ? "old content" : "NEW CONTENT");
	/* A named temp exists from its creation (named) or link (O_TMPFILE) until the rename. */
	leftovers = count_entries(".data.");
	if (step >= WEFT__REPLACE_RENAMED)
		ck_assert_int_eq(leftovers, 0);
	else if (named || step == WEFT__REPLACE_LINKED)
		ck_assert_int_eq(leftovers, 1);
	else
		ck_assert_int_eq(leftovers, 0);
}

static void remove_temps(void)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "rm -f '%s'/.data.*", tdir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(replace_atomic_killed_at_each_step)
{
	for (int named = 0; named < 2; named++) {
		for (int step = WEFT__REPLACE_CREATED; step <= WEFT__REPLACE_DIR_SYNCED; step++) {
			if (named && step == WEFT__REPLACE_LINKED)
				continue; /* no link step with a named temp */
			crash_at(step, named);
			remove_temps();
		}
	}
}
END_TEST

/* ---- disk full: a 64 KiB tmpfs ---------------------------------------------------------------- */

static const char *small_dir;

static int enospc_main(void *arg)
{
	char path[PATH_MAX + 16], temps[PATH_MAX + 16];
	weft_file *f;
	size_t done;
	int fds = count_fds();

	/* Two file systems: the first one's blocks come back only when the kernel drops its last
	 * reference to the unlinked file, which io_uring may do after the close has returned. */
	snprintf(path, sizeof(path), "%s/one/file", small_dir);
	ck_assert_int_eq(weft_file_open(&f, path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(weft_file_pwrite(f, big, 1 << 20, 0, &done), -ENOSPC);
	ck_assert_uint_gt(done, 0);
	ck_assert_uint_lt(done, 1 << 20);
	ck_assert_int_eq(weft_file_close(f), 0);
	ck_assert_int_eq(weft_file_unlink(path), 0);

	/* The replace fails cleanly and the old content stays. */
	snprintf(path, sizeof(path), "%s/two/cfg", small_dir);
	put_file(path, "old", 3);
	for (int named = 0; named < 2; named++) {
		weft__file_replace_no_tmpfile = named;
		ck_assert_int_eq(weft_file_replace_atomic(path, big, 1 << 20, 0600), -ENOSPC);
		ck_assert_str_eq(get_file(path, NULL), "old");
		snprintf(temps, sizeof(temps), "ls -A '%s/two' | grep -q '^\\.cfg'", small_dir);
		ck_assert_int_ne(system(temps), 0);
	}
	weft__file_replace_no_tmpfile = false;
	ck_assert_int_eq(count_fds(), fds);
	return 0;
}

START_TEST(disk_full_is_enospc)
{
	static char dir[PATH_MAX + 16], one[PATH_MAX + 32], two[PATH_MAX + 32];

	/* A private mount namespace: the tiny tmpfs is visible to this test process only and
	 * vanishes with it. Needs CAP_SYS_ADMIN (tests run as root). */
	if (unshare(CLONE_NEWNS) || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL)) {
		fprintf(stderr, "disk_full_is_enospc: skipped, no mount namespace (%s)\n",
			strerror(errno));
		return;
	}
	snprintf(dir, sizeof(dir), "%s/small", tdir);
	snprintf(one, sizeof(one), "%s/one", dir);
	snprintf(two, sizeof(two), "%s/two", dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(mkdir(one, 0755), 0);
	ck_assert_int_eq(mkdir(two, 0755), 0);
	ck_assert_int_eq(mount("tmpfs", one, "tmpfs", 0, "size=64k"), 0);
	ck_assert_int_eq(mount("tmpfs", two, "tmpfs", 0, "size=64k"), 0);
	small_dir = dir;
	run_main(enospc_main, NULL);
	ck_assert_int_eq(umount2(one, MNT_DETACH), 0);
	ck_assert_int_eq(umount2(two, MNT_DETACH), 0);
}
END_TEST

/* ---- copies and sendfile ------------------------------------------------------------------- */

static int copy_main(void *arg)
{
	weft_file *in, *out;
	void *data;
	size_t len;

	put_file(tpath("src"), big, sizeof(big));
	ck_assert_int_eq(weft_file_copy_path(tpath("src"), tpath("dst"), 0600), 0);
	ck_assert_int_eq(weft_file_load(tpath("dst"), &data, &len, 0), 0);
	ck_assert_uint_eq(len, sizeof(big));
	ck_assert_int_eq(memcmp(data, big, len), 0);
	free(data);

	/* From the positions on, a bounded length; both positions advance. */
	ck_assert_int_eq(weft_file_open(&in, tpath("src"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_open(&out, tpath("part"), O_WRONLY | O_CREAT | O_TRUNC, 0600),
			 0);
	ck_assert_int_eq(weft_file_seek(in, 1000, SEEK_SET), 1000);
	ck_assert_int_eq(weft_file_seek(out, 10, SEEK_SET), 10);
	ck_assert_int_eq(weft_file_copy(out, in, 100000), 100000);
	ck_assert_int_eq(weft_file_tell(in), 101000);
	ck_assert_int_eq(weft_file_tell(out), 100010);
	ck_assert_int_eq(weft_file_seek(in, -5, SEEK_END), (int64_t)sizeof(big) - 5);
	ck_assert_int_eq(weft_file_copy(out, in, UINT64_MAX), 5);
	ck_assert_int_eq(weft_file_copy(out, in, UINT64_MAX), 0);
	ck_assert_int_eq(weft_file_close(in), 0);
	ck_assert_int_eq(weft_file_close(out), 0);
	ck_assert_int_eq(weft_file_load(tpath("part"), &data, &len, 0), 0);
	ck_assert_uint_eq(len, 100015);
	ck_assert_int_eq(memcmp((char *)data + 10, big + 1000, 100000), 0);
	ck_assert_int_eq(memcmp((char *)data + 100010, big + sizeof(big) - 5, 5), 0);
	free(data);

	ck_assert_int_eq(weft_file_copy_path(tpath("nope"), tpath("dst2"), 0600), -ENOENT);
	ck_assert(!exists(tpath("dst2")));
	ck_assert_int_eq(weft_file_copy_path(tpath("src"), tpath("nodir/x"), 0600), -ENOENT);
	return 0;
}

FIBER_FD_TEST(copy_files, copy_main)

/* Count 0 copies nothing. A copy cut short by its destination (a file-size limit in the middle
 * of one pipe-full) returns exactly what was written, both positions move by exactly that, the
 * next call reports the error, and once the limit is lifted the copy resumes without a gap. */
static int copy_partial_main(void *arg)
{
	const size_t len = 300000, limit = 150007;
	struct rlimit old, lim;
	weft_file *in, *out;
	void *data;
	size_t got;

	put_file(tpath("src"), big, len);
	ck_assert_int_eq(weft_file_open(&in, tpath("src"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_open(&out, tpath("dst"), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(weft_file_copy(out, in, 0), 0);
	ck_assert_int_eq(weft_file_tell(in), 0);
	ck_assert_int_eq(weft_file_tell(out), 0);

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = (struct rlimit){.rlim_cur = limit, .rlim_max = old.rlim_max};
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	ck_assert_int_eq(weft_file_copy(out, in, UINT64_MAX), (int64_t)limit);
	ck_assert_int_eq(weft_file_tell(in), (int64_t)limit);
	ck_assert_int_eq(weft_file_tell(out), (int64_t)limit);
	ck_assert_int_eq(weft_file_copy(out, in, UINT64_MAX), -EFBIG);
	ck_assert_int_eq(weft_file_tell(in), (int64_t)limit);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(weft_file_copy(out, in, UINT64_MAX), (int64_t)(len - limit));
	ck_assert_int_eq(weft_file_close(in), 0);
	ck_assert_int_eq(weft_file_close(out), 0);
	ck_assert_int_eq(weft_file_load(tpath("dst"), &data, &got, 0), 0);
	ck_assert_uint_eq(got, len);
	ck_assert_int_eq(memcmp(data, big, len), 0);
	free(data);
	return 0;
}

FIBER_FD_TEST(copy_zero_and_partial, copy_partial_main)

struct sink {
	int fd;
	size_t got;
	char *buf;
};

static int sink_reader(void *arg)
{
	struct sink *s = arg;
	weft_file *f;
	ssize_t n;

	ck_assert_int_eq(weft_file_from_fd(&f, s->fd), 0);
	while ((n = weft_file_read(f, s->buf + s->got, sizeof(big) + 10 - s->got)) > 0)
		s->got += (size_t)n;
	ck_assert_int_eq(n, 0);
	return weft_file_close(f);
}

static int sendfile_main(void *arg)
{
	struct sink s = {.buf = malloc(sizeof(big) + 10)};
	weft_file *f;
	weft_task *t;
	int sv[2], st;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s.fd = sv[1];
	put_file(tpath("src"), big, sizeof(big));
	ck_assert_int_eq(weft_file_open(&f, tpath("src"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_task_spawn(&t, sink_reader, &s, NULL), 0);
	ck_assert_int_eq(weft_file_sendfile(f, sv[0], 0, sizeof(big)), (int64_t)sizeof(big));
	/* Past the end: a short count, not an error. */
	ck_assert_int_eq(weft_file_sendfile(f, sv[0], sizeof(big) - 3, 100), 3);
	ck_assert_int_eq(weft_file_sendfile(f, sv[0], -1, 100), -EINVAL);
	ck_assert_int_eq(weft_file_sendfile(f, sv[0], 0, 0), 0); /* as sendfile(2): nothing */
	close(sv[0]);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(s.got, sizeof(big) + 3);
	ck_assert_int_eq(memcmp(s.buf, big, sizeof(big)), 0);
	ck_assert_int_eq(memcmp(s.buf + sizeof(big), big + sizeof(big) - 3, 3), 0);

	/* The peer gone: an error, no hang. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(weft_file_sendfile(f, sv[0], 0, 4096), -EPIPE);
	close(sv[0]);
	ck_assert_int_eq(weft_file_close(f), 0);
	free(s.buf);
	return 0;
}

FIBER_FD_TEST(sendfile_to_socket, sendfile_main)

/* A sendfile cut short by its deadline (the peer reads nothing) returns exactly what the socket
 * took: the peer then reads that many bytes, no more. */
static int sendfile_deadline_main(void *arg)
{
	const size_t len = 2 << 20;
	int sz = 4096, sv[2];
	weft_file *f, *peer;
	weft_scope sc;
	int64_t r;
	ssize_t n;
	size_t got = 0;
	char *buf = malloc(len);

	put_file(tpath("src"), big, len);
	ck_assert_int_eq(weft_file_open(&f, tpath("src"), O_RDONLY, 0), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 100 * WEFT_MSEC, 0), 0);
	r = weft_file_sendfile(f, sv[0], 0, len);
	weft_scope_exit(&sc);
	ck_assert_int_gt(r, 0); /* some went: the socket buffers hold at least a few KiB */
	ck_assert_int_lt(r, (int64_t)len);
	ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
	ck_assert_int_eq(weft_file_from_fd(&peer, sv[1]), 0);
	while ((n = weft_file_read(peer, buf + got, len - got)) > 0)
		got += (size_t)n;
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(got, (size_t)r);
	ck_assert_int_eq(memcmp(buf, big, got), 0);
	ck_assert_int_eq(weft_file_close(peer), 0);
	close(sv[0]);
	ck_assert_int_eq(weft_file_close(f), 0);
	free(buf);
	return 0;
}

FIBER_FD_TEST(sendfile_deadline_count, sendfile_deadline_main)

static Suite *file_path_suite(void)
{
	Suite *s = suite_create("file_path");
	TCase *tc = tcase_create("path");

	tcase_add_checked_fixture(tc, setup, tmp_teardown);
	tcase_add_test(tc, path_operations_and_errors);
	tcase_add_test(tc, replace_atomic_tmpfile);
	tcase_add_test(tc, replace_atomic_named_temp);
	tcase_add_test(tc, replace_atomic_killed_at_each_step);
	tcase_add_test(tc, disk_full_is_enospc);
	tcase_add_test(tc, copy_files);
	tcase_add_test(tc, copy_zero_and_partial);
	tcase_add_test(tc, sendfile_to_socket);
	tcase_add_test(tc, sendfile_deadline_count);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(file_path_suite)

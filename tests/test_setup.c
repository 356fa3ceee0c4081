/* SPDX-License-Identifier: MIT */
/*
 * Loop set-up when the system refuses io_uring. A seccomp filter in a forked child makes
 * io_uring_setup fail the way a sysctl (kernel.io_uring_disabled=2) or a container's seccomp
 * profile does, without touching the machine-wide setting other tests depend on.
 */
#include <check.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weft.h>
#include "check_main.h"

/* Make io_uring_setup return -@err for this process. */
static void refuse_io_uring(int err)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};

	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

static int never_runs(void *arg)
{
	return 42;
}

/* Run weft_run in a child refusing io_uring with @err; return the child's stderr. */
static char *run_refused(int err, int *status)
{
	int pipefd[2];
	static char out[1024];
	ssize_t n, len = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Only a loop that insists on io_uring fails: AUTO falls back (test_backend). */
		const struct weft_loop_opts uring = {.backend = WEFT_BACKEND_URING};
		weft_loop *loop = NULL;
		dup2(pipefd[1], STDERR_FILENO);
		refuse_io_uring(err);
		if (weft_loop_new(&loop, &uring) != -err)
			_exit(100);
		_exit(-weft_run(never_runs, NULL, &uring) == err ? 0 : 101);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + len, sizeof(out) - 1 - (size_t)len)) > 0)
		len += n;
	out[len] = '\0';
	close(pipefd[0]);
	ck_assert_int_eq(waitpid(pid, status, 0), pid);
	return out;
}

START_TEST(disabled_is_eperm_and_says_so)
{
	int status;
	char *err = run_refused(EPERM, &status);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert_msg(strstr(err, "io_uring is disabled"), "stderr was: %s", err);
	ck_assert_msg(strstr(err, "kernel.io_uring_disabled"), "stderr was: %s", err);
}
END_TEST

START_TEST(missing_is_enosys_and_says_so)
{
	int status;
	char *err = run_refused(ENOSYS, &status);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert_msg(strstr(err, "no io_uring"), "stderr was: %s", err);
}
END_TEST

START_TEST(strerror_names_errors)
{
	ck_assert_str_eq(weft_strerror(-ECANCELED), "Operation canceled");
	ck_assert_str_eq(weft_strerror(ETIMEDOUT), "Connection timed out");
	ck_assert_str_eq(weft_strerror(0), "Success");
	ck_assert_ptr_nonnull(weft_strerror(-100000));
	ck_assert_str_eq(weft_version(), "0.2.0");
}
END_TEST

static Suite *setup_suite(void)
{
	Suite *s = suite_create("setup");
	TCase *tc = tcase_create("refused");

	tcase_add_test(tc, disabled_is_eperm_and_says_so);
	tcase_add_test(tc, missing_is_enosys_and_says_so);
	tcase_add_test(tc, strerror_names_errors);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(setup_suite)

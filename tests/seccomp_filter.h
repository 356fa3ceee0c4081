/* SPDX-License-Identifier: MIT */
/*
 * A seccomp filter that refuses io_uring the way container runtimes do (Docker 25+, containerd):
 * io_uring_setup, io_uring_enter and io_uring_register fail with EPERM, every other system call
 * runs. Raw classic BPF (no libseccomp). The filter stays on the process for good and is
 * inherited across fork and exec. Shared by tests/test_backend.c and tests/seccomp_exec.c.
 */
#ifndef WEFT_TESTS_SECCOMP_FILTER_H
#define WEFT_TESTS_SECCOMP_FILTER_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define SECCOMP_TEST_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_TEST_ARCH AUDIT_ARCH_AARCH64
#else
#error "tests/seccomp_filter.h: add this machine's AUDIT_ARCH_* value"
#endif

/* Since Linux 5.1 every architecture numbers new system calls alike. */
_Static_assert(__NR_io_uring_setup == 425 && __NR_io_uring_enter == 426 &&
		   __NR_io_uring_register == 427,
	       "io_uring system call numbers");

#define SECCOMP_TEST_DENY(nr)                            \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

/* Only this machine's native calls are known here; anything else (i386 compat calls through
 * int 0x80, say) is a bug in the caller: kill, as seccomp(2) advises. Leaves the call's number
 * loaded (x32 calls carry the same numbers with bit 30 set). */
#ifdef __X32_SYSCALL_BIT
#define SECCOMP_TEST_X32 BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(__u32)__X32_SYSCALL_BIT),
#else
#define SECCOMP_TEST_X32
#endif
#define SECCOMP_TEST_PROLOGUE                                                      \
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),   \
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_TEST_ARCH, 1, 0),          \
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),                   \
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)), \
	    SECCOMP_TEST_X32

/* Install @code on the calling process (all its threads): 0 or a negative errno. */
static inline int seccomp_install(struct sock_filter *code, unsigned short len)
{
	struct sock_fprog prog = {.len = len, .filter = code};
	long r;

	/* Without privileges a filter needs no_new_privs (set for good, inherited too). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
	/* Valgrind knows only the prctl form (and runs one thread at a time anyway). */
	if (r < 0 && errno == ENOSYS)
		r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
	if (r < 0)
		return -errno;
	return r ? -EBUSY : 0; /* > 0: the id of a thread that could not take the filter */
}

/*
 * seccomp_refuse_uring - install the filter on the calling process (all its threads).
 * Returns 0 or a negative errno (-EINVAL: no seccomp filters in this kernel).
 */
static inline int seccomp_refuse_uring(void)
{
	static struct sock_filter code[] = {
	    SECCOMP_TEST_PROLOGUE SECCOMP_TEST_DENY(__NR_io_uring_setup),
	    SECCOMP_TEST_DENY(__NR_io_uring_enter),
	    SECCOMP_TEST_DENY(__NR_io_uring_register),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	return seccomp_install(code, sizeof(code) / sizeof(code[0]));
}

/* EPERM for each of the @n (at most 8) system calls @nrs, every other call runs. */
static inline int seccomp_refuse_calls(const int *nrs, unsigned n)
{
	struct sock_filter code[5 + 2 * 8 + 1] = {SECCOMP_TEST_PROLOGUE};
	unsigned len = 0;

	while (len < sizeof(code) / sizeof(code[0]) && code[len].code)
		len++;
	for (unsigned i = 0; i < n && i < 8; i++) {
		struct sock_filter deny[] = {SECCOMP_TEST_DENY((__u32)nrs[i])};

		code[len++] = deny[0];
		code[len++] = deny[1];
	}
	code[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return seccomp_install(code, (unsigned short)len);
}

/* A sandbox whose allow-list predates epoll_pwait2 (Linux 5.11): EPERM for that one call. */
static inline int seccomp_refuse_epoll_pwait2(void)
{
	static struct sock_filter code[] = {
	    SECCOMP_TEST_PROLOGUE SECCOMP_TEST_DENY(__NR_epoll_pwait2),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	return seccomp_install(code, sizeof(code) / sizeof(code[0]));
}

/*
 * seccomp_uring_refused - whether each of the three io_uring calls now fails with EPERM. The
 * probes are harmless without the filter too: enter and register on fd -1 fail with EBADF, and a
 * ring that set-up does create is closed at once.
 */
static inline int seccomp_uring_refused(void)
{
	struct io_uring_params p;
	long fd;
	int refused = 1;

	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 1, &p);
	if (fd >= 0) {
		close((int)fd);
		return 0;
	}
	refused &= errno == EPERM;
	refused &= syscall(__NR_io_uring_enter, -1, 0, 0, 0, NULL, 0) == -1 && errno == EPERM;
	refused &= syscall(__NR_io_uring_register, -1, 0, NULL, 0) == -1 && errno == EPERM;
	return refused;
}

#endif

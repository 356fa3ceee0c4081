/* SPDX-License-Identifier: MIT */
/*
 * Stack overflow reports. A fiber that runs into its guard region takes a SIGSEGV on a stack
 * that has no room left, so the handler runs on an alternate signal stack (one per loop thread),
 * names the task, and lets the fault happen again with the default action (core dump).
 * Faults elsewhere go to whatever handler was installed before ours.
 * ASan builds leave SIGSEGV to ASan, which reports stack overflows itself.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ctx.h"
#include "loop.h"
#include "sched.h"
#include "stack.h"
#include "task.h"

#ifndef WEFT_ASAN
static struct sigaction previous;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static __thread void *altstack;

static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && at < cap)
		buf[at++] = tmp[--n];
	return at;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	struct weft_loop *loop = weft__loop();
	struct weft_task *t = loop ? loop->current : NULL;
	uintptr_t addr = (uintptr_t)si->si_addr, lo = t ? (uintptr_t)t->stack : 0;

	if (t && lo && addr >= lo && addr < lo + WEFT__STACK_GUARD) {
		char msg[256];
		size_t n = 0, cap = sizeof(msg) - 1;
		n = put_str(msg, n, cap, "weft: stack overflow in task #");
		n = put_num(msg, n, cap, t->id);
		if (t->name[0]) {
			n = put_str(msg, n, cap, " '");
			n = put_str(msg, n, cap, t->name);
			n = put_str(msg, n, cap, "'");
		}
		n = put_str(msg, n, cap, " (stack of ");
		n = put_num(msg, n, cap, t->stack_size);
		n = put_str(msg, n, cap,
			    " bytes): spawn it with a larger weft_task_opts.stack_size\n");
		if (write(STDERR_FILENO, msg, n) < 0) {
		}
		signal(SIGSEGV, SIG_DFL);
		return; /* the faulting access repeats and takes the default action */
	}
	if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction) {
		previous.sa_sigaction(sig, si, uc);
		return;
	}
	if (previous.sa_handler == SIG_IGN)
		return;
	if (previous.sa_handler != SIG_DFL) {
		previous.sa_handler(sig);
		return;
	}
	signal(SIGSEGV, SIG_DFL);
}

static void install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &previous);
}

void weft__overflow_install(void)
{
	pthread_once(&install_once, install);
}

void weft__overflow_thread_init(void)
{
	stack_t ss, old;
	size_t size = 64 * 1024;

	if (altstack || (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE)))
		return; /* this thread already has one (ours, or the program's) */
	altstack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (altstack == MAP_FAILED) {
		altstack = NULL;
		return;
	}
	ss.ss_sp = altstack;
	ss.ss_size = size;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
}
#else
void weft__overflow_install(void)
{
}

void weft__overflow_thread_init(void)
{
}
#endif

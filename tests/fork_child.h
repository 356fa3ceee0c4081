/* SPDX-License-Identifier: MIT */
/* Running a piece of a test in a forked child whose stderr the test reads afterwards. */
#ifndef WEFT_TESTS_FORK_CHILD_H
#define WEFT_TESTS_FORK_CHILD_H

#include <check.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run @child(@arg) in a fresh process, its stderr captured into @text (NUL-terminated, at most
 * @size - 1 bytes); returns its wait status. */
static inline int fork_child(int (*child)(int), int arg, char *text, size_t size)
{
	FILE *err = tmpfile();
	int ws = 0;
	pid_t pid;

	ck_assert_ptr_nonnull(err);
	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fileno(err), 2);
		_exit(child(arg));
	}
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	rewind(err);
	text[fread(text, 1, size - 1, err)] = 0;
	fclose(err);
	return ws;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * seccomp_exec CMD [ARGS...] - run CMD where io_uring is refused, as in a container with Docker's
 * or containerd's default seccomp profile: install tests/seccomp_filter.h's filter (inherited by
 * CMD and everything it starts), check that it took, then exec CMD. `make check-seccomp` runs the
 * whole test set under it. Exit status: CMD's, or 125 if the filter could not be installed,
 * 126 / 127 if CMD could not be run (as env(1)).
 */
#include <stdio.h>
#include <string.h>

#include "seccomp_filter.h"

int main(int argc, char **argv)
{
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: %s CMD [ARGS...]: run CMD with io_uring refused (EPERM)\n",
			argv[0]);
		return 125;
	}
	err = seccomp_refuse_uring();
	if (err) {
		fprintf(stderr, "seccomp_exec: cannot install the filter: %s\n", strerror(-err));
		return 125;
	}
	if (!seccomp_uring_refused()) {
		fprintf(stderr,
			"seccomp_exec: the filter is installed but io_uring still answers\n");
		return 125;
	}
	execvp(argv[1], argv + 1);
	err = errno;
	fprintf(stderr, "seccomp_exec: %s: %s\n", argv[1], strerror(err));
	return err == ENOENT ? 127 : 126;
}

/* SPDX-License-Identifier: MIT */
/* The main() every Check suite shares: run the suite, exit non-zero if anything failed. */
#ifndef WEFT_TESTS_CHECK_MAIN_H
#define WEFT_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "weft/loop.h"

/* Whether @loop (NULL: the running one) is on io_uring. A case that checks an io_uring-only
 * feature returns early elsewhere and says so (make check runs every suite on both backends). */
static inline bool weft_test_uring(weft_loop *loop, const char *what)
{
	if (weft_loop_backend(loop ? loop : weft_loop_current()) == WEFT_BACKEND_URING)
		return true;
	fprintf(stderr, "%s: skipped on the readiness backend (io_uring only)\n", what);
	return false;
}

#define WEFT_CHECK_MAIN(make_suite)                          \
	int main(void)                                       \
	{                                                    \
		SRunner *sr = srunner_create(make_suite());  \
		int failed;                                  \
                                                             \
		srunner_run_all(sr, CK_NORMAL);              \
		failed = srunner_ntests_failed(sr);          \
		srunner_free(sr);                            \
		return failed ? EXIT_FAILURE : EXIT_SUCCESS; \
	}

#endif

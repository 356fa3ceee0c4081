/* SPDX-License-Identifier: MIT */
/* The main() every Check suite shares: run the suite, exit non-zero if anything failed. */
#ifndef WEFT_TESTS_CHECK_MAIN_H
#define WEFT_TESTS_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

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

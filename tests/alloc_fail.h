/* SPDX-License-Identifier: MIT */
/* Allocation-failure injection (tests/alloc_fail.c): arm, then see whether a failure was made. */
#ifndef WEFT_TESTS_ALLOC_FAIL_H
#define WEFT_TESTS_ALLOC_FAIL_H

/* Start counting allocations; the one WEFT_ALLOC_FAIL names fails from now on. */
void alloc_fail_arm(void);
/* Stop counting; returns how many allocations were made to fail. */
unsigned long alloc_fail_disarm(void);
/* Allocations counted while armed. */
unsigned long alloc_fail_count(void);

#endif

/* Time constants shared by the suites.
 *
 * Tests never assert how fast something ran: the machines are shared and a
 * sanitizer build can be 20x slower. LONG_SLEEP stands for "never completes
 * on its own"; a test that checks a cancel or deadline cut it short asserts
 * the elapsed time stays under WELL_BEFORE, which only a sleep that really
 * ran to the end can break (and the Check timeout would catch that first). */
#ifndef WEFT_TESTS_TIMING_H
#define WEFT_TESTS_TIMING_H

#define LONG_SLEEP  (600 * WEFT_SEC)
#define WELL_BEFORE (LONG_SLEEP / 2)

#endif

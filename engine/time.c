/* SPDX-License-Identifier: MIT */
/* The clock and sleeping. */
#include <errno.h>
#include <time.h>

#include "weft/time.h"
#include "deadline.h"
#include "loop.h"
#include "sched.h"
#include "task.h"

int64_t weft_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * WEFT_SEC + ts.tv_nsec;
}

int weft_sleep_until(int64_t deadline)
{
	struct weft_task *t = weft__current();
	struct weft__wait w;
	int err;

	if (!t)
		return -EPERM;
	if (deadline <= weft_now())
		return weft_yield();
	err = weft__checkpoint(t);
	if (err)
		return err;
	weft__wait_init(&w, "sleep", weft__wait_interrupt_wake);
	return weft__park(&w, deadline, 0);
}

int weft_sleep(int64_t ns)
{
	if (ns <= 0)
		return weft_yield();
	return weft_sleep_until(weft__deadline_after(weft_now(), ns));
}

/* SPDX-License-Identifier: MIT */
/* The engine's own use of the thread pool (executor.c). Private to engine/. */
#ifndef WEFT_ENGINE_EXECUTOR_H
#define WEFT_ENGINE_EXECUTOR_H

#include <stdbool.h>

#include "weft/executor.h"

/*
 * weft__executor_io - run @fn(@arg) on the engine's I/O pool (the readiness backend's file and path
 * calls), from a fiber, as weft_executor_run does: a job not started yet is dropped on a cancel or a
 * deadline, one that started is waited for (and its result stored). @shielded: neither a cancel
 * nor a deadline cuts the wait short. A pool of its own, not the default pool, so users' long
 * jobs never queue file I/O behind them; its threads start on first use.
 */
int weft__executor_io(weft_job_fn fn, void *arg, int *result, bool shielded);

#endif

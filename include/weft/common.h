/* SPDX-License-Identifier: MIT */
/*
 * weft/common.h - conventions shared by every weft header.
 *
 * Errors: every call that can fail returns a negative errno value (liburing's convention):
 * -EINVAL for bad arguments, -ECANCELED when the calling task (or an enclosing scope) was
 * cancelled, -ETIMEDOUT when an enclosing deadline expired, -EPERM when a call that must run in a
 * weft fiber is made from plain thread code, -EXDEV when an object of one loop is used from
 * another loop's fiber or from a thread that does not run its loop (a call documented "not
 * thread-safe"; in debug mode weft also says so on stderr). Nothing aborts on user input.
 *
 * Time: int64_t nanoseconds on CLOCK_MONOTONIC. WEFT_FOREVER means "no deadline". Durations
 * saturate: one that would carry "now + duration" past WEFT_FOREVER (INT64_MAX, say) means no
 * deadline, never a wrapped one in the past.
 */
#ifndef WEFT_COMMON_H
#define WEFT_COMMON_H

#include <errno.h> /* callers compare weft's returns with -EINVAL, -ECANCELED, ... */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks a symbol exported from libweft.so (everything else is hidden). */
#define WEFT_API __attribute__((visibility("default")))

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 2
#define WEFT_VERSION_PATCH 0

/* Units for the int64_t nanosecond times used everywhere. */
#define WEFT_NSEC 1LL
#define WEFT_USEC 1000LL
#define WEFT_MSEC 1000000LL
#define WEFT_SEC  1000000000LL

/* A deadline that never expires. */
#define WEFT_FOREVER INT64_MAX

/*
 * weft_strerror - name an error returned by weft.
 * @err: a weft return value (negative errno) or a positive errno.
 * Returns a static string; never NULL. Thread-safe.
 */
WEFT_API const char *weft_strerror(int err);

/*
 * weft_version - the library's version as "MAJOR.MINOR.PATCH".
 * Thread-safe.
 */
WEFT_API const char *weft_version(void);

#ifdef __cplusplus
}
#endif
#endif

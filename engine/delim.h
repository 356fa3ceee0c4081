/* SPDX-License-Identifier: MIT */
/*
 * The delimiter scanner shared by the stream's read_until (stream.c) and the delimited framer
 * (frame.c). Both look for a delimiter in bytes that arrive a read at a time; neither rescans
 * what an earlier look already cleared, and neither misses a delimiter split across two reads.
 */
#ifndef WEFT_ENGINE_DELIM_H
#define WEFT_ENGINE_DELIM_H

#include <stdbool.h>
#include <string.h>

/*
 * After a search of @len bytes found no @dlen-byte delimiter: how many of them cannot be part
 * of one, and so may be dropped or need no second look. The last @dlen - 1 bytes may be the
 * start of a delimiter whose end has not arrived yet.
 */
static inline size_t weft__delim_cleared(size_t len, size_t dlen)
{
	return len >= dlen ? len - (dlen - 1) : 0;
}

/*
 * Find the first @delim (@dlen >= 1 bytes) in @data[@start .. @len). *@scanned says how many
 * leading bytes of @data an earlier call searched without a match (0: none, a new search); the
 * bytes must be the same ones, with more appended since. The search resumes just before that
 * point (weft__delim_cleared), so a delimiter straddling it is found. Returns the offset just
 * past the delimiter and resets *@scanned to 0, or returns 0 (none yet) and sets *@scanned to
 * @len for the next call.
 */
static inline size_t weft__delim_scan(const void *data, size_t len, size_t start, const void *delim,
				      size_t dlen, size_t *scanned)
{
	size_t from = weft__delim_cleared(*scanned, dlen);
	const char *p = NULL;

	if (from < start)
		from = start;
	if (len > from)
		p = memmem((const char *)data + from, len - from, delim, dlen);
	if (!p) {
		*scanned = len;
		return 0;
	}
	*scanned = 0;
	return (size_t)(p - (const char *)data) + dlen;
}

/*
 * Dropping everything through the next delimiter (an over-long line or frame), a read at a time:
 * how many bytes of @data[0 .. @len) go - through the first delimiter (*@found set), or all
 * that cannot be the start of one (*@found clear: drop them, read more, call again on what
 * remains and what arrived).
 */
static inline size_t weft__delim_skip(const void *data, size_t len, const void *delim, size_t dlen,
				      bool *found)
{
	size_t scanned = 0, end = weft__delim_scan(data, len, 0, delim, dlen, &scanned);

	*found = end != 0;
	return end ? end : weft__delim_cleared(len, dlen);
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The buffered stream (weft/stream.h) over two transports: a scripted one that hands out its
 * input in chunks of a chosen size and takes writes a few bytes at a time (so every split point
 * and every short write is exercised deterministically), and a real pipe read through the ring
 * (for cancellation, deadlines and concurrent callers).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "engine/delim.h"
#include "engine/op.h"
#include "check_main.h"
#include "test_stream_pipe.h"

/* ---- a scripted transport ------------------------------------------------------------------ */

struct script {
	const char *in;
	size_t inlen, pos;
	size_t chunk; /* bytes per read; 0 = all that fits */
	int read_err; /* returned once the input is used up, instead of EOF (0 = EOF) */
	char out[8192];
	size_t outlen;
	size_t wchunk;	/* bytes taken per writev; 0 = all */
	int write_fail; /* fail the Nth writev call (1-based) with -EPIPE; 0 = never */
	int writes, closes, shutdowns;
	bool write_zero; /* writev returns 0 */
};

static ssize_t script_read(void *io, void *buf, size_t len)
{
	struct script *sc = io;
	size_t n = sc->inlen - sc->pos;

	if (n == 0)
		return sc->read_err;
	if (sc->chunk && n > sc->chunk)
		n = sc->chunk;
	if (n > len)
		n = len;
	memcpy(buf, sc->in + sc->pos, n);
	sc->pos += n;
	return (ssize_t)n;
}

static ssize_t script_writev(void *io, const struct iovec *iov, int iovcnt)
{
	struct script *sc = io;
	size_t room = sc->wchunk ? sc->wchunk : SIZE_MAX, took = 0;

	if (++sc->writes == sc->write_fail)
		return -EPIPE;
	if (sc->write_zero)
		return 0;
	for (int i = 0; i < iovcnt && room; i++) {
		size_t n = iov[i].iov_len < room ? iov[i].iov_len : room;

		ck_assert_uint_le(sc->outlen + n, sizeof(sc->out));
		memcpy(sc->out + sc->outlen, iov[i].iov_base, n);
		sc->outlen += n;
		took += n;
		room -= n;
	}
	return (ssize_t)took;
}

static int script_shutdown(void *io)
{
	((struct script *)io)->shutdowns++;
	return 0;
}

static int script_close(void *io)
{
	((struct script *)io)->closes++;
	return 0;
}

static const struct weft_stream_ops script_ops = {
    .read = script_read,
    .writev = script_writev,
    .shutdown = script_shutdown,
    .close = script_close,
};

static const struct weft_stream_ops readonly_ops = {.read = script_read};

static weft_stream *script_stream(struct script *sc, const char *in, size_t chunk, size_t rbuf,
				  size_t wbuf)
{
	struct weft_stream_opts o = {.rbuf_size = rbuf, .wbuf_size = wbuf};
	weft_stream *s;

	sc->in = in;
	sc->inlen = strlen(in);
	sc->chunk = chunk;
	ck_assert_int_eq(weft_stream_new(&s, &script_ops, sc, &o), 0);
	return s;
}

/* ---- arguments ----------------------------------------------------------------------------- */

START_TEST(new_rejects_bad_arguments)
{
	struct script sc = {0};
	struct weft_stream_ops no_read = {.writev = script_writev};
	struct weft_stream_opts tiny = {.rbuf_size = WEFT_STREAM_DELIM_MAX - 1};
	weft_stream *s;
	char buf[8];

	ck_assert_int_eq(weft_stream_new(NULL, &script_ops, &sc, NULL), -EINVAL);
	ck_assert_int_eq(weft_stream_new(&s, NULL, &sc, NULL), -EINVAL);
	ck_assert_int_eq(weft_stream_new(&s, &no_read, &sc, NULL), -EINVAL);
	ck_assert_int_eq(weft_stream_new(&s, &script_ops, &sc, &tiny), -EINVAL);

	s = script_stream(&sc, "x", 0, 0, 0);
	ck_assert_int_eq(weft_stream_read(NULL, buf, 1), -EINVAL);
	ck_assert_int_eq(weft_stream_read(s, NULL, 1), -EINVAL);
	ck_assert_int_eq(weft_stream_read_until(s, buf, sizeof(buf), 0, "", 0), -EINVAL);
	ck_assert_int_eq(weft_stream_read_until(s, buf, sizeof(buf), 0, "0123456789abcdefg", 17),
			 -EINVAL);
	ck_assert_int_eq(weft_stream_read_until(s, buf, sizeof(buf), sizeof(buf) + 1, "\n", 1),
			 -EINVAL);
	ck_assert_int_eq(weft_stream_consume(s, 1), -EINVAL); /* nothing buffered */
	ck_assert_int_eq(weft_stream_writev(s, NULL, 1), -EINVAL);
	ck_assert_int_eq(weft_stream_writev(s, NULL, -1), -EINVAL);
	ck_assert_int_eq(weft_stream_writev(s, NULL, IOV_MAX + 1), -EINVAL);
	/* Lengths that wrap to a small sum must not reach the write buffer's memcpy. */
	struct iovec wrap[2] = {{buf, SIZE_MAX}, {buf, 2}};
	ck_assert_int_eq(weft_stream_writev(s, wrap, 2), -EINVAL);
	wrap[0].iov_len = (size_t)SSIZE_MAX;
	ck_assert_int_eq(weft_stream_writev(s, wrap, 2), -EINVAL);
	ck_assert_ptr_eq(weft_stream_io(s), &sc);
	ck_assert_int_eq(weft_stream_close(s), 0);
	ck_assert_int_eq(sc.closes, 1);
	ck_assert_int_eq(weft_stream_close(NULL), 0);
	weft_stream_free(NULL);
}
END_TEST

/* ---- reading ------------------------------------------------------------------------------- */

START_TEST(read_goes_direct_then_reports_eof)
{
	struct script sc = {0};
	weft_stream *s = script_stream(&sc, "hello world", 4, 0, 0);
	char buf[32];

	ck_assert_int_eq(weft_stream_read(s, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "hell", 4), 0);
	ck_assert_uint_eq(weft_stream_buffered(s), 0);
	ck_assert_int_eq(weft_stream_read(s, buf, 2), 2); /* a short read asks for less */
	ck_assert_int_eq(weft_stream_read(s, buf, sizeof(buf)), 4);
	ck_assert_int_eq(memcmp(buf, "worl", 4), 0);
	ck_assert_int_eq(weft_stream_read(s, buf, sizeof(buf)), 1);
	ck_assert_int_eq(weft_stream_read(s, buf, sizeof(buf)), 0);
	ck_assert_int_eq(weft_stream_read(s, buf, sizeof(buf)), 0); /* EOF is sticky */
	ck_assert_int_eq(weft_stream_read(s, buf, 0), 0);
	weft_stream_free(s);
	ck_assert_int_eq(sc.closes, 0); /* free leaves the transport alone */
}
END_TEST

START_TEST(read_exactly_across_chunks_and_eof)
{
	for (size_t chunk = 1; chunk <= 10; chunk++) {
		struct script sc = {0};
		weft_stream *s = script_stream(&sc, "0123456789", chunk, 0, 0);
		char buf[16];
		size_t got = 99;

		ck_assert_int_eq(weft_stream_read_exactly(s, buf, 4, &got), 0);
		ck_assert_uint_eq(got, 4);
		ck_assert_int_eq(memcmp(buf, "0123", 4), 0);
		ck_assert_int_eq(weft_stream_read_exactly(s, buf, 8, &got), -ENODATA);
		ck_assert_uint_eq(got, 6);
		ck_assert_int_eq(memcmp(buf, "456789", 6), 0);
		ck_assert_int_eq(weft_stream_read_exactly(s, buf, 1, &got), -ENODATA);
		ck_assert_uint_eq(got, 0);
		ck_assert_int_eq(weft_stream_read_exactly(s, buf, 0, NULL), 0);
		weft_stream_free(s);
	}
}
END_TEST

START_TEST(read_exactly_error_keeps_count)
{
	struct script sc = {.read_err = -ECONNRESET};
	weft_stream *s = script_stream(&sc, "abc", 2, 0, 0);
	char buf[8];
	size_t got = 0;

	ck_assert_int_eq(weft_stream_read_exactly(s, buf, 8, &got), -ECONNRESET);
	ck_assert_uint_eq(got, 3);
	ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
	weft_stream_free(s);
}
END_TEST

/* Read every line of @in with input chunks of 1..len bytes: the result never depends on where
 * the transport split the input. */
static void lines_at_every_split(const char *in, const char *delim, const char *const *want,
				 int nwant)
{
	for (size_t chunk = 1; chunk <= strlen(in); chunk++) {
		struct script sc = {0};
		weft_stream *s = script_stream(&sc, in, chunk, 0, 0);
		char buf[64];

		for (int i = 0; i < nwant; i++) {
			ssize_t n =
			    weft_stream_read_until(s, buf, sizeof(buf), 0, delim, strlen(delim));

			ck_assert_int_eq(n, (ssize_t)strlen(want[i]));
			ck_assert_msg(memcmp(buf, want[i], (size_t)n) == 0,
				      "chunk %zu line %d: got '%.*s'", chunk, i, (int)n, buf);
		}
		ck_assert_int_eq(
		    weft_stream_read_until(s, buf, sizeof(buf), 0, delim, strlen(delim)), 0);
		weft_stream_free(s);
	}
}

/* read(-1) with a limit: everything to the end, whatever the chunking; one byte over the limit
 * is -EMSGSIZE with the first @max bytes delivered and the rest still in the stream. */
START_TEST(read_to_end_at_every_split)
{
	for (size_t chunk = 1; chunk <= 12; chunk++) {
		struct script sc = {0};
		weft_stream *s = script_stream(&sc, "hello world", chunk, 0, 0);
		char buf[32];
		size_t got = 99;

		ck_assert_int_eq(weft_stream_read_to_end(s, buf, 10, &got), -EMSGSIZE);
		ck_assert_uint_eq(got, 10);
		ck_assert_int_eq(memcmp(buf, "hello worl", 10), 0);
		ck_assert_int_eq(weft_stream_read(s, buf, sizeof(buf)), 1);
		ck_assert_int_eq(buf[0], 'd');
		ck_assert_int_eq(weft_stream_read_to_end(s, buf, sizeof(buf), &got), 0);
		weft_stream_free(s);

		s = script_stream(&sc, "hello world", chunk, 0, 0);
		sc.pos = 0;
		ck_assert_int_eq(weft_stream_read_to_end(s, buf, 11, NULL), 11); /* exactly max */
		ck_assert_int_eq(memcmp(buf, "hello world", 11), 0);
		weft_stream_free(s);
	}
}
END_TEST

START_TEST(read_to_end_after_partial_frame_and_errors)
{
	struct script sc = {0};
	weft_stream *s = script_stream(&sc, "0016abc", 0, 0, 0);
	const void *d;
	size_t avail, got = 0;
	char buf[32];

	/* A length-prefixed frame cut short by the end: what is there comes back. */
	ck_assert_int_eq(weft_stream_peek(s, 4, &d, &avail), 0);
	ck_assert_int_eq(weft_stream_peek(s, 4 + 16, &d, &avail), -ENODATA);
	ck_assert_int_eq(weft_stream_read_to_end(s, buf, sizeof(buf), NULL), 7);
	ck_assert_int_eq(memcmp(buf, "0016abc", 7), 0);
	ck_assert_int_eq(weft_stream_read_to_end(s, buf, 0, NULL), 0); /* at the end: 0 fits */
	weft_stream_free(s);

	/* Over-long line skipped first, then the rest. */
	s = script_stream(&sc, "0123456789\ntail", 3, 0, 0);
	sc.pos = 0;
	ck_assert_int_eq(weft_stream_read_line(s, buf, 4, 0), -EMSGSIZE);
	ck_assert_int_eq(weft_stream_read_to_end(s, buf, sizeof(buf), NULL), 4);
	ck_assert_int_eq(memcmp(buf, "tail", 4), 0);
	weft_stream_free(s);

	/* A reset: the error, and the count of what arrived before it. */
	sc = (struct script){.read_err = -ECONNRESET};
	s = script_stream(&sc, "abcdef", 4, 0, 0);
	ck_assert_int_eq(weft_stream_read_to_end(s, buf, sizeof(buf), &got), -ECONNRESET);
	ck_assert_uint_eq(got, 6);
	ck_assert_int_eq(memcmp(buf, "abcdef", 6), 0);
	ck_assert_int_eq(weft_stream_read_to_end(NULL, buf, 1, NULL), -EINVAL);
	ck_assert_int_eq(weft_stream_read_to_end(s, NULL, 1, NULL), -EINVAL);
	ck_assert_int_eq(weft_stream_read_to_end(s, buf, (size_t)SSIZE_MAX + 1, NULL), -EINVAL);
	weft_stream_free(s);

	/* max 0 on a stream with data: over the limit at once, nothing consumed. */
	s = script_stream(&sc, "x", 0, 0, 0);
	sc.pos = 0;
	sc.read_err = 0;
	ck_assert_int_eq(weft_stream_read_to_end(s, buf, 0, &got), -EMSGSIZE);
	ck_assert_uint_eq(got, 0);
	ck_assert_uint_eq(weft_stream_buffered(s), 1);
	weft_stream_free(s);
}
END_TEST

START_TEST(read_line_at_every_split)
{
	const char *const want[] = {"alpha\n", "\n", "beta\r\n", "gamma"};

	lines_at_every_split("alpha\n\nbeta\r\ngamma", "\n", want, 4);
}
END_TEST

START_TEST(multibyte_delimiter_at_every_split)
{
	const char *const want[] = {"one\r\n", "t\rw\no\r\n", "\r\n", "\r"};

	lines_at_every_split("one\r\nt\rw\no\r\n\r\n\r", "\r\n", want, 4);
}
END_TEST

/* A four-byte delimiter that overlaps itself ("\r\n\r" then "\r\n\r\n"): a resumed search
 * must back up far enough to find it whatever piece each part of it came in. */
START_TEST(overlapping_delimiter_at_every_split)
{
	const char *const want[] = {"a\r\n\r\r\n\r\n", "\r\n\r\n", "b\r\n\r"};

	lines_at_every_split("a\r\n\r\r\n\r\n\r\n\r\nb\r\n\r", "\r\n\r\n", want, 3);
}
END_TEST

/* The scanner itself (engine/delim.h): searching a prefix, then the whole, finds what one search
 * of the whole finds, at every split, for a delimiter of every length up to the input's. */
START_TEST(delim_scan_resumes_across_reads)
{
	const char in[] = "xx-ab-a-ab-abab-abc-ab-abcd";
	const size_t len = sizeof(in) - 1;
	const char *delims[] = {"-", "ab", "-ab", "ab-a", "-abc", "abcd", "zz"};

	for (size_t d = 0; d < sizeof(delims) / sizeof(delims[0]); d++) {
		size_t dlen = strlen(delims[d]), scanned = 0;
		const char *p = memmem(in, len, delims[d], dlen);
		size_t want = p ? (size_t)(p - in) + dlen : 0;

		ck_assert_uint_eq(weft__delim_scan(in, len, 0, delims[d], dlen, &scanned), want);
		ck_assert_uint_eq(scanned, want ? 0 : len);
		for (size_t k = 0; k <= len; k++) {
			size_t end;

			scanned = 0;
			end = weft__delim_scan(in, k, 0, delims[d], dlen, &scanned);
			if (!end)
				end = weft__delim_scan(in, len, 0, delims[d], dlen, &scanned);
			ck_assert_msg(end == want, "'%s' split at %zu: %zu, want %zu", delims[d], k,
				      end, want);
		}
	}
}
END_TEST

/* Read @in's records up to @delim with a maximum of 8 bytes at every split and two buffer sizes:
 * a 6-byte record, one too long (skipped through its delimiter, even when it outgrows the read
 * buffer), then @next, then an unterminated @last bytes and the end. */
static void overlong_at_every_split(const char *in, const char *delim, const char *next,
				    ssize_t last)
{
	const size_t dlen = strlen(delim);

	for (size_t chunk = 1; chunk <= strlen(in); chunk++) {
		for (size_t rbuf = WEFT_STREAM_DELIM_MAX; rbuf <= 64; rbuf += 48) {
			struct script sc = {0};
			weft_stream *s = script_stream(&sc, in, chunk, rbuf, 0);
			char buf[16];

			ck_assert_int_eq(
			    weft_stream_read_until(s, buf, sizeof(buf), 8, delim, dlen), 6);
			ck_assert_int_eq(
			    weft_stream_read_until(s, buf, sizeof(buf), 8, delim, dlen), -EMSGSIZE);
			ck_assert_int_eq(
			    weft_stream_read_until(s, buf, sizeof(buf), 8, delim, dlen),
			    (ssize_t)strlen(next));
			ck_assert_int_eq(memcmp(buf, next, strlen(next)), 0);
			ck_assert_int_eq(
			    weft_stream_read_until(s, buf, sizeof(buf), 8, delim, dlen), last);
			ck_assert_int_eq(
			    weft_stream_read_until(s, buf, sizeof(buf), 8, delim, dlen), 0);
			weft_stream_free(s);
		}
	}
}

START_TEST(overlong_line_is_skipped)
{
	overlong_at_every_split("short\nthis line is far too long for eight bytes\nnext\nlast",
				"\n", "next\n", 4);
}
END_TEST

/* The skip through an over-long record's delimiter resumes across reads too, for a four-byte
 * delimiter with a false start ("\r\n\r") just before it. */
START_TEST(overlong_record_skipped_through_split_delimiter)
{
	overlong_at_every_split("ok\r\n\r\na long record\r\n\r\r\n\r\nnext\r\n\r\nend", "\r\n\r\n",
				"next\r\n\r\n", 3);
}
END_TEST

START_TEST(overlong_line_then_plain_read_and_eof)
{
	struct script sc = {0};
	weft_stream *s = script_stream(&sc, "0123456789abcdef\nrest", 3, 0, 0);
	char buf[32];

	/* A line exactly at the limit fits; one byte more does not. */
	ck_assert_int_eq(weft_stream_read_line(s, buf, sizeof(buf), 4), -EMSGSIZE);
	ck_assert_int_eq(weft_stream_read_exactly(s, buf, 4, NULL), 0); /* skipping done first */
	ck_assert_int_eq(memcmp(buf, "rest", 4), 0);
	weft_stream_free(s);

	s = script_stream(&sc, "abc\n", 0, 0, 0);
	sc.pos = 0;
	ck_assert_int_eq(weft_stream_read_line(s, buf, sizeof(buf), 4), 4);
	weft_stream_free(s);

	/* The stream ends inside a long line: the skip ends with it. */
	sc = (struct script){0};
	s = script_stream(&sc, "a very long line without end", 5, 0, 0);
	ck_assert_int_eq(weft_stream_read_line(s, buf, sizeof(buf), 4), -EMSGSIZE);
	ck_assert_int_eq(weft_stream_read_line(s, buf, sizeof(buf), 4), 0);
	weft_stream_free(s);
}
END_TEST

START_TEST(peek_and_consume)
{
	struct script sc = {0};
	weft_stream *s = script_stream(&sc,
				       "\x03"
				       "abc\x02xy",
				       1, 16, 0);
	const void *p;
	const char *d;
	size_t avail;

	ck_assert_int_eq(weft_stream_peek(s, 0, &p, &avail), 0); /* nothing yet, no read */
	ck_assert_uint_eq(avail, 0);
	ck_assert_int_eq(sc.pos, 0);
	/* A length-prefixed frame parser, as serial/ and net/ protocols write it. */
	for (int frame = 0; frame < 2; frame++) {
		ck_assert_int_eq(weft_stream_peek(s, 1, &p, &avail), 0);
		d = p;
		size_t len = (size_t)d[0];
		ck_assert_int_eq(weft_stream_peek(s, 1 + len, &p, &avail), 0);
		ck_assert_uint_ge(avail, 1 + len);
		d = p;
		ck_assert_int_eq(memcmp(d + 1, frame ? "xy" : "abc", len), 0);
		ck_assert_int_eq(weft_stream_consume(s, 1 + len), 0);
	}
	ck_assert_int_eq(weft_stream_peek(s, 1, &p, &avail), -ENODATA);
	ck_assert_uint_eq(avail, 0);
	avail = 99;
	ck_assert_int_eq(weft_stream_peek(s, 17, &p, &avail), -EMSGSIZE);
	ck_assert_uint_eq(avail, 0);
	weft_stream_free(s);

	sc = (struct script){0};
	s = script_stream(&sc, "abc", 0, 16, 0);
	ck_assert_int_eq(weft_stream_peek(s, 5, &p, &avail), -ENODATA);
	ck_assert_uint_eq(avail, 3); /* the short tail is still there to read */
	ck_assert_int_eq(weft_stream_consume(s, 4), -EINVAL);
	/* Zero bytes into no buffer, with bytes buffered (found by fuzz_stream: UBSan). */
	size_t got = 9;
	ck_assert_int_eq(weft_stream_read_exactly(s, NULL, 0, &got), 0);
	ck_assert_uint_eq(got, 0);
	char buf[8];
	ck_assert_int_eq(weft_stream_read(s, buf, sizeof(buf)), 3);
	weft_stream_free(s);
}
END_TEST

START_TEST(peek_compacts_a_full_buffer)
{
	/* 16-byte buffer: consume most of it, then ask for a frame that only fits once the
	 * unread tail moves to the front. */
	struct script sc = {0};
	weft_stream *s = script_stream(&sc, "0123456789abcdefghijklmnop", 0, 16, 0);
	const void *p;
	size_t avail;

	ck_assert_int_eq(weft_stream_peek(s, 16, &p, &avail), 0);
	ck_assert_int_eq(weft_stream_consume(s, 12), 0);
	ck_assert_int_eq(weft_stream_peek(s, 14, &p, &avail), 0);
	ck_assert_int_eq(memcmp(p, "cdefghijklmnop", 14), 0);
	weft_stream_free(s);
}
END_TEST

/* ---- writing ------------------------------------------------------------------------------- */

START_TEST(write_all_through_short_writes)
{
	struct script sc = {.wchunk = 3};
	weft_stream *s = script_stream(&sc, "", 0, 0, 0);
	struct iovec iov[200];
	char expect[400];
	size_t total = 0;

	ck_assert_int_eq(weft_stream_write(s, "hello, world", 12), 12);
	ck_assert_uint_eq(weft_stream_written(s), 12);
	/* More entries than one transport call takes, with empty ones mixed in. */
	for (int i = 0; i < 200; i++) {
		static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
		iov[i].iov_base = (void *)(letters + i % 26);
		iov[i].iov_len = i % 3 == 0 ? 0 : 1 + (size_t)(i % 2);
		memcpy(expect + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	ck_assert_int_eq(weft_stream_writev(s, iov, 200), (ssize_t)total);
	ck_assert_uint_eq(sc.outlen, 12 + total);
	ck_assert_int_eq(memcmp(sc.out, "hello, world", 12), 0);
	ck_assert_int_eq(memcmp(sc.out + 12, expect, total), 0);
	ck_assert_int_eq(weft_stream_writev(s, NULL, 0), 0);
	ck_assert_int_eq(weft_stream_close(s), 0);
}
END_TEST

START_TEST(buffered_writes_gather_until_flush)
{
	struct script sc = {0};
	weft_stream *s = script_stream(&sc, "", 0, 0, 8);
	char big[20];

	memset(big, 'B', sizeof(big));
	ck_assert_int_eq(weft_stream_write(s, "abc", 3), 3);
	ck_assert_int_eq(weft_stream_write(s, "def", 3), 3);
	ck_assert_int_eq(sc.writes, 0);
	ck_assert_int_eq(weft_stream_write(s, "gh", 2), 2); /* exactly full: still buffered */
	ck_assert_int_eq(sc.writes, 0);
	ck_assert_int_eq(weft_stream_write(s, "i", 1), 1); /* flushes 8, buffers 1 */
	ck_assert_int_eq(sc.outlen, 8);
	ck_assert_int_eq(weft_stream_write(s, big, sizeof(big)), 20); /* flush, then direct */
	ck_assert_int_eq(sc.outlen, 29);
	ck_assert_int_eq(memcmp(sc.out, "abcdefghi", 9), 0);
	ck_assert_int_eq(weft_stream_write(s, "tail", 4), 4);
	ck_assert_int_eq(weft_stream_shutdown(s), 0); /* flushes first */
	ck_assert_int_eq(sc.shutdowns, 1);
	ck_assert_int_eq(memcmp(sc.out + 29, "tail", 4), 0);
	ck_assert_int_eq(weft_stream_write(s, "end", 3), 3);
	ck_assert_int_eq(weft_stream_close(s), 0); /* close flushes too */
	ck_assert_int_eq(sc.outlen, 36);
	ck_assert_int_eq(sc.closes, 1);
}
END_TEST

START_TEST(write_errors_keep_unsent_bytes)
{
	struct script sc = {.wchunk = 2, .write_fail = 2};
	weft_stream *s = script_stream(&sc, "", 0, 0, 16);

	ck_assert_int_eq(weft_stream_write(s, "abcdef", 6), 6);
	ck_assert_int_eq(weft_stream_flush(s), -EPIPE); /* "ab" went, then the failure */
	ck_assert_uint_eq(weft_stream_written(s), 2);
	ck_assert_int_eq(weft_stream_flush(s), 0); /* a retry sends the rest, once */
	ck_assert_uint_eq(sc.outlen, 6);
	ck_assert_int_eq(memcmp(sc.out, "abcdef", 6), 0);
	ck_assert_int_eq(weft_stream_flush(s), 0);
	ck_assert_uint_eq(sc.outlen, 6);

	/* A close whose flush fails reports it and still frees and closes. */
	sc.write_fail = sc.writes + 1;
	ck_assert_int_eq(weft_stream_write(s, "xyz", 3), 3);
	ck_assert_int_eq(weft_stream_close(s), -EPIPE);
	ck_assert_int_eq(sc.closes, 1);

	/* A transport that takes nothing is an error, not a spin. */
	sc = (struct script){.write_zero = true};
	s = script_stream(&sc, "", 0, 0, 0);
	ck_assert_int_eq(weft_stream_write(s, "a", 1), -EIO);
	weft_stream_free(s);
}
END_TEST

START_TEST(read_only_stream)
{
	struct script sc = {0};
	weft_stream *s;

	sc.in = "x";
	sc.inlen = 1;
	ck_assert_int_eq(weft_stream_new(&s, &readonly_ops, &sc, NULL), 0);
	ck_assert_int_eq(weft_stream_write(s, "a", 1), -EBADF);
	ck_assert_int_eq(weft_stream_flush(s), 0);
	ck_assert_int_eq(weft_stream_shutdown(s), -EOPNOTSUPP);
	ck_assert_int_eq(weft_stream_close(s), 0);
}
END_TEST

/* ---- a pipe read through the ring ---------------------------------------------------------- */

static const struct weft_stream_ops pipe_ops = {.read = pipe_read};

struct piped {
	int fd[2];
	weft_stream *s;
};

static void piped_open(struct piped *p)
{
	ck_assert_int_eq(pipe(p->fd), 0);
	ck_assert_int_eq(weft_stream_new(&p->s, &pipe_ops, &p->fd[0], NULL), 0);
}

static void piped_close(struct piped *p)
{
	weft_stream_free(p->s);
	weft__fd_close(p->fd[0]);
	if (p->fd[1] >= 0)
		weft__fd_close(p->fd[1]);
}

static int m_deadline_keeps_partial_line(void *arg)
{
	struct piped p;
	struct weft_scope sc;
	char buf[32];

	piped_open(&p);
	ck_assert_int_eq(write(p.fd[1], "abc", 3), 3);
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_stream_read_line(p.s, buf, sizeof(buf), 0), -ETIMEDOUT);
	weft_scope_exit(&sc);
	ck_assert_uint_eq(weft_stream_buffered(p.s), 3);
	ck_assert_int_eq(write(p.fd[1], "def\nz", 5), 5);
	ck_assert_int_eq(weft_stream_read_line(p.s, buf, sizeof(buf), 0), 7);
	ck_assert_int_eq(memcmp(buf, "abcdef\n", 7), 0);
	weft__fd_close(p.fd[1]);
	p.fd[1] = -1;
	ck_assert_int_eq(weft_stream_read_line(p.s, buf, sizeof(buf), 0), 1);
	ck_assert_int_eq(weft_stream_read_line(p.s, buf, sizeof(buf), 0), 0);
	piped_close(&p);
	return 0;
}

START_TEST(deadline_keeps_partial_line)
{
	ck_assert_int_eq(weft_run(m_deadline_keeps_partial_line, NULL, NULL), 0);
}
END_TEST

static int blocked_reader(void *arg)
{
	struct piped *p = arg;
	char buf[8];

	return (int)weft_stream_read(p->s, buf, sizeof(buf));
}

static int m_second_reader_is_busy(void *arg)
{
	struct piped p;
	weft_task *t;
	const void *d;
	size_t avail;
	char buf[8];
	int st;

	piped_open(&p);
	ck_assert_int_eq(weft_task_spawn(&t, blocked_reader, &p, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0); /* t is parked in its read */
	ck_assert_int_eq(weft_stream_read(p.s, buf, 1), -EBUSY);
	ck_assert_int_eq(weft_stream_peek(p.s, 1, &d, &avail), -EBUSY);
	ck_assert_int_eq(weft_stream_consume(p.s, 0), -EBUSY);
	ck_assert_int_eq(weft_stream_read_line(p.s, buf, sizeof(buf), 0), -EBUSY);
	ck_assert_int_eq(weft_stream_read_exactly(p.s, buf, 1, NULL), -EBUSY);
	ck_assert_int_eq(weft_stream_close(p.s), -EBUSY);
	/* Cancelling the reader frees the read side again. */
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, -ECANCELED);
	ck_assert_int_eq(write(p.fd[1], "q", 1), 1);
	ck_assert_int_eq(weft_stream_read(p.s, buf, sizeof(buf)), 1);
	piped_close(&p);
	return 0;
}

START_TEST(second_reader_is_busy)
{
	ck_assert_int_eq(weft_run(m_second_reader_is_busy, NULL, NULL), 0);
}
END_TEST

/* Cut short by a deadline or a cancel: the bytes taken so far are counted, the rest follows. */
struct to_end {
	struct piped *p;
	char buf[16];
	size_t got;
};

static int to_end_reader(void *arg)
{
	struct to_end *te = arg;

	return (int)weft_stream_read_to_end(te->p->s, te->buf, sizeof(te->buf), &te->got);
}

static int m_read_to_end_interrupted(void *arg)
{
	struct piped p;
	struct weft_scope sc;
	struct to_end te = {.p = &p};
	weft_task *t;
	char buf[16];
	size_t got = 0;
	ssize_t n;
	int st;

	piped_open(&p);
	ck_assert_int_eq(write(p.fd[1], "abc", 3), 3);
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_stream_read_to_end(p.s, buf, sizeof(buf), &got), -ETIMEDOUT);
	weft_scope_exit(&sc);
	ck_assert_uint_eq(got, 3);
	ck_assert_int_eq(memcmp(buf, "abc", 3), 0);

	/* Cancelled wherever it is: what it took plus what follows is everything, once. */
	ck_assert_int_eq(write(p.fd[1], "gh", 2), 2);
	ck_assert_int_eq(weft_task_spawn(&t, to_end_reader, &te, NULL), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, -ECANCELED);
	ck_assert_int_eq(write(p.fd[1], "def", 3), 3);
	weft__fd_close(p.fd[1]);
	p.fd[1] = -1;
	n = weft_stream_read_to_end(p.s, te.buf + te.got, sizeof(te.buf) - te.got, NULL);
	ck_assert_int_eq((size_t)n + te.got, 5);
	ck_assert_int_eq(memcmp(te.buf, "ghdef", 5), 0);
	piped_close(&p);
	return 0;
}

START_TEST(read_to_end_interrupted)
{
	ck_assert_int_eq(weft_run(m_read_to_end_interrupted, NULL, NULL), 0);
}
END_TEST

static Suite *stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("buffer");

	tcase_add_test(tc, new_rejects_bad_arguments);
	tcase_add_test(tc, read_goes_direct_then_reports_eof);
	tcase_add_test(tc, read_exactly_across_chunks_and_eof);
	tcase_add_test(tc, read_exactly_error_keeps_count);
	tcase_add_test(tc, read_to_end_at_every_split);
	tcase_add_test(tc, read_to_end_after_partial_frame_and_errors);
	tcase_add_test(tc, read_line_at_every_split);
	tcase_add_test(tc, multibyte_delimiter_at_every_split);
	tcase_add_test(tc, overlapping_delimiter_at_every_split);
	tcase_add_test(tc, delim_scan_resumes_across_reads);
	tcase_add_test(tc, overlong_line_is_skipped);
	tcase_add_test(tc, overlong_record_skipped_through_split_delimiter);
	tcase_add_test(tc, overlong_line_then_plain_read_and_eof);
	tcase_add_test(tc, peek_and_consume);
	tcase_add_test(tc, peek_compacts_a_full_buffer);
	tcase_add_test(tc, write_all_through_short_writes);
	tcase_add_test(tc, buffered_writes_gather_until_flush);
	tcase_add_test(tc, write_errors_keep_unsent_bytes);
	tcase_add_test(tc, read_only_stream);
	suite_add_tcase(s, tc);

	tc = tcase_create("ring");
	tcase_add_test(tc, deadline_keeps_partial_line);
	tcase_add_test(tc, second_reader_is_busy);
	tcase_add_test(tc, read_to_end_interrupted);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(stream_suite)

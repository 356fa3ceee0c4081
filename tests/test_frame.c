/* SPDX-License-Identifier: MIT */
/*
 * Framing (weft/serial.h weft_framer_*): fixed, length-prefixed, delimited, tagged and user
 * parsers, fed through a scripted in-memory transport that splits the input at every byte
 * boundary (and one byte at a time), with garbage between frames and oversized frames; then the
 * same over a real pty with the writer pausing mid-frame, and a cancelled frame read resuming.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "weft/serial.h"

#include "test_serial_pty.h"
#include "timing.h"
#include "check_main.h"

/* ---- a scripted transport -------------------------------------------------------------------- */

/* Hands out @data in pieces: up to each cut in turn, and never more than @chunk at once. */
struct script {
	const uint8_t *data;
	size_t len, pos;
	size_t cuts[2], ncuts;
	size_t chunk; /* 0: no limit */
};

static ssize_t script_read(void *io, void *buf, size_t len)
{
	struct script *s = io;
	size_t end = s->len, n;

	for (size_t i = 0; i < s->ncuts; i++)
		if (s->cuts[i] > s->pos && s->cuts[i] < end)
			end = s->cuts[i];
	n = end - s->pos;
	if (n > len)
		n = len;
	if (s->chunk && n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static const struct weft_stream_ops script_ops = {.read = script_read};

/* Append a printable account of one weft_framer_next() result to @out. */
static void describe(char *out, size_t cap, ssize_t r, const struct weft_frame *fr)
{
	size_t n = strlen(out);

	if (r > 0) {
		n += (size_t)snprintf(out + n, cap - n, "%u:", fr->tag);
		for (size_t i = 0; i < fr->payload_len && n + 4 < cap; i++) {
			uint8_t c = fr->payload[i];
			n += (size_t)snprintf(out + n, cap - n,
					      c >= 0x20 && c < 0x7f ? "%c" : "\\%02x", c);
		}
		snprintf(out + n, cap - n, "|");
	} else if (r == -EBADMSG) {
		snprintf(out + n, cap - n, "skip%zu:%u|", fr->len, fr->tag);
	} else {
		snprintf(out + n, cap - n, "%s|", r == 0 ? "EOF" : weft_strerror((int)r));
	}
}

/* Frame all of @script with @spec; the account of every result, through EOF or an error. */
static void frame_all(struct script *sc, const struct weft_frame_spec *spec, size_t rbuf, char *out,
		      size_t cap, uint64_t *skipped)
{
	const struct weft_stream_opts o = {.rbuf_size = rbuf};
	struct weft_frame fr;
	weft_stream *s;
	weft_framer *f;
	ssize_t r;

	out[0] = 0;
	ck_assert_int_eq(weft_stream_new(&s, &script_ops, sc, &o), 0);
	ck_assert_int_eq(weft_framer_new(&f, s, spec), 0);
	for (int guard = 0; guard < 1000; guard++) {
		r = weft_framer_next(f, &fr);
		describe(out, cap, r, &fr);
		if (r == 0 || (r < 0 && r != -EMSGSIZE && r != -EBADMSG))
			break;
	}
	if (skipped)
		*skipped = weft_framer_skipped(f);
	weft_framer_free(f);
	weft_stream_free(s);
}

/* Frame @data in one piece, at every single split, and one byte at a time: all must agree
 * with @want. */
static void check_splits(const void *data, size_t len, const struct weft_frame_spec *spec,
			 size_t rbuf, const char *want)
{
	struct script sc = {.data = data, .len = len};
	char got[4096];

	frame_all(&sc, spec, rbuf, got, sizeof(got), NULL);
	ck_assert_str_eq(got, want);
	for (size_t k = 1; k < len; k++) {
		sc = (struct script){.data = data, .len = len, .cuts = {k}, .ncuts = 1};
		frame_all(&sc, spec, rbuf, got, sizeof(got), NULL);
		if (strcmp(got, want))
			ck_abort_msg("split at %zu: got %s, want %s", k, got, want);
	}
	sc = (struct script){.data = data, .len = len, .chunk = 1};
	frame_all(&sc, spec, rbuf, got, sizeof(got), NULL);
	ck_assert_str_eq(got, want);
}

/* Every pair of splits too: a frame's header, body and end arriving separately. */
static void check_split_pairs(const void *data, size_t len, const struct weft_frame_spec *spec,
			      const char *want)
{
	char got[4096];

	for (size_t i = 1; i < len; i++)
		for (size_t j = i + 1; j < len; j++) {
			struct script sc = {.data = data, .len = len, .cuts = {i, j}, .ncuts = 2};
			frame_all(&sc, spec, 0, got, sizeof(got), NULL);
			if (strcmp(got, want))
				ck_abort_msg("splits %zu,%zu: got %s, want %s", i, j, got, want);
		}
}

/* ---- fixed and length-prefixed --------------------------------------------------------------- */

START_TEST(test_fixed)
{
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_FIXED, .fixed_len = 3};

	check_splits("abcdefghi", 9, &spec, 0, "0:abc|0:def|0:ghi|EOF|");
	/* A stream ending inside a frame: the partial frame is reported, not delivered. */
	check_splits("abcdefgh", 8, &spec, 0, "0:abc|0:def|No data available|");
}
END_TEST

START_TEST(test_length_sizes)
{
	static const uint8_t le1[] = {3, 'a', 'b', 'c', 0, 2, 'x', 'y'};
	static const uint8_t le2[] = {3, 0, 'a', 'b', 'c', 0, 0, 1, 0, 'z'};
	static const uint8_t be2[] = {0, 3, 'a', 'b', 'c', 0, 1, 'z'};
	static const uint8_t le4[] = {2, 0, 0, 0, 'h', 'i', 1, 0, 0, 0, '!'};
	static const uint8_t be4[] = {0, 0, 0, 2, 'h', 'i', 0, 0, 0, 1, '!'};
	struct weft_frame_spec spec = {.kind = WEFT_FRAME_LENGTH};

	check_splits(le1, sizeof(le1), &spec, 0, "0:abc|0:|0:xy|EOF|");
	spec.len_size = 2;
	check_splits(le2, sizeof(le2), &spec, 0, "0:abc|0:|0:z|EOF|");
	spec.flags = WEFT_FRAME_BIG_ENDIAN;
	check_splits(be2, sizeof(be2), &spec, 0, "0:abc|0:z|EOF|");
	spec.len_size = 4;
	check_split_pairs(be4, sizeof(be4), &spec, "0:hi|0:!|EOF|");
	spec.flags = 0;
	check_split_pairs(le4, sizeof(le4), &spec, "0:hi|0:!|EOF|");
}
END_TEST

START_TEST(test_length_inclusive)
{
	/* The length counts its own two bytes; a length below 2 cannot be a header: garbage. */
	static const uint8_t in[] = {0, 5, 'a', 'b', 'c', 0, 0, 2, 0, 3, 'q'};
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_LENGTH,
					     .len_size = 2,
					     .flags =
						 WEFT_FRAME_BIG_ENDIAN | WEFT_FRAME_LEN_INCLUSIVE};
	struct script sc = {.data = in, .len = sizeof(in)};
	uint64_t skipped;
	char got[256];

	check_splits(in, sizeof(in), &spec, 0, "0:abc|0:|0:q|EOF|");
	frame_all(&sc, &spec, 0, got, sizeof(got), &skipped);
	ck_assert_uint_eq(skipped, 1); /* the first byte of {0, 0, 2} */
}
END_TEST

START_TEST(test_length_oversized)
{
	/* max 6: a frame of 2+5 is too big and skipped whole; the stream stays in step. */
	static const uint8_t in[] = {0, 2, 'o', 'k', 0, 5, 'l', 'o', 'n', 'g', '!', 0, 1, 'z'};
	struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_LENGTH, .len_size = 2, .flags = WEFT_FRAME_BIG_ENDIAN, .max = 6};
	struct script sc = {.data = in, .len = sizeof(in)};
	uint64_t skipped;
	char got[256];

	check_splits(in, sizeof(in), &spec, 0, "0:ok|Message too long|0:z|EOF|");
	frame_all(&sc, &spec, 0, got, sizeof(got), &skipped);
	ck_assert_uint_eq(skipped, 7);
}
END_TEST

START_TEST(test_length_over_buffer)
{
	/* No max: the stream's buffer (32 bytes here) is the limit. A 40-byte frame cannot be
	 * held, so it fails and is skipped by its declared length, in pieces. */
	uint8_t in[1 + 40 + 3];
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_LENGTH};

	in[0] = 40;
	memset(in + 1, 'x', 40);
	memcpy(in + 41, "\002hi", 3);
	check_splits(in, sizeof(in), &spec, 32, "Message too long|0:hi|EOF|");
}
END_TEST

START_TEST(test_length_resync_byte)
{
	/* A corrupt length (200 > max) with RESYNC_BYTE: drop one byte and look again. Here the
	 * byte after it happens to read as a zero-length frame, then the real frame follows. */
	static const uint8_t in[] = {200, 0, 2, 'h', 'i'};
	const struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_LENGTH, .max = 16, .flags = WEFT_FRAME_RESYNC_BYTE};

	check_splits(in, sizeof(in), &spec, 0, "Message too long|0:|0:hi|EOF|");
}
END_TEST

/* ---- delimited ------------------------------------------------------------------------------- */

START_TEST(test_delim)
{
	const char in[] = "one\r\ntwo\r\n\r\nthree\rfour\r\n";
	const struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_DELIM, .delim = "\r\n", .delim_len = 2};

	check_splits(in, sizeof(in) - 1, &spec, 0, "0:one|0:two|0:|0:three\\0dfour|EOF|");
	check_split_pairs(in, sizeof(in) - 1, &spec, "0:one|0:two|0:|0:three\\0dfour|EOF|");
	/* Unterminated tail at the end of the stream. */
	check_splits(
	    "a\nbc", 4,
	    &(struct weft_frame_spec){.kind = WEFT_FRAME_DELIM, .delim = "\n", .delim_len = 1}, 0,
	    "0:a|No data available|");
}
END_TEST

START_TEST(test_delim_oversized)
{
	/* max 8: "0123456789\n" is 11 bytes: -EMSGSIZE, skipped through its delimiter. */
	const char in[] = "short\n0123456789\nok\n";
	struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_DELIM, .delim = "\n", .delim_len = 1, .max = 8};
	uint64_t skipped;
	char got[256];
	struct script sc = {.data = (const uint8_t *)in, .len = sizeof(in) - 1};

	check_splits(in, sizeof(in) - 1, &spec, 0, "0:short|Message too long|0:ok|EOF|");
	frame_all(&sc, &spec, 0, got, sizeof(got), &skipped);
	ck_assert_uint_eq(skipped, 11);
	/* No max, a 16-byte buffer: a 40-byte line cannot be held; a two-byte delimiter that
	 * straddles the pieces it is skipped in must still be found. */
	spec = (struct weft_frame_spec){.kind = WEFT_FRAME_DELIM, .delim = "\r\n", .delim_len = 2};
	char big[64];
	memset(big, 'y', 40);
	memcpy(big + 40, "\r\nnext\r\n", 8);
	check_splits(big, 48, &spec, 16, "Message too long|0:next|EOF|");
}
END_TEST

/* A four-byte delimiter that overlaps itself, split across two and three reads anywhere: the
 * resumed search backs up far enough, in framing and in the skip through an oversized frame. */
START_TEST(test_delim_overlapping_split)
{
	const char in[] = "a\r\n\r\r\n\r\n\r\n\r\nb\r\n\r\n";
	struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_DELIM, .delim = "\r\n\r\n", .delim_len = 4};
	char big[64];

	check_splits(in, sizeof(in) - 1, &spec, 0, "0:a\\0d\\0a\\0d|0:|0:b|EOF|");
	check_split_pairs(in, sizeof(in) - 1, &spec, "0:a\\0d\\0a\\0d|0:|0:b|EOF|");
	/* A 16-byte buffer cannot hold the 47-byte frame: skipped through its delimiter, which
	 * follows a false start ("\r\n\r"). */
	memset(big, 'y', 40);
	memcpy(big + 40, "\r\n\r\r\n\r\nnext\r\n\r\n", 15);
	check_splits(big, 55, &spec, 16, "Message too long|0:next|EOF|");
}
END_TEST

/* ---- tagged: the pyserial-asyncio tutorial's protocol ---------------------------------------- */

/* Tag 1: one length byte and that many bytes; tag 2: up to "\n"; anything else: dropped. */
static const uint8_t tutorial[] = {1,	5,   'h',  'e', 'l', 'l',  'o', 7,    9, 2, 'w', 'o',  'r',
				   'l', 'd', '\n', 1,	0,   0xff, 2,	'\n', 1, 3, 'a', '\n', 'b'};

START_TEST(test_tagged_tutorial)
{
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_TAGGED};
	struct script sc = {.data = tutorial, .len = sizeof(tutorial)};
	uint64_t skipped;
	char got[256];
	const char *want = "1:hello|2:world|1:|2:|1:a\\0ab|EOF|";

	check_splits(tutorial, sizeof(tutorial), &spec, 0, want);
	check_split_pairs(tutorial, sizeof(tutorial), &spec, want);
	frame_all(&sc, &spec, 0, got, sizeof(got), &skipped);
	ck_assert_uint_eq(skipped, 3); /* 7, 9, 0xff */
}
END_TEST

START_TEST(test_tagged_report_skipped)
{
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_TAGGED,
					     .flags = WEFT_FRAME_REPORT_SKIPPED};

	check_splits(tutorial, sizeof(tutorial), &spec, 0,
		     "1:hello|skip1:7|skip1:9|2:world|1:|skip1:255|2:|1:a\\0ab|EOF|");
}
END_TEST

START_TEST(test_tagged_custom_tags_and_max)
{
	/* Tags 0xA1/0xA2, a big-endian 2-byte length, a "\r\n" terminator, max 8. */
	static const uint8_t in[] = {0xA1, 0,	2,   'h', 'i',	0xA1, 0,    9,	 '1', '2',  '3',
				     '4',  '5', '6', '7', '8',	'9',  0xA2, 'l', 'o', 'n',  'g',
				     'e',  'r', '!', '!', '\r', '\n', 0xA2, 'o', 'k', '\r', '\n'};
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_TAGGED,
					     .len_size = 2,
					     .flags = WEFT_FRAME_BIG_ENDIAN,
					     .delim = "\r\n",
					     .delim_len = 2,
					     .max = 8,
					     .tagged = {.len_tag = 0xA1, .delim_tag = 0xA2}};

	check_splits(in, sizeof(in), &spec, 0,
		     "161:hi|Message too long|Message too long|162:ok|EOF|");
}
END_TEST

/* ---- user parsers ---------------------------------------------------------------------------- */

/* STX payload ETX: bytes before an STX are garbage; "!" inside a frame is a protocol error. */
static int stx_etx(void *arg, const uint8_t *data, size_t avail, size_t max, struct weft_frame *fr)
{
	const uint8_t *etx;

	(*(int *)arg)++;
	if (data[0] != 0x02) {
		const uint8_t *stx = memchr(data, 0x02, avail);
		fr->len = stx ? (size_t)(stx - data) : avail;
		return WEFT_FRAME_SKIP;
	}
	if (memchr(data, '!', avail))
		return -EPROTO;
	etx = memchr(data, 0x03, avail);
	if (!etx)
		return avail >= max ? (fr->len = avail, WEFT_FRAME_TOOBIG) : WEFT_FRAME_NEED;
	fr->len = (size_t)(etx - data) + 1;
	fr->payload = data + 1;
	fr->payload_len = fr->len - 2;
	fr->tag = 'S';
	return WEFT_FRAME_OK;
}

START_TEST(test_custom_parser)
{
	static const char in[] = "xx\002abc\003junk\002\003\002de\003";
	int calls = 0;
	const struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_CUSTOM, .parse = stx_etx, .parse_arg = &calls};

	check_splits(in, sizeof(in) - 1, &spec, 0, "83:abc|83:|83:de|EOF|");
	ck_assert_int_gt(calls, 0);
	/* The parser's own error comes back, with nothing consumed. */
	check_splits("\002a!\003", 4, &spec, 0, "Protocol error|");
}
END_TEST

/* A parser that claims more than it was shown is a bug reported as -EINVAL, never a crash. */
static int liar(void *arg, const uint8_t *data, size_t avail, size_t max, struct weft_frame *fr)
{
	fr->len = avail + 10;
	return WEFT_FRAME_OK;
}

/* ... and so is a payload that sticks out of its frame. */
static int overhang(void *arg, const uint8_t *data, size_t avail, size_t max, struct weft_frame *fr)
{
	fr->len = 1;
	fr->payload = data;
	fr->payload_len = 2;
	return WEFT_FRAME_OK;
}

START_TEST(test_custom_parser_misbehaving)
{
	struct weft_frame_spec spec = {.kind = WEFT_FRAME_CUSTOM, .parse = liar};
	struct script sc = {.data = (const uint8_t *)"abc", .len = 3};
	char got[64];

	frame_all(&sc, &spec, 0, got, sizeof(got), NULL);
	ck_assert_str_eq(got, "Invalid argument|");
	spec.parse = overhang;
	sc.pos = 0;
	frame_all(&sc, &spec, 0, got, sizeof(got), NULL);
	ck_assert_str_eq(got, "Invalid argument|");
}
END_TEST

/* ---- the API's edges ------------------------------------------------------------------------- */

START_TEST(test_bad_specs)
{
	const struct weft_frame_spec bad[] = {
	    {.kind = WEFT_FRAME_FIXED},
	    {.kind = WEFT_FRAME_FIXED, .fixed_len = 10, .max = 5},
	    {.kind = WEFT_FRAME_LENGTH, .len_size = 3},
	    {.kind = WEFT_FRAME_DELIM},
	    {.kind = WEFT_FRAME_DELIM, .delim = "x", .delim_len = 17},
	    {.kind = WEFT_FRAME_TAGGED, .tagged = {5, 5}},
	    {.kind = WEFT_FRAME_CUSTOM},
	    {.kind = (enum weft_frame_kind)42},
	    /* A maximum no frame fits in: shorter than the header, the delimiter, a tag and
	     * either; or a fixed size over the stream's read buffer. */
	    {.kind = WEFT_FRAME_LENGTH, .len_size = 4, .max = 3},
	    {.kind = WEFT_FRAME_DELIM, .delim = "\r\n", .delim_len = 2, .max = 1},
	    {.kind = WEFT_FRAME_TAGGED, .len_size = 2, .max = 2},
	    {.kind = WEFT_FRAME_TAGGED, .delim = "\r\n", .delim_len = 2, .max = 2},
	    {.kind = WEFT_FRAME_FIXED, .fixed_len = WEFT_STREAM_RBUF_DEFAULT + 1},
	    /* Flag bits weft does not define. */
	    {.kind = WEFT_FRAME_DELIM, .delim = "\n", .delim_len = 1, .flags = 1u << 9},
	};
	struct script sc = {0};
	weft_stream *s;
	weft_framer *f;

	ck_assert_int_eq(weft_stream_new(&s, &script_ops, &sc, NULL), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(weft_framer_new(&f, s, &bad[i]) == -EINVAL, "spec %zu accepted", i);
	ck_assert_int_eq(weft_framer_new(&f, NULL, &bad[0]), -EINVAL);
	ck_assert_int_eq(weft_framer_next(NULL, NULL), -EINVAL);
	weft_framer_free(NULL);
	ck_assert_uint_eq(weft_framer_skipped(NULL), 0);
	weft_stream_free(s);
}
END_TEST

START_TEST(test_framer_read_copy)
{
	static const uint8_t in[] = {1, 3, 'a', 'b', 'c', 2, 'l', 'o', 'n', 'g', '\n', 1, 1, 'z'};
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_TAGGED};
	struct script sc = {.data = in, .len = sizeof(in)};
	weft_stream *s;
	weft_framer *f;
	unsigned tag = 0;
	char buf[3];

	ck_assert_int_eq(weft_stream_new(&s, &script_ops, &sc, NULL), 0);
	ck_assert_int_eq(weft_framer_new(&f, s, &spec), 0);
	ck_assert_int_eq(weft_framer_read(f, buf, sizeof(buf), &tag), 3);
	ck_assert_uint_eq(tag, 1);
	ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
	ck_assert_int_eq(weft_framer_read(f, buf, sizeof(buf), &tag), -ENOBUFS); /* dropped */
	ck_assert_uint_eq(tag, 2);
	ck_assert_int_eq(weft_framer_read(f, buf, sizeof(buf), NULL), 1);
	ck_assert_int_eq(buf[0], 'z');
	ck_assert_int_eq(weft_framer_read(f, buf, sizeof(buf), NULL), 0);
	weft_framer_free(f);
	weft_stream_free(s);
}
END_TEST

/* A length field cut off by the end of the stream is a partial frame (-ENODATA), for a header
 * exactly as long as the maximum too. */
START_TEST(test_length_partial_header_at_end)
{
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_LENGTH, .len_size = 4, .max = 4};
	static const uint8_t in[] = {0, 0, 0, 0, 0, 0, 0};

	check_splits(in, sizeof(in), &spec, 0, "0:|No data available|");
}
END_TEST

/* A tagged spec whose delimiter starts with the delimited tag: an oversized frame is skipped
 * through the delimiter after its tag, not one the tag byte itself begins. */
START_TEST(test_tagged_delim_starts_with_tag)
{
	static const char in[] = "\002;abcdefgh\002;\002ok\002;";
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_TAGGED,
					     .delim = "\002;",
					     .delim_len = 2,
					     .max = 8,
					     .flags = WEFT_FRAME_REPORT_SKIPPED};

	check_splits(in, sizeof(in) - 1, &spec, 0, "Message too long|2:ok|EOF|");
	check_split_pairs(in, sizeof(in) - 1, &spec, "Message too long|2:ok|EOF|");
}
END_TEST

/* A user parser that never checks the maximum (lines of any length): it is shown at most max
 * bytes, and an endless frame drops exactly those, however the bytes arrive. */
static int any_line(void *arg, const uint8_t *data, size_t avail, size_t max, struct weft_frame *fr)
{
	const uint8_t *nl = memchr(data, '\n', avail);

	ck_assert_uint_le(avail, max);
	if (!nl)
		return WEFT_FRAME_NEED;
	fr->len = (size_t)(nl - data) + 1;
	return WEFT_FRAME_OK;
}

START_TEST(test_custom_parser_over_max)
{
	static const char in[] = "abcdefg\nxy\n";
	const struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_CUSTOM, .parse = any_line, .max = 4};

	check_splits(in, sizeof(in) - 1, &spec, 0, "Message too long|0:efg\\0a|0:xy\\0a|EOF|");
}
END_TEST

/* Bad arguments fail before a frame is taken: the frame is still there for the next call. */
START_TEST(test_framer_read_bad_args)
{
	const struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_DELIM, .delim = ";", .delim_len = 1};
	struct script sc = {.data = (const uint8_t *)"ab;", .len = 3};
	weft_stream *s;
	weft_framer *f;
	char buf[4];

	ck_assert_int_eq(weft_stream_new(&s, &script_ops, &sc, NULL), 0);
	ck_assert_int_eq(weft_framer_new(&f, s, &spec), 0);
	ck_assert_int_eq(weft_framer_read(f, NULL, 10, NULL), -EINVAL);
	ck_assert_int_eq(weft_framer_read(NULL, buf, sizeof(buf), NULL), -EINVAL);
	ck_assert_int_eq(weft_framer_read(f, buf, sizeof(buf), NULL), 2);
	ck_assert_int_eq(memcmp(buf, "ab", 2), 0);
	weft_framer_free(f);
	weft_stream_free(s);
}
END_TEST

/* A framer of ";"-ended frames over "a;b;c", handed over in one read. */
static weft_framer *semicolons(struct script *sc, weft_stream **s)
{
	const struct weft_frame_spec spec = {
	    .kind = WEFT_FRAME_DELIM, .delim = ";", .delim_len = 1};
	weft_framer *f;

	*sc = (struct script){.data = (const uint8_t *)"a;b;c", .len = 5};
	ck_assert_int_eq(weft_stream_new(s, &script_ops, sc, NULL), 0);
	ck_assert_int_eq(weft_framer_new(&f, *s, &spec), 0);
	return f;
}

/* A returned frame has left the stream already, so the framer may outlive its stream. */
START_TEST(test_framer_free_after_stream)
{
	struct script sc;
	struct weft_frame fr;
	weft_stream *s;
	weft_framer *f = semicolons(&sc, &s);

	ck_assert_int_eq(weft_framer_next(f, &fr), 2);
	ck_assert_int_eq(memcmp(fr.data, "a;", 2), 0);
	ck_assert_uint_eq(weft_stream_buffered(s), 3);
	weft_stream_free(s);
	weft_framer_free(f);
}
END_TEST

START_TEST(test_framer_free_leaves_rest)
{
	/* Freeing the framer consumes the frame it returned, and nothing more. */
	struct script sc;
	struct weft_frame fr;
	weft_stream *s;
	weft_framer *f = semicolons(&sc, &s);
	char rest[8] = {0};
	size_t got;

	ck_assert_int_eq(weft_framer_next(f, &fr), 2);
	ck_assert_int_eq(weft_framer_next(f, &fr), 2);
	weft_framer_free(f);
	ck_assert_int_eq(weft_stream_read_exactly(s, rest, 3, &got), -ENODATA);
	ck_assert_uint_eq(got, 1);
	ck_assert_str_eq(rest, "c");
	weft_stream_free(s);
}
END_TEST

/* ---- over a pty ------------------------------------------------------------------------------ */

struct pty_frames {
	int master;
	const uint8_t *data;
	size_t len;
	char got[512];
};

/* The device: writes the tutorial stream a piece at a time, pausing between pieces so the
 * reader really parks mid-frame. */
static int device(void *arg)
{
	struct pty_frames *p = arg;

	for (size_t i = 0; i < p->len; i += 3) {
		size_t n = p->len - i < 3 ? p->len - i : 3;
		ck_assert_int_eq(write(p->master, p->data + i, n), (ssize_t)n);
		weft_sleep(200 * WEFT_USEC);
	}
	return 0;
}

static int pty_framing_main(void *arg)
{
	struct pty_frames *p = arg;
	struct pty pty;
	weft_serial *port;
	weft_stream *s;
	weft_framer *f;
	weft_task *dev;
	struct weft_frame fr;
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_TAGGED};

	pty_open(&pty);
	p->master = pty.master;
	ck_assert_int_eq(weft_serial_open(&port, pty.path, NULL), 0);
	ck_assert_int_eq(weft_serial_stream(port, NULL, &s), 0);
	ck_assert_int_eq(weft_framer_new(&f, s, &spec), 0);
	ck_assert_int_eq(weft_task_spawn(&dev, device, p, NULL), 0);
	for (int frames = 0; frames < 5;) {
		ssize_t r = weft_framer_next(f, &fr);
		ck_assert_int_gt(r, 0);
		describe(p->got, sizeof(p->got), r, &fr);
		frames++;
	}
	ck_assert_int_eq(weft_task_join(dev, NULL), 0);
	weft_framer_free(f);
	ck_assert_int_eq(weft_serial_close(port), 0);
	close(p->master);
	return 0;
}

START_TEST(test_pty_tagged)
{
	struct pty_frames p = {.data = tutorial, .len = sizeof(tutorial)};

	ck_assert_int_eq(weft_run(pty_framing_main, &p, NULL), 0);
	ck_assert_str_eq(p.got, "1:hello|2:world|1:|2:|1:a\\0ab|");
}
END_TEST

/*
 * Every split point over a real pty: the device sends the first k bytes, waits until the reader
 * has taken exactly those (counted by a transport wrapped around the port) and parked for more,
 * then sends the rest. The reader frames through the port's read path each time.
 */
struct split_run {
	struct pty pty;
	weft_serial *port;
	size_t k, taken;
	weft_task *reader;
	char got[256];
};

static ssize_t counting_read(void *io, void *buf, size_t len)
{
	struct split_run *r = io;
	ssize_t n = weft_serial_read(r->port, buf, len);

	if (n > 0)
		r->taken += (size_t)n;
	return n;
}

static const struct weft_stream_ops counting_ops = {.read = counting_read};

static int split_reader(void *arg)
{
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_TAGGED};
	struct split_run *r = arg;
	struct weft_frame fr;
	weft_stream *s;
	weft_framer *f;

	ck_assert_int_eq(weft_stream_new(&s, &counting_ops, r, NULL), 0);
	ck_assert_int_eq(weft_framer_new(&f, s, &spec), 0);
	for (int frames = 0; frames < 5; frames++) {
		ssize_t n = weft_framer_next(f, &fr);
		ck_assert_int_gt(n, 0);
		describe(r->got, sizeof(r->got), n, &fr);
	}
	weft_framer_free(f);
	weft_stream_free(s);
	return 0;
}

static int split_main(void *arg)
{
	struct split_run *r = arg;

	ck_assert_int_eq(weft_serial_open(&r->port, r->pty.path, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&r->reader, split_reader, r, NULL), 0);
	ck_assert_int_eq(write(r->pty.master, tutorial, r->k), (ssize_t)r->k);
	while (r->taken < r->k || weft_task_state(r->reader) != WEFT_TASK_PARKED)
		ck_assert_int_eq(weft_sleep(50 * WEFT_USEC), 0);
	ck_assert_uint_eq(r->taken, r->k);
	ck_assert_int_eq(write(r->pty.master, tutorial + r->k, sizeof(tutorial) - r->k),
			 (ssize_t)(sizeof(tutorial) - r->k));
	ck_assert_int_eq(weft_task_join(r->reader, NULL), 0);
	return weft_serial_close(r->port);
}

START_TEST(test_pty_every_split)
{
	for (size_t k = 1; k < sizeof(tutorial); k++) {
		struct split_run r = {.k = k};

		pty_open(&r.pty);
		ck_assert_int_eq(weft_run(split_main, &r, NULL), 0);
		if (strcmp(r.got, "1:hello|2:world|1:|2:|1:a\\0ab|"))
			ck_abort_msg("split at %zu: %s", k, r.got);
		close(r.pty.master);
	}
}
END_TEST

/* A frame read cut short by a deadline mid-frame loses nothing: the next call completes it. */
static int pty_deadline_main(void *arg)
{
	const struct weft_frame_spec spec = {.kind = WEFT_FRAME_LENGTH, .len_size = 2};
	struct pty pty;
	weft_serial *port;
	weft_stream *s;
	weft_framer *f;
	struct weft_frame fr;
	weft_scope sc;

	pty_open(&pty);
	ck_assert_int_eq(weft_serial_open(&port, pty.path, NULL), 0);
	ck_assert_int_eq(weft_serial_stream(port, NULL, &s), 0);
	ck_assert_int_eq(weft_framer_new(&f, s, &spec), 0);
	ck_assert_int_eq(write(pty.master, "\005\000he", 4), 4);
	weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_framer_next(f, &fr), -ETIMEDOUT);
	weft_scope_exit(&sc);
	ck_assert_int_eq(write(pty.master, "llo", 3), 3);
	ck_assert_int_eq(weft_framer_next(f, &fr), 7);
	ck_assert_int_eq(fr.payload_len, 5);
	ck_assert_int_eq(memcmp(fr.payload, "hello", 5), 0);
	weft_framer_free(f);
	weft_serial_close(port);
	close(pty.master);
	return 0;
}

START_TEST(test_pty_deadline_mid_frame)
{
	ck_assert_int_eq(weft_run(pty_deadline_main, NULL, NULL), 0);
}
END_TEST

static Suite *frame_suite(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("frame");

	tcase_add_test(tc, test_fixed);
	tcase_add_test(tc, test_length_sizes);
	tcase_add_test(tc, test_length_inclusive);
	tcase_add_test(tc, test_length_oversized);
	tcase_add_test(tc, test_length_over_buffer);
	tcase_add_test(tc, test_length_resync_byte);
	tcase_add_test(tc, test_delim);
	tcase_add_test(tc, test_delim_oversized);
	tcase_add_test(tc, test_delim_overlapping_split);
	tcase_add_test(tc, test_tagged_tutorial);
	tcase_add_test(tc, test_tagged_report_skipped);
	tcase_add_test(tc, test_tagged_custom_tags_and_max);
	tcase_add_test(tc, test_custom_parser);
	tcase_add_test(tc, test_custom_parser_misbehaving);
	tcase_add_test(tc, test_bad_specs);
	tcase_add_test(tc, test_framer_read_copy);
	tcase_add_test(tc, test_framer_free_leaves_rest);
	tcase_add_test(tc, test_length_partial_header_at_end);
	tcase_add_test(tc, test_tagged_delim_starts_with_tag);
	tcase_add_test(tc, test_custom_parser_over_max);
	tcase_add_test(tc, test_framer_read_bad_args);
	tcase_add_test(tc, test_framer_free_after_stream);
	tcase_add_test(tc, test_pty_tagged);
	tcase_add_test(tc, test_pty_every_split);
	tcase_add_test(tc, test_pty_deadline_mid_frame);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(frame_suite)

/* SPDX-License-Identifier: MIT */
/*
 * Framing on a weft_stream: cut frames out of the stream's read buffer with peek/consume, so a
 * frame is never copied unless the caller asks for it (weft_framer_read).
 *
 * Every kind of framing is a parser with one signature (weft_frame_parse_fn): shown the bytes
 * buffered so far, it says "need more", "a frame of n bytes", "n bytes of garbage" or "too big".
 * The loop around it (weft_framer_next) owns the buffer traffic and the resynchronisation after
 * an oversized frame, so the built-in kinds and user parsers behave alike. Nothing here knows
 * about ttys: the same code frames a socket or a file.
 */
#include <errno.h>
#include <string.h>

#include "weft/frame.h"
#include "abi.h"
#include "alloc.h"
#include "delim.h"
#include "rbuf.h"

#define DELIM_MAX WEFT_STREAM_DELIM_MAX

struct weft_framer {
	weft_stream *stream;
	struct weft_frame_spec spec;
	uint8_t delim[DELIM_MAX];
	size_t max;	   /* the largest frame: the spec's, at most the stream's read buffer */
	size_t scanned;	   /* weft__delim_scan's resume point in the unconsumed bytes */
	size_t delim_from; /* where the delimited payload starts (after a tag) */
	/* Resynchronising after an oversized frame: bytes still to drop, then (if set) drop
	 * through the next delimiter. Kept across calls, so an interrupted skip resumes. */
	uint64_t skip_left;
	bool skip_to_delim;
	uint64_t skipped;
};

/* ---- the built-in parsers -------------------------------------------------------------------- */

static uint32_t get_len(const uint8_t *p, unsigned size, bool big)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)p[big ? i : size - 1 - i] << (8 * (size - 1 - i));
	return v;
}

static int frame_ok(struct weft_frame *fr, const uint8_t *data, size_t len, size_t off,
		    size_t payload_len)
{
	fr->len = len;
	fr->payload = data + off;
	fr->payload_len = payload_len;
	return WEFT_FRAME_OK;
}

static int need(struct weft_frame *fr, size_t n)
{
	fr->len = n;
	return WEFT_FRAME_NEED;
}

static int too_big(struct weft_frame *fr, size_t skip)
{
	fr->len = skip;
	return WEFT_FRAME_TOOBIG;
}

static int parse_fixed(void *arg, const uint8_t *data, size_t avail, size_t max,
		       struct weft_frame *fr)
{
	const struct weft_framer *f = arg;
	size_t n = f->spec.fixed_len;

	return avail < n ? need(fr, n) : frame_ok(fr, data, n, 0, n);
}

/* A length header at @data[0..@hdr) whose field starts at @field; the frame is the header and
 * the length's worth of payload (or the length's worth in all, with LEN_INCLUSIVE). */
static int parse_length_at(const struct weft_framer *f, const uint8_t *data, size_t avail,
			   size_t max, size_t field, struct weft_frame *fr)
{
	unsigned size = f->spec.len_size;
	size_t hdr = field + size;
	uint64_t len, total;

	if (avail < hdr)
		return need(fr, hdr);
	len = get_len(data + field, size, f->spec.flags & WEFT_FRAME_BIG_ENDIAN);
	total = f->spec.flags & WEFT_FRAME_LEN_INCLUSIVE ? len : hdr + len;
	if (total < hdr) { /* an inclusive length shorter than its own header: garbage */
		fr->len = 1;
		return WEFT_FRAME_SKIP;
	}
	if (total > max)
		return too_big(fr, f->spec.flags & WEFT_FRAME_RESYNC_BYTE ? 1 : (size_t)total);
	if (avail < total)
		return need(fr, (size_t)total);
	return frame_ok(fr, data, (size_t)total, hdr, (size_t)total - hdr);
}

static int parse_length(void *arg, const uint8_t *data, size_t avail, size_t max,
			struct weft_frame *fr)
{
	return parse_length_at(arg, data, avail, max, 0, fr);
}

/* A payload from @off up to the delimiter. The search resumes where the last one stopped. A
 * frame too long is dropped through the first delimiter after @off (not one starting at the
 * tag byte), whether or not its end was in sight: the same however the bytes arrived. */
static int parse_delim_at(struct weft_framer *f, const uint8_t *data, size_t avail, size_t max,
			  size_t off, struct weft_frame *fr)
{
	size_t dlen = f->spec.delim_len;
	size_t end = weft__delim_scan(data, avail, off, f->delim, dlen, &f->scanned);

	f->delim_from = off;
	if (!end)
		return avail >= max ? too_big(fr, 0) : need(fr, 0);
	return frame_ok(fr, data, end, off, end - off - dlen);
}

static int parse_delim(void *arg, const uint8_t *data, size_t avail, size_t max,
		       struct weft_frame *fr)
{
	return parse_delim_at(arg, data, avail, max, 0, fr);
}

/* The pyserial-asyncio tutorial's protocol: [len_tag][len][payload] | [delim_tag][payload]\n. */
static int parse_tagged(void *arg, const uint8_t *data, size_t avail, size_t max,
			struct weft_frame *fr)
{
	struct weft_framer *f = arg;
	int v;

	fr->tag = data[0];
	if (data[0] == f->spec.tagged.len_tag)
		v = parse_length_at(f, data, avail, max, 1, fr);
	else if (data[0] == f->spec.tagged.delim_tag)
		v = parse_delim_at(f, data, avail, max, 1, fr);
	else
		return fr->len = 1,
		       WEFT_FRAME_SKIP; /* unknown tag: drop it, as the tutorial does */
	return v;
}

/* ---- creating -------------------------------------------------------------------------------- */

static bool has_delim(const struct weft_frame_spec *s)
{
	return s->kind == WEFT_FRAME_DELIM || s->kind == WEFT_FRAME_TAGGED;
}

#define FLAGS_ALL                                                                    \
	(WEFT_FRAME_BIG_ENDIAN | WEFT_FRAME_LEN_INCLUSIVE | WEFT_FRAME_RESYNC_BYTE | \
	 WEFT_FRAME_REPORT_SKIPPED)

/* The shortest frame @s can produce: a spec whose maximum is below it can never frame. */
static size_t min_frame(const struct weft_frame_spec *s)
{
	size_t len_frame = 1 + s->len_size, delim_frame = 1 + s->delim_len;

	switch (s->kind) {
	case WEFT_FRAME_FIXED:
		return s->fixed_len;
	case WEFT_FRAME_LENGTH:
		return s->len_size;
	case WEFT_FRAME_DELIM:
		return s->delim_len;
	case WEFT_FRAME_TAGGED:
		return len_frame > delim_frame ? len_frame : delim_frame;
	case WEFT_FRAME_CUSTOM:
		break;
	}
	return 1;
}

/* Defaults filled in, then -EINVAL for what cannot work; @max: the framer's maximum. */
static int check_spec(struct weft_frame_spec *s, size_t max)
{
	if (s->flags & ~FLAGS_ALL || (unsigned)s->kind > WEFT_FRAME_CUSTOM)
		return -EINVAL;
	if (s->kind == WEFT_FRAME_LENGTH || s->kind == WEFT_FRAME_TAGGED) {
		if (!s->len_size)
			s->len_size = 1;
		if (s->len_size != 1 && s->len_size != 2 && s->len_size != 4)
			return -EINVAL;
	}
	if (s->kind == WEFT_FRAME_TAGGED) {
		if (!s->tagged.len_tag && !s->tagged.delim_tag)
			s->tagged.len_tag = 1, s->tagged.delim_tag = 2;
		if (!s->delim)
			s->delim = "\n", s->delim_len = 1;
		if (s->tagged.len_tag == s->tagged.delim_tag)
			return -EINVAL;
	}
	if (has_delim(s) && (!s->delim || !s->delim_len || s->delim_len > DELIM_MAX))
		return -EINVAL;
	if (s->kind == WEFT_FRAME_FIXED && !s->fixed_len)
		return -EINVAL;
	if (s->kind == WEFT_FRAME_CUSTOM && !s->parse)
		return -EINVAL;
	return min_frame(s) <= max ? 0 : -EINVAL;
}

int weft_framer_new(weft_framer **framerp, weft_stream *stream, const struct weft_frame_spec *spec)
{
	static const weft_frame_parse_fn builtin[] = {
	    [WEFT_FRAME_FIXED] = parse_fixed,
	    [WEFT_FRAME_LENGTH] = parse_length,
	    [WEFT_FRAME_DELIM] = parse_delim,
	    [WEFT_FRAME_TAGGED] = parse_tagged,
	};
	struct weft_frame_spec s;
	struct weft_framer *f;
	size_t max;
	int err;

	if (!framerp || !stream || !spec || weft__reserved_bad(spec))
		return -EINVAL;
	s = *spec;
	/* A frame must fit in the read buffer: a larger maximum means the buffer's size. */
	max = weft__stream_rbuf_cap(stream);
	if (s.max && s.max < max)
		max = s.max;
	if ((err = check_spec(&s, max)))
		return err;
	f = weft__new(struct weft_framer);
	if (!f)
		return -ENOMEM;
	if (has_delim(&s)) {
		memcpy(f->delim, s.delim, s.delim_len);
		s.delim = f->delim;
	}
	if (s.kind != WEFT_FRAME_CUSTOM) {
		s.parse = builtin[s.kind];
		s.parse_arg = f;
	}
	f->stream = stream;
	f->spec = s;
	f->max = max;
	*framerp = f;
	return 0;
}

void weft_framer_free(weft_framer *f)
{
	/* The stream is not touched (it may be gone): each frame was consumed when returned. */
	weft__delete(f);
}

uint64_t weft_framer_skipped(const weft_framer *f)
{
	return f ? f->skipped : 0;
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void drop(struct weft_framer *f, size_t n)
{
	weft_stream_consume(f->stream, n);
	f->skipped += n;
	f->scanned = 0;
}

/* Peek at least @want bytes. 1: got them; 0: clean end (nothing left); or an error. */
static int peek(struct weft_framer *f, size_t want, const uint8_t **data, size_t *avail)
{
	const void *p;
	int r = weft_stream_peek(f->stream, want, &p, avail);

	*data = p;
	if (r == -ENODATA && *avail == 0)
		return 0;
	return r ? r : 1;
}

/* Drop the rest of an oversized frame: a counted run, then perhaps everything through a
 * delimiter (keeping a possible partial delimiter at the end of the buffer for the next look). */
static int resync(struct weft_framer *f)
{
	size_t avail, keep = 0, end;
	const uint8_t *data;
	bool found;
	int r;

	while (f->skip_left) {
		if ((r = peek(f, 1, &data, &avail)) <= 0)
			return r;
		end = avail < f->skip_left ? avail : (size_t)f->skip_left;
		drop(f, end);
		f->skip_left -= end;
	}
	while (f->skip_to_delim) {
		r = peek(f, keep + 1, &data, &avail);
		if (r == -ENODATA || r == 0) { /* the stream ended inside the long frame */
			drop(f, avail);
			f->skip_to_delim = false;
			return 0;
		}
		if (r < 0)
			return r;
		end = weft__delim_skip(data, avail, f->delim, f->spec.delim_len, &found);
		drop(f, end);
		keep = avail - end;
		f->skip_to_delim = !found;
	}
	return 1;
}

/* An oversized frame: start dropping it - @n bytes (its declared length, or what a parser that
 * cannot say was shown), or with @n 0 through the delimiter that ends its payload (a user
 * parser's frame without a delimiter: one byte, and hunt). -EMSGSIZE. */
static ssize_t start_skip(struct weft_framer *f, size_t n)
{
	if (n)
		f->skip_left = n;
	else if (has_delim(&f->spec))
		f->skip_left = f->delim_from, f->skip_to_delim = true;
	else
		f->skip_left = 1;
	return -EMSGSIZE;
}

/* Hand out @fr->len bytes at @data (a frame, or garbage reported as -EBADMSG). They leave the
 * stream now - the bytes stay where they are until the next read of the stream - so the
 * framer holds no claim on the stream between calls. */
static void hand_out(struct weft_framer *f, const uint8_t *data, struct weft_frame *fr)
{
	fr->data = data;
	if (!fr->payload) {
		fr->payload = data;
		fr->payload_len = fr->len;
	}
	weft_stream_consume(f->stream, fr->len);
	f->scanned = 0;
}

static ssize_t deliver(struct weft_framer *f, const uint8_t *data, size_t avail,
		       struct weft_frame *fr)
{
	if (!fr->len || fr->len > avail)
		return -EINVAL; /* a parser claimed bytes it was not shown */
	if (fr->payload && (fr->payload < data || fr->payload_len > fr->len ||
			    fr->payload + fr->payload_len > data + fr->len))
		return -EINVAL; /* or a payload outside its frame */
	hand_out(f, data, fr);
	return (ssize_t)fr->len;
}

/* What to do with a parser's verdict. > 0: return this; 0: parse again; < 0: an error. */
static ssize_t act(struct weft_framer *f, int v, const uint8_t *data, size_t avail,
		   struct weft_frame *fr, size_t *want)
{
	switch (v) {
	case WEFT_FRAME_NEED:
		*want = fr->len > avail ? fr->len : avail + 1;
		/* More than a frame may hold, from a parser that does not check the maximum: a
		 * declared length is dropped, else the bytes it was shown (all it could see). */
		return *want > f->max ? start_skip(f, fr->len > avail ? fr->len : avail) : 0;
	case WEFT_FRAME_OK:
		return deliver(f, data, avail, fr);
	case WEFT_FRAME_SKIP:
		if (!fr->len || fr->len > avail)
			return -EINVAL;
		if (f->spec.flags & WEFT_FRAME_REPORT_SKIPPED) {
			fr->payload = NULL;
			f->skipped += fr->len;
			hand_out(f, data, fr);
			return -EBADMSG;
		}
		drop(f, fr->len);
		*want = 1;
		return 0;
	case WEFT_FRAME_TOOBIG:
		return start_skip(f, fr->len);
	}
	return v < 0 ? v : -EINVAL;
}

ssize_t weft_framer_next(weft_framer *f, struct weft_frame *fr)
{
	size_t avail, want = 1;
	const uint8_t *data;
	ssize_t r;

	if (!f || !fr)
		return -EINVAL;
	if ((r = resync(f)) <= 0)
		return r;
	for (;;) {
		/* want <= max <= the read buffer's size: peek never says -EMSGSIZE. */
		r = peek(f, want, &data, &avail);
		if (r <= 0)
			return r;
		/* A frame is never longer than max: the parser needs to see no more. */
		if (avail > f->max)
			avail = f->max;
		*fr = (struct weft_frame){0};
		r = act(f, f->spec.parse(f->spec.parse_arg, data, avail, f->max, fr), data, avail,
			fr, &want);
		if (r)
			return r;
	}
}

ssize_t weft_framer_read(weft_framer *f, void *buf, size_t len, unsigned *tag)
{
	struct weft_frame fr;
	ssize_t r;

	if (!buf && len)
		return -EINVAL;
	r = weft_framer_next(f, &fr);
	if (r <= 0)
		return r;
	if (tag)
		*tag = fr.tag;
	if (fr.payload_len > len)
		return -ENOBUFS;
	if (fr.payload_len)
		memcpy(buf, fr.payload, fr.payload_len);
	return (ssize_t)fr.payload_len;
}

/* SPDX-License-Identifier: MIT */
/*
 * weft/frame.h - cutting frames out of a weft_stream: fixed length, length-prefixed (1/2/4-byte
 * length, either byte order), delimiter-terminated, tag-switched (tag 1 = length-prefixed
 * payload, tag 2 = terminator-delimited, unknown tags skipped, as in the pyserial-asyncio
 * tutorial), or a parser of your own. Frames are read in place from the stream's buffer (no copy
 * unless weft_framer_read asks for one); a frame over the maximum size fails with -EMSGSIZE and
 * is skipped, so the framer resynchronises. The results never depend on how the bytes were
 * split into reads. Serial ports use it most, but a socket or a file stream frames the same
 * way. Not thread-safe: a framer belongs to its stream's loop.
 */
#ifndef WEFT_FRAME_H
#define WEFT_FRAME_H

#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_framer weft_framer;

/*
 * struct weft_frame - one frame, as weft_framer_next() found it. The frame has already been
 * consumed from the stream; the pointers point into the stream's read buffer and stay valid
 * until the next call on the framer or the stream.
 * @data, @len:             the whole frame as received (header, payload, terminator).
 * @payload, @payload_len:  the part the application wants (no header, tag or terminator).
 * @tag:                    the tag byte of a tagged frame, else 0; a user parser may set it.
 */
struct weft_frame {
	const uint8_t *data;
	size_t len;
	const uint8_t *payload;
	size_t payload_len;
	unsigned tag;
	uint64_t reserved[4]; /* filled with zeros today: room for later fields (README "ABI") */
};

/* What a frame parser (struct weft_frame_spec.parse) says about the bytes it was shown. */
enum weft_frame_verdict {
	WEFT_FRAME_NEED =
	    0, /* incomplete: frame->len = total bytes needed (0: at least one more) */
	WEFT_FRAME_OK =
	    1, /* a frame of frame->len bytes starts at data[0]: see weft_frame_parse_fn */
	WEFT_FRAME_SKIP = 2,  /* data[0 .. frame->len) is garbage: drop it and parse again */
	WEFT_FRAME_TOOBIG = 3 /* a frame longer than the maximum: frame->len bytes are dropped
			       * (0: one byte, and parse again) */
};

/*
 * weft_frame_parse_fn - a user frame parser. @data/@avail: the bytes buffered so far (not yet
 * consumed), starting where the next frame should start. Fill @frame and return a verdict:
 * WEFT_FRAME_OK with @frame->len set; optionally @frame->payload/@frame->payload_len (default:
 * the whole frame) and @frame->tag. Or a negative errno to fail weft_framer_next() with it
 * (nothing is consumed). It must not keep @data. @max is the largest frame (the spec's maximum,
 * at most the stream's read buffer); @avail never exceeds it. Return WEFT_FRAME_TOOBIG for
 * frames over it; a parser that asks for more than @max anyway gets -EMSGSIZE, and the frame
 * is dropped by the length it asked for (WEFT_FRAME_NEED with a length) or else by the @max
 * bytes it was shown. Results must depend only on the bytes shown, not on @avail.
 */
typedef int (*weft_frame_parse_fn)(void *arg, const uint8_t *data, size_t avail, size_t max,
				   struct weft_frame *frame);

/* Kinds of framing for struct weft_frame_spec. */
enum weft_frame_kind {
	WEFT_FRAME_FIXED,  /* every frame is .fixed_len bytes */
	WEFT_FRAME_LENGTH, /* a 1/2/4-byte length field, then the payload */
	WEFT_FRAME_DELIM,  /* a payload ended by .delim (e.g. "\n", "\r\n", "\0") */
	WEFT_FRAME_TAGGED, /* the pyserial-asyncio tutorial's protocol: see .tagged */
	WEFT_FRAME_CUSTOM, /* .parse decides */
};

/* Flags for struct weft_frame_spec. */
#define WEFT_FRAME_BIG_ENDIAN	 (1u << 0) /* LENGTH/TAGGED: the length field is big-endian */
#define WEFT_FRAME_LEN_INCLUSIVE (1u << 1) /* LENGTH: the length counts the header too */
#define WEFT_FRAME_RESYNC_BYTE \
	(1u << 2)			    /* LENGTH: after an oversized length, skip one byte
					     * and hunt for a plausible header instead of
					     * skipping the declared frame */
#define WEFT_FRAME_REPORT_SKIPPED (1u << 3) /* report dropped garbage as -EBADMSG (see next()) */

/*
 * struct weft_frame_spec - how frames are cut out of a stream.
 * @kind:      an enum weft_frame_kind.
 * @flags:     WEFT_FRAME_* flags.
 * @max:       the largest whole frame accepted (header and terminator included); 0 (or more
 *             than the stream's read buffer, 16 KiB by default) = the read buffer's size. A
 *             longer frame fails with -EMSGSIZE and is skipped through its end: its declared
 *             length, or the first delimiter after its start (after the tag of TAGGED).
 * @fixed_len: FIXED: the frame size (>= 1).
 * @len_size:  LENGTH and TAGGED: the length field's size, 1, 2 or 4 bytes (0 = 1).
 * @delim, @delim_len: DELIM and TAGGED: the terminator (1-16 bytes; TAGGED: NULL = "\n").
 * @tagged:    TAGGED: the tag values; a frame is [len_tag][length][payload] or
 *             [delim_tag][payload][delim]; any other leading byte is dropped as garbage (one
 *             byte, as the tutorial does). Both 0 = the tutorial's 1 and 2.
 * @parse, @parse_arg: CUSTOM: the parser.
 */
struct weft_frame_spec {
	enum weft_frame_kind kind;
	unsigned flags;
	size_t max;
	size_t fixed_len;
	unsigned len_size;
	const void *delim;
	size_t delim_len;
	struct {
		uint8_t len_tag;
		uint8_t delim_tag;
	} tagged;
	weft_frame_parse_fn parse;
	void *parse_arg;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/*
 * weft_framer_new - a framer reading @stream according to @spec (copied; @spec->delim is copied
 * too). The framer does not own the stream. Returns 0 and sets *@framerp, -EINVAL (a bad spec:
 * unknown flags or kind, a field out of range, a maximum too small for the shortest frame of
 * the kind), -ENOMEM. May be called from plain code.
 */
WEFT_API int weft_framer_new(weft_framer **framerp, weft_stream *stream,
			     const struct weft_frame_spec *spec);

/*
 * weft_framer_next - the next frame, without copying it (see struct weft_frame); it is consumed
 * from the stream as it is returned. Blocks the fiber until a whole frame is buffered.
 * Returns the frame's whole length (> 0); 0 when the stream ended cleanly between frames;
 * -ENODATA when it ended inside a frame, a partial header included (the partial frame stays
 * unconsumed); -EMSGSIZE for an
 * oversized frame (dropped as described at struct weft_frame_spec; the drop happens on the next
 * call, so this returns at once); -EBADMSG when WEFT_FRAME_REPORT_SKIPPED is set and garbage was
 * dropped (@frame describes the dropped bytes, and @frame->tag the unknown tag of TAGGED);
 * a parser's own error; or the stream's (-EIO device gone, -ECANCELED, -ETIMEDOUT ...). An
 * interrupted call loses nothing: the next call resumes where it stopped.
 * Do not read the stream by other means between calls.
 */
WEFT_API ssize_t weft_framer_next(weft_framer *framer, struct weft_frame *frame);

/*
 * weft_framer_read - weft_framer_next(), then copy the payload into @buf (@len bytes at most).
 * Returns the payload's length, -ENOBUFS if it does not fit (the frame is dropped), -EINVAL
 * for a NULL @buf with a @len (nothing read), or any error of weft_framer_next() (0 at a clean
 * end of the stream). *@tag (may be NULL) gets frame->tag.
 */
WEFT_API ssize_t weft_framer_read(weft_framer *framer, void *buf, size_t len, unsigned *tag);

/* weft_framer_skipped - how many garbage bytes the framer dropped so far (oversized frames and
 * unparseable bytes). */
WEFT_API uint64_t weft_framer_skipped(const weft_framer *framer);

/* weft_framer_free - free the framer (not the stream, which is not touched: free them in
 * either order). The stream keeps every byte after the frame last returned. NULL is a no-op. */
WEFT_API void weft_framer_free(weft_framer *framer);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the buffered stream (weft/stream.h). The input chooses the read and write buffer
 * sizes, how the in-memory transport splits reads (whole, bytewise, random chunks with -EAGAIN
 * interruptions) and short writes, and a script of calls - read, read_exactly, read_until with
 * a maximum, peek, consume, write, writev, flush - run against a model: the input's bytes with
 * a read position and a pending skip of an over-long line, and the bytes written so far. A call
 * interrupted by the transport (-EAGAIN) is repeated: it must lose nothing and read nothing
 * twice (read_exactly's count says what the interrupted part stored).
 */
#include "weft.h"
#include "fuzz_common.h"

enum op { OP_READ, OP_EXACTLY, OP_UNTIL, OP_PEEK, OP_CONSUME, OP_WRITE, OP_WRITEV, OP_FLUSH, NOPS };

struct model {
	const uint8_t *d;
	size_t n, p, rcap;
	/* read_until's over-long line: skipped through this delimiter by the next read call */
	uint8_t skip[3];
	size_t skip_len;
	/* The write side: every byte written, in order (the transport must get a prefix). */
	uint8_t *w;
	size_t w_len, wcap;
};

static const uint8_t *find(const struct model *m, const uint8_t *delim, size_t dlen)
{
	return m->n > m->p ? memmem(m->d + m->p, m->n - m->p, delim, dlen) : NULL;
}

/* What every read call does first: finish skipping an over-long line. */
static void skip_line(struct model *m)
{
	const uint8_t *hit;

	if (!m->skip_len)
		return;
	hit = find(m, m->skip, m->skip_len);
	m->p = hit ? (size_t)(hit - m->d) + m->skip_len : m->n;
	m->skip_len = 0;
}

static void same_bytes(const struct model *m, const void *got, size_t len, const char *what)
{
	FUZZ_CHECK(m->p + len <= m->n && !memcmp(got, m->d + m->p, len), "%s: wrong bytes", what);
}

static void do_read(struct model *m, weft_stream *s, size_t len)
{
	uint8_t buf[64];
	ssize_t r;

	while ((r = weft_stream_read(s, len ? buf : NULL, len)) == -EAGAIN)
		;
	skip_line(m);
	FUZZ_CHECK(r >= 0 && (size_t)r <= len, "read %zu: %zd", len, r);
	FUZZ_CHECK((r == 0) == (len == 0 || m->p == m->n), "read %zu: %zd at %zu/%zu", len, r, m->p,
		   m->n);
	same_bytes(m, buf, (size_t)r, "read");
	m->p += (size_t)r;
}

static void do_exactly(struct model *m, weft_stream *s, size_t len)
{
	uint8_t buf[64];
	size_t got = 0, more = 99;
	int r;

	while ((r = weft_stream_read_exactly(s, len ? buf + got : NULL, len - got, &more)) ==
	       -EAGAIN)
		got += more;
	got += more;
	skip_line(m);
	FUZZ_CHECK(r == (m->n - m->p >= len ? 0 : -ENODATA), "read_exactly %zu: %d", len, r);
	FUZZ_CHECK(got <= len && (r != 0 || got == len) && (r != -ENODATA || got == m->n - m->p),
		   "read_exactly %zu: got %zu", len, got);
	same_bytes(m, buf, got, "read_exactly");
	m->p += got;
}

static void do_until(struct model *m, weft_stream *s, size_t len, size_t max, const uint8_t *delim,
		     size_t dlen)
{
	uint8_t buf[64];
	size_t lim = max ? max : len, rem, end;
	const uint8_t *hit;
	ssize_t r;

	while ((r = weft_stream_read_until(s, buf, len, max, delim, dlen)) == -EAGAIN)
		;
	skip_line(m);
	if (lim > m->rcap)
		lim = m->rcap;
	rem = m->n - m->p;
	hit = find(m, delim, dlen);
	end = hit ? (size_t)(hit - (m->d + m->p)) + dlen : 0;
	if (hit && end <= lim) {
		FUZZ_CHECK(r == (ssize_t)end, "read_until: %zd, want the line of %zu", r, end);
	} else if (hit || rem >= lim) {
		FUZZ_CHECK(r == -EMSGSIZE, "read_until: %zd, want -EMSGSIZE", r);
		memcpy(m->skip, delim, dlen);
		m->skip_len = dlen;
		return;
	} else {
		FUZZ_CHECK(r == (ssize_t)rem, "read_until: %zd, want the last %zu bytes", r, rem);
	}
	same_bytes(m, buf, (size_t)r, "read_until");
	m->p += (size_t)r;
}

static void do_peek(struct model *m, weft_stream *s, size_t want)
{
	const void *data;
	size_t avail;
	int r;

	while ((r = weft_stream_peek(s, want, &data, &avail)) == -EAGAIN)
		;

	if (want > m->rcap) {
		FUZZ_CHECK(r == -EMSGSIZE, "peek %zu over %zu: %d", want, m->rcap, r);
		return;
	}
	skip_line(m);
	FUZZ_CHECK(avail <= m->n - m->p && avail <= m->rcap, "peek: %zu available", avail);
	if (r == 0)
		FUZZ_CHECK(avail >= want, "peek %zu: %zu", want, avail);
	else if (r == -ENODATA)
		FUZZ_CHECK(m->n - m->p < want && avail == m->n - m->p, "peek %zu: end at %zu", want,
			   avail);
	else
		fuzz_fail("peek %zu: %d", want, r);
	if (avail)
		same_bytes(m, data, avail, "peek");
}

static void do_consume(struct model *m, weft_stream *s, size_t k)
{
	size_t b = weft_stream_buffered(s);
	int r = weft_stream_consume(s, k);

	FUZZ_CHECK(b <= m->n - m->p, "%zu buffered, %zu left", b, m->n - m->p);
	FUZZ_CHECK(r == (k <= b ? 0 : -EINVAL), "consume %zu of %zu: %d", k, b, r);
	if (!r)
		m->p += k;
}

/* The transport got a prefix of what was written; at most a write buffer's worth is held. */
static void check_written(const struct model *m, weft_stream *s, const struct fuzz_mem *mem)
{
	FUZZ_CHECK(weft_stream_written(s) == mem->out_len, "written %llu, transport has %zu",
		   (unsigned long long)weft_stream_written(s), mem->out_len);
	FUZZ_CHECK(mem->out_len <= m->w_len && m->w_len - mem->out_len <= m->wcap &&
		       !memcmp(mem->out, m->w, mem->out_len),
		   "the transport has not a prefix of what was written");
}

static void do_write(struct model *m, weft_stream *s, struct fuzz_in *in, size_t len, int pieces)
{
	struct iovec iov[3];
	uint8_t *src = m->w + m->w_len;
	size_t at = 0;
	ssize_t r;

	for (size_t i = 0; i < len; i++)
		src[i] = (uint8_t)(m->w_len + i) ^ fuzz_byte(in);
	if (pieces == 1) {
		r = weft_stream_write(s, len ? src : NULL, len);
	} else {
		for (int i = 0; i < pieces; i++) {
			size_t k = i == pieces - 1 ? len - at : (len - at) * (size_t)(i + 1) / 4;
			iov[i] = (struct iovec){src + at, k};
			at += k;
		}
		r = weft_stream_writev(s, iov, pieces);
	}
	FUZZ_CHECK(r == (ssize_t)len, "write of %zu: %zd", len, r);
	m->w_len += len;
}

static const struct weft_stream_ops mem_ops = {.read = fuzz_mem_read, .writev = fuzz_mem_writev};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t delims[][3] = {"\n", "\r\n", "ab", "aab", {0}};
	struct fuzz_in in = {data, size};
	uint8_t b0 = fuzz_byte(&in), b1 = fuzz_byte(&in), nops = fuzz_byte(&in);
	struct weft_stream_opts o = {.rbuf_size = 16 + (b0 & 0x3f), .wbuf_size = b1 % 48};
	struct fuzz_mem mem = {.split = (enum fuzz_split)((b0 >> 6) % FUZZ_NSPLITS)};
	struct model m = {.rcap = o.rbuf_size, .wcap = o.wbuf_size};
	const uint8_t *script;
	weft_stream *s;

	mem.rng = fuzz_u32(&in);
	/* The script (4 bytes a call) first, then the bytes the transport reads. */
	script = in.p;
	if (in.n < 4u * nops)
		nops = (uint8_t)(in.n / 4);
	in.p += 4u * nops;
	in.n -= 4u * nops;
	mem.data = m.d = in.p;
	mem.len = m.n = in.n;
	m.w = malloc(80u * 256 + 1);
	mem.out = malloc(80u * 256 + 1);
	mem.out_cap = 80u * 256;
	if (weft_stream_new(&s, &mem_ops, &mem, &o))
		abort();
	for (unsigned i = 0; i < nops; i++) {
		const uint8_t *c = script + 4 * i;
		size_t dl = c[3] % 5;
		struct fuzz_in src = {c, 4};

		switch (c[0] % NOPS) {
		case OP_READ:
			do_read(&m, s, c[1] % 64);
			break;
		case OP_EXACTLY:
			do_exactly(&m, s, c[1] % 64);
			break;
		case OP_UNTIL:
			do_until(&m, s, 1 + c[1] % 63, c[2] % 64 <= 1 + c[1] % 63 ? c[2] % 64 : 0,
				 dl < 4 ? delims[dl] : c + 2,
				 dl < 4 ? strlen((const char *)delims[dl]) : 1);
			break;
		case OP_PEEK:
			do_peek(&m, s, c[1] % (m.rcap + 8));
			break;
		case OP_CONSUME:
			do_consume(&m, s, c[1] % 32);
			break;
		case OP_WRITE:
		case OP_WRITEV:
			do_write(&m, s, &src, c[1] % 80,
				 c[0] % NOPS == OP_WRITE ? 1 : 1 + c[2] % 3);
			break;
		case OP_FLUSH:
			FUZZ_CHECK(weft_stream_flush(s) == 0, "flush failed");
			FUZZ_CHECK(mem.out_len == m.w_len, "flushed, yet bytes held back");
			break;
		}
		check_written(&m, s, &mem);
	}
	FUZZ_CHECK(weft_stream_close(s) == 0, "close failed");
	FUZZ_CHECK(mem.out_len == m.w_len && !memcmp(mem.out, m.w, m.w_len), "bytes lost at close");
	free(m.w);
	free(mem.out);
	return 0;
}

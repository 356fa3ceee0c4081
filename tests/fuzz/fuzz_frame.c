/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the framers (weft/frame.h). The input chooses a spec - every kind, every flag,
 * a maximum, the stream's buffer size, delimiters and tags - and the bytes to frame. They are
 * framed three times through an in-memory transport: handed over whole, a byte at a time, and
 * in random chunks with interruptions (-EAGAIN, retried). Every run must give the same results,
 * and for the built-in kinds the same as a reference model that frames the whole input at once
 * (struct weft_frame_spec's rules, written the plain way).
 */
#include "weft.h"
#include "fuzz_common.h"

/* One result of weft_framer_next(): a frame's payload and tag, or an error. */
struct res {
	ssize_t r;
	unsigned tag;
	size_t off, len; /* payload, in the run's arena */
};

struct run {
	struct res *res;
	size_t nres, cap;
	uint8_t *arena;
	size_t used;
};

static void add(struct run *run, ssize_t r, unsigned tag, const uint8_t *p, size_t len)
{
	struct res *x;

	FUZZ_CHECK(run->nres < run->cap, "more results than the input can make");
	x = &run->res[run->nres++];
	*x = (struct res){.r = r, .tag = tag, .off = run->used, .len = len};
	if (len)
		memcpy(run->arena + run->used, p, len);
	run->used += len;
}

/* ---- the reference model -------------------------------------------------------------------- */

struct model {
	const struct weft_frame_spec *spec;
	const uint8_t *d;
	size_t n, p, max;
	struct run *out;
};

static uint32_t field(const uint8_t *p, unsigned size, bool big)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size; i++)
		v = v << 8 | p[big ? i : size - 1 - i];
	return v;
}

/* One byte of garbage: counted, or reported with its tag. */
static void garbage(struct model *m, unsigned tag)
{
	if (m->spec->flags & WEFT_FRAME_REPORT_SKIPPED)
		add(m->out, -EBADMSG, tag, m->d + m->p, 1);
	m->p++;
}

static void skip_to(struct model *m, size_t p)
{
	m->p = p < m->n ? p : m->n;
}

/* 1: a result, keep going; 0: the stream ends inside a frame (-ENODATA added). */
static int model_length(struct model *m, size_t fld, unsigned tag)
{
	unsigned size = m->spec->len_size ? m->spec->len_size : 1;
	size_t hdr = fld + size, rem = m->n - m->p;
	uint64_t len, total;

	if (rem < hdr)
		return add(m->out, -ENODATA, 0, NULL, 0), 0;
	len = field(m->d + m->p + fld, size, m->spec->flags & WEFT_FRAME_BIG_ENDIAN);
	total = m->spec->flags & WEFT_FRAME_LEN_INCLUSIVE ? len : hdr + len;
	if (total < hdr)
		return garbage(m, tag), 1;
	if (total > m->max) {
		add(m->out, -EMSGSIZE, 0, NULL, 0);
		skip_to(m, m->p + (m->spec->flags & WEFT_FRAME_RESYNC_BYTE ? 1 : total));
		return 1;
	}
	if (rem < total)
		return add(m->out, -ENODATA, 0, NULL, 0), 0;
	add(m->out, (ssize_t)total, tag, m->d + m->p + hdr, total - hdr);
	m->p += total;
	return 1;
}

/* Through the first delimiter at or after @off; too long: dropped through that delimiter. */
static int model_delim(struct model *m, size_t off, unsigned tag)
{
	const uint8_t *d = m->d + m->p, *hit;
	size_t rem = m->n - m->p, dlen = m->spec->delim_len ? m->spec->delim_len : 1;
	const void *delim = m->spec->delim ? m->spec->delim : "\n";
	size_t end;

	hit = rem > off ? memmem(d + off, rem - off, delim, dlen) : NULL;
	end = hit ? (size_t)(hit - d) + dlen : 0;
	if (hit && end <= m->max) {
		add(m->out, (ssize_t)end, tag, d + off, end - off - dlen);
		m->p += end;
		return 1;
	}
	if (!hit && rem < m->max)
		return add(m->out, -ENODATA, 0, NULL, 0), 0;
	add(m->out, -EMSGSIZE, 0, NULL, 0);
	skip_to(m, hit ? m->p + end : m->n);
	return 1;
}

static void model(const struct weft_frame_spec *spec, const uint8_t *d, size_t n, size_t max,
		  struct run *out)
{
	struct model m = {spec, d, n, 0, max, out};
	uint8_t lt = spec->tagged.len_tag, dt = spec->tagged.delim_tag;

	if (!lt && !dt)
		lt = 1, dt = 2;
	for (;;) {
		int more = 1;

		if (m.p == n)
			return add(out, 0, 0, NULL, 0);
		switch (spec->kind) {
		case WEFT_FRAME_FIXED:
			if (n - m.p < spec->fixed_len)
				return add(out, -ENODATA, 0, NULL, 0);
			add(out, (ssize_t)spec->fixed_len, 0, d + m.p, spec->fixed_len);
			m.p += spec->fixed_len;
			break;
		case WEFT_FRAME_LENGTH:
			more = model_length(&m, 0, 0);
			break;
		case WEFT_FRAME_DELIM:
			more = model_delim(&m, 0, 0);
			break;
		case WEFT_FRAME_TAGGED:
			if (d[m.p] == lt)
				more = model_length(&m, 1, lt);
			else if (d[m.p] == dt)
				more = model_delim(&m, 1, dt);
			else
				garbage(&m, d[m.p]);
			break;
		default:
			abort();
		}
		if (!more)
			return;
	}
}

/* ---- a user parser: its verdicts are a function of the bytes it is shown -------------------- */

static int user_parse(void *arg, const uint8_t *d, size_t avail, size_t max, struct weft_frame *fr)
{
	uint8_t b = d[0];
	size_t n = 1 + (b >> 3);
	const uint8_t *nl;

	if (avail > max)
		fuzz_fail("parser shown %zu bytes, max %zu", avail, max);
	switch (b & 7) {
	case 0: /* a frame of 1 + b / 8 bytes, checked against the maximum */
	case 1:
		if (n > max)
			return fr->len = n, WEFT_FRAME_TOOBIG;
		/* fall through */
	case 2: /* the same unchecked */
		if (avail < n)
			return fr->len = n, WEFT_FRAME_NEED;
		fr->len = n;
		fr->payload = d + 1;
		fr->payload_len = n - 1;
		fr->tag = b;
		return WEFT_FRAME_OK;
	case 3: /* garbage of 1..4 bytes */
		n = 1 + (b >> 6);
		if (avail < n)
			return fr->len = n, WEFT_FRAME_NEED;
		return fr->len = n, WEFT_FRAME_SKIP;
	case 4: /* too big, length unknown */
		return fr->len = 0, WEFT_FRAME_TOOBIG;
	case 5: /* a line, whatever the maximum */
		nl = memchr(d, '\n', avail);
		if (!nl)
			return fr->len = 0, WEFT_FRAME_NEED;
		return fr->len = (size_t)(nl - d) + 1, WEFT_FRAME_OK;
	case 6: /* a declared length far over any maximum */
		return fr->len = (size_t)b << 16, WEFT_FRAME_NEED;
	}
	return b == 0xff ? -EPROTO : (fr->len = 1, WEFT_FRAME_SKIP);
}

/* ---- running a framer ------------------------------------------------------------------------ */

static const struct weft_stream_ops mem_ops = {.read = fuzz_mem_read};

/* Frame all of @d; false if the spec was refused. */
static bool frame_run(const struct weft_frame_spec *spec, size_t rbuf, const uint8_t *d, size_t n,
		      enum fuzz_split split, uint64_t seed, struct run *out, size_t *maxp)
{
	struct fuzz_mem mem = {.data = d, .len = n, .split = split, .rng = seed};
	const struct weft_stream_opts o = {.rbuf_size = rbuf};
	struct weft_frame fr;
	weft_stream *s;
	weft_framer *f;
	ssize_t r;

	if (weft_stream_new(&s, &mem_ops, &mem, &o))
		abort();
	if (weft_framer_new(&f, s, spec)) {
		weft_stream_free(s);
		return false;
	}
	*maxp = spec->max && spec->max < rbuf ? spec->max : rbuf;
	for (;;) {
		r = weft_framer_next(f, &fr);
		if (r == -EAGAIN)
			continue; /* an interrupted call resumes where it stopped */
		if (r > 0 || r == -EBADMSG) {
			FUZZ_CHECK(fr.payload >= fr.data &&
				       fr.payload + fr.payload_len <= fr.data + fr.len,
				   "payload outside its frame");
			add(out, r, fr.tag, fr.payload, fr.payload_len);
		} else {
			add(out, r, 0, NULL, 0);
		}
		if (r == 0 || (r < 0 && r != -EMSGSIZE && r != -EBADMSG))
			break;
	}
	/* The end (or the error) stays put. */
	while ((r = weft_framer_next(f, &fr)) == -EAGAIN)
		;
	FUZZ_CHECK(r == out->res[out->nres - 1].r, "end result %zd then %zd",
		   out->res[out->nres - 1].r, r);
	weft_stream_free(s); /* before the framer: allowed */
	weft_framer_free(f);
	return true;
}

static void compare(const struct run *a, const struct run *b, const char *what)
{
	FUZZ_CHECK(a->nres == b->nres, "%s: %zu results vs %zu", what, a->nres, b->nres);
	for (size_t i = 0; i < a->nres; i++) {
		const struct res *x = &a->res[i], *y = &b->res[i];

		FUZZ_CHECK(x->r == y->r, "%s: result %zu: %zd vs %zd", what, i, x->r, y->r);
		if (x->r <= 0 && x->r != -EBADMSG)
			continue;
		FUZZ_CHECK(x->tag == y->tag && x->len == y->len &&
			       !memcmp(a->arena + x->off, b->arena + y->off, x->len),
			   "%s: result %zu: payload or tag differs", what, i);
	}
}

static void run_init(struct run *run, size_t n)
{
	run->cap = 2 * n + 4;
	run->res = calloc(run->cap, sizeof(*run->res));
	run->arena = malloc(n + 1);
	run->nres = run->used = 0;
}

static void run_free(struct run *run)
{
	free(run->res);
	free(run->arena);
}

/* The spec from the first bytes of the input. */
static void spec_of(struct fuzz_in *in, struct weft_frame_spec *spec, uint8_t *delim, size_t *rbuf)
{
	static const size_t maxes[] = {0, 1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 40, 100, 300};
	static const unsigned len_sizes[] = {0, 1, 2, 4};
	uint8_t b = fuzz_byte(in);

	spec->kind = (enum weft_frame_kind)(b % 5);
	spec->flags = (b >> 3) & 0xf;
	b = fuzz_byte(in);
	spec->max = maxes[b % (sizeof(maxes) / sizeof(maxes[0]))];
	spec->len_size = len_sizes[(b >> 4) & 3];
	b = fuzz_byte(in);
	spec->fixed_len = 1 + b % 24;
	*rbuf = b & 0x80 ? WEFT_STREAM_RBUF_DEFAULT : 16 + (b >> 3) % 16 * 8;
	b = fuzz_byte(in);
	spec->delim_len = 1 + b % 4;
	for (size_t i = 0; i < spec->delim_len; i++)
		delim[i] = fuzz_byte(in);
	spec->delim = delim;
	if (spec->kind == WEFT_FRAME_TAGGED && b & 0x80)
		spec->delim = NULL, spec->delim_len = 0; /* the default "\n" */
	spec->tagged.len_tag = fuzz_byte(in);
	spec->tagged.delim_tag = fuzz_byte(in);
	if (b & 0x40)
		spec->tagged.len_tag = spec->tagged.delim_tag = 0; /* the tutorial's 1 and 2 */
	spec->parse = user_parse;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct weft_frame_spec spec = {0};
	struct run runs[FUZZ_NSPLITS], want;
	uint8_t delim[4];
	size_t rbuf, max = 0;
	uint64_t seed;

	spec_of(&in, &spec, delim, &rbuf);
	seed = fuzz_u32(&in);
	for (int i = 0; i < FUZZ_NSPLITS; i++) {
		run_init(&runs[i], in.n);
		if (!frame_run(&spec, rbuf, in.p, in.n, (enum fuzz_split)i, seed, &runs[i], &max)) {
			FUZZ_CHECK(i == 0, "spec refused on one run only");
			for (int j = 0; j <= i; j++)
				run_free(&runs[j]);
			return 0;
		}
	}
	compare(&runs[0], &runs[FUZZ_BYTES], "whole vs bytewise");
	compare(&runs[0], &runs[FUZZ_RANDOM], "whole vs random chunks");
	if (spec.kind != WEFT_FRAME_CUSTOM) {
		run_init(&want, in.n);
		model(&spec, in.p, in.n, max, &want);
		compare(&want, &runs[0], "model vs framer");
		run_free(&want);
	}
	for (int i = 0; i < FUZZ_NSPLITS; i++)
		run_free(&runs[i]);
	return 0;
}

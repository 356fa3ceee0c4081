/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c, built by `make fuzz`): a byte source
 * that reads the fuzzer's input as configuration, a small PRNG, an in-memory transport that
 * hands its bytes out in chunks the fuzzer chooses (with interruptions), and the one way a
 * target reports a model mismatch (abort with a message: libFuzzer keeps the input).
 */
#ifndef WEFT_FUZZ_COMMON_H
#define WEFT_FUZZ_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>

/* A model mismatch: say what differed, then abort so libFuzzer saves the input. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz mismatch: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	abort();
}

#define FUZZ_CHECK(cond, ...)                   \
	do {                                    \
		if (!(cond))                    \
			fuzz_fail(__VA_ARGS__); \
	} while (0)

/* The input, consumed from the front as configuration bytes (0 once it runs out). */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_byte(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | fuzz_byte(in);
	return v;
}

/* splitmix64: chunk sizes and interruptions from a seed the fuzzer picked. */
static inline uint64_t fuzz_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* How the in-memory transport splits its bytes. */
enum fuzz_split {
	FUZZ_WHOLE,  /* as much as the reader asks for */
	FUZZ_BYTES,  /* one byte per read */
	FUZZ_RANDOM, /* 1..64 bytes per read, an -EAGAIN now and then (never twice running) */
	FUZZ_NSPLITS
};

struct fuzz_mem {
	const uint8_t *data;
	size_t len, pos;
	enum fuzz_split split;
	uint64_t rng;
	bool interrupted; /* the last read was an -EAGAIN */
	/* The write side: what the stream wrote, in order. */
	uint8_t *out;
	size_t out_len, out_cap;
};

static inline ssize_t fuzz_mem_read(void *io, void *buf, size_t len)
{
	struct fuzz_mem *m = io;
	size_t n = m->len - m->pos;

	if (m->split == FUZZ_RANDOM && !m->interrupted && fuzz_rand(&m->rng) % 8 == 0) {
		m->interrupted = true;
		return -EAGAIN;
	}
	m->interrupted = false;
	if (n > len)
		n = len;
	if (m->split == FUZZ_BYTES && n > 1)
		n = 1;
	if (m->split == FUZZ_RANDOM && n > 1)
		n = 1 + fuzz_rand(&m->rng) % (n < 64 ? n : 64);
	memcpy(buf, m->data + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

/* Short writes of 1..all bytes of the first iovec with data (as a socket may). */
static inline ssize_t fuzz_mem_writev(void *io, const struct iovec *iov, int iovcnt)
{
	struct fuzz_mem *m = io;
	size_t total = 0, n, take;

	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (!total)
		return 0;
	n = m->split == FUZZ_WHOLE ? total : 1 + fuzz_rand(&m->rng) % total;
	if (m->out_len + n > m->out_cap)
		fuzz_fail("stream wrote more than it was given");
	for (int i = 0, left = (int)n; i < iovcnt && left; i++) {
		take = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;
		memcpy(m->out + m->out_len, iov[i].iov_base, take);
		m->out_len += take;
		left -= (int)take;
	}
	return (ssize_t)n;
}

#endif

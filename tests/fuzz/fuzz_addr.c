/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: addresses (weft_addr_parse / weft_addr_format). Two directions:
 * - a string: if it parses, its formatted form must parse back to the very same address, and
 *   format to the same string again;
 * - a raw weft_sockaddr (IPv4, IPv6, Unix path or abstract name, any length): if it formats,
 *   the string must parse, and parse-then-format must give the same string (the parts a string
 *   cannot carry - the IPv6 flow label, bytes after a path's NUL - are what may differ), except
 *   the documented few: an unnamed socket (""), an empty or NUL-holding abstract name, a path
 *   too long to keep its NUL.
 * Every format also goes into a buffer of a random size, allocated exactly: -ENOSPC or a
 * NUL-terminated string that fits, never a byte past it (ASan).
 */
#include <stddef.h>

#include "weft.h"
#include "fuzz_common.h"

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

static int format_exact(const weft_sockaddr *a, char *out, size_t len)
{
	char *buf = malloc(len ? len : 1);
	int r = weft_addr_format(a, len ? buf : out, len);

	if (len && r >= 0) {
		/* An abstract name keeps its NUL bytes: the count, not strlen, is its length. */
		FUZZ_CHECK((size_t)r < len && !buf[r], "format overran");
		memcpy(out, buf, (size_t)r + 1);
	}
	free(buf);
	return r;
}

static void from_string(struct fuzz_in *in)
{
	char str[160], text[WEFT_ADDR_STRLEN], again[WEFT_ADDR_STRLEN];
	weft_sockaddr a, b;
	size_t n = in->n < sizeof(str) - 1 ? in->n : sizeof(str) - 1;
	int r;

	memcpy(str, in->p, n);
	str[n] = 0;
	if (weft_addr_parse(&a, str))
		return;
	r = weft_addr_format(&a, text, sizeof(text));
	FUZZ_CHECK(r >= 0 && strlen(text) == (size_t)r, "\"%s\" parsed, but format says %d", str,
		   r);
	FUZZ_CHECK(weft_addr_parse(&b, text) == 0, "\"%s\" formats as \"%s\", which fails to parse",
		   str, text);
	FUZZ_CHECK(a.len == b.len && !memcmp(&a.ss, &b.ss, a.len),
		   "\"%s\" -> \"%s\" -> another address", str, text);
	FUZZ_CHECK(weft_addr_format(&b, again, sizeof(again)) == r && !strcmp(text, again),
		   "\"%s\" formats as \"%s\" then \"%s\"", str, text, again);
	r = format_exact(&a, again, fuzz_byte(in) % (WEFT_ADDR_STRLEN + 1));
	FUZZ_CHECK(r == -ENOSPC || !strcmp(again, text), "short buffer: %d", r);
}

/* The addresses whose format is documented not to parse back. */
static bool unparsable(const weft_sockaddr *a)
{
	size_t n = a->len > SUN_OFF ? a->len - SUN_OFF : 0;
	const char *p = a->un.sun_path;

	if (a->sa.sa_family != AF_UNIX)
		return false;
	if (!n || (!p[0] && (n == 1 || memchr(p + 1, 0, n - 1))))
		return true; /* unnamed, or abstract and empty or with NULs */
	return p[0] && strnlen(p, n) >= sizeof(a->un.sun_path);
}

static void from_raw(struct fuzz_in *in)
{
	static const int families[] = {AF_INET, AF_INET6, AF_UNIX, AF_UNSPEC};
	char text[WEFT_ADDR_STRLEN], again[WEFT_ADDR_STRLEN];
	weft_sockaddr a, b;
	uint8_t sel = fuzz_byte(in);
	int r;

	memset(&a, 0, sizeof(a));
	for (size_t i = 0; i < sizeof(a.ss) && in->n; i++)
		((uint8_t *)&a.ss)[i] = fuzz_byte(in);
	a.sa.sa_family = (sa_family_t)families[sel & 3];
	a.len = (socklen_t)(fuzz_byte(in) % (sizeof(a.un) + 2));
	if (sel & 4) /* the length the family wants */
		a.len = a.sa.sa_family == AF_INET    ? sizeof(a.in)
			: a.sa.sa_family == AF_INET6 ? sizeof(a.in6)
						     : a.len;
	r = format_exact(&a, text, sizeof(text));
	if (r < 0 || unparsable(&a))
		return;
	FUZZ_CHECK(weft_addr_parse(&b, text) == 0, "raw address formats as \"%s\": no parse", text);
	FUZZ_CHECK(weft_addr_format(&b, again, sizeof(again)) == r && !strcmp(text, again),
		   "\"%s\" parses, then formats as \"%s\"", text, again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};

	if (fuzz_byte(&in) & 1)
		from_raw(&in);
	else
		from_string(&in);
	return 0;
}

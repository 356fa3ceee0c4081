/* SPDX-License-Identifier: MIT */
/* Connecting by name, and reconnecting with exponential backoff and jitter. */
#include <errno.h>

#include "weft/scope.h"
#include "weft/time.h"
#include "sock.h"

#define CONNECT_MAX_ADDRS 8
#define RETRY_INITIAL	  (100 * WEFT_MSEC)
#define RETRY_MAX	  (10 * WEFT_SEC)

int weft_tcp_connect_host(weft_sock **sockp, const char *host, uint16_t port)
{
	weft_sockaddr addrs[CONNECT_MAX_ADDRS];
	int n, r = -EINVAL;

	if (!sockp)
		return -EINVAL;
	n = weft_addr_resolve(host, port, AF_UNSPEC, addrs, CONNECT_MAX_ADDRS);
	if (n < 0)
		return n;
	/* In the resolver's order (RFC 6724), stopping early only for our own cancellation. */
	for (int i = 0; i < n; i++) {
		r = weft_tcp_connect(sockp, &addrs[i]);
		if (!r || weft_checkpoint())
			break;
	}
	return r;
}

/* xorshift64*, seeded per thread: jitter needs spread, not secrecy. */
static uint64_t rand64(void)
{
	static __thread uint64_t s;

	if (!s)
		s = (uint64_t)weft_now() ^ (uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
	s ^= s >> 12;
	s ^= s << 25;
	s ^= s >> 27;
	return s * 0x2545f4914f6cdd1dull;
}

/* "Equal jitter": half the delay fixed, half random, so retries spread but still back off. */
static int64_t jitter(int64_t delay)
{
	int64_t half = delay / 2;

	return half + (int64_t)(rand64() % (uint64_t)(delay - half + 1));
}

/* One attempt, bounded by @attempt_ns if given. */
static int attempt(weft_sock **sockp, const char *host, uint16_t port, int64_t attempt_ns)
{
	weft_scope sc;
	int r;

	if (!attempt_ns)
		return weft_tcp_connect_host(sockp, host, port);
	r = weft_scope_enter(&sc, weft__deadline_after(weft_now(), attempt_ns), 0);
	if (r)
		return r;
	r = weft_tcp_connect_host(sockp, host, port);
	weft_scope_exit(&sc);
	return r;
}

static int retry_loop(weft_sock **sockp, const char *host, uint16_t port,
		      const struct weft_retry_opts *o)
{
	int64_t delay = o->initial_ns > 0 ? o->initial_ns : RETRY_INITIAL;
	int64_t max = o->max_ns > 0 ? o->max_ns : RETRY_MAX;

	for (unsigned n = 1;; n++) {
		int r = attempt(sockp, host, port, o->attempt_ns);
		int64_t d;

		if (!r || r == -EINVAL)
			return r;
		/* Our own cancellation or deadline ends the loop; a timed-out attempt does not. */
		if (weft_checkpoint())
			return weft_checkpoint();
		if (o->max_tries && n >= o->max_tries)
			return r;
		d = jitter(delay);
		if (o->on_retry)
			o->on_retry(o->arg, n, r, d);
		r = weft_sleep(d);
		if (r)
			return r;
		delay = delay > max / 2 ? max : delay * 2;
	}
}

int weft_tcp_connect_retry(weft_sock **sockp, const char *host, uint16_t port,
			   const struct weft_retry_opts *opts)
{
	static const struct weft_retry_opts defaults;
	weft_scope sc;
	int r, exit;

	if (!sockp || !host || weft__reserved_bad(opts))
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (opts->initial_ns < 0 || opts->max_ns < 0 || opts->attempt_ns < 0)
		return -EINVAL;
	if (!opts->deadline)
		return retry_loop(sockp, host, port, opts);
	r = weft_scope_enter(&sc, opts->deadline, 0);
	if (r)
		return r;
	r = retry_loop(sockp, host, port, opts);
	exit = weft_scope_exit(&sc);
	return r == 0 || exit == 0 ? r : exit;
}

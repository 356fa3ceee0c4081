/* SPDX-License-Identifier: MIT */
/* Socket addresses: parsing, formatting and name resolution (weft_addr_*). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/executor.h"
#include "weft/scope.h"
#include "weft/sync.h"
#include "weft/task.h"
#include "sock.h"

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

/* A decimal port "0".."65535" occupying all of [s, end). */
static int parse_port(const char *s, const char *end)
{
	unsigned long v = 0;

	if (s == end || end - s > 5)
		return -EINVAL;
	for (; s < end; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	return v <= 65535 ? (int)v : -EINVAL;
}

/* "fe80::1%eth0" or "fe80::1%2": the address, then its zone as a number or interface name. */
static int parse_ip6(struct sockaddr_in6 *in6, const char *ip, size_t len)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	char *zone;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, ip, len);
	buf[len] = 0;
	zone = strchr(buf, '%');
	if (zone)
		*zone++ = 0;
	if (inet_pton(AF_INET6, buf, &in6->sin6_addr) != 1)
		return -EINVAL;
	if (zone) {
		char *end;
		unsigned long id = strtoul(zone, &end, 10);

		if (!*zone || *end)
			id = if_nametoindex(zone);
		if (!id || id > UINT32_MAX)
			return -EINVAL;
		in6->sin6_scope_id = (uint32_t)id;
	}
	return 0;
}

/* A numeric IPv4 or IPv6 address of @len bytes at @ip (not NUL-terminated). */
static int set_ip(weft_sockaddr *addr, const char *ip, size_t len, uint16_t port)
{
	char buf[INET_ADDRSTRLEN];

	memset(addr, 0, sizeof(*addr));
	if (len < sizeof(buf) && !memchr(ip, ':', len)) {
		memcpy(buf, ip, len);
		buf[len] = 0;
		if (inet_pton(AF_INET, buf, &addr->in.sin_addr) != 1)
			return -EINVAL;
		addr->in.sin_family = AF_INET;
		addr->in.sin_port = htons(port);
		addr->len = sizeof(addr->in);
		return 0;
	}
	if (parse_ip6(&addr->in6, ip, len))
		return -EINVAL;
	addr->in6.sin6_family = AF_INET6;
	addr->in6.sin6_port = htons(port);
	addr->len = sizeof(addr->in6);
	return 0;
}

int weft_addr_inet(weft_sockaddr *addr, const char *ip, uint16_t port)
{
	if (!addr)
		return -EINVAL;
	if (!ip || !*ip)
		ip = "0.0.0.0";
	return set_ip(addr, ip, strlen(ip), port);
}

/* A Unix address: the filesystem path @path, or with @abstract the name after its '@'. */
static int set_unix(weft_sockaddr *addr, const char *path, bool abstract)
{
	size_t n = strlen(path);

	/* A path needs its NUL; an abstract name's '@' becomes the leading NUL, none at the end
	 * (so it may fill sun_path). */
	if (!n || n + !abstract > sizeof(addr->un.sun_path) || (abstract && n == 1))
		return -EINVAL;
	memset(addr, 0, sizeof(*addr));
	addr->un.sun_family = AF_UNIX;
	memcpy(addr->un.sun_path, path, n);
	if (abstract) {
		addr->un.sun_path[0] = 0;
		addr->len = (socklen_t)(SUN_OFF + n);
	} else {
		addr->len = (socklen_t)(SUN_OFF + n + 1);
	}
	return 0;
}

int weft_addr_unix(weft_sockaddr *addr, const char *path)
{
	if (!addr || !path)
		return -EINVAL;
	return set_unix(addr, path, *path == '@');
}

int weft_addr_parse(weft_sockaddr *addr, const char *str)
{
	const char *colon, *host, *host_end;
	int port;

	if (!addr || !str)
		return -EINVAL;
	if (*str == '/' || *str == '.' || *str == '@')
		return weft_addr_unix(addr, str);
	if (!strncmp(str, "unix:", 5)) /* a path as it is, even one starting with '@' */
		return set_unix(addr, str + 5, false);
	if (*str == '[') {
		host = str + 1;
		host_end = strchr(host, ']');
		if (!host_end || host_end[1] != ':')
			return -EINVAL;
		colon = host_end + 1;
	} else {
		colon = strrchr(str, ':');
		if (!colon || memchr(str, ':', (size_t)(colon - str)))
			return -EINVAL; /* none, or an IPv6 address without brackets */
		host = str;
		host_end = colon;
	}
	port = parse_port(colon + 1, colon + 1 + strlen(colon + 1));
	if (port < 0 || host == host_end)
		return -EINVAL;
	if (set_ip(addr, host, (size_t)(host_end - host), (uint16_t)port))
		return -EINVAL;
	/* "[1.2.3.4]:80" is not a thing; "1.2.3.4" must not come in brackets, IPv6 must. */
	if ((*str == '[') != (addr->sa.sa_family == AF_INET6))
		return -EINVAL;
	return 0;
}

int weft_addr_port(const weft_sockaddr *addr)
{
	if (!addr)
		return -EINVAL;
	if (addr->sa.sa_family == AF_INET)
		return ntohs(addr->in.sin_port);
	if (addr->sa.sa_family == AF_INET6)
		return ntohs(addr->in6.sin6_port);
	return -EINVAL;
}

static int format_unix(const weft_sockaddr *addr, char *buf, size_t len)
{
	size_t n = addr->len > SUN_OFF ? addr->len - SUN_OFF : 0;
	const char *p = addr->un.sun_path, *pre;

	if (n > sizeof(addr->un.sun_path))
		return -EINVAL;
	if (n && !p[0]) { /* abstract: '@' for the leading NUL, every byte of the name kept */
		if (len < n + 1)
			return -ENOSPC;
		buf[0] = '@';
		memcpy(buf + 1, p + 1, n - 1);
		buf[n] = 0;
		return (int)n;
	}
	n = strnlen(p, n);
	/* "/a" and "./a" parse back as they are; "a" or "@a" (a file) only after "unix:". */
	pre = n && p[0] != '/' && p[0] != '.' ? "unix:" : "";
	if (len < strlen(pre) + n + 1)
		return -ENOSPC;
	return snprintf(buf, len, "%s%.*s", pre, (int)n, p);
}

int weft_addr_format(const weft_sockaddr *addr, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (!addr || !buf)
		return -EINVAL;
	switch (addr->sa.sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &addr->in.sin_addr, ip, sizeof(ip));
		n = snprintf(buf, len, "%s:%u", ip, ntohs(addr->in.sin_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &addr->in6.sin6_addr, ip, sizeof(ip));
		if (addr->in6.sin6_scope_id)
			n = snprintf(buf, len, "[%s%%%u]:%u", ip, addr->in6.sin6_scope_id,
				     ntohs(addr->in6.sin6_port));
		else
			n = snprintf(buf, len, "[%s]:%u", ip, ntohs(addr->in6.sin6_port));
		break;
	case AF_UNIX:
		return format_unix(addr, buf, len);
	default:
		return -EINVAL;
	}
	return (size_t)n < len ? n : -ENOSPC;
}

bool weft__addr_valid(const weft_sockaddr *addr)
{
	if (!addr)
		return false;
	switch (addr->sa.sa_family) {
	case AF_INET:
		return addr->len == sizeof(addr->in);
	case AF_INET6:
		return addr->len == sizeof(addr->in6);
	case AF_UNIX:
		return addr->len > SUN_OFF && addr->len <= sizeof(addr->un);
	}
	return false;
}

/* ---- resolving names ------------------------------------------------------------------- */

/* getaddrinfo, through a pointer a white-box test can point at a slow stand-in. */
int (*weft__getaddrinfo)(const char *, const char *, const struct addrinfo *,
			 struct addrinfo **) = getaddrinfo;

struct resolve_job {
	const char *host;
	uint16_t port;
	int family;
	weft_sockaddr *addrs;
	size_t max;
};

static int eai_errno(int eai)
{
	switch (eai) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_FAMILY:
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return -EAFNOSUPPORT;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	}
	return -EIO;
}

/* On a pool thread (or the caller's, from plain code): getaddrinfo, then copy what fits. */
static int resolve_run(void *arg)
{
	struct resolve_job *j = arg;
	struct addrinfo hints = {.ai_family = j->family, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	int n = 0, r;

	r = weft__getaddrinfo(j->host, NULL, &hints, &res);
	if (r)
		return eai_errno(r);
	for (ai = res; ai && (size_t)n < j->max; ai = ai->ai_next) {
		weft_sockaddr *a = &j->addrs[n];

		if (ai->ai_addrlen > sizeof(a->ss))
			continue;
		memset(a, 0, sizeof(*a));
		memcpy(&a->ss, ai->ai_addr, ai->ai_addrlen);
		a->len = ai->ai_addrlen;
		if (a->sa.sa_family == AF_INET)
			a->in.sin_port = htons(j->port);
		else if (a->sa.sa_family == AF_INET6)
			a->in6.sin6_port = htons(j->port);
		else
			continue;
		n++;
	}
	freeaddrinfo(res);
	return n ? n : -EAFNOSUPPORT;
}

/*
 * A lookup the caller may walk away from. getaddrinfo cannot be interrupted, so a caller whose
 * deadline passes must be able to return while the pool thread still works on the lookup. The
 * lookup therefore runs in a helper fiber of its own that owns this record (a copy of the host,
 * its own result array) and waits for the pool job shielded; the caller waits for the helper's
 * end with its scopes in force. Whoever of the two comes last frees the record: the helper's
 * done hook (which also runs if the helper was cancelled before it started, at loop close) or
 * the caller. Both run on the loop's thread, so plain flags decide.
 */
struct lookup {
	struct resolve_job job;
	int result;	/* the job's, or -ECANCELED if it never ran */
	bool finished;	/* the helper has returned */
	bool abandoned; /* the caller has returned */
	weft_event *done;
};

static void lookup_free(struct lookup *lk)
{
	weft_event_free(lk->done);
	weft__free((void *)lk->job.host, strlen(lk->job.host) + 1);
	weft__delete_array(lk->job.addrs, lk->job.max);
	weft__delete(lk);
}

static struct lookup *lookup_new(const char *host, uint16_t port, int family, size_t max)
{
	struct lookup *lk = weft__new(struct lookup);
	size_t len = strlen(host) + 1;
	char *h;

	if (!lk)
		return NULL;
	h = weft__alloc(len);
	lk->job = (struct resolve_job){h, port, family, weft__new_array(weft_sockaddr, max), max};
	lk->result = -ECANCELED;
	if (!h || !lk->job.addrs || weft_event_new(NULL, &lk->done)) {
		weft__free(h, len);
		weft__delete_array(lk->job.addrs, max);
		weft__delete(lk);
		return NULL;
	}
	memcpy(h, host, len);
	return lk;
}

static int lookup_main(void *arg)
{
	struct lookup *lk = arg;
	weft_scope shield;
	int n, r = weft_scope_enter(&shield, WEFT_FOREVER, WEFT_SCOPE_SHIELD);

	if (!r) {
		r = weft_executor_default_run(resolve_run, &lk->job, &n);
		weft_scope_exit(&shield);
	}
	lk->result = r ? r : n;
	return 0;
}

static void lookup_done(weft_task *t, void *arg)
{
	struct lookup *lk = arg;

	lk->finished = true;
	if (lk->abandoned)
		lookup_free(lk);
	else
		weft_event_set(lk->done);
}

/* Start the helper; 0, or an error with nothing left behind. */
static int lookup_start(struct lookup *lk)
{
	struct weft_task_opts opts = {.name = "resolve"};
	weft_task *t;
	int r = weft_task_spawn(&t, lookup_main, lk, &opts);

	if (r)
		return r;
	r = weft_task_on_done(t, lookup_done, lk);
	if (r) { /* no hook: it must not run at all */
		weft_task_cancel(t);
		weft_task_join(t, NULL);
		return r;
	}
	return weft_task_detach(t);
}

static int lookup_wait(struct lookup *lk, weft_sockaddr *addrs)
{
	int r = weft_event_wait(lk->done);

	if (!lk->finished) {
		lk->abandoned = true; /* the helper's hook frees it */
		return r;
	}
	/* Finished, perhaps racing our deadline: the answer is here, use it. */
	r = lk->result;
	if (r > 0)
		memcpy(addrs, lk->job.addrs, sizeof(*addrs) * (size_t)r);
	lookup_free(lk);
	return r;
}

int weft_addr_resolve(const char *host, uint16_t port, int family, weft_sockaddr *addrs, size_t max)
{
	struct resolve_job job = {host, port, family, addrs, max};
	struct lookup *lk;
	int r;

	if (!host || !*host || !addrs || !max ||
	    (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
		return -EINVAL;
	/* A numeric address needs no lookup (and no thread). */
	if (weft_addr_inet(&addrs[0], host, port) == 0) {
		if (family != AF_UNSPEC && addrs[0].sa.sa_family != family)
			return -EAFNOSUPPORT;
		return 1;
	}
	if (!weft_task_current())
		return resolve_run(&job); /* plain code: block this thread, as getaddrinfo does */
	r = weft_checkpoint();
	if (r)
		return r;
	lk = lookup_new(host, port, family, max);
	if (!lk)
		return -ENOMEM;
	r = lookup_start(lk);
	if (r) {
		lookup_free(lk);
		return r;
	}
	return lookup_wait(lk, addrs);
}

/*
 * A tiny HTTP/1.0 client and server on weft sockets and streams, for the aiohttp examples
 * (000_aiohttp_client.c, 000_aiohttp_web_server.c). Enough HTTP to show the shape - GET only,
 * one request per connection, the body ends at EOF - not a library.
 */
#ifndef WEFT_EXAMPLES_NET_HTTP_H
#define WEFT_EXAMPLES_NET_HTTP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <weft.h>
#include <weft/net.h>

#define HTTP_LINE_MAX 1024

/* Copy @src into @dst of @len bytes, cut short if it must be. */
static inline void http_copy(char *dst, size_t len, const char *src, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/*
 * http_request - GET @path over connected stream @st (plain or TLS), naming the site @vhost in
 * the Host header, body into @body (NUL-terminated, truncated to @len - 1). Returns the status
 * code, or a negative errno.
 */
static inline int http_request(weft_stream *st, const char *vhost, const char *path, char *body,
			       size_t len)
{
	char line[HTTP_LINE_MAX];
	size_t got = 0;
	int status = -EPROTO, err = 0;
	ssize_t n;

	n = snprintf(line, sizeof(line), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, vhost);
	if ((n = weft_stream_write(st, line, (size_t)n)) < 0)
		err = (int)n;
	/* Status line "HTTP/1.0 200 OK", headers up to an empty line, then the body up to EOF. */
	if (!err && (n = weft_stream_read_line(st, line, sizeof(line) - 1, 0)) > 0) {
		line[n] = 0;
		if (sscanf(line, "HTTP/%*d.%*d %d", &status) != 1)
			status = -EPROTO;
	}
	while (!err && (n = weft_stream_read_line(st, line, sizeof(line), 0)) > 2)
		;
	if (!err && n < 0)
		err = (int)n;
	if (!err) {
		err = weft_stream_read_exactly(st, body, len - 1, &got);
		if (err == -ENODATA) /* the body ended before filling @body: the usual case */
			err = 0;
	}
	body[got] = 0;
	return err ? err : status;
}

/*
 * http_get - GET @path from @host:@port, naming the site @vhost in the Host header (NULL: @host),
 * body into @body (NUL-terminated, truncated to @len - 1). Returns the status code, or a
 * negative errno.
 */
static inline int http_get(const char *host, uint16_t port, const char *vhost, const char *path,
			   char *body, size_t len)
{
	weft_sock *sock;
	weft_stream *st;
	int err = weft_tcp_connect_host(&sock, host, port);

	if (err)
		return err;
	err = weft_sock_stream(sock, NULL, &st);
	if (!err)
		err = http_request(st, vhost ? vhost : host, path, body, len);
	weft_sock_close(sock);
	return err;
}

/*
 * http_read_request - read a request's line and headers from @st: the target ("/?name=x") into
 * @target, the Host header into @host ("" without one). Returns 0, -EPROTO for a malformed
 * request, -ENOTSUP for a method other than GET, or the stream's error.
 */
static inline int http_read_request(weft_stream *st, char *target, size_t tlen, char *host,
				    size_t hlen)
{
	char line[HTTP_LINE_MAX], method[8];
	ssize_t n = weft_stream_read_line(st, line, sizeof(line) - 1, 0);

	if (n <= 0)
		return n ? (int)n : -EPROTO;
	line[n] = 0;
	if (sscanf(line, "%7s %1023s", method, line) != 2)
		return -EPROTO;
	http_copy(target, tlen, line, strlen(line));
	host[0] = 0;
	while ((n = weft_stream_read_line(st, line, sizeof(line) - 1, 0)) > 2) {
		line[n - 2] = 0; /* the CRLF */
		if (!strncasecmp(line, "Host: ", 6))
			http_copy(host, hlen, line + 6, strlen(line + 6));
	}
	if (n < 0)
		return (int)n;
	return strcmp(method, "GET") ? -ENOTSUP : 0;
}

/* http_respond - a whole response with a text body; then the connection is done. */
static inline int http_respond(weft_stream *st, int status, const char *text)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.0 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 status, status == 200 ? "OK" : "Error", strlen(text));
	struct iovec iov[2] = {{head, (size_t)n}, {(void *)text, strlen(text)}};
	ssize_t r = weft_stream_writev(st, iov, 2);

	return r < 0 ? (int)r : 0;
}

/* The value of query parameter @key in @target ("/?name=x&y=z"), copied to @out (or @dflt). */
static inline const char *http_query(const char *target, const char *key, char *out, size_t len,
				     const char *dflt)
{
	const char *q = strchr(target, '?');
	size_t klen = strlen(key);

	while (q && *q) {
		q++;
		if (!strncmp(q, key, klen) && q[klen] == '=') {
			http_copy(out, len, q + klen + 1, strcspn(q + klen + 1, "&"));
			return out;
		}
		q = strchr(q, '&');
	}
	return dflt;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * perf/http/proto.h - the HTTP/1.1 request handling of perf/http_server, with no sockets: request
 * bytes go in, response bytes (and the files to send after them) come out. The server feeds it
 * what each receive returned; tests/fuzz/fuzz_http.c feeds it whatever the fuzzer makes.
 *
 * Requests are parsed by llhttp (Debian ships its C sources in node-llhttp), incrementally, so a
 * request may arrive in any number of pieces and many may arrive in one (pipelining); nothing is
 * copied but the path. Routes: "/" answers a fixed "hello\n"; any other path is a file under the
 * site's root directory (404 if there is none; GET and HEAD only). A malformed request gets 400
 * and the connection is closed; a request line plus headers over HTTP_HEAD_MAX bytes gets 431.
 * Bodies (Content-Length or chunked) are read and dropped.
 *
 * Not thread-safe per connection (one fiber drives one struct http_conn); different
 * connections may run on different threads.
 */
#ifndef WEFT_PERF_HTTP_PROTO_H
#define WEFT_PERF_HTTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include <llhttp.h>

#define HTTP_HEAD_MAX 8192  /* request line + header lines; more is 431 (nginx allows 8 KiB) */
#define HTTP_OUT_CAP  16384 /* responses gathered before they are sent */
#define HTTP_RESP_MAX 512   /* room one response head needs in out[] */

/* What a connection serves: @root_fd is the file route's directory (O_PATH is enough), or -1. */
struct http_site {
	int root_fd;
};

/* What the caller does after http_conn_feed() returns. */
enum http_step {
	HTTP_STEP_MORE,	 /* all the input was taken: send out[] (if any), then receive more */
	HTTP_STEP_FLUSH, /* out[] is full: send it, then feed the rest of the input */
	HTTP_STEP_FILE, /* send out[], then file_size bytes of file_fd and close it; feed the rest */
	HTTP_STEP_CLOSE, /* send out[], then close the connection (error, or the client asked) */
};

/* One connection's parsing state and pending output. */
struct http_conn {
	llhttp_t parser; /* first: the callbacks get back to the connection from it */
	const struct http_site *site;
	enum http_step step;	  /* what the last request asks of the caller */
	const char *head_from;	  /* where the current head starts in the current input */
	size_t head_len;	  /* head bytes of the current request in earlier inputs */
	bool in_head, too_big;	  /* inside a request line / headers; they went over the limit */
	bool closing;		  /* the last request asked to close: take no more input */
	int file_fd;		  /* the file a HTTP_STEP_FILE step sends (-1: none) */
	size_t file_size;	  /* its length */
	size_t path_len;	  /* the request's path, without the query */
	bool in_query;		  /* past a '?' in the URL */
	char path[HTTP_HEAD_MAX]; /* not NUL-terminated until the headers are complete */
	size_t out_len;
	char out[HTTP_OUT_CAP]; /* responses ready to send */
};

/* http_conn_init - a fresh connection serving @site (which must outlive it). */
void http_conn_init(struct http_conn *c, const struct http_site *site);

/*
 * http_conn_feed - parse up to @len bytes of @buf, appending each complete request's response to
 * c->out. Returns how many bytes were taken, and in *@step what to do next (see enum http_step):
 * once that is done, feed the bytes not taken (even none: after a file it may say HTTP_STEP_CLOSE).
 */
size_t http_conn_feed(struct http_conn *c, const char *buf, size_t len, enum http_step *step);

/* http_conn_done - release what the connection holds (a file not sent). */
void http_conn_done(struct http_conn *c);

#endif

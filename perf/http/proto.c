/* SPDX-License-Identifier: MIT */
/* perf/http/proto.c - request parsing and responses for perf/http_server (see proto.h). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define DATE_LEN 29 /* "Sun, 06 Dec 2026 18:12:44 GMT" */

static struct http_conn *conn_of(llhttp_t *p)
{
	return (struct http_conn *)p; /* the parser is the connection's first member */
}

/* ---- dates: the Date header changes once a second, so each thread formats it once ------- */

static void http_date_format(char out[DATE_LEN + 1], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, DATE_LEN + 1, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static const char *http_date_now(void)
{
	static __thread char date[DATE_LEN + 1];
	static __thread time_t date_at = -1;
	time_t now = time(NULL);

	if (now != date_at) {
		http_date_format(date, now);
		date_at = now;
	}
	return date;
}

/* ---- responses ------------------------------------------------------------------------------ */

static void out_put(struct http_conn *c, const char *s, size_t n)
{
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
}

#define OUT_LIT(c, s) out_put((c), (s), sizeof(s) - 1)

/* The fixed answer of "/", as nginx's `return 200 "hello\n"` words it. */
static void respond_hello(struct http_conn *c, bool head, bool keep)
{
	OUT_LIT(c, "HTTP/1.1 200 OK\r\nServer: weft\r\nDate: ");
	out_put(c, http_date_now(), DATE_LEN);
	OUT_LIT(c, "\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n");
	if (keep)
		OUT_LIT(c, "Connection: keep-alive\r\n\r\n");
	else
		OUT_LIT(c, "Connection: close\r\n\r\n");
	if (!head)
		OUT_LIT(c, "hello\n");
}

/* A response with no body: 400, 404, 405, 431. */
static void respond_status(struct http_conn *c, const char *status, bool keep)
{
	c->out_len += (size_t)snprintf(c->out + c->out_len, HTTP_OUT_CAP - c->out_len,
				       "HTTP/1.1 %s\r\nServer: weft\r\nDate: %s\r\n"
				       "Content-Length: 0\r\nConnection: %s\r\n\r\n",
				       status, http_date_now(), keep ? "keep-alive" : "close");
}

/* The head nginx sends with a static file (its body follows with sendfile). */
static void respond_file_head(struct http_conn *c, const struct stat *st, bool keep)
{
	char mtime[DATE_LEN + 1];

	http_date_format(mtime, st->st_mtime);
	c->out_len += (size_t)snprintf(
	    c->out + c->out_len, HTTP_OUT_CAP - c->out_len,
	    "HTTP/1.1 200 OK\r\nServer: weft\r\nDate: %s\r\n"
	    "Content-Type: application/octet-stream\r\nContent-Length: %lld\r\n"
	    "Last-Modified: %s\r\nConnection: %s\r\nETag: \"%llx-%llx\"\r\n"
	    "Accept-Ranges: bytes\r\n\r\n",
	    http_date_now(), (long long)st->st_size, mtime, keep ? "keep-alive" : "close",
	    (unsigned long long)st->st_mtime, (unsigned long long)st->st_size);
}

/* A path the file route may open: relative to the root, no "." or ".." segment, none empty. */
static bool path_safe(const char *path)
{
	const char *seg = path;

	for (;;) {
		size_t n = strcspn(seg, "/");

		if (!n || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (!seg[n])
			return true;
		seg += n + 1;
	}
}

/* Open the file @c->path names under the site's root: its fd, or -1 (404). */
static int file_open(struct http_conn *c, struct stat *st)
{
	int fd;

	if (c->site->root_fd < 0 || !path_safe(c->path + 1))
		return -1;
	fd = openat(c->site->root_fd, c->path + 1, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The file route: the head now, the body by the caller (step HTTP_STEP_FILE) unless it is HEAD. */
static void respond_file(struct http_conn *c, bool head, bool keep)
{
	struct stat st;
	int fd;

	if (!head && llhttp_get_method(&c->parser) != HTTP_GET) {
		respond_status(c, "405 Not Allowed", keep);
		return;
	}
	fd = file_open(c, &st);
	if (fd < 0) {
		respond_status(c, "404 Not Found", keep);
		return;
	}
	respond_file_head(c, &st, keep);
	if (head || !st.st_size) {
		close(fd);
		return;
	}
	c->file_fd = fd;
	c->file_size = (size_t)st.st_size;
	c->step = HTTP_STEP_FILE;
}

/* ---- parser callbacks --------------------------------------------------------------------- */

static int on_message_begin(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);

	c->in_head = true;
	c->head_from = NULL; /* the method's first byte, when it comes */
	c->head_len = 0;
	c->path_len = 0;
	c->in_query = false;
	return 0;
}

/* Every piece of a request line or header: count the head's bytes against the limit. */
static int on_head_data(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = conn_of(p);

	if (!c->in_head)
		return 0; /* trailers of a chunked body: streamed and dropped */
	if (!c->head_from)
		c->head_from = at;
	if (c->head_len + (size_t)(at + n - c->head_from) > HTTP_HEAD_MAX) {
		c->too_big = true;
		return -1;
	}
	return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
	struct http_conn *c = conn_of(p);
	const char *q;
	size_t take;

	if (on_head_data(p, at, n))
		return -1;
	if (c->in_query)
		return 0;
	q = memchr(at, '?', n);
	take = q ? (size_t)(q - at) : n;
	c->in_query = q != NULL;
	/* The head limit bounds the URL, so this always fits; stay safe regardless. */
	if (take > sizeof(c->path) - 1 - c->path_len)
		take = sizeof(c->path) - 1 - c->path_len;
	memcpy(c->path + c->path_len, at, take);
	c->path_len += take;
	return 0;
}

static int on_headers_complete(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);

	c->in_head = false;
	c->path[c->path_len] = '\0';
	return 0;
}

/* A whole request is in (its body dropped): queue its response; pause if the caller must act. */
static int on_message_complete(llhttp_t *p)
{
	struct http_conn *c = conn_of(p);
	bool keep = llhttp_should_keep_alive(p);
	bool head = llhttp_get_method(p) == HTTP_HEAD;

	if (c->path_len == 1 && c->path[0] == '/')
		respond_hello(c, head, keep);
	else if (c->path_len && c->path[0] == '/')
		respond_file(c, head, keep);
	else
		respond_status(c, "404 Not Found", keep); /* "*", absolute-form ... */
	if (!keep) {
		c->closing = true; /* after the file, if there is one to send */
		if (c->step == HTTP_STEP_MORE)
			c->step = HTTP_STEP_CLOSE;
	} else if (c->step == HTTP_STEP_MORE && HTTP_OUT_CAP - c->out_len < HTTP_RESP_MAX)
		c->step = HTTP_STEP_FLUSH;
	return c->step == HTTP_STEP_MORE ? 0 : HPE_PAUSED;
}

static llhttp_settings_t settings;

static void settings_init(void)
{
	llhttp_settings_init(&settings);
	settings.on_message_begin = on_message_begin;
	settings.on_method = on_head_data;
	settings.on_url = on_url;
	settings.on_version = on_head_data;
	settings.on_header_field = on_head_data;
	settings.on_header_value = on_head_data;
	settings.on_headers_complete = on_headers_complete;
	settings.on_message_complete = on_message_complete;
}

/* ---- the connection ------------------------------------------------------------------------ */

void http_conn_init(struct http_conn *c, const struct http_site *site)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, settings_init);
	llhttp_init(&c->parser, HTTP_REQUEST, &settings);
	c->site = site;
	c->step = HTTP_STEP_MORE;
	c->in_head = c->too_big = c->in_query = c->closing = false;
	c->head_from = NULL;
	c->head_len = c->path_len = c->out_len = c->file_size = 0;
	c->file_fd = -1;
}

void http_conn_done(struct http_conn *c)
{
	if (c->file_fd >= 0)
		close(c->file_fd);
	c->file_fd = -1;
}

/* The head goes on past this input (@end): count what it used, 431 past the limit. */
static bool head_continues(struct http_conn *c, const char *end)
{
	if (c->head_from)
		c->head_len += (size_t)(end - c->head_from);
	c->head_from = NULL;
	return c->head_len <= HTTP_HEAD_MAX;
}

size_t http_conn_feed(struct http_conn *c, const char *buf, size_t len, enum http_step *step)
{
	enum llhttp_errno err;
	size_t used = len;

	if (c->closing) {
		*step = HTTP_STEP_CLOSE; /* nothing after a request that closed the connection */
		return 0;
	}
	c->step = HTTP_STEP_MORE;
	if (c->in_head && c->head_len)
		c->head_from = buf; /* the head began in an earlier input */
	err = llhttp_execute(&c->parser, buf, len);
	if (err == HPE_PAUSED) {
		used = (size_t)(llhttp_get_error_pos(&c->parser) - buf);
		llhttp_resume(&c->parser);
	} else if (err == HPE_PAUSED_UPGRADE) {
		c->step =
		    HTTP_STEP_CLOSE; /* answered as a plain request; no protocol switch here */
	} else if (err != HPE_OK) {
		respond_status(
		    c, c->too_big ? "431 Request Header Fields Too Large" : "400 Bad Request",
		    false);
		c->step = HTTP_STEP_CLOSE;
	} else if (c->in_head && !head_continues(c, buf + len)) {
		respond_status(c, "431 Request Header Fields Too Large", false);
		c->step = HTTP_STEP_CLOSE;
	}
	if (c->step == HTTP_STEP_CLOSE)
		c->closing = true;
	*step = c->step;
	return used;
}

/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_http.c - libFuzzer target for perf/http_server's request handling
 * (perf/http/proto.c over llhttp), without sockets: the input is split into the pieces a server
 * would receive (the first byte chooses their size, so the parser's resumption across inputs is
 * fuzzed too), fed to one connection, and each step is checked as the server would act on it:
 * output within its buffer and made of whole responses, progress on every step, every file
 * opened inside the served directory and closed, nothing taken after a close.
 *
 * Build and run: make fuzz-http (FUZZ_SECS=60); seeds in tests/fuzz/corpus/http.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "perf/http/proto.h"

static struct http_site site = {.root_fd = -1};
static struct http_conn conn;
static char dir[] = "/tmp/weft-fuzz-http.XXXXXX";

static void remove_dir(void)
{
	unlinkat(site.root_fd, "a.txt", 0);
	unlinkat(site.root_fd, "d", AT_REMOVEDIR);
	rmdir(dir);
}

/* A directory with one file and one subdirectory, so the file route has something to find. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		abort();
	site.root_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	fd = openat(site.root_fd, "a.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (site.root_fd < 0 || fd < 0 || write(fd, "0123456789", 10) != 10 ||
	    mkdirat(site.root_fd, "d", 0755))
		abort();
	close(fd);
	atexit(remove_dir);
	return 0;
}

/* The output must be whole responses: each one's head starts with the status line. */
static void check_out(const struct http_conn *c)
{
	assert(c->out_len <= HTTP_OUT_CAP);
	assert(c->out_len == 0 || memcmp(c->out, "HTTP/1.1 ", 9) == 0);
}

/* Act on one step as perf/http_server does. false: the connection is closed. */
static bool take_step(struct http_conn *c, enum http_step step, size_t used, size_t len)
{
	struct stat st;

	check_out(c);
	assert(used <= len);
	switch (step) {
	case HTTP_STEP_MORE:
		assert(used == len); /* MORE means every byte was taken */
		break;
	case HTTP_STEP_FLUSH:
		assert(c->out_len > 0); /* progress: something to send */
		break;
	case HTTP_STEP_FILE:
		assert(c->file_fd >= 0 && fstat(c->file_fd, &st) == 0);
		assert(S_ISREG(st.st_mode) && (size_t)st.st_size == c->file_size);
		close(c->file_fd);
		c->file_fd = -1;
		break;
	case HTTP_STEP_CLOSE:
		assert(c->file_fd < 0);
		return false;
	}
	c->out_len = 0;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t piece, off = 0;
	bool open = true;

	if (!size)
		return 0;
	piece = (size_t)data[0] % 64 ? (size_t)data[0] % 64 : size; /* 0: all at once */
	data++;
	size--;
	http_conn_init(&conn, &site);
	while (open && off < size) {
		size_t len = size - off < piece ? size - off : piece, got = 0;
		enum http_step step;

		do {
			size_t used =
			    http_conn_feed(&conn, (const char *)data + off + got, len - got, &step);
			got += used;
			open = take_step(&conn, step, used, len - (got - used));
		} while (open && step != HTTP_STEP_MORE);
		off += len;
	}
	if (!open) {
		/* Closed: the connection takes nothing more. */
		enum http_step step;
		assert(http_conn_feed(&conn, "GET / HTTP/1.1\r\n\r\n", 18, &step) == 0);
		assert(step == HTTP_STEP_CLOSE);
	}
	http_conn_done(&conn);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * serial_miniterm - the miniterm a user reaches for first: open a port with the given settings,
 * print what arrives (raw, or cut into frames) as text or hex, send the lines typed on stdin.
 *
 *   serial_miniterm [-b BAUD] [-c 8N1] [-f none|rtscts|xonxoff] [-x] [-H]
 *                   [-F raw|line|crlf|len1|len2le|len2be|len4le|len4be|tagged]
 *                   [-e lf|cr|crlf|none] [-n FRAMES] [-w MS] PORT
 *   serial_miniterm            (no PORT: self-test against a simulated device on a pty)
 *
 *   -b  baud rate, any value (default 115200)     -c  data bits, parity N/E/O/M/S, stop bits
 *   -f  flow control                              -x  exclusive access (TIOCEXCL)
 *   -H  print frames in hex                       -F  framing of what arrives (default raw)
 *   -e  line ending sent after each stdin line    -n  exit after this many frames
 *   -w  after stdin ends, keep printing for MS milliseconds (default 500)
 *
 * Everything runs on one weft loop: a fiber reads the port, another reads stdin - both through
 * the ring (stdin is reopened through /proc/self/fd/0 so that making it non-blocking does not
 * touch the shell's terminal) - and exits when the device goes away (-EIO).
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "weft/serial.h"

struct term {
	/* settings */
	const char *path;
	struct weft_serial_config cfg;
	struct weft_frame_spec spec;
	bool framed, hex;
	const char *eol;
	long max_frames;
	int64_t linger;
	int in_fd;  /* what "stdin" is: fd 0 reopened, or a pipe in the self-test */
	int dev_fd; /* self-test: the pty master the simulated device drives */
	FILE *out;
	/* state */
	weft_serial *port;
	long frames;
};

/* ---- command line ---------------------------------------------------------------------------- */

static int parse_format(const char *s, struct weft_serial_config *c)
{
	static const char parities[] = "NEOMS";
	const char *p;

	if (strlen(s) != 3 || s[0] < '5' || s[0] > '8' || !(p = strchr(parities, s[1])) ||
	    (s[2] != '1' && s[2] != '2'))
		return -1;
	c->data_bits = (uint8_t)(s[0] - '0');
	c->parity = (uint8_t)(p - parities); /* the enum's order: none, even, odd, mark, space */
	c->stop_bits = (uint8_t)(s[2] - '0');
	return 0;
}

static int parse_flow(const char *s, struct weft_serial_config *c)
{
	static const char *const names[] = {"none", "rtscts", "xonxoff"};

	for (unsigned i = 0; i < 3; i++)
		if (!strcmp(s, names[i]))
			return c->flow = (uint8_t)i, 0;
	return -1;
}

static int parse_framing(const char *s, struct term *t)
{
	static const struct {
		const char *name;
		struct weft_frame_spec spec;
	} kinds[] = {
	    {"line", {.kind = WEFT_FRAME_DELIM, .delim = "\n", .delim_len = 1}},
	    {"crlf", {.kind = WEFT_FRAME_DELIM, .delim = "\r\n", .delim_len = 2}},
	    {"len1", {.kind = WEFT_FRAME_LENGTH, .len_size = 1}},
	    {"len2le", {.kind = WEFT_FRAME_LENGTH, .len_size = 2}},
	    {"len2be", {.kind = WEFT_FRAME_LENGTH, .len_size = 2, .flags = WEFT_FRAME_BIG_ENDIAN}},
	    {"len4le", {.kind = WEFT_FRAME_LENGTH, .len_size = 4}},
	    {"len4be", {.kind = WEFT_FRAME_LENGTH, .len_size = 4, .flags = WEFT_FRAME_BIG_ENDIAN}},
	    {"tagged", {.kind = WEFT_FRAME_TAGGED, .flags = WEFT_FRAME_REPORT_SKIPPED}},
	};

	t->framed = strcmp(s, "raw") != 0;
	for (size_t i = 0; t->framed && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(s, kinds[i].name))
			return t->spec = kinds[i].spec, 0;
	return t->framed ? -1 : 0;
}

static int parse_eol(const char *s, struct term *t)
{
	static const char *const names[][2] = {
	    {"lf", "\n"}, {"cr", "\r"}, {"crlf", "\r\n"}, {"none", ""}};

	for (size_t i = 0; i < 4; i++)
		if (!strcmp(s, names[i][0]))
			return t->eol = names[i][1], 0;
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: serial_miniterm [-b BAUD] [-c 8N1] [-f none|rtscts|xonxoff] [-x] "
			"[-H] [-F FRAMING] [-e lf|cr|crlf|none] [-n FRAMES] [-w MS] PORT\n"
			"       serial_miniterm   (self-test)\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct term *t)
{
	int c, bad = 0;

	while ((c = getopt(argc, argv, "b:c:f:xHF:e:n:w:h")) != -1) {
		switch (c) {
		case 'b':
			t->cfg.baud = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			bad |= parse_format(optarg, &t->cfg);
			break;
		case 'f':
			bad |= parse_flow(optarg, &t->cfg);
			break;
		case 'x':
			t->cfg.flags |= WEFT_SERIAL_EXCLUSIVE;
			break;
		case 'H':
			t->hex = true;
			break;
		case 'F':
			bad |= parse_framing(optarg, t);
			break;
		case 'e':
			bad |= parse_eol(optarg, t);
			break;
		case 'n':
			t->max_frames = atol(optarg);
			break;
		case 'w':
			t->linger = atol(optarg) * WEFT_MSEC;
			break;
		default:
			usage();
		}
	}
	if (bad || optind != argc - 1)
		usage();
	t->path = argv[optind];
}

/* ---- the terminal ---------------------------------------------------------------------------- */

static void print_bytes(struct term *t, const char *prefix, const uint8_t *p, size_t n)
{
	fputs(prefix, t->out);
	for (size_t i = 0; i < n; i++) {
		if (t->hex)
			fprintf(t->out, "%s%02x", i ? " " : "", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], t->out);
		else if (p[i] == '\n' && !t->framed)
			fputc('\n', t->out);
		else
			fprintf(t->out, "\\x%02x", p[i]);
	}
	if (t->framed || t->hex)
		fputc('\n', t->out);
	fflush(t->out);
}

static int print_frames(struct term *t, weft_stream *s)
{
	struct weft_frame fr;
	weft_framer *f;
	char prefix[32];
	ssize_t r;

	if ((r = weft_framer_new(&f, s, &t->spec)))
		return (int)r;
	while (!t->max_frames || t->frames < t->max_frames) {
		r = weft_framer_next(f, &fr);
		if (r == -EBADMSG || r == -EMSGSIZE) {
			fprintf(t->out, "[%s: %zu bytes skipped]\n", weft_strerror((int)r), fr.len);
			continue;
		}
		if (r <= 0)
			break;
		snprintf(prefix, sizeof(prefix), fr.tag ? "[tag %u] " : "", fr.tag);
		print_bytes(t, prefix, fr.payload, fr.payload_len);
		t->frames++;
	}
	weft_framer_free(f);
	return r < 0 ? (int)r : 0;
}

static int port_reader(void *arg)
{
	struct term *t = arg;
	uint8_t buf[4096];
	weft_stream *s;
	ssize_t n;
	int r;

	if ((r = weft_serial_stream(t->port, NULL, &s)))
		return r;
	if (t->framed)
		return print_frames(t, s);
	while (!t->max_frames || t->frames < t->max_frames) {
		if ((n = weft_stream_read(s, buf, sizeof(buf))) <= 0)
			return (int)n;
		print_bytes(t, "", buf, (size_t)n);
		t->frames++; /* raw: every chunk counts as one */
	}
	return 0;
}

/* stdin, line by line, to the port (the line ending replaced by the chosen one). */
static int stdin_sender(void *arg)
{
	struct term *t = arg;
	weft_stream *in, *out;
	weft_serial *input;
	char line[1024];
	ssize_t n;
	int r;

	if ((r = weft_serial_adopt(&input, t->in_fd)))
		return r;
	if ((r = weft_serial_stream(input, NULL, &in)) ||
	    (r = weft_serial_stream(t->port, NULL, &out)))
		goto out;
	while ((n = weft_stream_read_line(in, line, sizeof(line), 0)) > 0 || n == -EMSGSIZE) {
		if (n < 0)
			continue; /* an over-long line is skipped */
		if (line[n - 1] == '\n')
			n--;
		if ((r = (int)weft_stream_write(out, line, (size_t)n)) < 0 ||
		    (r = (int)weft_stream_write(out, t->eol, strlen(t->eol))) < 0)
			goto out;
	}
	r = (int)n;
out:
	weft_serial_close(input);
	return r < 0 ? r : 0;
}

static int terminal(void *arg)
{
	struct term *t = arg;
	weft_task *tasks[2];
	int r, st;

	if ((r = weft_serial_open(&t->port, t->path, &t->cfg))) {
		fprintf(stderr, "serial_miniterm: %s: %s\n", t->path, weft_strerror(r));
		return r;
	}
	if ((r = weft_task_spawn(&tasks[0], port_reader, t, NULL)) ||
	    (r = weft_task_spawn(&tasks[1], stdin_sender, t, NULL)))
		return r;
	/* Whichever ends first: the device (or -n) ends the session; the end of stdin leaves the
	 * replies a moment to arrive. */
	weft_tasks_wait(tasks, 2, WEFT_WAIT_FIRST_COMPLETED, WEFT_FOREVER);
	if (weft_task_done(tasks[1]) && !weft_task_done(tasks[0]))
		weft_tasks_wait(tasks, 1, WEFT_WAIT_ALL_COMPLETED, t->linger);
	weft_task_cancel(tasks[0]);
	weft_task_cancel(tasks[1]);
	weft_task_join(tasks[1], NULL);
	weft_task_join(tasks[0], &st);
	if (st == -EIO)
		fprintf(stderr, "serial_miniterm: %s: device gone\n", t->path);
	weft_serial_close(t->port);
	return st == -ECANCELED ? 0 : st;
}

/* ---- self-test: a simulated device on a pty, a pipe for stdin -------------------------------- */

/* The device: answers each line "x" with a tagged frame [1][len]"X" (upper case), after a stray
 * byte, so the framing and the skip report show up in the output. */
static int fake_device(void *arg)
{
	int master = *(int *)arg;
	weft_serial *dev;
	weft_stream *s;
	char line[64];
	uint8_t frame[66];
	ssize_t n;
	int r;

	if ((r = weft_serial_adopt(&dev, master)) || (r = weft_serial_stream(dev, NULL, &s)))
		return r;
	while ((n = weft_stream_read_until(s, line, sizeof(line), 0, "\r\n", 2)) > 0) {
		frame[0] = 0x7f; /* noise on the line */
		frame[1] = 1;
		frame[2] = (uint8_t)(n - 2);
		for (ssize_t i = 0; i < n - 2; i++)
			frame[3 + i] =
			    (uint8_t)(line[i] >= 'a' && line[i] <= 'z' ? line[i] - 32 : line[i]);
		if ((r = (int)weft_stream_write(s, frame, (size_t)n + 1)) < 0)
			break;
	}
	weft_serial_close(dev);
	return 0;
}

static int self_test_main(void *arg)
{
	struct term *t = arg;
	weft_task *dev;
	int r;

	if ((r = weft_task_spawn(&dev, fake_device, &t->dev_fd, NULL)))
		return r;
	r = terminal(t);
	weft_task_cancel(dev);
	weft_task_join(dev, NULL);
	return r;
}

static int self_test(void)
{
	static const char want[] = "[Bad message: 1 bytes skipped]\n[tag 1] HELLO\n"
				   "[Bad message: 1 bytes skipped]\n[tag 1] WEFT SERIAL\n";
	struct term t = {
	    .cfg = {.baud = 115200}, .eol = "\r\n", .max_frames = 2, .linger = WEFT_SEC};
	char path[64], *out = NULL;
	size_t len = 0;
	int fds[2], r;

	/* The device: a pty's master. Stdin: a pipe holding two lines, then its end. */
	t.dev_fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t.dev_fd < 0 || grantpt(t.dev_fd) || unlockpt(t.dev_fd) ||
	    ptsname_r(t.dev_fd, path, sizeof(path)) || pipe(fds) ||
	    write(fds[1], "hello\nweft serial\n", 18) != 18)
		return 1;
	close(fds[1]);
	t.in_fd = fds[0];
	t.path = path;
	parse_framing("tagged", &t);
	t.out = open_memstream(&out, &len);
	r = weft_run(self_test_main, &t, NULL);
	fclose(t.out);
	printf("serial_miniterm self-test (a simulated device on %s):\n%s", path, out);
	if (r || strcmp(out, want)) {
		printf("FAILED (status %d); expected:\n%s", r, want);
		free(out);
		return 1;
	}
	printf("ok\n");
	free(out);
	return 0;
}

int main(int argc, char **argv)
{
	struct term t = {.cfg = {.baud = 115200}, .eol = "\n", .linger = 500 * WEFT_MSEC};

	if (argc == 1)
		return self_test();
	parse_args(argc, argv, &t);
	t.out = stdout;
	/* A fresh open file description: O_NONBLOCK on it leaves the shell's terminal alone. */
	t.in_fd = open("/proc/self/fd/0", O_RDONLY | O_CLOEXEC);
	if (t.in_fd < 0)
		t.in_fd = dup(0);
	return weft_run(terminal, &t, NULL) == 0 ? 0 : 1;
}

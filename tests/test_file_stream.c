/* SPDX-License-Identifier: MIT */
/*
 * fileio (weft/file.h), the stream on a file: reading a file line by line with a maximum line
 * length (over-long lines are -EMSGSIZE and skipped), a last line without a newline, records
 * with another delimiter, buffered writing, and who closes the file.
 */
#include "test_file.h"
#include "check_main.h"

static void setup(void)
{
	tmp_setup();
}

static int lines_main(void *arg)
{
	char line[64];
	weft_stream *s;
	weft_file *f;
	char longline[200];

	memset(longline, 'L', sizeof(longline));
	longline[sizeof(longline) - 1] = '\n';
	ck_assert_int_eq(weft_file_open(&f, tpath("t"), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(weft_file_write(f, "first\nsecond line\n\n", 20), 20);
	ck_assert_int_eq(weft_file_write(f, longline, sizeof(longline)), sizeof(longline));
	ck_assert_int_eq(weft_file_write(f, "after\nno newline", 16), 16);
	ck_assert_int_eq(weft_file_close(f), 0);

	ck_assert_int_eq(weft_file_open(&f, tpath("t"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_stream(f, &s, NULL, 0), 0);
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 0), 6);
	ck_assert_int_eq(memcmp(line, "first\n", 6), 0);
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 0), 12);
	ck_assert_int_eq(memcmp(line, "second line\n", 12), 0);
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 0), 1);
	/* Longer than the maximum: an error, and the stream moves on to the next line. */
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 32), -EMSGSIZE);
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 32), 6);
	ck_assert_int_eq(memcmp(line, "after\n", 6), 0);
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 0), 10);
	ck_assert_int_eq(memcmp(line, "no newline", 10), 0);
	ck_assert_int_eq(weft_stream_read_line(s, line, sizeof(line), 0), 0);
	ck_assert_int_eq(weft_stream_close(s), 0);
	/* The stream borrowed the file: still open, and its position is at the end. */
	ck_assert_int_eq(weft_file_tell(f), 20 + 200 + 16);
	ck_assert_int_eq(weft_file_close(f), 0);
	return 0;
}

START_TEST(read_lines_with_max_length)
{
	int fds = count_fds();

	run_main(lines_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static int many_lines_main(void *arg)
{
	const struct weft_stream_opts opts = {.rbuf_size = 256};
	char line[128], want[32];
	weft_stream *s;
	weft_file *f;
	int n = 0;
	ssize_t r;

	/* Many more lines than one buffer holds: refills continue where the last one ended. */
	ck_assert_int_eq(weft_file_open(&f, tpath("n"), O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(weft_file_stream(f, &s, &(struct weft_stream_opts){.wbuf_size = 1024},
					  WEFT_FILE_STREAM_OWN),
			 0);
	for (int i = 0; i < 5000; i++) {
		int len = snprintf(want, sizeof(want), "line %d\n", i);
		ck_assert_int_eq(weft_stream_write(s, want, (size_t)len), len);
	}
	ck_assert_int_eq(weft_stream_close(s), 0); /* flushes, then closes the file */

	ck_assert_int_eq(weft_file_open(&f, tpath("n"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_stream(f, &s, &opts, WEFT_FILE_STREAM_OWN), 0);
	while ((r = weft_stream_read_line(s, line, sizeof(line), 0)) > 0) {
		int len = snprintf(want, sizeof(want), "line %d\n", n++);
		ck_assert_int_eq(r, len);
		ck_assert_int_eq(memcmp(line, want, (size_t)len), 0);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(n, 5000);
	ck_assert_int_eq(weft_stream_close(s), 0);
	return 0;
}

START_TEST(many_lines_buffered_write_and_owned_file)
{
	int fds = count_fds();

	run_main(many_lines_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static int records_main(void *arg)
{
	char rec[32];
	weft_stream *s;
	weft_file *f;
	size_t got;

	put_file(tpath("r"), "a;bb;ccc;tail", 13);
	ck_assert_int_eq(weft_file_open(&f, tpath("r"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_stream(NULL, &s, NULL, 0), -EINVAL);
	ck_assert_int_eq(weft_file_stream(f, NULL, NULL, 0), -EINVAL);
	ck_assert_int_eq(weft_file_stream(f, &s, NULL, 0x80), -EINVAL);
	ck_assert_int_eq(weft_file_stream(f, &s, NULL, WEFT_FILE_STREAM_OWN), 0);
	ck_assert_int_eq(weft_stream_read_until(s, rec, sizeof(rec), 0, ";", 1), 2);
	ck_assert_int_eq(weft_stream_read_until(s, rec, sizeof(rec), 0, ";", 1), 3);
	ck_assert_int_eq(weft_stream_read_exactly(s, rec, 4, &got), 0);
	ck_assert_int_eq(memcmp(rec, "ccc;", 4), 0);
	ck_assert_int_eq(weft_stream_read_exactly(s, rec, 10, &got), -ENODATA);
	ck_assert_uint_eq(got, 4);
	ck_assert_int_eq(weft_stream_close(s), 0); /* closes @f too */
	return 0;
}

START_TEST(records_and_errors)
{
	int fds = count_fds();

	run_main(records_main, NULL);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

static Suite *file_stream_suite(void)
{
	Suite *s = suite_create("file_stream");
	TCase *tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, setup, tmp_teardown);
	tcase_add_test(tc, read_lines_with_max_length);
	tcase_add_test(tc, many_lines_buffered_write_and_owned_file);
	tcase_add_test(tc, records_and_errors);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(file_stream_suite)

/* SPDX-License-Identifier: MIT */
/*
 * fileio (weft/file.h), the atomic replace beyond one buffer: begin / write through any weft_file
 * call / commit or abort, replace from another file, the durability levels (which syncs run, seen
 * through the replace's test hook), a cancelled commit, argument errors. The single-buffer
 * replace and crashes at each step are in test_file_path.
 */
#include "test_file.h"
#include "fileio/internal.h"
#include "check_main.h"

static char big[1024 * 1024 + 77];

static void setup(void)
{
	tmp_setup();
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 511);
}

/* Steps of the last replace, in order (the hook's numbers). */
static int steps[16], nsteps;

static void record_step(int step)
{
	if (nsteps < 16)
		steps[nsteps++] = step;
}

static bool step_ran(int step)
{
	for (int i = 0; i < nsteps; i++)
		if (steps[i] == step)
			return true;
	return false;
}

static int begin_commit_main(void *arg)
{
	weft_file_replace *r;
	weft_stream *s;
	struct statx stx;

	put_file(tpath("log"), "old", 3);
	/* Written through a stream in pieces: the new file appears whole at the commit. */
	ck_assert_int_eq(weft_file_replace_begin(&r, tpath("log"), 0640, 0), 0);
	ck_assert_int_eq(weft_file_stream(weft_file_replace_file(r), &s, NULL, 0), 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(weft_stream_write(s, "line\n", 5), 5);
	ck_assert_int_eq(weft_stream_close(s), 0);
	ck_assert_str_eq(get_file(tpath("log"), NULL), "old");
	ck_assert_int_eq(weft_file_replace_commit(r), 0);
	ck_assert_uint_eq(strlen(get_file(tpath("log"), NULL)), 500);
	ck_assert_int_eq(weft_file_statx_at(AT_FDCWD, tpath("log"), 0, STATX_MODE, &stx), 0);
	ck_assert_uint_eq(stx.stx_mode & 0777, 0640);

	/* Abort: the target untouched, nothing left behind. */
	ck_assert_int_eq(weft_file_replace_begin(&r, tpath("log"), 0600, 0), 0);
	ck_assert_int_eq(weft_file_write(weft_file_replace_file(r), "junk", 4), 4);
	weft_file_replace_abort(r);
	ck_assert_uint_eq(strlen(get_file(tpath("log"), NULL)), 500);
	weft_file_replace_abort(NULL);

	/* Errors. */
	ck_assert_int_eq(weft_file_replace_begin(&r, tpath("log"), 0600, 3), -EINVAL);
	ck_assert_int_eq(weft_file_replace_begin(NULL, tpath("log"), 0600, 0), -EINVAL);
	ck_assert_int_eq(weft_file_replace_begin(&r, NULL, 0600, 0), -EINVAL);
	ck_assert_int_eq(weft_file_replace_begin(&r, tpath("no/log"), 0600, 0), -ENOENT);
	ck_assert_int_eq(weft_file_replace_commit(NULL), -EINVAL);
	ck_assert_ptr_null(weft_file_replace_file(NULL));
	ck_assert_int_eq(weft_file_replace_from(tpath("log"), NULL, 0600, 0), -EINVAL);
	ck_assert_int_eq(count_entries(".log"), 0);
	return 0;
}

static void both_temps(int (*fn)(void *))
{
	int fds = count_fds();

	for (int named = 0; named < 2; named++) {
		weft__file_replace_no_tmpfile = named;
		run_main(fn, NULL);
	}
	weft__file_replace_no_tmpfile = false;
	ck_assert_int_eq(count_fds(), fds);
}

START_TEST(begin_write_commit_or_abort)
{
	both_temps(begin_commit_main);
}
END_TEST

static int from_main(void *arg)
{
	weft_file *src;
	size_t len;
	const char *got;

	put_file(tpath("src"), big, sizeof(big));
	put_file(tpath("dst"), "old", 3);
	ck_assert_int_eq(weft_file_open(&src, tpath("src"), O_RDONLY, 0), 0);
	ck_assert_int_eq(weft_file_seek(src, 10, SEEK_SET), 10);
	for (unsigned level = 0; level <= WEFT_REPLACE_SYNC_NONE; level++) {
		ck_assert_int_eq(weft_file_seek(src, 10, SEEK_SET), 10);
		ck_assert_int_eq(weft_file_replace_from(tpath("dst"), src, 0644, level), 0);
		ck_assert_int_eq(weft_file_tell(src), (int64_t)sizeof(big));
		got = get_file(tpath("dst"), &len);
		ck_assert_uint_eq(len, 65535);
		ck_assert_int_eq(memcmp(got, big + 10, len), 0);
		struct stat st;
		ck_assert_int_eq(stat(tpath("dst"), &st), 0);
		ck_assert_int_eq(st.st_size, (off_t)sizeof(big) - 10);
	}
	/* A source that cannot be read: the target stays. */
	weft_file *wronly;
	ck_assert_int_eq(weft_file_open(&wronly, tpath("w"), O_WRONLY | O_CREAT, 0600), 0);
	ck_assert_int_lt(weft_file_replace_from(tpath("dst"), wronly, 0644, 0), 0);
	ck_assert_int_eq(stat(tpath("dst"), &(struct stat){0}), 0);
	ck_assert_int_eq(weft_file_close(wronly), 0);
	ck_assert_int_eq(weft_file_close(src), 0);
	ck_assert_int_eq(count_entries(".dst"), 0);
	return 0;
}

START_TEST(replace_from_a_file)
{
	both_temps(from_main);
}
END_TEST

/* Which syncs run at each level: all (the default), the file's only, none. */
static int durability_main(void *arg)
{
	static const struct {
		unsigned flags;
		bool file, dir;
	} levels[] = {
	    {WEFT_REPLACE_SYNC_ALL, true, true},
	    {WEFT_REPLACE_SYNC_FILE, true, false},
	    {WEFT_REPLACE_SYNC_NONE, false, false},
	};
	weft_file_replace *r;

	weft__file_replace_hook = record_step;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		nsteps = 0;
		ck_assert_int_eq(weft_file_replace_begin(&r, tpath("d"), 0600, levels[i].flags), 0);
		ck_assert_int_eq(weft_file_write(weft_file_replace_file(r), "v", 1), 1);
		ck_assert_int_eq(weft_file_replace_commit(r), 0);
		ck_assert_str_eq(get_file(tpath("d"), NULL), "v");
		ck_assert(step_ran(WEFT__REPLACE_RENAMED));
		ck_assert_int_eq(step_ran(WEFT__REPLACE_SYNCED), levels[i].file);
		ck_assert_int_eq(step_ran(WEFT__REPLACE_DIR_SYNCED), levels[i].dir);
	}
	/* The one-buffer call keeps the full level. */
	nsteps = 0;
	ck_assert_int_eq(weft_file_replace_atomic(tpath("d"), "w", 1, 0600), 0);
	ck_assert(step_ran(WEFT__REPLACE_SYNCED) && step_ran(WEFT__REPLACE_DIR_SYNCED));
	weft__file_replace_hook = NULL;
	return 0;
}

START_TEST(durability_levels)
{
	both_temps(durability_main);
}
END_TEST

/* A commit whose caller's deadline has passed fails before the rename and cleans up. */
static int cancelled_commit_main(void *arg)
{
	weft_file_replace *r;
	weft_scope sc;

	put_file(tpath("c"), "old", 3);
	ck_assert_int_eq(weft_file_replace_begin(&r, tpath("c"), 0600, 0), 0);
	ck_assert_int_eq(weft_file_write(weft_file_replace_file(r), "new", 3), 3);
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now(), 0), 0);
	ck_assert_int_eq(weft_file_replace_commit(r), -ETIMEDOUT);
	weft_scope_exit(&sc);
	ck_assert_str_eq(get_file(tpath("c"), NULL), "old");
	ck_assert_int_eq(count_entries(".c."), 0);
	return 0;
}

START_TEST(cancelled_commit_cleans_up)
{
	both_temps(cancelled_commit_main);
}
END_TEST

static Suite *file_replace_suite(void)
{
	Suite *s = suite_create("file_replace");
	TCase *tc = tcase_create("replace");

	tcase_add_checked_fixture(tc, setup, tmp_teardown);
	tcase_add_test(tc, begin_write_commit_or_abort);
	tcase_add_test(tc, replace_from_a_file);
	tcase_add_test(tc, durability_levels);
	tcase_add_test(tc, cancelled_commit_cleans_up);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(file_replace_suite)

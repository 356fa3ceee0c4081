/* SPDX-License-Identifier: MIT */
/*
 * fileio (weft/file.h), directories: listing a few thousand entries in batches on the thread
 * pool while the loop keeps running other fibers, names / types / inode numbers, "." and ".."
 * skipped, errors (ENOENT, ENOTDIR, EACCES as an unprivileged child), cancellation and deadlines
 * part-way (no entry lost or repeated), closing part-way (no leak).
 */
#include <dirent.h>
#include <sys/wait.h>

#include "test_file.h"
#include "check_main.h"

#define NFILES 3000

static void setup(void)
{
	tmp_setup();
}

/* "d" with NFILES files "f00000" ... and one subdirectory "sub". */
static void make_tree(void)
{
	char name[32];

	ck_assert_int_eq(mkdir(tpath("d"), 0755), 0);
	ck_assert_int_eq(mkdir(tpath("d/sub"), 0755), 0);
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof(name), "d/f%05d", i);
		put_file(tpath(name), "", 0);
	}
}

struct seen {
	unsigned char count[NFILES];
	int files, subs;
};

/* Record one entry of @d; every name must be one of make_tree's, each seen at most once. */
static void see(struct seen *sn, weft_dir *d, const struct weft_dirent *e)
{
	struct stat st;
	int i;

	ck_assert(strcmp(e->name, ".") && strcmp(e->name, ".."));
	ck_assert_int_eq(fstatat(weft_dir_fd(d), e->name, &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_uint_eq(e->ino, st.st_ino);
	if (!strcmp(e->name, "sub")) {
		ck_assert(e->type == DT_DIR || e->type == DT_UNKNOWN);
		sn->subs++;
		return;
	}
	ck_assert(e->type == DT_REG || e->type == DT_UNKNOWN);
	ck_assert_int_eq(sscanf(e->name, "f%05d", &i), 1);
	ck_assert(i >= 0 && i < NFILES);
	ck_assert_int_eq(sn->count[i]++, 0);
	sn->files++;
}

static void check_all_seen(const struct seen *sn)
{
	ck_assert_int_eq(sn->files, NFILES);
	ck_assert_int_eq(sn->subs, 1);
}

/* Counts loop turns while the lister is parked: proves the listing does not block the loop. */
static int ticker(void *arg)
{
	unsigned *ticks = arg;

	for (;;) {
		int r = weft_sleep(0);

		if (r)
			return r;
		(*ticks)++;
	}
}

static int list_main(void *arg)
{
	struct seen sn = {0};
	struct weft_dirent e;
	weft_dir *d;
	weft_task *t;
	unsigned ticks = 0;
	int r, st;

	make_tree();
	ck_assert_int_eq(weft_task_spawn(&t, ticker, &ticks, NULL), 0);
	ck_assert_int_eq(weft_dir_open(&d, tpath("d")), 0);
	ck_assert_int_ge(weft_dir_fd(d), 0);
	while ((r = weft_dir_next(d, &e)) == 1)
		see(&sn, d, &e);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(weft_dir_next(d, &e), 0); /* the end stays the end */
	ck_assert_int_eq(weft_dir_close(d), 0);
	check_all_seen(&sn);
	ck_assert_uint_gt(ticks, 0); /* the ticker ran while batches were fetched */
	weft_task_cancel(t);
	ck_assert_int_eq(weft_task_join(t, &st), 0);

	/* Relative to a directory descriptor; an empty directory lists nothing. */
	ck_assert_int_eq(weft_dir_open(&d, tdir), 0);
	weft_dir *sub;
	ck_assert_int_eq(weft_dir_openat(&sub, weft_dir_fd(d), "d/sub"), 0);
	ck_assert_int_eq(weft_dir_next(sub, &e), 0);
	ck_assert_int_eq(weft_dir_close(sub), 0);
	ck_assert_int_eq(weft_dir_close(d), 0);
	return 0;
}

FIBER_FD_TEST(lists_thousands_in_batches, list_main)

static int errors_main(void *arg)
{
	struct weft_dirent e;
	weft_dir *d = NULL;

	put_file(tpath("plain"), "x", 1);
	ck_assert_int_eq(weft_dir_open(&d, tpath("missing")), -ENOENT);
	ck_assert_int_eq(weft_dir_open(&d, tpath("plain")), -ENOTDIR);
	ck_assert_int_eq(weft_dir_open(NULL, tdir), -EINVAL);
	ck_assert_int_eq(weft_dir_open(&d, NULL), -EINVAL);
	ck_assert_ptr_null(d);
	ck_assert_int_eq(weft_dir_next(NULL, &e), -EINVAL);
	ck_assert_int_eq(weft_dir_fd(NULL), -EINVAL);
	ck_assert_int_eq(weft_dir_close(NULL), 0);
	return 0;
}

FIBER_FD_TEST(errors, errors_main)

static int eacces_main(void *arg)
{
	weft_dir *d;

	return weft_dir_open(&d, tpath("locked")) == -EACCES ? 0 : 1;
}

/* EACCES needs an unprivileged caller: a child drops to nobody (root bypasses the mode). */
START_TEST(eacces_unprivileged)
{
	pid_t pid;
	int st;

	ck_assert_int_eq(mkdir(tpath("locked"), 0700), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(2);
		_exit(weft_run(eacces_main, NULL, NULL) ? 3 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* ---- cancellation ------------------------------------------------------------------------------ */

struct lister {
	weft_dir *d;
	struct seen *sn;
};

static int lister_main(void *arg)
{
	struct lister *l = arg;
	struct weft_dirent e;
	int r;

	while ((r = weft_dir_next(l->d, &e)) == 1)
		see(l->sn, l->d, &e);
	return r;
}

static int cancel_main(void *arg)
{
	struct seen sn = {0};
	struct lister l = {.sn = &sn};
	struct weft_dirent e;
	weft_scope sc;
	weft_task *t;
	int r, st;

	make_tree();
	ck_assert_int_eq(weft_dir_open(&l.d, tpath("d")), 0);
	/* A deadline already past: the call returns at once, the listing is unharmed. */
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(weft_dir_next(l.d, &e), 1);
		see(&sn, l.d, &e);
	}
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now(), 0), 0);
	ck_assert_int_eq(weft_dir_next(l.d, &e), -ETIMEDOUT);
	weft_scope_exit(&sc);
	/* A lister cancelled wherever it is (parked on the pool or not): what it saw plus what
	 * follows is every entry once. */
	for (int round = 0; round < 3; round++) {
		ck_assert_int_eq(weft_task_spawn(&t, lister_main, &l, NULL), 0);
		for (int i = 0; i <= round; i++)
			ck_assert_int_eq(weft_yield(), 0);
		weft_task_cancel(t);
		ck_assert_int_eq(weft_task_join(t, &st), 0);
		ck_assert(st == -ECANCELED || st == 0);
	}
	while ((r = weft_dir_next(l.d, &e)) == 1)
		see(&sn, l.d, &e);
	ck_assert_int_eq(r, 0);
	check_all_seen(&sn);
	ck_assert_int_eq(weft_dir_close(l.d), 0);

	/* Closed part-way: everything is freed (ASan, and the fd count around the test). */
	ck_assert_int_eq(weft_dir_open(&l.d, tpath("d")), 0);
	ck_assert_int_eq(weft_dir_next(l.d, &e), 1);
	ck_assert_int_eq(weft_dir_close(l.d), 0);
	return 0;
}

FIBER_FD_TEST(cancel_and_deadline_part_way, cancel_main)

static Suite *file_dir_suite(void)
{
	Suite *s = suite_create("file_dir");
	TCase *tc = tcase_create("dir");

	tcase_add_checked_fixture(tc, setup, tmp_teardown);
	tcase_add_test(tc, lists_thousands_in_batches);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, eacces_unprivileged);
	tcase_add_test(tc, cancel_and_deadline_part_way);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(file_dir_suite)

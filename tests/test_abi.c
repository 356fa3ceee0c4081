/* SPDX-License-Identifier: MIT */
/*
 * The reserved words of the public structs (README "ABI"): a call given a struct with one set was
 * built against a newer header than this library, and refuses it with -EINVAL instead of
 * ignoring what the caller asked for.
 */
#include <check.h>
#include <errno.h>

#include <weft.h>
#include "check_main.h"

static int nothing(void *arg)
{
	return 0;
}

START_TEST(loop_opts_reserved)
{
	weft_loop *loop = NULL;
	struct weft_loop_opts o = {.reserved[3] = 1};

	ck_assert_int_eq(weft_loop_new(&loop, &o), -EINVAL);
	ck_assert_ptr_null(loop);
	ck_assert_int_eq(weft_run(nothing, NULL, &o), -EINVAL);
}
END_TEST

START_TEST(loop_group_opts_reserved)
{
	weft_loopset *g = NULL;
	struct weft_loopset_opts o = {.nloops = 1, .main = nothing, .reserved[0] = 1};

	ck_assert_int_eq(weft_loopset_start(&g, &o), -EINVAL);
}
END_TEST

static int square(const void *in, size_t inlen, void **out, size_t *outlen)
{
	return 0;
}

START_TEST(procpool_opts_reserved)
{
	static const struct weft_proc_func funcs[] = {{"square", square}};
	weft_procpool *pool = NULL;

	ck_assert_int_eq(
	    weft_procpool_new(&pool, funcs, 1,
			      &(struct weft_procpool_opts){.nworkers = 1, .reserved[0] = 1}),
	    -EINVAL);
}
END_TEST

static int serve_nothing(weft_sock *conn, void *arg)
{
	return 0;
}

static ssize_t no_read(void *io, void *buf, size_t len)
{
	return 0;
}

static const struct weft_stream_ops plain_ops = {.read = no_read};

static int fiber_opts(void *arg)
{
	weft_task *t = NULL;
	weft_stream *s;
	weft_framer *f = NULL;
	weft_sock *sock = NULL;
	weft_sockaddr addr;
	struct weft_stream_ops ops = {.read = no_read, .reserved[1] = 1};

	ck_assert_int_eq(
	    weft_task_spawn(&t, nothing, NULL, &(struct weft_task_opts){.reserved[0] = 1}),
	    -EINVAL);
	ck_assert_int_eq(weft_stream_new(&s, &ops, NULL, NULL), -EINVAL);
	ck_assert_int_eq(
	    weft_stream_new(&s, &plain_ops, NULL, &(struct weft_stream_opts){.reserved[2] = 1}),
	    -EINVAL);
	ck_assert_int_eq(weft_stream_new(&s, &plain_ops, NULL, NULL), 0);
	ck_assert_int_eq(weft_framer_new(&f, s,
					 &(struct weft_frame_spec){.kind = WEFT_FRAME_FIXED,
								   .fixed_len = 4,
								   .reserved[0] = 1}),
			 -EINVAL);
	weft_stream_free(s);
	ck_assert_int_eq(weft_addr_inet(&addr, "127.0.0.1", 0), 0);
	ck_assert_int_eq(
	    weft_tcp_listen(&sock, &addr, &(struct weft_listen_opts){.reserved[0] = 1}), -EINVAL);
	ck_assert_int_eq(weft_tcp_listen(&sock, &addr, NULL), 0);
	ck_assert_int_eq(weft_server_start(&(weft_server *){NULL}, sock, serve_nothing, NULL,
					   &(struct weft_server_opts){.reserved[3] = 1}),
			 -EINVAL);
	ck_assert_int_eq(weft_sock_close(sock), 0);
	ck_assert_int_eq(weft_tcp_connect_retry(&sock, "127.0.0.1", 1,
						&(struct weft_retry_opts){.reserved[0] = 1}),
			 -EINVAL);
	ck_assert_int_eq(
	    weft_serial_supervise("/dev/null", NULL, NULL, NULL,
				  &(struct weft_serial_supervise_opts){.reserved[0] = 1}),
	    -EINVAL);
	return 0;
}

START_TEST(fiber_opts_reserved)
{
	ck_assert_int_eq(weft_run(fiber_opts, NULL, NULL), 0);
}
END_TEST

static Suite *abi_suite(void)
{
	Suite *s = suite_create("abi");
	TCase *tc = tcase_create("reserved");

	tcase_add_test(tc, loop_opts_reserved);
	tcase_add_test(tc, loop_group_opts_reserved);
	tcase_add_test(tc, procpool_opts_reserved);
	tcase_add_test(tc, fiber_opts_reserved);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(abi_suite)

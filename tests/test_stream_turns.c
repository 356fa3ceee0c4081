/* SPDX-License-Identifier: MIT */
/*
 * Writers taking turns on one weft_stream (weft/stream.h, "Concurrency"): several fibers write
 * large messages into one pipe at once, as a chat server's broadcaster and its clients' own
 * fibers do; the reader checks that every message arrives whole and in FIFO order, and that
 * writers cancelled or timed out while waiting (or part-way through) leave the stream usable.
 * Messages are larger than a pipe holds, so every write blocks in the middle.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft.h"
#include "check_main.h"
#include "test_stream_pipe.h"

/* A Check case running @fn as the main fiber of a fresh loop. */
#define FIBER_TEST(name, fn)                                   \
	START_TEST(name)                                       \
	{                                                      \
		ck_assert_int_eq(weft_run(fn, NULL, NULL), 0); \
	}                                                      \
	END_TEST

#define MSG (100 * 1000) /* more than a pipe's 64 KiB: a write blocks part-way */

/* ---- a pipe through the op layer --------------------------------------------------------------- */

static int pipe_close(void *io)
{
	return weft__fd_close(*(int *)io);
}

static const struct weft_stream_ops pipe_ops = {
    .read = pipe_read, .writev = pipe_writev, .close = pipe_close};

struct chat {
	int fd[2];
	weft_stream *in, *out; /* reading fd[0], writing fd[1] */
	char *got;	       /* what the reader collected */
	size_t gotlen;
};

static void chat_open(struct chat *c, size_t wbuf)
{
	struct weft_stream_opts o = {.wbuf_size = wbuf};

	ck_assert_int_eq(pipe(c->fd), 0);
	ck_assert_int_eq(weft_stream_new(&c->in, &pipe_ops, &c->fd[0], NULL), 0);
	ck_assert_int_eq(weft_stream_new(&c->out, &pipe_ops, &c->fd[1], &o), 0);
	c->got = NULL;
}

/* The reader: everything up to the end of the pipe, read with weft_stream_read_to_end. */
static int reader_main(void *arg)
{
	struct chat *c = arg;
	size_t max = 64 * MSG;
	ssize_t n;

	c->got = malloc(max);
	ck_assert_ptr_nonnull(c->got);
	n = weft_stream_read_to_end(c->in, c->got, max, NULL);
	ck_assert_int_ge(n, 0);
	c->gotlen = (size_t)n;
	return 0;
}

static void chat_finish(struct chat *c, weft_task *reader)
{
	int st;

	ck_assert_int_eq(weft_stream_close(c->out), 0); /* the reader sees the end */
	ck_assert_int_eq(weft_task_join(reader, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(weft_stream_close(c->in), 0);
}

/* Message @seq of writer @id: a header naming both, then the writer's letter throughout. */
static char *message(int id, int seq)
{
	char *m = malloc(MSG);

	ck_assert_ptr_nonnull(m);
	memset(m, 'a' + id, MSG);
	m[0] = (char)id;
	m[1] = (char)seq;
	return m;
}

/* Check @p holds message @seq of writer @id, whole (no other writer's bytes inside). */
static void check_message(const char *p, int id, int seq)
{
	ck_assert_int_eq(p[0], id);
	ck_assert_int_eq(p[1], seq);
	for (size_t i = 2; i < MSG; i++)
		if (p[i] != 'a' + id)
			ck_abort_msg("message %d/%d: byte %zu is '%c'", id, seq, i, p[i]);
}

struct writer {
	struct chat *c;
	int id, count;
	int status; /* the last write's result */
};

static int writer_main(void *arg)
{
	struct writer *w = arg;

	for (int seq = 0; seq < w->count; seq++) {
		char *m = message(w->id, seq);
		ssize_t n = weft_stream_write(w->c->out, m, MSG);

		free(m); /* the stream must be done with it: ASan sees any later touch */
		if (n < 0)
			return w->status = (int)n;
		ck_assert_int_eq(n, MSG);
	}
	return 0;
}

static weft_task *spawn(weft_task_fn fn, void *arg)
{
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, fn, arg, NULL), 0);
	return t;
}

static void join_ok(weft_task *t, int want)
{
	int st;

	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, want);
}

/* ---- whole messages, FIFO turns ------------------------------------------------------------- */

#define WRITERS 4
#define ROUNDS	3

static int m_writers_take_turns(void *arg)
{
	struct chat c;
	struct writer w[WRITERS];
	weft_task *t[WRITERS], *reader;

	chat_open(&c, 0);
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.c = &c, .id = i, .count = ROUNDS};
		t[i] = spawn(writer_main, &w[i]);
	}
	/* Every writer has run: 0 is blocked in its first write (the pipe is full), 1..3 wait
	 * their turn in that order. */
	ck_assert_int_eq(weft_yield(), 0);
	reader = spawn(reader_main, &c);
	for (int i = 0; i < WRITERS; i++)
		join_ok(t[i], 0);
	chat_finish(&c, reader);
	/* A writer done with one message queues behind those already waiting: round robin. */
	ck_assert_uint_eq(c.gotlen, (size_t)WRITERS * ROUNDS * MSG);
	for (int k = 0; k < WRITERS * ROUNDS; k++)
		check_message(c.got + (size_t)k * MSG, k % WRITERS, k / WRITERS);
	free(c.got);
	return 0;
}

FIBER_TEST(writers_take_turns, m_writers_take_turns)

/* ---- waiting writers cancelled or timed out ------------------------------------------------- */

static int timed_writer_main(void *arg)
{
	struct writer *w = arg;
	weft_scope sc;
	int r;

	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 20 * WEFT_MSEC, 0), 0);
	r = writer_main(w);
	weft_scope_exit(&sc);
	return r;
}

static int m_waiting_writer_cancelled(void *arg)
{
	struct chat c;
	struct writer w[4];
	weft_task *t[4], *reader;

	chat_open(&c, 0);
	for (int i = 0; i < 4; i++)
		w[i] = (struct writer){.c = &c, .id = i, .count = 1};
	t[0] = spawn(writer_main, &w[0]);	/* has the turn, blocked: the pipe is full */
	t[1] = spawn(writer_main, &w[1]);	/* waits; cancelled below */
	t[2] = spawn(timed_writer_main, &w[2]); /* waits; its deadline passes */
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(t[1]), 0);
	join_ok(t[1], -ECANCELED);
	join_ok(t[2], -ETIMEDOUT);
	ck_assert_int_eq(weft_stream_close(c.out), -EBUSY); /* 0 still writes */
	t[3] = spawn(writer_main, &w[3]);
	ck_assert_int_eq(weft_yield(), 0);
	reader = spawn(reader_main, &c);
	join_ok(t[0], 0);
	join_ok(t[3], 0);
	ck_assert_uint_eq(weft_stream_written(c.out), 2 * MSG);
	chat_finish(&c, reader);
	/* Nothing of 1 or 2 reached the pipe; 3 got the turn after 0. */
	ck_assert_uint_eq(c.gotlen, 2 * MSG);
	check_message(c.got, 0, 0);
	check_message(c.got + MSG, 3, 0);
	free(c.got);
	return 0;
}

FIBER_TEST(waiting_writer_cancelled, m_waiting_writer_cancelled)

/* A writer cancelled part-way reports the cancel; its partial bytes stay sent, the next writer's
 * message follows them whole. */
static int m_writer_cancelled_mid_write(void *arg)
{
	struct chat c;
	struct writer w[2] = {{.c = &c, .id = 0, .count = 1}, {.c = &c, .id = 1, .count = 1}};
	weft_task *t0, *t1, *reader;
	uint64_t partial;

	chat_open(&c, 0);
	t0 = spawn(writer_main, &w[0]);
	t1 = spawn(writer_main, &w[1]);
	/* Wait until 0 is part-way: some of its message in the pipe, the rest blocked (nobody
	 * reads yet, so it cannot finish). */
	while (weft_stream_written(c.out) == 0)
		ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	partial = weft_stream_written(c.out);
	ck_assert_uint_lt(partial, MSG);
	ck_assert_int_eq(weft_task_cancel(t0), 0);
	join_ok(t0, -ECANCELED);
	ck_assert_uint_eq(weft_stream_written(c.out), partial);
	reader = spawn(reader_main, &c);
	join_ok(t1, 0);
	chat_finish(&c, reader);
	ck_assert_uint_eq(c.gotlen, partial + MSG);
	ck_assert_int_eq(c.got[0], 0);
	for (size_t i = 2; i < partial; i++)
		ck_assert_int_eq(c.got[i], 'a');
	check_message(c.got + partial, 1, 0);
	free(c.got);
	return 0;
}

FIBER_TEST(writer_cancelled_mid_write, m_writer_cancelled_mid_write)

/* ---- buffered writes and flushes among large writes ------------------------------------------ */

#define RECORDS 60

/* Small records gathered in the write buffer, a flush now and then. */
static int records_main(void *arg)
{
	struct chat *c = arg;
	char rec[16];

	for (int i = 0; i < RECORDS; i++) {
		snprintf(rec, sizeof(rec), "r%02d\n", i);
		ck_assert_int_eq(weft_stream_write(c->out, rec, 4), 4);
		if (i % 7 == 6)
			ck_assert_int_eq(weft_stream_flush(c->out), 0);
		ck_assert_int_eq(weft_yield(), 0);
	}
	return weft_stream_flush(c->out);
}

static int m_buffered_writes_and_flush(void *arg)
{
	struct chat c;
	struct writer big = {.c = &c, .id = 1, .count = 3};
	weft_task *tr, *tb, *reader;
	size_t at = 0;
	int next = 0, seq = 0;

	chat_open(&c, 4096);
	reader = spawn(reader_main, &c);
	tb = spawn(writer_main, &big);
	tr = spawn(records_main, &c);
	join_ok(tb, 0);
	join_ok(tr, 0);
	chat_finish(&c, reader);
	/* Records in order, each whole; the large messages whole between them. */
	while (at < c.gotlen) {
		if (c.got[at] == 'r') {
			char want[16];

			snprintf(want, sizeof(want), "r%02d\n", next++);
			ck_assert_int_eq(memcmp(c.got + at, want, 4), 0);
			at += 4;
		} else {
			ck_assert_uint_le(at + MSG, c.gotlen);
			check_message(c.got + at, 1, seq++);
			at += MSG;
		}
	}
	ck_assert_int_eq(next, RECORDS);
	ck_assert_int_eq(seq, 3);
	free(c.got);
	return 0;
}

FIBER_TEST(buffered_writes_and_flush, m_buffered_writes_and_flush)

/* Writers that come to wait during a close's flush are turned away, not left on a freed
 * stream. */
static int closer_main(void *arg)
{
	return weft_stream_close(((struct chat *)arg)->out);
}

static int m_close_turns_waiters_away(void *arg)
{
	struct chat c;
	struct writer w = {.c = &c, .id = 2, .count = 1};
	weft_task *tc, *tw, *reader;
	char *m = message(0, 0);
	int st;

	chat_open(&c, 2 * MSG);
	ck_assert_int_eq(weft_stream_write(c.out, m, MSG), MSG); /* buffered */
	free(m);
	tc = spawn(closer_main, &c); /* blocks in its flush: the pipe fills */
	ck_assert_int_eq(weft_yield(), 0);
	tw = spawn(writer_main, &w);
	ck_assert_int_eq(weft_yield(), 0);
	reader = spawn(reader_main, &c);
	join_ok(tc, 0);
	join_ok(tw, -EPIPE);
	ck_assert_int_eq(weft_task_join(reader, &st), 0);
	ck_assert_int_eq(weft_stream_close(c.in), 0);
	ck_assert_uint_eq(c.gotlen, MSG);
	check_message(c.got, 0, 0);
	free(c.got);
	return 0;
}

FIBER_TEST(close_turns_waiters_away, m_close_turns_waiters_away)

/* A transport that writes to its own stream would wait for its own turn: refused. */
static ssize_t reentrant_writev(void *io, const struct iovec *iov, int iovcnt)
{
	weft_stream *s = *(weft_stream **)io;

	ck_assert_int_eq(weft_stream_write(s, "x", 1), -EDEADLK);
	ck_assert_int_eq(weft_stream_flush(s), -EDEADLK);
	return (ssize_t)iov[0].iov_len;
}

static const struct weft_stream_ops reentrant_ops = {.read = pipe_read, .writev = reentrant_writev};

static int m_own_turn_is_edeadlk(void *arg)
{
	weft_stream *s;

	ck_assert_int_eq(weft_stream_new(&s, &reentrant_ops, &s, NULL), 0);
	ck_assert_int_eq(weft_stream_write(s, "abc", 3), 3);
	ck_assert_int_eq(weft_stream_write(s, "d", 1), 1); /* the turn was given back */
	weft_stream_free(s);
	return 0;
}

FIBER_TEST(own_turn_is_edeadlk, m_own_turn_is_edeadlk)

static Suite *stream_turns_suite(void)
{
	Suite *s = suite_create("stream_turns");
	TCase *tc = tcase_create("writers");

	tcase_add_test(tc, writers_take_turns);
	tcase_add_test(tc, waiting_writer_cancelled);
	tcase_add_test(tc, writer_cancelled_mid_write);
	tcase_add_test(tc, buffered_writes_and_flush);
	tcase_add_test(tc, close_turns_waiters_away);
	tcase_add_test(tc, own_turn_is_edeadlk);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(stream_turns_suite)

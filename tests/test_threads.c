/* SPDX-License-Identifier: MIT */
/*
 * The thread rule of every public call: each call documented "not thread-safe" refuses a thread
 * that does not run its loop with -EXDEV instead of acting (README "Threads").
 *
 * One row per not-thread-safe declaration of the public headers; tests/thread_rules.py (run by
 * `make check`) fails when a declaration has no row, so a new call cannot skip this test:
 *   CALL(name, expr)    -EXDEV from a plain thread and from a fiber of another loop
 *   FIBER(name, expr)   a call that needs a fiber: -EPERM (no fiber) or -EXDEV from a plain
 *                       thread, -EXDEV from a fiber of another loop
 *   PLAIN(name, expr)   -EXDEV from a plain thread; a fiber of another loop gets -EBUSY (its
 *                       thread already runs a loop), so only the plain thread is checked
 *   EXEMPT(name, why)   not checked, and why: the call cannot report an error (void, bool, size
 *                       or pointer results), acts on the caller's own loop or task, or uses an
 *                       object that belongs to no loop
 * The objects live on loop A, which runs forever on a thread of its own with tasks parked in
 * them; the rows run from this (plain) thread, then from a fiber of loop B on this thread.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>
#include <weft/thread.h>
#include <weft/tls.h>
#include "examples/tls_cert.h"
#include "check_main.h"

/* Reasons for EXEMPT rows. */
#define NO_STATUS "returns no status (void, bool, size, id or pointer): cannot report -EXDEV"
#define OWN_LOOP                                                                               \
	"acts on the calling thread's own loop or task (-EPERM without one): it cannot reach " \
	"another thread's"
#define NEW_OBJ                                                                                 \
	"a constructor: records @loop but touches none of its state, so any thread may create " \
	"the object and hand it over"
#define FREE_OBJ                                                                                  \
	"frees an object nothing waits on; allowed from any thread once its loop no longer uses " \
	"it, e.g. after weft_loop_close (README \"Who frees what\")"
#define PURE "a pure function of its arguments: thread-safe in fact"
#define NO_LOOP_FILE                                                                           \
	"a weft_file belongs to no loop: fibers of any loop may use it, one thread at a time " \
	"(weft/file.h); path calls act on the calling fiber's loop"
#define NO_LOOP_PORT                                                                          \
	"a serial port belongs to the loop of the fiber using it, like a weft_file: no loop " \
	"of its own to check against"
#define NO_LOOP_SIGNAL \
	"a weft_signal belongs to the thread that opened it (its signal mask), not a loop"
#define NO_LOOP_PROCPOOL                                                                    \
	"a process pool is bound to a loop only while busy, and then refuses other loops' " \
	"fibers with -EXDEV (weft/process.h)"
#define CLOSE_RULE                                                                       \
	"allowed from any thread once the loop's run has returned and nothing is left; " \
	"-EXDEV with tasks left, -EBUSY while it runs (weft/loop.h)"

/* Everything the rows use, created on loop A. */
static struct {
	weft_loop *loop;
	pthread_t th;
	weft_task *task;   /* parked on @gate */
	weft_task *holder; /* holds @group, @scope and @it open until @release is set */
	weft_event *gate, *release, *ev;
	weft_queue *q;
	weft_lock *lock;
	weft_sem *sem;
	weft_cond *cond;
	weft_barrier *barrier;
	weft_future *fut;
	weft_timer *timer;
	weft_group *group;
	weft_scope scope;
	weft_as_completed *it;
	weft_sock *s1, *s2, *listener, *udp, *srv_listener;
	weft_stream *stream;
	weft_framer *framer;
	weft_tls_ctx *tc, *ts; /* TLS client and server contexts */
	weft_sock *t1, *t2;    /* a TLS connection: o.tls is its client side */
	weft_stream *tls;
	weft_task *tls_peer; /* its server side, open until @release is set */
	weft_server *srv;
	weft_sockaddr addr;
	char buf[16];
	int status;
} o;

static void noop(void *arg)
{
}

static void on_done(weft_task *t, void *arg)
{
}

static int nothing(void *arg)
{
	return 0;
}

static int visit(weft_task *t, void *arg)
{
	return 0;
}

static bool pred(void *arg)
{
	return true;
}

static int serve(weft_sock *conn, void *arg)
{
	return 0;
}

/* ---- the rows ----------------------------------------------------------------------------- */

#define ROWS(CALL, FIBER, PLAIN, EXEMPT)                                                      \
	/* loop.h */                                                                          \
	EXEMPT(weft_loop_close, CLOSE_RULE)                                                   \
	PLAIN(weft_loop_run, weft_loop_run(o.loop))                                           \
	PLAIN(weft_loop_run_forever, weft_loop_run_forever(o.loop))                           \
	PLAIN(weft_loop_run_nowait, weft_loop_run_nowait(o.loop))                             \
	CALL(weft_loop_fd, weft_loop_fd(o.loop))                                              \
	CALL(weft_loop_timeout, weft_loop_timeout(o.loop))                                    \
	CALL(weft_loop_buffers_register, weft_loop_buffers_register(o.loop, &iov, 1))         \
	CALL(weft_loop_buffers_unregister, weft_loop_buffers_unregister(o.loop))              \
	CALL(weft_loop_max_workers, weft_loop_max_workers(o.loop, &u1, &u2))                  \
	EXEMPT(weft_loop_dump, NO_STATUS "; a debugging aid that reads the loop (gdb)")       \
	CALL(weft_loop_call_soon, weft_loop_call_soon(o.loop, noop, NULL))                    \
	EXEMPT(weft_run, OWN_LOOP " (it makes a loop of its own)")                            \
	/* task.h */                                                                          \
	EXEMPT(weft_task_spawn, OWN_LOOP)                                                     \
	CALL(weft_loop_spawn, weft_loop_spawn(o.loop, NULL, nothing, NULL, NULL))             \
	FIBER(weft_task_join, weft_task_join(o.task, &st))                                    \
	PLAIN(weft_loop_run_until, weft_loop_run_until(o.loop, o.task, &st))                  \
	CALL(weft_task_detach, weft_task_detach(o.task))                                      \
	CALL(weft_task_cancel, weft_task_cancel(o.task))                                      \
	EXEMPT(weft_task_done, NO_STATUS)                                                     \
	EXEMPT(weft_task_cancelled, NO_STATUS)                                                \
	CALL(weft_task_status, weft_task_status(o.task, &st))                                 \
	EXEMPT(weft_task_state, NO_STATUS)                                                    \
	EXEMPT(weft_task_name, NO_STATUS)                                                     \
	EXEMPT(weft_task_arg, NO_STATUS)                                                      \
	EXEMPT(weft_task_id, NO_STATUS)                                                       \
	CALL(weft_task_on_done, weft_task_on_done(o.task, on_done, NULL))                     \
	EXEMPT(weft_task_current, NO_STATUS)                                                  \
	CALL(weft_loop_tasks, weft_loop_tasks(o.loop, visit, NULL))                           \
	/* time.h */                                                                          \
	EXEMPT(weft_sleep, OWN_LOOP)                                                          \
	EXEMPT(weft_sleep_until, OWN_LOOP)                                                    \
	EXEMPT(weft_yield, OWN_LOOP)                                                          \
	CALL(weft_timer_new, weft_timer_new(o.loop, &timer, noop, NULL))                      \
	CALL(weft_timer_start, weft_timer_start(o.timer, WEFT_FOREVER - 1, 0))                \
	EXEMPT(weft_timer_stop, NO_STATUS)                                                    \
	EXEMPT(weft_timer_active, NO_STATUS)                                                  \
	EXEMPT(weft_timer_free, NO_STATUS)                                                    \
	/* future.h */                                                                        \
	EXEMPT(weft_future_new, NEW_OBJ)                                                      \
	CALL(weft_future_set, weft_future_set(o.fut, 1, NULL))                                \
	CALL(weft_future_cancel, weft_future_cancel(o.fut))                                   \
	FIBER(weft_future_wait, weft_future_wait(o.fut, &item))                               \
	EXEMPT(weft_future_done, NO_STATUS)                                                   \
	EXEMPT(weft_future_free, FREE_OBJ)                                                    \
	/* queue.h */                                                                         \
	EXEMPT(weft_queue_new, NEW_OBJ)                                                       \
	FIBER(weft_queue_put, weft_queue_put(o.q, NULL))                                      \
	FIBER(weft_queue_get, weft_queue_get(o.q, &item))                                     \
	CALL(weft_queue_try_put, weft_queue_try_put(o.q, NULL))                               \
	CALL(weft_queue_try_get, weft_queue_try_get(o.q, &item))                              \
	EXEMPT(weft_queue_size, NO_STATUS)                                                    \
	EXEMPT(weft_queue_maxsize, NO_STATUS)                                                 \
	EXEMPT(weft_queue_empty, NO_STATUS)                                                   \
	EXEMPT(weft_queue_full, NO_STATUS)                                                    \
	CALL(weft_queue_task_done, weft_queue_task_done(o.q))                                 \
	FIBER(weft_queue_join, weft_queue_join(o.q))                                          \
	CALL(weft_queue_shutdown, weft_queue_shutdown(o.q, WEFT_QUEUE_SHUTDOWN_IMMEDIATE))    \
	EXEMPT(weft_queue_is_shutdown, NO_STATUS)                                             \
	EXEMPT(weft_queue_free, FREE_OBJ)                                                     \
	/* sync.h */                                                                          \
	EXEMPT(weft_lock_new, NEW_OBJ)                                                        \
	EXEMPT(weft_lock_free, FREE_OBJ)                                                      \
	FIBER(weft_lock_acquire, weft_lock_acquire(o.lock))                                   \
	FIBER(weft_lock_try_acquire, weft_lock_try_acquire(o.lock))                           \
	FIBER(weft_lock_release, weft_lock_release(o.lock))                                   \
	EXEMPT(weft_lock_locked, NO_STATUS)                                                   \
	EXEMPT(weft_sem_new, NEW_OBJ)                                                         \
	EXEMPT(weft_sem_free, FREE_OBJ)                                                       \
	FIBER(weft_sem_acquire, weft_sem_acquire(o.sem))                                      \
	CALL(weft_sem_try_acquire, weft_sem_try_acquire(o.sem))                               \
	CALL(weft_sem_release, weft_sem_release(o.sem))                                       \
	CALL(weft_sem_value, weft_sem_value(o.sem))                                           \
	EXEMPT(weft_cond_new, NEW_OBJ)                                                        \
	EXEMPT(weft_cond_free, FREE_OBJ)                                                      \
	EXEMPT(weft_cond_lock, NO_STATUS)                                                     \
	FIBER(weft_cond_wait, weft_cond_wait(o.cond))                                         \
	FIBER(weft_cond_wait_for, weft_cond_wait_for(o.cond, pred, NULL))                     \
	FIBER(weft_cond_notify, weft_cond_notify(o.cond))                                     \
	FIBER(weft_cond_notify_all, weft_cond_notify_all(o.cond))                             \
	FIBER(weft_cond_notify_n, weft_cond_notify_n(o.cond, 2))                              \
	EXEMPT(weft_event_new, NEW_OBJ)                                                       \
	EXEMPT(weft_event_free, FREE_OBJ)                                                     \
	CALL(weft_event_set, weft_event_set(o.ev))                                            \
	CALL(weft_event_clear, weft_event_clear(o.ev))                                        \
	FIBER(weft_event_wait, weft_event_wait(o.ev))                                         \
	EXEMPT(weft_event_is_set, NO_STATUS)                                                  \
	EXEMPT(weft_barrier_new, NEW_OBJ)                                                     \
	EXEMPT(weft_barrier_free, FREE_OBJ)                                                   \
	FIBER(weft_barrier_wait, weft_barrier_wait(o.barrier))                                \
	CALL(weft_barrier_abort, weft_barrier_abort(o.barrier))                               \
	CALL(weft_barrier_reset, weft_barrier_reset(o.barrier))                               \
	CALL(weft_barrier_parties, weft_barrier_parties(o.barrier))                           \
	CALL(weft_barrier_waiting, weft_barrier_waiting(o.barrier))                           \
	EXEMPT(weft_barrier_broken, NO_STATUS)                                                \
	/* group.h, scope.h */                                                                \
	FIBER(weft_tasks_gather, weft_tasks_gather(&o.task, 1, &st, 0))                       \
	FIBER(weft_tasks_wait, weft_tasks_wait(&o.task, 1, WEFT_WAIT_ALL_COMPLETED, 0))       \
	FIBER(weft_as_completed_new, weft_as_completed_new(&it, &o.task, 1))                  \
	FIBER(weft_as_completed_next, weft_as_completed_next(o.it, &task))                    \
	EXEMPT(weft_as_completed_free, NO_STATUS)                                             \
	FIBER(weft_task_wait_for, weft_task_wait_for(o.task, 0, &st))                         \
	EXEMPT(weft_group_open, OWN_LOOP)                                                     \
	CALL(weft_group_spawn, weft_group_spawn(o.group, nothing, NULL, NULL))                \
	EXEMPT(weft_group_cancel, NO_STATUS)                                                  \
	FIBER(weft_group_close, weft_group_close(o.group))                                    \
	FIBER(weft_group_close_errors, weft_group_close_errors(o.group, NULL, 0, NULL))       \
	FIBER(weft_group_start, weft_group_start(o.group, nothing, NULL, NULL, NULL))         \
	EXEMPT(weft_task_started, OWN_LOOP)                                                   \
	EXEMPT(weft_scope_enter, OWN_LOOP)                                                    \
	FIBER(weft_scope_exit, weft_scope_exit(&o.scope))                                     \
	EXEMPT(weft_scope_cancel, NO_STATUS)                                                  \
	CALL(weft_scope_reschedule, weft_scope_reschedule(&o.scope, 0))                       \
	CALL(weft_scope_shield, weft_scope_shield(&o.scope, true))                            \
	EXEMPT(weft_scope_deadline, NO_STATUS)                                                \
	EXEMPT(weft_scope_cancel_called, NO_STATUS)                                           \
	EXEMPT(weft_scope_cancelled_caught, NO_STATUS)                                        \
	EXEMPT(weft_deadline, OWN_LOOP)                                                       \
	EXEMPT(weft_checkpoint, OWN_LOOP)                                                     \
	/* net.h, udp.h, unix.h, server.h */                                                  \
	EXEMPT(weft_addr_parse, PURE)                                                         \
	EXEMPT(weft_addr_inet, PURE)                                                          \
	EXEMPT(weft_addr_unix, PURE)                                                          \
	EXEMPT(weft_addr_format, PURE)                                                        \
	EXEMPT(weft_addr_port, PURE)                                                          \
	EXEMPT(weft_addr_resolve, OWN_LOOP)                                                   \
	EXEMPT(weft_sock_open, OWN_LOOP)                                                      \
	EXEMPT(weft_sock_wrap, OWN_LOOP)                                                      \
	CALL(weft_sock_bind, weft_sock_bind(o.s2, &o.addr))                                   \
	FIBER(weft_sock_connect, weft_sock_connect(o.s2, &o.addr))                            \
	CALL(weft_sock_close, weft_sock_close(o.s2))                                          \
	CALL(weft_sock_abort, weft_sock_abort(o.s2))                                          \
	CALL(weft_sock_shutdown, weft_sock_shutdown(o.s2, SHUT_RDWR))                         \
	CALL(weft_sock_fd, weft_sock_fd(o.s2))                                                \
	CALL(weft_sock_local_addr, weft_sock_local_addr(o.s2, &addr))                         \
	CALL(weft_sock_peer_addr, weft_sock_peer_addr(o.s2, &addr))                           \
	CALL(weft_sock_set_nodelay, weft_sock_set_nodelay(o.listener, true))                  \
	CALL(weft_sock_set_keepalive, weft_sock_set_keepalive(o.s2, true, 1, 1, 1))           \
	FIBER(weft_sock_recv, weft_sock_recv(o.s2, o.buf, 1))                                 \
	FIBER(weft_sock_send, weft_sock_send(o.s2, "x", 1))                                   \
	FIBER(weft_sock_send_some, weft_sock_send_some(o.s2, "x", 1))                         \
	FIBER(weft_sock_sendv, weft_sock_sendv(o.s2, &iov, 1))                                \
	FIBER(weft_sock_sendfile, weft_sock_sendfile(o.s2, 0, 0, 1))                          \
	CALL(weft_sock_stream, weft_sock_stream(o.s2, NULL, &stream))                         \
	EXEMPT(weft_tcp_connect, OWN_LOOP)                                                    \
	EXEMPT(weft_tcp_connect_host, OWN_LOOP)                                               \
	EXEMPT(weft_tcp_connect_retry, OWN_LOOP)                                              \
	EXEMPT(weft_tcp_listen, OWN_LOOP)                                                     \
	FIBER(weft_sock_accept, weft_sock_accept(o.listener, &sock, NULL))                    \
	EXEMPT(weft_udp_open, OWN_LOOP)                                                       \
	FIBER(weft_sock_sendto, weft_sock_sendto(o.udp, "x", 1, &o.addr))                     \
	FIBER(weft_sock_recvfrom, weft_sock_recvfrom(o.udp, o.buf, 1, NULL, NULL))            \
	CALL(weft_udp_multicast_join, weft_udp_multicast_join(o.udp, &o.addr, 0))             \
	CALL(weft_udp_multicast_leave, weft_udp_multicast_leave(o.udp, &o.addr, 0))           \
	CALL(weft_udp_multicast_loop, weft_udp_multicast_loop(o.udp, true))                   \
	EXEMPT(weft_unix_connect, OWN_LOOP)                                                   \
	EXEMPT(weft_unix_listen, OWN_LOOP)                                                    \
	EXEMPT(weft_unix_dgram, OWN_LOOP)                                                     \
	EXEMPT(weft_unix_socketpair, OWN_LOOP)                                                \
	FIBER(weft_unix_send_fds, weft_unix_send_fds(o.s2, "x", 1, &fd0, 1))                  \
	FIBER(weft_unix_recv_fds, weft_unix_recv_fds(o.s2, o.buf, 1, &fd, &u1, NULL))         \
	CALL(weft_server_start, weft_server_start(&srv, o.listener, serve, NULL, NULL))       \
	FIBER(weft_server_shutdown, weft_server_shutdown(o.srv, 0))                           \
	FIBER(weft_server_wait, weft_server_wait(o.srv))                                      \
	CALL(weft_server_addr, weft_server_addr(o.srv, &addr))                                \
	EXEMPT(weft_server_conns, NO_STATUS)                                                  \
	CALL(weft_server_free, weft_server_free(o.srv))                                       \
	EXEMPT(weft_tcp_serve, OWN_LOOP)                                                      \
	/* stream.h, frame.h */                                                               \
	EXEMPT(weft_stream_new, OWN_LOOP)                                                     \
	FIBER(weft_stream_close, weft_stream_close(o.stream))                                 \
	EXEMPT(weft_stream_free, NO_STATUS)                                                   \
	FIBER(weft_stream_read, weft_stream_read(o.stream, o.buf, 1))                         \
	FIBER(weft_stream_read_exactly, weft_stream_read_exactly(o.stream, o.buf, 1, NULL))   \
	FIBER(weft_stream_read_to_end, weft_stream_read_to_end(o.stream, o.buf, 1, NULL))     \
	FIBER(weft_stream_read_until, weft_stream_read_until(o.stream, o.buf, 8, 8, "\n", 1)) \
	FIBER(weft_stream_read_line, weft_stream_read_line(o.stream, o.buf, 8, 8))            \
	FIBER(weft_stream_peek, weft_stream_peek(o.stream, 1, &data, &len))                   \
	CALL(weft_stream_consume, weft_stream_consume(o.stream, 0))                           \
	EXEMPT(weft_stream_buffered, NO_STATUS)                                               \
	FIBER(weft_stream_write, weft_stream_write(o.stream, "x", 1))                         \
	FIBER(weft_stream_writev, weft_stream_writev(o.stream, &iov, 1))                      \
	FIBER(weft_stream_flush, weft_stream_flush(o.stream))                                 \
	FIBER(weft_stream_shutdown, weft_stream_shutdown(o.stream))                           \
	EXEMPT(weft_stream_written, NO_STATUS)                                                \
	EXEMPT(weft_stream_io, NO_STATUS)                                                     \
	EXEMPT(weft_stream_transport, NO_STATUS)                                              \
	/* tls.h */                                                                           \
	FIBER(weft_tls_client, weft_tls_client(&stream, o.s2, o.tc, NULL))                    \
	FIBER(weft_tls_server, weft_tls_server(&stream, o.s2, o.ts, NULL))                    \
	FIBER(weft_tls_client_stream, weft_tls_client_stream(&stream, o.stream, o.tc, NULL))  \
	FIBER(weft_tls_server_stream, weft_tls_server_stream(&stream, o.stream, o.ts, NULL))  \
	CALL(weft_tls_abort, weft_tls_abort(o.tls))                                           \
	FIBER(weft_tls_sendfile, weft_tls_sendfile(o.tls, 0, 0, 1))                           \
	CALL(weft_tls_info, weft_tls_info(o.tls, &tls_info))                                  \
	EXEMPT(weft_tls_error, NO_STATUS)                                                     \
	EXEMPT(weft_framer_new, NEW_OBJ)                                                      \
	FIBER(weft_framer_next, weft_framer_next(o.framer, &frame))                           \
	FIBER(weft_framer_read, weft_framer_read(o.framer, o.buf, 8, NULL))                   \
	EXEMPT(weft_framer_skipped, NO_STATUS)                                                \
	EXEMPT(weft_framer_free, NO_STATUS)                                                   \
	/* file.h */                                                                          \
	EXEMPT(weft_file_open, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_openat, NO_LOOP_FILE)                                                \
	EXEMPT(weft_file_from_fd, NO_LOOP_FILE)                                               \
	EXEMPT(weft_file_close, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_file_release, NO_LOOP_FILE)                                               \
	EXEMPT(weft_file_read, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_write_some, NO_LOOP_FILE)                                            \
	EXEMPT(weft_file_readv, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_file_writev_some, NO_LOOP_FILE)                                           \
	EXEMPT(weft_file_read_exactly, NO_LOOP_FILE)                                          \
	EXEMPT(weft_file_write, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_file_read_all, NO_LOOP_FILE)                                              \
	EXEMPT(weft_file_seek, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_tell, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_pread, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_file_pwrite_some, NO_LOOP_FILE)                                           \
	EXEMPT(weft_file_preadv, NO_LOOP_FILE)                                                \
	EXEMPT(weft_file_pwritev_some, NO_LOOP_FILE)                                          \
	EXEMPT(weft_file_pread_exactly, NO_LOOP_FILE)                                         \
	EXEMPT(weft_file_pwrite, NO_LOOP_FILE)                                                \
	EXEMPT(weft_file_fsync, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_file_fdatasync, NO_LOOP_FILE)                                             \
	EXEMPT(weft_file_fallocate, NO_LOOP_FILE)                                             \
	EXEMPT(weft_file_ftruncate, NO_LOOP_FILE)                                             \
	EXEMPT(weft_file_statx, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_file_statx_at, NO_LOOP_FILE)                                              \
	EXEMPT(weft_file_size, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_rename, NO_LOOP_FILE)                                                \
	EXEMPT(weft_file_renameat, NO_LOOP_FILE)                                              \
	EXEMPT(weft_file_unlink, NO_LOOP_FILE)                                                \
	EXEMPT(weft_file_unlinkat, NO_LOOP_FILE)                                              \
	EXEMPT(weft_file_mkdir, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_file_mkdirat, NO_LOOP_FILE)                                               \
	EXEMPT(weft_file_rmdir, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_file_link, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_linkat, NO_LOOP_FILE)                                                \
	EXEMPT(weft_file_symlink, NO_LOOP_FILE)                                               \
	EXEMPT(weft_file_symlinkat, NO_LOOP_FILE)                                             \
	EXEMPT(weft_file_replace_atomic, NO_LOOP_FILE)                                        \
	EXEMPT(weft_file_replace_begin, NO_LOOP_FILE)                                         \
	EXEMPT(weft_file_replace_file, NO_LOOP_FILE)                                          \
	EXEMPT(weft_file_replace_commit, NO_LOOP_FILE)                                        \
	EXEMPT(weft_file_replace_abort, NO_LOOP_FILE)                                         \
	EXEMPT(weft_file_replace_from, NO_LOOP_FILE)                                          \
	EXEMPT(weft_dir_open, NO_LOOP_FILE)                                                   \
	EXEMPT(weft_dir_openat, NO_LOOP_FILE)                                                 \
	EXEMPT(weft_dir_next, NO_LOOP_FILE)                                                   \
	EXEMPT(weft_dir_fd, NO_LOOP_FILE)                                                     \
	EXEMPT(weft_dir_close, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_load, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_copy, NO_LOOP_FILE)                                                  \
	EXEMPT(weft_file_copy_path, NO_LOOP_FILE)                                             \
	EXEMPT(weft_file_sendfile, NO_LOOP_FILE)                                              \
	EXEMPT(weft_file_stream, NO_LOOP_FILE)                                                \
	EXEMPT(weft_file_dio_align, NO_LOOP_FILE)                                             \
	EXEMPT(weft_file_register, OWN_LOOP)                                                  \
	EXEMPT(weft_file_unregister, OWN_LOOP)                                                \
	EXEMPT(weft_file_buffers_register, OWN_LOOP)                                          \
	EXEMPT(weft_file_buffers_unregister, OWN_LOOP)                                        \
	EXEMPT(weft_file_pread_fixed, NO_LOOP_FILE)                                           \
	EXEMPT(weft_file_pwrite_fixed_some, NO_LOOP_FILE)                                     \
	EXEMPT(weft_file_max_workers, OWN_LOOP)                                               \
	/* serial.h, signal.h, process.h */                                                   \
	EXEMPT(weft_serial_open, NO_LOOP_PORT)                                                \
	EXEMPT(weft_serial_adopt, NO_LOOP_PORT)                                               \
	EXEMPT(weft_serial_configure, NO_LOOP_PORT)                                           \
	EXEMPT(weft_serial_get_config, NO_LOOP_PORT)                                          \
	EXEMPT(weft_serial_close, NO_LOOP_PORT)                                               \
	EXEMPT(weft_serial_fd, NO_LOOP_PORT)                                                  \
	EXEMPT(weft_serial_stream, NO_LOOP_PORT)                                              \
	EXEMPT(weft_serial_read, NO_LOOP_PORT)                                                \
	EXEMPT(weft_serial_write, NO_LOOP_PORT)                                               \
	EXEMPT(weft_serial_drain, NO_LOOP_PORT)                                               \
	EXEMPT(weft_serial_flush, NO_LOOP_PORT)                                               \
	EXEMPT(weft_serial_modem_get, NO_LOOP_PORT)                                           \
	EXEMPT(weft_serial_modem_set, NO_LOOP_PORT)                                           \
	EXEMPT(weft_serial_send_break, NO_LOOP_PORT)                                          \
	EXEMPT(weft_serial_supervise, OWN_LOOP)                                               \
	EXEMPT(weft_signal_open, NO_LOOP_SIGNAL)                                              \
	EXEMPT(weft_signal_wait, NO_LOOP_SIGNAL)                                              \
	EXEMPT(weft_signal_try_wait, NO_LOOP_SIGNAL)                                          \
	EXEMPT(weft_signal_watch, OWN_LOOP)                                                   \
	EXEMPT(weft_signal_fd, NO_LOOP_SIGNAL)                                                \
	EXEMPT(weft_signal_close, NO_STATUS)                                                  \
	EXEMPT(weft_procpool_new, NO_LOOP_PROCPOOL)                                           \
	EXEMPT(weft_procpool_run, NO_LOOP_PROCPOOL)                                           \
	EXEMPT(weft_procpool_shutdown, NO_LOOP_PROCPOOL)                                      \
	EXEMPT(weft_procpool_free, NO_STATUS)                                                 \
	EXEMPT(weft_procpool_size, NO_STATUS)                                                 \
	EXEMPT(weft_procpool_pid, NO_STATUS)                                                  \
	EXEMPT(weft_process_wait, OWN_LOOP)

enum row_kind { ROW_CALL, ROW_FIBER, ROW_PLAIN };

struct row {
	const char *name;
	enum row_kind kind;
	long (*run)(void);
};

/* Scratch the rows write into (never the shared objects: a refused call must not touch them). */
static weft_timer *timer;
static weft_stream *stream;
static weft_server *srv;
static weft_sock *sock;
static weft_task *task;
static weft_as_completed *it;
static weft_sockaddr addr;
static void *item;
static const void *data;
static size_t len;
static unsigned u1, u2;
static int st, fd, fd0;
static struct iovec iov = {.iov_base = "x", .iov_len = 1};
static struct weft_frame frame;
static struct weft_tls_info tls_info;
static const struct weft_frame_spec spec = {
    .kind = WEFT_FRAME_DELIM, .max = 64, .delim = "\n", .delim_len = 1};

#define DEFINE_RUN(name, expr)       \
	static long run_##name(void) \
	{                            \
		return (long)(expr); \
	}
#define SKIP_RUN(name, why)
ROWS(DEFINE_RUN, DEFINE_RUN, DEFINE_RUN, SKIP_RUN)

#define CALL_ROW(name, expr)  {#name, ROW_CALL, run_##name},
#define FIBER_ROW(name, expr) {#name, ROW_FIBER, run_##name},
#define PLAIN_ROW(name, expr) {#name, ROW_PLAIN, run_##name},
static const struct row rows[] = {ROWS(CALL_ROW, FIBER_ROW, PLAIN_ROW, SKIP_RUN)};

/* Run every row; in a fiber of another loop or not. Returns how many failed (each named). */
static int run_rows(bool in_fiber)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		long want = -EXDEV, got;

		if (r->kind == ROW_PLAIN && in_fiber)
			continue;
		if (getenv("WEFT_TEST_TRACE")) /* a row that hangs is the last one named */
			fprintf(stderr, "row %s\n", r->name);
		got = r->run();
		/* a blocking call may see that a plain thread has no fiber before the thread */
		if (got != want && !(r->kind == ROW_FIBER && !in_fiber && got == -EPERM)) {
			fprintf(stderr, "%s from %s: %ld (%s), expected %s\n", r->name,
				in_fiber ? "a fiber of another loop" : "a plain thread", got,
				got < 0 ? weft_strerror((int)got) : "acted",
				weft_strerror((int)want));
			failed++;
		}
	}
	return failed;
}

/* ---- loop A's objects ------------------------------------------------------------------------ */

static int parked(void *arg)
{
	return weft_event_wait(o.gate);
}

/* Holds a group, a scope and an as_completed iterator open (they belong to a task). */
static int holder(void *arg)
{
	int r;

	ck_assert_int_eq(weft_scope_enter(&o.scope, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_group_open(&o.group), 0);
	ck_assert_int_eq(weft_as_completed_new(&o.it, &o.task, 1), 0);
	r = weft_event_wait(o.release);
	weft_as_completed_free(o.it);
	ck_assert_int_eq(weft_group_close(o.group), 0);
	ck_assert_int_eq(weft_scope_exit(&o.scope), 0);
	return r;
}

/* The server side of o.tls, kept open until the test is over. */
static int tls_peer(void *arg)
{
	weft_stream *peer;
	int r = weft_tls_server(&peer, o.t2, o.ts, NULL);

	if (r)
		return r;
	r = weft_event_wait(o.release);
	weft_stream_close(peer);
	return r;
}

/* A TLS connection on loop A (self-signed certificate, a client that accepts it). */
static void tls_setup(void)
{
	struct tls_cert cert;

	ck_assert(tls_cert_make(&cert, "localhost", NULL, false, NULL, -60, 3600));
	ck_assert_int_eq(
	    weft_tls_ctx_new(&o.ts, &(struct weft_tls_ctx_opts){.flags = WEFT_TLS_SERVER,
								.cert_pem = cert.cert_pem,
								.key_pem = cert.key_pem}),
	    0);
	ck_assert_int_eq(
	    weft_tls_ctx_new(&o.tc, &(struct weft_tls_ctx_opts){.flags = WEFT_TLS_NO_VERIFY}), 0);
	tls_cert_free(&cert);
	ck_assert_int_eq(weft_unix_socketpair(SOCK_STREAM, &o.t1, &o.t2), 0);
	ck_assert_int_eq(weft_task_spawn(&o.tls_peer, tls_peer, NULL, NULL), 0);
	ck_assert_int_eq(weft_tls_client(&o.tls, o.t1, o.tc, NULL), 0);
}

static void tls_teardown(void)
{
	int status;

	ck_assert_int_eq(weft_task_join(o.tls_peer, &status), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(weft_stream_close(o.tls), 0);
	ck_assert_int_eq(weft_sock_close(o.t1), 0);
	ck_assert_int_eq(weft_sock_close(o.t2), 0);
	weft_tls_ctx_free(o.tc);
	weft_tls_ctx_free(o.ts);
}

static int setup(void *arg)
{
	weft_sockaddr local;

	ck_assert_int_eq(weft_event_new(NULL, &o.gate), 0);
	ck_assert_int_eq(weft_event_new(NULL, &o.release), 0);
	ck_assert_int_eq(weft_event_new(NULL, &o.ev), 0);
	ck_assert_int_eq(weft_queue_new(NULL, &o.q, WEFT_QUEUE_FIFO, 4, NULL, NULL), 0);
	ck_assert_int_eq(weft_lock_new(NULL, &o.lock), 0);
	ck_assert_int_eq(weft_sem_new(NULL, &o.sem, 1, 1), 0);
	ck_assert_int_eq(weft_cond_new(NULL, &o.cond, NULL), 0);
	ck_assert_int_eq(weft_barrier_new(NULL, &o.barrier, 2), 0);
	ck_assert_int_eq(weft_future_new(o.loop, &o.fut), 0);
	ck_assert_int_eq(weft_timer_new(o.loop, &o.timer, noop, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&o.task, parked, NULL, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&o.holder, holder, NULL, NULL), 0);
	ck_assert_int_eq(weft_unix_socketpair(SOCK_STREAM, &o.s1, &o.s2), 0);
	ck_assert_int_eq(weft_sock_stream(o.s1, NULL, &o.stream), 0);
	ck_assert_int_eq(weft_framer_new(&o.framer, o.stream, &spec), 0);
	ck_assert_int_eq(weft_addr_inet(&local, "127.0.0.1", 0), 0);
	ck_assert_int_eq(weft_tcp_listen(&o.listener, &local, NULL), 0);
	ck_assert_int_eq(weft_tcp_listen(&o.srv_listener, &local, NULL), 0);
	ck_assert_int_eq(weft_server_start(&o.srv, o.srv_listener, serve, NULL, NULL), 0);
	ck_assert_int_eq(weft_udp_open(&o.udp, &local, NULL, 0), 0);
	ck_assert_int_eq(weft_addr_inet(&o.addr, "239.1.2.3", 9), 0);
	tls_setup();
	return weft_yield(); /* the holder opens its group and scope */
}

static int teardown(void *arg)
{
	int status;

	ck_assert_int_eq(weft_event_set(o.release), 0);
	ck_assert_int_eq(weft_task_join(o.holder, &status), 0);
	ck_assert_int_eq(status, 0);
	tls_teardown();
	ck_assert_int_eq(weft_event_set(o.gate), 0);
	ck_assert_int_eq(weft_task_join(o.task, &status), 0);
	ck_assert_int_eq(status, 0);
	ck_assert_int_eq(weft_server_shutdown(o.srv, 0), 0);
	ck_assert_int_eq(weft_server_free(o.srv), 0);
	weft_framer_free(o.framer);
	ck_assert_int_eq(weft_sock_close(o.s1), 0);
	ck_assert_int_eq(weft_sock_close(o.s2), 0);
	ck_assert_int_eq(weft_sock_close(o.listener), 0);
	ck_assert_int_eq(weft_sock_close(o.udp), 0);
	weft_timer_free(o.timer);
	ck_assert_int_eq(weft_future_free(o.fut), 0);
	ck_assert_int_eq(weft_barrier_free(o.barrier), 0);
	ck_assert_int_eq(weft_cond_free(o.cond), 0);
	ck_assert_int_eq(weft_sem_free(o.sem), 0);
	ck_assert_int_eq(weft_lock_free(o.lock), 0);
	ck_assert_int_eq(weft_queue_free(o.q), 0);
	ck_assert_int_eq(weft_event_free(o.ev), 0);
	ck_assert_int_eq(weft_event_free(o.release), 0);
	ck_assert_int_eq(weft_event_free(o.gate), 0);
	return 0;
}

/* On loop A after the rows: a refused call must not have acted before refusing. */
static int untouched(void *arg)
{
	weft_scope sc;

	ck_assert(weft_queue_empty(o.q) && !weft_queue_is_shutdown(o.q));
	ck_assert(!weft_event_is_set(o.ev) && !weft_future_done(o.fut));
	ck_assert(!weft_timer_active(o.timer) && !weft_lock_locked(o.lock));
	ck_assert_int_eq(weft_sem_value(o.sem), 1);
	ck_assert(!weft_barrier_broken(o.barrier));
	ck_assert(!weft_task_cancelled(o.task) && !weft_task_cancelled(o.holder));
	ck_assert_int_eq(weft_task_status(o.task, &st), -EAGAIN); /* still parked, not detached */
	ck_assert_int_eq(weft_loop_tasks(o.loop, visit, NULL), 0);
	ck_assert_int_ge(weft_sock_fd(o.s2), 0);
	ck_assert_int_eq(weft_sock_send(o.s2, "y", 1), 1); /* not shut down */
	ck_assert_int_eq(weft_stream_read(o.stream, o.buf, 1), 1);
	ck_assert_int_eq(o.buf[0], 'y');
	/* still serving: waiting for it past a deadline times out (a stopped one returns 0) */
	ck_assert_int_eq(weft_scope_enter(&sc, 0, 0), 0);
	ck_assert_int_eq(weft_server_wait(o.srv), -ETIMEDOUT);
	weft_scope_exit(&sc);
	return 0;
}

static void *loop_a(void *arg)
{
	ck_assert_int_eq(weft_loop_run_forever(o.loop), 0);
	return NULL;
}

static int from_other_loop(void *arg)
{
	return run_rows(true);
}

START_TEST(every_not_thread_safe_call_refuses_other_threads)
{
	int status, failed;

	ck_assert_int_eq(weft_loop_new(&o.loop, NULL), 0);
	ck_assert_int_eq(pthread_create(&o.th, NULL, loop_a, NULL), 0);
	ck_assert_int_eq(weft_loop_call(o.loop, setup, NULL, WEFT_FOREVER, &status), 0);
	ck_assert_int_eq(status, 0);

	failed = run_rows(false);
	ck_assert_int_eq(weft_run(from_other_loop, NULL, NULL), 0);
	ck_assert_msg(failed == 0, "%d calls acted from a plain thread (named above)", failed);
	ck_assert_int_eq(weft_loop_call(o.loop, untouched, NULL, WEFT_FOREVER, &status), 0);
	ck_assert_int_eq(status, 0);

	ck_assert_int_eq(weft_loop_call(o.loop, teardown, NULL, WEFT_FOREVER, &status), 0);
	ck_assert_int_eq(status, 0);
	weft_loop_stop(o.loop);
	pthread_join(o.th, NULL);
	ck_assert_int_eq(weft_loop_close(o.loop), 0);
}
END_TEST

static Suite *threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("rules");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, every_not_thread_safe_call_refuses_other_threads);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(threads_suite)

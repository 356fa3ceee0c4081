/* SPDX-License-Identifier: MIT */
/*
 * Servers: an accept loop spawning one fiber per connection (asyncio.start_server,
 * trio.serve_tcp), with a connection limit and graceful shutdown.
 *
 * The serving fiber opens a task group for the connections (so none outlives the server) and
 * accepts inside a cancel scope of its own. Shutdown cancels that scope only: accepting stops,
 * the listener is closed, the connections get the grace period inside a shield (a cancelled
 * serving task still gives them their time), and the group then cancels and waits for the rest.
 * A handler's failure is reported, never allowed to cancel its siblings (the connection fiber
 * always returns 0 to the group).
 */
#include <errno.h>
#include <stdio.h>

#include "weft/group.h"
#include "weft/scope.h"
#include "weft/sync.h"
#include "weft/task.h"
#include "weft/time.h"
#include "engine/module.h"
#include "sock.h"

#define ACCEPT_PAUSE (100 * WEFT_MSEC) /* after running out of fds or memory */

struct weft_server {
	weft_sock *listener; /* NULL once closed */
	weft_server_fn fn;
	void *fn_arg;
	struct weft_server_opts opts;
	weft_scope accept_scope;
	bool in_accept;	  /* accept_scope is entered */
	bool stopping;	  /* shutdown asked, or accepting ended */
	bool stopped;	  /* every connection is gone */
	weft_sem *slots;  /* max_conns permits, or NULL */
	weft_event *idle; /* set when the last connection ends while stopping */
	/* Fibers in shutdown/wait: handed the result when the server stops, so none of them
	 * touches the server again (weft_tcp_serve frees it right after). */
	struct weft__list stop_waiters;
	pthread_t thread; /* the loop's (the server may be freed after the loop closed) */
	struct weft_loop *loop;
	unsigned nconns;
	int64_t grace;
	int cancelled; /* connections the shutdown had to cancel */
	unsigned said; /* accept errors already printed (bit per kind) */
};

struct conn {
	weft_server *srv;
	weft_sock *sock;
};

static void report(weft_server *srv, int err)
{
	unsigned bit = err == -EMFILE ? 1 : err == -ENFILE ? 2 : err == -ENOBUFS ? 4 : 8;

	if (srv->opts.on_error) {
		srv->opts.on_error(srv, err, srv->opts.arg);
		return;
	}
	if (srv->said & bit)
		return;
	srv->said |= bit;
	fprintf(stderr, "weft: server: accept failed (%s); pausing and retrying\n",
		weft_strerror(err));
}

/* A connection is over: close it and give its slot back. */
static void conn_end(struct conn *c)
{
	weft_server *srv = c->srv;

	weft_sock_close(c->sock);
	weft__delete(c);
	if (srv->slots)
		weft_sem_release(srv->slots);
	if (!--srv->nconns && srv->stopping)
		weft_event_set(srv->idle);
}

static int conn_main(void *arg)
{
	struct conn *c = arg;
	weft_server *srv = c->srv;
	int r = srv->fn(c->sock, srv->fn_arg);

	if (r < 0 && r != -ECANCELED && srv->opts.on_error)
		srv->opts.on_error(srv, r, srv->opts.arg);
	conn_end(c);
	return 0;
}

static int spawn_conn(weft_server *srv, weft_group *g, weft_sock *sock)
{
	struct weft_task_opts to = {.name = "conn", .stack_size = srv->opts.stack_size};
	struct conn *c = weft__new(struct conn);
	int r;

	if (!c)
		return -ENOMEM;
	c->srv = srv;
	c->sock = sock;
	r = weft_group_spawn(g, conn_main, c, &to);
	if (r) {
		weft__delete(c);
		return r;
	}
	srv->nconns++;
	return 0;
}

static bool out_of_resources(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

/* Accept until told to stop; returns why it stopped. */
static int accept_loop(weft_server *srv, weft_group *g)
{
	for (;;) {
		weft_sock *conn;
		int r;

		if (srv->slots && (r = weft_sem_acquire(srv->slots)))
			return r;
		r = weft_sock_accept(srv->listener, &conn, NULL);
		if (!r && (r = spawn_conn(srv, g, conn)))
			weft_sock_close(conn);
		if (!r)
			continue;
		if (srv->slots)
			weft_sem_release(srv->slots);
		if (r == -ECANCELED || r == -ETIMEDOUT)
			return r;
		if (out_of_resources(r)) {
			report(srv, r);
			if ((r = weft_sleep(ACCEPT_PAUSE)))
				return r;
		} else if (r != -ECONNABORTED && r != -EPROTO && r != -EINTR) {
			report(srv, r);
			return r; /* the listener itself is broken */
		}
	}
}

/* Give the connections the grace period (shielded: a cancelled server still waits), then
 * cancel what is left; the group waits for them. */
static void drain(weft_server *srv, weft_group *g)
{
	weft_scope shield;
	int r = 0;

	if (srv->grace > 0 &&
	    !weft_scope_enter(&shield, weft__deadline_after(weft_now(), srv->grace),
			      WEFT_SCOPE_SHIELD)) {
		while (srv->nconns && !r)
			r = weft_event_wait(srv->idle);
		weft_scope_exit(&shield);
	}
	srv->cancelled = (int)srv->nconns;
	if (srv->nconns)
		weft_group_cancel(g);
	weft_group_close(g); /* every connection task runs, so each one ended itself */
}

/* Accept inside our own cancel scope, which a shutdown cancels. Returns why it stopped: 0 for a
 * shutdown, else the serving fiber's own cancellation or deadline, or the listener's error. */
static int accept_phase(weft_server *srv, weft_group *g)
{
	int r;

	if (srv->stopping || weft_scope_enter(&srv->accept_scope, WEFT_FOREVER, 0))
		return 0;
	srv->in_accept = true;
	if (srv->opts.on_start)
		srv->opts.on_start(srv, srv->opts.arg);
	r = accept_loop(srv, g);
	srv->in_accept = false;
	weft_scope_exit(&srv->accept_scope);
	return srv->stopping ? 0 : weft_checkpoint() ? weft_checkpoint() : r;
}

/* The serving fiber's whole life. */
static int serve(weft_server *srv)
{
	weft_group *g = NULL;
	int why = weft_group_open(&g);

	if (!why)
		why = accept_phase(srv, g);
	srv->stopping = true;
	weft_sock_close(srv->listener);
	srv->listener = NULL;
	if (g)
		drain(srv, g);
	srv->stopped = true;
	weft__sync_wake_all(&srv->stop_waiters, srv->cancelled);
	return why;
}

static int server_new(weft_server **srvp, weft_sock *listener, weft_server_fn fn, void *fn_arg,
		      const struct weft_server_opts *opts)
{
	weft_server *srv;
	int r;

	if (!srvp || !listener || !fn || weft__reserved_bad(opts) || (opts && opts->grace_ns < 0))
		return -EINVAL;
	if (weft__sock_check(listener, "weft_server_start"))
		return -EXDEV;
	srv = weft__new(weft_server);
	if (!srv)
		return -ENOMEM;
	if (opts)
		srv->opts = *opts;
	srv->listener = listener;
	srv->loop = listener->loop;
	srv->thread = listener->thread;
	weft__list_init(&srv->stop_waiters);
	srv->fn = fn;
	srv->fn_arg = fn_arg;
	srv->grace = srv->opts.grace_ns; /* 0 is no grace, as for weft_server_shutdown */
	r = weft_event_new(listener->loop, &srv->idle);
	if (!r && srv->opts.max_conns)
		r = weft_sem_new(listener->loop, &srv->slots, srv->opts.max_conns,
				 srv->opts.max_conns);
	if (r) {
		srv->stopped = true;
		srv->listener = NULL; /* still the caller's */
		weft_server_free(srv);
		return r;
	}
	*srvp = srv;
	return 0;
}

static int serve_main(void *arg)
{
	return serve(arg);
}

int weft_server_start(weft_server **srvp, weft_sock *listener, weft_server_fn fn, void *fn_arg,
		      const struct weft_server_opts *opts)
{
	struct weft_task_opts to = {.name = "server"};
	weft_server *srv;
	int r;

	r = server_new(&srv, listener, fn, fn_arg, opts);
	if (r)
		return r;
	/* Detached: the server is waited for through its events, not by joining. */
	r = weft_loop_spawn(listener->loop, NULL, serve_main, srv, &to);
	if (r) {
		srv->stopped = true;
		srv->listener = NULL;
		weft_server_free(srv);
		return r;
	}
	*srvp = srv;
	return 0;
}

/* Wait until the server has stopped; the number of connections it cancelled. */
static int wait_stopped(weft_server *srv)
{
	struct weft__sync_wait sw;
	int r = weft__fiber_on(srv->loop);

	if (r)
		return r;
	if (srv->stopped)
		return srv->cancelled;
	r = weft__fiber_check(srv->loop);
	return r ? r
		 : weft__sync_park(&srv->stop_waiters, &sw, weft_task_current(), "server",
				   weft__sync_interrupt);
}

int weft_server_shutdown(weft_server *srv, int64_t grace_ns)
{
	int r;

	if (!srv || grace_ns < 0)
		return -EINVAL;
	r = weft__fiber_on(srv->loop); /* -EPERM outside a fiber, -EXDEV from another loop */
	if (r)
		return r;
	if (!srv->stopping) {
		srv->grace = grace_ns;
		srv->stopping = true;
		if (srv->in_accept)
			weft_scope_cancel(&srv->accept_scope);
	}
	return wait_stopped(srv);
}

int weft_server_wait(weft_server *srv)
{
	int r;

	if (!srv)
		return -EINVAL;
	r = wait_stopped(srv);
	return r < 0 ? r : 0;
}

int weft_server_addr(const weft_server *srv, weft_sockaddr *addr)
{
	if (!srv || !addr)
		return -EINVAL;
	if (weft__owner_check(srv->loop, srv->thread, __func__))
		return -EXDEV;
	if (!srv->listener)
		return -EBADF;
	return weft_sock_local_addr(srv->listener, addr);
}

unsigned weft_server_conns(const weft_server *srv)
{
	return srv ? srv->nconns : 0;
}

int weft_server_free(weft_server *srv)
{
	if (!srv)
		return 0;
	if (weft__owner_check(srv->loop, srv->thread, __func__))
		return -EXDEV;
	if (!srv->stopped)
		return -EBUSY;
	weft_event_free(srv->idle);
	weft_sem_free(srv->slots);
	weft__delete(srv);
	return 0;
}

int weft_tcp_serve(const weft_sockaddr *addr, weft_server_fn fn, void *fn_arg,
		   const struct weft_server_opts *opts)
{
	weft_server *srv;
	weft_sock *listener;
	int r;

	if (!fn)
		return -EINVAL;
	if (!weft_task_current())
		return -EPERM;
	r = weft_tcp_listen(&listener, addr, NULL);
	if (r)
		return r;
	r = server_new(&srv, listener, fn, fn_arg, opts);
	if (r) {
		weft_sock_close(listener);
		return r;
	}
	r = serve(srv);
	weft_server_free(srv);
	return r;
}

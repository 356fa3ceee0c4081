/* SPDX-License-Identifier: MIT */
/*
 * weft/server.h - the server helper: one fiber per connection, a connection limit, graceful
 * shutdown (asyncio's start_server / serve_forever, trio's serve_tcp). Part of the net module:
 * the rules at the top of weft/net.h apply
 * (not thread-safe: -EXDEV from a thread that does not run the loop).
 */
#ifndef WEFT_SERVER_H
#define WEFT_SERVER_H

#include "net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- servers --------------------------------------------------------------------------- */

typedef struct weft_server weft_server;

/*
 * A connection handler: runs in its own fiber for each accepted connection. @conn is the
 * server's: it is closed when the handler returns (do not close it; weft_sock_abort is fine).
 * The return value is ignored by the server except for on_error reporting of negative values
 * other than -ECANCELED.
 */
typedef int (*weft_server_fn)(weft_sock *conn, void *arg);

/*
 * struct weft_server_opts - zero fields take defaults (for @grace_ns the default is 0: none).
 * @max_conns:  most connections handled at once; at the limit the server stops accepting until
 *              one ends (the kernel's backlog holds newcomers). 0 = no limit.
 * @stack_size: connection fibers' stack size; 0 = the loop's default.
 * @grace_ns:   weft_tcp_serve's grace period when its fiber is cancelled: how long the running
 *              connections may take to finish before they are cancelled. 0 (and NULL @opts)
 *              means none - they are cancelled at once, as trio's serve_tcp does - the same
 *              meaning 0 has for weft_server_shutdown(); e.g. 5 * WEFT_SEC gives them 5 s.
 *              Negative: weft_server_start / weft_tcp_serve return -EINVAL.
 * @on_error:   told about accept errors the server rides out (-EMFILE, -ENFILE, -ENOBUFS,
 *              -ENOMEM: it pauses 100 ms and retries) and handler failures. NULL: accept
 *              errors print one line on stderr the first time each kind occurs.
 * @on_start:   called once the server is listening (e.g. to read an ephemeral port with
 *              weft_server_addr), from the serving fiber. Under weft_tcp_serve the server it
 *              is handed is valid until weft_tcp_serve returns. Must not block.
 * @arg:        passed to @on_error and @on_start.
 */
struct weft_server_opts {
	unsigned max_conns;
	size_t stack_size;
	int64_t grace_ns;
	void (*on_error)(weft_server *srv, int err, void *arg);
	void (*on_start)(weft_server *srv, void *arg);
	void *arg;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/*
 * weft_server_start - serve @listener (a listening socket, which the server now owns) in a new
 * fiber of the current loop: one fiber per connection running @fn(@conn, @fn_arg)
 * (asyncio.start_server). Returns at once: 0, -EINVAL, -ENOMEM, -EPERM (no loop).
 * The serving fiber keeps the loop running until weft_server_shutdown().
 */
WEFT_API int weft_server_start(weft_server **srvp, weft_sock *listener, weft_server_fn fn,
			       void *fn_arg, const struct weft_server_opts *opts);

/*
 * weft_server_shutdown - graceful shutdown: stop accepting (the listener is closed), give the
 * running connections @grace_ns to finish (0: no grace, cancel them at once; the options'
 * grace_ns is not used here), then cancel those left and wait for them.
 * Returns the number of connections that had to be cancelled, or -EPERM outside a fiber,
 * -EINVAL, -ECANCELED / -ETIMEDOUT if the calling fiber is cancelled or its deadline passes
 * while waiting (the server still stops on its own; in cleanup code of a cancelled fiber call
 * it inside a WEFT_SCOPE_SHIELD scope to wait for it). Calling it again is harmless. Must run
 * in a fiber of the server's loop (not one of its connection fibers).
 */
WEFT_API int weft_server_shutdown(weft_server *srv, int64_t grace_ns);

/*
 * weft_server_wait - wait until the server has stopped (asyncio's serve_forever / wait_closed).
 * Returns 0 once stopped, -ETIMEDOUT / -ECANCELED for the waiting fiber, -EPERM.
 */
WEFT_API int weft_server_wait(weft_server *srv);

/* weft_server_addr - the listening address (for port 0). 0, or -EBADF once stopped. */
WEFT_API int weft_server_addr(const weft_server *srv, weft_sockaddr *addr);

/* weft_server_conns - connections being handled now. */
WEFT_API unsigned weft_server_conns(const weft_server *srv);

/*
 * weft_server_free - free a stopped server. Returns 0, or -EBUSY while it still serves (shut it
 * down first; nothing is freed then). NULL is a no-op.
 */
WEFT_API int weft_server_free(weft_server *srv);

/*
 * weft_tcp_serve - listen on @addr and serve in the calling fiber until it is cancelled (or its
 * scope's deadline passes), then shut down gracefully (@opts->grace_ns) and return -ECANCELED /
 * -ETIMEDOUT (trio.serve_tcp). Also stops when weft_server_shutdown() is called on the server
 * @opts->on_start hands out (then returns 0). Returns listen errors at once.
 */
WEFT_API int weft_tcp_serve(const weft_sockaddr *addr, weft_server_fn fn, void *fn_arg,
			    const struct weft_server_opts *opts);

#ifdef __cplusplus
}
#endif
#endif

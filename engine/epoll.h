/* SPDX-License-Identifier: MIT */
/*
 * The readiness backend's insides, shared by epoll.c (ops, multishot ops, the turn, life cycle)
 * and epoll_fd.c (what it knows per descriptor number). Private to those two files.
 */
#ifndef WEFT_ENGINE_EPOLL_H
#define WEFT_ENGINE_EPOLL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "list.h"

#define EVENT_BATCH  128
#define WATCH_EVENTS (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define READABLE     (EPOLLIN | EPOLLPRI | EPOLLRDHUP | EPOLLHUP | EPOLLERR)
#define GONE	     UINT32_MAX /* revents of a waiter whose descriptor was closed */
#define WRITABLE     (EPOLLOUT | EPOLLHUP | EPOLLERR)

enum fd_kind { FD_UNKNOWN, FD_POLLABLE, FD_FILE };

/* What the backend knows of one descriptor number. */
struct fdrec {
	struct weft__list waiters; /* struct weft__fdwait */
	uint32_t gen;		   /* in the epoll registration's data: stale events miss */
	uint32_t fdgen;		   /* the number's process-wide generation it was made under */
	uint8_t kind;		   /* enum fd_kind */
	uint8_t ready;		   /* WEFT__DIR_* that may not block (see drained()) */
	uint8_t stream;		   /* a SOCK_STREAM socket: 0 unknown, 1 yes, 2 no */
	bool hup;		   /* closed, error or urgent data seen: never assume drained */
	bool watched;		   /* registered with epoll */
	bool nonblock;		   /* known to be O_NONBLOCK */
	bool set_nonblock;	   /* and we made it so: undone when weft lets go of it */
};

struct weft__epoll {
	int epfd;
	struct fdrec **fds; /* by descriptor number */
	unsigned nfds;
	struct weft__list ms_run; /* multishots to issue this turn (by their end_node) */
	struct weft__list ending; /* multishots whose final completion is due */
	bool pwait2;		  /* epoll_pwait2 works (ns timeouts) */
	struct epoll_event events[EVENT_BATCH];
};

/* The record of @fd, or NULL; weft__fdrec_get makes one (NULL: no memory) and resets one made
 * under an older generation of the number. */
struct fdrec *weft__fdrec_find(struct weft__epoll *ep, int fd);
struct fdrec *weft__fdrec_get(struct weft__epoll *ep, int fd);
/* FD_FILE or FD_POLLABLE (fstat once per record), or a negative errno. */
int weft__fd_kind(struct fdrec *rec, int fd);
/* Make @fd O_NONBLOCK (once per record; remembered, to undo when weft lets go). */
int weft__fd_nonblock(struct fdrec *rec, int fd);
/* Register @fd with epoll, edge-triggered, both directions (once per record). */
int weft__fd_watch(struct weft__epoll *ep, struct fdrec *rec, int fd);
/* Readiness arrived (@events), or GONE: wake the waiters it concerns. */
void weft__fd_ready(struct fdrec *rec, uint32_t events);

#endif

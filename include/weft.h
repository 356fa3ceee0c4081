/* SPDX-License-Identifier: MIT */
/*
 * weft.h - a high-performance async engine for Linux, built on io_uring.
 *
 * Include this one header. The modules:
 *   weft/common.h  errors, time units, version
 *   weft/loop.h    event loops (one io_uring each, one per thread), weft_run()
 *   weft/task.h    tasks: spawn, join, detach, cancel, done callbacks, introspection
 *   weft/time.h    clock, sleep, yield, callback timers
 *   weft/scope.h   deadlines, cancel scopes, shields
 *   weft/group.h   gather, wait, as_completed, wait_for, task groups (nurseries)
 *   weft/future.h  one-shot futures
 *   weft/queue.h   FIFO, LIFO and priority queues with join/task_done and shutdown
 *   weft/sync.h    locks, semaphores, conditions, events, barriers, scoped guards
 *   weft/thread.h  posting into a loop from any thread, cross-thread futures and calls
 *   weft/executor.h  thread pools: run blocking functions without blocking the loop
 *   weft/channel.h   bounded channels between loops and threads
 *   weft/stream.h  the buffered reader/writer shared by sockets, files and ttys
 *   weft/process.h a process pool for CPU-bound work; child processes with a pidfd
 *   weft/signal.h  waiting for POSIX signals (signalfd through the ring)
 *   weft/file.h    files: open/read/write/fsync/statx, paths, whole-file helpers, atomic replace
 *   weft/dir.h     directory listing off the loop thread (weft_dir_open / _next / _close)
 *   weft/frame.h   framed reads from any stream: fixed, length-prefixed, delimited, tagged
 *   weft/serial.h  serial ports: termios, modem lines, drain/break, reconnect on unplug
 *   weft/net.h     sockets: addresses, TCP connect/listen/accept, retry
 *   weft/udp.h     UDP and datagram sockets, multicast
 *   weft/unix.h    Unix sockets, socketpair, passing descriptors
 *   weft/server.h  the server helper: a fiber per connection, limits, graceful shutdown
 *   weft/tls.h     TLS client and server streams over sockets or any stream (OpenSSL 3)
 * `make check-headers` fails when a header of include/weft/ is missing from this list or the
 * includes below.
 */
#ifndef WEFT_H
#define WEFT_H

#include "weft/common.h"
#include "weft/loop.h"
#include "weft/task.h"
#include "weft/time.h"
#include "weft/scope.h"
#include "weft/group.h"
#include "weft/future.h"
#include "weft/queue.h"
#include "weft/sync.h"
#include "weft/thread.h"
#include "weft/executor.h"
#include "weft/channel.h"
#include "weft/stream.h"
#include "weft/process.h"
#include "weft/signal.h"
#include "weft/file.h"
#include "weft/dir.h"
#include "weft/frame.h"
#include "weft/serial.h"
#include "weft/net.h"
#include "weft/udp.h"
#include "weft/unix.h"
#include "weft/server.h"
#include "weft/tls.h"

#endif

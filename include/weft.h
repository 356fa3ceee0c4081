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
 *   weft/net.h, weft/tls.h  sockets, servers, TLS streams (and files, serial ports, processes)
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
#include "weft/frame.h"
#include "weft/serial.h"
#include "weft/net.h"
#include "weft/tls.h"

#endif

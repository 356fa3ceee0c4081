/* SPDX-License-Identifier: MIT */
/*
 * The opcode table, after the kernel's io_uring/opdef.c: one row per io_uring opcode weft knows,
 * indexed by number. Numbers rather than only liburing 2.3's enum, because the running kernel is
 * newer than the header and later opcodes (FTRUNCATE ...) are used raw.
 *
 * For the readiness backend a row says how the op runs without a ring (enum weft__run) and which
 * function performs it (epoll_issue.c); for both backends it says which ops write the caller's
 * memory (valgrind cannot see the kernel do it through the ring) and which take a file (and so
 * may name a registered slot).
 */
#include <liburing.h>

#include "opdef.h"

#define RW(n, d, f, v)                                                                 \
	{                                                                              \
		.name = n, .run = WEFT__RUN_FILE, .dir = d, .fills = f, .vectored = v, \
		.file = true, .issue = weft__issue_rw                                  \
	}
#define SOCK(n, d, f, m)                                                                         \
	{                                                                                        \
		.name = n, .run = WEFT__RUN_READY, .dir = d, .fills = f, .msg = m, .file = true, \
		.dontwait = true, .issue = weft__issue_sock                                      \
	}
#define POOL(n, fn, takes_file)                                                   \
	{                                                                         \
		.name = n, .run = WEFT__RUN_POOL, .file = takes_file, .issue = fn \
	}
#define NAME(n)           \
	{                 \
		.name = n \
	}

const struct weft__opdef weft__opdefs[WEFT__OP_LAST] = {
    [IORING_OP_NOP] = {.name = "nop", .run = WEFT__RUN_INLINE, .issue = weft__issue_nop},
    [IORING_OP_READV] = RW("readv", WEFT__DIR_IN, true, true),
    [IORING_OP_WRITEV] = RW("writev", WEFT__DIR_OUT, false, true),
    [IORING_OP_FSYNC] = POOL("fsync", weft__issue_fsync, true),
    [IORING_OP_READ_FIXED] = RW("read_fixed", WEFT__DIR_IN, true, false),
    [IORING_OP_WRITE_FIXED] = RW("write_fixed", WEFT__DIR_OUT, false, false),
    [IORING_OP_POLL_ADD] = {.name = "poll_add", .run = WEFT__RUN_POLL, .file = true},
    [IORING_OP_POLL_REMOVE] = NAME("poll_remove"),
    [IORING_OP_SYNC_FILE_RANGE] = NAME("sync_file_range"),
    [IORING_OP_SENDMSG] = SOCK("sendmsg", WEFT__DIR_OUT, false, true),
    [IORING_OP_RECVMSG] = SOCK("recvmsg", WEFT__DIR_IN, true, true),
    [IORING_OP_TIMEOUT] = NAME("timeout"),
    [IORING_OP_TIMEOUT_REMOVE] = NAME("timeout_remove"),
    [IORING_OP_ACCEPT] = {.name = "accept",
			  .run = WEFT__RUN_READY,
			  .dir = WEFT__DIR_IN,
			  .file = true,
			  .issue = weft__issue_accept},
    [IORING_OP_ASYNC_CANCEL] = NAME("async_cancel"),
    [IORING_OP_LINK_TIMEOUT] = NAME("link_timeout"),
    [IORING_OP_CONNECT] = {.name = "connect",
			   .run = WEFT__RUN_READY,
			   .dir = WEFT__DIR_OUT,
			   .file = true,
			   .issue = weft__issue_connect},
    [IORING_OP_FALLOCATE] = POOL("fallocate", weft__issue_fallocate, true),
    [IORING_OP_OPENAT] = POOL("openat", weft__issue_openat, false),
    [IORING_OP_CLOSE] = {.name = "close", .run = WEFT__RUN_INLINE, .issue = weft__issue_close},
    [IORING_OP_FILES_UPDATE] = NAME("files_update"),
    [IORING_OP_STATX] = POOL("statx", weft__issue_statx, false),
    [IORING_OP_READ] = RW("read", WEFT__DIR_IN, true, false),
    [IORING_OP_WRITE] = RW("write", WEFT__DIR_OUT, false, false),
    [IORING_OP_FADVISE] = POOL("fadvise", weft__issue_fadvise, true),
    [IORING_OP_MADVISE] = NAME("madvise"),
    [IORING_OP_SEND] = SOCK("send", WEFT__DIR_OUT, false, false),
    [IORING_OP_RECV] = SOCK("recv", WEFT__DIR_IN, true, false),
    [IORING_OP_OPENAT2] = NAME("openat2"),
    [IORING_OP_EPOLL_CTL] = NAME("epoll_ctl"),
    [IORING_OP_SPLICE] = {.name = "splice",
			  .run = WEFT__RUN_FILE,
			  .file = true,
			  .two_files = true,
			  .issue = weft__issue_splice},
    [IORING_OP_PROVIDE_BUFFERS] = NAME("provide_buffers"),
    [IORING_OP_REMOVE_BUFFERS] = NAME("remove_buffers"),
    [IORING_OP_TEE] = NAME("tee"),
    [IORING_OP_SHUTDOWN] = {.name = "shutdown",
			    .run = WEFT__RUN_INLINE,
			    .file = true,
			    .issue = weft__issue_shutdown},
    [IORING_OP_RENAMEAT] = POOL("renameat", weft__issue_path, false),
    [IORING_OP_UNLINKAT] = POOL("unlinkat", weft__issue_path, false),
    [IORING_OP_MKDIRAT] = POOL("mkdirat", weft__issue_path, false),
    [IORING_OP_SYMLINKAT] = POOL("symlinkat", weft__issue_path, false),
    [IORING_OP_LINKAT] = POOL("linkat", weft__issue_path, false),
    [IORING_OP_MSG_RING] = NAME("msg_ring"),
    [IORING_OP_FSETXATTR] = NAME("fsetxattr"),
    [IORING_OP_SETXATTR] = NAME("setxattr"),
    [IORING_OP_FGETXATTR] = NAME("fgetxattr"),
    [IORING_OP_GETXATTR] = NAME("getxattr"),
    [IORING_OP_SOCKET] = NAME("socket"),
    [IORING_OP_URING_CMD] = NAME("uring_cmd"),
    [IORING_OP_SEND_ZC] = NAME("send_zc"),
    [IORING_OP_SENDMSG_ZC] = NAME("sendmsg_zc"),
    [49] = NAME("read_multishot"),
    [50] = NAME("waitid"),
    [51] = NAME("futex_wait"),
    [52] = NAME("futex_wake"),
    [53] = NAME("futex_waitv"),
    [54] = NAME("fixed_fd_install"),
    [WEFT__OP_FTRUNCATE] = POOL("ftruncate", weft__issue_ftruncate, true),
    [56] = NAME("bind"),
    [57] = NAME("listen"),
    [58] = NAME("recv_zc"),
    [59] = NAME("epoll_wait"),
    [60] = NAME("readv_fixed"),
    [61] = NAME("writev_fixed"),
    [62] = NAME("pipe"),
};

const char *weft__opdef_name(unsigned opcode)
{
	if (opcode < WEFT__OP_LAST && weft__opdefs[opcode].name)
		return weft__opdefs[opcode].name;
	return "op";
}

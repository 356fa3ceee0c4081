/* SPDX-License-Identifier: MIT */
/*
 * The opcode table, after the kernel's io_uring/opdef.c: what weft knows about each io_uring
 * opcode, indexed by number. Numbers, not liburing 2.3's enum, because the running kernel is
 * newer than the header and the later opcodes (FTRUNCATE, BIND, LISTEN ...) are used raw.
 */
#include "op.h"

static const char *const op_names[] = {
    [0] = "nop",
    [1] = "readv",
    [2] = "writev",
    [3] = "fsync",
    [4] = "read_fixed",
    [5] = "write_fixed",
    [6] = "poll_add",
    [7] = "poll_remove",
    [8] = "sync_file_range",
    [9] = "sendmsg",
    [10] = "recvmsg",
    [11] = "timeout",
    [12] = "timeout_remove",
    [13] = "accept",
    [14] = "async_cancel",
    [15] = "link_timeout",
    [16] = "connect",
    [17] = "fallocate",
    [18] = "openat",
    [19] = "close",
    [20] = "files_update",
    [21] = "statx",
    [22] = "read",
    [23] = "write",
    [24] = "fadvise",
    [25] = "madvise",
    [26] = "send",
    [27] = "recv",
    [28] = "openat2",
    [29] = "epoll_ctl",
    [30] = "splice",
    [31] = "provide_buffers",
    [32] = "remove_buffers",
    [33] = "tee",
    [34] = "shutdown",
    [35] = "renameat",
    [36] = "unlinkat",
    [37] = "mkdirat",
    [38] = "symlinkat",
    [39] = "linkat",
    [40] = "msg_ring",
    [41] = "fsetxattr",
    [42] = "setxattr",
    [43] = "fgetxattr",
    [44] = "getxattr",
    [45] = "socket",
    [46] = "uring_cmd",
    [47] = "send_zc",
    [48] = "sendmsg_zc",
    [49] = "read_multishot",
    [50] = "waitid",
    [51] = "futex_wait",
    [52] = "futex_wake",
    [53] = "futex_waitv",
    [54] = "fixed_fd_install",
    [55] = "ftruncate",
    [56] = "bind",
    [57] = "listen",
    [58] = "recv_zc",
    [59] = "epoll_wait",
    [60] = "readv_fixed",
    [61] = "writev_fixed",
    [62] = "pipe",
};

const char *weft__opdef_name(unsigned opcode)
{
	if (opcode < sizeof(op_names) / sizeof(op_names[0]) && op_names[opcode])
		return op_names[opcode];
	return "op";
}

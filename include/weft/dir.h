/* SPDX-License-Identifier: MIT */
/*
 * weft/dir.h - listing a directory without blocking the loop (os.scandir; aiofiles.os.scandir
 * does it on a thread pool): batches of getdents64(2) on weft's default thread pool, the
 * calling fiber parked meanwhile, then the batch's entries without a system call.
 *
 * A weft_dir belongs to no loop, like a weft_file (weft/file.h): fibers of any loop may use it,
 * one at a time. Not thread-safe.
 */
#ifndef WEFT_DIR_H
#define WEFT_DIR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_dir weft_dir;

/*
 * struct weft_dirent - one directory entry from weft_dir_next().
 * @name: the entry's name, NUL-terminated; valid until the next weft_dir_next() or
 *        weft_dir_close() on the same weft_dir.
 * @ino:  its inode number.
 * @type: DT_REG, DT_DIR, DT_LNK ... (<dirent.h>), or DT_UNKNOWN where the file system does not
 *        say (then statx tells).
 */
struct weft_dirent {
	const char *name;
	uint64_t ino;
	unsigned char type;
};

/*
 * weft_dir_open / weft_dir_openat - open directory @path (relative to @dirfd for the second) for
 * listing (os.scandir, but without blocking the loop: see weft_dir_next). Returns 0 and sets
 * *@dirp, or -ENOENT, -ENOTDIR, -EACCES, -EINVAL, -ENOMEM ... Holds a descriptor and a 32 KiB
 * batch buffer until weft_dir_close(). Must run in a fiber; a weft_dir is not thread-safe
 * (fibers of any loop may use it, one at a time).
 */
WEFT_API int weft_dir_open(weft_dir **dirp, const char *path);
WEFT_API int weft_dir_openat(weft_dir **dirp, int dirfd, const char *path);

/*
 * weft_dir_next - the next entry into *@ent: 1, 0 at the end, or a negative errno. "." and ".."
 * are skipped; the order is the file system's. Entries come in batches: one getdents64(2) on
 * weft's default thread pool (weft/executor.h) per batch of a few hundred, the fiber parked
 * meanwhile, then the rest of the batch without a system call. -ECANCELED / -ETIMEDOUT when
 * the fiber is cancelled or its deadline passes (checked first by every call, as for the other
 * file calls); a batch that arrived anyway is kept, so a later call goes on where this one
 * stopped (nothing skipped or repeated). Entries added or removed
 * while listing may or may not appear, as with readdir(3). Must run in a fiber.
 */
WEFT_API int weft_dir_next(weft_dir *dir, struct weft_dirent *ent);

/* weft_dir_fd - the directory's descriptor (for the *at calls: weft_file_openat,
 * weft_file_statx_at ...), or -EINVAL. Owned by @dir. Not thread-safe. */
WEFT_API int weft_dir_fd(const weft_dir *dir);

/* weft_dir_close - close the descriptor and free @dir (at any point of the listing). 0 or the
 * close's error; @dir is freed either way. NULL is a no-op returning 0. Not thread-safe. */
WEFT_API int weft_dir_close(weft_dir *dir);

#ifdef __cplusplus
}
#endif
#endif

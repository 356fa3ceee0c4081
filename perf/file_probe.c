/* SPDX-License-Identifier: MIT */
/*
 * perf/file_probe - which weft_file calls the kernel completes inline and which it punts to its
 * io-wq worker threads, measured on this machine and file system (not a suite: run it by hand,
 * `build/perf/file_probe [DIR]`, DIR defaulting to $TMPDIR or /tmp).
 *
 * io-wq workers are per thread and linger for seconds, so each call runs in a fresh child
 * process: the child sets up (plain system calls), runs the call once as a weft fiber, and counts
 * its threads named iou-wrk-*. 0 means the kernel completed the call inline (during submit, or
 * from task work / interrupt completion); 1 or more means it went to a worker. The time printed
 * is that one call's wall time in the child (cold: first use of the ring).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "weft.h"
#include "weft/file.h"

static char dir[PATH_MAX], path_a[PATH_MAX + 16], path_b[PATH_MAX + 16];

static int iou_workers(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char p[300], comm[64] = "";
		FILE *f;
		snprintf(p, sizeof(p), "/proc/self/task/%s/comm", e->d_name);
		f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

static char buf[1 << 20] __attribute__((aligned(4096)));

enum probe {
	P_OPEN_RDONLY,
	P_OPEN_CREAT,
	P_CLOSE,
	P_READ_CACHED_RING,
	P_READ_COLD,
	P_READ_DIRECT,
	P_WRITE_BUFFERED,
	P_WRITE_DIRECT,
	P_FSYNC,
	P_FALLOCATE,
	P_FTRUNCATE,
	P_STATX,
	P_RENAME,
	P_UNLINK,
	P_MKDIR,
	P_LINK,
	P_SYMLINK,
	P_SPLICE_COPY,
	P_SENDFILE,
	P_COUNT
};

static const char *const names[P_COUNT] = {"open O_RDONLY",
					   "open O_CREAT|O_TRUNC",
					   "close",
					   "read 4K cached (ring)",
					   "read 4K cold",
					   "read 4K O_DIRECT",
					   "write 4K buffered",
					   "write 4K O_DIRECT",
					   "fsync",
					   "fallocate",
					   "ftruncate",
					   "statx",
					   "rename",
					   "unlink",
					   "mkdir",
					   "link",
					   "symlink",
					   "copy (splice) 64K",
					   "sendfile (splice) 4K"};

struct ctx {
	enum probe p;
	weft_file *f;
	int sock;
	int64_t ns;
	int res;
};

static int run_probe(struct ctx *c)
{
	weft_file *g;
	int r = 0;

	switch (c->p) {
	case P_OPEN_RDONLY:
		r = weft_file_open(&g, path_a, O_RDONLY, 0);
		break;
	case P_OPEN_CREAT:
		r = weft_file_open(&g, path_b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		break;
	case P_CLOSE:
		r = weft_file_close(c->f);
		c->f = NULL;
		break;
	case P_READ_CACHED_RING:
		r = (int)weft_file_pread_fixed(c->f, buf, 4096, 0, 0);
		break;
	case P_READ_COLD:
	case P_READ_DIRECT:
		r = (int)weft_file_pread(c->f, buf, 4096, 8192);
		break;
	case P_WRITE_BUFFERED:
	case P_WRITE_DIRECT:
		r = (int)weft_file_pwrite_some(c->f, buf, 4096, 4096);
		break;
	case P_FSYNC:
		r = weft_file_fsync(c->f);
		break;
	case P_FALLOCATE:
		r = weft_file_fallocate(c->f, 0, 0, 1 << 20);
		break;
	case P_FTRUNCATE:
		r = weft_file_ftruncate(c->f, 1000);
		break;
	case P_STATX: {
		struct statx stx;
		r = weft_file_statx_at(AT_FDCWD, path_a, 0, STATX_BASIC_STATS, &stx);
		break;
	}
	case P_RENAME:
		r = weft_file_rename(path_a, path_b);
		break;
	case P_UNLINK:
		r = weft_file_unlink(path_a);
		break;
	case P_MKDIR:
		r = weft_file_mkdir(path_b, 0755);
		break;
	case P_LINK:
		r = weft_file_link(path_a, path_b);
		break;
	case P_SYMLINK:
		r = weft_file_symlink(path_a, path_b);
		break;
	case P_SPLICE_COPY:
		r = weft_file_open(&g, path_b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (!r) {
			int64_t n = weft_file_copy(g, c->f, 65536);
			r = n < 0 ? (int)n : 0;
		}
		break;
	case P_SENDFILE:
		r = (int)weft_file_sendfile(c->f, c->sock, 0, 4096);
		break;
	default:
		break;
	}
	return r;
}

static int probe_main(void *arg)
{
	struct ctx *c = arg;
	int64_t t0;
	int r = 0;

	/* The file under test, opened here (outside the timing) where the probe needs one. */
	if (c->p >= P_CLOSE && c->p <= P_FTRUNCATE) {
		int fl =
		    c->p == P_READ_DIRECT || c->p == P_WRITE_DIRECT ? O_RDWR | O_DIRECT : O_RDWR;
		r = weft_file_open(&c->f, path_a, fl, 0);
	} else if (c->p >= P_SPLICE_COPY) {
		r = weft_file_open(&c->f, path_a, O_RDONLY, 0);
	}
	if (!r && c->p == P_READ_CACHED_RING) {
		struct iovec iov = {buf, sizeof(buf)};
		r = weft_file_buffers_register(&iov, 1);
	}
	if (r)
		return r;
	t0 = weft_now();
	c->res = run_probe(c);
	c->ns = weft_now() - t0;
	if (c->f)
		weft_file_close(c->f);
	return 0;
}

static void setup(enum probe p)
{
	int fd = open(path_a, O_RDWR | O_CREAT | O_TRUNC, 0644);

	memset(buf, 'x', sizeof(buf));
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		perror("setup");
		exit(1);
	}
	fsync(fd);
	if (p == P_READ_COLD)
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	else
		pread(fd, buf, sizeof(buf), 0); /* warm */
	close(fd);
	unlink(path_b);
	rmdir(path_b);
}

static void probe(enum probe p)
{
	int pfd[2], sv[2], status;
	pid_t pid;

	if (pipe(pfd) || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		exit(1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct ctx c = {.p = p, .sock = sv[0]};
		char line[128];
		setup(p);
		int r = weft_run(probe_main, &c, NULL);
		snprintf(line, sizeof(line), "%-24s %-8s %4d worker(s)  %8.1f us  (result %d)\n",
			 names[p],
			 r		 ? "SETUP"
			 : iou_workers() ? "io-wq"
					 : "inline",
			 iou_workers(), (double)c.ns / 1e3, r ? r : c.res);
		if (write(pfd[1], line, strlen(line)) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	char out[256];
	ssize_t n = read(pfd[0], out, sizeof(out) - 1);
	waitpid(pid, &status, 0);
	if (n > 0) {
		out[n] = 0;
		fputs(out, stdout);
	}
	close(pfd[0]);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(dir, sizeof(dir), "%s/weft_probe.XXXXXX", base);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path_a, sizeof(path_a), "%s/a", dir);
	snprintf(path_b, sizeof(path_b), "%s/b", dir);
	printf("weft file probe in %s: where each call completes (fresh process each)\n", dir);
	for (int p = 0; p < P_COUNT; p++)
		probe((enum probe)p);
	unlink(path_a);
	unlink(path_b);
	rmdir(path_b);
	rmdir(dir);
	return 0;
}

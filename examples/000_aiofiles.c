/*
 * Seed: shared/seeds/000_a0461d47b698b941.txt, the aiofiles example.
 * Python: write_file("example.txt", "Hello, asyncio file I/O!") opens the file with mode 'w' and
 * awaits f.write(content); read_file("example.txt") opens it with mode 'r', awaits f.read() and
 * prints the contents; main runs the two in turn.
 *
 * The file calls are io_uring operations: the fiber parks while the kernel works and the loop
 * runs other tasks (aiofiles hands them to a thread pool instead). A cached read is served by
 * one plain non-blocking system call. example.txt goes into a fresh temporary directory, removed
 * at the end, so running the example leaves nothing behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <weft.h>
#include <weft/file.h>

static int read_file(const char *filename)
{
	weft_file *f;
	void *contents;
	size_t len;
	int err = weft_file_open(&f, filename, O_RDONLY, 0); /* aiofiles.open(filename, 'r') */

	if (err)
		return err;
	err = weft_file_read_all(f, &contents, &len, 0); /* await f.read() */
	weft_file_close(f);
	if (err)
		return err;
	printf("%s\n", (char *)contents);
	free(contents);
	return 0;
}

static int write_file(const char *filename, const char *content)
{
	weft_file *f;
	ssize_t n;
	int err = weft_file_open(&f, filename, O_WRONLY | O_CREAT | O_TRUNC, 0644); /* mode 'w' */

	if (err)
		return err;
	n = weft_file_write(f, content, strlen(content)); /* await f.write(content) */
	err = weft_file_close(f);
	return n < 0 ? (int)n : err;
}

static int async_main(void *arg)
{
	const char *path = arg;
	int err = write_file(path, "Hello, asyncio file I/O!");

	if (!err)
		err = read_file(path);
	weft_file_unlink(path);
	return err;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], path[600];
	int err;

	snprintf(dir, sizeof(dir), "%s/weft_example.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/example.txt", dir);
	err = weft_run(async_main, path, NULL);
	remove(dir);
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}

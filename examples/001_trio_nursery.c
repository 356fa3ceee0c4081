/*
 * Seed: shared/seeds/001_6c2a1a30c8c10e3f.txt, section 9.6.21.1 (Trio), the nursery example.
 * Python (trio): parent opens a nursery, start_soon()s child1 and child2 (each prints, sleeps
 * 1 s, prints), and leaving the nursery block waits for both before "parent: all done!".
 *
 * weft's task group is the nursery: children cannot outlive weft_group_close().
 */
#include <stdio.h>
#include <stdlib.h>
#include <weft.h>

static void check(int err, const char *what)
{
	if (err < 0) {
		fprintf(stderr, "%s: %s\n", what, weft_strerror(err));
		exit(1);
	}
}

static int child(void *arg)
{
	const char *name = arg;
	printf("  %s: started! sleeping now...\n", name);
	int err = weft_sleep(1 * WEFT_SEC);
	if (err)
		return err;
	printf("  %s: exiting!\n", name);
	return 0;
}

static int parent(void *arg)
{
	weft_group *nursery;

	printf("parent: started!\n");
	check(weft_group_open(&nursery), "group_open");
	printf("parent: spawning child1...\n");
	check(weft_group_spawn(nursery, child, "child1", NULL), "group_spawn");
	printf("parent: spawning child2...\n");
	check(weft_group_spawn(nursery, child, "child2", NULL), "group_spawn");
	printf("parent: waiting for children to finish...\n");
	/* -- we exit the nursery block here -- */
	check(weft_group_close(nursery), "group_close");
	printf("parent: all done!\n");
	return 0;
}

int main(void)
{
	int err = weft_run(parent, NULL, NULL);
	if (err < 0) {
		fprintf(stderr, "error: %s\n", weft_strerror(err));
		return 1;
	}
	return 0;
}

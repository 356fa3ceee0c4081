/* SPDX-License-Identifier: MIT */
/*
 * The bare context switch, without the loop: two contexts ping-pong while values live in
 * callee-saved registers (integer and FP), across recursion, and each keeps its own FP rounding
 * mode. Plain C (no Check) so it also runs cross-compiled under qemu: `make check-aarch64`.
 * Prints "N passed, N failed" like tests/run expects and exits non-zero on failure.
 */
#include <fenv.h>
#include <stdio.h>
#include <stdlib.h>
#include <valgrind/valgrind.h>

#include "engine/ctx.h"

#define ROUNDS 20000

static struct weft__ctx main_ctx, a_ctx, b_ctx, *prev; /* prev: for ASan, see ctx.h */
static int failures, checks;
static volatile double sink;

static void check(int ok)
{
	checks++;
	failures += !ok;
}

/* b runs with its own rounding mode for its whole life. */
static void run_b(void *arg)
{
	weft__ctx_entered(&prev);
	fesetround(FE_DOWNWARD);
	for (;;) {
		volatile double x = 1.0, y = 3.0;
		sink = x / y;
		check(fegetround() == FE_DOWNWARD);
		weft__ctx_jump(&b_ctx, &a_ctx, 0, &prev);
	}
}

/* Values computed before a switch deep in the recursion must be intact after it: the compiler
 * keeps them in callee-saved registers (x19-x28/d8-d15, rbx/rbp/r12-r15) across the call. */
static long recurse(long n, double d)
{
	double e = d * 1.5;
	long r;

	if (!n) {
		weft__ctx_jump(&a_ctx, &b_ctx, 0, &prev);
		return 0;
	}
	r = recurse(n - 1, e) + n;
	check(e == d * 1.5);
	return r;
}

static void run_a(void *arg)
{
	weft__ctx_entered(&prev);
	for (long i = 0; i < ROUNDS; i++) {
		long k = i * 3;
		double keep = (double)i * 0.5;
		check(recurse(10, (double)i) == 55);
		check(k == i * 3 && keep == (double)i * 0.5);
		check(fegetround() == FE_TONEAREST);
	}
	weft__ctx_jump(&a_ctx, &main_ctx, 0, &prev);
}

int main(void)
{
	size_t size = 1 << 16;
	char *sa = malloc(size), *sb = malloc(size);
	/* Tell valgrind these are stacks, or it reads each switch as a wild stack-pointer move. */
	unsigned va = VALGRIND_STACK_REGISTER(sa, sa + size),
		 vb = VALGRIND_STACK_REGISTER(sb, sb + size);

	weft__ctx_adopt_thread(&main_ctx);
	weft__ctx_make(&a_ctx, sa, size, run_a, NULL, weft__ctx_fpstate());
	weft__ctx_make(&b_ctx, sb, size, run_b, NULL, weft__ctx_fpstate());
	weft__ctx_jump(&main_ctx, &a_ctx, 0, &prev);
	check(fegetround() == FE_TONEAREST);
	weft__ctx_destroy(&a_ctx);
	weft__ctx_destroy(&b_ctx);
	VALGRIND_STACK_DEREGISTER(va);
	VALGRIND_STACK_DEREGISTER(vb);
	free(sa);
	free(sb);
	printf("ctx_check: %d passed, %d failed\n", checks - failures, failures);
	return failures != 0;
}

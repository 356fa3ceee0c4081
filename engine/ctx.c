/* SPDX-License-Identifier: MIT */
/* Building the first frame of a fiber, the mirror image of what ctx_<arch>.S pops. */
#include <stdint.h>
#include <string.h>

#include "ctx.h"

void weft__ctx_trampoline(void);

#if defined(__x86_64__)
uint64_t weft__ctx_fpstate(void)
{
	uint32_t mxcsr;
	uint16_t x87cw;

	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(x87cw));
	/* The switch's 8-byte slot: mxcsr, then the x87 control word. */
	return (uint64_t)mxcsr | (uint64_t)x87cw << 32;
}

void weft__ctx_make(struct weft__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg,
		    uint64_t fpstate)
{
	uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 56);

	/* What the switch pops, then what the trampoline pops. After both, rsp = top - 16: the
	 * entry is called with the stack 16-aligned, as the ABI wants at a call. */
	sp[0] = fpstate;				   /* mxcsr, x87 control word */
	sp[1] = 0;					   /* rbp: ends frame-pointer chains */
	sp[2] = (uint64_t)(uintptr_t)weft__ctx_trampoline; /* resume address */
	sp[3] = (uint64_t)(uintptr_t)arg;
	sp[4] = (uint64_t)(uintptr_t)entry;
	sp[5] = sp[6] = 0;
	ctx->sp = sp;
#ifdef WEFT_ASAN
	ctx->fake_stack = NULL;
	ctx->stack_lo = lo;
	ctx->stack_size = size;
#endif
#ifdef WEFT_TSAN
	ctx->tsan_fiber = __tsan_create_fiber(0);
#endif
}
#elif defined(__aarch64__)
uint64_t weft__ctx_fpstate(void)
{
	uint64_t fpcr;

	__asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
	return fpcr;
}

void weft__ctx_make(struct weft__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg,
		    uint64_t fpstate)
{
	uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)(top - 176);

	memset(sp, 0, 176);
	sp[0] = (uint64_t)(uintptr_t)entry;		    /* x19 */
	sp[1] = (uint64_t)(uintptr_t)arg;		    /* x20 */
	sp[11] = (uint64_t)(uintptr_t)weft__ctx_trampoline; /* x30 */
	sp[20] = fpstate;
	ctx->sp = sp;
#ifdef WEFT_ASAN
	ctx->fake_stack = NULL;
	ctx->stack_lo = lo;
	ctx->stack_size = size;
#endif
#ifdef WEFT_TSAN
	ctx->tsan_fiber = __tsan_create_fiber(0);
#endif
}
#else
#error "weft: no context switch for this architecture (x86-64 and aarch64 are supported)"
#endif

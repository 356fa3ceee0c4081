/* SPDX-License-Identifier: MIT */
/*
 * Fiber contexts: the assembly switch (ctx_<arch>.S) plus the sanitizer bookkeeping around it.
 *
 * weft__ctx_switch saves the callee-saved registers, the FP control state (MXCSR and the x87
 * control word on x86-64, FPCR on aarch64) and the resume address, stores the stack pointer in
 * *save_sp, loads load_sp and resumes there. Everything else is caller-saved by the ABI, so this
 * is the whole context.
 */
#ifndef WEFT_ENGINE_CTX_H
#define WEFT_ENGINE_CTX_H

#include <stddef.h>
#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif

#ifdef WEFT_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif

struct weft__ctx {
	void *sp;
#ifdef WEFT_ASAN
	void *fake_stack;     /* ASan's fake stack of this context while it is switched out */
	const void *stack_lo; /* bounds ASan must be told when switching to this context */
	size_t stack_size;
#endif
#ifdef WEFT_TSAN
	void *tsan_fiber; /* TSan's shadow state for this context */
#endif
};

/* Sanitizer bookkeeping for a context's life: the thread's own stack (the loop's context) is
 * adopted, a fiber's is created in weft__ctx_make and dropped once switched away from for good. */
static inline void weft__ctx_adopt_thread(struct weft__ctx *ctx)
{
#ifdef WEFT_TSAN
	ctx->tsan_fiber = __tsan_get_current_fiber();
#else
	(void)ctx;
#endif
}

static inline void weft__ctx_destroy(struct weft__ctx *ctx)
{
#ifdef WEFT_TSAN
	__tsan_destroy_fiber(ctx->tsan_fiber);
#else
	(void)ctx;
#endif
}

#if defined(__x86_64__)
/*
 * x86-64: the switch is inline assembly that declares every register the ABI lets a call
 * destroy, plus the callee-saved ones, as clobbered. The compiler then saves only the registers
 * it really has live, once, in the enclosing function's prologue, instead of the caller saving
 * its set and an out-of-line switch saving all six again. No call is made, so the CPU's
 * return-stack predictor stays balanced and the resumed fiber's own rets are predicted right
 * (fibers park through the same code).
 *
 * Saved below the red zone (which the enclosing function may be using), lowest address first:
 *   [mxcsr:4 | x87cw:2 | pad:2] [rbp] [resume address]
 * MXCSR and the x87 control word are stored and loaded on every switch, so each fiber keeps its
 * own rounding mode and exception masks, as threads do; loading them unconditionally is cheaper
 * than comparing first (reading the slot back defeats store-to-load forwarding).
 */
static inline __attribute__((always_inline)) void weft__ctx_switch(void **save_sp, void *load_sp)
{
	__asm__ volatile("leaq -128(%%rsp), %%rsp\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "pushq %%rbp\n\t"
			 "subq $8, %%rsp\n\t"
			 "stmxcsr (%%rsp)\n\t"
			 "fnstcw 4(%%rsp)\n\t"
			 "movq %%rsp, (%0)\n\t"
			 "movq %1, %%rsp\n\t"
			 "ldmxcsr (%%rsp)\n\t"
			 "fldcw 4(%%rsp)\n\t"
			 "addq $8, %%rsp\n\t"
			 "popq %%rbp\n\t"
			 "popq %%rax\n\t"
			 "jmpq *%%rax\n"
			 "1:\n\t"
			 "leaq 128(%%rsp), %%rsp"
			 : "+D"(save_sp), "+S"(load_sp)
			 :
			 : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13",
			   "r14", "r15", "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4",
			   "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
			   "xmm13", "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)",
			   "st(5)", "st(6)", "st(7)"
#ifdef __AVX512F__
			   ,
			   "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
			   "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
			   "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#endif
	);
}
#else
/* Out of line, in ctx_<arch>.S. */
void weft__ctx_switch(void **save_sp, void *load_sp);
#endif

/*
 * weft__ctx_fpstate - the calling thread's FP control state (MXCSR and x87 control word, or
 * FPCR), for new contexts to start with: fibers inherit their loop thread's rounding and
 * exception masks, as threads do. Read once per loop, not per spawn: fnstcw is slow.
 */
uint64_t weft__ctx_fpstate(void);

/*
 * weft__ctx_make - prepare @ctx so the first switch to it calls @entry(@arg) on the stack
 * [@lo, @lo + @size), with FP control state @fpstate. @entry must never return.
 */
void weft__ctx_make(struct weft__ctx *ctx, void *lo, size_t size, void (*entry)(void *), void *arg,
		    uint64_t fpstate);

/*
 * Switch from @from to @to. @dying: @from will never be resumed (lets ASan drop its fake stack).
 * @prev receives, in the resumed context, the context that switched to us (for ASan's bounds).
 */
static inline void weft__ctx_jump(struct weft__ctx *from, struct weft__ctx *to, int dying,
				  struct weft__ctx **prev_slot)
{
#ifdef WEFT_TSAN
	__tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
#ifdef WEFT_ASAN
	*prev_slot = from;
	__sanitizer_start_switch_fiber(dying ? NULL : &from->fake_stack, to->stack_lo,
				       to->stack_size);
	weft__ctx_switch(&from->sp, to->sp);
	struct weft__ctx *prev = *prev_slot;
	__sanitizer_finish_switch_fiber(from->fake_stack, &prev->stack_lo, &prev->stack_size);
#else
	(void)dying;
	(void)prev_slot;
	weft__ctx_switch(&from->sp, to->sp);
#endif
}

/* First thing a new context runs: tells ASan the switch into it has finished. */
static inline void weft__ctx_entered(struct weft__ctx **prev_slot)
{
#ifdef WEFT_ASAN
	struct weft__ctx *prev = *prev_slot;
	__sanitizer_finish_switch_fiber(NULL, &prev->stack_lo, &prev->stack_size);
#else
	(void)prev_slot;
#endif
}

#endif

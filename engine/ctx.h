/* SPDX-License-Identifier: MIT */
/*
 * Fiber contexts: the assembly switch (ctx_<arch>.S) plus the sanitizer bookkeeping around it.
 *
 * weft__ctx_switch saves the callee-saved registers, the FP control state (MXCSR and the x87
 * control word on x86-64, FPCR on aarch64) and the return address on the current stack, stores the
 * stack pointer in *save_sp, loads load_sp and resumes there. Everything else is caller-saved by
 * the ABI, so this is the whole context.
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

struct weft__ctx {
	void *sp;
#ifdef WEFT_ASAN
	void *fake_stack;     /* ASan's fake stack of this context while it is switched out */
	const void *stack_lo; /* bounds ASan must be told when switching to this context */
	size_t stack_size;
#endif
};

void weft__ctx_switch(void **save_sp, void *load_sp);

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

/* SPDX-License-Identifier: MIT */
/*
 * x86-64 SysV fiber switch. Frame saved on the stack, lowest address first:
 *   [mxcsr:4 | x87cw:2 | pad:2] r15 r14 r13 r12 rbx rbp [return address]
 *
 * The switch ends in a plain ret. Fibers park through the same code, so the return-stack
 * predictor, kept balanced by the call/ret pair, guesses the resumed fiber's return addresses
 * right; ending in pop+jmp instead leaves it one entry off and every later ret mispredicts
 * (measured: 29 ns vs 14 ns per yield on these machines).
 *
 * MXCSR and the x87 control word are saved always but loaded only when they differ from the
 * current values: ldmxcsr and fldcw are slow, and fibers almost never change them.
 */
	.text
	.globl	weft__ctx_switch
	.hidden	weft__ctx_switch
	.type	weft__ctx_switch, @function
	.p2align 4
weft__ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	$0			/* the FP control slot, padding zeroed for the compare */
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	(%rsp), %rax		/* rax = this context's FP control words */
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	movq	(%rsp), %rdx		/* rdx = the resumed context's */
	cmpq	%rax, %rdx
	jne	1f
2:	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
1:	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	jmp	2b
	.cfi_endproc
	.size	weft__ctx_switch, .-weft__ctx_switch

/* First code of a new fiber: r12 = argument, r13 = entry. The entry never returns. */
	.globl	weft__ctx_trampoline
	.hidden	weft__ctx_trampoline
	.type	weft__ctx_trampoline, @function
	.p2align 4
weft__ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r12, %rdi
	xorl	%ebp, %ebp
	callq	*%r13
	ud2
	.cfi_endproc
	.size	weft__ctx_trampoline, .-weft__ctx_trampoline

	.section .note.GNU-stack,"",@progbits

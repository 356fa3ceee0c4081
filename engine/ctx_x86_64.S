/* SPDX-License-Identifier: MIT */
/*
 * x86-64: the switch itself is inline assembly in ctx.h. This is the first code a new fiber runs,
 * resumed by the switch's jmp with [argument][entry][pad] on its stack (see ctx.c).
 */
	.text
/* Pops the argument and the entry, calls entry(argument); the entry never returns. */
	.globl	weft__ctx_trampoline
	.hidden	weft__ctx_trampoline
	.type	weft__ctx_trampoline, @function
	.p2align 4
weft__ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	popq	%rdi
	popq	%rax
	xorl	%ebp, %ebp
	callq	*%rax
	ud2
	.cfi_endproc
	.size	weft__ctx_trampoline, .-weft__ctx_trampoline

	.section .note.GNU-stack,"",@progbits

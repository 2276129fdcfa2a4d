// amx_fiber_switch(save_sp, load_sp): saves the callee-saved registers of the System V x86-64 ABI on
// the current stack, stores the stack pointer in *save_sp, switches to load_sp and restores the
// registers saved there. Everything else is caller-saved, so a call is a complete switch.
#if defined(__x86_64__)
asm(R"(
    .text
    .globl amx_fiber_switch
    .type amx_fiber_switch, @function
amx_fiber_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size amx_fiber_switch, .-amx_fiber_switch
    .section .note.GNU-stack,"",@progbits
)");
#endif

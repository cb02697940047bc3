// x86-64: exception and interrupt entry stubs and the entry-return trampoline, copied into every VM at KVMH_STUBS_GVA.
// (stubs_aarch64.S is the arm64 counterpart; each file assembles to nothing on the other architecture.)
//
// Position independent: code and strings are reached RIP-relative, the harness data page by its absolute address.
// An exception arrives on the IST1 stack (every exception gate uses it, so a broken guest stack still gets reported),
// an interrupt (vectors 32 to 255) on the IST2 stack. The
// common path saves the general registers in the layout of `struct ex_regs` (KVMHarnessGuest/include/guest_assert.h)
// and either resumes a guest `_safe` instruction at its continuation (processor.h), calls the handler the test installed
// for the vector, or reports UNHANDLED with a ucall built on the stack: args[0] = vector, args[1] = faulting RIP,
// args[2] = error code (0 if none), args[3] = CR2.
#include "kvmh_layout.h"

#if defined(__x86_64__)

#define UCALL_ABORT 2
#define UCALL_UNHANDLED 5
#define UCALL_SIZE 1088
// Offsets in the saved frame: 15 GPRs, then vector, error code, then the CPU's RIP, CS, RFLAGS, RSP, SS.
#define FRAME_VECTOR (15 * 8)
#define FRAME_ERROR (16 * 8)
#define FRAME_RIP (17 * 8)
// The saved R9, R10 and R11 (pushed after R15..R12, before R8..RAX).
#define FRAME_R9 (8 * 8)
#define FRAME_R10 (9 * 8)
#define FRAME_R11 (10 * 8)

    .text
    .globl kvmh_stubs_start
    .globl kvmh_stub_entry_returned
    .globl kvmh_stubs_end

// Each entry point is KVMH_STUB_ENTRY_SIZE bytes; vectors without an error code push a zero in its place.
.macro VECTOR n, has_error
    .balign KVMH_STUB_ENTRY_SIZE
    .if \has_error == 0
    pushq $0
    .endif
    pushq $\n
    jmp kvmh_exception_common
.endm

    .balign 16
kvmh_stubs_start:
    VECTOR 0, 0
    VECTOR 1, 0
    VECTOR 2, 0
    VECTOR 3, 0
    VECTOR 4, 0
    VECTOR 5, 0
    VECTOR 6, 0
    VECTOR 7, 0
    VECTOR 8, 1
    VECTOR 9, 0
    VECTOR 10, 1
    VECTOR 11, 1
    VECTOR 12, 1
    VECTOR 13, 1
    VECTOR 14, 1
    VECTOR 15, 0
    VECTOR 16, 0
    VECTOR 17, 1
    VECTOR 18, 0
    VECTOR 19, 0
    VECTOR 20, 0
    VECTOR 21, 1
    VECTOR 22, 0
    VECTOR 23, 0
    VECTOR 24, 0
    VECTOR 25, 0
    VECTOR 26, 0
    VECTOR 27, 0
    VECTOR 28, 0
    VECTOR 29, 1
    VECTOR 30, 1
    VECTOR 31, 0
    // External interrupts, IPIs, the APIC timer: no error code.
    .irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
    VECTOR \n, 0
    .endr
    .irp hi, 4,5,6,7,8,9,10,11,12,13,14,15
    .irp lo, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    VECTOR (\hi * 16 + \lo), 0
    .endr
    .endr

    .balign 16
kvmh_exception_common:
    pushq %r15
    pushq %r14
    pushq %r13
    pushq %r12
    pushq %r11
    pushq %r10
    pushq %r9
    pushq %r8
    pushq %rbp
    pushq %rdi
    pushq %rsi
    pushq %rdx
    pushq %rcx
    pushq %rbx
    pushq %rax
    cld
    // A `_safe` instruction faulted: R9 holds the magic and R10 the faulting RIP. Resume at R11 with the vector in
    // R9 and the error code in R10, before any handler is consulted (the caller asked for the fault). Only an
    // exception is such a fault: an interrupt that arrives just before the instruction has the same RIP.
    cmpq $32, FRAME_VECTOR(%rsp)
    jae 3f
    movabsq $KVMH_SAFE_MAGIC, %rax
    cmpq %rax, FRAME_R9(%rsp)
    jne 3f
    movq FRAME_RIP(%rsp), %rax
    cmpq %rax, FRAME_R10(%rsp)
    jne 3f
    movq FRAME_R11(%rsp), %rax
    movq %rax, FRAME_RIP(%rsp)
    movq FRAME_VECTOR(%rsp), %rax
    movq %rax, FRAME_R9(%rsp)
    movq FRAME_ERROR(%rsp), %rax
    movq %rax, FRAME_R10(%rsp)
    jmp kvmh_exception_return
3:
    // The frame is 22 quadwords on a 16-byte aligned IST stack, so %rsp is 16-byte aligned here, as a call wants.
    movq FRAME_VECTOR(%rsp), %rax
    movabsq $(KVMH_DATA_GVA + KVMH_DATA_HANDLERS), %rbx
    movq (%rbx,%rax,8), %rax
    testq %rax, %rax
    jz 1f
    movq %rsp, %rdi
    call *%rax
kvmh_exception_return:
    popq %rax
    popq %rbx
    popq %rcx
    popq %rdx
    popq %rsi
    popq %rdi
    popq %rbp
    popq %r8
    popq %r9
    popq %r10
    popq %r11
    popq %r12
    popq %r13
    popq %r14
    popq %r15
    addq $16, %rsp
    iretq

1:  // No handler: report UNHANDLED. The frame stays above the ucall so the host can still read it.
    movq %rsp, %rbx
    subq $UCALL_SIZE, %rsp
    movq $UCALL_UNHANDLED, 0(%rsp)
    movq FRAME_VECTOR(%rbx), %rax
    movq %rax, 8(%rsp)
    movq FRAME_RIP(%rbx), %rax
    movq %rax, 16(%rsp)
    movq FRAME_ERROR(%rbx), %rax
    movq %rax, 24(%rsp)
    movq %cr2, %rax
    movq %rax, 32(%rsp)
    movq $0, 40(%rsp)
    movq $0, 48(%rsp)
    movq $0, 56(%rsp)
    movb $0, 64(%rsp)
    jmp kvmh_send_forever

kvmh_stub_entry_returned:
    // The guest entry function returned: report an ABORT that says so.
    andq $-16, %rsp
    subq $UCALL_SIZE, %rsp
    movq $UCALL_ABORT, 0(%rsp)
    leaq kvmh_returned_expression(%rip), %rax
    movq %rax, 8(%rsp)
    leaq kvmh_returned_file(%rip), %rax
    movq %rax, 16(%rsp)
    movq $0, 24(%rsp)
    movq $0, 32(%rsp)
    movq $0, 40(%rsp)
    movq $0, 48(%rsp)
    movq $0, 56(%rsp)
    movb $0, 64(%rsp)
    // fall through

kvmh_send_forever:
    // Send the ucall at %rsp; if the host ever resumes the vCPU, send it again: these reports are final.
    movabsq $(KVMH_DATA_GVA + KVMH_DATA_UCALL_GPA), %rax
    movq (%rax), %rax
2:  movq %rsp, (%rax)
    jmp 2b

kvmh_returned_expression:
    .asciz "guest entry function returned (end guest code with GUEST_DONE())"
kvmh_returned_file:
    .asciz "<kvm-harness>"
    .balign 16
kvmh_stubs_end:

#endif

// Every object of the target says its stack is not executable, on either architecture.
    .section .note.GNU-stack,"",%progbits

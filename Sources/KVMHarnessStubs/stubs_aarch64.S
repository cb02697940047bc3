// arm64: the exception vector table and the entry-return trampoline, copied into every VM at KVMH_STUBS_GVA.
// (stubs_x86_64.S is the x86-64 counterpart; each file assembles to nothing on the other architecture.)
//
// The guest runs at EL1t on SP_EL0; an exception is taken to EL1h on SP_EL1, which the host points at the vCPU's
// exception stack, with interrupts masked (PSTATE.DAIF set by the exception). VBAR_EL1 = KVMH_STUBS_GVA +
// KVMH_A64_VECTORS_OFFSET. Every entry saves the interrupted registers in a frame on SP_EL1 and reports UNHANDLED
// with a ucall built below that frame: args[0] = the vector-table entry index (0 to 15: 0-3 current EL with SP_EL0,
// 4-7 current EL with SP_ELx, 8-11 lower EL AArch64, 12-15 lower EL AArch32; within each group synchronous, IRQ,
// FIQ, SError), args[1] = ELR_EL1, args[2] = ESR_EL1, args[3] = FAR_EL1 (ESR and FAR are only meaningful for the
// exceptions that set them: synchronous ones and SError for ESR, aborts for FAR), the other arguments 0. The report
// is final: the vCPU stores the ucall again if it is ever resumed.
//
// Position independent: code and strings are reached PC-relative, the harness data page by its absolute address.
// The ucall leaves the guest with one single-register store without writeback (`str xN, [xM]`): the only kind of
// store whose syndrome KVM can decode into an MMIO exit (ucall.h).
#include "kvmh_layout.h"

#if defined(__aarch64__)

#define UCALL_ABORT 2
#define UCALL_UNHANDLED 5
#define UCALL_SIZE 1088
// The frame on SP_EL1, in the layout of the arm64 `struct ex_regs` (KVMHarnessGuest/include/guest_assert.h), for the
// host or a debugger to read above the ucall: X0 to X30, SP_EL0, ELR_EL1, SPSR_EL1,
// ESR_EL1, FAR_EL1, the entry index, and padding to keep SP 16-byte aligned.
#define FRAME_SP_EL0 (31 * 8)
#define FRAME_ELR (32 * 8)
#define FRAME_ESR (34 * 8)
#define FRAME_INDEX (36 * 8)
#define FRAME_SIZE (38 * 8)

// Loads a 64-bit constant without a literal pool.
.macro MOV64 reg, value
    movz \reg, #(((\value) >> 48) & 0xffff), lsl #48
    movk \reg, #(((\value) >> 32) & 0xffff), lsl #32
    movk \reg, #(((\value) >> 16) & 0xffff), lsl #16
    movk \reg, #((\value) & 0xffff)
.endm

// One vector-table entry: 128 bytes at its architectural offset. It frees X0 and X1 into the frame and goes to the
// common code with its index in X0.
.macro VECTOR n
    .org kvmh_a64_vectors + \n * KVMH_A64_VECTOR_ENTRY_SIZE
    sub sp, sp, #FRAME_SIZE
    stp x0, x1, [sp, #0]
    mov x0, #\n
    b kvmh_a64_exception_common
.endm

    // A section of its own, 4 KiB aligned: the host copies kvmh_stubs_start..kvmh_stubs_end to the 4 KiB aligned
    // KVMH_STUBS_GVA, so the table keeps the 2 KiB alignment VBAR_EL1 needs there and here.
    .section .text.kvmh_stubs, "ax", %progbits
    .globl kvmh_stubs_start
    .globl kvmh_stub_entry_returned
    .globl kvmh_stubs_end

    .balign 4096
kvmh_stubs_start:
    .org kvmh_stubs_start + KVMH_A64_VECTORS_OFFSET
kvmh_a64_vectors:
    VECTOR 0
    VECTOR 1
    VECTOR 2
    VECTOR 3
    VECTOR 4
    VECTOR 5
    VECTOR 6
    VECTOR 7
    VECTOR 8
    VECTOR 9
    VECTOR 10
    VECTOR 11
    VECTOR 12
    VECTOR 13
    VECTOR 14
    VECTOR 15
    .org kvmh_a64_vectors + 16 * KVMH_A64_VECTOR_ENTRY_SIZE

kvmh_a64_exception_common:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    mrs x1, sp_el0
    stp x30, x1, [sp, #240]
    mrs x1, elr_el1
    mrs x2, spsr_el1
    stp x1, x2, [sp, #FRAME_ELR]
    mrs x3, esr_el1
    mrs x4, far_el1
    stp x3, x4, [sp, #FRAME_ESR]
    str x0, [sp, #FRAME_INDEX]
    // The UNHANDLED ucall, below the frame: cmd, args[0] = index, ELR, ESR, FAR, then zeros and an empty buffer.
    sub sp, sp, #UCALL_SIZE
    mov x5, #UCALL_UNHANDLED
    stp x5, x0, [sp, #0]
    stp x1, x3, [sp, #16]
    stp x4, xzr, [sp, #32]
    stp xzr, xzr, [sp, #48]
    strb wzr, [sp, #64]
    b kvmh_a64_send_forever

kvmh_stub_entry_returned:
    // The guest entry function returned (to the address the host put in X30), at EL1t on the guest stack: report
    // an ABORT that says so, from a ucall built below the 16-byte aligned stack pointer.
    mov x9, sp
    and x9, x9, #~15
    sub x9, x9, #UCALL_SIZE
    mov sp, x9
    mov x9, #UCALL_ABORT
    adr x10, kvmh_returned_expression
    stp x9, x10, [sp, #0]
    adr x10, kvmh_returned_file
    stp x10, xzr, [sp, #16]
    stp xzr, xzr, [sp, #32]
    stp xzr, xzr, [sp, #48]
    strb wzr, [sp, #64]
    // fall through

kvmh_a64_send_forever:
    // Send the ucall at SP; if the host ever resumes the vCPU, send it again: these reports are final.
    MOV64 x9, (KVMH_DATA_GVA + KVMH_DATA_UCALL_GPA)
    ldr x9, [x9]
    mov x10, sp
2:  str x10, [x9]
    b 2b

kvmh_returned_expression:
    .asciz "guest entry function returned (end guest code with GUEST_DONE())"
kvmh_returned_file:
    .asciz "<kvm-harness>"
    .balign 16
kvmh_stubs_end:

#endif

// Every object of the target says its stack is not executable, on either architecture.
    .section .note.GNU-stack,"",%progbits

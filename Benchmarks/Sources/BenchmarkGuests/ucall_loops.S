// Hand-written guest loops, run both by the library (as in-process guest code) and by the raw-KVM baseline (which
// copies the bytes between bench_guest_code_start and bench_guest_code_end into its own guest memory). Writing the
// loops once, in assembly, makes the two sides execute the identical guest instruction stream: on a host where
// KVM emulates every CPL0 instruction (kvm_pvm, about 1 us each), any other difference in guest code would swamp
// the host-side difference being measured.
//
// The code is position independent (relative jumps only, no data references), takes its parameters in registers
// and keeps its struct ucall (1088 bytes; include/ucall.h) on its own stack. It never returns: after DONE it halts.
//
// The ucall ABI: MMIO transport = one 8-byte store of the struct's guest-virtual address to the ucall MMIO address;
// port-I/O transport = IN from port 0x1000 with the struct's address in RDI.

#define UCALL_SYNC 1
#define UCALL_DONE 4
#define UCALL_PIO_PORT 0x1000
#define FRAME 1096 /* sizeof(struct ucall) rounded up so that RSP stays 8 modulo 16, as at entry */

    .text
    .globl bench_guest_code_start
    .p2align 6
bench_guest_code_start:

// void bench_ucall_loop(uint64_t count, uint64_t mmio_address)
//
// Sends `count` ucalls SYNC with args = [i, 0, 0, 0, 0, 0, 0] for i = 0, 1, ..., then DONE. mmio_address != 0
// selects the MMIO transport at that address, 0 the port-I/O transport. cmd and args[1...6] are written once, before
// the loop: per ucall the loop stores args[0] and exits, which is the fewest guest instructions that deliver this
// sequence of ucalls (5 per ucall: store, exit, increment, compare, branch).
    .globl bench_ucall_loop
    .type bench_ucall_loop, @function
    .p2align 4
bench_ucall_loop:
    sub $FRAME, %rsp
    movq $UCALL_SYNC, 0(%rsp)
    movq $0, 8(%rsp)
    movq $0, 16(%rsp)
    movq $0, 24(%rsp)
    movq $0, 32(%rsp)
    movq $0, 40(%rsp)
    movq $0, 48(%rsp)
    movq $0, 56(%rsp)
    xor %ecx, %ecx                  // i = 0
    test %rsi, %rsi
    jz .Lpio

    mov %rsp, %rdx                  // the struct's address, the value each ucall stores
    test %rdi, %rdi
    jz .Lmmio_done
.Lmmio_loop:
    mov %rcx, 8(%rsp)               // args[0] = i
    mov %rdx, (%rsi)                // ucall: the exit to the host
    inc %rcx
    cmp %rdi, %rcx
    jb .Lmmio_loop
.Lmmio_done:
    movq $UCALL_DONE, 0(%rsp)
    movq $0, 8(%rsp)
    mov %rdx, (%rsi)
    jmp .Lhalt

.Lpio:
    mov %rdi, %r8                   // count: RDI carries the struct's address for this transport
    mov %rsp, %rdi
    mov $UCALL_PIO_PORT, %edx
    test %r8, %r8
    jz .Lpio_done
.Lpio_loop:
    mov %rcx, 8(%rsp)               // args[0] = i
    inb %dx, %al                    // ucall: the exit to the host
    inc %rcx
    cmp %r8, %rcx
    jb .Lpio_loop
.Lpio_done:
    movq $UCALL_DONE, 0(%rsp)
    movq $0, 8(%rsp)
    inb %dx, %al
    jmp .Lhalt
    .size bench_ucall_loop, . - bench_ucall_loop

// void bench_sync_minimum(uint64_t count, uint64_t mmio_address)
//
// The same ucalls over MMIO, but each one built from nothing, as a GUEST_SYNC(i) written anywhere in a program
// must: eight 8-byte stores (cmd and the seven args) and the exit store, with the MMIO address kept in a register.
// This is the hand-written minimum of a self-contained SYNC with general-purpose registers (no SSE, no string
// instructions): 9 instructions per ucall, plus the loop's increment, compare and branch.
    .globl bench_sync_minimum
    .type bench_sync_minimum, @function
    .p2align 4
bench_sync_minimum:
    sub $FRAME, %rsp
    xor %ecx, %ecx
    mov %rsp, %rdx
    test %rdi, %rdi
    jz .Lminimum_done
.Lminimum_loop:
    movq $UCALL_SYNC, 0(%rsp)
    mov %rcx, 8(%rsp)
    movq $0, 16(%rsp)
    movq $0, 24(%rsp)
    movq $0, 32(%rsp)
    movq $0, 40(%rsp)
    movq $0, 48(%rsp)
    movq $0, 56(%rsp)
    mov %rdx, (%rsi)
    inc %rcx
    cmp %rdi, %rcx
    jb .Lminimum_loop
.Lminimum_done:
    movq $UCALL_DONE, 0(%rsp)
    movq $0, 8(%rsp)
    mov %rdx, (%rsi)
    jmp .Lhalt
    .size bench_sync_minimum, . - bench_sync_minimum

.Lhalt:
    hlt
    jmp .Lhalt

    .globl bench_guest_code_end
bench_guest_code_end:

    .section .note.GNU-stack, "", @progbits

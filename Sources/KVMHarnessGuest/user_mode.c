// guest_run_user and the #UD entry point that returns from it (user_mode.h). Assembly, because both switch
// stacks; a C file with top-level assembly so that the stand-alone image build (which compiles the runtime's *.c)
// gets it too.
#include "user_mode.h"
#include "kvmh_layout.h"

// x86-64 only: user mode on arm64 (EL0) is not implemented.
#if defined(__x86_64__)

// KVMH_VCPU_STRIDE without its ULL suffix, which the assembler does not take.
#define KVMH_VCPU_STRIDE_INT 0x40000
_Static_assert(KVMH_VCPU_STRIDE_INT == KVMH_VCPU_STRIDE, "the vCPU block stride");
// The harness's #UD stub (vector 6), likewise without the suffix.
#define KVMH_UD_STUB_INT 0xFFFFFF8000000060
_Static_assert(KVMH_UD_STUB_INT == KVMH_STUBS_GVA + 6 * KVMH_STUB_ENTRY_SIZE, "the #UD stub's address");

#define STR_(x) #x
#define STR(x) STR_(x)

__asm__(
    "    .text\n"
    "    .globl guest_run_user\n"
    "    .type guest_run_user, @function\n"
    // uint64_t guest_run_user(fn = RDI, arg = RSI): save the callee-saved registers and the kernel RSP, switch to
    // the user stack and SYSRET to the trampoline with RFLAGS = GUEST_USER_RFLAGS. RDI and RSI pass through.
    "guest_run_user:\n"
    "    pushq %rbp\n"
    "    pushq %rbx\n"
    "    pushq %r12\n"
    "    pushq %r13\n"
    "    pushq %r14\n"
    "    pushq %r15\n"
    "    movq %rsp, %fs:" STR(GUEST_TLS_KERNEL_RSP) "\n"
    "    leaq guest_user_trampoline(%rip), %rcx\n"
    "    movq $" STR(GUEST_USER_RFLAGS) ", %r11\n"
    "    movq %fs:" STR(GUEST_TLS_USER_STACK) ", %rsp\n"
    "    sysretq\n"
    "    .size guest_run_user, . - guest_run_user\n"
    // At CPL3: call fn(arg) on a 16-byte aligned stack, then UD2 at guest_user_return_point with the result in RDI.
    "guest_user_trampoline:\n"
    "    movq %rdi, %rax\n"
    "    movq %rsi, %rdi\n"
    "    andq $-16, %rsp\n"
    "    callq *%rax\n"
    "    movq %rax, %rdi\n"
    "guest_user_return_point:\n"
    "    ud2\n"
    // The #UD gate while user mode is enabled, at CPL0 on the vCPU's exception stack (IST1). A #UD anywhere but
    // guest_user_return_point goes on to the harness's own #UD stub, frame untouched (handlers and UNHANDLED
    // reports work as before). At the return point: the exception stack lies in the vCPU's block, whose base is RSP
    // rounded down to KVMH_VCPU_STRIDE, and the block's TLS page has the kernel stack guest_run_user saved (found
    // from the stack alone, not %fs). The exception frame is dropped; guest_run_user returns the user's result.
    "    .globl guest_user_return_entry\n"
    "    .type guest_user_return_entry, @function\n"
    "guest_user_return_entry:\n"
    "    pushq %rax\n"
    "    leaq guest_user_return_point(%rip), %rax\n"
    "    cmpq %rax, 8(%rsp)\n"
    "    popq %rax\n"
    "    je 1f\n"
    "    jmpq *guest_harness_ud_stub(%rip)\n"
    "1:  movq %rsp, %rax\n"
    "    andq $-" STR(KVMH_VCPU_STRIDE_INT) ", %rax\n"
    "    movq " STR(KVMH_VCPU_TLS) " + " STR(GUEST_TLS_KERNEL_RSP) "(%rax), %rsp\n"
    "    movq %rdi, %rax\n"
    "    popq %r15\n"
    "    popq %r14\n"
    "    popq %r13\n"
    "    popq %r12\n"
    "    popq %rbx\n"
    "    popq %rbp\n"
    "    retq\n"
    "    .size guest_user_return_entry, . - guest_user_return_entry\n"
    "    .balign 8\n"
    "guest_harness_ud_stub:\n"
    "    .quad " STR(KVMH_UD_STUB_INT) "\n");

#endif // __x86_64__

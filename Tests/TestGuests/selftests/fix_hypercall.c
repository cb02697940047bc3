// Guest code for the port of Linux 6.12 x86_64/fix_hypercall_test.c (FixHypercallTests.swift).
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

static const uint8_t vmcall_bytes[HYPERCALL_INSN_SIZE] = {0x0f, 0x01, 0xc1};
static const uint8_t vmmcall_bytes[HYPERCALL_INSN_SIZE] = {0x0f, 0x01, 0xd9};

void guest_fix_hypercall_ud_handler(struct ex_regs *regs) {
    // The hypercall raised #UD: make it return -EFAULT and go on after it.
    regs->rax = (uint64_t)-GUEST_EFAULT;
    regs->rip += HYPERCALL_INSN_SIZE;
}

static bool same_bytes(const volatile uint8_t *a, const uint8_t *b) {
    for (int i = 0; i < HYPERCALL_INSN_SIZE; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

void guest_fix_hypercall(uint64_t stub_gva, uint64_t quirk_disabled) {
    volatile uint8_t *stub = (volatile uint8_t *)(uintptr_t)stub_gva;
    uint32_t regs[4];
    const uint8_t *native, *other;
    uint64_t result;

    cpuid(0, regs);
    if (regs[1] == 0x756e6547) { // "Genu"ineIntel
        native = vmcall_bytes;
        other = vmmcall_bytes;
    } else if (regs[1] == 0x68747541) { // "Auth"enticAMD
        native = vmmcall_bytes;
        other = vmcall_bytes;
    } else {
        GUEST_FAIL("neither an Intel nor an AMD CPU: vendor EBX %#x", regs[1]);
        return;
    }

    // The other vendor's hypercall, then RET, in a writable and executable page: the stub KVM may patch. The test's
    // code itself is shared read-only with the host, so it cannot be patched.
    for (int i = 0; i < HYPERCALL_INSN_SIZE; i++)
        stub[i] = other[i];
    stub[HYPERCALL_INSN_SIZE] = 0xc3;

    // KVM_HC_SCHED_YIELD to this vCPU's own APIC ID (CPUID.1 EBX[31:24]: the VM has no in-kernel local APIC to
    // read it from). The call steps over the red zone, which the compiler may be using.
    cpuid(1, regs);
    __asm__ volatile("subq $128, %%rsp\n\t"
                     "call *%[stub]\n\t"
                     "addq $128, %%rsp"
                     : "=a"(result)
                     : "a"((uint64_t)KVM_HC_SCHED_YIELD), "b"((uint64_t)(regs[1] >> 24)), [stub] "r"(stub)
                     : "memory");

    if (quirk_disabled) {
        // #UD, and the instruction left as it was.
        GUEST_ASSERT_EQ(result, (uint64_t)-GUEST_EFAULT);
        GUEST_ASSERT(same_bytes(stub, other));
    } else {
        // KVM rewrote it into this vendor's hypercall and ran that.
        GUEST_ASSERT_EQ(result, 0);
        GUEST_ASSERT(same_bytes(stub, native));
    }
    GUEST_DONE();
}

GUEST_CODE_END

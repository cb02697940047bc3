// Guest code for the userspace_msr_exit_test port: MSR accesses that KVM hands to user space through filters.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_IA32_POWER_CTL 0x1fc
#define MSR_IA32_XSS 0xda0
#define MSR_IA32_FLUSH_CMD 0x10b
#define MSR_NON_EXISTENT 0x474f4f00

GUEST_CODE_BEGIN

static int exceptions;

/// RDMSR and WRMSR at known addresses, so that the #GP handler can step over them.
__attribute__((noinline)) static uint64_t test_rdmsr(uint32_t msr) {
    uint32_t lo, hi;

    exceptions = 0;
    __asm__ volatile("kvmh_umsr_rdmsr_start: rdmsr\n\tkvmh_umsr_rdmsr_end:"
                     : "=a"(lo), "=d"(hi)
                     : "c"(msr)
                     : "memory");
    return (uint64_t)hi << 32 | lo;
}

__attribute__((noinline)) static void test_wrmsr(uint32_t msr, uint64_t value) {
    exceptions = 0;
    __asm__ volatile("kvmh_umsr_wrmsr_start: wrmsr\n\tkvmh_umsr_wrmsr_end:" ::"a"((uint32_t)value),
                     "d"((uint32_t)(value >> 32)), "c"(msr)
                     : "memory");
}

extern char kvmh_umsr_rdmsr_start[], kvmh_umsr_rdmsr_end[], kvmh_umsr_wrmsr_start[], kvmh_umsr_wrmsr_end[];

void guest_user_msr_gp_handler(struct ex_regs *regs) {
    if (regs->rip == (uint64_t)(uintptr_t)kvmh_umsr_rdmsr_start) {
        regs->rip = (uint64_t)(uintptr_t)kvmh_umsr_rdmsr_end;
        regs->rax = 0;
        regs->rdx = 0;
    } else if (regs->rip == (uint64_t)(uintptr_t)kvmh_umsr_wrmsr_start) {
        regs->rip = (uint64_t)(uintptr_t)kvmh_umsr_wrmsr_end;
    } else {
        GUEST_FAIL("#GP at an unexpected RIP 0x%lx", regs->rip);
    }
    exceptions++;
}

void guest_user_msr_filter_allow(void) {
    // An MSR KVM knows (XSS), one it does not (FLUSH_CMD) and one nobody knows, all denied by the filter: each
    // access exits to user space, which answers or makes it fault.
    GUEST_ASSERT_EQ(test_rdmsr(MSR_IA32_XSS), 0);
    GUEST_ASSERT_EQ(exceptions, 0);
    test_wrmsr(MSR_IA32_XSS, 0);
    GUEST_ASSERT_EQ(exceptions, 0);
    test_wrmsr(MSR_IA32_XSS, 1);
    GUEST_ASSERT_EQ(exceptions, 1);

    test_rdmsr(MSR_IA32_FLUSH_CMD);
    GUEST_ASSERT_EQ(exceptions, 1);
    test_wrmsr(MSR_IA32_FLUSH_CMD, 0);
    GUEST_ASSERT_EQ(exceptions, 1);
    test_wrmsr(MSR_IA32_FLUSH_CMD, 1);
    GUEST_ASSERT_EQ(exceptions, 0);

    test_wrmsr(MSR_NON_EXISTENT, 2);
    GUEST_ASSERT_EQ(exceptions, 0);
    GUEST_ASSERT_EQ(test_rdmsr(MSR_NON_EXISTENT), 2);
    GUEST_ASSERT_EQ(exceptions, 0);
    GUEST_DONE();
}

static void msr_calls(bool trapped) {
    wrmsr(MSR_SYSCALL_MASK, 0); // in the kernel
    if (trapped) {
        GUEST_ASSERT_EQ(rdmsr(MSR_SYSCALL_MASK), MSR_SYSCALL_MASK); // user space answers the index
        GUEST_ASSERT_EQ(rdmsr(MSR_GS_BASE), MSR_GS_BASE);
    } else {
        GUEST_ASSERT_NE(rdmsr(MSR_SYSCALL_MASK), MSR_SYSCALL_MASK);
        GUEST_ASSERT_NE(rdmsr(MSR_GS_BASE), MSR_GS_BASE);
    }
    wrmsr(MSR_IA32_POWER_CTL, 0x1234); // user space when trapped
    rdmsr(MSR_IA32_POWER_CTL);         // in the kernel
    GUEST_ASSERT_EQ(rdmsr(0xdeadbeef), 0xdeadbeef); // unknown: always user space
    wrmsr(0xdeadbeef, 0x1234);
}

void guest_user_msr_filter_deny(void) {
    msr_calls(true);
    GUEST_SYNC(0); // the host removes the filter
    msr_calls(false);
    GUEST_DONE();
}

void guest_user_msr_permission_bitmap(void) {
    GUEST_ASSERT_EQ(test_rdmsr(MSR_FS_BASE), MSR_FS_BASE);
    GUEST_ASSERT_NE(test_rdmsr(MSR_GS_BASE), MSR_GS_BASE);
    GUEST_SYNC(0); // the host switches the filter from FS to GS
    GUEST_ASSERT_NE(test_rdmsr(MSR_FS_BASE), MSR_FS_BASE);
    GUEST_ASSERT_EQ(test_rdmsr(MSR_GS_BASE), MSR_GS_BASE);
    GUEST_DONE();
}

GUEST_CODE_END

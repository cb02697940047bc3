// Guest code for the port of Linux 6.12 x86_64/kvm_pv_test.c (KVMPVTests.swift).
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

/// KVM's paravirtual MSRs: each raises #GP when KVM_CPUID_FEATURES is empty and the vCPU enforces it.
static const uint32_t pv_msrs[] = {
    MSR_KVM_SYSTEM_TIME, MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK, MSR_KVM_WALL_CLOCK_NEW,
    MSR_KVM_ASYNC_PF_EN, MSR_KVM_STEAL_TIME,      MSR_KVM_PV_EOI_EN,  MSR_KVM_POLL_CONTROL,
    MSR_KVM_ASYNC_PF_INT, MSR_KVM_ASYNC_PF_ACK,
};

/// KVM hypercalls gated by a KVM_CPUID_FEATURES bit: each returns -KVM_ENOSYS without it.
static const uint64_t pv_hypercalls[] = {KVM_HC_KICK_CPU, KVM_HC_SEND_IPI, KVM_HC_SCHED_YIELD};

void guest_kvm_pv(void) {
    uint64_t ignored;

    for (unsigned i = 0; i < sizeof(pv_msrs) / sizeof(pv_msrs[0]); i++) {
        // Names the MSR to the host before trying it, so that a failure says which one.
        ucall(UCALL_PV_MSR, 1, (uint64_t)pv_msrs[i]);
        GUEST_ASSERT_EQ(rdmsr_safe(pv_msrs[i], &ignored), GP_VECTOR);
        GUEST_ASSERT_EQ(wrmsr_safe(pv_msrs[i], 0), GP_VECTOR);
    }
    for (unsigned i = 0; i < sizeof(pv_hypercalls) / sizeof(pv_hypercalls[0]); i++) {
        ucall(UCALL_PV_HYPERCALL, 1, pv_hypercalls[i]);
        GUEST_ASSERT_EQ(kvm_hypercall(pv_hypercalls[i], 0, 0, 0, 0), (uint64_t)-KVM_ENOSYS);
    }
    GUEST_DONE();
}

GUEST_CODE_END

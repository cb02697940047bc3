// Guest code for the port of Linux 6.12 x86_64/kvm_clock_test.c (KVMClockTests.swift).
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

/// The kvmclock at `tsc` from the time information KVM keeps in `pvti`: system_time plus the TSC cycles since
/// tsc_timestamp, shifted by tsc_shift and scaled by the 32.32 fixed-point tsc_to_system_mul.
static uint64_t kvm_clock_at(const volatile struct pvclock_vcpu_time_info *pvti, uint64_t tsc) {
    uint64_t delta = tsc - pvti->tsc_timestamp;
    int8_t shift = pvti->tsc_shift;

    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return pvti->system_time + (uint64_t)(((unsigned __int128)delta * pvti->tsc_to_system_mul) >> 32);
}

void guest_kvm_clock(uint64_t pvti_gpa, uint64_t pvti_gva) {
    const volatile struct pvclock_vcpu_time_info *pvti = (const volatile void *)(uintptr_t)pvti_gva;

    wrmsr(MSR_KVM_SYSTEM_TIME_NEW, pvti_gpa | KVM_MSR_ENABLED);
    for (uint64_t i = 0; i < KVM_CLOCK_TEST_CASES; i++)
        GUEST_SYNC_ARGS(i, kvm_clock_at(pvti, rdtsc()));
    GUEST_DONE();
}

GUEST_CODE_END

// Guest code for the port of Linux 6.12 x86_64/tsc_msrs_test.c (TSCMSRsTests.swift).
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

/// Sends SYNC(stage, TSC, TSC_ADJUST), both rounded to the nearest TSC_UNITY (the TSC moves on while the test
/// runs, by far less than that). The host checks the values, so that on a host whose TSC departs from the
/// architecture every stage still runs and reports.
static void report(uint64_t stage) {
    GUEST_SYNC_ARGS(stage, TSC_ROUND(rdmsr(MSR_IA32_TSC)), TSC_ROUND(rdmsr(MSR_IA32_TSC_ADJUST)));
}

void guest_tsc_msrs(void) {
    report(1);                                            // a new vCPU: 0, 0
    wrmsr(MSR_IA32_TSC, 1 * TSC_GUEST_STEP);              // a TSC write moves both
    report(2);
    wrmsr(MSR_IA32_TSC_ADJUST, 2 * TSC_GUEST_STEP);       // so does a TSC_ADJUST write
    report(3);
    report(4);                                            // after the host's TSC write: the offset, not TSC_ADJUST
    wrmsr(MSR_IA32_TSC_ADJUST, 3 * TSC_GUEST_STEP);       // keeps the host's offset, moves both
    report(5);
    wrmsr(MSR_IA32_TSC, 4 * TSC_GUEST_STEP);              // moves both: TSC_ADJUST now shows the host's offset
    report(6);
    GUEST_DONE();
}

GUEST_CODE_END

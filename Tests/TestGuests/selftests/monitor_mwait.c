// Guest code for the port of Linux 6.12 x86_64/monitor_mwait_test.c (MonitorMwaitTests.swift).
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

/// Checks the vector of MONITOR or MWAIT in `testcase`: #UD only when MWAIT and the quirk that hides its #UD are
/// both disabled, otherwise KVM runs them as NOPs.
static void check_vector(const char *instruction, uint64_t testcase, uint64_t vector) {
    bool fault_wanted = (testcase & MWAIT_QUIRK_DISABLED) && (testcase & MWAIT_DISABLED);

    if (fault_wanted && vector != UD_VECTOR)
        GUEST_FAIL("expected #UD on %s in testcase %#lx, got vector %lu", instruction, testcase, vector);
    if (!fault_wanted && vector != 0)
        GUEST_FAIL("expected %s to complete in testcase %#lx, got vector %lu", instruction, testcase, vector);
}

static void monitor_mwait_case(uint64_t testcase) {
    // Any valid address will do: SVM checks for faults before it intercepts, so MONITOR's operands must be valid.
    uint64_t address = (uint64_t)(uintptr_t)&monitor_mwait_case;
    uint64_t vector, error;

    GUEST_SYNC(testcase);
    KVMH_ASM_SAFE("monitor", vector, error, , "a"(address) KVMH_COMMA "c"(0) KVMH_COMMA "d"(0));
    check_vector("MONITOR", testcase, vector);
    KVMH_ASM_SAFE("mwait", vector, error, , "a"(address) KVMH_COMMA "c"(0) KVMH_COMMA "d"(0));
    check_vector("MWAIT", testcase, vector);
    (void)error;
}

void guest_monitor_mwait(void) {
    monitor_mwait_case(MWAIT_DISABLED);
    monitor_mwait_case(MWAIT_QUIRK_DISABLED | MWAIT_DISABLED);
    monitor_mwait_case(MISC_ENABLES_QUIRK_DISABLED | MWAIT_DISABLED);
    monitor_mwait_case(MISC_ENABLES_QUIRK_DISABLED);
    monitor_mwait_case(MISC_ENABLES_QUIRK_DISABLED | MWAIT_QUIRK_DISABLED | MWAIT_DISABLED);
    monitor_mwait_case(MISC_ENABLES_QUIRK_DISABLED | MWAIT_QUIRK_DISABLED);
    GUEST_DONE();
}

GUEST_CODE_END

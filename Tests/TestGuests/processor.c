// Guest code for the tests of the guest runtime's processor.h: CPUID features and the `_safe` instruction forms.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_safe_forms(void) {
    uint64_t value = 0x5a5a;

    // An MSR no CPU has: #GP (13) for both directions, and the value left alone.
    GUEST_SYNC_ARGS(1, rdmsr_safe(0xdeadbeef, &value), value, wrmsr_safe(0xdeadbeef, 1));
    // The TSC MSR reads without a fault.
    GUEST_SYNC_ARGS(2, rdmsr_safe(0x10, &value), value != 0);
    // A reserved CR4 bit (63) faults; CR4 stays as it was.
    uint64_t cr4 = get_cr4();
    GUEST_SYNC_ARGS(3, set_cr4_safe(cr4 | (1ULL << 63)), get_cr4() == cr4);
    // Features the harness's long mode needs, and one KVM never reports to a guest it runs without nesting here.
    GUEST_SYNC_ARGS(4, this_cpu_has(X86_FEATURE_LM), this_cpu_has(X86_FEATURE_NX), this_cpu_has(X86_FEATURE_PAE));
    GUEST_DONE();
}

GUEST_CODE_END

// Guest code for the cpuid_test port: CPUID read back for every entry the vCPU was given.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_cpuid_readback(uint64_t leaves_gva, uint64_t count, uint64_t out_gva) {
    const uint32_t *leaves = (const uint32_t *)(uintptr_t)leaves_gva;
    uint32_t *out = (uint32_t *)(uintptr_t)out_gva;

    GUEST_SYNC(1);
    for (uint64_t i = 0; i < count; i++)
        cpuid_count(leaves[2 * i], leaves[2 * i + 1], &out[4 * i]);
    GUEST_SYNC(2);

    uint32_t kvm_leaf[4];
    cpuid(0x40000000, kvm_leaf);
    GUEST_ASSERT_EQ(kvm_leaf[0], 0x40000001); // the largest KVM paravirtual leaf
    GUEST_DONE();
}

GUEST_CODE_END

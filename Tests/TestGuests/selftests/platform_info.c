// Guest code for the port of Linux 6.12 x86_64/platform_info_test.c (PlatformInfoTests.swift).
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_platform_info(void) {
    uint64_t value = 0;

    // SYNC(1): the host lets the guest read MSR_PLATFORM_INFO, whose turbo-ratio field it filled in.
    GUEST_SYNC(1);
    value = rdmsr(MSR_PLATFORM_INFO);
    GUEST_ASSERT_EQ(value & PLATFORM_INFO_MAX_TURBO_RATIO, PLATFORM_INFO_MAX_TURBO_RATIO);

    // SYNC(0): the host takes the permission back, and the same read raises #GP.
    GUEST_SYNC(0);
    GUEST_ASSERT_EQ(rdmsr_safe(MSR_PLATFORM_INFO, &value), GP_VECTOR);
    GUEST_DONE();
}

GUEST_CODE_END

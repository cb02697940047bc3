// Guest code for the many-vCPU tests: every vCPU makes ucalls at the same time, each from its own stack.
#include "KVMHarnessGuest.h"
#include "HostCallGuests.h"

GUEST_CODE_BEGIN

void guest_count_ucalls(uint64_t index, uint64_t count, uint64_t pio) {
    for (uint64_t i = 0; i < count; i++) {
        if (pio)
            ucall7_pio(UCALL_SYNC, 1, index, i, 0, 0, 0, 0);
        else
            ucall7(UCALL_SYNC, 1, index, i, 0, 0, 0, 0);
    }
    GUEST_DONE();
}

// The same loop at CPL3: `packed` is count << 9 | pio << 8 | index (user code cannot read the kernel's stack).
static uint64_t user_count_ucalls(uint64_t packed) {
    uint64_t index = packed & 0xff, pio = (packed >> 8) & 1, count = packed >> 9;

    for (uint64_t i = 0; i < count; i++) {
        if (pio)
            ucall7_pio(UCALL_SYNC, 1, index, i, 0, 0, 0, 0);
        else
            ucall7(UCALL_SYNC, 1, index, i, 0, 0, 0, 0);
    }
    return count;
}

void guest_count_ucalls_user(uint64_t index, uint64_t count, uint64_t pio) {
    GUEST_ASSERT_EQ(guest_run_user(user_count_ucalls, count << 9 | (pio & 1) << 8 | (index & 0xff)), count);
    GUEST_DONE();
}

GUEST_CODE_END

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

GUEST_CODE_END

// Guest code for the dirty_log_test port: writes the host's iteration number into random pages of a logged slot.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

uint64_t dirty_log_iteration GUEST_GLOBAL;

uint64_t *dirty_log_iteration_address(void) { return &dirty_log_iteration; }

GUEST_CODE_BEGIN

void guest_dirty_log(uint64_t gva, uint64_t pages, uint64_t seed) {
    uint64_t state = seed | 1;

    // Every page once first, so that each holds an iteration number.
    for (uint64_t page = 0; page < pages; page++)
        *(volatile uint64_t *)(gva + page * 4096) = *(volatile uint64_t *)&dirty_log_iteration;
    for (;;) {
        for (int i = 0; i < DIRTY_LOG_PAGES_PER_LOOP; i++) {
            state ^= state << 13; // xorshift64
            state ^= state >> 7;
            state ^= state << 17;
            *(volatile uint64_t *)(gva + (state % pages) * 4096) = *(volatile uint64_t *)&dirty_log_iteration;
        }
        GUEST_SYNC(1);
    }
}

GUEST_CODE_END

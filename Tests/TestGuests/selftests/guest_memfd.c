// Guest code for the guest_memfd_test port: a guest that writes and reads memory in a guest_memfd-backed slot.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_guest_memfd(uint64_t gva, uint64_t pages, uint64_t host_writes) {
    volatile uint64_t *words = (volatile uint64_t *)gva;

    for (uint64_t i = 0; i < pages; i++)
        words[i * 512] = (GUEST_MEMFD_GUEST_TAG | i);
    GUEST_SYNC(1);
    for (uint64_t i = 0; i < pages; i++) {
        uint64_t expected = host_writes ? (GUEST_MEMFD_HOST_TAG | i) : (GUEST_MEMFD_GUEST_TAG | i);
        GUEST_ASSERT_EQ(words[i * 512], expected);
    }
    GUEST_DONE();
}

GUEST_CODE_END

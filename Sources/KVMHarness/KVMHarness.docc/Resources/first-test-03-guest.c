// Tests/MyGuests/guests.c: runs inside the VM, at the same addresses as in the test binary.
#include "MyGuests.h"

GUEST_CODE_BEGIN

void guest_sum(uint64_t first, uint64_t last, uint64_t expected) {
    GUEST_SYNC_ARGS(1, first, last);
    GUEST_DONE();
}

GUEST_CODE_END

// Tests/MyGuests/include/MyGuests.h: the guest functions that the tests run.
#ifndef MY_GUESTS_H
#define MY_GUESTS_H

#include <stdint.h>

#include "KVMHarnessGuest.h"

/// SYNC(1, first, last); adds first...last and fails unless the sum is `expected`; SYNC(2, sum); DONE.
void guest_sum(uint64_t first, uint64_t last, uint64_t expected);

#endif

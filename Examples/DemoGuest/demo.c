// The demo guest: computes a few Fibonacci numbers and reports each over a ucall.
#include "KVMHarnessGuest.h"
#include "DemoGuest.h"

GUEST_CODE_BEGIN

void demo_guest_main(uint64_t iterations) {
    uint64_t a = 0, b = 1;

    GUEST_SYNC(1);
    for (uint64_t i = 0; i < iterations; i++) {
        uint64_t next = a + b;
        a = b;
        b = next;
        GUEST_SYNC_ARGS(2, i, a);
    }
    GUEST_SYNC_ARGS(3, a, b);
    GUEST_DONE();
}

GUEST_CODE_END

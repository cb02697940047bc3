// A failing GUEST_ASSERT_EQ: the host sees ABORT with the expression, this file, the line and both values.
#include "guest_image.h"

static uint64_t add(uint64_t a, uint64_t b) { return a + b; }

void guest_main(uint64_t vcpu_index) {
    volatile uint64_t two = 2;

    (void)vcpu_index;
    GUEST_SYNC(1);
    GUEST_ASSERT_EQ(add(two, two), 5);
    GUEST_DONE();
}

// 100,000 checkpoints, then DONE: the ucall round trip, measured end to end (used by the benchmarks).
#include "guest_image.h"

#define ITERATIONS 100000

void guest_main(uint64_t vcpu_index) {
    for (uint64_t i = 0; i < ITERATIONS; i++)
        GUEST_SYNC_ARGS(1, i, vcpu_index);
    GUEST_DONE();
}

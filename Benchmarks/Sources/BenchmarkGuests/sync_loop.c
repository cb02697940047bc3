// A loop of GUEST_SYNC on the project's guest runtime (include/ucall.h), compiled with optimization: what a guest
// test's checkpoints cost in guest instructions, measured against the hand-written loops in ucall_loops.S.
#include "BenchmarkGuests.h"

#include "KVMHarnessGuest.h"

GUEST_CODE_BEGIN

void bench_guest_sync_loop(uint64_t count) {
    for (uint64_t i = 0; i < count; i++)
        GUEST_SYNC(i);
    GUEST_DONE();
}

GUEST_CODE_END

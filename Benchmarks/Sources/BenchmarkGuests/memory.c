// Guests for the memory benchmarks (kvm-harness-bench --only memory): the writers the kernel's memslot_perf_test
// and dirty_log_perf_test run, reduced to what the timed host calls need beside them.
#include "BenchmarkGuests.h"

#include "KVMHarnessGuest.h"

GUEST_CODE_BEGIN

void bench_memory_move_writer(uint64_t area, uint64_t size, uint64_t stop_gva) {
    GUEST_SYNC(0);
    while (!*(volatile uint64_t *)stop_gva)
        for (uint64_t p = area; p < area + size; p += 4096)
            *(volatile uint64_t *)p = 0x1122334455667788ull;
    GUEST_DONE();
}

void bench_memory_memstress(uint64_t gva, uint64_t pages) {
    for (uint64_t pass = 1;; pass++) {
        for (uint64_t page = 0; page < pages; page++)
            *(volatile uint64_t *)(gva + page * 4096) = pass;
        GUEST_SYNC(pass);
    }
}

GUEST_CODE_END

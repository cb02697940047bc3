// Guest code for the memslot_perf_test port: guests that write memory spread over many slots while the host moves
// a slot or drops the host pages under them, and the host's side of their shared-memory handshake.
#include <stdbool.h>
#include <time.h>

#include "KVMHarnessGuest.h"
#include "TestGuests.h"

// The handshake lives in guest memory the host also maps, so both sides use atomics on the same words.

void memslot_perf_set(uint64_t *flag, uint64_t value) { __atomic_store_n(flag, value, __ATOMIC_RELEASE); }

_Bool memslot_perf_host_sync(struct memslot_perf_sync *sync, uint64_t timeout_ns) {
    struct timespec start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    __atomic_store_n(&sync->sync, 1, __ATOMIC_RELEASE);
    for (uint64_t spins = 1; __atomic_load_n(&sync->sync, __ATOMIC_ACQUIRE); spins++) {
        if (spins % 4096)
            continue;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((uint64_t)(now.tv_sec - start.tv_sec) * 1000000000ull + (uint64_t)(now.tv_nsec - start.tv_nsec) > timeout_ns)
            return false;
    }
    return true;
}

GUEST_CODE_BEGIN

static bool perf_should_exit(struct memslot_perf_sync *sync) {
    return __atomic_load_n(&sync->exit, __ATOMIC_ACQUIRE) != 0;
}

/// SYNC(0), then waits for the host's start flag.
static void perf_start(struct memslot_perf_sync *sync) {
    GUEST_SYNC(0);
    while (!__atomic_load_n(&sync->start, __ATOMIC_ACQUIRE))
        ;
}

/// Takes the host's sync request (1 to 0); false once the host asked the guest to exit.
static bool perf_guest_sync(struct memslot_perf_sync *sync) {
    for (;;) {
        uint64_t expected = 1;

        if (perf_should_exit(sync))
            return false;
        if (__atomic_compare_exchange_n(&sync->sync, &expected, 0, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            return true;
    }
}

void guest_memslot_perf_move(uint64_t sync_gva) {
    struct memslot_perf_sync *sync = (struct memslot_perf_sync *)sync_gva;
    uint64_t base;

    base = __atomic_load_n(&sync->move_area, __ATOMIC_ACQUIRE);

    perf_start(sync);
    // No handshake per pass: the host moves the slot as fast as it can, the guest's writes to it meanwhile exit as
    // MMIO (the host checks each).
    while (!perf_should_exit(sync))
        for (uint64_t p = base; p < base + MEMSLOT_PERF_MOVE_SIZE; p += 4096)
            *(volatile uint64_t *)p = MEMSLOT_PERF_VALUE_1;
    GUEST_DONE();
}

void guest_memslot_perf_map(uint64_t sync_gva, uint64_t area, uint64_t size) {
    struct memslot_perf_sync *sync = (struct memslot_perf_sync *)sync_gva;

    perf_start(sync);
    for (;;) {
        for (uint64_t p = area; p < area + size / 2; p += 4096)
            *(volatile uint64_t *)p = MEMSLOT_PERF_VALUE_1;
        if (!perf_guest_sync(sync))
            break;
        for (uint64_t p = area + size / 2; p < area + size; p += 4096)
            *(volatile uint64_t *)p = MEMSLOT_PERF_VALUE_2;
        if (!perf_guest_sync(sync))
            break;
    }
    GUEST_DONE();
}

void guest_memslot_perf_unmap(uint64_t sync_gva, uint64_t area, uint64_t size) {
    struct memslot_perf_sync *sync = (struct memslot_perf_sync *)sync_gva;

    perf_start(sync);
    for (;;) {
        *(volatile uint64_t *)area = MEMSLOT_PERF_VALUE_1; // one page per handshake: the host's unmaps dominate
        if (!perf_guest_sync(sync))
            break;
        *(volatile uint64_t *)(area + size / 2) = MEMSLOT_PERF_VALUE_2;
        if (!perf_guest_sync(sync))
            break;
    }
    GUEST_DONE();
}

void guest_memslot_perf_rw(uint64_t sync_gva, uint64_t area, uint64_t size) {
    struct memslot_perf_sync *sync = (struct memslot_perf_sync *)sync_gva;

    perf_start(sync);
    for (;;) {
        for (uint64_t p = area; p < area + size; p += 4096)
            *(volatile uint64_t *)p = MEMSLOT_PERF_VALUE_1;
        if (!perf_guest_sync(sync))
            break;
        for (uint64_t p = area + 2048; p < area + size; p += 4096) {
            GUEST_ASSERT_EQ(*(volatile uint64_t *)p, MEMSLOT_PERF_VALUE_2);
            *(volatile uint64_t *)p = 0;
        }
        if (!perf_guest_sync(sync))
            break;
    }
    GUEST_DONE();
}

GUEST_CODE_END

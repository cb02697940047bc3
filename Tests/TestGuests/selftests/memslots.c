// Guest code for the memslot tests and the set_memory_region_test port: guests that read and write memory the host
// adds, moves and deletes while they run.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_ucall_in_slot(uint64_t gva, uint64_t count) {
    struct ucall *uc = (struct ucall *)gva;

    for (uint64_t i = 0; i < count; i++) {
        uc->cmd = UCALL_SYNC;
        uc->args[0] = i;
        uc->args[1] = MEMSLOT_RACE_MAGIC;
        ucall_send(uc);
    }
    GUEST_DONE();
}

/// Spins while the word at `gva` reads `spin`, then reports SYNC(0) and returns what it read.
static uint64_t spin_while(uint64_t gva, uint64_t spin) {
    uint64_t value;

    do {
        value = *(volatile uint64_t *)gva;
    } while (value == spin);
    GUEST_SYNC(0);
    return value;
}

void guest_move_region(uint64_t gva) {
    uint64_t value;

    GUEST_SYNC(0);
    // Moved to a misaligned base: the old GPA is backed by another host page (reads 1 or 0), or is briefly in no
    // slot (MMIO, answered with SET_MEMORY_REGION_MMIO_VALUE).
    value = spin_while(gva, 0);
    __GUEST_ASSERT(value == 1 || value == SET_MEMORY_REGION_MMIO_VALUE, "expected 1 or MMIO, read 0x%lx", value);
    value = spin_while(gva, SET_MEMORY_REGION_MMIO_VALUE);
    __GUEST_ASSERT(value == 1 || value == 0, "expected 0 or 1 (no MMIO), read 0x%lx", value);
    value = spin_while(gva, 0);
    __GUEST_ASSERT(value == 1 || value == SET_MEMORY_REGION_MMIO_VALUE, "expected 1 or MMIO, read 0x%lx", value);
    value = spin_while(gva, SET_MEMORY_REGION_MMIO_VALUE);
    GUEST_ASSERT_EQ(value, 1);
    GUEST_DONE();
}

void guest_delete_region(uint64_t gva) {
    uint64_t value;

    GUEST_SYNC(0);
    value = spin_while(gva, 0); // deleted: every read is MMIO
    GUEST_ASSERT_EQ(value, SET_MEMORY_REGION_MMIO_VALUE);
    value = spin_while(gva, SET_MEMORY_REGION_MMIO_VALUE); // added again: fresh zeroed memory
    GUEST_ASSERT_EQ(value, 0);
    value = spin_while(gva, 0); // deleted again
    GUEST_ASSERT_EQ(value, SET_MEMORY_REGION_MMIO_VALUE);
    GUEST_DONE();
}

GUEST_CODE_END

GUEST_CODE_BEGIN

void guest_memstress(uint64_t gva, uint64_t pages) {
    for (uint64_t pass = 1;; pass++) {
        for (uint64_t page = 0; page < pages; page++)
            *(volatile uint64_t *)(gva + page * 4096) = pass;
        GUEST_SYNC(pass);
    }
}

GUEST_CODE_END

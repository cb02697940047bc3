// Guest code for the kvm_page_table_test and max_guest_memory_test ports: guests that touch every page of a large
// region, so that KVM has to build, split, rebuild and drop its mappings of it.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_page_table(uint64_t control_gva, uint64_t writes) {
    volatile struct page_table_control *control = (volatile struct page_table_control *)control_gva;
    const uint64_t gva = control->gva, size = control->size, large_page = control->large_page;

    for (;;) {
        uint64_t stage = control->stage;

        switch (stage) {
        case PAGE_TABLE_STAGE_START:
            break;
        case PAGE_TABLE_STAGE_CREATE:
            // One access per large page: KVM maps each with the largest page its backing allows.
            for (uint64_t offset = 0; offset < size; offset += large_page) {
                if (writes)
                    *(volatile uint64_t *)(gva + offset) = PAGE_TABLE_MAGIC;
                else
                    (void)*(volatile uint64_t *)(gva + offset);
            }
            break;
        case PAGE_TABLE_STAGE_UPDATE:
            // Dirty logging is on: the write makes KVM split the large page (or make a 4 KiB mapping writable),
            // the reads of its second half make new 4 KiB mappings. With 4 KiB pages there is no second half, so
            // every page is written.
            for (uint64_t offset = 0; offset < size; offset += large_page) {
                *(volatile uint64_t *)(gva + offset) = PAGE_TABLE_MAGIC;
                for (uint64_t page = large_page / 2; page < large_page; page += 4096)
                    (void)*(volatile uint64_t *)(gva + offset + page);
            }
            break;
        case PAGE_TABLE_STAGE_ADJUST:
            // Dirty logging is off again: reading every page lets KVM map the large pages whole again.
            for (uint64_t offset = 0; offset < size; offset += 4096)
                (void)*(volatile uint64_t *)(gva + offset);
            break;
        default:
            __GUEST_ASSERT(0, "unknown stage %lu", stage);
        }
        GUEST_SYNC(stage);
    }
}

void guest_max_memory(uint64_t start, uint64_t end, uint64_t stride) {
    for (;;) {
        for (uint64_t gpa = start; gpa < end; gpa += stride)
            *(volatile uint64_t *)gpa = gpa;
        GUEST_SYNC(start);
    }
}

GUEST_CODE_END

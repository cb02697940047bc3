// A store to a guest-physical address that no memslot backs and that is not the ucall address (the word after it,
// in the identity-mapped ucall page). There is no device model, so the run ends as a fault naming the address and
// the nearest memslot.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    GUEST_SYNC(1);
    *(volatile uint64_t *)(uintptr_t)(ucall_exit_mmio_addr + 8) = 0x1234;
    GUEST_DONE();
}

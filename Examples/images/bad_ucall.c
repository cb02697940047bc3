// A malformed ucall: a 4-byte store to the ucall MMIO address, where a ucall is one 8-byte store of a pointer.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    GUEST_SYNC(1);
    *(volatile uint32_t *)(uintptr_t)ucall_exit_mmio_addr = 0x1234;
    GUEST_DONE();
}

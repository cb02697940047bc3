// Port I/O that is not a ucall: an OUT to the legacy serial port. There is no device model, so the run ends as a
// fault, with an exit event naming the port, direction, size and data.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    GUEST_SYNC(1);
    __asm__ volatile("outb %%al, %%dx" : : "a"((uint8_t)'K'), "d"((uint16_t)0x3f8));
    GUEST_DONE();
}

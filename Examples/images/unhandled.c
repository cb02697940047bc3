// An exception the guest does not handle: the harness's IDT turns the #UD into an UNHANDLED ucall with the RIP.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    GUEST_SYNC(1);
    __asm__ volatile("ud2");
    GUEST_DONE();
}

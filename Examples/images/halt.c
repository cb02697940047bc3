// HLT before DONE. Run with --interrupt-controller none, HLT exits to the host as KVM_EXIT_HLT, which ends the
// run as a failure ("halted"); with the default local APICs it waits until the timeout.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    (void)vcpu_index;
    GUEST_SYNC(1);
    __asm__ volatile("hlt");
    GUEST_DONE();
}

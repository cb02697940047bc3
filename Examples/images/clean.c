// A clean run: three checkpoints, then DONE. `kvm-harness run` exits 0.
#include "guest_image.h"

void guest_main(uint64_t vcpu_index) {
    GUEST_SYNC(1);
    GUEST_SYNC_ARGS(2, 0x20, 0x21);
    GUEST_SYNC_ARGS(3, vcpu_index, 0xabc);
    GUEST_DONE();
}

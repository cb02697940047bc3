// Declares requirements every host that runs the harness meets (64-bit mode and KVM_CAP_SYNC_REGS): it runs and
// passes under `kvm-harness test`, as an image whose requirements are met does.
#include "guest_image.h"

KVM_HARNESS_REQUIRES("cpu=lm cap=KVM_CAP_SYNC_REGS");

void guest_main(uint64_t vcpu_index) {
    GUEST_SYNC_ARGS(1, vcpu_index);
    GUEST_DONE();
}

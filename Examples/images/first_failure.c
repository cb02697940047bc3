// The first failure on any vCPU ends the whole run: run with --vcpus 2. vCPU 0 spins; vCPU 1 fails an assertion,
// and the harness stops vCPU 0 instead of waiting for the timeout.
#include "guest_image.h"

KVM_HARNESS_REQUIRES("vcpus=2");

void guest_main(uint64_t vcpu_index) {
    GUEST_SYNC_ARGS(1, vcpu_index);
    if (vcpu_index == 0) {
        for (;;)
            __asm__ volatile("pause");
    }
    GUEST_ASSERT_EQ(vcpu_index, 0);
    GUEST_DONE();
}

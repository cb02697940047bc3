// Every vCPU runs guest_main with its own index in RDI; run with --vcpus 2 (`kvm-harness test` reads the 2 from
// the declaration).
#include "guest_image.h"

KVM_HARNESS_REQUIRES("vcpus=2");

void guest_main(uint64_t vcpu_index) {
    GUEST_SYNC_ARGS(1, vcpu_index);
    GUEST_SYNC_ARGS(2, vcpu_index * 0x100);
    GUEST_DONE();
}

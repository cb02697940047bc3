// Needs VMX in the guest's CPUID (a nested-virtualization test would): `kvm-harness test` skips it, with the
// reason, on a host whose KVM does not offer VMX (any AMD host, an Intel host without nested virtualization, a
// software-virtualized KVM such as PVM), and runs it elsewhere.
#include "guest_image.h"

KVM_HARNESS_REQUIRES("cpu=vmx");

void guest_main(uint64_t vcpu_index) {
    GUEST_SYNC_ARGS(1, vcpu_index);
    GUEST_DONE();
}

// Guest code for the probes that tell whether this host departs from the architecture in a way a port records as
// a known issue (HostDepartures.swift).
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

GUEST_CODE_BEGIN

void guest_hypercall_probe(void) {
    // Hypercall 0 is not one KVM knows: it returns -KVM_ENOSYS, from VMX, SVM or KVM's emulator alike.
    GUEST_SYNC_ARGS(1, kvm_hypercall(0, 0, 0, 0, 0));
    GUEST_DONE();
}

GUEST_CODE_END

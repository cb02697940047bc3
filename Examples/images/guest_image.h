// What the example images share: the guest runtime and the entry point's signature.
//
// Every vCPU starts at guest_main with its index (0 to N-1) in RDI, on a harness-provided stack, in 64-bit mode at
// CPL0 with interrupts off (docs/guest-image-abi.md).
#ifndef GUEST_IMAGE_H
#define GUEST_IMAGE_H

#include <stdint.h>

#include "KVMHarnessGuest.h"

/// The entry point of every example image.
void guest_main(uint64_t vcpu_index);

#endif

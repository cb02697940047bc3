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

/// Declares what the image needs from the host, for `kvm-harness test` (docs/guest-image-abi.md, "Requirements"):
/// space-separated words, `vcpus=N`, `cap=KVM_CAP_NAME` and `cpu=FEATURE` (a /proc/cpuinfo flag such as `vmx`).
/// The suite runner reads the string through the symbol `kvm_harness_requires`; `used` and `retain` keep it in
/// the image although no code refers to it (the images are linked with --gc-sections).
#define KVM_HARNESS_REQUIRES(words)                                                                                \
    __attribute__((used, retain, section(".rodata.kvm_harness_requires"))) const char kvm_harness_requires[] = words

#endif

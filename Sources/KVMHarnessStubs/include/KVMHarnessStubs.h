// The harness's own guest code. It is assembled into the host binary only so that the host can copy its bytes
// into every VM at KVMH_STUBS_GVA; the host never executes it.
#ifndef KVMHARNESS_STUBS_H
#define KVMHARNESS_STUBS_H

#include "kvmh_layout.h"

/// First byte of the stub code. On x86-64: the 256 entry points (exceptions 0 to 31, interrupts 32 to 255),
/// KVMH_STUB_ENTRY_SIZE bytes apart. On arm64: 4 KiB aligned, with the exception vector table (VBAR_EL1) at
/// KVMH_A64_VECTORS_OFFSET.
extern const unsigned char kvmh_stubs_start[];
/// Where a guest entry function returns to (the return address the host gives it: on the stack on x86-64, in X30 on
/// arm64): reports an ABORT that says the entry function returned.
extern const unsigned char kvmh_stub_entry_returned[];
/// One past the last byte of the stub code.
extern const unsigned char kvmh_stubs_end[];

/// The address of kvmh_stubs_start.
const void *kvmh_stubs_start_address(void);
/// The address of kvmh_stub_entry_returned.
const void *kvmh_stub_entry_returned_address(void);
/// The address of kvmh_stubs_end.
const void *kvmh_stubs_end_address(void);

#endif

// Guest code for the KVM tests: C functions that run inside VMs, linked into the test binary.
#ifndef TEST_GUESTS_H
#define TEST_GUESTS_H

#include <stdint.h>

#include "ucall.h"

/// SYNC(1, 0x11, 0x12), SYNC(2, 0x21, 0x22, 0x23), SYNC(3, a, b, a + b), DONE.
void guest_sync_stages(uint64_t a, uint64_t b);
/// Copies and zeroes a 1 KiB struct (compiler-generated memcpy/memset), then reports checksums.
void guest_struct_copy(void);
/// Builds a ucall whose struct straddles a page boundary, at `gva` (the host maps the two pages apart).
void guest_straddling_ucall(uint64_t gva);
/// Writes 4 bytes to the ucall MMIO address.
void guest_ucall_wrong_size(void);
/// Reads the ucall MMIO address.
void guest_ucall_read(void);
/// Makes a ucall whose struct pointer is not mapped.
void guest_ucall_unmapped(uint64_t gva);
/// Counts up a global from its initial value and reports it.
void guest_counter(void);
/// The global `guest_counter` starts from.
extern uint64_t guest_counter_value GUEST_GLOBAL;
/// Returns from the entry function without GUEST_DONE().
void guest_returns(void);
/// SYNC(vcpu id) then DONE, for multi-vCPU tests.
void guest_per_vcpu(uint64_t id);
/// Sends SYNC(1) over the port-I/O transport, then DONE over MMIO.
void guest_pio_sync(void);

#endif

// The guest that `kvm-harness demo` runs: C code linked into the CLI, run in a VM.
#ifndef DEMO_GUEST_H
#define DEMO_GUEST_H

#include <stdint.h>

/// Walks through the ucall commands: SYNC with values, then DONE.
void demo_guest_main(uint64_t iterations);

#endif

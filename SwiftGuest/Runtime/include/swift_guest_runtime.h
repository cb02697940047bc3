// The C half of the Embedded Swift guest library (SwiftGuest/Library), for stand-alone guest images built by
// scripts/build-swift-guest.sh.
//
// The ucall ABI is not repeated here: struct ucall, the command numbers, ucall7 (GUEST_SYNC's eight stores and the
// exit) and both transports come from the C guest runtime's ucall.h, and the harness's reserved addresses from
// kvmh_layout.h, so a Swift guest and a C guest send byte-for-byte the same ucalls. The static inline functions
// below are compiled by the clang inside swiftc with the Swift code's target features (no SSE, soft float).
#ifndef KVMH_SWIFT_GUEST_RUNTIME_H
#define KVMH_SWIFT_GUEST_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "guest_assert.h"
#include "kvmh_layout.h"
#include "ucall.h"

/// The transports a Swift guest can pick (GuestUcallTransport in Swift).
enum {
    KVMH_SWIFT_TRANSPORT_MMIO = 0,    ///< One 8-byte store of the struct's address to ucall_exit_mmio_addr.
    KVMH_SWIFT_TRANSPORT_PORT_IO = 1, ///< IN from UCALL_PIO_PORT with the struct's address in RDI.
};

/// Sends `cmd` with args[0...2] = a0, a1, a2 (the rest 0) and `length` bytes of `text` in the buffer, cut at
/// UCALL_BUFFER_SIZE - 1 and NUL-terminated: PRINTF from guestPrint. `transport` is a KVMH_SWIFT_TRANSPORT_*.
void kvmh_swift_ucall_text(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2, const void *text, size_t length,
                           int transport);

/// Sends an ABORT (args[0] = expression, args[1] = file, args[2] = line, the text in the buffer) and never returns:
/// a host that resumes the vCPU gets the ABORT again, as from the C runtime's ucall_assert.
__attribute__((noreturn)) void kvmh_swift_abort(const char *expression, const char *file, uint64_t line,
                                                const void *text, size_t length);

/// What each vCPU keeps for itself; GS points at it (IA32_GS_BASE), set by _start on the vCPU's own stack.
struct kvmh_vcpu_local {
    uint64_t entry_argument; ///< RDI at the entry point: the vCPU index, unless the test chose the arguments.
};

/// RDI as it was at the entry point, read through GS (a single MOV).
static inline __attribute__((always_inline)) uint64_t kvmh_entry_argument(void) {
    uint64_t value;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(value));
    return value;
}

/// Executes UD2 (a #UD), for guests that test exception handlers.
static inline __attribute__((always_inline)) void kvmh_ud2(void) { __asm__ volatile("ud2" ::: "memory"); }

#endif

// arm64 ucalls that KVM cannot decode, for the tests that the host reports them as a typed error.
//
// KVM emulates a guest's MMIO store from the syndrome in ESR_EL2, which describes the access only for a
// single-register load or store without writeback (ISV = 1). These helpers store the ucall's address to the ucall
// MMIO address in the two other forms, so the syndrome has ISV = 0: KVM_RUN then fails with ENOSYS, or, with
// KVM_CAP_ARM_NISV_TO_USER enabled, exits with KVM_EXIT_ARM_NISV. Normal guest code never needs them: ucall_send
// (ucall.h) always uses the decodable form. Empty on other architectures.
#ifndef KVMHARNESS_GUEST_UCALL_AARCH64_H
#define KVMHARNESS_GUEST_UCALL_AARCH64_H

#include <stdint.h>

#include "ucall.h"

#if defined(__aarch64__)

#ifdef __cplusplus
extern "C" {
#endif

GUEST_CODE_BEGIN

/// Sends `uc` with a store PAIR (`stp xN, xzr, [xM]`): 16 bytes, the struct's address then zero. KVM cannot decode
/// it; the host reports the typed error for an undecodable MMIO access instead of a ucall.
static inline __attribute__((always_inline)) void ucall_send_store_pair_for_test(struct ucall *uc) {
    __asm__ volatile("stp %x[value], xzr, [%x[mmio]]"
                     :
                     : [value] "r"((uint64_t)(uintptr_t)uc), [mmio] "r"(ucall_exit_mmio_addr)
                     : "memory");
}

/// Sends `uc` with a single-register store WITH writeback (post-index by 0: `str xN, [xM], #0`), which KVM cannot
/// decode either.
static inline __attribute__((always_inline)) void ucall_send_writeback_for_test(struct ucall *uc) {
    uint64_t mmio = ucall_exit_mmio_addr;
    __asm__ volatile("str %x[value], [%x[mmio]], #0"
                     : [mmio] "+r"(mmio)
                     : [value] "r"((uint64_t)(uintptr_t)uc)
                     : "memory");
}

GUEST_CODE_END

#ifdef __cplusplus
}
#endif

#endif // __aarch64__

#endif

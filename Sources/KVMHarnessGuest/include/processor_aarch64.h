// arm64 instructions for guest code, as small macros and inline functions: system registers, barriers, waiting
// for interrupts, interrupt masking. General-purpose registers only. Empty on other architectures (processor.h is
// the x86-64 counterpart). The numbers guest code and the host share about arm64 exceptions are in
// aarch64_exceptions.h, which every architecture has.
#ifndef KVMHARNESS_GUEST_PROCESSOR_AARCH64_H
#define KVMHARNESS_GUEST_PROCESSOR_AARCH64_H

#include <stdint.h>

#include "aarch64_exceptions.h"
#include "ucall.h"

#if defined(__aarch64__)

GUEST_CODE_BEGIN

/// Reads a system register by its assembler name: `read_sysreg(esr_el1)`, `read_sysreg(s3_0_c0_c0_5)`.
#define read_sysreg(reg)                                                                                             \
    ({                                                                                                               \
        uint64_t __value;                                                                                            \
        __asm__ volatile("mrs %0, " #reg : "=r"(__value)::"memory");                                                \
        __value;                                                                                                     \
    })

/// Writes a system register by its assembler name: `write_sysreg(value, tpidr_el1)`. Follow a write that changes
/// how later instructions execute (SCTLR_EL1, TCR_EL1, TTBR0_EL1, ...) with isb().
#define write_sysreg(value, reg) __asm__ volatile("msr " #reg ", %x0" ::"rZ"((uint64_t)(value)) : "memory")

/// Instruction synchronization barrier.
#define isb() __asm__ volatile("isb" ::: "memory")
/// Data synchronization barrier with a domain/type option: `dsb(ish)`, `dsb(sy)`.
#define dsb(opt) __asm__ volatile("dsb " #opt ::: "memory")
/// Data memory barrier with a domain/type option: `dmb(ish)`.
#define dmb(opt) __asm__ volatile("dmb " #opt ::: "memory")

#define GUEST_INLINE static inline __attribute__((always_inline))

/// Waits for an interrupt (or any other wake-up event).
GUEST_INLINE void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }

/// Unmasks IRQs (PSTATE.I = 0).
GUEST_INLINE void local_irq_enable(void) { __asm__ volatile("msr daifclr, #2" ::: "memory"); }
/// Masks IRQs (PSTATE.I = 1).
GUEST_INLINE void local_irq_disable(void) { __asm__ volatile("msr daifset, #2" ::: "memory"); }

/// The exception level this code runs at (CurrentEL[3:2]): 1 for guest kernel code.
GUEST_INLINE uint64_t guest_current_el(void) { return (read_sysreg(CurrentEL) >> 2) & 3; }

/// Invalidates every stage-1 TLB entry of this VM, on all vCPUs (inner shareable), and waits for it.
GUEST_INLINE void flush_tlb_all(void) {
    dsb(ishst);
    __asm__ volatile("tlbi vmalle1is" ::: "memory");
    dsb(ish);
    isb();
}

GUEST_CODE_END

#endif // __aarch64__

#endif

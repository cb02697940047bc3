// The local APIC for guest code: its registers in xAPIC mode (MMIO at 0xFEE00000, which the host maps with
// VirtualMachine.mapXAPIC()) and x2APIC mode (MSRs 0x800 + offset / 16), switching modes, end of interrupt, sending
// IPIs and the APIC timer. Interrupt handlers are C functions `void f(struct ex_regs *)` that the host installs
// with VirtualMachine.installInterruptHandler(vector:handler:); they run with interrupts off and end with
// apic_eoi(). General-purpose registers only. Needs an in-kernel local APIC (the default `.split` controller).
#ifndef KVMHARNESS_GUEST_APIC_H
#define KVMHARNESS_GUEST_APIC_H

// x86-64 only; empty elsewhere, so the umbrella header can include it.
#if defined(__x86_64__)

#include <stdbool.h>
#include <stdint.h>

#include "guest_assert.h"
#include "processor.h"

GUEST_CODE_BEGIN

/// Where the xAPIC's registers are after reset (guest-physical; the host maps it at the same virtual address).
#define APIC_DEFAULT_GPA 0xfee00000ULL

/// IA32_APIC_BASE and its bits.
#define MSR_IA32_APICBASE 0x1b
#define MSR_IA32_APICBASE_BSP (1ULL << 8)
#define MSR_IA32_APICBASE_EXTD (1ULL << 10)
#define MSR_IA32_APICBASE_ENABLE (1ULL << 11)
#define MSR_IA32_APICBASE_BASE (0xfffffULL << 12)

/// The first x2APIC MSR: register offset `reg` is MSR APIC_BASE_MSR + reg / 16.
#define APIC_BASE_MSR 0x800

// Register offsets (SDM vol. 3, "Local APIC Register Address Map").
#define APIC_ID 0x20
#define APIC_LVR 0x30
#define APIC_TASKPRI 0x80
#define APIC_PROCPRI 0xA0
#define APIC_EOI 0xB0
#define APIC_LDR 0xD0
#define APIC_SPIV 0xF0
#define APIC_SPIV_APIC_ENABLED (1u << 8)
#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVTT 0x320
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3E0

// ICR fields.
#define APIC_DEST_SELF 0x40000u
#define APIC_DEST_ALLINC 0x80000u
#define APIC_DEST_ALLBUT 0xC0000u
#define APIC_INT_LEVELTRIG 0x08000u
#define APIC_INT_ASSERT 0x04000u
#define APIC_ICR_BUSY 0x01000u
#define APIC_DEST_LOGICAL 0x00800u
#define APIC_DEST_PHYSICAL 0x00000u
#define APIC_DM_FIXED 0x00000u
#define APIC_DM_FIXED_MASK 0x00700u
#define APIC_DM_LOWEST 0x00100u
#define APIC_DM_SMI 0x00200u
#define APIC_DM_NMI 0x00400u
#define APIC_DM_INIT 0x00500u
#define APIC_DM_STARTUP 0x00600u
#define APIC_DM_EXTINT 0x00700u
#define APIC_VECTOR_MASK 0x000FFu
/// The xAPIC destination field of ICR2 (bits 31:24).
#define SET_XAPIC_DEST_FIELD(x) ((uint32_t)(x) << 24)
/// The APIC ID in an xAPIC APIC_ID value.
#define GET_XAPIC_ID_FIELD(x) (((x) >> 24) & 0xFF)

// Timer LVT modes and mask.
#define APIC_LVT_TIMER_ONESHOT (0u << 17)
#define APIC_LVT_TIMER_PERIODIC (1u << 17)
#define APIC_LVT_TIMER_TSCDEADLINE (2u << 17)
#define APIC_LVT_MASKED (1u << 16)

/// Vector numbers of the exceptions the APIC code cares about.
#define GP_VECTOR 13
#define NMI_VECTOR 2

/// Whether IA32_APIC_BASE says this is the bootstrap processor.
GUEST_INLINE bool apic_is_bsp(void) { return (rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BSP) != 0; }

// MARK: - xAPIC (MMIO)

GUEST_INLINE uint32_t xapic_read_reg(unsigned int reg) {
    return ((volatile uint32_t *)(uintptr_t)APIC_DEFAULT_GPA)[reg >> 2];
}

GUEST_INLINE void xapic_write_reg(unsigned int reg, uint32_t value) {
    ((volatile uint32_t *)(uintptr_t)APIC_DEFAULT_GPA)[reg >> 2] = value;
}

// MARK: - x2APIC (MSRs)

GUEST_INLINE uint64_t x2apic_read_reg(unsigned int reg) { return rdmsr(APIC_BASE_MSR + (reg >> 4)); }

/// WRMSR to an x2APIC register; returns the exception vector (0 if none, GP_VECTOR for a reserved bit).
GUEST_INLINE uint8_t x2apic_write_reg_safe(unsigned int reg, uint64_t value) {
    return wrmsr_safe(APIC_BASE_MSR + (reg >> 4), value);
}

GUEST_INLINE void x2apic_write_reg(unsigned int reg, uint64_t value) {
    uint8_t vector = x2apic_write_reg_safe(reg, value);
    __GUEST_ASSERT(vector == 0, "WRMSR 0x%x = 0x%llx raised vector %u", APIC_BASE_MSR + (reg >> 4),
                   (unsigned long long)value, vector);
}

// MARK: - Modes

/// Clears the enable and x2APIC bits of IA32_APIC_BASE.
GUEST_INLINE void apic_disable(void) {
    wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) & ~(MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD));
}

/// Puts the APIC in xAPIC mode (through disabled when it is in x2APIC mode, as the SDM requires) and sets the
/// software enable bit in the spurious-interrupt register.
GUEST_INLINE void xapic_enable(void) {
    uint64_t base = rdmsr(MSR_IA32_APICBASE);
    if (base & MSR_IA32_APICBASE_EXTD) {
        apic_disable();
        wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) | MSR_IA32_APICBASE_ENABLE);
    } else if (!(base & MSR_IA32_APICBASE_ENABLE)) {
        wrmsr(MSR_IA32_APICBASE, base | MSR_IA32_APICBASE_ENABLE);
    }
    xapic_write_reg(APIC_SPIV, xapic_read_reg(APIC_SPIV) | APIC_SPIV_APIC_ENABLED);
}

/// Puts the APIC in x2APIC mode and sets the software enable bit.
GUEST_INLINE void x2apic_enable(void) {
    wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) | MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD);
    x2apic_write_reg(APIC_SPIV, x2apic_read_reg(APIC_SPIV) | APIC_SPIV_APIC_ENABLED);
}

/// Whether the APIC is in x2APIC mode now.
GUEST_INLINE bool apic_is_x2apic(void) { return (rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_EXTD) != 0; }

// MARK: - Either mode (chosen by IA32_APIC_BASE at each call)

GUEST_INLINE uint32_t apic_read_reg(unsigned int reg) {
    return apic_is_x2apic() ? (uint32_t)x2apic_read_reg(reg) : xapic_read_reg(reg);
}

GUEST_INLINE void apic_write_reg(unsigned int reg, uint32_t value) {
    if (apic_is_x2apic())
        x2apic_write_reg(reg, value);
    else
        xapic_write_reg(reg, value);
}

/// This vCPU's APIC ID, in either mode.
GUEST_INLINE uint32_t apic_id(void) {
    return apic_is_x2apic() ? (uint32_t)x2apic_read_reg(APIC_ID) : GET_XAPIC_ID_FIELD(xapic_read_reg(APIC_ID));
}

/// Signals the end of the interrupt being handled (write 0 to EOI).
GUEST_INLINE void apic_eoi(void) { apic_write_reg(APIC_EOI, 0); }

// MARK: - IPIs

/// Sends an IPI in xAPIC mode: `icr_low` (vector, delivery mode, shorthand) to physical APIC ID `dest`.
GUEST_INLINE void xapic_send_ipi(uint32_t dest, uint32_t icr_low) {
    xapic_write_reg(APIC_ICR2, SET_XAPIC_DEST_FIELD(dest));
    xapic_write_reg(APIC_ICR, icr_low);
}

/// Sends an IPI in x2APIC mode: one 64-bit write of the ICR with the 32-bit destination in the high half.
GUEST_INLINE void x2apic_send_ipi(uint32_t dest, uint32_t icr_low) {
    x2apic_write_reg(APIC_ICR, (uint64_t)dest << 32 | icr_low);
}

/// Sends `icr_low` to APIC ID `dest` in whichever mode the APIC is in.
GUEST_INLINE void apic_send_ipi(uint32_t dest, uint32_t icr_low) {
    if (apic_is_x2apic())
        x2apic_send_ipi(dest, icr_low);
    else
        xapic_send_ipi(dest, icr_low);
}

/// A fixed interrupt with `vector` to APIC ID `dest`.
GUEST_INLINE void apic_send_fixed_ipi(uint32_t dest, uint8_t vector) {
    apic_send_ipi(dest, APIC_DEST_PHYSICAL | APIC_DM_FIXED | APIC_INT_ASSERT | vector);
}

/// An NMI to APIC ID `dest`.
GUEST_INLINE void apic_send_nmi(uint32_t dest) { apic_send_ipi(dest, APIC_DEST_PHYSICAL | APIC_DM_NMI | APIC_INT_ASSERT); }

/// INIT then SIPI with start page `page` (the vCPU starts in real mode at page << 12) to APIC ID `dest`. The
/// harness's vCPUs start in long mode, so a target that takes them leaves the harness's set-up.
GUEST_INLINE void apic_send_init_sipi(uint32_t dest, uint8_t page) {
    apic_send_ipi(dest, APIC_DEST_PHYSICAL | APIC_DM_INIT | APIC_INT_ASSERT);
    apic_send_ipi(dest, APIC_DEST_PHYSICAL | APIC_DM_STARTUP | APIC_INT_ASSERT | page);
}

// MARK: - Timer

/// Starts the APIC timer: `mode` (APIC_LVT_TIMER_ONESHOT or _PERIODIC, optionally | APIC_LVT_MASKED) raising
/// `vector`, counting down from `initial_count` at the bus frequency divided as `divide` (APIC_TDCR's encoding;
/// 0xB divides by 1).
GUEST_INLINE void apic_timer_start(uint32_t mode, uint8_t vector, uint32_t divide, uint32_t initial_count) {
    apic_write_reg(APIC_LVTT, mode | vector);
    apic_write_reg(APIC_TDCR, divide);
    apic_write_reg(APIC_TMICT, initial_count);
}

/// Stops the APIC timer (an initial count of 0).
GUEST_INLINE void apic_timer_stop(void) { apic_write_reg(APIC_TMICT, 0); }

GUEST_CODE_END

#endif // __x86_64__

#endif

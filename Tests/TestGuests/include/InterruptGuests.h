// Guest code for the interrupt tests and the local-APIC selftest ports (Tests/TestGuests/selftests/apic_*.c,
// interrupts.c), linked into the test binary.
#ifndef INTERRUPT_GUESTS_H
#define INTERRUPT_GUESTS_H

#include <stdint.h>

#include "KVMHarnessGuest.h"

// MARK: - Interrupts, halting and IPIs (interrupts.c)

/// The vector of the ring's token IPI and of the stop broadcast.
#define RING_VECTOR 0xe0
#define RING_STOP_VECTOR 0xe1
/// The most vCPUs the ring has room for.
#define RING_MAX_VCPUS 64

/// SYNC(1), then CLI; HLT forever: with an in-kernel local APIC nothing can wake it.
void guest_halts_interrupts_off(void);
/// vCPU `me` of `n` in the token ring: x2APIC on, then, `hops` times in all, the holder passes the token to vCPU
/// (me + 1) % n with a fixed IPI and every other vCPU halts (STI; HLT) until it arrives. The holder that finds
/// `hops` passes done broadcasts a stop IPI; every vCPU then sends DONE.
void guest_ipi_ring(uint64_t me, uint64_t n, uint64_t hops);
/// The ring's interrupt handler (RING_VECTOR and RING_STOP_VECTOR).
void guest_ring_handler(struct ex_regs *regs);
/// Passes made, IPIs each vCPU took (indexed by APIC ID), and the vCPUs with their APIC enabled.
extern volatile uint64_t ring_hops GUEST_GLOBAL;
extern volatile uint64_t ring_received[RING_MAX_VCPUS] GUEST_GLOBAL;

/// With `enable_apic`, x2APIC on first (for MSIs to the in-kernel local APIC). For a VM without an in-kernel
/// interrupt controller: SYNC(1) with interrupts off, then STI and spin until the
/// host's interrupt arrives (the host asks for an interrupt window); SYNC(2, vector seen); then STI; HLT (a HLT
/// exit), and after the host's second injection SYNC(3, vector seen); DONE.
void guest_user_space_interrupts(uint64_t enable_apic);
/// SYNC(1) with interrupts off, spin until an NMI is recorded, SYNC(2, vector seen), DONE.
void guest_wait_for_nmi(void);
/// The handler for guest_user_space_interrupts and guest_wait_for_nmi: records the vector.
void guest_record_vector(struct ex_regs *regs);

/// Sends itself a fixed IPI with `vector` (x2APIC) with interrupts off, SYNCs, then takes it: SYNC(vector seen).
/// Used to check that an interrupt vector without a handler is reported as UNHANDLED.
void guest_self_ipi(uint64_t vector);

/// The APIC timer in x2APIC mode: one-shot with `count` at divide-by-1, wait for it with STI; HLT; SYNC(ticks
/// seen); then periodic for 3 ticks; DONE.
void guest_apic_timer(uint64_t count);
/// The timer's handler: counts ticks and ends the interrupt.
void guest_timer_handler(struct ex_regs *regs);

// MARK: - xapic_ipi_test (apic_xapic_ipi.c)

/// xapic_ipi_test's shared data.
struct xapic_ipi_data {
    uint32_t halter_apic_id;
    uint32_t halter_lvr;
    uint32_t halter_tpr;
    uint32_t halter_ppr;
    volatile uint64_t hlt_count;
    volatile uint64_t wake_count;
    volatile uint64_t ipis_sent;
    volatile uint64_t stop;
};
/// xapic_ipi_test: the data both vCPUs share (a guest global the host reads after the run).
extern struct xapic_ipi_data xapic_ipi_data GUEST_GLOBAL;
/// IPIs the halter's handler took.
extern volatile uint64_t xapic_ipis_received GUEST_GLOBAL;
/// xapic_ipi_test's halter: xAPIC on, then HLT until woken, over and over, until the sender says stop; DONE.
void guest_xapic_halter(void);
/// xapic_ipi_test's sender: IPIs to the halter for `tsc_ticks` TSC ticks, each only after the halter took the
/// last, woke and halted again (asserted within `wait_ticks`); then stop and DONE.
void guest_xapic_sender(uint64_t tsc_ticks, uint64_t wait_ticks);
/// xapic_ipi_test's IPI handler.
void guest_xapic_ipi_handler(struct ex_regs *regs);

// MARK: - xapic_state_test (apic_xapic_state.c)

/// xAPIC mode: forever, read the ICR value the host put in IRR[63:0], write it to ICR2:ICR, SYNC(value).
void guest_xapic_state_xapic(void);
/// x2APIC mode: forever, read the value from IRR[63:0], write it to the ICR MSR (expecting #GP for reserved
/// bits, else reading it back), SYNC(value).
void guest_xapic_state_x2apic(void);

// MARK: - set_boot_cpu_id (apic_set_boot_cpu_id.c)

/// SYNC(1), then assert IA32_APIC_BASE.BSP is set if `is_bsp` else clear; DONE.
void guest_boot_cpu(uint64_t is_bsp);

// MARK: - apic_bus_clock_test (apic_bus_clock.c)

/// For each of the 8 divide values: start a masked one-shot timer at 0xFFFFFFFF, wait `delay_tsc` TSC ticks,
/// read the current count, and assert the frequency measured against `tsc_hz` is within 5% of `apic_hz`. x2APIC
/// mode if `x2apic`, else xAPIC. DONE.
void guest_apic_bus_clock(uint64_t apic_hz, uint64_t tsc_hz, uint64_t delay_tsc, uint64_t x2apic);

#endif

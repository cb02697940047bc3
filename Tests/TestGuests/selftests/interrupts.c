// Guest code for the interrupt tests: a halt nothing can end, a token ring of IPIs, interrupts from a user-space
// controller, an interrupt without a handler, and the APIC timer.
#include "KVMHarnessGuest.h"
#include "InterruptGuests.h"
#include "apic.h"

GUEST_CODE_BEGIN

void guest_halts_interrupts_off(void) {
    GUEST_SYNC(1);
    for (;;)
        __asm__ volatile("cli; hlt" ::: "memory");
}

// MARK: - The token ring

volatile uint64_t ring_hops;
volatile uint64_t ring_received[RING_MAX_VCPUS];
static volatile uint8_t ring_has_token[RING_MAX_VCPUS];
static volatile uint64_t ring_ready;
static volatile uint64_t ring_stop;

void guest_ring_handler(struct ex_regs *regs) {
    uint32_t me = (uint32_t)x2apic_read_reg(APIC_ID);
    if (regs->vector == RING_VECTOR) {
        ring_received[me]++;
        ring_has_token[me] = 1;
    }
    x2apic_write_reg(APIC_EOI, 0);
}

void guest_ipi_ring(uint64_t me, uint64_t n, uint64_t hops) {
    GUEST_ASSERT(n >= 2 && n <= RING_MAX_VCPUS);
    x2apic_enable();
    GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ID), me);
    __atomic_fetch_add(&ring_ready, 1, __ATOMIC_SEQ_CST);
    if (me == 0) {
        // A fixed IPI to an APIC that is not software-enabled yet would be lost: start once every one is.
        while (ring_ready != n)
            __asm__ volatile("pause");
        ring_has_token[0] = 1;
    }
    for (;;) {
        cli();
        while (!ring_has_token[me] && !ring_stop) {
            safe_halt();
            cli();
        }
        if (ring_stop)
            break;
        ring_has_token[me] = 0;
        if (ring_hops == hops) {
            ring_stop = 1;
            x2apic_write_reg(APIC_ICR, APIC_DEST_ALLBUT | APIC_DM_FIXED | APIC_INT_ASSERT | RING_STOP_VECTOR);
            break;
        }
        ring_hops = ring_hops + 1;
        x2apic_send_ipi((uint32_t)((me + 1) % n), APIC_DM_FIXED | APIC_INT_ASSERT | RING_VECTOR);
    }
    GUEST_DONE();
}

// MARK: - A user-space interrupt controller

static volatile uint64_t recorded_vector;

void guest_record_vector(struct ex_regs *regs) { recorded_vector = regs->vector; }

void guest_user_space_interrupts(uint64_t enable_apic) {
    cli();
    if (enable_apic)
        x2apic_enable();
    GUEST_SYNC(1);
    sti();
    while (!recorded_vector)
        __asm__ volatile("pause");
    cli();
    GUEST_SYNC_ARGS(2, recorded_vector);
    recorded_vector = 0;
    safe_halt();
    cli();
    GUEST_SYNC_ARGS(3, recorded_vector);
    GUEST_DONE();
}

// MARK: - No handler

void guest_self_ipi(uint64_t vector) {
    x2apic_enable();
    cli();
    x2apic_write_reg(APIC_ICR, APIC_DEST_SELF | APIC_DM_FIXED | APIC_INT_ASSERT | vector);
    GUEST_SYNC(1);
    // STI; HLT rather than STI; NOP: PVM, which emulates CPL0 guest code, only delivers an interrupt at its next
    // entry to the guest, and a HLT with one pending is such an entry.
    safe_halt();
    cli();
    GUEST_SYNC(2);
    GUEST_DONE();
}

// MARK: - The APIC timer

static volatile uint64_t timer_ticks;

void guest_timer_handler(struct ex_regs *regs) {
    (void)regs;
    timer_ticks++;
    x2apic_write_reg(APIC_EOI, 0);
}

void guest_apic_timer(uint64_t count) {
    x2apic_enable();
    cli();
    apic_timer_start(APIC_LVT_TIMER_ONESHOT, 0xec, 0xb, (uint32_t)count);
    while (!timer_ticks) {
        safe_halt();
        cli();
    }
    GUEST_SYNC_ARGS(1, timer_ticks);
    apic_timer_start(APIC_LVT_TIMER_PERIODIC, 0xec, 0xb, (uint32_t)count);
    while (timer_ticks < 4) {
        safe_halt();
        cli();
    }
    apic_timer_stop();
    GUEST_SYNC_ARGS(2, timer_ticks);
    GUEST_DONE();
}

GUEST_CODE_END

GUEST_CODE_BEGIN

void guest_wait_for_nmi(void) {
    cli();
    GUEST_SYNC(1);
    while (!recorded_vector)
        __asm__ volatile("pause");
    GUEST_SYNC_ARGS(2, recorded_vector);
    GUEST_DONE();
}

GUEST_CODE_END

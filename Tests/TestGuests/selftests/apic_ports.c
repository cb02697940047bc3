// Guest code for the ports of the kernel's local-APIC selftests: xapic_ipi_test, xapic_state_test,
// set_boot_cpu_id and apic_bus_clock_test.
#include "KVMHarnessGuest.h"
#include "InterruptGuests.h"
#include "apic.h"

GUEST_CODE_BEGIN

// MARK: - xapic_ipi_test

#define XAPIC_IPI_VECTOR 0xa5

struct xapic_ipi_data xapic_ipi_data;
volatile uint64_t xapic_ipis_received;

void guest_xapic_ipi_handler(struct ex_regs *regs) {
    (void)regs;
    xapic_ipis_received++;
    xapic_write_reg(APIC_EOI, 77); // any value ends the interrupt; a distinctive one shows in a stray write
}

void guest_xapic_halter(void) {
    GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BASE, APIC_DEFAULT_GPA);
    xapic_enable();
    xapic_ipi_data.halter_apic_id = GET_XAPIC_ID_FIELD(xapic_read_reg(APIC_ID));
    xapic_ipi_data.halter_lvr = xapic_read_reg(APIC_LVR);
    for (;;) {
        xapic_ipi_data.halter_tpr = xapic_read_reg(APIC_TASKPRI);
        xapic_ipi_data.halter_ppr = xapic_read_reg(APIC_PROCPRI);
        xapic_ipi_data.hlt_count++;
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        xapic_ipi_data.wake_count++;
        if (xapic_ipi_data.stop)
            break;
    }
    GUEST_DONE();
}

void guest_xapic_sender(uint64_t tsc_ticks, uint64_t wait_ticks) {
    GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BASE, APIC_DEFAULT_GPA);
    xapic_enable();
    // The halter counts its first HLT before the sender may start.
    while (!xapic_ipi_data.hlt_count)
        __asm__ volatile("pause");
    uint32_t dest = xapic_ipi_data.halter_apic_id;
    uint64_t last_wake = xapic_ipi_data.wake_count, last_hlt = xapic_ipi_data.hlt_count;
    uint64_t last_received = xapic_ipis_received;
    uint64_t end = rdtsc() + tsc_ticks;
    bool stopping = false;
    for (;;) {
        stopping = rdtsc() >= end;
        if (stopping)
            xapic_ipi_data.stop = 1;
        xapic_send_ipi(dest, APIC_DEST_PHYSICAL | APIC_DM_FIXED | XAPIC_IPI_VECTOR);
        xapic_ipi_data.ipis_sent++;
        if (stopping)
            break;
        // Wait for the halter to take the IPI, wake, and halt again.
        uint64_t start = rdtsc();
        while (rdtsc() - start < wait_ticks) {
            if (xapic_ipis_received != last_received && xapic_ipi_data.wake_count != last_wake &&
                xapic_ipi_data.hlt_count != last_hlt)
                break;
        }
        __GUEST_ASSERT(xapic_ipis_received != last_received && xapic_ipi_data.wake_count != last_wake &&
                           xapic_ipi_data.hlt_count != last_hlt,
                       "IPI %llu: the halter did not take it, wake and halt again (received %llu, woke %llu, "
                       "halted %llu)",
                       (unsigned long long)xapic_ipi_data.ipis_sent, (unsigned long long)xapic_ipis_received,
                       (unsigned long long)xapic_ipi_data.wake_count, (unsigned long long)xapic_ipi_data.hlt_count);
        last_wake = xapic_ipi_data.wake_count;
        last_hlt = xapic_ipi_data.hlt_count;
        last_received = xapic_ipis_received;
    }
    GUEST_DONE();
}

// MARK: - xapic_state_test

void guest_xapic_state_xapic(void) {
    cli();
    xapic_enable();
    for (;;) {
        uint64_t value = (uint64_t)xapic_read_reg(APIC_IRR) | (uint64_t)xapic_read_reg(APIC_IRR + 0x10) << 32;
        xapic_write_reg(APIC_ICR2, (uint32_t)(value >> 32));
        xapic_write_reg(APIC_ICR, (uint32_t)value);
        GUEST_SYNC(value);
    }
}

/// ICR bits that are reserved in x2APIC mode: 31:20, 17:16 and 13.
#define X2APIC_ICR_RESERVED 0xfff32000ULL

void guest_xapic_state_x2apic(void) {
    cli();
    x2apic_enable();
    for (;;) {
        uint64_t value = x2apic_read_reg(APIC_IRR) | x2apic_read_reg(APIC_IRR + 0x10) << 32;
        if (value & X2APIC_ICR_RESERVED) {
            uint8_t vector = x2apic_write_reg_safe(APIC_ICR, value);
            __GUEST_ASSERT(vector == GP_VECTOR, "ICR = 0x%llx with reserved bits: vector %u, not #GP",
                           (unsigned long long)value, vector);
        } else {
            x2apic_write_reg(APIC_ICR, value);
            GUEST_ASSERT_EQ(x2apic_read_reg(APIC_ICR), value);
        }
        GUEST_SYNC(value);
    }
}

// MARK: - set_boot_cpu_id

void guest_boot_cpu(uint64_t is_bsp) {
    GUEST_SYNC(1);
    if (is_bsp)
        GUEST_ASSERT_NE(rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BSP, 0);
    else
        GUEST_ASSERT_EQ(rdmsr(MSR_IA32_APICBASE) & MSR_IA32_APICBASE_BSP, 0);
    GUEST_DONE();
}

// MARK: - apic_bus_clock_test

// TDCR encodings and the divisor each selects.
static const uint32_t bus_clock_tdcr[8] = {0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb};
static const uint32_t bus_clock_divide[8] = {2, 4, 8, 16, 32, 64, 128, 1};

void guest_apic_bus_clock(uint64_t apic_hz, uint64_t tsc_hz, uint64_t delay_tsc, uint64_t x2apic) {
    if (x2apic)
        x2apic_enable();
    else
        xapic_enable();
    // A masked one-shot timer: the count runs down, no interrupt is raised.
    apic_write_reg(APIC_LVTT, APIC_LVT_TIMER_ONESHOT | APIC_LVT_MASKED);
    for (int i = 0; i < 8; i++) {
        apic_write_reg(APIC_TDCR, bus_clock_tdcr[i]);
        apic_write_reg(APIC_TMICT, 0xffffffffu);
        uint64_t tsc0 = rdtsc();
        while (rdtsc() - tsc0 < delay_tsc)
            __asm__ volatile("pause");
        uint32_t current = apic_read_reg(APIC_TMCCT);
        uint64_t tsc1 = rdtsc();
        // Stop the timer after reading the final count: writing the initial count resets the current one.
        apic_write_reg(APIC_TMICT, 0);
        uint64_t freq = (uint64_t)(0xffffffffu - current) * bus_clock_divide[i] * tsc_hz / (tsc1 - tsc0);
        __GUEST_ASSERT(freq < apic_hz * 105 / 100 && freq > apic_hz * 95 / 100,
                       "measured %llu Hz, wanted %llu Hz within 5%% (divide by %u, TSC %llu Hz)",
                       (unsigned long long)freq, (unsigned long long)apic_hz, bus_clock_divide[i],
                       (unsigned long long)tsc_hz);
    }
    GUEST_DONE();
}

GUEST_CODE_END

// Guest code for the debug_regs port: a software breakpoint, an instruction and a data breakpoint, a single-stepped
// run with an interrupt pending, and a debug-register access under DR7.GD, each at a label the host knows.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

#define MSR_IA32_APICBASE 0x1b
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define X2APIC_MSR_ICR 0x830
#define APICBASE_X2APIC_ENABLE (1ULL << 10)
#define APICBASE_ENABLE (1ULL << 11)
#define ICR_DEST_SELF 0x40000
#define ICR_ASSERT 0x4000
#define IRQ_VECTOR 0xaa

GUEST_CODE_BEGIN

// Static, so that the store below reaches it RIP-relative (a global would go through the GOT in a shared object).
static uint32_t guest_debug_value;

extern char kvmh_dbg_sw_bp[], kvmh_dbg_hw_bp[], kvmh_dbg_write_start[], kvmh_dbg_write_data[], kvmh_dbg_ss_start[],
    kvmh_dbg_bd_start[];

void guest_debug_regs(void) {
    // A pending interrupt on this vCPU, which single-stepping with BLOCKIRQ must not deliver.
    wrmsr(MSR_IA32_APICBASE, rdmsr(MSR_IA32_APICBASE) | APICBASE_ENABLE | APICBASE_X2APIC_ENABLE);
    wrmsr(X2APIC_MSR_ICR, ICR_DEST_SELF | ICR_ASSERT | IRQ_VECTOR);

    __asm__ volatile("kvmh_dbg_sw_bp: int3");
    __asm__ volatile("kvmh_dbg_hw_bp: nop");
    __asm__ volatile("mov $1234, %%rax\n\t"
                     "kvmh_dbg_write_start: mov %%rax, %0\n\t"
                     "kvmh_dbg_write_data:"
                     : "=m"(guest_debug_value)
                     :
                     : "rax");
    __asm__ volatile("kvmh_dbg_ss_start: sti\n\t"
                     "xor %%eax, %%eax\n\t"
                     "cpuid\n\t"
                     "movl $0x6e0, %%ecx\n\t"
                     "wrmsr\n\t"
                     "cli"
                     :
                     :
                     : "eax", "ebx", "ecx", "edx");
    __asm__ volatile("kvmh_dbg_bd_start: mov %%dr0, %%rax" ::: "rax");
    GUEST_DONE();
}

uint64_t guest_debug_label(uint64_t which) {
    switch (which) {
    case 0: return (uint64_t)(uintptr_t)kvmh_dbg_sw_bp;
    case 1: return (uint64_t)(uintptr_t)kvmh_dbg_hw_bp;
    case 2: return (uint64_t)(uintptr_t)kvmh_dbg_write_data;
    case 3: return (uint64_t)(uintptr_t)kvmh_dbg_ss_start;
    case 4: return (uint64_t)(uintptr_t)kvmh_dbg_bd_start;
    default: return (uint64_t)(uintptr_t)kvmh_dbg_write_start;
    }
}

uint64_t guest_debug_value_address(void) { return (uint64_t)(uintptr_t)&guest_debug_value; }

GUEST_CODE_END

// Guest code for the state_test port: state worth saving (XSAVE components, PKRU) between SYNCs.
#include "KVMHarnessGuest.h"
#include "TestGuests.h"

#define XFEATURE_FP (1ULL << 0)
#define XFEATURE_SSE (1ULL << 1)
#define XFEATURE_YMM (1ULL << 2)
#define XFEATURE_PKRU (1ULL << 9)
#define CR4_OSXSAVE (1ULL << 18)
#define CR4_PKE (1ULL << 22)

GUEST_CODE_BEGIN

static uint64_t supported_xcr0(void) {
    uint32_t regs[4];
    cpuid_count(0xd, 0, regs);
    return (uint64_t)regs[3] << 32 | regs[0];
}

void guest_state(uint64_t use_xsave) {
    GUEST_SYNC(1);
    if (use_xsave && this_cpu_has(X86_FEATURE_XSAVE)) {
        uint64_t xcr0 = supported_xcr0();
        uint8_t buffer[4096];

        __builtin_memset(buffer, 0xcc, sizeof(buffer));
        set_cr4(get_cr4() | CR4_OSXSAVE);
        GUEST_ASSERT(this_cpu_has(X86_FEATURE_OSXSAVE));
        xsetbv(0, xgetbv(0) | (xcr0 & (XFEATURE_FP | XFEATURE_SSE | XFEATURE_YMM | XFEATURE_PKRU)));
        // Touch each component so that the saved XSAVE area holds it.
        GUEST_ASSERT(xcr0 & XFEATURE_FP);
        __asm__ volatile("fincstp");
        GUEST_ASSERT(xcr0 & XFEATURE_SSE);
        __asm__ volatile("movdqu %0, %%xmm0" ::"m"(buffer));
        if (xcr0 & XFEATURE_YMM)
            __asm__ volatile("vmovdqu %0, %%ymm0" ::"m"(buffer));
        if (this_cpu_has(X86_FEATURE_PKU)) {
            GUEST_ASSERT(xcr0 & XFEATURE_PKRU);
            set_cr4(get_cr4() | CR4_PKE);
            GUEST_ASSERT(this_cpu_has(X86_FEATURE_OSPKE));
            __asm__ volatile("wrpkru" ::"a"(~0u), "c"(0), "d"(0));
        }
    }
    GUEST_SYNC(2);
    GUEST_DONE();
}

void guest_xgetbv_probe(void) {
    GUEST_SYNC_ARGS(1, xgetbv(0));
    GUEST_DONE();
}

GUEST_CODE_END

// x86-64 instructions for guest code, as small inline functions: CPUID and named features, MSRs, control and debug
// registers, the TSC, interrupts, hypercalls, port I/O, TLB invalidation. General-purpose registers only.
//
// The `_safe` forms run an instruction that may fault and return the exception vector instead of taking it: 0 when
// the instruction completed, else the vector (13 for #GP, 6 for #UD, ...), with the error code where the
// exception has one. They work without an exception handler installed: before the instruction they load
// KVMH_SAFE_MAGIC into R9, the instruction's address into R10 and the continuation's into R11; the harness's
// exception stub, seeing that pattern with the faulting RIP equal to R10, resumes at R11 with the vector in R9 and
// the error code in R10. The registers are declared clobbered, so the compiler keeps nothing in them.
#ifndef KVMHARNESS_GUEST_PROCESSOR_H
#define KVMHARNESS_GUEST_PROCESSOR_H

// x86-64 only (processor_aarch64.h is the arm64 counterpart); empty elsewhere, so the umbrella header can include it.
#if defined(__x86_64__)

#include <stdbool.h>
#include <stdint.h>

#include "kvmh_layout.h"
#include "ucall.h"
#include "x86_features.h"

// The functions below are inlined into guest code, which GUEST_CODE_BEGIN builds for general-purpose registers
// only: they must be built the same way to be inlined there.
GUEST_CODE_BEGIN

#define GUEST_INLINE static inline __attribute__((always_inline))

/// Runs `insn` with the exception fixup armed. Inputs and outputs as for an asm statement; the vector ends up in
/// `vector` and the error code in `error_code`.
#define KVMH_ASM_SAFE(insn, vector, error_code, outputs, inputs, ...)                                                \
    __asm__ volatile("movabsq $" KVMH_STRINGIFY(KVMH_SAFE_MAGIC) ", %%r9\n\t"                                          \
                     "leaq 1f(%%rip), %%r10\n\t"                                                                      \
                     "leaq 2f(%%rip), %%r11\n\t"                                                                      \
                     "1: " insn "\n\t"                                                                                \
                     "xorl %%r9d, %%r9d\n\t"                                                                          \
                     "2:\n\t"                                                                                         \
                     "movq %%r9, %[kvmh_vector]\n\t"                                                                  \
                     "movq %%r10, %[kvmh_error]\n\t"                                                                  \
                     : [kvmh_vector] "=r"(vector), [kvmh_error] "=r"(error_code) outputs                             \
                     : inputs                                                                                         \
                     : "r9", "r10", "r11", "memory", ##__VA_ARGS__)
#define KVMH_STRINGIFY2(x) #x
#define KVMH_STRINGIFY(x) KVMH_STRINGIFY2(x)
/// A comma that survives as part of one macro argument (the `outputs` and `inputs` lists above).
#define KVMH_COMMA ,

// MARK: - CPUID

/// CPUID with a subleaf; the four registers in `out` (EAX, EBX, ECX, EDX).
GUEST_INLINE void cpuid_count(uint32_t function, uint32_t index, uint32_t out[4]) {
    __asm__ volatile("cpuid" : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3]) : "a"(function), "c"(index));
}

/// CPUID with subleaf 0.
GUEST_INLINE void cpuid(uint32_t function, uint32_t out[4]) { cpuid_count(function, 0, out); }

/// Whether the CPU this code runs on reports `feature` (x86_features.h): the same table the host's CPUFeature reads.
GUEST_INLINE bool this_cpu_has(struct x86_cpu_feature feature) {
    uint32_t regs[4];
    cpuid_count(feature.function, feature.index, regs);
    return (regs[feature.reg] >> feature.bit) & 1;
}

// MARK: - MSRs

GUEST_INLINE uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
    return (uint64_t)hi << 32 | lo;
}

GUEST_INLINE void wrmsr(uint32_t msr, uint64_t value) {
    __asm__ volatile("wrmsr" ::"a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(msr) : "memory");
}

/// RDMSR that returns the vector of the exception it raised (0 if none); the value goes to `*value` when it read.
GUEST_INLINE uint8_t rdmsr_safe(uint32_t msr, uint64_t *value) {
    uint64_t vector, error;
    uint32_t lo = 0, hi = 0;
    KVMH_ASM_SAFE("rdmsr", vector, error, KVMH_COMMA "=a"(lo) KVMH_COMMA "=d"(hi), "c"(msr));
    (void)error;
    if (!vector)
        *value = (uint64_t)hi << 32 | lo;
    return (uint8_t)vector;
}

/// WRMSR that returns the vector of the exception it raised (0 if none).
GUEST_INLINE uint8_t wrmsr_safe(uint32_t msr, uint64_t value) {
    uint64_t vector, error;
    KVMH_ASM_SAFE("wrmsr", vector, error, , "a"((uint32_t)value) KVMH_COMMA "d"((uint32_t)(value >> 32))
                  KVMH_COMMA "c"(msr));
    (void)error;
    return (uint8_t)vector;
}

// MARK: - Control and debug registers

#define KVMH_REGISTER_ACCESSORS(name)                                                                                \
    GUEST_INLINE uint64_t get_##name(void) {                                                                         \
        uint64_t value;                                                                                              \
        __asm__ volatile("mov %%" #name ", %0" : "=r"(value)::"memory");                                             \
        return value;                                                                                                \
    }                                                                                                                \
    GUEST_INLINE void set_##name(uint64_t value) { __asm__ volatile("mov %0, %%" #name ::"r"(value) : "memory"); }
KVMH_REGISTER_ACCESSORS(cr0)
KVMH_REGISTER_ACCESSORS(cr2)
KVMH_REGISTER_ACCESSORS(cr3)
KVMH_REGISTER_ACCESSORS(cr4)
KVMH_REGISTER_ACCESSORS(cr8)
KVMH_REGISTER_ACCESSORS(dr0)
KVMH_REGISTER_ACCESSORS(dr1)
KVMH_REGISTER_ACCESSORS(dr2)
KVMH_REGISTER_ACCESSORS(dr3)
KVMH_REGISTER_ACCESSORS(dr6)
KVMH_REGISTER_ACCESSORS(dr7)

/// MOV to CR4 that returns the exception vector (0 if none): setting a bit the vCPU does not support raises #GP.
GUEST_INLINE uint8_t set_cr4_safe(uint64_t value) {
    uint64_t vector, error;
    KVMH_ASM_SAFE("mov %[kvmh_value], %%cr4", vector, error, , [kvmh_value] "r"(value));
    (void)error;
    return (uint8_t)vector;
}

/// XGETBV of XCR `index`. (KVM's instruction emulator cannot run it on hosts that emulate CPL0 guest code.)
GUEST_INLINE uint64_t xgetbv(uint32_t index) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
    return (uint64_t)hi << 32 | lo;
}

/// XSETBV of XCR `index`.
GUEST_INLINE void xsetbv(uint32_t index, uint64_t value) {
    __asm__ volatile("xsetbv" ::"a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(index) : "memory");
}

/// XSETBV that returns the exception vector (0 if none).
GUEST_INLINE uint8_t xsetbv_safe(uint32_t index, uint64_t value) {
    uint64_t vector, error;
    KVMH_ASM_SAFE("xsetbv", vector, error, , "a"((uint32_t)value) KVMH_COMMA "d"((uint32_t)(value >> 32))
                  KVMH_COMMA "c"(index));
    (void)error;
    return (uint8_t)vector;
}

// MARK: - Time stamp counter

GUEST_INLINE uint64_t rdtsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/// RDTSCP; the TSC_AUX value goes to `*aux`.
GUEST_INLINE uint64_t rdtscp(uint32_t *aux) {
    uint32_t lo, hi;
    __asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(*aux));
    return (uint64_t)hi << 32 | lo;
}

// MARK: - Interrupts and halting

GUEST_INLINE void cli(void) { __asm__ volatile("cli" ::: "memory"); }
GUEST_INLINE void sti(void) { __asm__ volatile("sti" ::: "memory"); }
GUEST_INLINE void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
/// STI then HLT: the interrupt shadow of STI makes the pair atomic, so no interrupt slips in between.
GUEST_INLINE void safe_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

// MARK: - Hypercalls

/// A KVM hypercall: `nr` in RAX, arguments in RBX, RCX, RDX, RSI; returns RAX. VMCALL on Intel, VMMCALL on AMD:
/// KVM patches the other one (or emulates it) unless the quirk that does so is disabled.
GUEST_INLINE uint64_t kvm_hypercall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
    uint64_t result;
    bool amd = false;
    uint32_t vendor[4];
    cpuid(0, vendor);
    amd = vendor[1] == 0x68747541; // "Auth"enticAMD
    if (amd)
        __asm__ volatile("vmmcall" : "=a"(result) : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
    else
        __asm__ volatile("vmcall" : "=a"(result) : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
    return result;
}

/// VMCALL, whatever the vendor; returns RAX.
GUEST_INLINE uint64_t vmcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
    uint64_t result;
    __asm__ volatile("vmcall" : "=a"(result) : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
    return result;
}

/// VMMCALL, whatever the vendor; returns RAX.
GUEST_INLINE uint64_t vmmcall(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
    uint64_t result;
    __asm__ volatile("vmmcall" : "=a"(result) : "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3) : "memory");
    return result;
}

// MARK: - Port I/O

GUEST_INLINE uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}
GUEST_INLINE uint16_t inw(uint16_t port) {
    uint16_t value;
    __asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}
GUEST_INLINE uint32_t inl(uint16_t port) {
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}
GUEST_INLINE void outb(uint16_t port, uint8_t value) { __asm__ volatile("outb %0, %1" ::"a"(value), "Nd"(port) : "memory"); }
GUEST_INLINE void outw(uint16_t port, uint16_t value) { __asm__ volatile("outw %0, %1" ::"a"(value), "Nd"(port) : "memory"); }
GUEST_INLINE void outl(uint16_t port, uint32_t value) { __asm__ volatile("outl %0, %1" ::"a"(value), "Nd"(port) : "memory"); }

// MARK: - TLB

GUEST_INLINE void invlpg(uint64_t address) { __asm__ volatile("invlpg (%0)" ::"r"(address) : "memory"); }

GUEST_CODE_END

#endif // __x86_64__

#endif

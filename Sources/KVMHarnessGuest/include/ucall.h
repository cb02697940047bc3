// The ucall ABI between guest code and the KVMHarness host: a "hypercall to user space".
//
// The guest fills a `struct ucall` and hands the host its guest-virtual address, either with one 8-byte store to
// the ucall MMIO address (the default transport, and the only one on arm64; the harness publishes the address in
// `ucall_exit_mmio_addr` and identity-maps it) or with an IN from port UCALL_PIO_PORT with the address in RDI (x86
// only). The host walks the guest's page tables to find the struct, decodes it and resumes the vCPU.
//
// On arm64 the store must be one that KVM can decode from the exception syndrome: a single-register store with no
// writeback (`str xN, [xM]`). For a store pair (`stp`), or a load/store with pre- or post-index writeback, the
// syndrome's ISV bit is 0 and KVM cannot emulate the access: KVM_RUN fails with ENOSYS, or, with
// KVM_CAP_ARM_NISV_TO_USER enabled, exits with KVM_EXIT_ARM_NISV. A plain C store through a volatile pointer does
// not guarantee the form (the compiler may fold an address increment into it as writeback), so ucall_send is
// inline assembly that spells the one instruction out.
#ifndef KVMHARNESS_GUEST_UCALL_H
#define KVMHARNESS_GUEST_UCALL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The ucall commands. Values are ABI.
enum {
    UCALL_NONE = 0,      ///< Nothing; the host reports it and resumes.
    UCALL_SYNC = 1,      ///< A checkpoint: args[0] is the stage, args[1...] are values for the host to check.
    UCALL_ABORT = 2,     ///< A failed assertion: args[0] = expression, args[1] = file, args[2] = line, buffer = message.
    UCALL_PRINTF = 3,    ///< A line of output: buffer = the text.
    UCALL_DONE = 4,      ///< The guest finished successfully.
    /// An exception with no handler. x86-64: args[0] = vector, args[1] = RIP, args[2] = error code, args[3] = CR2.
    /// arm64: args[0] = the vector-table entry index (0 to 15: groups of four for current EL with SP_EL0, current EL
    /// with SP_ELx, lower EL AArch64, lower EL AArch32; in each group synchronous, IRQ, FIQ, SError), args[1] =
    /// ELR_EL1, args[2] = ESR_EL1, args[3] = FAR_EL1.
    UCALL_UNHANDLED = 5,
};

#define UCALL_MAX_ARGS 7
#define UCALL_BUFFER_SIZE 1024
/// The x86 port-I/O transport: an IN from this port, with the struct's address in RDI. (An ABI number, defined on
/// every architecture for the host; the transport itself exists only on x86.)
#define UCALL_PIO_PORT 0x1000

/// One ucall, as the host reads it from guest memory.
struct ucall {
    uint64_t cmd;
    uint64_t args[UCALL_MAX_ARGS];
    char buffer[UCALL_BUFFER_SIZE];
};

_Static_assert(offsetof(struct ucall, cmd) == 0, "struct ucall ABI: cmd");
_Static_assert(offsetof(struct ucall, args) == 8, "struct ucall ABI: args");
_Static_assert(offsetof(struct ucall, buffer) == 64, "struct ucall ABI: buffer");
_Static_assert(sizeof(struct ucall) == 1088, "struct ucall ABI: size");

/// Brackets guest code so that optimizing compilers keep it guest-safe:
/// - general-purpose registers only, no SSE or AVX: hosts that run CPL0 guest code in KVM's instruction emulator
///   (software virtualization such as PVM) cannot execute vector instructions, and optimizers add them on their own
///   to zero or copy a few words;
/// - no sanitizer instrumentation (clang): a test binary built with `--sanitize=thread` or `address` would otherwise
///   have the guest call the host's sanitizer runtime, which the guest cannot reach, at every function entry;
/// Optimizers also turn loops and struct copies into calls to memcpy, memmove, memset, memcmp, bcmp and strlen;
/// the guest runtime defines all of them (guest_string.h), so those calls stay inside guest-visible code.
/// Put GUEST_CODE_BEGIN after the includes of a guest source file and GUEST_CODE_END at its end; building the file
/// with -mgeneral-regs-only does the same.
/// On arm64, clang has no "general-regs-only" target attribute (it ignores it, saying only that the feature is not
/// recognized); "+nofp" is its equivalent there, the same features -mgeneral-regs-only turns off (FP and SIMD), so
/// that variadic functions do not save Q0 to Q7 and optimizers do not use vector registers.
#if defined(__clang__) && defined(__aarch64__)
#define GUEST_CODE_BEGIN                                                                                             \
    _Pragma("clang attribute push(__attribute__((target(\"+nofp\"), \
disable_sanitizer_instrumentation)), apply_to = function)")
#define GUEST_CODE_END _Pragma("clang attribute pop")
#elif defined(__clang__)
// (One string literal, as _Pragma requires; the backslash-newline inside it is spliced away before tokenizing.)
#define GUEST_CODE_BEGIN                                                                                             \
    _Pragma("clang attribute push(__attribute__((target(\"general-regs-only\"), \
disable_sanitizer_instrumentation)), apply_to = function)")
#define GUEST_CODE_END _Pragma("clang attribute pop")
#else
#define GUEST_CODE_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"general-regs-only\")")
#define GUEST_CODE_END _Pragma("GCC pop_options")
#endif

/// Marks a guest global that Swift tests read or write (with VirtualMachine.syncToGuest/syncFromGuest): Swift 6
/// then imports it as `nonisolated(unsafe)`. Each VM has its own copy; the host's copy is the test's to manage.
#if defined(__has_attribute) && __has_attribute(swift_attr)
#define GUEST_GLOBAL __attribute__((swift_attr("nonisolated(unsafe)")))
#else
#define GUEST_GLOBAL
#endif

/// The guest-physical (and, identity-mapped, guest-virtual) address of the ucall MMIO exit. The harness writes it
/// into the guest's copy of this variable before the guest runs; in the host process it stays 0.
extern uint64_t ucall_exit_mmio_addr GUEST_GLOBAL;

/// The address of `ucall_exit_mmio_addr` in this process, which is also its guest-virtual address (for the host
/// library, which writes each VM's copy there: taking the address in C is not an access of the variable, while
/// Swift's `&` is one, which ThreadSanitizer reports when VMs are made on several threads at once).
uint64_t *ucall_exit_mmio_addr_location(void);

// The inline helpers are compiled like guest code (general-purpose registers only), so that they can be inlined
// into code between GUEST_CODE_BEGIN and GUEST_CODE_END.
GUEST_CODE_BEGIN

#if defined(__x86_64__)

/// Hands a filled ucall to the host over the MMIO transport: one 8-byte store of the struct's address.
/// The compiler barriers keep every store to `*uc` before the one that exits to the host, and keep the compiler
/// from assuming `*uc` unchanged afterwards.
static inline __attribute__((always_inline)) void ucall_send(struct ucall *uc) {
    __asm__ volatile("" ::: "memory");
    *(volatile uint64_t *)(uintptr_t)ucall_exit_mmio_addr = (uint64_t)(uintptr_t)uc;
    __asm__ volatile("" ::: "memory");
}

/// Hands a filled ucall to the host over the x86 port-I/O transport: IN from UCALL_PIO_PORT, address in RDI.
static inline __attribute__((always_inline)) void ucall_send_pio(struct ucall *uc) {
    __asm__ volatile("inb %%dx, %%al" : : "d"((uint16_t)UCALL_PIO_PORT), "D"(uc) : "rax", "memory");
}

#elif defined(__aarch64__)

/// Hands a filled ucall to the host over the MMIO transport: one `str xN, [xM]` of the struct's address, a
/// single-register store with no offset and no writeback, the form whose syndrome KVM decodes into an MMIO exit
/// (see the top of this file). The "memory" clobber keeps every store to `*uc` before it and keeps the compiler
/// from assuming `*uc` unchanged afterwards.
static inline __attribute__((always_inline)) void ucall_send(struct ucall *uc) {
    __asm__ volatile("str %x[value], [%x[mmio]]"
                     :
                     : [value] "r"((uint64_t)(uintptr_t)uc), [mmio] "r"(ucall_exit_mmio_addr)
                     : "memory");
}

#else
#error "KVMHarness guest runtime: unsupported architecture (x86-64 and arm64 only)"
#endif

/// The general form: sends `cmd` with up to UCALL_MAX_ARGS u64 arguments (extra ones are dropped, missing ones 0).
void ucall(uint64_t cmd, int nargs, ...);

/// Stores one u64 of a ucall as a plain 8-byte MOV. A relaxed atomic store compiles to exactly that, and compilers
/// never merge it with its neighbours into SSE stores: KVM's instruction emulator, which runs CPL0 guest code on
/// software-virtualized hosts, cannot execute those.
#define __UCALL_STORE(field, value) __atomic_store_n(&(field), (uint64_t)(value), __ATOMIC_RELAXED)

/// Fills a ucall's command and all seven arguments: eight stores, each one the compiler must emit (see
/// __UCALL_STORE), so that no optimizer merges them into vector stores.
static inline __attribute__((always_inline)) void ucall7_fill(struct ucall *uc, uint64_t cmd, uint64_t a0, uint64_t a1,
                                                              uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5,
                                                              uint64_t a6) {
    __UCALL_STORE(uc->cmd, cmd);
    __UCALL_STORE(uc->args[0], a0);
    __UCALL_STORE(uc->args[1], a1);
    __UCALL_STORE(uc->args[2], a2);
    __UCALL_STORE(uc->args[3], a3);
    __UCALL_STORE(uc->args[4], a4);
    __UCALL_STORE(uc->args[5], a5);
    __UCALL_STORE(uc->args[6], a6);
}

/// Sends `cmd` with exactly seven arguments, inlined so that a checkpoint costs a handful of guest instructions:
/// eight stores and the exit. The 1 KiB buffer is left untouched; the host reads it only for PRINTF and ABORT.
static inline __attribute__((always_inline)) void ucall7(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2,
                                                         uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6) {
    struct ucall uc;
    ucall7_fill(&uc, cmd, a0, a1, a2, a3, a4, a5, a6);
    ucall_send(&uc);
}

#if defined(__x86_64__)
/// `ucall7` over the port-I/O transport: the same eight stores, then the IN.
static inline __attribute__((always_inline)) void ucall7_pio(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2,
                                                             uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6) {
    struct ucall uc;
    ucall7_fill(&uc, cmd, a0, a1, a2, a3, a4, a5, a6);
    ucall_send_pio(&uc);
}
#endif

GUEST_CODE_END

// Argument counting and padding for GUEST_SYNC_ARGS: up to seven values, the rest 0.
#define __UCALL_PAD7(a0, a1, a2, a3, a4, a5, a6, ...)                                                               \
    (uint64_t)(a0), (uint64_t)(a1), (uint64_t)(a2), (uint64_t)(a3), (uint64_t)(a4), (uint64_t)(a5), (uint64_t)(a6)
#define __UCALL_COUNT(...) __UCALL_COUNT_(__VA_ARGS__, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define __UCALL_COUNT_(_1, _2, _3, _4, _5, _6, _7, _8, _9, n, ...) n

/// A checkpoint: the host sees SYNC with args[0] = stage and the other arguments 0.
#define GUEST_SYNC(stage) ucall7(UCALL_SYNC, (uint64_t)(stage), 0, 0, 0, 0, 0, 0)

/// A checkpoint with values: GUEST_SYNC_ARGS(stage, v1, ..., v6) sends SYNC with args = [stage, v1, ..., v6, 0...].
#define GUEST_SYNC_ARGS(...)                                                                                        \
    do {                                                                                                            \
        _Static_assert(__UCALL_COUNT(__VA_ARGS__) <= UCALL_MAX_ARGS, "GUEST_SYNC_ARGS takes at most 7 values");     \
        ucall7(UCALL_SYNC, __UCALL_PAD7(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0));                                         \
    } while (0)

/// The guest is finished: the host sees DONE.
#define GUEST_DONE() ucall7(UCALL_DONE, 0, 0, 0, 0, 0, 0, 0)

#ifdef __cplusplus
}
#endif

#endif

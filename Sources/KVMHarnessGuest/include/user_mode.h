// Guest user mode (CPL3): running a function at CPL3 and coming back to CPL0.
//
// After the host's `VirtualMachine.enableUserMode()`, `guest_run_user(fn, arg)` runs `fn(arg)` at CPL3 on the vCPU's
// user stack and returns what it returned. The way in is SYSRET, to a trampoline that calls `fn`; the way back is a
// UD2 at a known address in that trampoline: enableUserMode() points the #UD gate at guest_user_return_entry, which
// restores the kernel stack that `guest_run_user` saved in the vCPU's TLS page for that one address and hands every
// other #UD to the harness's own stub. Why an exception: on PVM (software virtualization), a SYSCALL from guest user
// mode reaches the LSTAR entry point still with user-mode page permissions, so the entry faults, and INT n from user
// mode is not delivered at all (execution goes on after it), while exceptions raised at CPL3 are delivered through
// the IDT as the architecture says.
//
// Port I/O at CPL3 needs IOPL >= CPL or the port allowed in the TSS's I/O permission bitmap. User code is entered
// with IOPL 3, but PVM runs guest user mode with IOPL 0 whatever the guest asks, so the harness's TSS also has a
// bitmap that allows the ucall port (UCALL_PIO_PORT) and no other: both ucall transports work at CPL3. The MMIO
// transport needs the ucall page user-accessible, which enableUserMode() makes it.
#ifndef KVMHARNESS_GUEST_USER_MODE_H
#define KVMHARNESS_GUEST_USER_MODE_H

#include <stdint.h>

#include "ucall.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Offset in the vCPU's TLS page (%fs) of the kernel stack pointer saved while user code runs.
#define GUEST_TLS_KERNEL_RSP 0x100
/// Offset in the vCPU's TLS page of the top of the vCPU's user stack (written by the host).
#define GUEST_TLS_USER_STACK 0x108

/// GDT selectors of user mode (RPL 3), at the offsets SYSRET derives from STAR[63:48] = 0x28.
#define GUEST_USER_DATA_SELECTOR 0x33
#define GUEST_USER_CODE_SELECTOR 0x3b
/// RFLAGS asked for in user mode: IOPL 3 and the reserved bit 1; interrupts off, as at CPL0.
#define GUEST_USER_RFLAGS 0x3002

// The functions are x86-64 only (CPL3, SYSRET, #UD); the numbers above are the host's too, on every architecture.
#if defined(__x86_64__)

/// Runs `fn(arg)` at CPL3 on the vCPU's user stack and returns its result (CPL0 only, after enableUserMode()).
uint64_t guest_run_user(uint64_t (*fn)(uint64_t), uint64_t arg);

/// The #UD gate's entry point while user mode is enabled, which returns from guest_run_user. Not to be called.
void guest_user_return_entry(void);

GUEST_CODE_BEGIN

/// The current privilege level (CS.RPL): 0 for kernel code, 3 for user code.
static inline __attribute__((always_inline)) uint64_t guest_cpl(void) {
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3;
}

GUEST_CODE_END

#endif // __x86_64__

#ifdef __cplusplus
}
#endif

#endif

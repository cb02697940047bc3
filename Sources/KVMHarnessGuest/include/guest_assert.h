// Guest assertions, guest printf and exception frames.
//
// A failed assertion sends an ABORT ucall: args[0] = the expression's text, args[1] = __FILE__, args[2] = __LINE__,
// buffer = the formatted message. The host turns it into a test failure at the guest's file:line.
#ifndef KVMHARNESS_GUEST_ASSERT_H
#define KVMHARNESS_GUEST_ASSERT_H

#include <stdint.h>

#include "guest_printf.h"
#include "ucall.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Sends an ABORT for `expression` at `file`:`line` with a printf-style message. Does not return: if the host
/// resumes the vCPU anyway, the ABORT is sent again.
void ucall_assert(const char *expression, const char *file, uint64_t line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

/// Sends a PRINTF ucall with the formatted text (truncated, and marked with "...", past 1023 bytes).
void guest_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/// Fails the guest unless `cond` holds, with a printf-style message.
#define __GUEST_ASSERT(cond, fmt, ...)                                                                              \
    do {                                                                                                            \
        if (!(cond))                                                                                                \
            ucall_assert(#cond, __FILE__, __LINE__, fmt, ##__VA_ARGS__);                                            \
    } while (0)

/// Fails the guest unless `cond` holds.
#define GUEST_ASSERT(cond) __GUEST_ASSERT(cond, "%s", "assertion failed")

/// Fails the guest unconditionally, with a printf-style message.
#define GUEST_FAIL(fmt, ...) ucall_assert("GUEST_FAIL", __FILE__, __LINE__, fmt, ##__VA_ARGS__)

/// Sends a line of output to the host.
#define GUEST_PRINTF(fmt, ...) guest_printf(fmt, ##__VA_ARGS__)

// Comparisons: each side is evaluated once, as a u64; the message has both values in hex and decimal.
#define __GUEST_ASSERT_CMP(a, op, b, opname)                                                                        \
    do {                                                                                                            \
        uint64_t __left = (uint64_t)(a);                                                                            \
        uint64_t __right = (uint64_t)(b);                                                                           \
        if (!(__left op __right))                                                                                   \
            ucall_assert(#a " " #op " " #b, __FILE__, __LINE__,                                                     \
                         "expected %s " opname " %s: left = 0x%llx (%llu), right = 0x%llx (%llu)", #a, #b,          \
                         (unsigned long long)__left, (unsigned long long)__left, (unsigned long long)__right,       \
                         (unsigned long long)__right);                                                              \
    } while (0)

/// Fails unless a == b.
#define GUEST_ASSERT_EQ(a, b) __GUEST_ASSERT_CMP(a, ==, b, "==")
/// Fails unless a != b.
#define GUEST_ASSERT_NE(a, b) __GUEST_ASSERT_CMP(a, !=, b, "!=")
/// Fails unless a < b (unsigned).
#define GUEST_ASSERT_LT(a, b) __GUEST_ASSERT_CMP(a, <, b, "<")
/// Fails unless a <= b (unsigned).
#define GUEST_ASSERT_LE(a, b) __GUEST_ASSERT_CMP(a, <=, b, "<=")
/// Fails unless a > b (unsigned).
#define GUEST_ASSERT_GT(a, b) __GUEST_ASSERT_CMP(a, >, b, ">")
/// Fails unless a >= b (unsigned).
#define GUEST_ASSERT_GE(a, b) __GUEST_ASSERT_CMP(a, >=, b, ">=")

#if defined(__x86_64__)

/// The registers at an exception, as the harness's exception stubs save them, for guest exception handlers.
/// A handler may change them (most often `rip`, to resume past the faulting instruction); they are restored on
/// return.
struct ex_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

_Static_assert(sizeof(struct ex_regs) == 22 * 8, "struct ex_regs matches the stubs' frame");

#elif defined(__aarch64__)

/// The registers at an exception, as the harness's arm64 stubs save them on SP_EL1 (stubs_aarch64.S), just above
/// the UNHANDLED ucall they report: X0 to X30, then SP_EL0, ELR_EL1, SPSR_EL1, ESR_EL1, FAR_EL1 and the
/// vector-table entry index. (The arm64 stubs report every exception as UNHANDLED; there are no guest handlers yet.)
struct ex_regs {
    uint64_t regs[31];
    uint64_t sp;
    uint64_t pc;
    uint64_t pstate;
    uint64_t esr;
    uint64_t far;
    uint64_t vector;
    uint64_t reserved;
};

_Static_assert(sizeof(struct ex_regs) == 38 * 8, "struct ex_regs matches the stubs' frame");

#endif

#ifdef __cplusplus
}
#endif

#endif

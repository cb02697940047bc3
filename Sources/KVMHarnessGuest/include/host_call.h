// Host calls: ucalls that the host answers before the vCPU resumes.
//
// The guest fills a `struct ucall` as for any ucall, with a command the host has a handler for (a test's own from
// UCALL_HOST_CALL_FIRST up; the built-in ones below it), and puts four more words at the start of the struct's
// buffer (`struct ucall_host_call`): the address and length of an optional buffer of the caller's, and the call
// site. The host runs the handler, which may change the seven arguments and the caller's buffer, writes what changed
// back through the guest's page tables (only inside the struct's arguments and the buffer), and resumes the vCPU.
// The guest then reads its answer from the struct and the buffer: copy-in, copy-out.
#ifndef KVMHARNESS_GUEST_HOST_CALL_H
#define KVMHARNESS_GUEST_HOST_CALL_H

#include <stdint.h>

#include "ucall.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The first command number for a test's own host calls. Commands below it are the harness's.
#define UCALL_HOST_CALL_FIRST 0x100
/// Built-in: the host's time. Answers args[0] = CLOCK_REALTIME and args[1] = CLOCK_MONOTONIC, in nanoseconds.
#define UCALL_HOST_TIME 0x80
/// Built-in: echo. Answers args[i] = ~args[i] for each argument and reverses the caller's buffer in place, so a
/// guest can check that its arguments and its buffer went to the host and came back changed.
#define UCALL_HOST_ECHO 0x81
/// The longest buffer the host takes (1 MiB); a longer one is a malformed ucall.
#define UCALL_HOST_CALL_MAX_BUFFER (1u << 20)

/// The words a host call keeps at the start of `struct ucall`'s buffer.
struct ucall_host_call {
    uint64_t buffer; ///< Guest-virtual address of the caller's buffer (0: none).
    uint64_t length; ///< Its length in bytes.
    uint64_t file;   ///< Address of the caller's __FILE__, for the host to report a failing handler at.
    uint64_t line;   ///< The caller's __LINE__.
};

_Static_assert(sizeof(struct ucall_host_call) <= UCALL_BUFFER_SIZE, "host call words fit in the ucall buffer");

GUEST_CODE_BEGIN

/// Makes host call `cmd` with `args` (seven, read and then overwritten with the host's answer) and the caller's
/// `buffer` of `length` bytes (NULL and 0 for none), from `file`:`line`, over the port-I/O transport if `pio` is
/// non-zero (x86 only; ignored elsewhere), else over MMIO. Returns the answer's args[0]. The struct lives on the
/// caller's stack, so every vCPU (and every user-mode thread) has its own.
static inline __attribute__((always_inline)) uint64_t ucall_host_call(uint64_t cmd, uint64_t *args, void *buffer,
                                                                      uint64_t length, const char *file,
                                                                      uint64_t line, int pio) {
    struct ucall uc;
    struct ucall_host_call *call = (struct ucall_host_call *)(void *)uc.buffer;

    ucall7_fill(&uc, cmd, args[0], args[1], args[2], args[3], args[4], args[5], args[6]);
    __UCALL_STORE(call->buffer, (uintptr_t)buffer);
    __UCALL_STORE(call->length, length);
    __UCALL_STORE(call->file, (uintptr_t)file);
    __UCALL_STORE(call->line, line);
#if defined(__x86_64__)
    if (pio)
        ucall_send_pio(&uc);
    else
        ucall_send(&uc);
#else
    (void)pio; // the *_PIO macros, the only callers with pio != 0, are x86 only
    ucall_send(&uc);
#endif
    // Plain 8-byte loads (relaxed atomics, as the stores): never merged into vector loads.
    for (int i = 0; i < UCALL_MAX_ARGS; i++)
        args[i] = __atomic_load_n(&uc.args[i], __ATOMIC_RELAXED);
    return args[0];
}

GUEST_CODE_END

/// Host call `cmd` with up to seven arguments (the rest 0) over MMIO: the host's answer, args[0].
#define GUEST_CALL_HOST(cmd, ...) __GUEST_CALL_HOST(cmd, NULL, 0, 0, ##__VA_ARGS__)
/// Host call `cmd` with `buffer` of `length` bytes, copied to the host and back, and up to seven arguments.
#define GUEST_CALL_HOST_BUFFER(cmd, buffer, length, ...) __GUEST_CALL_HOST(cmd, buffer, length, 0, ##__VA_ARGS__)
#if defined(__x86_64__)
/// GUEST_CALL_HOST over the port-I/O transport.
#define GUEST_CALL_HOST_PIO(cmd, ...) __GUEST_CALL_HOST(cmd, NULL, 0, 1, ##__VA_ARGS__)
/// GUEST_CALL_HOST_BUFFER over the port-I/O transport.
#define GUEST_CALL_HOST_BUFFER_PIO(cmd, buffer, length, ...) __GUEST_CALL_HOST(cmd, buffer, length, 1, ##__VA_ARGS__)
#endif

#define __GUEST_CALL_HOST(cmd, buffer, length, pio, ...)                                                          \
    ({                                                                                                              \
        _Static_assert(__UCALL_COUNT(0, ##__VA_ARGS__) - 1 <= UCALL_MAX_ARGS, "a host call takes at most 7 values"); \
        uint64_t __args[UCALL_MAX_ARGS] = { __HOST_CALL_PAD7(_, ##__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0) };              \
        ucall_host_call((cmd), __args, (buffer), (length), __FILE__, __LINE__, (pio));                              \
    })

// The arguments after the placeholder `_`, padded to seven with zeros (`, ##` drops the comma when there are none).
#define __HOST_CALL_PAD7(_, a0, a1, a2, a3, a4, a5, a6, ...)                                                        \
    (uint64_t)(a0), (uint64_t)(a1), (uint64_t)(a2), (uint64_t)(a3), (uint64_t)(a4), (uint64_t)(a5), (uint64_t)(a6)

#ifdef __cplusplus
}
#endif

#endif

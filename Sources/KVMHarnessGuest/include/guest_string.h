// Freestanding memory and string functions for guest code.
//
// Compilers turn struct copies and zeroing into calls to memcpy and memset. In a test binary those would go through
// the PLT into the host's libc, which the guest cannot reach; optimizers also turn loops into calls to memcpy,
// memmove, memset, memcmp, bcmp and strlen. The guest runtime therefore defines all six with hidden visibility:
// every call from code in the same executable (guest code, and host code linked into it) binds directly to them,
// while shared libraries keep using libc's.
#ifndef KVMHARNESS_GUEST_STRING_H
#define KVMHARNESS_GUEST_STRING_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The length of a NUL-terminated string.
size_t guest_strlen(const char *s);
/// The length of `s`, at most `max`.
size_t guest_strnlen(const char *s, size_t max);
/// Compares two NUL-terminated strings.
int guest_strcmp(const char *a, const char *b);

#ifdef __cplusplus
}
#endif

#endif

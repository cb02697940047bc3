// memcpy, memset, memmove and memcmp for code in the test executable, guest code included (see guest_string.h).
// Hidden visibility keeps them out of the dynamic symbol table, so libc and the Swift runtime keep their own.
// On x86-64 they use string instructions: fast on the host, and a single instruction each for KVM's emulator. On
// arm64 they are loops of 8-byte general-register loads and stores (no SIMD: guest code may run with FP/SIMD
// trapped), which rely on unaligned access to normal memory being allowed, as it is with the MMU on and
// SCTLR_EL1.A = 0 (the harness's setting) and in the host process.
#include <stdint.h>

#include "guest_string.h"
#include "ucall.h"

GUEST_CODE_BEGIN

// Hidden, and never turned back into calls to themselves (or to libc) by loop-idiom recognition.
#define GUEST_HIDDEN __attribute__((visibility("hidden"), no_builtin))

#if defined(__x86_64__)

GUEST_HIDDEN void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    void *ret = dst;
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
    return ret;
}

GUEST_HIDDEN void *memset(void *dst, int c, size_t n) {
    void *ret = dst;
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
    return ret;
}

GUEST_HIDDEN void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    // Overlapping with dst above src: copy backwards.
    d += n - 1;
    s += n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

#elif defined(__aarch64__)

// A u64 that may be unaligned and may alias anything: the loops below move 8 bytes at a time through it.
typedef uint64_t __attribute__((may_alias, aligned(1))) guest_unaligned_u64;

GUEST_HIDDEN void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;

    for (; n >= 8; n -= 8, d += 8, s += 8)
        *(guest_unaligned_u64 *)d = *(const guest_unaligned_u64 *)s;
    for (; n > 0; n--)
        *d++ = *s++;
    return dst;
}

GUEST_HIDDEN void *memset(void *dst, int c, size_t n) {
    unsigned char *d = dst;
    uint64_t pattern = (unsigned char)c * 0x0101010101010101ULL;

    for (; n >= 8; n -= 8, d += 8)
        *(guest_unaligned_u64 *)d = pattern;
    for (; n > 0; n--)
        *d++ = (unsigned char)c;
    return dst;
}

GUEST_HIDDEN void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    // Overlapping with dst above src: copy backwards, each 8-byte load before the store that may overlap it.
    d += n;
    s += n;
    for (; n >= 8; n -= 8) {
        d -= 8;
        s -= 8;
        *(guest_unaligned_u64 *)d = *(const guest_unaligned_u64 *)s;
    }
    while (n-- > 0)
        *--d = *--s;
    return dst;
}

#else
#error "KVMHarness guest runtime: unsupported architecture (x86-64 and arm64 only)"
#endif

__attribute__((visibility("hidden"))) int bcmp(const void *a, const void *b, size_t n);

GUEST_HIDDEN int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;

    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

// Optimizers turn `a == b` comparisons of memory into bcmp calls.
GUEST_HIDDEN int bcmp(const void *a, const void *b, size_t n) { return memcmp(a, b, n); }

// Optimizers recognize length loops as strlen.
GUEST_HIDDEN size_t strlen(const char *s) {
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

__attribute__((no_builtin)) size_t guest_strlen(const char *s) {
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

__attribute__((no_builtin)) size_t guest_strnlen(const char *s, size_t max) {
    size_t n = 0;

    while (n < max && s[n])
        n++;
    return n;
}

__attribute__((no_builtin)) int guest_strcmp(const char *a, const char *b) {
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

GUEST_CODE_END

// memcpy, memset, memmove and memcmp for code in the test executable, guest code included (see guest_string.h).
// Hidden visibility keeps them out of the dynamic symbol table, so libc and the Swift runtime keep their own.
// They use x86 string instructions: fast on the host, and a single instruction each for KVM's emulator.
#include <stdint.h>

#include "guest_string.h"
#include "ucall.h"

GUEST_CODE_BEGIN

// Hidden, and never turned back into calls to themselves (or to libc) by loop-idiom recognition.
#define GUEST_HIDDEN __attribute__((visibility("hidden"), no_builtin))

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

// A freestanding printf-style formatter for guest code (no libc, no floating point).
//
// Supports %d %i %u %x %X %o %p %s %c %%, the length modifiers hh h l ll z j t, the flags '#' '0' '-' '+' ' ',
// and field width and precision (both also as '*'), with glibc's output for all of them. Output that does not fit
// is truncated and, when the buffer holds at least 4 bytes, marked by ending in "..." before the NUL.
#ifndef KVMHARNESS_GUEST_PRINTF_H
#define KVMHARNESS_GUEST_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Formats `fmt` with the arguments in `ap` into `buf`, writing at most `size` bytes (nothing if `size` is 0) and
/// always NUL-terminating when `size` > 0. If the output does not fit and `size` >= 4, `buf` holds its first
/// `size` - 4 characters followed by "..." and the NUL. Returns the length the full output would have had, as C's
/// vsnprintf does (so a result >= `size` means truncation), or -1 if that length, or a width or precision in `fmt`,
/// exceeds INT_MAX (as glibc; `buf` is still filled and terminated).
/// An unknown conversion specification is copied to the output as written.
int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/// Formats `fmt` and its arguments into `buf` like guest_vsnprintf.
int guest_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif

#endif

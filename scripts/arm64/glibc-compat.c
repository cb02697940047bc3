// Linked into the static aarch64 test executable only (scripts/arm64.sh). The arm64 Swift runtime comes from
// Debian sid (built against glibc 2.38 or later), the C library from Debian bookworm's cross toolchain (glibc 2.36):
// these are the newer glibc entry points the runtime refers to, each forwarded to its 2.36 equivalent. The C23
// variants differ from the old ones only in accepting "0b" prefixes, which the runtime never parses.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long __isoc23_strtol(const char *text, char **end, int base) { return strtol(text, end, base); }
long long __isoc23_strtoll(const char *text, char **end, int base) { return strtoll(text, end, base); }
unsigned long __isoc23_strtoul(const char *text, char **end, int base) { return strtoul(text, end, base); }
unsigned long long __isoc23_strtoull(const char *text, char **end, int base) { return strtoull(text, end, base); }

int __isoc23_sscanf(const char *text, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    int converted = vsscanf(text, format, arguments);
    va_end(arguments);
    return converted;
}

// glibc 2.38's strlcpy: copies at most size - 1 bytes, always terminates (when size > 0), returns strlen(source).
size_t strlcpy(char *destination, const char *source, size_t size) {
    size_t length = strlen(source);
    if (size > 0) {
        size_t count = length < size - 1 ? length : size - 1;
        memcpy(destination, source, count);
        destination[count] = '\0';
    }
    return length;
}

// guest_vsnprintf and guest_snprintf: a printf-style formatter for guest code, which has no libc.
//
// It covers the integer, pointer, string and character conversions with glibc's output (no floating point), writes
// only to the caller's buffer, and never calls into libc. Output is written straight into the buffer while the
// length of the full output is counted on, so each conversion costs work in proportion to what it writes into the
// buffer: padding beyond the end of the buffer is only counted, however wide the field.
//
// Truncation marker: output that does not fit in `size` bytes is cut short and, when `size` >= 4, its last three
// characters before the NUL are replaced by "..." so that a truncated message cannot pass for a complete one:
// `buf` holds the first `size` - 4 characters of the output, then "...", then the NUL. With `size` 1 to 3 the
// output is just cut short and NUL-terminated; with `size` 0 nothing is written. Either way the return value is
// the full length, as for C's snprintf (or -1 when that, or a width or precision, exceeds INT_MAX, as in glibc).
//
// Where this departs from glibc: an unknown conversion ("%q", "%5y", or a '%' at the end of the format) is copied
// to the output as written, where glibc returns -1 for some and rewrites others; and %lc and %ls are treated as
// %c and %s (there are no wide characters here).
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_printf.h"
#include "guest_string.h"
#include "ucall.h"

GUEST_CODE_BEGIN

// The output: `len` counts every character produced, whether or not it fit below `limit`.
struct out {
    char *buf;
    size_t limit; // the characters buf can hold before its NUL: size - 1, or 0 when size is 0
    size_t len;
    int overflow; // a width or precision in the format exceeded INT_MAX (glibc returns -1 for that)
};

static void put(struct out *o, const char *s, size_t n) {
    if (o->len < o->limit) {
        size_t room = o->limit - o->len;
        size_t k = n < room ? n : room;
        char *d = o->buf + o->len;

        for (size_t i = 0; i < k; i++)
            d[i] = s[i];
    }
    o->len += n;
}

static void fill(struct out *o, char c, size_t n) {
    if (o->len < o->limit) {
        size_t room = o->limit - o->len;
        size_t k = n < room ? n : room;
        char *d = o->buf + o->len;

        for (size_t i = 0; i < k; i++)
            d[i] = c;
    }
    o->len += n;
}

enum {
    F_LEFT = 1,  // '-'
    F_PLUS = 2,  // '+'
    F_SPACE = 4, // ' '
    F_ALT = 8,   // '#'
    F_ZERO = 16, // '0'
};

enum length { LEN_INT, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_J, LEN_T };

// `s` (n bytes) in a field of `width`, padded with spaces (glibc ignores '0' for strings and characters).
static void put_padded(struct out *o, const char *s, size_t n, unsigned flags, size_t width) {
    size_t pad = width > n ? width - n : 0;

    if (!(flags & F_LEFT))
        fill(o, ' ', pad);
    put(o, s, n);
    if (flags & F_LEFT)
        fill(o, ' ', pad);
}

// An integer: `sign` ('-', '+', ' ' or 0), then the "0x" prefix if any, then at least `prec` digits of `v` in `base`
// (8, 10 or 16), in a field of `width`. A precision of 0 prints no digits for 0. F_ZERO is set only when it applies
// (no '-' and no precision) and pads with zeros between the prefix and the digits.
static void put_number(struct out *o, unsigned long long v, unsigned base, int upper, char sign, unsigned flags,
                       size_t width, int prec) {
    const char *xdigits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char digits[24]; // 22 octal digits for 64 bits
    char *end = digits + sizeof(digits), *d = end;
    char prefix[3];
    size_t plen = 0;

    if (sign)
        prefix[plen++] = sign;
    if ((flags & F_ALT) && base == 16 && v != 0) {
        prefix[plen++] = '0';
        prefix[plen++] = upper ? 'X' : 'x';
    }

    if (base == 10) {
        for (; v; v /= 10)
            *--d = (char)('0' + v % 10);
    } else {
        unsigned shift = base == 16 ? 4 : 3;
        for (; v; v >>= shift)
            *--d = xdigits[v & (base - 1)];
    }
    if (d == end && prec != 0)
        *--d = '0';

    size_t ndigits = (size_t)(end - d);
    size_t zeros = prec > 0 && (size_t)prec > ndigits ? (size_t)prec - ndigits : 0;
    // '#' for octal: the first digit printed must be 0.
    if ((flags & F_ALT) && base == 8 && zeros == 0 && (d == end || *d != '0'))
        zeros = 1;

    size_t body = plen + zeros + ndigits;
    size_t pad = width > body ? width - body : 0;
    if (!(flags & (F_LEFT | F_ZERO)))
        fill(o, ' ', pad);
    put(o, prefix, plen);
    if (flags & F_ZERO)
        fill(o, '0', pad);
    fill(o, '0', zeros);
    put(o, d, ndigits);
    if (flags & F_LEFT)
        fill(o, ' ', pad);
}

// Reads a decimal field width or precision at *p, saturating at INT_MAX (and noting that in o->overflow).
static int read_decimal(struct out *o, const char **p) {
    int v = 0;

    for (; **p >= '0' && **p <= '9'; (*p)++) {
        int digit = **p - '0';
        if (v > (INT_MAX - digit) / 10) {
            v = INT_MAX;
            o->overflow = 1;
        } else {
            v = v * 10 + digit;
        }
    }
    return v;
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    struct out o;
    // Field by field: at -O0 an initializer list can become a call to memset, and this file must not call libc.
    o.buf = buf;
    o.limit = size ? size - 1 : 0;
    o.len = 0;
    o.overflow = 0;
    const char *p = fmt;
    va_list args;

    va_copy(args, ap);
    while (*p) {
        // Literal text up to the next '%', in one piece.
        const char *lit = p;
        while (*p && *p != '%')
            p++;
        put(&o, lit, (size_t)(p - lit));
        if (!*p)
            break;

        const char *spec = p++;
        unsigned flags = 0;
        for (;; p++) {
            if (*p == '-')
                flags |= F_LEFT;
            else if (*p == '+')
                flags |= F_PLUS;
            else if (*p == ' ')
                flags |= F_SPACE;
            else if (*p == '#')
                flags |= F_ALT;
            else if (*p == '0')
                flags |= F_ZERO;
            else
                break;
        }

        size_t width = 0;
        if (*p == '*') {
            int w = va_arg(args, int);
            p++;
            if (w < 0) {
                flags |= F_LEFT;
                width = (size_t)0 - (size_t)(long long)w;
            } else {
                width = (size_t)w;
            }
        } else {
            width = (size_t)read_decimal(&o, &p);
        }

        int prec = -1;
        if (*p == '.') {
            p++;
            if (*p == '*') {
                prec = va_arg(args, int);
                p++;
                if (prec < 0)
                    prec = -1;
            } else {
                prec = read_decimal(&o, &p);
            }
        }

        enum length len = LEN_INT;
        switch (*p) {
        case 'h':
            len = p[1] == 'h' ? LEN_HH : LEN_H;
            p += len == LEN_HH ? 2 : 1;
            break;
        case 'l':
            len = p[1] == 'l' ? LEN_LL : LEN_L;
            p += len == LEN_LL ? 2 : 1;
            break;
        case 'z':
            len = LEN_Z;
            p++;
            break;
        case 'j':
            len = LEN_J;
            p++;
            break;
        case 't':
            len = LEN_T;
            p++;
            break;
        }

        // '0' pads numbers only without '-' and without a precision.
        if ((flags & F_LEFT) || prec >= 0)
            flags &= ~(unsigned)F_ZERO;

        char conv = *p;
        switch (conv) {
        case 'd':
        case 'i': {
            long long v;
            switch (len) {
            case LEN_HH: v = (signed char)va_arg(args, int); break;
            case LEN_H: v = (short)va_arg(args, int); break;
            case LEN_L: v = va_arg(args, long); break;
            case LEN_LL: v = va_arg(args, long long); break;
            case LEN_Z: v = (ptrdiff_t)va_arg(args, size_t); break;
            case LEN_J: v = va_arg(args, intmax_t); break;
            case LEN_T: v = va_arg(args, ptrdiff_t); break;
            default: v = va_arg(args, int); break;
            }
            char sign = v < 0 ? '-' : (flags & F_PLUS) ? '+' : (flags & F_SPACE) ? ' ' : 0;
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
            put_number(&o, mag, 10, 0, sign, flags, width, prec);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            unsigned long long v;
            switch (len) {
            case LEN_HH: v = (unsigned char)va_arg(args, unsigned int); break;
            case LEN_H: v = (unsigned short)va_arg(args, unsigned int); break;
            case LEN_L: v = va_arg(args, unsigned long); break;
            case LEN_LL: v = va_arg(args, unsigned long long); break;
            case LEN_Z: v = va_arg(args, size_t); break;
            case LEN_J: v = va_arg(args, uintmax_t); break;
            case LEN_T: v = (size_t)va_arg(args, ptrdiff_t); break;
            default: v = va_arg(args, unsigned int); break;
            }
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            // '+' and ' ' apply only to signed conversions.
            put_number(&o, v, base, conv == 'X', 0, flags, width, prec);
            break;
        }
        case 'p': {
            void *ptr = va_arg(args, void *);
            if (ptr) {
                // glibc prints a pointer as %#lx, keeping '+' and ' '.
                char sign = (flags & F_PLUS) ? '+' : (flags & F_SPACE) ? ' ' : 0;
                put_number(&o, (uintptr_t)ptr, 16, 0, sign, flags | F_ALT, width, prec);
            } else {
                put_padded(&o, "(nil)", 5, flags, width);
            }
            break;
        }
        case 's': {
            const char *s = va_arg(args, const char *);
            if (!s) // glibc prints "(null)" only if the precision lets all of it through.
                s = prec < 0 || prec >= 6 ? "(null)" : "";
            size_t n = prec < 0 ? guest_strlen(s) : guest_strnlen(s, (size_t)prec);
            put_padded(&o, s, n, flags, width);
            break;
        }
        case 'c': {
            char c = (char)va_arg(args, int);
            put_padded(&o, &c, 1, flags, width);
            break;
        }
        case '%': // glibc ignores flags and width here (a '*' still takes its argument).
            put(&o, "%", 1);
            break;
        case '\0': // The format ends inside a specification: copy what there is.
            put(&o, spec, (size_t)(p - spec));
            continue;
        default: // Unknown: copy it as written.
            put(&o, spec, (size_t)(p + 1 - spec));
            break;
        }
        p++;
    }
    va_end(args);

    if (size) {
        if (o.len < size) {
            buf[o.len] = '\0';
        } else {
            buf[size - 1] = '\0';
            if (size >= 4)
                buf[size - 4] = buf[size - 3] = buf[size - 2] = '.';
        }
    }
    return o.overflow || o.len > INT_MAX ? -1 : (int)o.len;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = guest_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

GUEST_CODE_END

// Double-precision arithmetic in integer-only C, for Embedded Swift guest code built with +soft-float.
//
// Why: KVM's instruction emulator (which runs CPL0 guest code on software-virtualized hosts such as PVM) has no
// SSE and no x87. Built without SSE, Swift code that uses Double (Dictionary and Set size their tables with it)
// becomes x87 code unless the target also has +soft-float, which turns every Double operation into a call to the
// routines below. The toolchain's own builtins pass doubles in SSE registers, so they cannot be linked. With
// +soft-float a double travels in a general-purpose register, bit for bit: each routine here takes and returns the
// IEEE-754 bits as a uint64_t, which is the same calling convention, so this file is built with
// -mgeneral-regs-only like the rest of the runtime.
//
// Round to nearest, ties to even; subnormals are kept; NaN results are the default quiet NaN. The kvmh_sf_* names
// are what the host unit tests call (SwiftGuestTests, against the host's FPU); the compiler-rt names that the
// guest's code calls are defined below them only when KVMH_SOFTFLOAT_ABI_NAMES is set (the guest build).
#include "softfloat.h"

#define SIGN_BIT (1ULL << 63)
#define HIDDEN_BIT (1ULL << 52)
#define FRACTION_MASK (HIDDEN_BIT - 1)
#define INFINITY_BITS 0x7ff0000000000000ULL
#define QUIET_NAN 0x7ff8000000000000ULL

typedef unsigned __int128 u128;

static int is_nan(uint64_t a) { return (a & ~SIGN_BIT) > INFINITY_BITS; }
static int is_infinite(uint64_t a) { return (a & ~SIGN_BIT) == INFINITY_BITS; }
static int is_zero(uint64_t a) { return (a & ~SIGN_BIT) == 0; }

// A finite non-zero value as significand * 2^(exponent - 1075), the significand in [2^52, 2^53).
static void unpack(uint64_t a, uint64_t *significand, int *exponent) {
    int biased = (int)((a >> 52) & 0x7ff);
    uint64_t fraction = a & FRACTION_MASK;

    if (biased == 0) { // subnormal: normalize
        biased = 1;
        while (!(fraction & HIDDEN_BIT)) {
            fraction <<= 1;
            biased--;
        }
    } else {
        fraction |= HIDDEN_BIT;
    }
    *significand = fraction;
    *exponent = biased;
}

static int top_bit(u128 x) {
    int bit = -1;
    while (x) {
        x >>= 1;
        bit++;
    }
    return bit;
}

// The double nearest to value * 2^scale (value > 0), with the sign bit `sign`.
static uint64_t round_and_pack(uint64_t sign, int scale, u128 value) {
    int shift = top_bit(value) - 52;        // keep 53 significant bits
    int biased = scale + shift + 1075;      // the biased exponent of the result, if normal
    if (biased >= 2047)
        return sign | INFINITY_BITS;
    if (biased < 1) {                       // subnormal: fewer significant bits, exponent field 0
        shift += 1 - biased;
        biased = 0;
    }
    uint64_t significand;
    if (shift <= 0) {
        significand = (uint64_t)(value << -shift);
    } else if (shift >= 128) {
        significand = (shift == 128 && value > ((u128)1 << 127)) ? 1 : 0;
    } else {
        u128 rest = value & (((u128)1 << shift) - 1);
        u128 half = (u128)1 << (shift - 1);
        significand = (uint64_t)(value >> shift);
        if (rest > half || (rest == half && (significand & 1)))
            significand++;
    }
    // A normal significand includes the hidden bit, which adds one to the exponent field: so (biased - 1). A
    // rounding carry to 2^53 (or from the largest subnormal to 2^52) moves into the exponent field by itself.
    uint64_t bits = biased ? ((uint64_t)(biased - 1) << 52) + significand : significand;
    if ((bits & INFINITY_BITS) == INFINITY_BITS)
        return sign | INFINITY_BITS;
    return sign | bits;
}

uint64_t kvmh_sf_add(uint64_t a, uint64_t b) {
    if (is_nan(a) || is_nan(b))
        return QUIET_NAN;
    if (is_infinite(a) || is_infinite(b)) {
        if (is_infinite(a) && is_infinite(b) && ((a ^ b) & SIGN_BIT))
            return QUIET_NAN;
        return is_infinite(a) ? a : b;
    }
    if (is_zero(a) && is_zero(b))
        return a & b & SIGN_BIT; // -0 only when both are -0
    if (is_zero(a))
        return b;
    if (is_zero(b))
        return a;
    uint64_t ma, mb;
    int ea, eb;
    unpack(a, &ma, &ea);
    unpack(b, &mb, &eb);
    if (ea < eb || (ea == eb && ma < mb)) { // make |a| >= |b|
        uint64_t t = a; a = b; b = t;
        t = ma; ma = mb; mb = t;
        int te = ea; ea = eb; eb = te;
    }
    // 64 guard bits below the significands; what b loses in the alignment sticks to its lowest bit.
    u128 wa = (u128)ma << 64, wb = (u128)mb << 64;
    int distance = ea - eb;
    if (distance >= 128) {
        wb = 1;
    } else if (distance > 0) {
        int lost = (wb & (((u128)1 << distance) - 1)) != 0;
        wb = (wb >> distance) | (u128)lost;
    }
    u128 sum = ((a ^ b) & SIGN_BIT) ? wa - wb : wa + wb;
    if (sum == 0)
        return 0; // x + (-x) is +0 when rounding to nearest
    return round_and_pack(a & SIGN_BIT, ea - 1075 - 64, sum);
}

uint64_t kvmh_sf_sub(uint64_t a, uint64_t b) { return kvmh_sf_add(a, is_nan(b) ? b : b ^ SIGN_BIT); }

uint64_t kvmh_sf_mul(uint64_t a, uint64_t b) {
    uint64_t sign = (a ^ b) & SIGN_BIT;
    if (is_nan(a) || is_nan(b))
        return QUIET_NAN;
    if (is_infinite(a) || is_infinite(b))
        return (is_zero(a) || is_zero(b)) ? QUIET_NAN : sign | INFINITY_BITS;
    if (is_zero(a) || is_zero(b))
        return sign;
    uint64_t ma, mb;
    int ea, eb;
    unpack(a, &ma, &ea);
    unpack(b, &mb, &eb);
    return round_and_pack(sign, ea + eb - 2150, (u128)ma * mb);
}

uint64_t kvmh_sf_div(uint64_t a, uint64_t b) {
    uint64_t sign = (a ^ b) & SIGN_BIT;
    if (is_nan(a) || is_nan(b))
        return QUIET_NAN;
    if (is_infinite(a))
        return is_infinite(b) ? QUIET_NAN : sign | INFINITY_BITS;
    if (is_infinite(b))
        return sign;
    if (is_zero(b))
        return is_zero(a) ? QUIET_NAN : sign | INFINITY_BITS;
    if (is_zero(a))
        return sign;
    uint64_t ma, mb;
    int ea, eb;
    unpack(a, &ma, &ea);
    unpack(b, &mb, &eb);
    // floor(ma * 2^64 / mb) by long division (at least 64 significant bits: ma / mb is in (1/2, 2)), then one
    // sticky bit for a non-zero remainder: enough to round exactly. Bit by bit, because a 128-bit division would
    // call compiler-rt's __udivti3, which a guest image does not have.
    u128 quotient = 0;
    uint64_t remainder = ma;
    for (int bit = 0; bit <= 64; bit++) {
        quotient <<= 1;
        if (remainder >= mb) {
            remainder -= mb;
            quotient |= 1;
        }
        remainder <<= 1; // remainder < mb < 2^53, so this never overflows
    }
    return round_and_pack(sign, ea - eb - 64 - 1, (quotient << 1) | (u128)(remainder != 0));
}

uint64_t kvmh_sf_from_int64(int64_t x) {
    if (x == 0)
        return 0;
    uint64_t magnitude = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    return round_and_pack(x < 0 ? SIGN_BIT : 0, 0, magnitude);
}

uint64_t kvmh_sf_from_uint64(uint64_t x) { return x ? round_and_pack(0, 0, x) : 0; }

// Truncates toward zero; out of range saturates and NaN is 0 (Swift checks the range before converting).
int64_t kvmh_sf_to_int64(uint64_t a) {
    if (is_nan(a))
        return 0;
    int biased = (int)((a >> 52) & 0x7ff);
    if (biased < 1023)
        return 0;
    if (biased - 1023 >= 63)
        return (a & SIGN_BIT) ? INT64_MIN : INT64_MAX;
    uint64_t significand = (a & FRACTION_MASK) | HIDDEN_BIT;
    int exponent = biased - 1075;
    uint64_t magnitude = exponent >= 0 ? significand << exponent : significand >> -exponent;
    return (a & SIGN_BIT) ? -(int64_t)magnitude : (int64_t)magnitude;
}

uint64_t kvmh_sf_to_uint64(uint64_t a) {
    if (is_nan(a) || (a & SIGN_BIT))
        return 0;
    int biased = (int)((a >> 52) & 0x7ff);
    if (biased < 1023)
        return 0;
    if (biased - 1023 >= 64)
        return UINT64_MAX;
    uint64_t significand = (a & FRACTION_MASK) | HIDDEN_BIT;
    int exponent = biased - 1075;
    return exponent >= 0 ? significand << exponent : significand >> -exponent;
}

// -1, 0 or 1 as a <, ==, > b; `unordered` if either is NaN. +0 == -0.
long kvmh_sf_compare(uint64_t a, uint64_t b, long unordered) {
    if (is_nan(a) || is_nan(b))
        return unordered;
    if (is_zero(a) && is_zero(b))
        return 0;
    // Sign-magnitude to two's complement: then the doubles order as the integers do.
    int64_t ka = (a & SIGN_BIT) ? -(int64_t)(a & ~SIGN_BIT) : (int64_t)a;
    int64_t kb = (b & SIGN_BIT) ? -(int64_t)(b & ~SIGN_BIT) : (int64_t)b;
    return ka < kb ? -1 : ka > kb;
}

uint64_t kvmh_sf_ceil(uint64_t a) {
    int biased = (int)((a >> 52) & 0x7ff);
    if (biased >= 1075 || is_zero(a))
        return a; // already integral, or infinite or NaN
    if (biased < 1023)   // 0 < |a| < 1
        return (a & SIGN_BIT) ? SIGN_BIT : 0x3ff0000000000000ULL;
    uint64_t fraction = FRACTION_MASK >> (biased - 1023);
    if (!(a & fraction))
        return a;
    if (!(a & SIGN_BIT))
        a += fraction + 1; // the carry rounds up the magnitude (and may bump the exponent, which is right)
    return a & ~fraction;
}

#ifdef KVMH_SOFTFLOAT_ABI_NAMES
// The names LLVM calls for double operations under +soft-float (compiler-rt's), and libm's ceil.
uint64_t __adddf3(uint64_t a, uint64_t b) { return kvmh_sf_add(a, b); }
uint64_t __subdf3(uint64_t a, uint64_t b) { return kvmh_sf_sub(a, b); }
uint64_t __muldf3(uint64_t a, uint64_t b) { return kvmh_sf_mul(a, b); }
uint64_t __divdf3(uint64_t a, uint64_t b) { return kvmh_sf_div(a, b); }
uint64_t __floatdidf(int64_t x) { return kvmh_sf_from_int64(x); }
uint64_t __floatundidf(uint64_t x) { return kvmh_sf_from_uint64(x); }
uint64_t __floatsidf(int x) { return kvmh_sf_from_int64(x); }
uint64_t __floatunsidf(unsigned x) { return kvmh_sf_from_uint64(x); }
int64_t __fixdfdi(uint64_t a) { return kvmh_sf_to_int64(a); }
uint64_t __fixunsdfdi(uint64_t a) { return kvmh_sf_to_uint64(a); }
long __eqdf2(uint64_t a, uint64_t b) { return kvmh_sf_compare(a, b, 1); }
long __nedf2(uint64_t a, uint64_t b) { return kvmh_sf_compare(a, b, 1); }
long __ltdf2(uint64_t a, uint64_t b) { return kvmh_sf_compare(a, b, 1); }
long __ledf2(uint64_t a, uint64_t b) { return kvmh_sf_compare(a, b, 1); }
long __gtdf2(uint64_t a, uint64_t b) { return kvmh_sf_compare(a, b, -1); }
long __gedf2(uint64_t a, uint64_t b) { return kvmh_sf_compare(a, b, -1); }
long __unorddf2(uint64_t a, uint64_t b) { return is_nan(a) || is_nan(b); }
// libm's `double ceil(double)`, under another C name: its real prototype would clash with this one.
uint64_t kvmh_sf_ceil_abi(uint64_t a) __asm__("ceil");
uint64_t kvmh_sf_ceil_abi(uint64_t a) { return kvmh_sf_ceil(a); }
#endif

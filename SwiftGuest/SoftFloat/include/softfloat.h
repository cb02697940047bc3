// Integer-only double-precision arithmetic on IEEE-754 bit patterns (softfloat.c). See softfloat.c for why.
#ifndef KVMH_SOFTFLOAT_H
#define KVMH_SOFTFLOAT_H

#include <stdint.h>

/// a + b, a - b, a * b, a / b, rounded to nearest even.
uint64_t kvmh_sf_add(uint64_t a, uint64_t b);
uint64_t kvmh_sf_sub(uint64_t a, uint64_t b);
uint64_t kvmh_sf_mul(uint64_t a, uint64_t b);
uint64_t kvmh_sf_div(uint64_t a, uint64_t b);
/// Integer to double, rounded to nearest even.
uint64_t kvmh_sf_from_int64(int64_t x);
uint64_t kvmh_sf_from_uint64(uint64_t x);
/// Double to integer, truncated toward zero; saturating out of range, 0 for NaN.
int64_t kvmh_sf_to_int64(uint64_t a);
uint64_t kvmh_sf_to_uint64(uint64_t a);
/// -1, 0 or 1 as a <, ==, > b, or `unordered` if either is NaN.
long kvmh_sf_compare(uint64_t a, uint64_t b, long unordered);
/// The smallest integral double not below a.
uint64_t kvmh_sf_ceil(uint64_t a);

#endif

/*
 * fp16 <-> fp32 on the host, the one conversion the library, the tests'
 * reference, the benchmark and the tools share (each includes this private
 * header through its include path; nothing here is installed). Narrowing
 * rounds to nearest, ties to even, as ggml does and as the kernels' vstore_half
 * does by default, and turns a NaN into a quiet NaN of its sign (as ggml's
 * conversion does); widening is exact, as vload_half is, NaN payloads included.
 */
#ifndef CLQ_FP16_H
#define CLQ_FP16_H

#include <stdint.h>
#include <string.h>

/* value >> shift rounded to nearest, ties to even (shift >= 1) */
static inline uint32_t clq_fp16_shift_rne(uint32_t value, unsigned shift)
{
    uint32_t q = value >> shift, rem = value & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    return q + (rem > half || (rem == half && (q & 1u)));
}

static inline uint16_t clq_fp32_to_fp16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t abs = x & 0x7fffffffu;
    if (abs > 0x7f800000u) /* NaN */
        return sign | 0x7e00u;
    if (abs >= 0x477ff000u) /* 65520 and above round (ties to even) to infinity */
        return sign | 0x7c00u;
    if (abs <= 0x33000000u) /* 2^-25 and below round to zero (2^-25 is a tie, 0 is even) */
        return sign;
    if (abs < 0x38800000u) { /* below 2^-14: a subnormal, in units of 2^-24 */
        uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
        /* a carry to 0x400 is the smallest normal, which is the right encoding */
        return sign | (uint16_t)clq_fp16_shift_rne(mant, 126u - (abs >> 23));
    }
    /* Normal: rebias the exponent and round the mantissa; a carry out of
     * the mantissa bumps the exponent, which is again the right encoding. */
    return sign | (uint16_t)clq_fp16_shift_rne(abs - ((127u - 15u) << 23), 13u);
}

static inline float clq_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
    if (exp == 0) { /* zero or subnormal: mant·2^-24, exact in fp32 */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    bits = exp == 31 ? sign | 0x7f800000u | (mant << 13) : sign | ((exp + 127u - 15u) << 23) | (mant << 13);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

#endif /* CLQ_FP16_H */

/*
 * How a stored weight element becomes a float: the code tables, the scale of
 * a block and the value of one element, for every format. Prepended to every
 * program that reads weights (quantize.cl, matmul.cl), so the formats' maths
 * is written once.
 *
 * Contraction is off here: a double-quantized scale is code[qa]·nested +
 * offset rounded after each step, as bitsandbytes computes it, and an fma
 * would change its bits. Programs that want fma (matmul.cl) switch it on for
 * their own code after this file; functions defined here keep this setting.
 */
#pragma OPENCL FP_CONTRACT OFF

constant float nf4_code[16] = {CLQ_NF4_CODE_VALUES};
constant float fp4_code[16] = {CLQ_FP4_CODE_VALUES};
constant float dynamic_code[256] = {CLQ_DYNAMIC8_CODE_VALUES};

inline void store_y(global void *dst, uint dst_half, ulong i, float v)
{
    if (dst_half)
        vstore_half_rte(v, i, (global half *)dst);
    else
        ((global float *)dst)[i] = v;
}

/* ---- dequantization ------------------------------------------------------------ */

/* The scale of block g as the peers compute it. Double-quantized absmax:
 * code[qa]·nested + offset, rounded after each step (bitsandbytes). */
inline float block_scale(uint format, uint dq, global const void *scales, uint g, global const float *nested,
                         global const float *code, global const float *offset)
{
    if (dq) {
        uchar qa = ((global const uchar *)scales)[g];
        float t = code[qa] * nested[g / CLQ_NESTED_BLOCK];
        return t + offset[0];
    }
    if (format == CLQ_FMT_Q4 || format == CLQ_FMT_Q8)
        return vload_half(g, (global const half *)scales);
    return ((global const float *)scales)[g];
}

/* An element's value before its block's scale, one definition per format
 * for every kernel (the matmul kernels sum these and apply the scale once
 * per block; dequantization multiplies each by it):
 *   Q8: the int8 code;  Q4: q-8;  Q4Z: q-z;  NF4, FP4: the format's code;
 *   DYNAMIC8: the weight's own 256-entry code.
 * CLQ_UNSCALED(FMT, N, q, z, code) takes N (1, 8 or 16) codes as a uint or
 * uintN, each in the low 4 or 8 bits of its lane with any bits above
 * ignored, so a kernel passes a device word shifted right without masking
 * it; z is Q4Z's zero point as a float or floatN, code the DYNAMIC8 code.
 * FMT is a compile-time constant wherever it is used, so only its branch
 * is compiled. A macro, not a function, so that one text serves scalars and
 * vectors (OpenCL C has no overloading). */

/* The 4-bit formats' values before the scale as 16-entry tables: a lookup
 * is one instruction where the hardware permutes a register. */
constant float q4_code[16] = {-8.0f, -7.0f, -6.0f, -5.0f, -4.0f, -3.0f, -2.0f, -1.0f,
                              0.0f,  1.0f,  2.0f,  3.0f,  4.0f,  5.0f,  6.0f,  7.0f};
constant float q4z_code[16] = {0.0f, 1.0f, 2.0f,  3.0f,  4.0f,  5.0f,  6.0f,  7.0f,
                               8.0f, 9.0f, 10.0f, 11.0f, 12.0f, 13.0f, 14.0f, 15.0f};
#define CODE4_TABLE(FMT)                                                                                     \
    ((FMT) == CLQ_FMT_NF4   ? nf4_code                                                                       \
     : (FMT) == CLQ_FMT_FP4 ? fp4_code                                                                       \
     : (FMT) == CLQ_FMT_Q4Z ? q4z_code                                                                       \
                            : q4_code)

/* table[i] for N indices i (an int or intN), loaded lane by lane; on
 * AVX-512, 16 indices into a table in memory (global, constant, or local:
 * a CPU's local memory is ordinary memory, so its address passes through an
 * integer) are one vgatherdps. */
#define GATHER1(t, i) (t)[(i)]
#define GATHER8(t, i)                                                                                        \
    (float8)((t)[(i).s0], (t)[(i).s1], (t)[(i).s2], (t)[(i).s3], (t)[(i).s4], (t)[(i).s5], (t)[(i).s6],      \
             (t)[(i).s7])
#if defined(__AVX512F__)
#define GATHER16(t, i)                                                                                       \
    __builtin_ia32_gathersiv16sf((float16)(0.0f), (const void *)(ulong)(t), (i), (short)-1, 4)
#else
#define GATHER16(t, i)                                                                                       \
    (float16)((t)[(i).s0], (t)[(i).s1], (t)[(i).s2], (t)[(i).s3], (t)[(i).s4], (t)[(i).s5], (t)[(i).s6],     \
              (t)[(i).s7], (t)[(i).s8], (t)[(i).s9], (t)[(i).sa], (t)[(i).sb], (t)[(i).sc], (t)[(i).sd],     \
              (t)[(i).se], (t)[(i).sf])
#endif

/* A 16-entry table at N code indices (their low 4 bits). On AVX-512 the
 * 16-lane lookup is one vpermps, which reads only the low 4 bits of each
 * index, so no mask is needed. */
#define LOOKUP4_1(t, q) (t)[(q)&15u]
#define LOOKUP4_8(t, q) GATHER8(t, as_int8((q)&15u))
#if defined(__AVX512F__)
#define LOOKUP4_16(t, q) __builtin_ia32_permvarsf512(vload16(0, t), as_int16(q))
#else
#define LOOKUP4_16(t, q) GATHER16(t, as_int16((q)&15u))
#endif

/* The float, int and reinterpreting names of N lanes. */
#define VEC_1(name) name
#define VEC_8(name) name##8
#define VEC_16(name) name##16
#define VEC_OF(N, name) VEC_##N(name)
#define VEC(N, name) VEC_OF(N, name) /* N expanded first: CLQ_MM_LANES -> 16 */

#define CLQ_UNSCALED(FMT, N, q, z, code) CLQ_UNSCALED_OF(FMT, N, q, z, code) /* N expanded first */
#define CLQ_UNSCALED_OF(FMT, N, q, z, code)                                                                  \
    ((FMT) == CLQ_FMT_Q8         ? VEC(N, convert_float)(VEC(N, as_int)((q) << 24) >> 24)                    \
     : (FMT) == CLQ_FMT_DYNAMIC8 ? GATHER##N(code, VEC(N, as_int)((q)&255u))                                 \
     : (FMT) == CLQ_FMT_Q4Z      ? LOOKUP4_##N(q4z_code, q) - (z)                                            \
                                 : LOOKUP4_##N(CODE4_TABLE(FMT), q))

/*
 * Quantization and dequantization between fp32/fp16 matrices and clq's device
 * layout (clq_common.h), for every format, plus the double quantization of
 * the NF4/FP4 absmax vector. dequant.cl (codes, scales, element values) is
 * prepended.
 *
 * Every result here must equal the peers' code bit for bit (ggml's reference
 * quantizers, bitsandbytes' default backend, ONNX Runtime's MLAS), so:
 *  - contraction is off: x*id + 8.5f must round twice, as it does in C;
 *  - the host builds with -cl-fp32-correctly-rounded-divide-sqrt where the
 *    device has it, so 1.0f/d is the same float as on the host;
 *  - ties and scan orders follow the peers (first element of largest
 *    magnitude for Q4, midpoints of the sorted code for code lookups).
 * Do not "simplify" these into fma or native_recip: it changes bits.
 */
#pragma OPENCL FP_CONTRACT OFF

/* The helpers on the per-element path are forced inline: PoCL's inliner
 * leaves the larger ones as calls, which lose the per-format constant
 * folding (the kernel has one loop per format) and pass vectors through
 * memory; quantize_code4 as a call took 39 % longer. */
#define QUANT_INLINE static inline __attribute__((always_inline))

/* BODY(fmt) with fmt the runtime `format` as a constant: one copy of the
 * loop per format, each compiled for its format. */
#define FOR_FORMAT(format, BODY)                                                                             \
    switch (format) {                                                                                        \
    case CLQ_FMT_Q8:                                                                                         \
        BODY(CLQ_FMT_Q8);                                                                                    \
        break;                                                                                               \
    case CLQ_FMT_Q4:                                                                                         \
        BODY(CLQ_FMT_Q4);                                                                                    \
        break;                                                                                               \
    case CLQ_FMT_Q4Z:                                                                                        \
        BODY(CLQ_FMT_Q4Z);                                                                                   \
        break;                                                                                               \
    case CLQ_FMT_NF4:                                                                                        \
        BODY(CLQ_FMT_NF4);                                                                                   \
        break;                                                                                               \
    case CLQ_FMT_FP4:                                                                                        \
        BODY(CLQ_FMT_FP4);                                                                                   \
        break;                                                                                               \
    case CLQ_FMT_DYNAMIC8:                                                                                   \
        BODY(CLQ_FMT_DYNAMIC8);                                                                              \
        break;                                                                                               \
    }

/* The host passes it for every build (host/params_table.h), so no default. */
#ifndef CLQ_REDUCE_WG
#error "CLQ_REDUCE_WG comes from the host's parameter table (host/params_table.h)"
#endif

/* ---- code lookups ------------------------------------------------------- */

/* bitsandbytes picks the code interval by the midpoints of the sorted code:
 * the result is the k-th smallest code, where k counts the midpoints
 * (c[i] + c[i+1]) / 2 (in fp32) lying strictly below s, so a value exactly on
 * a midpoint goes to the lower code. This is not the same as the nearest
 * code with ties to the lower index: FP4 has two zeros, and positive values
 * near zero land on the second one. `n` is 16 or 256; `order` lists the
 * code's indices by value (NULL: the code is sorted already); the search is
 * a bisection over the n-1 midpoints. */
inline uint sorted_code_rank(float s, constant float *code, constant uchar *order, uint n)
{
    uint lo = 0, hi = n - 1; /* answer in [lo, hi] */
    while (lo < hi) {
        uint mid = (lo + hi) / 2;
        float a = order ? code[order[mid]] : code[mid], b = order ? code[order[mid + 1]] : code[mid + 1];
        float m = (a + b) / 2.0f;
        if (s > m)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

constant uchar fp4_order[16] = {CLQ_FP4_SORTED_INDICES};

inline uint code_index(uint format, float s)
{
    switch (format) {
    case CLQ_FMT_NF4:
        return sorted_code_rank(s, nf4_code, NULL, 16);
    case CLQ_FMT_FP4:
        return fp4_order[sorted_code_rank(s, fp4_code, fp4_order, 16)];
    default:
        return sorted_code_rank(s, dynamic_code, NULL, 256);
    }
}

/* ---- one block ------------------------------------------------------------------ */

/* A block is handled 16 elements at a time as float16 vectors (load_x16;
 * blocks are multiples of 16): the arithmetic is elementwise, so every
 * element still rounds exactly as in the peers' scalar code; only the loops
 * change. The input is read once, in order, and prefetched 8 KiB ahead. */
#define PREFETCH_AHEAD(src, src_half, i)                                                                     \
    CLQ_PREFETCH(src_half ? (global const void *)((global const half *)(src) + (i) + 4096)                   \
                          : (global const void *)((global const float *)(src) + (i) + 2048))

typedef struct block_stats {
    float amax; /* largest magnitude */
    float m;    /* first element of largest magnitude, with its sign (ggml Q4_0; need_m) */
    float lo, hi;
    int finite;
} block_stats;

inline float hmax16(float16 v)
{
    float8 a = fmax(v.lo, v.hi);
    float4 b = fmax(a.lo, a.hi);
    float2 c = fmax(b.lo, b.hi);
    return fmax(c.x, c.y);
}

inline float hmin16(float16 v)
{
    float8 a = fmin(v.lo, v.hi);
    float4 b = fmin(a.lo, a.hi);
    float2 c = fmin(b.lo, b.hi);
    return fmin(c.x, c.y);
}

inline uint hmax16u(uint16 v)
{
    uint8 a = max(v.lo, v.hi);
    uint4 b = max(a.lo, a.hi);
    uint2 c = max(b.lo, b.hi);
    return max(c.x, c.y);
}

/* One pass over the block. Magnitudes are compared as integers: the bits of
 * a non-negative float order as its value does, and Inf and NaN lie above
 * every finite value, so one integer max per 16 elements gives both amax
 * and whether the block is finite, where fmax and isfinite take three
 * instructions each. lo and hi (Q4Z only) use plain comparisons: what they
 * make of NaN does not matter, as a block holding one is rejected.
 * Inlined, and its result written through a pointer: inlining a function
 * that returns a struct leaves llvm.experimental.noalias.scope.decl behind,
 * which oclgrind cannot run. */
QUANT_INLINE void stats_of(global const void *src, uint src_half, ulong base, uint block, uint need_m,
                           block_stats *out)
{
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    uint16 mag = (uint16)(0);
    int16 first = lane; /* need_m: each lane's first element of its largest magnitude */
    float16 lo = (float16)(INFINITY), hi = (float16)(-INFINITY);
    for (uint j = 0; j < block; j += 16) {
        float16 v = load_x16(src, src_half, base + j);
        PREFETCH_AHEAD(src, src_half, base + j);
        uint16 vmag = as_uint16(v) & (uint16)(0x7fffffffu);
        if (need_m)
            first = select(first, (int16)(j) + lane, vmag > mag); /* strictly: the earlier one stays */
        mag = max(mag, vmag);
        lo = select(lo, v, v < lo);
        hi = select(hi, v, v > hi);
    }
    uint amax = hmax16u(mag);
    block_stats st = {as_float(amax), 0.0f, hmin16(lo), hmax16(hi), amax < 0x7f800000u};
    /* m is the first element reaching amax, the one a sequential scan keeps
     * (none in an all-zero block: m stays +0, as in ggml): the smallest of
     * the first indices of the lanes whose largest magnitude is amax. */
    if (need_m && st.finite && amax > 0u) {
        first = select((int16)(INT_MAX), first, mag == (uint16)(amax));
        int8 a = min(first.lo, first.hi);
        int4 b = min(a.lo, a.hi);
        int2 c = min(b.lo, b.hi);
        st.m = load_x(src, src_half, base + (uint)min(c.x, c.y));
    }
    *out = st;
}

/* Where a block's codes go: elements k0 .. k0+block-1 of row `row` of a
 * weight with `cols` columns, in the device layout (clq_common.h). */
#define QUANT_DEST global uchar *quants, uint row, uint k0, uint cols
#define QUANT_AT quants, row, k0, cols

/* Sixteen 4-bit codes (elements j .. j+15 of the block) as two device words:
 * each 64-bit lane holds a pair (q[2i], q[2i+1]) and becomes the byte
 * q[2i] | q[2i+1] << 4; the eight bytes are the two words. */
QUANT_INLINE void store_codes4(uint16 q, QUANT_DEST, uint j)
{
    ulong8 pairs = as_ulong8(q);
    uint2 w = as_uint2(convert_uchar8(pairs | (pairs >> 28)));
    global uint *words = (global uint *)quants;
    words[tile_word(row, k0 + j, cols, 4)] = w.x;
    words[tile_word(row, k0 + j + 8, cols, 4)] = w.y;
}

/* Sixteen 8-bit codes as four device words (the low byte of each lane). */
QUANT_INLINE void store_codes8(uint16 q, QUANT_DEST, uint j)
{
    uint4 b = as_uint4(convert_uchar16(q));
    global uint *words = (global uint *)quants;
    words[tile_word(row, k0 + j, cols, 8)] = b.s0;
    words[tile_word(row, k0 + j + 4, cols, 8)] = b.s1;
    words[tile_word(row, k0 + j + 8, cols, 8)] = b.s2;
    words[tile_word(row, k0 + j + 12, cols, 8)] = b.s3;
}

/* C's roundf (halfway cases away from zero) for 16 values, as integers:
 * x + copysign(0.49999997, x) truncated. Equal to roundf for every finite
 * float: below 0.5 the sum stays under the next integer, from 0.5 up it
 * rounds to at least the next integer, and from 2^23 up x is an integer and
 * the sum rounds back to it. Three instructions, where round() is a dozen. */
inline int16 round_away16(float16 x)
{
    return convert_int16(x + copysign((float16)(0x1.fffffep-2f), x));
}

/* vstore_half_rte of one scale: PoCL converts in software, where x86 has an
 * instruction (F16C), which rounds to nearest even as well. */
inline void store_scale_half(float d, uint g, global half *d_all)
{
#if defined(__F16C__)
    ((global ushort *)d_all)[g] = as_ushort8(__builtin_ia32_vcvtps2ph((float4)(d, 0.0f, 0.0f, 0.0f), 0)).s0;
#else
    vstore_half_rte(d, g, d_all);
#endif
}

/* ggml quantize_row_q8_0_ref. */
QUANT_INLINE void quantize_q8(global const void *src, uint src_half, ulong base, uint block, block_stats st,
                              QUANT_DEST, global half *d_all, uint g)
{
    float d = st.amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_scale_half(d, g, d_all);
    for (uint j = 0; j < block; j += 16)
        store_codes8(as_uint16(round_away16(load_x16(src, src_half, base + j) * id)), QUANT_AT, j);
}

/* ggml quantize_row_q4_0_ref: d = m/-8, q = min(15, trunc(x/d + 8.5)). */
QUANT_INLINE void quantize_q4(global const void *src, uint src_half, ulong base, uint block, block_stats st,
                              QUANT_DEST, global half *d_all, uint g)
{
    float d = st.m / -8.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_scale_half(d, g, d_all);
    for (uint j = 0; j < block; j += 16)
        store_codes4(as_uint16(min((int16)15, convert_int16(load_x16(src, src_half, base + j) * id + 8.5f))),
                     QUANT_AT, j);
}

/* ONNX Runtime MLAS range2scalezp, then round(x/s + z) clamped to 0..15. */
QUANT_INLINE void quantize_q4z(global const void *src, uint src_half, ulong base, uint block, block_stats st,
                               QUANT_DEST, global float *s_out, global uchar *z_out)
{
    float lo = fmin(st.lo, 0.0f), hi = fmax(st.hi, 0.0f);
    float s = (hi - lo) / 15.0f;
    float zf = s != 0.0f ? 0.0f - lo / s : lo;
    uint z = zf < 0.0f ? 0u : zf > 15.0f ? 15u : (uint)round(zf);
    float rs = s != 0.0f ? 1.0f / s : 0.0f;
    *s_out = s;
    *z_out = (uchar)z;
    for (uint j = 0; j < block; j += 16) {
        /* Vector bounds, not scalar ones: the same in OpenCL C, and oclgrind
         * (21.10) gets the scalar-bound form of integer clamp wrong. */
        int16 q =
            clamp(round_away16(load_x16(src, src_half, base + j) * rs + (float)z), (int16)(0), (int16)(15));
        store_codes4(as_uint16(q), QUANT_AT, j);
    }
}

/* The midpoints of a sorted 4-bit code, as sorted_code_rank compares them:
 * lane i lies between the (i-1)-th and i-th smallest codes (lane 0 = -inf,
 * unused). Kept in a vector, not an array: PoCL gives a private array one
 * copy per work-item of the group. */
#define CODE4_SORTED(i) (format == CLQ_FMT_NF4 ? nf4_code[i] : fp4_code[fp4_order[i]])
#define CODE4_MID(i) ((CODE4_SORTED((i)-1) + CODE4_SORTED(i)) / 2.0f)
inline float16 code4_midpoints(uint format)
{
    return (float16)(-INFINITY, CODE4_MID(1), CODE4_MID(2), CODE4_MID(3), CODE4_MID(4), CODE4_MID(5),
                     CODE4_MID(6), CODE4_MID(7), CODE4_MID(8), CODE4_MID(9), CODE4_MID(10), CODE4_MID(11),
                     CODE4_MID(12), CODE4_MID(13), CODE4_MID(14), CODE4_MID(15));
}
#undef CODE4_MID
#undef CODE4_SORTED

#if defined(__AVX512F__)
/* On AVX-512 the rank is looked up rather than searched for. s falls in one
 * of 32 bins of [-1, 1]; for each bin the table holds how many midpoints lie
 * in lower bins (all of them below s: the bin is a monotonic function of s,
 * and the midpoints are put in bins by that same function) and the next two
 * midpoints, the only ones s still has to be compared with. Two are enough:
 * NF4's midpoints are at least 0.08 apart, wider than a bin (1/15.9), so its
 * bins hold one at most; FP4's hold two at most (its midpoints -0.0026, 0
 * and +0.0026 fall in bins 15, 16 and 16). test_quantize's code_midpoints
 * checks both codes at every midpoint and its neighbours. Each table is a
 * pair of 16-lane vectors (bins 0..15, 16..31), indexed by vpermi2d/ps. */
typedef struct code4_table {
    int16 start_lo, start_hi;
    float16 next_lo, next_hi;   /* midpoint start + 1 of each bin (+inf past the last) */
    float16 after_lo, after_hi; /* midpoint start + 2 */
} code4_table;

/* The bin of s: trunc(15.9·s + 16) in one fma. 0 lies on the edge of bins 15
 * and 16, and an s within 0.6 % of ±1 (x·(1/absmax) may pass ±1 by an ulp
 * or two) still lands in bin 0 or 31. */
#define CODE4_BIN_SCALE 15.9f
inline int code4_bin(float s)
{
    return (int)fma(s, CODE4_BIN_SCALE, 16.0f);
}

inline int16 code4_bin16(float16 s)
{
    return convert_int16(fma(s, (float16)(CODE4_BIN_SCALE), (float16)(16.0f)));
}

QUANT_INLINE void code4_table_of(float16 mid, code4_table *t)
{
    int16 lo = (int16)(0), hi = (int16)(0);
    int16 bins_lo = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), bins_hi = bins_lo + 16;
#define COUNT_BELOW_BIN(lane)                                                                                \
    lo += select((int16)(0), (int16)(1), (int16)(code4_bin(mid.lane)) < bins_lo);                            \
    hi += select((int16)(0), (int16)(1), (int16)(code4_bin(mid.lane)) < bins_hi)
    COUNT_BELOW_BIN(s1), COUNT_BELOW_BIN(s2), COUNT_BELOW_BIN(s3), COUNT_BELOW_BIN(s4), COUNT_BELOW_BIN(s5);
    COUNT_BELOW_BIN(s6), COUNT_BELOW_BIN(s7), COUNT_BELOW_BIN(s8), COUNT_BELOW_BIN(s9), COUNT_BELOW_BIN(sA);
    COUNT_BELOW_BIN(sB), COUNT_BELOW_BIN(sC), COUNT_BELOW_BIN(sD), COUNT_BELOW_BIN(sE), COUNT_BELOW_BIN(sF);
#undef COUNT_BELOW_BIN
    float16 above = (float16)(INFINITY); /* midpoints 16, 17: none */
    t->start_lo = lo;
    t->start_hi = hi;
    t->next_lo = __builtin_ia32_vpermi2varps512(mid, lo + 1, above);
    t->next_hi = __builtin_ia32_vpermi2varps512(mid, hi + 1, above);
    t->after_lo = __builtin_ia32_vpermi2varps512(mid, lo + 2, above);
    t->after_hi = __builtin_ia32_vpermi2varps512(mid, hi + 2, above);
}
#else
typedef struct code4_table {
    float16 mid; /* counted against one by one */
} code4_table;

QUANT_INLINE void code4_table_of(float16 mid, code4_table *t)
{
    t->mid = mid;
}
#endif

/* The midpoint rule of sorted_code_rank for 16 values at once: the rank is
 * the number of midpoints strictly below s. Same midpoints, same
 * comparisons, so the same codes, whichever of the two ways counts them. */
QUANT_INLINE uint16 code4_index16(uint format, float16 s, const code4_table *t)
{
#if defined(__AVX512F__)
    int16 bin = code4_bin16(s);
    int16 rank = __builtin_ia32_vpermi2vard512(t->start_lo, bin, t->start_hi);
    rank = select(rank, rank + 1, s > __builtin_ia32_vpermi2varps512(t->next_lo, bin, t->next_hi));
    if (format == CLQ_FMT_NF4)
        return as_uint16(rank);
    rank = select(rank, rank + 1, s > __builtin_ia32_vpermi2varps512(t->after_lo, bin, t->after_hi));
    /* fp4_order[rank] */
    return as_uint16(__builtin_ia32_permvarsi512((int16)(CLQ_FP4_SORTED_INDICES), rank));
#else
    float16 mid = t->mid;
    int16 rank = (int16)(0);
    /* select, not arithmetic on the comparison: oclgrind 21.10 computes
     * (s > m) & 1 as 255 where PoCL (and the spec) give 1. */
#define COUNT_BELOW(lane) rank += select((int16)(0), (int16)(1), s > (float16)(mid.lane))
    COUNT_BELOW(s1), COUNT_BELOW(s2), COUNT_BELOW(s3), COUNT_BELOW(s4), COUNT_BELOW(s5);
    COUNT_BELOW(s6), COUNT_BELOW(s7), COUNT_BELOW(s8), COUNT_BELOW(s9), COUNT_BELOW(sA);
    COUNT_BELOW(sB), COUNT_BELOW(sC), COUNT_BELOW(sD), COUNT_BELOW(sE), COUNT_BELOW(sF);
#undef COUNT_BELOW
    if (format == CLQ_FMT_NF4)
        return as_uint16(rank);
    return shuffle((uint16)(CLQ_FP4_SORTED_INDICES), as_uint16(rank)); /* fp4_order[rank] */
#endif
}

/* bitsandbytes quantize_4bit: x·(1/absmax) clamped to [-1, 1], then the code
 * interval by midpoints. The clamp changes no comparison while 1/absmax is
 * finite (|x·(1/absmax)| is then within an ulp or two of 1, and every
 * midpoint within ±0.87), and code4_bin16 needs none, so it is left out
 * there. A subnormal absmax makes 1/absmax inf, x·inf ±inf (clamped to ±1)
 * or NaN (0·inf: no midpoint lies below it). An all-zero block uses 0
 * instead of 1/0, so it maps to the code for 0. */
QUANT_INLINE void quantize_code4(global const void *src, uint src_half, ulong base, uint block,
                                 block_stats st, uint format, const code4_table *t, QUANT_DEST,
                                 global float *absmax_out)
{
    float inv = st.amax != 0.0f ? 1.0f / st.amax : 0.0f;
    *absmax_out = st.amax;
    if (isinf(inv)) {
        for (uint j = 0; j < block; j += 16) {
            float16 s = load_x16(src, src_half, base + j) * inv;
            s = select(clamp(s, -1.0f, 1.0f), s, isnan(s));
            store_codes4(code4_index16(format, s, t), QUANT_AT, j);
        }
        return;
    }
    for (uint j = 0; j < block; j += 16)
        store_codes4(code4_index16(format, load_x16(src, src_half, base + j) * inv, t), QUANT_AT, j);
}

/* bitsandbytes quantize_blockwise with the dynamic code (256 entries: a
 * bisection per element). */
QUANT_INLINE void quantize_dynamic8(global const void *src, uint src_half, ulong base, uint block,
                                    block_stats st, QUANT_DEST, global float *absmax_out)
{
    float inv = st.amax != 0.0f ? 1.0f / st.amax : 0.0f;
    *absmax_out = st.amax;
    for (uint j = 0; j < block; j++)
        quants[tile_byte(row, k0 + j, cols, 8)] =
            (uchar)code_index(CLQ_FMT_DYNAMIC8, clamp(load_x(src, src_half, base + j) * inv, -1.0f, 1.0f));
}

/* Whether a finite block's scale would not be finite: an fp16 d rounds to
 * Inf from 65520 up (round to nearest even); Q4Z's s is checked times 15,
 * the largest |q-z| it is dequantized with, so that every value clq gives
 * back is finite. NF4, FP4 and the dynamic code store the absmax itself. */
inline int scale_overflows(uint format, block_stats st)
{
    switch (format) {
    case CLQ_FMT_Q8:
        return !(st.amax / 127.0f < 65520.0f);
    case CLQ_FMT_Q4:
        return !(fabs(st.m / -8.0f) < 65520.0f);
    case CLQ_FMT_Q4Z:
        return !isfinite((fmax(st.hi, 0.0f) - fmin(st.lo, 0.0f)) / 15.0f * 15.0f);
    default:
        return 0;
    }
}

/* Block g (row `row`, elements k0 .. k0+block-1) of an N×K matrix, in a
 * format the caller fixes at compile time. Returns 0 when the block holds
 * NaN or Inf, -1 when its scale would overflow (scale_overflows), and
 * writes nothing then. */
QUANT_INLINE int quantize_block(uint format, global const void *src, uint src_half, uint block, uint g,
                                QUANT_DEST, global void *scales, global uchar *zeros, const code4_table *t)
{
    ulong base = (ulong)row * cols + k0;
    block_stats st;
    stats_of(src, src_half, base, block, format == CLQ_FMT_Q4, &st);
    if (!st.finite)
        return 0;
    if (scale_overflows(format, st))
        return -1;
    global half *d16 = (global half *)scales;
    global float *s32 = (global float *)scales + g;
    switch (format) {
    case CLQ_FMT_Q8:
        quantize_q8(src, src_half, base, block, st, QUANT_AT, d16, g);
        break;
    case CLQ_FMT_Q4:
        quantize_q4(src, src_half, base, block, st, QUANT_AT, d16, g);
        break;
    case CLQ_FMT_Q4Z:
        quantize_q4z(src, src_half, base, block, st, QUANT_AT, s32, zeros + g);
        break;
    case CLQ_FMT_NF4:
    case CLQ_FMT_FP4:
        quantize_code4(src, src_half, base, block, st, format, t, QUANT_AT, s32);
        break;
    case CLQ_FMT_DYNAMIC8:
        quantize_dynamic8(src, src_half, base, block, st, QUANT_AT, s32);
        break;
    }
    return 1;
}

/* Blocks b .. b+span-1 of one row of a `rows`×`cols` matrix per work-item
 * (the last span of a row may be shorter). Several blocks per work-item
 * because a work-item's own cost (its index arithmetic, PoCL's loop over
 * work-items) is as large as a small block's work: one block each ran at
 * half the speed on a CPU. The loop is written once per format so that
 * each copy is compiled for its format. The lowest block holding NaN or
 * Inf is recorded in first_bad[0], the lowest whose scale would overflow in
 * first_bad[1]; neither is written. For double quantization the host passes
 * a temporary fp32 buffer as `scales`. */
kernel void clq_quantize_blocks(global const void *src, uint src_half, uint format, uint block, uint rows,
                                uint cols, uint span, global uchar *quants, global void *scales,
                                global uchar *zeros, volatile global uint *first_bad)
{
    uint i = get_global_id(0);
    uint row_blocks = cols / block, spans = (row_blocks + span - 1) / span;
    uint row = i / spans;
    if (row >= rows)
        return;
    uint b0 = (i - row * spans) * span, b1 = min(b0 + span, row_blocks);
    uint g0 = row * row_blocks;
    code4_table codes;
    code4_table_of(code4_midpoints(format), &codes);
#define QUANTIZE_SPAN(fmt)                                                                                   \
    for (uint b = b0; b < b1; b++) {                                                                         \
        int done = quantize_block(fmt, src, src_half, block, g0 + b, quants, row, b * block, cols, scales,   \
                                  zeros, &codes);                                                            \
        if (done <= 0)                                                                                       \
            atomic_min(first_bad + (done < 0), g0 + b);                                                      \
    }
    FOR_FORMAT(format, QUANTIZE_SPAN);
#undef QUANTIZE_SPAN
}

/* ---- double quantization of the absmax vector ------------------------------ */

/* Error-free float addition (Knuth's TwoSum): hi + lo represents a + b exactly. */
inline float2 two_sum(float a, float b)
{
    float s = a + b;
    float bb = s - a;
    return (float2)(s, (a - (s - bb)) + (b - bb));
}

/* (hi, lo) + (hi, lo) in double-float arithmetic, about 48 bits of precision. */
inline float2 df_add(float2 x, float2 y)
{
    float2 s = two_sum(x.x, y.x);
    float lo = s.y + x.y + y.y;
    return two_sum(s.x, lo);
}

/* The sum of the n values a[i]·scale in double-float, in every work-item.
 * Each work-item sums its own contiguous run of whole float8 vectors, lane by
 * lane: TwoSum adds a vector to the running sums and its rounding errors,
 * which are exact, are collected in a second vector (Ogita, Rump and Oishi's
 * Sum2: as accurate as double-float, at a third of its operations, and with
 * eight independent chains instead of one; the values are absmaxes, never
 * negative, so nothing cancels). The lanes, the values past the last whole
 * vector and the work-items are then added in double-float. */
inline float2 absmax_sum(global const float *a, uint n, float scale, local float2 *partial)
{
    uint lid = get_local_id(0);
    uint vectors = n / 8, per_item = (vectors + CLQ_REDUCE_WG - 1) / CLQ_REDUCE_WG;
    uint v0 = min(lid * per_item, vectors), v1 = min(v0 + per_item, vectors);
    float8 hi = (float8)(0.0f), lo = (float8)(0.0f);
    for (uint v = v0; v < v1; v++) {
        float8 x = vload8(v, a) * scale;
        float8 s = hi + x, bb = s - hi;
        lo += (hi - (s - bb)) + (x - bb);
        hi = s;
    }
    float2 acc = (float2)(0.0f, 0.0f);
#define ADD_LANE(l) acc = df_add(acc, (float2)(hi.l, lo.l))
    ADD_LANE(s0), ADD_LANE(s1), ADD_LANE(s2), ADD_LANE(s3), ADD_LANE(s4), ADD_LANE(s5), ADD_LANE(s6);
    ADD_LANE(s7);
#undef ADD_LANE
    for (uint i = vectors * 8 + lid; i < n; i += CLQ_REDUCE_WG)
        acc = df_add(acc, (float2)(a[i] * scale, 0.0f));
    partial[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = CLQ_REDUCE_WG / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            partial[lid] = df_add(partial[lid], partial[lid + stride]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float2 sum = partial[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* read by all before partial is reused */
    return sum;
}

/* The mean of n fp32 values, rounded to fp32 as if summed exactly: the
 * offset bitsandbytes subtracts before quantizing the absmax vector.
 * Double-float sums need no cl_khr_fp64; the order is fixed, so every device
 * gives the same bits. One work-group of CLQ_REDUCE_WG work-items.
 * A sum beyond fp32 (absmaxes near FLT_MAX; torch reduces fp32 in double)
 * is taken again over the values times 2^-32, exact for all but subnormal
 * results, which are far below the sum's last bit; the mean of values that
 * are all at most FLT_MAX is then at most FLT_MAX again. */
kernel __attribute__((reqd_work_group_size(CLQ_REDUCE_WG, 1, 1))) void
clq_absmax_mean(global const float *a, uint n, global float *mean)
{
    local float2 partial[CLQ_REDUCE_WG];
    float2 sum = absmax_sum(a, n, 1.0f, partial);
    float unscale = 1.0f;
    if (!isfinite(sum.x)) { /* the same in every work-item */
        sum = absmax_sum(a, n, 0x1p-32f, partial);
        unscale = 0x1p32f;
    }
    if (get_local_id(0) == 0) {
        /* sum/n with one correction step: q + (sum - q·n)/n. */
        float fn = (float)n;
        float q = sum.x / fn;
        float r = fma(-q, fn, sum.x) + sum.y;
        mean[0] = (q + r / fn) * unscale;
    }
}

/* bitsandbytes quantize_blockwise(absmax - offset, blocksize=256): one
 * work-item per group of 256 consecutive absmax values (the last group may be
 * shorter). The dynamic code's 255 midpoints are computed once per
 * work-group, into local memory; a work-item then codes 16 values at a time
 * by an 8-step bisection without branches: the rank grows by 128, 64, ..., 1
 * wherever the midpoint below the new rank is still below s. The same
 * midpoints and comparisons as sorted_code_rank, so the same codes, where a
 * branching search per value ran at a mispredicted branch per step. */
kernel void clq_absmax_quantize(global const float *a, uint n, global const float *mean, global uchar *qa,
                                global float *nested_absmax, volatile global uint *first_bad)
{
    local float mids[255];
    for (uint i = get_local_id(0); i < 255; i += get_local_size(0))
        mids[i] = (dynamic_code[i] + dynamic_code[i + 1]) / 2.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    uint group = get_global_id(0);
    uint first = group * CLQ_NESTED_BLOCK;
    if (first >= n)
        return;
    uint last = min(first + CLQ_NESTED_BLOCK, n);
    float offset = mean[0], amax = 0.0f, top = -1.0f;
    uint top_at = first;
    for (uint i = first; i < last; i++) {
        amax = fmax(amax, fabs(a[i] - offset));
        if (a[i] > top) {
            top = a[i];
            top_at = i;
        }
    }
    float inv = amax != 0.0f ? 1.0f / amax : 0.0f;
    /* A block's absmax comes back as code·amax + offset, largest for the
     * largest absmax (codes are ordered), and offset >= 0 bounds it below.
     * Near FLT_MAX the code's rounding can carry it past fp32: that block
     * is recorded in first_bad[2] and the group is not written. */
    float top_code = dynamic_code[code_index(CLQ_FMT_DYNAMIC8, clamp((top - offset) * inv, -1.0f, 1.0f))];
    if (!isfinite(top_code * amax + offset)) {
        atomic_min(first_bad + 2, top_at);
        return;
    }
    nested_absmax[group] = amax;
    uint i = first;
    for (; i + 16 <= last; i += 16) {
        float16 s = clamp((vload16(0, a + i) - offset) * inv, -1.0f, 1.0f);
        int16 rank = (int16)(0);
        for (int step = 128; step > 0; step /= 2) {
            int16 next = rank + step;
            rank = select(rank, next, s > GATHER16(mids, next - 1));
        }
        vstore16(convert_uchar16(rank), 0, qa + i);
    }
    for (; i < last; i++)
        qa[i] = (uchar)code_index(CLQ_FMT_DYNAMIC8, clamp((a[i] - offset) * inv, -1.0f, 1.0f));
}

/* ---- dequantization ------------------------------------------------------------ */

/* Elements k .. k+15 of row `row` (k a multiple of 16, so one block and two
 * 4-bit or four 8-bit device words): the codes, one lane each, in the low
 * bits of each lane (CLQ_UNSCALED ignores the bits above them). */
QUANT_INLINE uint16 codes16(uint bits, global const uint *words, uint row, uint k, uint cols)
{
    if (bits == 4) {
        uint lo = words[tile_word(row, k, cols, 4)], hi = words[tile_word(row, k + 8, cols, 4)];
        uint16 w = (uint16)((uint8)(lo), (uint8)(hi));
        return w >> (uint16)(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    }
    uint4 w4 = (uint4)(words[tile_word(row, k, cols, 8)], words[tile_word(row, k + 4, cols, 8)],
                       words[tile_word(row, k + 8, cols, 8)], words[tile_word(row, k + 12, cols, 8)]);
    uint16 w = (uint16)((uint4)(w4.s0), (uint4)(w4.s1), (uint4)(w4.s2), (uint4)(w4.s3));
    return w >> (uint16)(0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24);
}

/* The weight as an N×K row-major fp32 or fp16 matrix: each work-item
 * writes `span` elements (a multiple of 16; the last span of a row may be
 * shorter) of one row, 16 at a time, as clq_quantize_blocks splits rows (a
 * CPU: 1024, a GPU: 16). One scale and zero point per 16 elements (they lie
 * in one block); the format is fixed per copy of the loop, as in
 * clq_quantize_blocks. */
kernel void clq_dequantize_spans(uint format, uint block, uint rows, uint cols, uint span, uint dq,
                                 global const uchar *quants, global const void *scales,
                                 global const uchar *zeros, global const float *nested,
                                 global const float *code, global const float *offset, global void *dst,
                                 uint dst_half)
{
    uint i = get_global_id(0);
    uint spans = (cols + span - 1) / span, row = i / spans;
    if (row >= rows)
        return;
    uint k0 = (i - row * spans) * span, k1 = min(k0 + span, cols);
    global const uint *words = (global const uint *)quants;
#define DEQUANTIZE_SPAN(fmt)                                                                                 \
    for (uint k = k0; k < k1; k += 16) {                                                                     \
        uint g = row * (cols / block) + k / block;                                                           \
        float s = block_scale(fmt, dq, scales, g, nested, code, offset);                                     \
        uint z = fmt == CLQ_FMT_Q4Z ? zeros[g] : 0u;                                                         \
        uint bits = fmt == CLQ_FMT_Q8 || fmt == CLQ_FMT_DYNAMIC8 ? 8 : 4;                                    \
        float16 v = CLQ_UNSCALED(fmt, 16, codes16(bits, words, row, k, cols), (float)z, code) * s;           \
        ulong e = (ulong)row * cols + k;                                                                     \
        if (dst_half)                                                                                        \
            vstore_half16_rte(v, 0, (global half *)dst + e);                                                 \
        else                                                                                                 \
            vstore16(v, 0, (global float *)dst + e);                                                         \
    }
    FOR_FORMAT(format, DEQUANTIZE_SPAN);
#undef DEQUANTIZE_SPAN
}

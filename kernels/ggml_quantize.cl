/*
 * Quantization into ggml's block types on the device, bit for bit as ggml's
 * reference quantizers (ggml_quantize_chunk without an importance matrix,
 * and tests/ref/ggml_ref.c): q4_1, q5_0, q5_1 and iq4_nl, blocks of 32.
 * ggml_blocks.cl and dequant.cl are prepended; the blocks are written in
 * ggml block tiles (clq_common.h).
 *
 * Every step is ggml's float operation in ggml's order, each rounded:
 * contraction is off (x·(1/d) + 0.5 must round twice, as in C), 1/d and
 * the divisions are correctly rounded (the host builds with
 * -cl-fp32-correctly-rounded-divide-sqrt where the device has it, as for
 * quantize.cl), and the fp16 scales are rounded to nearest even
 * (vstore_half_rte, ggml's GGML_FP32_TO_FP16). Do not turn any of these
 * into fma, native_recip or a reordered sum: it changes bits.
 */
#pragma OPENCL FP_CONTRACT OFF

/* ggml's threshold under which a group's largest magnitude counts as zero. */
#define GROUP_EPS 1e-15f

inline ushort fp16_bits(float f)
{
    ushort h;
    vstore_half_rte(f, 0, (private half *)&h);
    return h;
}

inline void put16(global uchar *b, uint at, ushort v)
{
    b[at] = (uchar)(v & 0xff);
    b[at + 1] = (uchar)(v >> 8);
}

/* 32 levels as ggml packs them: byte j of qs holds levels j (low nibble) and
 * j+16 (high); for 5-bit levels bit 4 of level j is bit j of qh (LE). */
inline void pack32(const uchar *l, global uchar *qs, global uchar *qh)
{
    uint h = 0;
    for (uint j = 0; j < 16; j++)
        qs[j] = (uchar)((l[j] & 15u) | (l[j + 16] & 15u) << 4);
    for (uint j = 0; j < 32; j++)
        h |= (uint)(l[j] >> 4 & 1u) << j;
    if (qh)
        for (uint k = 0; k < 4; k++)
            qh[k] = (uchar)(h >> 8 * k);
}

/* The first element of largest magnitude, with its sign (a later one of
 * equal magnitude does not replace it); *amax its magnitude. */
inline float signed_absmax(const float *x, float *amax)
{
    float best = 0.0f, mag = 0.0f;
    for (uint i = 0; i < 32; i++)
        if (fabs(x[i]) > mag) {
            mag = fabs(x[i]);
            best = x[i];
        }
    *amax = mag;
    return best;
}

/* q4_1, q5_1: d = (max − min)/nmax from the block's min and max; levels
 * trunc((x − min)·(1/d) + 0.5) with 1/d of the unrounded d (0 when d is
 * 0), q4_1's clamped to 15; d and min stored as fp16 after. */
inline void quantize_min_max(const uint nmax, const float *x, global uchar *b)
{
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (uint j = 0; j < 32; j++) {
        if (x[j] < lo)
            lo = x[j];
        if (x[j] > hi)
            hi = x[j];
    }
    float d = (hi - lo) / (float)nmax;
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    uchar l[32];
    for (uint j = 0; j < 32; j++) {
        int q = (int)((x[j] - lo) * inv + 0.5f);     /* truncation, as ggml's cast */
        l[j] = (uchar)(nmax == 15 ? min(q, 15) : q); /* q5_1: ggml has no clamp; (x−min)/d + 0.5 < 32 */
    }
    put16(b, 0, fp16_bits(d));
    put16(b, 2, fp16_bits(lo));
    pack32(l, b + (nmax == 15 ? 4 : 8), nmax == 15 ? (global uchar *)0 : b + 4);
}

/* q5_0: as q4_0 with 16 levels a side: d = m/−16 (m the first element of
 * largest magnitude), levels min(31, trunc(x·(1/d) + 16.5)). */
inline void quantize_q5_0(const float *x, global uchar *b)
{
    float amax;
    float d = signed_absmax(x, &amax) / -16.0f;
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    uchar l[32];
    for (uint j = 0; j < 32; j++)
        l[j] = (uchar)min((int)(x[j] * inv + 16.5f), 31);
    put16(b, 0, fp16_bits(d));
    pack32(l, b + 6, b + 2);
}

/* The index of the code value nearest to v: strictly nearer goes to the
 * lower neighbour, a tie goes up; the distances are fp32 differences. */
inline uint nearest_code(float v)
{
    if (v <= iq4nl_code[0])
        return 0;
    if (v >= iq4nl_code[15])
        return 15;
    uint hi = 1;
    while (!(v < iq4nl_code[hi]))
        hi++;
    return v - iq4nl_code[hi - 1] < iq4nl_code[hi] - v ? hi - 1 : hi;
}

/* Σw·c·x and Σw·c² (w = x²) over the group for the codes chosen with
 * 1/d = inv, summed in element order, each product rounded as ggml's. */
inline float2 iq4_sums(const float *x, float inv)
{
    float a = 0.0f, s = 0.0f;
    for (uint j = 0; j < 32; j++) {
        float c = iq4nl_code[nearest_code(inv * x[j])], w = x[j] * x[j];
        a += w * c * x[j];
        s += w * c * c;
    }
    return (float2)(a, s);
}

/* iq4_nl as ggml_quantize_chunk makes it (without an importance matrix):
 * d = −m/−127, then the least-squares d of the codes it picks, then
 * 1/d = (t − 127)/m for t = −7..7 in that order, a try replacing the best
 * only when (Σwcx)²/Σwc² is strictly larger; the codes come from the final
 * fp32 d (1/d = 0 for a (near-)zero group: every element takes code 8). */
inline void quantize_iq4_nl(const float *x, global uchar *b)
{
    float amax, d = 0.0f;
    float m = signed_absmax(x, &amax);
    if (amax >= GROUP_EPS) {
        d = -m / iq4nl_code[0];
        float2 s = iq4_sums(x, 1.0f / d);
        d = s.y > 0.0f ? s.x / s.y : 0.0f;
        float best = d * s.x;
        for (int t = -7; t <= 7; t++) {
            float inv = (float)(t + (int)iq4nl_code[0]) / m;
            s = iq4_sums(x, inv);
            if (s.y > 0.0f && s.x * s.x > best * s.y) {
                d = s.x / s.y;
                best = d * s.x;
            }
        }
    }
    put16(b, 0, fp16_bits(d));
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    uchar l[32];
    for (uint j = 0; j < 32; j++)
        l[j] = (uchar)nearest_code(inv * x[j]);
    pack32(l, b + 2, (global uchar *)0);
}

/* One work-item per block of 32 (row `row`, elements k0 .. k0+31) of an
 * N×K fp32 or fp16 matrix. A block holding NaN or Inf is not written and
 * records the lowest such block in *first_bad. */
kernel void clq_quantize_ggml(global const void *src, uint src_half, uint format, uint rows, uint cols,
                              global uchar *quants, volatile global uint *first_bad)
{
    uint g = get_global_id(0), nb = cols / 32;
    uint row = g / nb, k0 = g % nb * 32;
    if (row >= rows)
        return;
    float x[32];
    int finite = 1;
    for (uint j = 0; j < 32; j++) {
        x[j] = load_x(src, src_half, (ulong)row * cols + k0 + j);
        finite &= isfinite(x[j]);
    }
    if (!finite) {
        atomic_min(first_bad, g);
        return;
    }
    ulong t = ((ulong)(row / CLQ_TILE_ROWS) * nb + g % nb) * CLQ_TILE_ROWS + row % CLQ_TILE_ROWS;
    switch (format) {
    case CLQ_FMT_Q4_1:
        quantize_min_max(15, x, quants + t * CLQ_GGML_Q4_1_BYTES);
        break;
    case CLQ_FMT_Q5_1:
        quantize_min_max(31, x, quants + t * CLQ_GGML_Q5_1_BYTES);
        break;
    case CLQ_FMT_Q5_0:
        quantize_q5_0(x, quants + t * CLQ_GGML_Q5_0_BYTES);
        break;
    case CLQ_FMT_IQ4_NL:
        quantize_iq4_nl(x, quants + t * CLQ_GGML_IQ4_NL_BYTES);
        break;
    }
}

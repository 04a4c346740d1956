/*
 * ggml's block types in plain C (see ggml_ref.h). Built with
 * -ffp-contract=off: each float operation below is rounded on its own, as in
 * ggml's scalar code, and the operations come in ggml's order, because the
 * bytes a quantizer picks depend on every rounding of its scale search. Where
 * an expression reads a·b·c it means (a·b)·c, as C evaluates it.
 */
#include "ggml_ref.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "clq_common.h"
#include "clq_ref.h"
#include "fp16.h" /* round to nearest even, as ggml's GGML_FP32_TO_FP16 */

/* ------------------------------------------------------------------------ */
/* Shared pieces                                                             */
/* ------------------------------------------------------------------------ */

/* The threshold under which ggml treats a group's largest magnitude (or
 * largest scale) as zero: 1e-15 in fp32. */
#define GROUP_EPS 1e-15f

static const int8_t iq4nl_code[16] = {CLQ_IQ4NL_CODE_VALUES};

/* Round to nearest, ties to even. ggml gets this by adding 1.5·2^23 and
 * reading the mantissa, which is the same for the |v| < 2^22 it is used on;
 * rintf in the default rounding mode is that rounding. */
static int round_even(float v)
{
    return (int)rintf(v);
}

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The first element of largest magnitude, with its sign (a later element of
 * equal magnitude does not replace it); *amax gets its magnitude. */
static float signed_absmax(const float *x, int n, float *amax)
{
    float best = 0.0f, mag = 0.0f;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > mag) {
            mag = fabsf(x[i]);
            best = x[i];
        }
    *amax = mag;
    return best;
}

/* Index of the code value nearest to v in the ascending 16-entry code. v
 * between two neighbours goes to the lower one only when strictly nearer
 * (a tie goes up), and the distances are fp32 differences, as ggml compares
 * them. */
static int nearest_code(float v)
{
    if (v <= iq4nl_code[0])
        return 0;
    if (v >= iq4nl_code[15])
        return 15;
    int hi = 1;
    while (!(v < iq4nl_code[hi]))
        hi++;
    return v - iq4nl_code[hi - 1] < iq4nl_code[hi] - v ? hi - 1 : hi;
}

/* A nibble pair of a 32-element run: byte j holds element j (low nibble)
 * and element j+16 (high). */
static void pack_nibbles32(const uint8_t *l, uint8_t *qs)
{
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(l[j] | l[j + 16] << 4);
}

/* K-quants' 2-bit packing of 256 values (q2_k, q3_k's low bits): byte
 * 32h+i holds elements 128h+i+32s in bits 2s, s = 0..3. */
static void pack_2bit(const uint8_t *l, uint8_t *qs)
{
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 32; i++) {
            const uint8_t *e = l + 128 * h + i;
            qs[32 * h + i] = (uint8_t)(e[0] | e[32] << 2 | e[64] << 4 | e[96] << 6);
        }
}

/* The 6-bit scale and min of sub-block j of q4_k / q5_k (clq_common.h). */
static void kscale_get(const uint8_t *s, int j, uint8_t *sc, uint8_t *mn)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 15) | (s[j - 4] >> 6) << 4);
        *mn = (uint8_t)((s[j + 4] >> 4) | (s[j] >> 6) << 4);
    }
}

static void kscale_put(uint8_t *s, int j, uint8_t sc, uint8_t mn)
{
    if (j < 4) {
        s[j] = sc;
        s[j + 4] = mn;
    } else {
        s[j + 4] = (uint8_t)((sc & 15) | (mn & 15) << 4);
        s[j - 4] |= (uint8_t)((sc >> 4) << 6);
        s[j] |= (uint8_t)((mn >> 4) << 6);
    }
}

/* The 6-bit scale of q3_k's sub-block j as stored, 0..63; the scale is it − 32
 * (clq_common.h). */
static int q3k_scale_get(const uint8_t *s, int j)
{
    int low = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
    return low | ((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4;
}

/* ------------------------------------------------------------------------ */
/* Scale searches (the K-quants' sub-block fits)                            */
/* ------------------------------------------------------------------------ */

/*
 * Fits x ≈ scale·l + min (l in 0..nmax, min <= 0) to n values with weights
 * w, as ggml's K-quant reference quantizers do (q2_k, q4_k, q5_k): start from
 * the scale that maps [min(x, 0), max x] onto 0..nmax, then try nstep+1
 * further scales (nmax + rmin + rdelta·is) / (max − min), is = 0..nstep,
 * each followed by the weighted least-squares scale and min of its levels;
 * a candidate replaces the best only with a strictly smaller error (absolute
 * when mad, else squared), and its min (a least-squares min, may be above
 * min(x, 0)) is the offset of the candidates after it. Returns the scale;
 * *neg_min gets −min; l gets the levels. n <= 32.
 */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *l, float *neg_min,
                           float rmin, float rdelta, int nstep, int mad)
{
    /* Range and the weighted sums, accumulated from element 0 on. */
    float lo = x[0], hi = x[0];
    float sw = w[0];
    float swx = sw * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
        sw += w[i];
        swx += w[i] * x[i];
    }
    if (lo > 0)
        lo = 0;
    if (hi == lo) { /* constant (or all-zero) group */
        memset(l, 0, (size_t)n);
        *neg_min = -lo;
        return 0.0f;
    }
    float inv = nmax / (hi - lo);
    float scale = 1 / inv, min = lo;
    float best_err = 0;
    for (int i = 0; i < n; i++) {
        l[i] = (uint8_t)clamp_int(round_even(inv * (x[i] - lo)), 0, nmax);
        float diff = scale * l[i] + min - x[i];
        diff = mad ? fabsf(diff) : diff * diff;
        best_err += w[i] * diff;
    }
    uint8_t trial[32];
    for (int is = 0; is <= nstep; is++) {
        /* Offset and range are the best fit's so far, not the data's: once
         * a candidate wins, ggml's later candidates start from its min. */
        inv = (rmin + rdelta * is + nmax) / (hi - min);
        float sl = 0, sl2 = 0, sxl = 0;
        for (int i = 0; i < n; i++) {
            int q = clamp_int(round_even(inv * (x[i] - min)), 0, nmax);
            trial[i] = (uint8_t)q;
            sl += w[i] * q;
            sl2 += w[i] * q * q;
            sxl += w[i] * q * x[i];
        }
        float det = sw * sl2 - sl * sl;
        if (!(det > 0))
            continue;
        float s = (sw * sxl - swx * sl) / det;
        float m = (sl2 * swx - sl * sxl) / det;
        if (m > 0) { /* the min may not be positive: refit the scale alone */
            m = 0;
            s = sxl / sl2;
        }
        float err = 0;
        for (int i = 0; i < n; i++) {
            float diff = s * trial[i] + m - x[i];
            diff = mad ? fabsf(diff) : diff * diff;
            err += w[i] * diff;
        }
        if (err < best_err) {
            memcpy(l, trial, (size_t)n);
            best_err = err;
            scale = s;
            min = m;
        }
    }
    *neg_min = -min;
    return scale;
}

/*
 * Fits x ≈ scale·l, l in −nmax..nmax−1, with weights x² (q6_k): the scale
 * that sends the first element of largest magnitude to −nmax, then the
 * least-squares scale of those levels, then 18 more starting scales
 * (nmax + 0.1·is) for is = −9..−1, 1..9 in that order, a later one replacing
 * the best only if strictly better (Σwxl)²/Σwl² > best. Levels are stored
 * offset by nmax. An all-(near-)zero group gives levels 0 (not nmax) and
 * scale 0.
 */
static float fit_scale_sym(int n, int nmax, const float *x, uint8_t *l)
{
    float amax;
    const float max = signed_absmax(x, n, &amax);
    if (amax < GROUP_EPS) {
        memset(l, 0, (size_t)n);
        return 0.0f;
    }
    float inv = -nmax / max;
    float sxl = 0, sl2 = 0;
    for (int i = 0; i < n; i++) {
        int q = clamp_int(round_even(inv * x[i]), -nmax, nmax - 1);
        l[i] = (uint8_t)(q + nmax);
        float w = x[i] * x[i];
        sxl += w * x[i] * q;
        sl2 += w * q * q;
    }
    float scale = sl2 ? sxl / sl2 : 0.0f;
    float best = scale * sxl;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        inv = -(nmax + 0.1f * is) / max;
        sxl = sl2 = 0;
        for (int i = 0; i < n; i++) {
            int q = clamp_int(round_even(inv * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sxl += w * x[i] * q;
            sl2 += w * q * q;
        }
        if (sl2 > 0 && sxl * sxl > best * sl2) {
            for (int i = 0; i < n; i++)
                l[i] = (uint8_t)(nmax + clamp_int(round_even(inv * x[i]), -nmax, nmax - 1));
            scale = sxl / sl2;
            best = scale * sxl;
        }
    }
    return scale;
}

/*
 * q3_k's sub-block fit: levels −nmax..nmax−1 from the scale that sends the
 * first element of largest magnitude to −nmax, then up to 5 sweeps that
 * move one level at a time to the value its own least-squares fit asks for,
 * keeping a move when it raises (Σwxl)²/Σwl² (weights x²). Levels are
 * stored offset by nmax (0 for an all-zero group, whose scale is 0). n <= 16.
 */
static float fit_scale_q3(int n, int nmax, const float *x, uint8_t *lout)
{
    float amax;
    const float max = signed_absmax(x, n, &amax);
    if (amax < GROUP_EPS) {
        memset(lout, 0, (size_t)n);
        return 0.0f;
    }
    const float inv = -nmax / max;
    int l[16];
    float sxl = 0, sl2 = 0;
    for (int i = 0; i < n; i++) {
        l[i] = clamp_int(round_even(inv * x[i]), -nmax, nmax - 1);
        float w = x[i] * x[i];
        sxl += w * x[i] * l[i];
        sl2 += w * l[i] * l[i];
    }
    for (int sweep = 0; sweep < 5; sweep++) {
        int moved = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            /* the sums without element i */
            float sxl_i = sxl - w * x[i] * l[i];
            if (!(sxl_i > 0))
                continue;
            float sl2_i = sl2 - w * l[i] * l[i];
            int q = clamp_int(round_even(x[i] * sl2_i / sxl_i), -nmax, nmax - 1);
            if (q == l[i])
                continue;
            sxl_i += w * x[i] * q;
            sl2_i += w * q * q;
            if (sl2_i > 0 && sxl_i * sxl_i * sl2 > sxl * sxl * sl2_i) {
                l[i] = q;
                sxl = sxl_i;
                sl2 = sl2_i;
                moved++;
            }
        }
        if (!moved)
            break;
    }
    for (int i = 0; i < n; i++)
        lout[i] = (uint8_t)(l[i] + nmax);
    return sl2 > 0.0f ? sxl / sl2 : 0.0f;
}

/* ------------------------------------------------------------------------ */
/* Legacy blocks of 32                                                       */
/* ------------------------------------------------------------------------ */

/* Low nibble of element j (j < 16) or j−16 (j >= 16), plus bit 4 from qh. */
static int q5_level(const uint8_t *qs, const uint8_t *qh, int j)
{
    uint32_t h = (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
    int low = j < 16 ? qs[j] & 15 : qs[j - 16] >> 4;
    return low | (int)((h >> j) & 1u) << 4;
}

void ggml_ref_to_float_q4_1(const void *blocks, float *y, size_t n)
{
    const clq_block_q4_1 *b = blocks;
    for (size_t g = 0; g < n / 32; g++, y += 32) {
        const float d = clq_fp16_to_fp32(b[g].d), m = clq_fp16_to_fp32(b[g].m);
        for (int j = 0; j < 32; j++) {
            int q = j < 16 ? b[g].qs[j] & 15 : b[g].qs[j - 16] >> 4;
            y[j] = q * d + m;
        }
    }
}

void ggml_ref_to_float_q5_0(const void *blocks, float *y, size_t n)
{
    const clq_block_q5_0 *b = blocks;
    for (size_t g = 0; g < n / 32; g++, y += 32) {
        const float d = clq_fp16_to_fp32(b[g].d);
        for (int j = 0; j < 32; j++)
            y[j] = (q5_level(b[g].qs, b[g].qh, j) - 16) * d;
    }
}

void ggml_ref_to_float_q5_1(const void *blocks, float *y, size_t n)
{
    const clq_block_q5_1 *b = blocks;
    for (size_t g = 0; g < n / 32; g++, y += 32) {
        const float d = clq_fp16_to_fp32(b[g].d), m = clq_fp16_to_fp32(b[g].m);
        for (int j = 0; j < 32; j++)
            y[j] = q5_level(b[g].qs, b[g].qh, j) * d + m;
    }
}

/* q4_1 / q5_1: min and max of the block, d = (max − min)/nmax; levels
 * trunc((x − min)·(1/d) + 0.5) with the reciprocal of the unrounded d (0 when
 * d is 0); d and min are stored as fp16 after the levels are chosen from
 * their fp32 values. */
static float minmax_scale(const float *x, int nmax, float *min_out)
{
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < 32; j++) {
        if (x[j] < lo)
            lo = x[j];
        if (x[j] > hi)
            hi = x[j];
    }
    *min_out = lo;
    return (hi - lo) / nmax;
}

void ggml_ref_quantize_q4_1(const float *x, void *blocks, size_t n)
{
    clq_block_q4_1 *b = blocks;
    for (size_t g = 0; g < n / 32; g++, x += 32) {
        float min;
        const float d = minmax_scale(x, 15, &min);
        const float inv = d ? 1.0f / d : 0.0f;
        uint8_t l[32];
        for (int j = 0; j < 32; j++) {
            int q = (int)((x[j] - min) * inv + 0.5f); /* truncation, as ggml's (int8_t) cast */
            l[j] = (uint8_t)(q < 15 ? q : 15);
        }
        b[g].d = clq_fp32_to_fp16(d);
        b[g].m = clq_fp32_to_fp16(min);
        pack_nibbles32(l, b[g].qs);
    }
}

/* q5_0/q5_1's 5-bit levels: low nibbles as q4, bit 4 of element j to bit j. */
static void pack_q5(const uint8_t *l, uint8_t *qs, uint8_t *qh)
{
    uint32_t h = 0;
    uint8_t low[32];
    for (int j = 0; j < 32; j++) {
        low[j] = l[j] & 15;
        h |= (uint32_t)(l[j] >> 4 & 1) << j;
    }
    pack_nibbles32(low, qs);
    for (int k = 0; k < 4; k++)
        qh[k] = (uint8_t)(h >> 8 * k);
}

void ggml_ref_quantize_q5_0(const float *x, void *blocks, size_t n)
{
    clq_block_q5_0 *b = blocks;
    for (size_t g = 0; g < n / 32; g++, x += 32) {
        /* As Q4_0 with 16 levels a side: d = m/−16 for m the first element
         * of largest magnitude, levels min(31, trunc(x·(1/d) + 16.5)). */
        float amax;
        const float d = signed_absmax(x, 32, &amax) / -16;
        const float inv = d ? 1.0f / d : 0.0f;
        uint8_t l[32];
        for (int j = 0; j < 32; j++) {
            int q = (int)(x[j] * inv + 16.5f);
            l[j] = (uint8_t)(q < 31 ? q : 31);
        }
        b[g].d = clq_fp32_to_fp16(d);
        pack_q5(l, b[g].qs, b[g].qh);
    }
}

void ggml_ref_quantize_q5_1(const float *x, void *blocks, size_t n)
{
    clq_block_q5_1 *b = blocks;
    for (size_t g = 0; g < n / 32; g++, x += 32) {
        float min;
        const float d = minmax_scale(x, 31, &min);
        const float inv = d ? 1.0f / d : 0.0f;
        uint8_t l[32];
        for (int j = 0; j < 32; j++) /* no clamp in ggml: (x−min)/d + 0.5 stays below 32 */
            l[j] = (uint8_t)(int)((x[j] - min) * inv + 0.5f);
        b[g].d = clq_fp32_to_fp16(d);
        b[g].m = clq_fp32_to_fp16(min);
        pack_q5(l, b[g].qs, b[g].qh);
    }
}

/* ------------------------------------------------------------------------ */
/* IQ4_NL and IQ4_XS                                                         */
/* ------------------------------------------------------------------------ */

void ggml_ref_to_float_iq4_nl(const void *blocks, float *y, size_t n)
{
    const clq_block_iq4_nl *b = blocks;
    for (size_t g = 0; g < n / 32; g++, y += 32) {
        const float d = clq_fp16_to_fp32(b[g].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * iq4nl_code[b[g].qs[j] & 15];
            y[j + 16] = d * iq4nl_code[b[g].qs[j] >> 4];
        }
    }
}

void ggml_ref_to_float_iq4_xs(const void *blocks, float *y, size_t n)
{
    const clq_block_iq4_xs *b = blocks;
    for (size_t g = 0; g < n / 256; g++) {
        const float d = clq_fp16_to_fp32(b[g].d);
        for (int s = 0; s < 8; s++, y += 32) {
            int ls = ((b[g].scales_l[s / 2] >> 4 * (s % 2)) & 15) | ((b[g].scales_h >> 2 * s) & 3) << 4;
            const float dl = d * (ls - 32);
            const uint8_t *qs = b[g].qs + 16 * s;
            for (int j = 0; j < 16; j++) {
                y[j] = dl * iq4nl_code[qs[j] & 15];
                y[j + 16] = dl * iq4nl_code[qs[j] >> 4];
            }
        }
    }
}

/* Σw·c·x and Σw·c² over a group for the code values c chosen with
 * 1/d = inv (weights x²). */
static void iq4_sums(const float *x, float inv, float *sqx, float *sq2)
{
    float a = 0, b = 0;
    for (int j = 0; j < 32; j++) {
        int k = nearest_code(inv * x[j]);
        float c = iq4nl_code[k], w = x[j] * x[j];
        a += w * c * x[j];
        b += w * c * c;
    }
    *sqx = a;
    *sq2 = b;
}

/*
 * The scale of one group of 32 for iq4_nl / iq4_xs, as ggml's quantizer
 * without an importance matrix (weights x²): start with d = −m/−127 (m the
 * first element of largest magnitude, −127 the code's first value), take
 * the least-squares d of the codes it picks, then try 1/d = (t − 127)/m for t = −7..7 in that order,
 * replacing the best when (Σwcx)²/Σwc² is strictly larger. The tries only
 * move the scale; the caller picks the codes from the final one. Returns 0
 * for an all-(near-)zero group.
 */
static float iq4_group_scale(const float *x)
{
    enum { TRIES = 7 };
    float amax;
    const float max = signed_absmax(x, 32, &amax);
    if (amax < GROUP_EPS)
        return 0.0f;
    float d = -max / iq4nl_code[0];
    float sqx, sq2;
    iq4_sums(x, 1 / d, &sqx, &sq2);
    d = sq2 > 0 ? sqx / sq2 : 0.0f;
    float best = d * sqx;
    for (int t = -TRIES; t <= TRIES; t++) {
        float inv = (t + iq4nl_code[0]) / max;
        iq4_sums(x, inv, &sqx, &sq2);
        if (sq2 > 0 && sqx * sqx > best * sq2) {
            d = sqx / sq2;
            best = d * sqx;
        }
    }
    return d;
}

void ggml_ref_quantize_iq4_nl(const float *x, void *blocks, size_t n)
{
    clq_block_iq4_nl *b = blocks;
    for (size_t g = 0; g < n / 32; g++, x += 32) {
        uint8_t l[32];
        const float d = iq4_group_scale(x);
        /* d is stored as fp16, but the codes come from its fp32 value (a
         * zero group: 1/d = 0, so every element takes code 8, value 1). */
        b[g].d = clq_fp32_to_fp16(d);
        const float inv = d ? 1 / d : 0;
        for (int j = 0; j < 32; j++)
            l[j] = (uint8_t)nearest_code(inv * x[j]);
        pack_nibbles32(l, b[g].qs);
    }
}

void ggml_ref_quantize_iq4_xs(const float *x, void *blocks, size_t n)
{
    clq_block_iq4_xs *b = blocks;
    for (size_t g = 0; g < n / 256; g++, x += 256) {
        float scale[8], max_scale = 0, amax_scale = 0;
        uint8_t l[256];
        for (int s = 0; s < 8; s++) {
            scale[s] = iq4_group_scale(x + 32 * s);
            if (fabsf(scale[s]) > amax_scale) { /* first of largest magnitude */
                amax_scale = fabsf(scale[s]);
                max_scale = scale[s];
            }
        }
        /* The super-block scale sends the largest group scale to −32; an
         * all-zero super-block gets d = −0 (fp16 0x8000), as ggml computes
         * it. Each group's 6-bit scale is chosen with the fp32 d, and its
         * codes with the fp32 product d·ls, not the fp16-rounded ones. */
        const float d = -max_scale / 32;
        b[g].d = clq_fp32_to_fp16(d);
        const float inv = d ? 1 / d : 0.0f;
        b[g].scales_h = 0;
        memset(b[g].scales_l, 0, sizeof b[g].scales_l);
        for (int s = 0; s < 8; s++) {
            int ls = clamp_int(round_even(inv * scale[s]), -32, 31);
            const float dl = d * ls;
            const float idl = dl ? 1 / dl : 0.0f;
            for (int j = 0; j < 32; j++)
                l[32 * s + j] = (uint8_t)nearest_code(idl * x[32 * s + j]);
            ls += 32;
            b[g].scales_l[s / 2] |= (uint8_t)((ls & 15) << 4 * (s % 2));
            b[g].scales_h |= (uint16_t)((ls >> 4) << 2 * s);
        }
        for (int s = 0; s < 8; s++)
            pack_nibbles32(l + 32 * s, b[g].qs + 16 * s);
    }
}

/* ------------------------------------------------------------------------ */
/* K-quants: dequantization                                                  */
/* ------------------------------------------------------------------------ */

void ggml_ref_to_float_q2_k(const void *blocks, float *y, size_t n)
{
    const clq_block_q2_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, y += 256) {
        const float d = clq_fp16_to_fp32(b[g].d), dmin = clq_fp16_to_fp32(b[g].dmin);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, s = e % 128 / 32, i = e % 32;
            int q = b[g].qs[32 * h + i] >> 2 * s & 3;
            uint8_t sc = b[g].scales[e / 16];
            const float dl = d * (sc & 15), ml = dmin * (sc >> 4);
            y[e] = dl * q - ml;
        }
    }
}

void ggml_ref_to_float_q3_k(const void *blocks, float *y, size_t n)
{
    const clq_block_q3_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, y += 256) {
        const float d = clq_fp16_to_fp32(b[g].d);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, s = e % 128 / 32, i = e % 32;
            int low = b[g].qs[32 * h + i] >> 2 * s & 3;
            int high = b[g].hmask[e % 32] >> (e / 32) & 1;
            const float dl = d * (q3k_scale_get(b[g].scales, e / 16) - 32);
            y[e] = dl * (low - (high ? 0 : 4));
        }
    }
}

void ggml_ref_to_float_q4_k(const void *blocks, float *y, size_t n)
{
    const clq_block_q4_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, y += 256) {
        const float d = clq_fp16_to_fp32(b[g].d), dmin = clq_fp16_to_fp32(b[g].dmin);
        for (int e = 0; e < 256; e++) {
            uint8_t sc, mn;
            kscale_get(b[g].scales, e / 32, &sc, &mn);
            uint8_t byte = b[g].qs[32 * (e / 64) + e % 32];
            int q = e % 64 < 32 ? byte & 15 : byte >> 4;
            const float dl = d * sc, ml = dmin * mn;
            y[e] = dl * q - ml;
        }
    }
}

void ggml_ref_to_float_q5_k(const void *blocks, float *y, size_t n)
{
    const clq_block_q5_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, y += 256) {
        const float d = clq_fp16_to_fp32(b[g].d), dmin = clq_fp16_to_fp32(b[g].dmin);
        for (int e = 0; e < 256; e++) {
            uint8_t sc, mn;
            kscale_get(b[g].scales, e / 32, &sc, &mn);
            uint8_t byte = b[g].qs[32 * (e / 64) + e % 32];
            int q = (e % 64 < 32 ? byte & 15 : byte >> 4) + (b[g].qh[e % 32] >> (e / 32) & 1) * 16;
            const float dl = d * sc, ml = dmin * mn;
            y[e] = dl * q - ml;
        }
    }
}

void ggml_ref_to_float_q6_k(const void *blocks, float *y, size_t n)
{
    const clq_block_q6_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, y += 256) {
        const float d = clq_fp16_to_fp32(b[g].d);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, s = e % 128 / 32, i = e % 32;
            uint8_t lbyte = b[g].ql[64 * h + 32 * (s & 1) + i];
            int low = s < 2 ? lbyte & 15 : lbyte >> 4;
            int q = (low | (b[g].qh[32 * h + i] >> 2 * s & 3) << 4) - 32;
            /* (d·sc)·q: the scale product first, as ggml multiplies */
            y[e] = d * (int8_t)b[g].scales[e / 16] * q;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* K-quants: quantization                                                    */
/* ------------------------------------------------------------------------ */

void ggml_ref_quantize_q2_k(const float *x, void *blocks, size_t n)
{
    clq_block_q2_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, x += 256) {
        /* 16 sub-blocks of 16 fitted with weights |x| and the absolute
         * error, over levels 0..3, trying 16 scales (3 − 0.5 + 0.1·is). */
        uint8_t l[256];
        float scale[16], mins[16], max_scale = 0, max_min = 0;
        for (int s = 0; s < 16; s++) {
            float w[16];
            for (int i = 0; i < 16; i++)
                w[i] = fabsf(x[16 * s + i]);
            scale[s] = fit_scale_min(16, 3, x + 16 * s, w, l + 16 * s, &mins[s], -0.5f, 0.1f, 15, 1);
            if (scale[s] > max_scale)
                max_scale = scale[s];
            if (mins[s] > max_min)
                max_min = mins[s];
        }
        /* 4-bit sub-block scales and mins against max/15 (fp32), stored in
         * the low and high nibbles; the super-block d and dmin are fp16 and
         * the levels are re-chosen with the fp16 values. */
        if (max_scale > 0) {
            const float inv = 15.f / max_scale;
            for (int s = 0; s < 16; s++)
                b[g].scales[s] = (uint8_t)round_even(inv * scale[s]);
            b[g].d = clq_fp32_to_fp16(max_scale / 15.f);
        } else {
            memset(b[g].scales, 0, sizeof b[g].scales);
            b[g].d = clq_fp32_to_fp16(0.f);
        }
        if (max_min > 0) {
            const float inv = 15.f / max_min;
            for (int s = 0; s < 16; s++)
                b[g].scales[s] |= (uint8_t)(round_even(inv * mins[s]) << 4);
            b[g].dmin = clq_fp32_to_fp16(max_min / 15.f);
        } else {
            b[g].dmin = clq_fp32_to_fp16(0.f);
        }
        for (int s = 0; s < 16; s++) {
            const float dl = clq_fp16_to_fp32(b[g].d) * (b[g].scales[s] & 15);
            if (!dl) /* keeps the fit's levels */
                continue;
            const float ml = clq_fp16_to_fp32(b[g].dmin) * (b[g].scales[s] >> 4);
            for (int i = 0; i < 16; i++)
                l[16 * s + i] = (uint8_t)clamp_int(round_even((x[16 * s + i] + ml) / dl), 0, 3);
        }
        pack_2bit(l, b[g].qs);
    }
}

void ggml_ref_quantize_q3_k(const float *x, void *blocks, size_t n)
{
    clq_block_q3_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, x += 256) {
        uint8_t l[256];
        float scale[16], max_scale = 0, amax = 0;
        for (int s = 0; s < 16; s++) {
            scale[s] = fit_scale_q3(16, 4, x + 16 * s, l + 16 * s);
            if (fabsf(scale[s]) > amax) { /* first of largest magnitude, signed */
                amax = fabsf(scale[s]);
                max_scale = scale[s];
            }
        }
        /* 6-bit signed sub-block scales against max_scale/−32 (fp32), then
         * d = fp16(1/inv); an all-zero super-block leaves the packed scales
         * 0 (sub-block scale −32) with d = 0. */
        memset(b[g].scales, 0, sizeof b[g].scales);
        if (max_scale) {
            const float inv = -32.f / max_scale;
            for (int s = 0; s < 16; s++) {
                int v = clamp_int((int8_t)round_even(inv * scale[s]), -32, 31) + 32;
                if (s < 8)
                    b[g].scales[s] = (uint8_t)(v & 15);
                else
                    b[g].scales[s - 8] |= (uint8_t)((v & 15) << 4);
                b[g].scales[8 + s % 4] |= (uint8_t)((v >> 4) << 2 * (s / 4));
            }
            b[g].d = clq_fp32_to_fp16(1 / inv);
        } else {
            b[g].d = clq_fp32_to_fp16(0.f);
        }
        for (int s = 0; s < 16; s++) {
            const float dl = clq_fp16_to_fp32(b[g].d) * (q3k_scale_get(b[g].scales, s) - 32);
            if (!dl)
                continue;
            for (int i = 0; i < 16; i++)
                l[16 * s + i] = (uint8_t)(clamp_int(round_even(x[16 * s + i] / dl), -4, 3) + 4);
        }
        /* high bit of level e to hmask[e % 32] bit e / 32, low bits as q2_k */
        memset(b[g].hmask, 0, sizeof b[g].hmask);
        for (int e = 0; e < 256; e++)
            if (l[e] > 3) {
                b[g].hmask[e % 32] |= (uint8_t)(1u << e / 32);
                l[e] -= 4;
            }
        pack_2bit(l, b[g].qs);
    }
}

/*
 * q4_k and q5_k: 8 sub-blocks of 32 fitted with weights sqrt(mean x²) + |x|
 * and the squared error over levels 0..nmax, trying nstep+1 scales
 * (nmax + rmin + 0.1·is); 6-bit scales and mins against max/63 (fp32), the
 * super-block d and dmin fp16, and the levels re-chosen from the fp16
 * values. Returns the levels in l.
 */
static void quantize_kx(const float *x, int nmax, float rmin, int nstep, uint16_t *d_out, uint16_t *dmin_out,
                        uint8_t *scales, uint8_t *l)
{
    float scale[8], mins[8], max_scale = 0, max_min = 0;
    for (int s = 0; s < 8; s++) {
        const float *xs = x + 32 * s;
        float sum_x2 = 0;
        for (int i = 0; i < 32; i++)
            sum_x2 += xs[i] * xs[i];
        const float av_x = sqrtf(sum_x2 / 32);
        float w[32];
        for (int i = 0; i < 32; i++)
            w[i] = av_x + fabsf(xs[i]);
        scale[s] = fit_scale_min(32, nmax, xs, w, l + 32 * s, &mins[s], rmin, 0.1f, nstep, 0);
        if (scale[s] > max_scale)
            max_scale = scale[s];
        if (mins[s] > max_min)
            max_min = mins[s];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(scales, 0, CLQ_GGML_K_SCALE_SIZE);
    for (int s = 0; s < 8; s++) {
        /* ggml keeps these in uint8_t before the min with 63, so a negative
         * rounding wraps (and then clamps to 63) */
        uint8_t ls = (uint8_t)round_even(inv_scale * scale[s]);
        uint8_t lm = (uint8_t)round_even(inv_min * mins[s]);
        kscale_put(scales, s, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    *d_out = clq_fp32_to_fp16(max_scale / 63.f);
    *dmin_out = clq_fp32_to_fp16(max_min / 63.f);
    for (int s = 0; s < 8; s++) {
        uint8_t sc, mn;
        kscale_get(scales, s, &sc, &mn);
        const float dl = clq_fp16_to_fp32(*d_out) * sc;
        if (!dl)
            continue;
        const float ml = clq_fp16_to_fp32(*dmin_out) * mn;
        for (int i = 0; i < 32; i++)
            l[32 * s + i] = (uint8_t)clamp_int(round_even((x[32 * s + i] + ml) / dl), 0, nmax);
    }
}

void ggml_ref_quantize_q4_k(const float *x, void *blocks, size_t n)
{
    clq_block_q4_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, x += 256) {
        uint8_t l[256];
        quantize_kx(x, 15, -1.f, 20, &b[g].d, &b[g].dmin, b[g].scales, l);
        for (int h = 0; h < 4; h++)
            for (int i = 0; i < 32; i++)
                b[g].qs[32 * h + i] = (uint8_t)(l[64 * h + i] | l[64 * h + 32 + i] << 4);
    }
}

void ggml_ref_quantize_q5_k(const float *x, void *blocks, size_t n)
{
    clq_block_q5_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, x += 256) {
        uint8_t l[256];
        quantize_kx(x, 31, -0.5f, 15, &b[g].d, &b[g].dmin, b[g].scales, l);
        memset(b[g].qh, 0, sizeof b[g].qh);
        for (int h = 0; h < 4; h++)
            for (int i = 0; i < 32; i++) {
                uint8_t lo = l[64 * h + i], hi = l[64 * h + 32 + i];
                b[g].qh[i] |= (uint8_t)((lo >> 4) << 2 * h | (hi >> 4) << (2 * h + 1));
                b[g].qs[32 * h + i] = (uint8_t)((lo & 15) | (hi & 15) << 4);
            }
    }
}

void ggml_ref_quantize_q6_k(const float *x, void *blocks, size_t n)
{
    clq_block_q6_k *b = blocks;
    for (size_t g = 0; g < n / 256; g++, x += 256) {
        uint8_t l[256];
        float scale[16], max_scale = 0, amax = 0;
        for (int s = 0; s < 16; s++) {
            scale[s] = fit_scale_sym(16, 32, x + 16 * s, l + 16 * s);
            if (fabsf(scale[s]) > amax) {
                amax = fabsf(scale[s]);
                max_scale = scale[s];
            }
        }
        if (amax < GROUP_EPS) { /* the whole block is zero bytes */
            memset(&b[g], 0, sizeof b[g]);
            continue;
        }
        /* int8 sub-block scales against max_scale/−128 (fp32); d is fp16 of
         * 1/inv, and the levels are re-chosen from it. */
        const float inv = -128.f / max_scale;
        b[g].d = clq_fp32_to_fp16(1 / inv);
        for (int s = 0; s < 16; s++) {
            int v = round_even(inv * scale[s]);
            b[g].scales[s] = (uint8_t)(int8_t)(v < 127 ? v : 127);
        }
        for (int s = 0; s < 16; s++) {
            const float dl = clq_fp16_to_fp32(b[g].d) * (int8_t)b[g].scales[s];
            if (!dl)
                continue;
            for (int i = 0; i < 16; i++)
                l[16 * s + i] = (uint8_t)(clamp_int(round_even(x[16 * s + i] / dl), -32, 31) + 32);
        }
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < 32; i++) {
                const uint8_t *e = l + 128 * h + i;
                b[g].ql[64 * h + i] = (uint8_t)((e[0] & 15) | (e[64] & 15) << 4);
                b[g].ql[64 * h + 32 + i] = (uint8_t)((e[32] & 15) | (e[96] & 15) << 4);
                b[g].qh[32 * h + i] =
                    (uint8_t)(e[0] >> 4 | (e[32] >> 4) << 2 | (e[64] >> 4) << 4 | (e[96] >> 4) << 6);
            }
    }
}

/* ------------------------------------------------------------------------ */
/* The table                                                                 */
/* ------------------------------------------------------------------------ */

static const ggml_ref_type types[] = {
    {"q4_1", 32, CLQ_GGML_Q4_1_BYTES, ggml_ref_to_float_q4_1, ggml_ref_quantize_q4_1},
    {"q5_0", 32, CLQ_GGML_Q5_0_BYTES, ggml_ref_to_float_q5_0, ggml_ref_quantize_q5_0},
    {"q5_1", 32, CLQ_GGML_Q5_1_BYTES, ggml_ref_to_float_q5_1, ggml_ref_quantize_q5_1},
    {"q2_k", 256, CLQ_GGML_Q2_K_BYTES, ggml_ref_to_float_q2_k, ggml_ref_quantize_q2_k},
    {"q3_k", 256, CLQ_GGML_Q3_K_BYTES, ggml_ref_to_float_q3_k, ggml_ref_quantize_q3_k},
    {"q4_k", 256, CLQ_GGML_Q4_K_BYTES, ggml_ref_to_float_q4_k, ggml_ref_quantize_q4_k},
    {"q5_k", 256, CLQ_GGML_Q5_K_BYTES, ggml_ref_to_float_q5_k, ggml_ref_quantize_q5_k},
    {"q6_k", 256, CLQ_GGML_Q6_K_BYTES, ggml_ref_to_float_q6_k, ggml_ref_quantize_q6_k},
    {"iq4_nl", 32, CLQ_GGML_IQ4_NL_BYTES, ggml_ref_to_float_iq4_nl, ggml_ref_quantize_iq4_nl},
    {"iq4_xs", 256, CLQ_GGML_IQ4_XS_BYTES, ggml_ref_to_float_iq4_xs, ggml_ref_quantize_iq4_xs},
};

const ggml_ref_type *ggml_ref_types(size_t *count)
{
    *count = sizeof types / sizeof types[0];
    return types;
}

const ggml_ref_type *ggml_ref_find(const char *name)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, name) == 0)
            return &types[i];
    return NULL;
}

/*
 * Quantization into ggml's block types on the device, bit for bit as ggml's
 * reference quantizers (ggml_quantize_chunk without an importance matrix,
 * and tests/ref/ggml_ref.c): q4_1, q5_0, q5_1 and iq4_nl (blocks of 32),
 * q2_k ... q6_k and iq4_xs (super-blocks of 256): every ggml format. ggml_blocks.cl and dequant.cl
 * are prepended; the blocks are written in ggml block tiles (clq_common.h).
 *
 * Every step is ggml's float operation in ggml's order, each rounded:
 * contraction is off (x·(1/d) + 0.5 must round twice, as in C), 1/d and
 * the divisions are correctly rounded (the host builds with
 * -cl-fp32-correctly-rounded-divide-sqrt where the device has it, as for
 * quantize.cl), and the fp16 scales are rounded to nearest even
 * (vstore_half_rte, ggml's GGML_FP32_TO_FP16). Do not turn any of these
 * into fma, native_recip or a reordered sum: it changes bits.
 *
 * A block whose values ggml would store as fp16 Inf or NaN is refused
 * (first_bad[1], CLQ_ERROR_SCALE_OVERFLOW) and nothing of it is written:
 * fp16 rounds to nearest even, so a value v is stored as Inf exactly when
 * |v| >= 65520 (half-way from 65504 to 65536). The stored values, with the
 * input where one large value among small ones (m, with its sign) reaches
 * the limit (K-quants: the scale or −min fitted to one sub-block):
 *   q4_1   d = (max − min)/15, m = min   max − min >= 982800 or |min| >= 65520
 *   q5_1   d = (max − min)/31, m = min   max − min >= 2031120 or |min| >= 65520
 *   q5_0   d = m/−16                     |m| >= 1048320
 *   iq4_nl d = the best fit's scale      |d| >= 65520 (|m| > 113 × 65520 = 7403760)
 *   iq4_xs d = −s/32, s the group scale of largest magnitude: |s| >= 32 × 65520
 *          (|m| > 236920320)
 *   q2_k   d = (largest scale)/15, dmin = (largest −min)/15: either reaches
 *          15 × 65520 (m > 2948400, or m <= −982800)
 *   q3_k   d = 1/(−32/s), s the scale of largest magnitude: |s| > 32 × 65520
 *          (the twice-rounded 1/(−32/s) stays below 65520 at |s| = 32 × 65520;
 *          |m| > 8386560)
 *   q4_k,  d = (largest scale)/63, dmin = (largest −min)/63: either reaches
 *   q5_k   63 × 65520 (m <= −4127760; for m > 0 the block first fails near
 *          5.8e7 (q4_k) or 1.24e8 (q5_k) and always from 6.2e7 or 1.28e8 on:
 *          the fit's pick of scale and min changes with m, not monotonically)
 *   q6_k   d = 1/(−128/s), s the scale of largest magnitude: |s| > 128 × 65520
 *          (|m| > 268369920)
 * The limit is checked on the value about to be stored, so it holds
 * whatever the fit picks. A sub-block scale or min that is not finite is
 * refused too: the fits' fp32 sums of w·x·l (w = x²) overflow from |x|
 * near 1e12 on, and where a scale comes out NaN ggml's search for the
 * largest skips it and stores finite scales for a block that no longer
 * holds those values (q3_k, q6_k, iq4_xs, from about 1e18); iq4_nl's
 * codes would be searched for NaN. Every such block lies far past the
 * fp16 limit.
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

/* Inf or NaN as fp16 (exponent all ones): what ggml cannot store and the
 * import refuses. */
inline int fp16_unstorable(ushort h)
{
    return (h & 0x7c00) == 0x7c00;
}

inline void put16(uchar *b, uint at, ushort v)
{
    b[at] = (uchar)(v & 0xff);
    b[at + 1] = (uchar)(v >> 8);
}

/* 32 levels as ggml packs them: byte j of qs holds levels j (low nibble) and
 * j+16 (high); for 5-bit levels bit 4 of level j is bit j of qh (LE). */
inline void pack32(const uchar *l, uchar *qs, uchar *qh)
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
 * 0), q4_1's clamped to 15; d and min stored as fp16 after. Returns 0,
 * writing nothing, when d or min cannot be stored. */
inline int quantize_min_max(const uint nmax, const float *x, uchar *b)
{
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (uint j = 0; j < 32; j++) {
        if (x[j] < lo)
            lo = x[j];
        if (x[j] > hi)
            hi = x[j];
    }
    float d = (hi - lo) / (float)nmax;
    ushort dh = fp16_bits(d), mh = fp16_bits(lo);
    if (fp16_unstorable(dh) || fp16_unstorable(mh))
        return 0;
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    uchar l[32];
    for (uint j = 0; j < 32; j++) {
        int q = (int)((x[j] - lo) * inv + 0.5f);     /* truncation, as ggml's cast */
        l[j] = (uchar)(nmax == 15 ? min(q, 15) : q); /* q5_1: ggml has no clamp; (x−min)/d + 0.5 < 32 */
    }
    put16(b, 0, dh);
    put16(b, 2, mh);
    pack32(l, b + (nmax == 15 ? 4 : 8), nmax == 15 ? (uchar *)0 : b + 4);
    return 1;
}

/* q5_0: as q4_0 with 16 levels a side: d = m/−16 (m the first element of
 * largest magnitude), levels min(31, trunc(x·(1/d) + 16.5)). */
inline int quantize_q5_0(const float *x, uchar *b)
{
    float amax;
    float d = signed_absmax(x, &amax) / -16.0f;
    ushort dh = fp16_bits(d);
    if (fp16_unstorable(dh))
        return 0;
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    uchar l[32];
    for (uint j = 0; j < 32; j++)
        l[j] = (uchar)min((int)(x[j] * inv + 16.5f), 31);
    put16(b, 0, dh);
    pack32(l, b + 6, b + 2);
    return 1;
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
inline float iq4_group_scale(const float *x)
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
    return d;
}

inline int quantize_iq4_nl(const float *x, uchar *b)
{
    float d = iq4_group_scale(x);
    ushort dh = fp16_bits(d);
    if (fp16_unstorable(dh)) /* also before nearest_code could meet a NaN 1/d·x */
        return 0;
    put16(b, 0, dh);
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    uchar l[32];
    for (uint j = 0; j < 32; j++)
        l[j] = (uchar)nearest_code(inv * x[j]);
    pack32(l, b + 2, (uchar *)0);
    return 1;
}

/* ---- K-quants --------------------------------------------------------------- */

/* ggml's round to nearest, ties to even (its 1.5·2^23 trick, for the
 * |v| < 2^22 it is used on): rint in the default rounding mode. */
inline int round_even(float v)
{
    return (int)rint(v);
}

inline float half_value(ushort h)
{
    return vload_half(0, (const private half *)&h);
}

/* The K-quants' sub-block fit with a min (q4_k, q5_k): x ≈ scale·l + min,
 * l in 0..nmax, min <= 0, weights w. Starts from the scale mapping
 * [min(x, 0), max x] onto 0..nmax, then tries nstep+1 scales
 * (rmin + 0.1·is + nmax)/(max − min) from the best fit's min so far, each
 * with its weighted least-squares scale and min; a try replaces the best
 * only with a strictly smaller weighted error (absolute when mad, q2_k;
 * else squared). The sums run from element 0 in order, every product
 * rounded, as ggml's make_qkx2_quants (tests/ref/ggml_ref.c fit_scale_min).
 * n <= 32. Returns the scale, *neg_min = −min. */
inline float fit_scale_min(const uint n, const uint nmax, const float *x, const float *w, uchar *l,
                           float *neg_min, float rmin, const int nstep, const int mad)
{
    float lo = x[0], hi = x[0], sw = w[0];
    float swx = sw * x[0];
    for (uint i = 1; i < n; i++) {
        if (x[i] < lo)
            lo = x[i];
        if (x[i] > hi)
            hi = x[i];
        sw += w[i];
        swx += w[i] * x[i];
    }
    if (lo > 0.0f)
        lo = 0.0f;
    if (hi == lo) { /* constant (or all-zero) group */
        for (uint i = 0; i < n; i++)
            l[i] = 0;
        *neg_min = -lo;
        return 0.0f;
    }
    float inv = (float)nmax / (hi - lo);
    float scale = 1.0f / inv, mn = lo, best_err = 0.0f;
    for (uint i = 0; i < n; i++) {
        l[i] = (uchar)clamp(round_even(inv * (x[i] - lo)), 0, (int)nmax);
        float diff = scale * (float)l[i] + mn - x[i];
        best_err += w[i] * (mad ? fabs(diff) : diff * diff);
    }
    uchar trial[32];
    for (int is = 0; is <= nstep; is++) {
        inv = (rmin + 0.1f * (float)is + (float)nmax) / (hi - mn);
        float sl = 0.0f, sl2 = 0.0f, sxl = 0.0f;
        for (uint i = 0; i < n; i++) {
            int q = clamp(round_even(inv * (x[i] - mn)), 0, (int)nmax);
            trial[i] = (uchar)q;
            sl += w[i] * (float)q;
            sl2 += w[i] * (float)q * (float)q;
            sxl += w[i] * (float)q * x[i];
        }
        float det = sw * sl2 - sl * sl;
        if (!(det > 0.0f))
            continue;
        float sc = (sw * sxl - swx * sl) / det;
        float m = (sl2 * swx - sl * sxl) / det;
        if (m > 0.0f) { /* the min may not be positive: refit the scale alone */
            m = 0.0f;
            sc = sxl / sl2;
        }
        float err = 0.0f;
        for (uint i = 0; i < n; i++) {
            float diff = sc * (float)trial[i] + m - x[i];
            err += w[i] * (mad ? fabs(diff) : diff * diff);
        }
        if (err < best_err) {
            for (uint i = 0; i < n; i++)
                l[i] = trial[i];
            best_err = err;
            scale = sc;
            mn = m;
        }
    }
    *neg_min = -mn;
    return scale;
}

/* q4_k / q5_k: 8 sub-blocks fitted with weights av_x + |x| (av_x the
 * sub-block's rms), their scales and mins quantized to 6 bits against the
 * largest of each (ggml keeps them in uint8_t before the min with 63, so a
 * negative rounding wraps and then clamps), d and dmin = largest/63 in
 * fp16, and the levels chosen again from the stored values. Returns 0,
 * writing nothing, when a scale or min is not finite or d or dmin cannot
 * be stored. */
inline int quantize_kx(const float *x, const uint nmax, float rmin, const int nstep, uchar *b, uchar *l)
{
    float scale[8], mins[8], max_scale = 0.0f, max_min = 0.0f;
    for (uint s = 0; s < 8; s++) {
        const float *xs = x + 32 * s;
        float sum_x2 = 0.0f;
        for (uint i = 0; i < 32; i++)
            sum_x2 += xs[i] * xs[i];
        float av_x = sqrt(sum_x2 / 32.0f), w[32];
        for (uint i = 0; i < 32; i++)
            w[i] = av_x + fabs(xs[i]);
        scale[s] = fit_scale_min(32, nmax, xs, w, l + 32 * s, &mins[s], rmin, nstep, 0);
        if (!isfinite(scale[s]) || !isfinite(mins[s]))
            return 0;
        if (scale[s] > max_scale)
            max_scale = scale[s];
        if (mins[s] > max_min)
            max_min = mins[s];
    }
    ushort d = fp16_bits(max_scale / 63.0f), dmin = fp16_bits(max_min / 63.0f);
    if (fp16_unstorable(d) || fp16_unstorable(dmin))
        return 0;
    float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    uchar sc[12] = {0}, lsv[8], lmv[8];
    for (uint s = 0; s < 8; s++) {
        uchar ls = (uchar)round_even(inv_scale * scale[s]), lm = (uchar)round_even(inv_min * mins[s]);
        ls = min(ls, (uchar)63);
        lm = min(lm, (uchar)63);
        lsv[s] = ls;
        lmv[s] = lm;
        if (s < 4) {
            sc[s] = ls;
            sc[s + 4] = lm;
        } else {
            sc[s + 4] = (uchar)((ls & 15u) | (lm & 15u) << 4);
            sc[s - 4] |= (uchar)((ls >> 4) << 6);
            sc[s] |= (uchar)((lm >> 4) << 6);
        }
    }
    put16(b, 0, d);
    put16(b, 2, dmin);
    for (uint i = 0; i < 12; i++)
        b[4 + i] = sc[i];
    for (uint s = 0; s < 8; s++) {
        float dl = half_value(d) * (float)lsv[s];
        if (dl == 0.0f)
            continue;
        float ml = half_value(dmin) * (float)lmv[s];
        for (uint i = 0; i < 32; i++)
            l[32 * s + i] = (uchar)clamp(round_even((x[32 * s + i] + ml) / dl), 0, (int)nmax);
    }
    return 1;
}

inline int quantize_q4_k(const float *x, uchar *b)
{
    uchar l[256];
    if (!quantize_kx(x, 15, -1.0f, 20, b, l))
        return 0;
    for (uint h = 0; h < 4; h++)
        for (uint i = 0; i < 32; i++)
            b[16 + 32 * h + i] = (uchar)(l[64 * h + i] | l[64 * h + 32 + i] << 4);
    return 1;
}

inline int quantize_q5_k(const float *x, uchar *b)
{
    uchar l[256], qh[32] = {0};
    if (!quantize_kx(x, 31, -0.5f, 15, b, l))
        return 0;
    for (uint h = 0; h < 4; h++)
        for (uint i = 0; i < 32; i++) {
            uchar lo = l[64 * h + i], hi = l[64 * h + 32 + i];
            qh[i] |= (uchar)((lo >> 4) << (2 * h) | (hi >> 4) << (2 * h + 1));
            b[48 + 32 * h + i] = (uchar)((lo & 15u) | (hi & 15u) << 4);
        }
    for (uint i = 0; i < 32; i++)
        b[16 + i] = qh[i];
    return 1;
}

/* q6_k's sub-block fit (16 elements, levels −32..31 stored +32, weights
 * x²): the scale sending the first element of largest magnitude to −32,
 * its least-squares scale, then 18 starting scales (32 + 0.1·is) for
 * is = −9..−1, 1..9 in order, replacing the best only when
 * (Σwxl)²/Σwl² is strictly larger (ggml's make_qx_quants, rmse_type 1). */
inline float fit_scale_sym(const float *x, uchar *l)
{
    const int nmax = 32;
    float amax;
    float mx = -FLT_MAX;
    { /* signed_absmax over 16 */
        float best = 0.0f, mag = 0.0f;
        for (uint i = 0; i < 16; i++)
            if (fabs(x[i]) > mag) {
                mag = fabs(x[i]);
                best = x[i];
            }
        amax = mag;
        mx = best;
    }
    if (amax < GROUP_EPS) {
        for (uint i = 0; i < 16; i++)
            l[i] = 0;
        return 0.0f;
    }
    float inv = (float)(-nmax) / mx, sxl = 0.0f, sl2 = 0.0f;
    for (uint i = 0; i < 16; i++) {
        int q = clamp(round_even(inv * x[i]), -nmax, nmax - 1);
        l[i] = (uchar)(q + nmax);
        float w = x[i] * x[i];
        sxl += w * x[i] * (float)q;
        sl2 += w * (float)q * (float)q;
    }
    float scale = sl2 != 0.0f ? sxl / sl2 : 0.0f;
    float best = scale * sxl;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        inv = -((float)nmax + 0.1f * (float)is) / mx;
        sxl = 0.0f;
        sl2 = 0.0f;
        for (uint i = 0; i < 16; i++) {
            int q = clamp(round_even(inv * x[i]), -nmax, nmax - 1);
            float w = x[i] * x[i];
            sxl += w * x[i] * (float)q;
            sl2 += w * (float)q * (float)q;
        }
        if (sl2 > 0.0f && sxl * sxl > best * sl2) {
            for (uint i = 0; i < 16; i++)
                l[i] = (uchar)(nmax + clamp(round_even(inv * x[i]), -nmax, nmax - 1));
            scale = sxl / sl2;
            best = scale * sxl;
        }
    }
    return scale;
}

/* q6_k: 16 sub-block fits, int8 scales against the largest /−128 (fp32),
 * d = fp16 of 1/inv, the levels chosen again from the stored d·scale; an
 * all-(near-)zero super-block is zero bytes. Returns 0, writing nothing,
 * when a scale is not finite or d cannot be stored. */
inline int quantize_q6_k(const float *x, uchar *b)
{
    uchar l[256];
    float scale[16], max_scale = 0.0f, amax = 0.0f;
    for (uint s = 0; s < 16; s++) {
        scale[s] = fit_scale_sym(x + 16 * s, l + 16 * s);
        if (!isfinite(scale[s]))
            return 0;
        if (fabs(scale[s]) > amax) {
            amax = fabs(scale[s]);
            max_scale = scale[s];
        }
    }
    if (amax < GROUP_EPS) {
        for (uint i = 0; i < CLQ_GGML_Q6_K_BYTES; i++)
            b[i] = 0;
        return 1;
    }
    float inv = -128.0f / max_scale;
    ushort d = fp16_bits(1.0f / inv);
    if (fp16_unstorable(d))
        return 0;
    put16(b, 208, d);
    char sc[16];
    for (uint s = 0; s < 16; s++) {
        int v = round_even(inv * scale[s]);
        sc[s] = (char)min(v, 127);
        b[192 + s] = as_uchar(sc[s]);
    }
    for (uint s = 0; s < 16; s++) {
        float dl = half_value(d) * (float)sc[s];
        if (dl == 0.0f)
            continue;
        for (uint i = 0; i < 16; i++)
            l[16 * s + i] = (uchar)(clamp(round_even(x[16 * s + i] / dl), -32, 31) + 32);
    }
    for (uint h = 0; h < 2; h++)
        for (uint i = 0; i < 32; i++) {
            const uchar *e = l + 128 * h + i;
            b[64 * h + i] = (uchar)((e[0] & 15u) | (e[64] & 15u) << 4);
            b[64 * h + 32 + i] = (uchar)((e[32] & 15u) | (e[96] & 15u) << 4);
            b[128 + 32 * h + i] =
                (uchar)(e[0] >> 4 | (e[32] >> 4) << 2 | (e[64] >> 4) << 4 | (e[96] >> 4) << 6);
        }
    return 1;
}

/* iq4_xs: 8 group scales as iq4_nl's; the super-block d = −(first group
 * scale of largest magnitude)/32 (an all-zero super-block gets −0, fp16
 * 0x8000, as ggml computes it); each group's 6-bit scale from the fp32 d,
 * its codes from the fp32 product d·ls. Returns 0, writing nothing, when
 * a group scale is not finite or d cannot be stored. */
inline int quantize_iq4_xs(const float *x, uchar *b)
{
    float scale[8], max_scale = 0.0f, amax_scale = 0.0f;
    for (uint s = 0; s < 8; s++) {
        scale[s] = iq4_group_scale(x + 32 * s);
        if (!isfinite(scale[s]))
            return 0;
        if (fabs(scale[s]) > amax_scale) {
            amax_scale = fabs(scale[s]);
            max_scale = scale[s];
        }
    }
    float d = -max_scale / 32.0f;
    ushort dh = fp16_bits(d);
    if (fp16_unstorable(dh))
        return 0;
    put16(b, 0, dh);
    float inv = d != 0.0f ? 1.0f / d : 0.0f;
    uint scales_h = 0;
    uchar scales_l[4] = {0}, l[32];
    for (uint s = 0; s < 8; s++) {
        int ls = clamp(round_even(inv * scale[s]), -32, 31);
        float dl = d * (float)ls;
        float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
        for (uint j = 0; j < 32; j++)
            l[j] = (uchar)nearest_code(idl * x[32 * s + j]);
        pack32(l, b + 8 + 16 * s, (uchar *)0);
        ls += 32;
        scales_l[s / 2] |= (uchar)((ls & 15) << (4 * (s % 2)));
        scales_h |= (uint)(ls >> 4) << (2 * s);
    }
    put16(b, 2, (ushort)scales_h);
    for (uint i = 0; i < 4; i++)
        b[4 + i] = scales_l[i];
    return 1;
}

/* K-quants' 2-bit packing: byte 32h+i holds levels 128h+i+32s in bits 2s. */
inline void pack_2bit(const uchar *l, uchar *qs)
{
    for (uint h = 0; h < 2; h++)
        for (uint i = 0; i < 32; i++) {
            const uchar *e = l + 128 * h + i;
            qs[32 * h + i] = (uchar)(e[0] | e[32] << 2 | e[64] << 4 | e[96] << 6);
        }
}

/* q2_k: 16 sub-blocks of 16 fitted with weights |x| and the absolute
 * error over levels 0..3 (16 tries, rmin −0.5); 4-bit scales and mins
 * against max/15 (fp32), d and dmin fp16, the levels chosen again from
 * the stored values (a zero d·sc keeps the fit's levels). Returns 0,
 * writing nothing, when a scale or min is not finite or d or dmin cannot
 * be stored. */
inline int quantize_q2_k(const float *x, uchar *b)
{
    uchar l[256], sc[16];
    float scale[16], mins[16], max_scale = 0.0f, max_min = 0.0f;
    for (uint s = 0; s < 16; s++) {
        float w[16];
        for (uint i = 0; i < 16; i++)
            w[i] = fabs(x[16 * s + i]);
        scale[s] = fit_scale_min(16, 3, x + 16 * s, w, l + 16 * s, &mins[s], -0.5f, 15, 1);
        if (!isfinite(scale[s]) || !isfinite(mins[s]))
            return 0;
        if (scale[s] > max_scale)
            max_scale = scale[s];
        if (mins[s] > max_min)
            max_min = mins[s];
    }
    ushort d, dmin;
    if (max_scale > 0.0f) {
        float inv = 15.0f / max_scale;
        for (uint s = 0; s < 16; s++)
            sc[s] = (uchar)round_even(inv * scale[s]);
        d = fp16_bits(max_scale / 15.0f);
    } else {
        for (uint s = 0; s < 16; s++)
            sc[s] = 0;
        d = fp16_bits(0.0f);
    }
    if (max_min > 0.0f) {
        float inv = 15.0f / max_min;
        for (uint s = 0; s < 16; s++)
            sc[s] |= (uchar)(round_even(inv * mins[s]) << 4);
        dmin = fp16_bits(max_min / 15.0f);
    } else {
        dmin = fp16_bits(0.0f);
    }
    if (fp16_unstorable(d) || fp16_unstorable(dmin))
        return 0;
    for (uint s = 0; s < 16; s++) {
        float dl = half_value(d) * (float)(sc[s] & 15u);
        if (dl == 0.0f)
            continue;
        float ml = half_value(dmin) * (float)(sc[s] >> 4);
        for (uint i = 0; i < 16; i++)
            l[16 * s + i] = (uchar)clamp(round_even((x[16 * s + i] + ml) / dl), 0, 3);
    }
    for (uint s = 0; s < 16; s++)
        b[s] = sc[s];
    pack_2bit(l, b + 16);
    put16(b, 80, d);
    put16(b, 82, dmin);
    return 1;
}

/* q3_k's sub-block fit (ggml's make_q3_quants with its weighted search):
 * levels −4..3 from the scale sending the first element of largest
 * magnitude to −4, then up to 5 sweeps moving one level at a time to what
 * its own least-squares fit asks, kept when (Σwxl)²/Σwl² rises (weights
 * x²). Levels stored +4 (0 for an all-zero group, whose scale is 0). */
inline float fit_scale_q3(const float *x, uchar *lout)
{
    const int nmax = 4;
    float amax, best = 0.0f, mag = 0.0f;
    for (uint i = 0; i < 16; i++)
        if (fabs(x[i]) > mag) {
            mag = fabs(x[i]);
            best = x[i];
        }
    amax = mag;
    if (amax < GROUP_EPS) {
        for (uint i = 0; i < 16; i++)
            lout[i] = 0;
        return 0.0f;
    }
    const float inv = (float)(-nmax) / best;
    int l[16];
    float sxl = 0.0f, sl2 = 0.0f;
    for (uint i = 0; i < 16; i++) {
        l[i] = clamp(round_even(inv * x[i]), -nmax, nmax - 1);
        float w = x[i] * x[i];
        sxl += w * x[i] * (float)l[i];
        sl2 += w * (float)l[i] * (float)l[i];
    }
    for (int sweep = 0; sweep < 5; sweep++) {
        int moved = 0;
        for (uint i = 0; i < 16; i++) {
            float w = x[i] * x[i];
            float sxl_i = sxl - w * x[i] * (float)l[i];
            if (!(sxl_i > 0.0f))
                continue;
            float sl2_i = sl2 - w * (float)l[i] * (float)l[i];
            int q = clamp(round_even(x[i] * sl2_i / sxl_i), -nmax, nmax - 1);
            if (q == l[i])
                continue;
            sxl_i += w * x[i] * (float)q;
            sl2_i += w * (float)q * (float)q;
            if (sl2_i > 0.0f && sxl_i * sxl_i * sl2 > sxl * sxl * sl2_i) {
                l[i] = q;
                sxl = sxl_i;
                sl2 = sl2_i;
                moved++;
            }
        }
        if (!moved)
            break;
    }
    for (uint i = 0; i < 16; i++)
        lout[i] = (uchar)(l[i] + nmax);
    return sl2 > 0.0f ? sxl / sl2 : 0.0f;
}

/* q3_k: 16 fits, 6-bit signed scales against max/−32 (fp32; ggml casts
 * the rounding to int8 before the clamp), d = fp16(1/inv), the levels
 * chosen again from the stored values, the high bit of level e in
 * hmask[e % 32] bit e / 32 and the low bits as q2_k. Returns 0, writing
 * nothing, when a scale is not finite or d cannot be stored. */
inline int quantize_q3_k(const float *x, uchar *b)
{
    uchar l[256], sc[12] = {0}, hmask[32] = {0};
    float scale[16], max_scale = 0.0f, amax = 0.0f;
    for (uint s = 0; s < 16; s++) {
        scale[s] = fit_scale_q3(x + 16 * s, l + 16 * s);
        if (!isfinite(scale[s]))
            return 0;
        if (fabs(scale[s]) > amax) {
            amax = fabs(scale[s]);
            max_scale = scale[s];
        }
    }
    ushort d;
    if (max_scale != 0.0f) {
        float inv = -32.0f / max_scale;
        for (uint s = 0; s < 16; s++) {
            int v = clamp((int)(char)round_even(inv * scale[s]), -32, 31) + 32;
            if (s < 8)
                sc[s] = (uchar)(v & 15);
            else
                sc[s - 8] |= (uchar)((v & 15) << 4);
            sc[8 + s % 4] |= (uchar)((v >> 4) << (2 * (s / 4)));
        }
        d = fp16_bits(1.0f / inv);
    } else {
        d = fp16_bits(0.0f);
    }
    if (fp16_unstorable(d))
        return 0;
    for (uint s = 0; s < 16; s++) {
        uint low6 = s < 8 ? sc[s] & 15u : (uint)sc[s - 8] >> 4;
        int sc6 = (int)(low6 | (((uint)sc[8 + s % 4] >> (2 * (s / 4))) & 3u) << 4);
        float dl = half_value(d) * (float)(sc6 - 32);
        if (dl == 0.0f)
            continue;
        for (uint i = 0; i < 16; i++)
            l[16 * s + i] = (uchar)(clamp(round_even(x[16 * s + i] / dl), -4, 3) + 4);
    }
    for (uint e = 0; e < 256; e++)
        if (l[e] > 3) {
            hmask[e % 32] |= (uchar)(1u << (e / 32));
            l[e] -= 4;
        }
    for (uint i = 0; i < 32; i++)
        b[i] = hmask[i];
    pack_2bit(l, b + 32);
    for (uint i = 0; i < 12; i++)
        b[96 + i] = sc[i];
    put16(b, 108, d);
    return 1;
}

/* One work-item per block (32, or a super-block of 256: row `row`,
 * elements k0 ..) of an N×K fp32 or fp16 matrix. A block holding NaN or
 * Inf is not written and records the lowest such block in first_bad[0];
 * one that cannot be stored (see the top of this file) in first_bad[1]. */
kernel void clq_quantize_ggml(global const void *src, uint src_half, uint format, uint rows, uint cols,
                              global uchar *quants, volatile global uint *first_bad)
{
    uint block = CLQ_GGML_BLOCK_OF(format);
    uint g = get_global_id(0), nb = cols / block;
    uint row = g / nb, k0 = g % nb * block;
    if (row >= rows)
        return;
    float x[256];
    int finite = 1;
    for (uint j = 0; j < block; j++) {
        x[j] = load_x(src, src_half, (ulong)row * cols + k0 + j);
        finite &= isfinite(x[j]);
    }
    if (!finite) {
        atomic_min(first_bad, g);
        return;
    }
    uchar b[CLQ_GGML_Q6_K_BYTES] = {0}; /* the largest block; zeroed, as some quantizers OR bits in */
    int stored = 0;
    switch (format) {
    case CLQ_FMT_Q4_1:
        stored = quantize_min_max(15, x, b);
        break;
    case CLQ_FMT_Q5_1:
        stored = quantize_min_max(31, x, b);
        break;
    case CLQ_FMT_Q5_0:
        stored = quantize_q5_0(x, b);
        break;
    case CLQ_FMT_IQ4_NL:
        stored = quantize_iq4_nl(x, b);
        break;
    case CLQ_FMT_Q4_K:
        stored = quantize_q4_k(x, b);
        break;
    case CLQ_FMT_Q5_K:
        stored = quantize_q5_k(x, b);
        break;
    case CLQ_FMT_Q6_K:
        stored = quantize_q6_k(x, b);
        break;
    case CLQ_FMT_Q2_K:
        stored = quantize_q2_k(x, b);
        break;
    case CLQ_FMT_Q3_K:
        stored = quantize_q3_k(x, b);
        break;
    case CLQ_FMT_IQ4_XS:
        stored = quantize_iq4_xs(x, b);
        break;
    }
    if (!stored) {
        atomic_min(first_bad + 1, g);
        return;
    }
    /* into ggml block tiles (clq_common.h) */
    const uint bytes = CLQ_GGML_BYTES_OF(format), l = row % CLQ_TILE_ROWS;
    global uchar *grp = quants + ggml_group_offset(format, row, g % nb, nb);
    for (uint i = 0; i < bytes; i++)
        grp[ggml_tile_byte(format, l, i)] = b[i];
}

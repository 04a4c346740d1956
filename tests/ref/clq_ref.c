/*
 * Scalar reference of every clq format (see clq_ref.h). Built with
 * -ffp-contract=off: every multiply and add below must round on its own, as in
 * the peers' code, so that the results are bit-exact with tests/data.
 */
#include "clq_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REF_NESTED_BLOCK 256

/* ------------------------------------------------------------------------ */
/* Codes                                                                     */
/* ------------------------------------------------------------------------ */

/* bitsandbytes get_4bit_type("nf4"): Python doubles made fp32 by torch, hence
 * the casts (a float literal could round differently from double -> float). */
static const float nf4_code[16] = {
    (float)-1.0,
    (float)-0.6961928009986877,
    (float)-0.5250730514526367,
    (float)-0.39491748809814453,
    (float)-0.28444138169288635,
    (float)-0.18477343022823334,
    (float)-0.09105003625154495,
    (float)0.0,
    (float)0.07958029955625534,
    (float)0.16093020141124725,
    (float)0.24611230194568634,
    (float)0.33791524171829224,
    (float)0.44070982933044434,
    (float)0.5626170039176941,
    (float)0.7229568362236023,
    (float)1.0,
};

/* bitsandbytes get_4bit_type("fp4"), divided by its absmax 12 in fp32. Entry 8
 * is +0: bnb writes it as the Python integer `-0`, which is 0 (the vectors'
 * dequant.f32 has +0.0 where q = 8). */
/* clang-format off */
static const float fp4_code[16] = {
    0.0f / 12,  0.0625f / 12,  8.0f / 12,  12.0f / 12,  4.0f / 12,  6.0f / 12,  2.0f / 12,  3.0f / 12,
    0.0f / 12, -0.0625f / 12, -8.0f / 12, -12.0f / 12, -4.0f / 12, -6.0f / 12, -2.0f / 12, -3.0f / 12,
};

/* bitsandbytes create_dynamic_map(signed=True), as stored in
 * tests/data/bnb-dynamic8-b256/code.f32 (exact fp32 values). */
static const float dynamic_code[256] = {
    -0x1.fc6666p-1f, -0x1.f53332p-1f, -0x1.eep-1f, -0x1.e6ccccp-1f, -0x1.df9998p-1f, -0x1.d86666p-1f,
    -0x1.d13334p-1f, -0x1.cap-1f, -0x1.c2ccccp-1f, -0x1.bb9998p-1f, -0x1.b46666p-1f, -0x1.ad3332p-1f,
    -0x1.a6p-1f, -0x1.9eccccp-1f, -0x1.979998p-1f, -0x1.906666p-1f, -0x1.893334p-1f, -0x1.82p-1f,
    -0x1.7acccep-1f, -0x1.73999ap-1f, -0x1.6c6668p-1f, -0x1.653334p-1f, -0x1.5ep-1f, -0x1.56cccep-1f,
    -0x1.4f999ap-1f, -0x1.486666p-1f, -0x1.413334p-1f, -0x1.3ap-1f, -0x1.32ccccp-1f, -0x1.2b999ap-1f,
    -0x1.246668p-1f, -0x1.1d3334p-1f, -0x1.16p-1f, -0x1.0eccccp-1f, -0x1.07999ap-1f, -0x1.006666p-1f,
    -0x1.f26668p-2f, -0x1.e4p-2f, -0x1.d59998p-2f, -0x1.c73334p-2f, -0x1.b8ccccp-2f, -0x1.aa6664p-2f,
    -0x1.9cp-2f, -0x1.8d9998p-2f, -0x1.7f3334p-2f, -0x1.70ccccp-2f, -0x1.626664p-2f, -0x1.54p-2f,
    -0x1.459998p-2f, -0x1.373334p-2f, -0x1.28ccccp-2f, -0x1.1a6668p-2f, -0x1.0cp-2f, -0x1.fb3334p-3f,
    -0x1.de6668p-3f, -0x1.c1999ap-3f, -0x1.a4ccccp-3f, -0x1.88p-3f, -0x1.6b3332p-3f, -0x1.4e6666p-3f,
    -0x1.31999ap-3f, -0x1.14ccccp-3f, -0x1.fp-4f, -0x1.b66668p-4f, -0x1.93d70ap-4f, -0x1.8851eap-4f,
    -0x1.7ccccep-4f, -0x1.7147aep-4f, -0x1.65c29p-4f, -0x1.5a3d7p-4f, -0x1.4eb85p-4f, -0x1.433334p-4f,
    -0x1.37ae14p-4f, -0x1.2c28f6p-4f, -0x1.20a3d6p-4f, -0x1.151ebap-4f, -0x1.09999ap-4f, -0x1.fc28f4p-5f,
    -0x1.e51ebap-5f, -0x1.ce147ap-5f, -0x1.b70a3ep-5f, -0x1.ap-5f, -0x1.88f5c2p-5f, -0x1.71eb86p-5f,
    -0x1.5ae146p-5f, -0x1.43d70ap-5f, -0x1.2ccccep-5f, -0x1.15c28ep-5f, -0x1.fd70a4p-6f, -0x1.cf5c26p-6f,
    -0x1.a147aep-6f, -0x1.733334p-6f, -0x1.451eb8p-6f, -0x1.170a3ep-6f, -0x1.d1eb86p-7f, -0x1.75c29p-7f,
    -0x1.3e76c8p-7f, -0x1.2c083p-7f, -0x1.19999ap-7f, -0x1.072b02p-7f, -0x1.e978d4p-8f, -0x1.c49ba6p-8f,
    -0x1.9fbe76p-8f, -0x1.7ae148p-8f, -0x1.56041ap-8f, -0x1.3126e8p-8f, -0x1.0c49bap-8f, -0x1.ced914p-9f,
    -0x1.851eb8p-9f, -0x1.3b645ap-9f, -0x1.e353f8p-10f, -0x1.4fdf3ap-10f, -0x1.eecbfep-11f,
    -0x1.b3d07cp-11f, -0x1.78d5p-11f, -0x1.3dd982p-11f, -0x1.02de02p-11f, -0x1.8fc506p-12f,
    -0x1.19ce0ap-12f, -0x1.47ae16p-13f, -0x1.743e96p-14f, -0x1.15df66p-14f, -0x1.6f0068p-15f,
    -0x1.64840cp-16f, -0x1.040bfep-17f, -0x1.b43528p-19f, -0x1.27476ep-21f, 0x0p+0f, 0x1.27476ep-21f,
    0x1.b43528p-19f, 0x1.040bfep-17f, 0x1.64840cp-16f, 0x1.6f0068p-15f, 0x1.15df66p-14f, 0x1.743e96p-14f,
    0x1.47ae16p-13f, 0x1.19ce0ap-12f, 0x1.8fc506p-12f, 0x1.02de02p-11f, 0x1.3dd982p-11f, 0x1.78d5p-11f,
    0x1.b3d07cp-11f, 0x1.eecbfep-11f, 0x1.4fdf3ap-10f, 0x1.e353f8p-10f, 0x1.3b645ap-9f, 0x1.851eb8p-9f,
    0x1.ced914p-9f, 0x1.0c49bap-8f, 0x1.3126e8p-8f, 0x1.56041ap-8f, 0x1.7ae148p-8f, 0x1.9fbe76p-8f,
    0x1.c49ba6p-8f, 0x1.e978d4p-8f, 0x1.072b02p-7f, 0x1.19999ap-7f, 0x1.2c083p-7f, 0x1.3e76c8p-7f,
    0x1.75c29p-7f, 0x1.d1eb86p-7f, 0x1.170a3ep-6f, 0x1.451eb8p-6f, 0x1.733334p-6f, 0x1.a147aep-6f,
    0x1.cf5c26p-6f, 0x1.fd70a4p-6f, 0x1.15c28ep-5f, 0x1.2ccccep-5f, 0x1.43d70ap-5f, 0x1.5ae146p-5f,
    0x1.71eb86p-5f, 0x1.88f5c2p-5f, 0x1.ap-5f, 0x1.b70a3ep-5f, 0x1.ce147ap-5f, 0x1.e51ebap-5f,
    0x1.fc28f4p-5f, 0x1.09999ap-4f, 0x1.151ebap-4f, 0x1.20a3d6p-4f, 0x1.2c28f6p-4f, 0x1.37ae14p-4f,
    0x1.433334p-4f, 0x1.4eb85p-4f, 0x1.5a3d7p-4f, 0x1.65c29p-4f, 0x1.7147aep-4f, 0x1.7ccccep-4f,
    0x1.8851eap-4f, 0x1.93d70ap-4f, 0x1.b66668p-4f, 0x1.fp-4f, 0x1.14ccccp-3f, 0x1.31999ap-3f,
    0x1.4e6666p-3f, 0x1.6b3332p-3f, 0x1.88p-3f, 0x1.a4ccccp-3f, 0x1.c1999ap-3f, 0x1.de6668p-3f,
    0x1.fb3334p-3f, 0x1.0cp-2f, 0x1.1a6668p-2f, 0x1.28ccccp-2f, 0x1.373334p-2f, 0x1.459998p-2f, 0x1.54p-2f,
    0x1.626664p-2f, 0x1.70ccccp-2f, 0x1.7f3334p-2f, 0x1.8d9998p-2f, 0x1.9cp-2f, 0x1.aa6664p-2f,
    0x1.b8ccccp-2f, 0x1.c73334p-2f, 0x1.d59998p-2f, 0x1.e4p-2f, 0x1.f26668p-2f, 0x1.006666p-1f,
    0x1.07999ap-1f, 0x1.0eccccp-1f, 0x1.16p-1f, 0x1.1d3334p-1f, 0x1.246668p-1f, 0x1.2b999ap-1f,
    0x1.32ccccp-1f, 0x1.3ap-1f, 0x1.413334p-1f, 0x1.486666p-1f, 0x1.4f999ap-1f, 0x1.56cccep-1f, 0x1.5ep-1f,
    0x1.653334p-1f, 0x1.6c6668p-1f, 0x1.73999ap-1f, 0x1.7acccep-1f, 0x1.82p-1f, 0x1.893334p-1f,
    0x1.906666p-1f, 0x1.979998p-1f, 0x1.9eccccp-1f, 0x1.a6p-1f, 0x1.ad3332p-1f, 0x1.b46666p-1f,
    0x1.bb9998p-1f, 0x1.c2ccccp-1f, 0x1.cap-1f, 0x1.d13334p-1f, 0x1.d86666p-1f, 0x1.df9998p-1f,
    0x1.e6ccccp-1f, 0x1.eep-1f, 0x1.f53332p-1f, 0x1.fc6666p-1f, 0x1p+0f,
};
/* clang-format on */

const float *ref_code(clq_format format)
{
    switch (format) {
    case CLQ_FORMAT_NF4:
        return nf4_code;
    case CLQ_FORMAT_FP4:
        return fp4_code;
    case CLQ_FORMAT_DYNAMIC8:
        return dynamic_code;
    default:
        return NULL;
    }
}

/* A code sorted by value, with the midpoints between neighbours. bitsandbytes
 * picks the code interval by these midpoints, ties (x == midpoint) to the
 * lower one; this is not the same as an argmin of |x - code|: the two differ
 * where |x - code| rounds, and at FP4's two zeros (indices 0 and 8), where
 * x > 0 goes to index 8 and x <= 0 to index 0, as the vectors show. */
typedef struct codebook {
    int n;
    uint8_t order[256]; /* code index of the k-th smallest value (stable sort) */
    float mid[255];     /* (sorted[k] + sorted[k+1]) / 2 in fp32 */
} codebook;

static void codebook_init(codebook *cb, const float *code, int n)
{
    cb->n = n;
    for (int i = 0; i < n; i++) {
        int k = i;
        /* insertion sort; strict < keeps equal values (0 and 0) in index order */
        while (k > 0 && code[i] < code[cb->order[k - 1]]) {
            cb->order[k] = cb->order[k - 1];
            k--;
        }
        cb->order[k] = (uint8_t)i;
    }
    for (int k = 0; k + 1 < n; k++)
        cb->mid[k] = (code[cb->order[k]] + code[cb->order[k + 1]]) * 0.5f;
}

/* The code index for a value already scaled to [-1, 1]. */
static uint8_t codebook_find(const codebook *cb, float s)
{
    int k = 0;
    while (k < cb->n - 1 && cb->mid[k] < s)
        k++;
    return cb->order[k];
}

/* ------------------------------------------------------------------------ */
/* Per-block quantizers                                                      */
/* ------------------------------------------------------------------------ */

/* ggml converts float to int8_t implicitly. Out of range (only reachable when
 * 1/d overflows for a subnormal d) that is undefined in C; x86 truncates to
 * int32 (INT_MIN when out of range) and keeps the low byte, so do that. */
static int8_t to_int8_x86(float v)
{
    if (!(v > -2147483648.0f && v < 2147483648.0f))
        return 0;
    return (int8_t)(uint8_t)((uint32_t)(int32_t)v & 0xffu);
}

/* ggml quantize_row_q8_0_ref (any block size). */
static void quant_block_q8(const float *x, size_t n, uint8_t *q, float *scale, uint16_t *scale_f16)
{
    float amax = 0.0f;
    for (size_t j = 0; j < n; j++)
        amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *scale_f16 = clq_fp32_to_fp16(d);
    *scale = clq_fp16_to_fp32(*scale_f16);
    for (size_t j = 0; j < n; j++)
        q[j] = (uint8_t)to_int8_x86(roundf(x[j] * id));
}

/* ggml quantize_row_q4_0_ref: the scale keeps the sign of the first element
 * of largest magnitude, so that element maps to code 0 exactly (-8 · d). */
static void quant_block_q4(const float *x, size_t n, uint8_t *q, float *scale, uint16_t *scale_f16)
{
    float amax = 0.0f, m = 0.0f;
    for (size_t j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            m = x[j];
        }
    }
    const float d = m / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *scale_f16 = clq_fp32_to_fp16(d);
    *scale = clq_fp16_to_fp32(*scale_f16);
    for (size_t j = 0; j < n; j++) {
        const int v = to_int8_x86(x[j] * id + 8.5f); /* truncation, as ggml */
        q[j] = (uint8_t)(v < 15 ? v : 15);
    }
}

/* ONNX Runtime MLAS BlockwiseQuantizer::range2scalezp and its quantizer. */
static void quant_block_q4z(const float *x, size_t n, uint8_t *q, float *scale, uint8_t *zero)
{
    float mn = 0.0f, mx = 0.0f; /* the range always contains 0 */
    for (size_t j = 0; j < n; j++) {
        mn = x[j] < mn ? x[j] : mn;
        mx = x[j] > mx ? x[j] : mx;
    }
    const float s = (mx - mn) / 15.0f;
    float zf = mn;
    if (s != 0.0f)
        zf = 0.0f - mn / s;
    const uint8_t z = zf < 0.0f ? 0 : zf > 15.0f ? 15 : (uint8_t)roundf(zf);
    const float rs = s != 0.0f ? 1.0f / s : 0.0f;
    for (size_t j = 0; j < n; j++) {
        float v = roundf(x[j] * rs + (float)z);
        v = !(v > 0.0f) ? 0.0f : v > 15.0f ? 15.0f : v; /* NaN -> 0 */
        q[j] = (uint8_t)v;
    }
    *scale = s;
    *zero = z;
}

static float block_absmax(const float *x, size_t n)
{
    float amax = 0.0f;
    for (size_t j = 0; j < n; j++)
        amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    return amax;
}

/* bitsandbytes blockwise code quantization: x · (1/absmax), clamped to
 * [-1, 1], then the code interval. An all-zero block uses 1/absmax = 0 (bnb
 * would compute 0 · inf = NaN), so it maps to the code's zero. */
static void quant_block_code(const codebook *cb, const float *x, size_t n, float absmax, uint8_t *q)
{
    const float inv = absmax != 0.0f ? 1.0f / absmax : 0.0f;
    for (size_t j = 0; j < n; j++) {
        float s = x[j] * inv;
        s = s < -1.0f ? -1.0f : s > 1.0f ? 1.0f : s;
        q[j] = codebook_find(cb, s);
    }
}

/* ------------------------------------------------------------------------ */
/* Whole matrix                                                              */
/* ------------------------------------------------------------------------ */

static int is_code_format(clq_format f)
{
    return f == CLQ_FORMAT_NF4 || f == CLQ_FORMAT_FP4 || f == CLQ_FORMAT_DYNAMIC8;
}

static int desc_ok(const clq_weight_desc *d)
{
    if (d->format < CLQ_FORMAT_Q8 || d->format > CLQ_FORMAT_DYNAMIC8)
        return 0;
    if (d->block == 0 || d->rows == 0 || d->cols == 0 || d->cols % d->block != 0)
        return 0;
    if (d->rows > SIZE_MAX / d->cols || d->rows * d->cols > SIZE_MAX / sizeof(float))
        return 0;
    if (d->double_quant && d->format != CLQ_FORMAT_NF4 && d->format != CLQ_FORMAT_FP4)
        return 0;
    return 1;
}

static size_t nested_count(size_t nblocks)
{
    return (nblocks + REF_NESTED_BLOCK - 1) / REF_NESTED_BLOCK;
}

static int quant_alloc(ref_quant *r)
{
    const size_t count = (size_t)(r->desc.rows * r->desc.cols);
    const clq_format f = r->desc.format;
    r->q = malloc(count);
    r->scale = malloc(r->nblocks * sizeof(float));
    if (f == CLQ_FORMAT_Q4 || f == CLQ_FORMAT_Q8)
        r->scale_f16 = malloc(r->nblocks * sizeof(uint16_t));
    if (f == CLQ_FORMAT_Q4Z)
        r->zero = malloc(r->nblocks);
    if (r->desc.double_quant) {
        r->absmax_q = malloc(r->nblocks);
        r->nested_absmax = malloc(nested_count(r->nblocks) * sizeof(float));
    }
    if (!r->q || !r->scale || ((f == CLQ_FORMAT_Q4 || f == CLQ_FORMAT_Q8) && !r->scale_f16) ||
        (f == CLQ_FORMAT_Q4Z && !r->zero) || (r->desc.double_quant && (!r->absmax_q || !r->nested_absmax)))
        return -1;
    return 0;
}

/* bitsandbytes compress_statistics: offset = mean(absmax) (torch reduces in
 * higher precision; double reproduces it), then absmax - offset quantized with
 * the dynamic code in groups of 256. The 4-bit codes were already chosen from
 * the original absmax; only the scales used for dequantization change. */
static void double_quantize(ref_quant *r)
{
    const size_t nb = r->nblocks;
    double sum = 0.0;
    for (size_t i = 0; i < nb; i++)
        sum += r->scale[i];
    r->offset = (float)(sum / (double)nb);

    codebook cb;
    codebook_init(&cb, dynamic_code, 256);
    for (size_t g = 0; g * REF_NESTED_BLOCK < nb; g++) {
        const size_t start = g * REF_NESTED_BLOCK;
        const size_t len = nb - start < REF_NESTED_BLOCK ? nb - start : REF_NESTED_BLOCK;
        float t[REF_NESTED_BLOCK];
        for (size_t i = 0; i < len; i++)
            t[i] = r->scale[start + i] - r->offset;
        r->nested_absmax[g] = block_absmax(t, len);
        quant_block_code(&cb, t, len, r->nested_absmax[g], r->absmax_q + start);
    }
    for (size_t i = 0; i < nb; i++) {
        const float v = dynamic_code[r->absmax_q[i]] * r->nested_absmax[i / REF_NESTED_BLOCK];
        r->scale[i] = v + r->offset; /* two roundings, as bnb: (code · absmax2) + offset */
    }
}

static void quantize_blocks(ref_quant *r, const float *x)
{
    const size_t bs = r->desc.block;
    codebook cb;
    if (is_code_format(r->desc.format))
        codebook_init(&cb, ref_code(r->desc.format), r->desc.format == CLQ_FORMAT_DYNAMIC8 ? 256 : 16);
    for (size_t b = 0; b < r->nblocks; b++) {
        const float *xb = x + b * bs;
        uint8_t *qb = r->q + b * bs;
        switch (r->desc.format) {
        case CLQ_FORMAT_Q8:
            quant_block_q8(xb, bs, qb, &r->scale[b], &r->scale_f16[b]);
            break;
        case CLQ_FORMAT_Q4:
            quant_block_q4(xb, bs, qb, &r->scale[b], &r->scale_f16[b]);
            break;
        case CLQ_FORMAT_Q4Z:
            quant_block_q4z(xb, bs, qb, &r->scale[b], &r->zero[b]);
            break;
        default:
            r->scale[b] = block_absmax(xb, bs);
            quant_block_code(&cb, xb, bs, r->scale[b], qb);
            break;
        }
    }
}

int ref_quantize(const clq_weight_desc *desc, const float *x, ref_quant *out)
{
    if (!desc || !x || !out || !desc_ok(desc))
        return -1;
    ref_quant r;
    memset(&r, 0, sizeof r);
    r.desc = *desc;
    r.desc.double_quant = desc->double_quant ? 1 : 0;
    r.nblocks = (size_t)(desc->rows * desc->cols / desc->block);
    if (quant_alloc(&r) != 0) {
        ref_quant_free(&r);
        return -1;
    }
    quantize_blocks(&r, x);
    if (r.desc.double_quant)
        double_quantize(&r);
    *out = r;
    return 0;
}

void ref_quant_free(ref_quant *q)
{
    if (!q)
        return;
    free(q->q);
    free(q->scale);
    free(q->scale_f16);
    free(q->zero);
    free(q->absmax_q);
    free(q->nested_absmax);
    memset(q, 0, sizeof *q);
}

void ref_dequantize(const ref_quant *q, float *y)
{
    const size_t count = (size_t)(q->desc.rows * q->desc.cols);
    const float *code = ref_code(q->desc.format);
    for (size_t i = 0; i < count; i++) {
        const size_t b = i / q->desc.block;
        switch (q->desc.format) {
        case CLQ_FORMAT_Q8:
            y[i] = (float)(int8_t)q->q[i] * q->scale[b];
            break;
        case CLQ_FORMAT_Q4:
            y[i] = (float)((int)q->q[i] - 8) * q->scale[b];
            break;
        case CLQ_FORMAT_Q4Z:
            y[i] = (float)((int)q->q[i] - (int)q->zero[b]) * q->scale[b];
            break;
        default:
            y[i] = code[q->q[i]] * q->scale[b];
            break;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* External layouts                                                          */
/* ------------------------------------------------------------------------ */

static void put_f16(uint8_t *p, uint16_t h)
{
    p[0] = (uint8_t)(h & 0xffu); /* little-endian whatever the host */
    p[1] = (uint8_t)(h >> 8);
}

static void *dup_floats(const float *src, size_t count)
{
    void *p = malloc(count * sizeof(float));
    if (p)
        memcpy(p, src, count * sizeof(float));
    return p;
}

/* ggml block_q4_0 / block_q8_0 (block 32 only). */
static int pack_ggml(const ref_quant *r, clq_external *e)
{
    const int is_q4 = r->desc.format == CLQ_FORMAT_Q4;
    const size_t bytes_per_block = is_q4 ? 2 + 16 : 2 + 32;
    if (r->desc.block != 32 || (!is_q4 && r->desc.format != CLQ_FORMAT_Q8))
        return -1;
    uint8_t *d = malloc(r->nblocks * bytes_per_block);
    if (!d)
        return -1;
    for (size_t b = 0; b < r->nblocks; b++) {
        uint8_t *blk = d + b * bytes_per_block;
        const uint8_t *q = r->q + b * 32;
        put_f16(blk, r->scale_f16[b]);
        for (size_t j = 0; j < (is_q4 ? 16u : 32u); j++)
            blk[2 + j] = is_q4 ? (uint8_t)(q[j] | (q[j + 16] << 4)) : q[j];
    }
    e->data = d;
    e->data_bytes = r->nblocks * bytes_per_block;
    return 0;
}

/* Two 4-bit values per byte; an odd count leaves the last byte's second nibble 0. */
static uint8_t *pack_nibbles(const uint8_t *q, size_t count, int high_first, size_t *bytes)
{
    *bytes = (count + 1) / 2;
    uint8_t *d = calloc(*bytes ? *bytes : 1, 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        const int first = (i % 2 == 0);
        const unsigned shift = (first == high_first) ? 4u : 0u;
        d[i / 2] |= (uint8_t)((q[i] & 0x0fu) << shift);
    }
    return d;
}

static int pack_bnb_scales(const ref_quant *r, clq_external *e)
{
    if (!r->desc.double_quant) {
        e->scales = dup_floats(r->scale, r->nblocks);
        e->scales_bytes = r->nblocks * sizeof(float);
        return e->scales ? 0 : -1;
    }
    const size_t nn = nested_count(r->nblocks);
    e->scales = malloc(r->nblocks);
    if (e->scales)
        memcpy(e->scales, r->absmax_q, r->nblocks);
    e->scales_bytes = r->nblocks;
    e->nested_absmax = dup_floats(r->nested_absmax, nn);
    e->nested_absmax_bytes = nn * sizeof(float);
    e->nested_code = dup_floats(dynamic_code, 256);
    e->nested_code_bytes = 256 * sizeof(float);
    e->offset = r->offset;
    return e->scales && e->nested_absmax && e->nested_code ? 0 : -1;
}

/* bitsandbytes: flat over [N, K]; 4-bit with element 2i in the HIGH nibble. */
static int pack_bnb(const ref_quant *r, clq_external *e)
{
    const size_t count = (size_t)(r->desc.rows * r->desc.cols);
    if (r->desc.format == CLQ_FORMAT_DYNAMIC8) {
        e->data = malloc(count);
        if (e->data)
            memcpy(e->data, r->q, count);
        e->data_bytes = count;
        e->scales = dup_floats(r->scale, r->nblocks);
        e->scales_bytes = r->nblocks * sizeof(float);
        e->nested_code = dup_floats(dynamic_code, 256);
        e->nested_code_bytes = 256 * sizeof(float);
        return e->data && e->scales && e->nested_code ? 0 : -1;
    }
    if (r->desc.format != CLQ_FORMAT_NF4 && r->desc.format != CLQ_FORMAT_FP4)
        return -1;
    e->data = pack_nibbles(r->q, count, 1, &e->data_bytes);
    if (!e->data)
        return -1;
    return pack_bnb_scales(r, e);
}

/* ONNX Runtime MatMulNBits: B is [N, K/block, block/2], element 2i LOW;
 * zero points two per byte, low first, each row starting on a new byte
 * (an odd count leaves the last high nibble unused: 8, as ORT writes it). */
static int pack_ort(const ref_quant *r, clq_external *e)
{
    if (r->desc.format != CLQ_FORMAT_Q4Z || r->desc.block % 2 != 0)
        return -1;
    const size_t count = (size_t)(r->desc.rows * r->desc.cols);
    const size_t bpr = (size_t)(r->desc.cols / r->desc.block); /* blocks per row */
    const size_t zbytes = (bpr + 1) / 2;
    e->data = pack_nibbles(r->q, count, 0, &e->data_bytes);
    e->scales = dup_floats(r->scale, r->nblocks);
    e->scales_bytes = r->nblocks * sizeof(float);
    e->zero_points_bytes = (size_t)r->desc.rows * zbytes;
    e->zero_points = calloc(e->zero_points_bytes, 1);
    if (!e->data || !e->scales || !e->zero_points)
        return -1;
    uint8_t *zp = e->zero_points;
    for (size_t row = 0; row < r->desc.rows; row++) {
        for (size_t j = 0; j < bpr; j++) {
            const uint8_t z = r->zero[row * bpr + j] & 0x0fu;
            zp[row * zbytes + j / 2] |= (uint8_t)(j % 2 == 0 ? z : z << 4);
        }
        if (bpr % 2 == 1) /* the unused high nibble: ORT writes its default zero point */
            zp[row * zbytes + zbytes - 1] |= 0x80u;
    }
    return 0;
}

int ref_pack(const ref_quant *q, clq_layout layout, clq_external *out)
{
    if (!q || !out || !q->q)
        return -1;
    clq_external e;
    memset(&e, 0, sizeof e);
    int rc = -1;
    switch (layout) {
    case CLQ_LAYOUT_GGML:
        rc = pack_ggml(q, &e);
        break;
    case CLQ_LAYOUT_BNB:
        rc = pack_bnb(q, &e);
        break;
    case CLQ_LAYOUT_ORT:
        rc = pack_ort(q, &e);
        break;
    default:
        break;
    }
    if (rc != 0) {
        ref_external_free(&e);
        return -1;
    }
    *out = e;
    return 0;
}

void ref_external_free(clq_external *e)
{
    if (!e)
        return;
    free(e->data);
    free(e->scales);
    free(e->zero_points);
    free(e->nested_absmax);
    free(e->nested_code);
    memset(e, 0, sizeof *e);
}

/* ---- matmul reference ---------------------------------------------------------- */

static double gamma_n(double n)
{
    const double u = 1.0 / 16777216.0; /* 2^-24, fp32 unit roundoff */
    return n * u / (1.0 - n * u);
}

/* T_j = x·A_j and its magnitude Σ_k |x_k·A_jk| for one row x. */
static void lora_shrink(const ref_adapter *ad, uint64_t k, const float *xr, double *t, double *tmag)
{
    for (uint32_t j = 0; j < ad->rank; j++) {
        const float *arow = ad->a + (uint64_t)j * k;
        t[j] = tmag[j] = 0.0;
        for (uint64_t kk = 0; kk < k; kk++) {
            t[j] += (double)xr[kk] * arow[kk];
            tmag[j] += fabs((double)xr[kk] * arow[kk]);
        }
    }
}

void ref_matmul(const float *w, uint64_t n, uint64_t k, const float *x, uint64_t m, const float *bias,
                const ref_adapter *adapters, size_t n_adapters, const int32_t *index, double *y,
                double *bound)
{
    uint32_t r_max = 0;
    for (size_t i = 0; i < n_adapters; i++)
        r_max = adapters[i].rank > r_max ? adapters[i].rank : r_max;
    double *t = malloc((r_max + 1) * sizeof *t), *tmag = malloc((r_max + 1) * sizeof *tmag);
    for (uint64_t mi = 0; mi < m; mi++) {
        const float *xr = x + mi * k;
        int a = n_adapters == 0 ? -1 : index ? index[mi] : 0;
        const ref_adapter *ad = a >= 0 ? &adapters[a] : NULL;
        if (ad)
            lora_shrink(ad, k, xr, t, tmag);
        for (uint64_t ni = 0; ni < n; ni++) {
            const float *wr = w + ni * k;
            double sum = 0.0, mag = 0.0;
            for (uint64_t kk = 0; kk < k; kk++) {
                sum += (double)xr[kk] * wr[kk];
                mag += fabs((double)xr[kk] * wr[kk]);
            }
            if (bias) {
                sum += bias[ni];
                mag += fabs((double)bias[ni]);
            }
            double side = 0.0, side_mag = 0.0;
            for (uint32_t j = 0; ad && j < ad->rank; j++) {
                double b = ad->b[ni * ad->rank + j];
                side += b * t[j];
                side_mag += fabs(b) * tmag[j];
            }
            if (ad) {
                sum += (double)ad->scale * side;
                mag += fabs((double)ad->scale) * side_mag;
            }
            y[mi * n + ni] = sum;
            bound[mi * n + ni] = gamma_n((double)(k + (ad ? ad->rank : 0) + 4)) * mag;
        }
    }
    free(t);
    free(tmag);
}

/*
 * Dequantization of the ggml formats (ggml_blocks.cl, prepended with
 * dequant.cl): ggml's to_float, bit for bit, as an N×K fp32 or fp16 matrix.
 */

/* BODY(fmt) with the runtime `format` as a constant: one copy of the loop
 * per format, each compiled for its format. */
#define FOR_GGML_FORMAT(format, BODY)                                                                        \
    switch (format) {                                                                                        \
    case CLQ_FMT_Q4_1:                                                                                       \
        BODY(CLQ_FMT_Q4_1);                                                                                  \
        break;                                                                                               \
    case CLQ_FMT_Q5_0:                                                                                       \
        BODY(CLQ_FMT_Q5_0);                                                                                  \
        break;                                                                                               \
    case CLQ_FMT_Q5_1:                                                                                       \
        BODY(CLQ_FMT_Q5_1);                                                                                  \
        break;                                                                                               \
    case CLQ_FMT_Q2_K:                                                                                       \
        BODY(CLQ_FMT_Q2_K);                                                                                  \
        break;                                                                                               \
    case CLQ_FMT_Q3_K:                                                                                       \
        BODY(CLQ_FMT_Q3_K);                                                                                  \
        break;                                                                                               \
    case CLQ_FMT_Q4_K:                                                                                       \
        BODY(CLQ_FMT_Q4_K);                                                                                  \
        break;                                                                                               \
    case CLQ_FMT_Q5_K:                                                                                       \
        BODY(CLQ_FMT_Q5_K);                                                                                  \
        break;                                                                                               \
    case CLQ_FMT_Q6_K:                                                                                       \
        BODY(CLQ_FMT_Q6_K);                                                                                  \
        break;                                                                                               \
    case CLQ_FMT_IQ4_NL:                                                                                     \
        BODY(CLQ_FMT_IQ4_NL);                                                                                \
        break;                                                                                               \
    case CLQ_FMT_IQ4_XS:                                                                                     \
        BODY(CLQ_FMT_IQ4_XS);                                                                                \
        break;                                                                                               \
    }

/* One work-item per block: block j of row `row`, blocks numbered row by
 * row (g = row·nb + j), taken 16 elements at a time, so that each 16's
 * scale and offset are decoded once (ggml_blocks.cl): decoded with each
 * element, they made up most of the work. */
kernel void clq_dequantize_ggml(uint format, uint rows, uint cols, global const uchar *quants,
                                global void *dst, uint dst_half)
{
    uint g = get_global_id(0);
#define DEQUANTIZE_BLOCK(fmt)                                                                                \
    {                                                                                                        \
        const uint block = CLQ_GGML_BLOCK_OF(fmt), nb = cols / block;                                        \
        uint row = g / nb, k0 = g % nb * block, l = row % CLQ_TILE_ROWS;                                     \
        if (row >= rows)                                                                                     \
            return;                                                                                          \
        global const uchar *grp = ggml_group_at(fmt, quants, row, k0, cols);                                 \
        ulong at = (ulong)row * cols + k0;                                                                   \
        for (uint e0 = 0; e0 < block; e0 += 16) {                                                            \
            float2 so = ggml_scale_offset(fmt, grp, l, e0);                                                  \
            float v[16];                                                                                     \
            _Pragma("unroll") for (uint i = 0; i < 16; i++) v[i] =                                           \
                so.x * ggml_code(fmt, grp, l, e0 + i) + so.y;                                                \
            if (dst_half)                                                                                    \
                vstore_half16_rte(vload16(0, v), 0, (global half *)dst + at + e0);                           \
            else                                                                                             \
                vstore16(vload16(0, v), 0, (global float *)dst + at + e0);                                   \
        }                                                                                                    \
    }
    FOR_GGML_FORMAT(format, DEQUANTIZE_BLOCK);
#undef DEQUANTIZE_BLOCK
}

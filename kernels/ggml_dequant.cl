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
 * row (g = row·nb + j). */
kernel void clq_dequantize_ggml(uint format, uint rows, uint cols, global const uchar *quants,
                                global void *dst, uint dst_half)
{
    uint g = get_global_id(0);
#define DEQUANTIZE_BLOCK(fmt)                                                                                \
    {                                                                                                        \
        const uint block = CLQ_GGML_BLOCK_OF(fmt), nb = cols / block;                                        \
        uint row = g / nb, k0 = g % nb * block;                                                              \
        if (row >= rows)                                                                                     \
            return;                                                                                          \
        global const uchar *grp = ggml_group_at(fmt, quants, row, k0, cols);                                 \
        ulong at = (ulong)row * cols + k0;                                                                   \
        for (uint e = 0; e < block; e++)                                                                     \
            store_y(dst, dst_half, at + e, ggml_value(fmt, grp, row % CLQ_TILE_ROWS, e));                    \
    }
    FOR_GGML_FORMAT(format, DEQUANTIZE_BLOCK);
#undef DEQUANTIZE_BLOCK
}

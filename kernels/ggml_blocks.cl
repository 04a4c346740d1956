/*
 * ggml's block types (clq_common.h's clq_block_* structs): the value of one
 * element, read from its block's own bytes, equal to ggml's to_float bit for
 * bit. Prepended (after dequant.cl) to the programs that read these formats:
 * ggml_dequant.cl and matmul.cl.
 *
 * These formats do not fit dequant.cl's CLQ_UNSCALED (one code per element
 * times one scale per block): the K-quants scale each sub-block of 16 or 32
 * by a packed 6-bit (or 4-bit, or int8) factor of the super-block's fp16
 * scale and subtract a min, and the 5- and 6-bit codes are split over two
 * arrays. So the device keeps ggml's blocks whole (clq_common.h, "ggml
 * block tiles") and an element is decoded from its block where it is used.
 *
 * Contraction stays off (as dequant.cl leaves it): ggml computes d·sc, then
 * (d·sc)·q, then the subtraction of dmin·mn, each rounded; an fma would
 * change the bits. The operation order in each case below is ggml's (and
 * tests/ref/ggml_ref.c's).
 */
#pragma OPENCL FP_CONTRACT OFF

constant float iq4nl_code[16] = {CLQ_IQ4NL_CODE_VALUES};

/* fp16 bits to float (blocks are byte arrays; their fp16 values are not
 * 2-byte aligned in every type), through vload_half from a private copy. */
inline float ggml_half(global const uchar *b, uint at)
{
    ushort h = (ushort)((uint)b[at] | (uint)b[at + 1] << 8);
    return vload_half(0, (const private half *)&h);
}

/* The 4-bit code of element j of a 32-element group whose 16 bytes are qs:
 * byte j holds element j (low nibble) and j+16 (high). */
inline uint ggml_nibble32(global const uchar *qs, uint j)
{
    return j < 16 ? qs[j] & 15u : (uint)qs[j - 16] >> 4;
}

/* q4_k / q5_k: the 6-bit scale and min of sub-block j (clq_common.h). */
inline uint2 ggml_kscale(global const uchar *s, uint j)
{
    if (j < 4)
        return (uint2)(s[j] & 63u, s[j + 4] & 63u);
    uint sc = (s[j + 4] & 15u) | ((uint)s[j - 4] >> 6) << 4;
    uint mn = ((uint)s[j + 4] >> 4) | ((uint)s[j] >> 6) << 4;
    return (uint2)(sc, mn);
}

/* Element e (0 .. block-1) of the block at b, format FMT (a compile-time
 * constant wherever this is used, so only its case is compiled). */
static inline __attribute__((always_inline)) float ggml_value(const uint FMT, global const uchar *b, uint e)
{
    if (FMT == CLQ_FMT_Q4_1) {
        float d = ggml_half(b, 0), m = ggml_half(b, 2);
        return (float)ggml_nibble32(b + 4, e) * d + m;
    }
    if (FMT == CLQ_FMT_Q5_0 || FMT == CLQ_FMT_Q5_1) {
        uint off = FMT == CLQ_FMT_Q5_0 ? 2 : 4; /* qh, then qs */
        uint q = ggml_nibble32(b + off + 4, e) | (((uint)b[off + e / 8] >> (e % 8)) & 1u) << 4;
        float d = ggml_half(b, 0);
        if (FMT == CLQ_FMT_Q5_0)
            return (float)((int)q - 16) * d;
        return (float)q * d + ggml_half(b, 2);
    }
    if (FMT == CLQ_FMT_IQ4_NL)
        return ggml_half(b, 0) * iq4nl_code[ggml_nibble32(b + 2, e)];
    if (FMT == CLQ_FMT_IQ4_XS) {
        uint s = e / 32, scales_h = (uint)b[2] | (uint)b[3] << 8;
        int ls = (int)((((uint)b[4 + s / 2] >> (4 * (s % 2))) & 15u) | ((scales_h >> (2 * s)) & 3u) << 4);
        float dl = ggml_half(b, 0) * (float)(ls - 32);
        return dl * iq4nl_code[ggml_nibble32(b + 8 + 16 * s, e % 32)];
    }
    uint h = e / 128, s = e % 128 / 32, i = e % 32;
    if (FMT == CLQ_FMT_Q2_K) {
        uint q = ((uint)b[16 + 32 * h + i] >> (2 * s)) & 3u, sc = b[e / 16];
        float dl = ggml_half(b, 80) * (float)(sc & 15u), ml = ggml_half(b, 82) * (float)(sc >> 4);
        return dl * (float)q - ml;
    }
    if (FMT == CLQ_FMT_Q3_K) {
        global const uchar *sc = b + 96;
        uint j = e / 16;
        uint low6 = j < 8 ? sc[j] & 15u : (uint)sc[j - 8] >> 4;
        int sc6 = (int)(low6 | (((uint)sc[8 + j % 4] >> (2 * (j / 4))) & 3u) << 4);
        int low = (int)(((uint)b[32 + 32 * h + i] >> (2 * s)) & 3u);
        int high = (int)(((uint)b[e % 32] >> (e / 32)) & 1u);
        float dl = ggml_half(b, 108) * (float)(sc6 - 32);
        return dl * (float)(low - (high ? 0 : 4));
    }
    if (FMT == CLQ_FMT_Q4_K || FMT == CLQ_FMT_Q5_K) {
        uint2 sm = ggml_kscale(b + 4, e / 32);
        uint qs_at = FMT == CLQ_FMT_Q4_K ? 16 : 48;
        uint byte = b[qs_at + 32 * (e / 64) + e % 32];
        uint q = e % 64 < 32 ? byte & 15u : byte >> 4;
        if (FMT == CLQ_FMT_Q5_K)
            q += (((uint)b[16 + e % 32] >> (e / 32)) & 1u) * 16u;
        float dl = ggml_half(b, 0) * (float)sm.x, ml = ggml_half(b, 2) * (float)sm.y;
        return dl * (float)q - ml;
    }
    /* CLQ_FMT_Q6_K */
    uint lbyte = b[64 * h + 32 * (s & 1) + i];
    uint low = s < 2 ? lbyte & 15u : lbyte >> 4;
    int q = (int)(low | (((uint)b[128 + 32 * h + i] >> (2 * s)) & 3u) << 4) - 32;
    /* (d·sc)·q: the scale product first, as ggml multiplies */
    return ggml_half(b, 208) * (float)as_char(b[192 + e / 16]) * (float)q;
}

/* The block holding element k of row `row` of an N×K weight of format FMT
 * in ggml block tiles (clq_common.h). */
inline global const uchar *ggml_block_at(const uint FMT, global const uchar *quants, uint row, uint k,
                                         uint cols)
{
    uint nb = cols / CLQ_GGML_BLOCK_OF(FMT), j = k / CLQ_GGML_BLOCK_OF(FMT);
    ulong t = ((ulong)(row / CLQ_TILE_ROWS) * nb + j) * CLQ_TILE_ROWS + row % CLQ_TILE_ROWS;
    return quants + t * CLQ_GGML_BYTES_OF(FMT);
}

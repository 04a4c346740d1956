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
 * arrays. So the device keeps ggml's blocks' bytes (clq_common.h, "ggml
 * block tiles") and an element is decoded from its block where it is used.
 *
 * Contraction stays off (as dequant.cl leaves it): ggml computes d·sc, then
 * (d·sc)·q, then the subtraction of dmin·mn, each rounded; an fma would
 * change the bits. The operation order in each case below is ggml's (and
 * tests/ref/ggml_ref.c's).
 */
#pragma OPENCL FP_CONTRACT OFF

constant float iq4nl_code[16] = {CLQ_IQ4NL_CODE_VALUES};

/* A block is lane l of the group of 16 blocks at g (clq_common.h, "ggml
 * block tiles"); byte i of it is GGML_BYTE(FMT, g, l, i). */
#define GGML_BYTE(FMT, g, l, i) ((uint)(g)[ggml_tile_byte(FMT, l, i)])

/* The fp16 value at bytes at, at+1 of the block: every fp16 field starts
 * at an even byte, so its two bytes stay side by side in the group. */
inline float ggml_half(const uint FMT, global const uchar *g, uint l, uint at)
{
    return vload_half(0, (global const half *)(g + ggml_tile_byte(FMT, l, at)));
}

/* The 4-bit code of element j of a 32-element group whose 16 bytes start
 * at byte `at`: byte j holds element j (low nibble) and j+16 (high). */
inline uint ggml_nibble32(const uint FMT, global const uchar *g, uint l, uint at, uint j)
{
    uint byte = GGML_BYTE(FMT, g, l, at + j % 16);
    return j < 16 ? byte & 15u : byte >> 4;
}

/* q4_k / q5_k: the 6-bit scale and min of sub-block j (clq_common.h), from
 * the 12 scale bytes at byte 4. */
inline uint2 ggml_kscale(const uint FMT, global const uchar *g, uint l, uint j)
{
#define S(i) GGML_BYTE(FMT, g, l, 4 + (i))
    if (j < 4)
        return (uint2)(S(j) & 63u, S(j + 4) & 63u);
    uint sc = (S(j + 4) & 15u) | (S(j - 4) >> 6) << 4;
    uint mn = (S(j + 4) >> 4) | (S(j) >> 6) << 4;
    return (uint2)(sc, mn);
#undef S
}

/* Every format's element is scale·code + offset, two roundings, as ggml's
 * to_float computes it: scale and offset belong to the element's 16 (every
 * sub-block is 16 or 32 elements), the code to the element. Where ggml
 * subtracts a min the offset is the min negated (x − m is x + (−m) in
 * IEEE arithmetic); where ggml adds nothing it is −0.0, which leaves every
 * x as it is, signed zeros included.
 *
 * Scale and offset of element e (0 .. block-1) of lane l's block in the
 * group at g, format FMT (a compile-time constant wherever this is used,
 * so only its case is compiled). */
static inline __attribute__((always_inline)) float2 ggml_scale_offset(const uint FMT, global const uchar *g,
                                                                      uint l, uint e)
{
#define B(i) GGML_BYTE(FMT, g, l, i)
    if (FMT == CLQ_FMT_Q4_1 || FMT == CLQ_FMT_Q5_1)
        return (float2)(ggml_half(FMT, g, l, 0), ggml_half(FMT, g, l, 2));
    if (FMT == CLQ_FMT_Q5_0 || FMT == CLQ_FMT_IQ4_NL)
        return (float2)(ggml_half(FMT, g, l, 0), -0.0f);
    if (FMT == CLQ_FMT_IQ4_XS) {
        uint s = e / 32, scales_h = B(2) | B(3) << 8;
        int ls = (int)(((B(4 + s / 2) >> (4 * (s % 2))) & 15u) | ((scales_h >> (2 * s)) & 3u) << 4);
        return (float2)(ggml_half(FMT, g, l, 0) * (float)(ls - 32), -0.0f);
    }
    if (FMT == CLQ_FMT_Q2_K) {
        uint sc = B(e / 16);
        return (float2)(ggml_half(FMT, g, l, 80) * (float)(sc & 15u),
                        -(ggml_half(FMT, g, l, 82) * (float)(sc >> 4)));
    }
    if (FMT == CLQ_FMT_Q3_K) {
        uint j = e / 16;
        uint low6 = j < 8 ? B(96 + j) & 15u : B(96 + j - 8) >> 4;
        int sc6 = (int)(low6 | ((B(104 + j % 4) >> (2 * (j / 4))) & 3u) << 4);
        return (float2)(ggml_half(FMT, g, l, 108) * (float)(sc6 - 32), -0.0f);
    }
    if (FMT == CLQ_FMT_Q4_K || FMT == CLQ_FMT_Q5_K) {
        uint2 sm = ggml_kscale(FMT, g, l, e / 32);
        return (float2)(ggml_half(FMT, g, l, 0) * (float)sm.x, -(ggml_half(FMT, g, l, 2) * (float)sm.y));
    }
    /* CLQ_FMT_Q6_K: (d·sc)·q, the scale product first, as ggml multiplies */
    return (float2)(ggml_half(FMT, g, l, 208) * (float)as_char((uchar)B(192 + e / 16)), -0.0f);
#undef B
}

/* The code of element e (as above). */
static inline __attribute__((always_inline)) float ggml_code(const uint FMT, global const uchar *g, uint l,
                                                             uint e)
{
#define B(i) GGML_BYTE(FMT, g, l, i)
    if (FMT == CLQ_FMT_Q4_1)
        return (float)ggml_nibble32(FMT, g, l, 4, e);
    if (FMT == CLQ_FMT_Q5_0 || FMT == CLQ_FMT_Q5_1) {
        uint off = FMT == CLQ_FMT_Q5_0 ? 2 : 4; /* qh, then qs */
        uint q = ggml_nibble32(FMT, g, l, off + 4, e) | ((B(off + e / 8) >> (e % 8)) & 1u) << 4;
        return FMT == CLQ_FMT_Q5_0 ? (float)((int)q - 16) : (float)q;
    }
    if (FMT == CLQ_FMT_IQ4_NL)
        return iq4nl_code[ggml_nibble32(FMT, g, l, 2, e)];
    if (FMT == CLQ_FMT_IQ4_XS)
        return iq4nl_code[ggml_nibble32(FMT, g, l, 8 + 16 * (e / 32), e % 32)];
    uint h = e / 128, s = e % 128 / 32, i = e % 32;
    if (FMT == CLQ_FMT_Q2_K)
        return (float)((B(16 + 32 * h + i) >> (2 * s)) & 3u);
    if (FMT == CLQ_FMT_Q3_K) {
        int low = (int)((B(32 + 32 * h + i) >> (2 * s)) & 3u);
        int high = (int)((B(e % 32) >> (e / 32)) & 1u);
        return (float)(low - (high ? 0 : 4));
    }
    if (FMT == CLQ_FMT_Q4_K || FMT == CLQ_FMT_Q5_K) {
        uint byte = B((FMT == CLQ_FMT_Q4_K ? 16 : 48) + 32 * (e / 64) + e % 32);
        uint q = e % 64 < 32 ? byte & 15u : byte >> 4;
        if (FMT == CLQ_FMT_Q5_K)
            q += ((B(16 + e % 32) >> (e / 32)) & 1u) * 16u;
        return (float)q;
    }
    /* CLQ_FMT_Q6_K */
    uint lbyte = B(64 * h + 32 * (s & 1) + i);
    uint low = s < 2 ? lbyte & 15u : lbyte >> 4;
    return (float)((int)(low | ((B(128 + 32 * h + i) >> (2 * s)) & 3u) << 4) - 32);
#undef B
}

/* The group of 16 blocks holding element k of row `row` of an N×K weight
 * of format FMT (clq_common.h, "ggml block tiles"); the row's block in it
 * is lane row % CLQ_TILE_ROWS. */
inline global const uchar *ggml_group_at(const uint FMT, global const uchar *quants, uint row, uint k,
                                         uint cols)
{
    return quants + ggml_group_offset(FMT, row, k / CLQ_GGML_BLOCK_OF(FMT), cols / CLQ_GGML_BLOCK_OF(FMT));
}

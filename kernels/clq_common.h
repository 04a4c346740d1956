/*
 * Declarations shared by the host (C11) and every kernel program (OpenCL C
 * 1.2): format numbers, block layouts and code tables. The host includes this
 * file; the program builder prepends it to every .cl file, so each constant
 * has one definition for both sides.
 */
#ifndef CLQ_COMMON_H
#define CLQ_COMMON_H

#ifdef __OPENCL_VERSION__
#define CLQ_U8 uchar
#define CLQ_U16 ushort
#else
#include <stdint.h>
#define CLQ_U8 uint8_t
#define CLQ_U16 uint16_t
#endif

/* Format numbers; the host checks they equal enum clq_format. */
#define CLQ_FMT_Q8 1
#define CLQ_FMT_Q4 2
#define CLQ_FMT_Q4Z 3
#define CLQ_FMT_NF4 4
#define CLQ_FMT_FP4 5
#define CLQ_FMT_DYNAMIC8 6
/* ggml's block types (ggml_blocks.cl): each weight element is decoded from
 * its block's own bytes, scales and all, so these formats keep the blocks
 * whole on the device (the device layout below, "ggml block tiles"). */
#define CLQ_FMT_Q4_1 7
#define CLQ_FMT_Q5_0 8
#define CLQ_FMT_Q5_1 9
#define CLQ_FMT_Q2_K 10
#define CLQ_FMT_Q3_K 11
#define CLQ_FMT_Q4_K 12
#define CLQ_FMT_Q5_K 13
#define CLQ_FMT_Q6_K 14
#define CLQ_FMT_IQ4_NL 15
#define CLQ_FMT_IQ4_XS 16
#define CLQ_FMT_IS_GGML(f) ((f) >= CLQ_FMT_Q4_1 && (f) <= CLQ_FMT_IQ4_XS)
/* Elements and bytes of a block of ggml format f (a constant where f is). */
#define CLQ_GGML_BLOCK_OF(f)                                                                                 \
    ((f) == CLQ_FMT_Q4_1 || (f) == CLQ_FMT_Q5_0 || (f) == CLQ_FMT_Q5_1 || (f) == CLQ_FMT_IQ4_NL ? 32 : 256)
#define CLQ_GGML_BYTES_OF(f)                                                                                 \
    ((f) == CLQ_FMT_Q4_1     ? CLQ_GGML_Q4_1_BYTES                                                           \
     : (f) == CLQ_FMT_Q5_0   ? CLQ_GGML_Q5_0_BYTES                                                           \
     : (f) == CLQ_FMT_Q5_1   ? CLQ_GGML_Q5_1_BYTES                                                           \
     : (f) == CLQ_FMT_Q2_K   ? CLQ_GGML_Q2_K_BYTES                                                           \
     : (f) == CLQ_FMT_Q3_K   ? CLQ_GGML_Q3_K_BYTES                                                           \
     : (f) == CLQ_FMT_Q4_K   ? CLQ_GGML_Q4_K_BYTES                                                           \
     : (f) == CLQ_FMT_Q5_K   ? CLQ_GGML_Q5_K_BYTES                                                           \
     : (f) == CLQ_FMT_Q6_K   ? CLQ_GGML_Q6_K_BYTES                                                           \
     : (f) == CLQ_FMT_IQ4_NL ? CLQ_GGML_IQ4_NL_BYTES                                                         \
                             : CLQ_GGML_IQ4_XS_BYTES)

/* Double quantization groups this many consecutive absmax values
 * (bitsandbytes compress_statistics uses blocksize 256). */
#define CLQ_NESTED_BLOCK 256

/* ggml blocks (GGUF Q4_0 / Q8_0), always 32 elements. The fp16 scale is
 * kept as raw bits: without cl_khr_fp16, OpenCL C cannot put a half in a
 * struct, and the bits must survive a round trip unchanged anyway. */
#define CLQ_GGML_QK 32
typedef struct clq_block_q4_0 {
    CLQ_U16 d;
    CLQ_U8 qs[CLQ_GGML_QK / 2]; /* byte j: element j (low), j+16 (high) */
} clq_block_q4_0;
typedef struct clq_block_q8_0 {
    CLQ_U16 d;
    CLQ_U8 qs[CLQ_GGML_QK]; /* int8 bits */
} clq_block_q8_0;
#define CLQ_GGML_Q4_0_BYTES 18
#define CLQ_GGML_Q8_0_BYTES 34

/*
 * The other ggml block types, byte for byte as GGUF files hold them
 * (ggml-common.h). Every field is bytes or 16-bit words, so the structs have
 * no padding in C and in OpenCL C alike; fp16 values are raw bits, as above.
 * Legacy and IQ4_NL blocks hold 32 elements; K-quants and IQ4_XS hold a
 * super-block of CLQ_GGML_QK_K = 256, split into sub-blocks of 16 or 32 that
 * each have a scale quantized against the super-block's fp16 scale(s).
 * In the 32-element blocks (and iq4_xs's sub-blocks), byte j of qs holds
 * element j (low nibble) and j+16 (high), as in q4_0; each K-quant's own
 * packing is given beside its struct.
 */
#define CLQ_GGML_QK_K 256
#define CLQ_GGML_K_SCALE_SIZE 12

/* x = d·q + m, q in 0..15 */
typedef struct clq_block_q4_1 {
    CLQ_U16 d, m;
    CLQ_U8 qs[CLQ_GGML_QK / 2];
} clq_block_q4_1;
/* x = d·(q − 16), q in 0..31: low 4 bits in qs as q4_0, bit 4 of element j
 * in bit j of the little-endian 32-bit word qh */
typedef struct clq_block_q5_0 {
    CLQ_U16 d;
    CLQ_U8 qh[4];
    CLQ_U8 qs[CLQ_GGML_QK / 2];
} clq_block_q5_0;
/* x = d·q + m, q in 0..31, bits as q5_0 */
typedef struct clq_block_q5_1 {
    CLQ_U16 d, m;
    CLQ_U8 qh[4];
    CLQ_U8 qs[CLQ_GGML_QK / 2];
} clq_block_q5_1;
/* 16 sub-blocks of 16: x = d·sc·q − dmin·mn, q in 0..3; scales[j] holds sc
 * (low nibble) and mn (high) of sub-block j. qs byte 32h+l holds elements
 * 128h+l+32s in bits 2s..2s+1 (s = 0..3). */
typedef struct clq_block_q2_k {
    CLQ_U8 scales[CLQ_GGML_QK_K / 16];
    CLQ_U8 qs[CLQ_GGML_QK_K / 4];
    CLQ_U16 d, dmin;
} clq_block_q2_k;
/* 16 sub-blocks of 16: x = d·(sc − 32)·(q − 4), q in 0..7: 2 low bits in qs
 * (as q2_k), the high bit of element e in hmask[e % 32] bit e / 32. The 6-bit
 * sc of sub-block j: low 4 bits in scales[j % 8] (low nibble for j < 8, high
 * after), high 2 bits in scales[8 + j % 4] bits 2·(j / 4). */
typedef struct clq_block_q3_k {
    CLQ_U8 hmask[CLQ_GGML_QK_K / 8];
    CLQ_U8 qs[CLQ_GGML_QK_K / 4];
    CLQ_U8 scales[CLQ_GGML_K_SCALE_SIZE];
    CLQ_U16 d;
} clq_block_q3_k;
/* 8 sub-blocks of 32: x = d·sc·q − dmin·mn, q in 0..15. 6-bit sc and mn of
 * sub-block j < 4: scales[j] and scales[j+4] (low 6 bits); j >= 4: low 4 bits
 * in the nibbles of scales[j+4], high 2 bits in the top bits of scales[j−4]
 * (sc) and scales[j] (mn). qs byte 32h+l: element 64h+l (low), 64h+l+32 (high). */
typedef struct clq_block_q4_k {
    CLQ_U16 d, dmin;
    CLQ_U8 scales[CLQ_GGML_K_SCALE_SIZE];
    CLQ_U8 qs[CLQ_GGML_QK_K / 2];
} clq_block_q4_k;
/* As q4_k with q in 0..31; bit 4 of element 64h+l (+32) in qh[l] bit 2h (2h+1). */
typedef struct clq_block_q5_k {
    CLQ_U16 d, dmin;
    CLQ_U8 scales[CLQ_GGML_K_SCALE_SIZE];
    CLQ_U8 qh[CLQ_GGML_QK_K / 8];
    CLQ_U8 qs[CLQ_GGML_QK_K / 2];
} clq_block_q5_k;
/* 16 sub-blocks of 16: x = d·sc·(q − 32), q in 0..63, sc int8. In each half
 * h of 128: ql[64h+l] holds elements 128h+l (low) and +64 (high),
 * ql[64h+32+l] elements +32 and +96; qh[32h+l] bits 2s..2s+1 hold the top
 * two bits of element 128h+l+32s. */
typedef struct clq_block_q6_k {
    CLQ_U8 ql[CLQ_GGML_QK_K / 2];
    CLQ_U8 qh[CLQ_GGML_QK_K / 4];
    CLQ_U8 scales[CLQ_GGML_QK_K / 16]; /* int8 bits */
    CLQ_U16 d;
} clq_block_q6_k;
/* x = d·CLQ_IQ4NL_CODE[q], nibbles as q4_0 */
typedef struct clq_block_iq4_nl {
    CLQ_U16 d;
    CLQ_U8 qs[CLQ_GGML_QK / 2];
} clq_block_iq4_nl;
/* 8 sub-blocks of 32: x = d·(ls − 32)·CLQ_IQ4NL_CODE[q]; the 6-bit ls of
 * sub-block j: low 4 bits in scales_l[j / 2] (nibble j % 2), high 2 bits in
 * scales_h bits 2j..2j+1. Each sub-block's qs are 16 bytes as in iq4_nl. */
typedef struct clq_block_iq4_xs {
    CLQ_U16 d;
    CLQ_U16 scales_h;
    CLQ_U8 scales_l[CLQ_GGML_QK_K / 64];
    CLQ_U8 qs[CLQ_GGML_QK_K / 2];
} clq_block_iq4_xs;
#define CLQ_GGML_Q4_1_BYTES 20
#define CLQ_GGML_Q5_0_BYTES 22
#define CLQ_GGML_Q5_1_BYTES 24
#define CLQ_GGML_Q2_K_BYTES 84
#define CLQ_GGML_Q3_K_BYTES 110
#define CLQ_GGML_Q4_K_BYTES 144
#define CLQ_GGML_Q5_K_BYTES 176
#define CLQ_GGML_Q6_K_BYTES 210
#define CLQ_GGML_IQ4_NL_BYTES 18
#define CLQ_GGML_IQ4_XS_BYTES 136

/* IQ4_NL's and IQ4_XS's non-linear code (ggml's kvalues_iq4nl), int8 values
 * by index 0..15, ascending. */
#define CLQ_IQ4NL_CODE_VALUES -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113

#ifndef __OPENCL_VERSION__
/* A struct that drifted from ggml's byte count would misread every GGUF file. */
_Static_assert(sizeof(clq_block_q4_1) == CLQ_GGML_Q4_1_BYTES, "ggml block_q4_1 is 20 bytes");
_Static_assert(sizeof(clq_block_q5_0) == CLQ_GGML_Q5_0_BYTES, "ggml block_q5_0 is 22 bytes");
_Static_assert(sizeof(clq_block_q5_1) == CLQ_GGML_Q5_1_BYTES, "ggml block_q5_1 is 24 bytes");
_Static_assert(sizeof(clq_block_q2_k) == CLQ_GGML_Q2_K_BYTES, "ggml block_q2_K is 84 bytes");
_Static_assert(sizeof(clq_block_q3_k) == CLQ_GGML_Q3_K_BYTES, "ggml block_q3_K is 110 bytes");
_Static_assert(sizeof(clq_block_q4_k) == CLQ_GGML_Q4_K_BYTES, "ggml block_q4_K is 144 bytes");
_Static_assert(sizeof(clq_block_q5_k) == CLQ_GGML_Q5_K_BYTES, "ggml block_q5_K is 176 bytes");
_Static_assert(sizeof(clq_block_q6_k) == CLQ_GGML_Q6_K_BYTES, "ggml block_q6_K is 210 bytes");
_Static_assert(sizeof(clq_block_iq4_nl) == CLQ_GGML_IQ4_NL_BYTES, "ggml block_iq4_nl is 18 bytes");
_Static_assert(sizeof(clq_block_iq4_xs) == CLQ_GGML_IQ4_XS_BYTES, "ggml block_iq4_xs is 136 bytes");
#endif

/*
 * clq's device layout ("row tiles"), version 2. For an N×K weight with block
 * B and nb = K/B blocks per row, blocks numbered g = row·nb + j:
 *   quants: rows in tiles of CLQ_TILE_ROWS (16); N is padded to whole tiles
 *           with zero bytes. A tile is a sequence of 32-bit words, each
 *           holding the next CLQ_WORD_ELEMENTS elements of one row: 8 nibbles
 *           for 4-bit formats (element k+i in bits 4i..4i+3, so byte b holds
 *           k+2b in its low nibble), 4 bytes for 8-bit ones. Word w of row
 *           r = 16t + l is word (t·(K/E) + w)·16 + l: the 16 rows of a tile
 *           sit side by side, so one 64-byte line feeds 16 rows at once
 *           (16 SIMD lanes on a CPU, 16 neighbouring work-items on a GPU).
 *   scales: one per block, in block order g, fp16 bits for Q4/Q8 (as ggml
 *           stores them), fp32 for Q4Z/NF4/FP4/DYNAMIC8, or one uint8 per
 *           block when double-quantized (with nested absmax per 256 blocks,
 *           the code and the offset beside it).
 *   zeros:  Q4Z only, one zero point per byte, in block order.
 * Every external layout is a permutation of the quants words (with a nibble
 * swap for bitsandbytes) and a copy of the rest.
 *
 * The ggml formats (CLQ_FMT_IS_GGML) have "ggml block tiles" instead: their
 * blocks' bytes, unchanged and none added (a weight occupies its stored
 * size, 4.5 bits per weight for q4_k), with the row tile's words side by
 * side as above. Block j of the rows 16t .. 16t+15 make the group of 16
 * blocks (t·nb + j), each group 16 blocks' bytes long. In a group, 32-bit
 * word w of lane l's block (bytes 4w .. 4w+3) is word 16w + l, so one
 * 64-byte line holds the same 4 bytes of all 16 rows' blocks. Blocks whose
 * size is 2 mod 4 (q5_0, iq4_nl: d first; q3_k, q6_k: d last) have their
 * lone fp16 d taken out first: the 16 lanes' d are 16 halves, at the
 * group's start or end as d is in the block, and the words are the other
 * bytes (ggml_tile_byte). No scales array: each block holds its own. N is
 * padded to whole tiles with zero blocks (which decode to 0). Import and
 * export permute bytes within each group.
 */
#define CLQ_DEVICE_LAYOUT_VERSION 3
/* The tile: 16 rows of W side by side (one 64-byte line of 32-bit words, a
 * float16 vector on a CPU). The matmul's tiles kernel takes X in tiles of
 * the same height: at most this many rows of X per work-item (decode, clq.h's
 * CLQ_DECODE_MAX_M, checked equal on the host), interleaved in groups of
 * this many rows for 16-lane work-items, so that one tile of X meets one
 * tile of W in 16×16 blocks. */
#define CLQ_TILE_ROWS 16
#define CLQ_WORD_ELEMENTS(bits) ((bits) == 4 ? 8 : 4)

/* The byte offset in a ggml block of format f of its lone fp16 d, for the
 * blocks of 2 mod 4 bytes (ggml block tiles, above); -1 for the others. */
#define CLQ_GGML_LONE_HALF_OF(f)                                                                             \
    ((f) == CLQ_FMT_Q5_0 || (f) == CLQ_FMT_IQ4_NL ? 0                                                        \
     : (f) == CLQ_FMT_Q3_K || (f) == CLQ_FMT_Q6_K ? (int)CLQ_GGML_BYTES_OF(f) - 2                            \
                                                  : -1)

#ifdef __OPENCL_VERSION__
/* Where byte i of lane l's block sits in its group of 16 blocks of ggml
 * format f (ggml block tiles, above): a constant expression of i where f
 * and i are constants. */
inline uint ggml_tile_byte(uint f, uint l, uint i)
{
    const int lone = CLQ_GGML_LONE_HALF_OF(f);
    const uint line = 4 * CLQ_TILE_ROWS; /* one word of every lane */
    if (lone < 0)
        return i / 4 * line + 4 * l + i % 4;
    const uint halves = 2 * CLQ_TILE_ROWS, bytes = CLQ_GGML_BYTES_OF(f);
    if (i - (uint)lone < 2)
        return (lone == 0 ? 0 : CLQ_TILE_ROWS * (bytes - 2)) + 2 * l + (i - (uint)lone);
    uint b = lone == 0 ? i - 2 : i; /* byte b of the words */
    return (lone == 0 ? halves : 0) + b / 4 * line + 4 * l + b % 4;
}

/* The byte offset of the group of 16 blocks of ggml format f that holds
 * block j of row `row`, nb blocks per row (ggml block tiles, above). */
inline ulong ggml_group_offset(uint f, uint row, uint j, uint nb)
{
    return ((ulong)(row / CLQ_TILE_ROWS) * nb + j) * CLQ_TILE_ROWS * CLQ_GGML_BYTES_OF(f);
}

/* The device word holding element k of row `row` (K = cols): k/E-th word of
 * the row, E = CLQ_WORD_ELEMENTS(bits). */
inline ulong tile_word(uint row, uint k, uint cols, uint bits)
{
    uint e = CLQ_WORD_ELEMENTS(bits);
    return ((ulong)(row / CLQ_TILE_ROWS) * (cols / e) + k / e) * CLQ_TILE_ROWS + row % CLQ_TILE_ROWS;
}
/* The byte holding element k of row `row`: for 4-bit formats with k even,
 * the byte of elements k (low nibble) and k+1 (high). */
inline ulong tile_byte(uint row, uint k, uint cols, uint bits)
{
    return 4 * tile_word(row, k, cols, bits) + (k % CLQ_WORD_ELEMENTS(bits)) * bits / 8;
}

/* Products are summed with fma(), never mad(): OpenCL lets mad() round
 * its product and sum any way it likes (some GPUs drop the product's low
 * bits), while the tests' error bounds count one rounding per fma. fma() is
 * one instruction on CPUs with FMA and full rate for fp32 on GPUs. Do not
 * restore mad(). */

/* Element i, or elements i .. i+15, of an fp32 or fp16 array (PoCL has no
 * cl_khr_fp16, so fp16 is read with vload_half). */
inline float load_x(global const void *src, uint src_half, ulong i)
{
    return src_half ? vload_half(i, (global const half *)src) : ((global const float *)src)[i];
}
inline float16 load_x16(global const void *src, uint src_half, ulong i)
{
    return src_half ? vload_half16(0, (global const half *)src + i)
                    : vload16(0, (global const float *)src + i);
}

/* A hint to bring the line at p into the cache. On x86 CPUs a stream that
 * is read once keeps more reads in flight with it than with the hardware
 * prefetcher alone (matmul.cl, quantize.cl); a prefetch past the end of a
 * buffer does nothing. Elsewhere it is no code. */
#if defined(__x86_64__) || defined(__i386__)
#define CLQ_PREFETCH(p) __builtin_prefetch((global const void *)(p))
#else
#define CLQ_PREFETCH(p) ((void)0)
#endif
#endif

/* The 16-entry NF4 code (bitsandbytes get_4bit_type("nf4")), in fp32. */
#define CLQ_NF4_CODE_VALUES                                                                                  \
    -0x1p+0f, -0x1.647362p-1f, -0x1.0cd66p-1f, -0x1.94654p-2f, -0x1.23449ap-2f, -0x1.7a6a7ep-3f,             \
        -0x1.74f0e2p-4f, 0.0f, 0x1.45f5fep-4f, 0x1.4995c6p-3f, 0x1.f809bap-3f, 0x1.5a0674p-2f,               \
        0x1.c3497p-2f, 0x1.200f56p-1f, 0x1.722766p-1f,                                                       \
        0x1p+0f, /* The FP4 (e2m1) code in bitsandbytes index order, each value /12 in fp32.                 \
                  * Index 8 is +0.0, not -0.0: bitsandbytes writes it as the Python integer                  \
                  * -0, which is 0. Quantization therefore has two codes for zero; the                       \
                  * midpoint rule below sends positive values near 0 to index 8. */
#define CLQ_FP4_CODE_VALUES                                                                                  \
    0.0f, 0x1.555556p-8f, 0x1.555556p-1f, 0x1p+0f, 0x1.555556p-2f, 0x1p-1f, 0x1.555556p-3f, 0x1p-2f, 0.0f,   \
        -0x1.555556p-8f, -0x1.555556p-1f, -0x1p+0f, -0x1.555556p-2f, -0x1p-1f, -0x1.555556p-3f,              \
        -0x1p-2f, /* FP4 code indices in ascending order of value (a stable sort, so index 0                 \
                   * comes before index 8 among the two zeros). NF4 and the dynamic code are                 \
                   * already sorted. */
#define CLQ_FP4_SORTED_INDICES 11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3

/* bitsandbytes' 8-bit dynamic code (functional.create_dynamic_map(signed=True,
 * max_exponent_bits=7, total_bits=8)), sorted ascending, as the fp32 values
 * bitsandbytes uses; tests check it against the peers' code.f32. */
#define CLQ_DYNAMIC8_CODE_VALUES                                                                             \
    -0x1.fc6666p-1f, -0x1.f53332p-1f, -0x1.eep-1f, -0x1.e6ccccp-1f, -0x1.df9998p-1f, -0x1.d86666p-1f,        \
        -0x1.d13334p-1f, -0x1.cap-1f, -0x1.c2ccccp-1f, -0x1.bb9998p-1f, -0x1.b46666p-1f, -0x1.ad3332p-1f,    \
        -0x1.a6p-1f, -0x1.9eccccp-1f, -0x1.979998p-1f, -0x1.906666p-1f, -0x1.893334p-1f, -0x1.82p-1f,        \
        -0x1.7acccep-1f, -0x1.73999ap-1f, -0x1.6c6668p-1f, -0x1.653334p-1f, -0x1.5ep-1f, -0x1.56cccep-1f,    \
        -0x1.4f999ap-1f, -0x1.486666p-1f, -0x1.413334p-1f, -0x1.3ap-1f, -0x1.32ccccp-1f, -0x1.2b999ap-1f,    \
        -0x1.246668p-1f, -0x1.1d3334p-1f, -0x1.16p-1f, -0x1.0eccccp-1f, -0x1.07999ap-1f, -0x1.006666p-1f,    \
        -0x1.f26668p-2f, -0x1.e4p-2f, -0x1.d59998p-2f, -0x1.c73334p-2f, -0x1.b8ccccp-2f, -0x1.aa6664p-2f,    \
        -0x1.9cp-2f, -0x1.8d9998p-2f, -0x1.7f3334p-2f, -0x1.70ccccp-2f, -0x1.626664p-2f, -0x1.54p-2f,        \
        -0x1.459998p-2f, -0x1.373334p-2f, -0x1.28ccccp-2f, -0x1.1a6668p-2f, -0x1.0cp-2f, -0x1.fb3334p-3f,    \
        -0x1.de6668p-3f, -0x1.c1999ap-3f, -0x1.a4ccccp-3f, -0x1.88p-3f, -0x1.6b3332p-3f, -0x1.4e6666p-3f,    \
        -0x1.31999ap-3f, -0x1.14ccccp-3f, -0x1.fp-4f, -0x1.b66668p-4f, -0x1.93d70ap-4f, -0x1.8851eap-4f,     \
        -0x1.7ccccep-4f, -0x1.7147aep-4f, -0x1.65c29p-4f, -0x1.5a3d7p-4f, -0x1.4eb85p-4f, -0x1.433334p-4f,   \
        -0x1.37ae14p-4f, -0x1.2c28f6p-4f, -0x1.20a3d6p-4f, -0x1.151ebap-4f, -0x1.09999ap-4f,                 \
        -0x1.fc28f4p-5f, -0x1.e51ebap-5f, -0x1.ce147ap-5f, -0x1.b70a3ep-5f, -0x1.ap-5f, -0x1.88f5c2p-5f,     \
        -0x1.71eb86p-5f, -0x1.5ae146p-5f, -0x1.43d70ap-5f, -0x1.2ccccep-5f, -0x1.15c28ep-5f,                 \
        -0x1.fd70a4p-6f, -0x1.cf5c26p-6f, -0x1.a147aep-6f, -0x1.733334p-6f, -0x1.451eb8p-6f,                 \
        -0x1.170a3ep-6f, -0x1.d1eb86p-7f, -0x1.75c29p-7f, -0x1.3e76c8p-7f, -0x1.2c083p-7f, -0x1.19999ap-7f,  \
        -0x1.072b02p-7f, -0x1.e978d4p-8f, -0x1.c49ba6p-8f, -0x1.9fbe76p-8f, -0x1.7ae148p-8f,                 \
        -0x1.56041ap-8f, -0x1.3126e8p-8f, -0x1.0c49bap-8f, -0x1.ced914p-9f, -0x1.851eb8p-9f,                 \
        -0x1.3b645ap-9f, -0x1.e353f8p-10f, -0x1.4fdf3ap-10f, -0x1.eecbfep-11f, -0x1.b3d07cp-11f,             \
        -0x1.78d5p-11f, -0x1.3dd982p-11f, -0x1.02de02p-11f, -0x1.8fc506p-12f, -0x1.19ce0ap-12f,              \
        -0x1.47ae16p-13f, -0x1.743e96p-14f, -0x1.15df66p-14f, -0x1.6f0068p-15f, -0x1.64840cp-16f,            \
        -0x1.040bfep-17f, -0x1.b43528p-19f, -0x1.27476ep-21f, 0.0f, 0x1.27476ep-21f, 0x1.b43528p-19f,        \
        0x1.040bfep-17f, 0x1.64840cp-16f, 0x1.6f0068p-15f, 0x1.15df66p-14f, 0x1.743e96p-14f,                 \
        0x1.47ae16p-13f, 0x1.19ce0ap-12f, 0x1.8fc506p-12f, 0x1.02de02p-11f, 0x1.3dd982p-11f, 0x1.78d5p-11f,  \
        0x1.b3d07cp-11f, 0x1.eecbfep-11f, 0x1.4fdf3ap-10f, 0x1.e353f8p-10f, 0x1.3b645ap-9f, 0x1.851eb8p-9f,  \
        0x1.ced914p-9f, 0x1.0c49bap-8f, 0x1.3126e8p-8f, 0x1.56041ap-8f, 0x1.7ae148p-8f, 0x1.9fbe76p-8f,      \
        0x1.c49ba6p-8f, 0x1.e978d4p-8f, 0x1.072b02p-7f, 0x1.19999ap-7f, 0x1.2c083p-7f, 0x1.3e76c8p-7f,       \
        0x1.75c29p-7f, 0x1.d1eb86p-7f, 0x1.170a3ep-6f, 0x1.451eb8p-6f, 0x1.733334p-6f, 0x1.a147aep-6f,       \
        0x1.cf5c26p-6f, 0x1.fd70a4p-6f, 0x1.15c28ep-5f, 0x1.2ccccep-5f, 0x1.43d70ap-5f, 0x1.5ae146p-5f,      \
        0x1.71eb86p-5f, 0x1.88f5c2p-5f, 0x1.ap-5f, 0x1.b70a3ep-5f, 0x1.ce147ap-5f, 0x1.e51ebap-5f,           \
        0x1.fc28f4p-5f, 0x1.09999ap-4f, 0x1.151ebap-4f, 0x1.20a3d6p-4f, 0x1.2c28f6p-4f, 0x1.37ae14p-4f,      \
        0x1.433334p-4f, 0x1.4eb85p-4f, 0x1.5a3d7p-4f, 0x1.65c29p-4f, 0x1.7147aep-4f, 0x1.7ccccep-4f,         \
        0x1.8851eap-4f, 0x1.93d70ap-4f, 0x1.b66668p-4f, 0x1.fp-4f, 0x1.14ccccp-3f, 0x1.31999ap-3f,           \
        0x1.4e6666p-3f, 0x1.6b3332p-3f, 0x1.88p-3f, 0x1.a4ccccp-3f, 0x1.c1999ap-3f, 0x1.de6668p-3f,          \
        0x1.fb3334p-3f, 0x1.0cp-2f, 0x1.1a6668p-2f, 0x1.28ccccp-2f, 0x1.373334p-2f, 0x1.459998p-2f,          \
        0x1.54p-2f, 0x1.626664p-2f, 0x1.70ccccp-2f, 0x1.7f3334p-2f, 0x1.8d9998p-2f, 0x1.9cp-2f,              \
        0x1.aa6664p-2f, 0x1.b8ccccp-2f, 0x1.c73334p-2f, 0x1.d59998p-2f, 0x1.e4p-2f, 0x1.f26668p-2f,          \
        0x1.006666p-1f, 0x1.07999ap-1f, 0x1.0eccccp-1f, 0x1.16p-1f, 0x1.1d3334p-1f, 0x1.246668p-1f,          \
        0x1.2b999ap-1f, 0x1.32ccccp-1f, 0x1.3ap-1f, 0x1.413334p-1f, 0x1.486666p-1f, 0x1.4f999ap-1f,          \
        0x1.56cccep-1f, 0x1.5ep-1f, 0x1.653334p-1f, 0x1.6c6668p-1f, 0x1.73999ap-1f, 0x1.7acccep-1f,          \
        0x1.82p-1f, 0x1.893334p-1f, 0x1.906666p-1f, 0x1.979998p-1f, 0x1.9eccccp-1f, 0x1.a6p-1f,              \
        0x1.ad3332p-1f, 0x1.b46666p-1f, 0x1.bb9998p-1f, 0x1.c2ccccp-1f, 0x1.cap-1f, 0x1.d13334p-1f,          \
        0x1.d86666p-1f, 0x1.df9998p-1f, 0x1.e6ccccp-1f, 0x1.eep-1f, 0x1.f53332p-1f, 0x1.fc6666p-1f, 0x1p+0f,

#endif /* CLQ_COMMON_H */

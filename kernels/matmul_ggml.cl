/*
 * The tiles kernels over ggml's block types (ggml_blocks.cl), appended to
 * matmul.cl: the same work-items, X and epilogue as tiles(), over ggml
 * block tiles (clq_common.h: block j of a tile's 16 rows are a group of 16
 * blocks of ggml's own bytes, their 32-bit words side by side).
 *
 * Where a work-item holds a whole tile (CPUs, CLQ_MM_LANES 16), every type
 * is decoded as tiles() decodes its row tiles: one 64-byte load is one
 * vector holding the same 32-bit word of every row's block; a word's codes
 * then become floats for all 16 rows at once, and a sub-block's scale is
 * decoded once per sub-block, not once per element. Decoding each element
 * from its block (ggml_blocks.cl, about 30 scalar operations) held
 * 4096×4096 decode to 1-2 % of the read bandwidth. GPUs (a work-item per
 * row) decode element by element.
 *
 * Products are summed as tiles() sums them. With few rows of X the codes
 * of a sub-block are multiplied unscaled and scaled once (Q6_K up to 4
 * rows; the others for one row, the mins of Q4_K, Q5_K, Q4_1, Q5_1 and
 * Q2_K taken off as min · Σx over the (sub-)block: for 2-4 rows the scaled
 * form below ran 1.4× faster at M = 4, `clq bench --format q4_k --m 1,2,4
 * --shape 4096x4096`). Otherwise each code is scaled first (dl·q - ml in
 * one fma, as close to ggml's value as one rounding gets) and feeds one fma
 * per row. The unscaled sums take centred codes (q - 8, q - 16, q - 32 for
 * Q4_K and Q4_1, Q5_K and Q5_1, Q6_K), so that they stay near the size of
 * the products: uncentred, Q6_K's sums ran to 32·Σx and lost the bits that
 * the test's error bound (derived from Σ|w·x|) counts on.
 *
 * The loops over a sub-block's words stay rolled where each word feeds many
 * rows: unrolled, a super-block's body (about 5000 instructions at 16 rows)
 * outgrew the instruction cache, and M = 16 ran 1.25× slower.
 */
#if CLQ_FMT_IS_GGML(CLQ_FORMAT) && CLQ_MM_GROUP != 0

#define GGML_BLOCK CLQ_GGML_BLOCK_OF(CLQ_FORMAT)
#define GGML_BYTES CLQ_GGML_BYTES_OF(CLQ_FORMAT)

/* Element by element: each lane decodes its row's values, a scale and
 * offset for each 16 elements and a code for each (ggml_blocks.cl). */
static inline __attribute__((always_inline)) void tiles_ggml(const uint MR, uint m_count, uint n_count,
                                                             uint k_count, uint block, WEIGHT_PARAMS,
                                                             global const void *x, const uint x_half,
                                                             global void *y, EPILOGUE_PARAMS)
{
    const uint groups = CLQ_TILE_ROWS / CLQ_MM_LANES; /* work-items per tile */
    uint gid = get_global_id(0), tile = gid / groups, l0 = gid % groups * CLQ_MM_LANES;
    uint n0 = tile * CLQ_TILE_ROWS + l0;
    if (n0 >= n_count)
        return;
    uint m0 = get_global_id(1) * MR;
    uint nb = k_count / GGML_BLOCK;
    global const uchar *tb = quants + (ulong)tile * nb * CLQ_TILE_ROWS * GGML_BYTES;
    ulong xrow[CLQ_TILE_ROWS];
    vfloat acc[CLQ_TILE_ROWS];
    start_rows(MR, m0, m_count, k_count, xrow, acc);
    const ulong x_tiled = (ulong)m0 * k_count; /* X_TILED: this group's first element */
    lora_prefetch(MR, m0, m_count, n0, EPILOGUE_ARGS);
    for (uint j = 0; j < nb; j++) {
        global const uchar *bj = tb + (ulong)j * CLQ_TILE_ROWS * GGML_BYTES;
        for (uint e0 = 0; e0 < GGML_BLOCK; e0 += 16) {
            float2 so[CLQ_MM_LANES];
            for (uint l = 0; l < CLQ_MM_LANES; l++)
                so[l] = ggml_scale_offset(CLQ_FORMAT, bj, l0 + l, e0);
#pragma unroll
            for (uint e = e0; e < e0 + 16; e++) {
                float v[CLQ_MM_LANES];
                for (uint l = 0; l < CLQ_MM_LANES; l++)
                    v[l] = so[l].x * ggml_code(CLQ_FORMAT, bj, l0 + l, e) + so[l].y;
                vfloat w = VLOAD_FLOAT(v);
                uint k = j * GGML_BLOCK + e;
#pragma unroll
                for (uint m = 0; m < MR; m++)
                    acc[m] =
                        fma(w,
                            X_TILED(MR) ? ((global const float *)x)[x_tiled + (ulong)k * CLQ_TILE_ROWS + m]
                                        : load_x(x, x_half, xrow[m] + k),
                            acc[m]);
            }
        }
    }
    store_tile_rows(MR, m0, m_count, n0, n_count, acc, y, EPILOGUE_ARGS);
}

#if CLQ_MM_LANES == 16
#define GGML_BY_WORDS 1

/* Bytes at .. at+4n-1 of the group's 16 blocks at g: w[t] holds bytes
 * 4t .. 4t+3 of each, one lane per row (little-endian, as the blocks are):
 * one line each. Each load asks for the line 8 KiB ahead, as tiles()
 * streams its row tiles (PREFETCH_AHEAD, matmul.cl): a tile's groups lie
 * one after another, so that is a line of the group 2 (q6_k) to 25 (q4_1)
 * groups on. One request per line loaded, spread through the decode, and
 * not the whole group's 21-53 lines at once as each super-block began: in
 * a burst, 11008x4096 M = 1 read 16-17 GB/s for q6_k and 24-28 for q5_k,
 * spread 34 and 37 (`clq bench --format q4_k,q5_k,q6_k --m 1 --shape
 * 11008x4096`, AMD EPYC Zen 5). */
static inline __attribute__((always_inline)) WIDE void block_words(global const uchar *g, uint at,
                                                                   const uint n, uint16 *w)
{
#pragma unroll
    for (uint t = 0; t < n; t++) {
        global const uchar *line = g + ggml_tile_byte(CLQ_FORMAT, 0, at + 4 * t);
        w[t] = vload16(0, (global const uint *)line);
        PREFETCH_AHEAD((global const uint *)line);
    }
}

/* The fp16 values in the low (or, with shift 16, high) halves of h, in
 * vector operations: vload_half16 from a private copy compiled to an
 * extract and an insert per lane on PoCL's CPU device. A normal or
 * subnormal half's exponent and mantissa, placed in a float and scaled by
 * 2^112, is its value exactly; infinities and NaNs keep their class. */
static inline __attribute__((always_inline)) WIDE float16 lanes_half(uint16 h, uint shift)
{
    uint16 bits = h >> shift, em = bits & 0x7FFFu;
    float16 v = as_float16(em << 13) * 0x1p112f;
    v = select(v, as_float16((em << 13) | 0x7F800000u), em >= 0x7C00u);
    return as_float16(as_uint16(v) | (bits & 0x8000u) << 16);
}

/* The 16 rows' lone fp16 d of the formats that keep it apart (q5_0,
 * iq4_nl, q3_k, q6_k: 16 halves side by side in the group, clq_common.h). */
static inline __attribute__((always_inline)) WIDE float16 lone_d(global const uchar *g)
{
    uint at = ggml_tile_byte(CLQ_FORMAT, 0, (uint)CLQ_GGML_LONE_HALF_OF(CLQ_FORMAT));
    PREFETCH_AHEAD((global const uint *)(g + at)); /* as block_words asks for its lines */
    return lanes_half(convert_uint16(vload16(0, (global const ushort *)(g + at))), 0);
}

/* A 32-entry table at 16 code indices (their low 5 bits), for 5-bit codes:
 * on AVX-512 one two-table permute (vpermt2ps), which reads only those 5
 * bits, where a shift, a sign-extending shift and a conversion took three;
 * a gather elsewhere, as LOOKUP4_16. */
#if defined(__AVX512F__)
#define LOOKUP5_16(t, q) __builtin_ia32_vpermi2varps512(vload16(0, t), as_int16(q), vload16(0, (t) + 16))
#else
#define LOOKUP5_16(t, q) GATHER16(t, as_int16((q)&31u))
#endif

/* The sum of X[at .. at+31] (a Q4_K sub-block's share of X, for its min) in
 * every lane: two loads, then four stages that each add the vector to
 * itself with its halves, quarters, ... swapped. fp32 X is read as
 * float16 vectors (at is a multiple of 32, rows of X start 1 KiB apart):
 * through vload16, LLVM split the loads into 8-byte pieces, 128 of them
 * and about 300 instructions per super-block. */
static inline __attribute__((always_inline)) WIDE float16 x_sum32(global const void *x, uint x_half, ulong at)
{
    global const float16 *x16 = (global const float16 *)x + at / 16;
    float16 v = x_half ? load_x16(x, 1, at) + load_x16(x, 1, at + 16) : x16[0] + x16[1];
    v += SHUFFLE16(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7);
    v += SHUFFLE16(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11);
    v += SHUFFLE16(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
    return v + SHUFFLE16(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
}

/* A word of codes meets X's elements e .. e+3 and e+gap .. e+gap+3 (its
 * bytes' two nibbles): for fp16 X they are converted four at a time into
 * xw[m] (vload_half of one element is about 15 scalar instructions on
 * PoCL's CPU device); interleaved and fp32 X are read where they are used. */
#define X_WORD(xw, e, gap)                                                                                   \
    if (x_half && !X_TILED(MR))                                                                              \
        _Pragma("unroll") for (uint m = 0; m < MR; m++)                                                      \
        {                                                                                                    \
            global const half *xh = (global const half *)x + xrow[m] + k0;                                   \
            vstore4(vload_half4(0, xh + (e)), 0, xw[m]);                                                     \
            vstore4(vload_half4(0, xh + (e) + (gap)), 1, xw[m]);                                             \
        }
/* Element e of this tile's super-block of row m of X, the n-th of the
 * word's two fours, u-th in it. */
#define X_AT(m, n, u, e)                                                                                     \
    (X_TILED(MR) ? xk[(e)*CLQ_TILE_ROWS + (m)]                                                               \
     : x_half    ? xw[m][4 * (n) + (u)]                                                                      \
                 : ((global const float *)x)[xrow[m] + k0 + (e)])
#endif

#if defined(GGML_BY_WORDS) && (CLQ_FORMAT == CLQ_FMT_Q4_K || CLQ_FORMAT == CLQ_FMT_Q5_K)
#define Q5_K (CLQ_FORMAT == CLQ_FMT_Q5_K)
/* The codes as ggml reads them, and less K_CENTRE for the unscaled sums:
 * dl·q - ml = dl·(q - c) - (ml - c·dl). Q4_K looks up the first 16. */
constant float k_codes[32] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                              16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
#if Q5_K
constant float k_centred[32] = {-16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1,
                                0,   1,   2,   3,   4,   5,   6,   7,  8,  9,  10, 11, 12, 13, 14, 15};
#else
constant float k_centred[16] = {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7};
#endif
#define K_CENTRE (Q5_K ? 16.0f : 8.0f)

/* Q5_K: a word's codes with their fifth bits, as bytes: lo_b (low nibbles,
 * sub-block 2g) and hi_b (high nibbles, 2g+1); nibble i's code is byte
 * i / 2 of one of them. No bytes for Q4_K, whose nibbles are looked up as
 * they are. */
#if Q5_K
#define K_BYTES(word, hq, g)                                                                                 \
    uint16 lo_b = (word)&0x0F0F0F0Fu | (((hq) >> (2 * (g))) & 0x01010101u) << 4;                             \
    uint16 hi_b = ((word) >> 4) & 0x0F0F0F0Fu | (((hq) >> (2 * (g) + 1)) & 0x01010101u) << 4;
#define K_CODE(table, word, i) LOOKUP5_16(table, ((i) % 2 ? hi_b : lo_b) >> (8 * ((i) / 2)))
#else
#define K_BYTES(word, hq, g)
#define K_CODE(table, word, i) LOOKUP4_16(table, (word) >> (4 * (i)))
#endif

/* Q4_K and Q5_K (block_q4_K, block_q5_K: fp16 d, fp16 dmin, 12 bytes of
 * packed 6-bit scales and mins for 8 sub-blocks of 32; Q5_K's 32 bytes of
 * fifth bits; 128 bytes of codes): one super-block of the tile. The codes' bytes
 * 32g .. 32g+31 hold sub-block 2g in their low nibbles and 2g+1 in their
 * high ones: word t of the 64 bytes at QS + 64c holds,
 * in nibble i, element 64g + 32·(i % 2) + 4·(t % 8) + i / 2 of sub-block
 * 2g + i % 2, g = 2c + t / 8. Q5_K's fifth bit of that element is bit
 * 2g + i % 2 of byte i / 2 of qh word t % 8 (bytes 16 .. 47, words 4-11). */
static inline __attribute__((always_inline)) void superblock_q45_k(const uint MR, global const uchar *bj,
                                                                   ulong k0, global const float *xk,
                                                                   const ulong *xrow, global const void *x,
                                                                   const uint x_half, vfloat *acc)
{
    const uint QS = Q5_K ? 48 : 16; /* the codes' first byte */
    uint16 head[12];                /* words 0-3: d and dmin, the 12 scale bytes; 4-11: Q5_K's qh */
    block_words(bj, 0, Q5_K ? 12 : 4, head);
    float16 d = lanes_half(head[0], 0), dmin = lanes_half(head[0], 16);
#pragma unroll
    for (uint c = 0; c < 2; c++) {
        uint16 w[CLQ_TILE_ROWS];
        block_words(bj, QS + 64 * c, CLQ_TILE_ROWS, w);
#pragma unroll
        for (uint g = 2 * c; g < 2 * c + 2; g++) {
            /* ggml's get_scale_min_k4 for sub-blocks 2g and 2g+1, all lanes:
             * the scale dl and the min ml (ml - K_CENTRE·dl for centred codes) */
            float16 dl[2], ml[2];
#pragma unroll
            for (uint h = 0; h < 2; h++) {
                uint s = 2 * g + h, sh = 8 * (s % 4);
                uint16 sc, mn;
                if (s < 4) {
                    sc = (head[1] >> sh) & 63u;
                    mn = (head[2] >> sh) & 63u;
                } else {
                    sc = ((head[3] >> sh) & 15u) | ((head[1] >> (sh + 6)) & 3u) << 4;
                    mn = ((head[3] >> (sh + 4)) & 15u) | ((head[2] >> (sh + 6)) & 3u) << 4;
                }
                dl[h] = d * convert_float16(sc);
                ml[h] = dmin * convert_float16(mn);
                if (MR == 1)
                    ml[h] = fma(dl[h], (float16)(-K_CENTRE), ml[h]);
            }
            if (MR == 1) {
                /* even parts: low nibbles (sub-block 2g), odd: high */
                float16 part[4] = {(float16)(0.0f), (float16)(0.0f), (float16)(0.0f), (float16)(0.0f)};
#pragma unroll
                for (uint t = 0; t < 8; t++) {
                    uint16 word = w[8 * (g % 2) + t];
                    uint e0 = 64 * g + 4 * t;
                    float xw[1][8];
                    X_WORD(xw, e0, 32)
                    K_BYTES(word, head[4 + t], g)
#pragma unroll
                    for (uint i = 0; i < 8; i++)
                        part[i % 4] = fma(K_CODE(k_centred, word, i),
                                          X_AT(0, i % 2, i / 2, e0 + 32 * (i % 2) + i / 2), part[i % 4]);
                }
                acc[0] = fma(part[0] + part[2], dl[0], acc[0]);
                acc[0] = fma(part[1] + part[3], dl[1], acc[0]);
                acc[0] = fma(ml[0], -x_sum32(x, x_half, xrow[0] + k0 + 64 * g), acc[0]);
                acc[0] = fma(ml[1], -x_sum32(x, x_half, xrow[0] + k0 + 64 * g + 32), acc[0]);
            } else {
#pragma unroll 1 /* the instruction cache: see the top of this file */
                for (uint t = 0; t < 8; t++) {
                    uint16 word = w[8 * (g % 2) + t];
                    uint e0 = 64 * g + 4 * t;
                    float xw[CLQ_TILE_ROWS][8];
                    X_WORD(xw, e0, 32)
                    K_BYTES(word, head[4 + t], g)
#pragma unroll
                    for (uint i = 0; i < 8; i++) {
                        float16 v = fma(K_CODE(k_codes, word, i), dl[i % 2], -ml[i % 2]);
#pragma unroll
                        for (uint m = 0; m < MR; m++)
                            acc[m] = fma(v, X_AT(m, i % 2, i / 2, e0 + 32 * (i % 2) + i / 2), acc[m]);
                    }
                }
            }
        }
    }
}
#endif

#if defined(GGML_BY_WORDS) && CLQ_FORMAT == CLQ_FMT_Q6_K
/* Q6_K (block_q6_K: 128 bytes of low 4 bits, 64 of high 2 bits, 16 int8
 * scales of sub-blocks of 16, fp16 d): one super-block of the tile. Half h of the
 * super-block (elements 128h ..) takes its low bits from bytes 64h ..
 * 64h+63 and its high bits from qh bytes 32h .. 32h+31: byte u of low
 * word t holds, in its low nibble, element
 * 128h + 32·s + 4·(t % 8) + u with s = t / 8, and in its high nibble the
 * same with s + 2; its two high bits are bits 2s, 2s+1 of byte u of qh
 * word 8h + t % 8. An element's scale is that of its 16: index 8h + 2s +
 * (t % 8) / 4. */
static inline __attribute__((always_inline)) void superblock_q6_k(const uint MR, global const uchar *bj,
                                                                  ulong k0, global const float *xk,
                                                                  const ulong *xrow, global const void *x,
                                                                  const uint x_half, vfloat *acc)
{
    /* bytes 192 .. 207: the 16 scales; the 16 rows' d are 16 halves */
    uint16 scales[4], qh[CLQ_TILE_ROWS];
    block_words(bj, 192, 4, scales);
    float16 d = lone_d(bj);
    block_words(bj, 128, CLQ_TILE_ROWS, qh);
    uint16 qhx[CLQ_TILE_ROWS];
#pragma unroll
    for (uint t = 0; t < CLQ_TILE_ROWS; t++)
        qhx[t] = qh[t] ^ 0xAAAAAAAAu;
#pragma unroll
    for (uint h = 0; h < 2; h++) {
        uint16 ql[CLQ_TILE_ROWS];
        block_words(bj, 64 * h, CLQ_TILE_ROWS, ql);
#pragma unroll
        for (uint q4 = 0; q4 < 4; q4++) { /* words 4·q4 ..: one 16 of each nibble */
            uint s_lo = q4 / 2;           /* s of the low nibbles */
            /* the int8 scales of this 16 for the low (s) and high (s + 2)
             * nibbles, times 2^-26: the codes below come as (q - 32)·2^26,
             * each taken from the top of its lane with one shift and a mask
             * where a shift left and a sign-extending shift right took two
             * (17 -> 10 shifts per word of 8 codes, and 512-bit shifts share
             * few ports: 1024x2048 M = 1, weights in L2, 61-73 -> 46 us on
             * Zen 5). Scaling by powers of two is exact, so each product
             * rounds as before; the unscaled sums (MR <= 4) overflow only
             * where |X| passes about 1e28. */
            float16 ds[2];
#pragma unroll
            for (uint n = 0; n < 2; n++) {
                uint at = 8 * h + 2 * (s_lo + 2 * n) + q4 % 2;
                ds[n] = d * convert_float16(as_int16(scales[at / 4] << (24 - 8 * (at % 4))) >> 24) * 0x1p-26f;
            }
            float16 part[4][4];
#pragma unroll
            for (uint m = 0; m < MR; m++)
#pragma unroll
                for (uint p = 0; p < 4; p++)
                    part[m][p] = (float16)(0.0f);
#pragma unroll 1
            for (uint tt = 0; tt < 4; tt++) {
                /* t % 8 spelled out: with it, the rolled loop rebuilt each X address
                 * with integer operations */
                uint t = 4 * q4 + tt, t8 = 4 * (q4 % 2) + tt, hw = 8 * h + t8;
                /* each byte's code in its top 6 bits, q - 32 as a signed
                 * 6-bit number (qhx: the high bits with bit 5 of q flipped);
                 * bits 0-1 are left over from the nibble's neighbours */
                uint16 lo = bitselect(ql[t] << 2, qhx[hw] << (6 - 2 * s_lo), (uint16)(0xC0C0C0C0u));
                uint16 hi = bitselect(ql[t] >> 2, qhx[hw] << (2 - 2 * s_lo), (uint16)(0xC0C0C0C0u));
                float xw[CLQ_TILE_ROWS][8];
                X_WORD(xw, 128 * h + 32 * s_lo + 4 * t8, 64)
#pragma unroll
                for (uint i = 0; i < 8; i++) {
                    uint n = i / 4, u = i % 4; /* n: high nibbles */
                    uint e = 128 * h + 32 * (s_lo + 2 * n) + 4 * t8 + u;
                    /* byte u moved to the top, its 6 bits kept: (q - 32)·2^26 as an int, exactly */
                    float16 q = convert_float16(as_int16(((n ? hi : lo) << (24 - 8 * u)) & 0xFC000000u));
                    if (MR <= 4) {
#pragma unroll
                        for (uint m = 0; m < MR; m++)
                            part[m][2 * n + u % 2] = fma(q, X_AT(m, n, u, e), part[m][2 * n + u % 2]);
                    } else {
                        float16 v = q * ds[n];
#pragma unroll
                        for (uint m = 0; m < MR; m++)
                            acc[m] = fma(v, X_AT(m, n, u, e), acc[m]);
                    }
                }
            }
            if (MR <= 4) {
#pragma unroll
                for (uint m = 0; m < MR; m++)
#pragma unroll
                    for (uint n = 0; n < 2; n++)
                        acc[m] = fma(part[m][2 * n] + part[m][2 * n + 1], ds[n], acc[m]);
            }
        }
    }
}
#endif

#if defined(GGML_BY_WORDS) && CLQ_FORMAT == CLQ_FMT_IQ4_XS
/* IQ4_XS (block_iq4_xs: fp16 d, 16 bits of high scale bits, 4 bytes of low
 * ones, then 128 bytes of codes into ggml's non-linear 16-value code): one
 * super-block of the tile. Sub-block s of 32 has the codes' bytes 16s .. 16s+15 (low
 * nibbles: its first 16 elements; high: the next 16) and the 6-bit scale
 * ls, d·(ls - 32) its factor. Word t of the 64 bytes
 * at 8 + 64c holds, in nibble i, element 32s + 16·(i % 2) + 4·(t % 4) + i / 2
 * of sub-block s = 4c + t / 4; the header's words 0 and 1 (bytes 0 .. 7)
 * are d with the high scale bits, and the low scale bits. */
static inline __attribute__((always_inline)) void superblock_iq4_xs(const uint MR, global const uchar *bj,
                                                                    ulong k0, global const float *xk,
                                                                    const ulong *xrow, global const void *x,
                                                                    const uint x_half, vfloat *acc)
{
    uint16 head[2];
    block_words(bj, 0, 2, head);
    float16 d = lanes_half(head[0], 0);
#pragma unroll
    for (uint c = 0; c < 2; c++) {
        uint16 w[CLQ_TILE_ROWS];
        block_words(bj, 8 + 64 * c, CLQ_TILE_ROWS, w);
#pragma unroll
        for (uint s = 4 * c; s < 4 * c + 4; s++) {
            /* ggml's ls: 4 low bits from scales_l, 2 high from scales_h */
            uint16 ls = ((head[1] >> (8 * (s / 2) + 4 * (s % 2))) & 15u) | ((head[0] >> (16 + 2 * s)) & 3u)
                                                                               << 4;
            float16 dl = d * convert_float16(as_int16(ls) - 32);
            if (MR == 1) {
                float16 part[4] = {(float16)(0.0f), (float16)(0.0f), (float16)(0.0f), (float16)(0.0f)};
#pragma unroll
                for (uint tt = 0; tt < 4; tt++) { /* t = 4·(s % 4) + tt */
                    uint e0 = 32 * s + 4 * tt;
                    float xw[1][8];
                    X_WORD(xw, e0, 16)
#pragma unroll
                    for (uint i = 0; i < 8; i++)
                        part[i % 4] = fma(LOOKUP4_16(iq4nl_code, w[4 * (s % 4) + tt] >> (4 * i)),
                                          X_AT(0, i % 2, i / 2, e0 + 16 * (i % 2) + i / 2), part[i % 4]);
                }
                acc[0] = fma((part[0] + part[1]) + (part[2] + part[3]), dl, acc[0]);
            } else {
#pragma unroll 1                                  /* the instruction cache: see the top of this file */
                for (uint tt = 0; tt < 4; tt++) { /* t = 4·(s % 4) + tt */
                    uint e0 = 32 * s + 4 * tt;
                    float xw[CLQ_TILE_ROWS][8];
                    X_WORD(xw, e0, 16)
#pragma unroll
                    for (uint i = 0; i < 8; i++) {
                        float16 v = LOOKUP4_16(iq4nl_code, w[4 * (s % 4) + tt] >> (4 * i)) * dl;
#pragma unroll
                        for (uint m = 0; m < MR; m++)
                            acc[m] = fma(v, X_AT(m, i % 2, i / 2, e0 + 16 * (i % 2) + i / 2), acc[m]);
                    }
                }
            }
        }
    }
}
#endif

#if defined(GGML_BY_WORDS) && (CLQ_FORMAT == CLQ_FMT_Q4_1 || CLQ_FORMAT == CLQ_FMT_Q5_0 ||                   \
                               CLQ_FORMAT == CLQ_FMT_Q5_1 || CLQ_FORMAT == CLQ_FMT_IQ4_NL)
#define B32_MIN (CLQ_FORMAT == CLQ_FMT_Q4_1 || CLQ_FORMAT == CLQ_FMT_Q5_1) /* d·q + m */
#define B32_FIVE (CLQ_FORMAT == CLQ_FMT_Q5_0 || CLQ_FORMAT == CLQ_FMT_Q5_1)
/* The codes' first byte (after d, m, qh); qh is the 4 bytes before them. */
#define B32_QS                                                                                               \
    (CLQ_FORMAT == CLQ_FMT_Q4_1 ? 4 : CLQ_FORMAT == CLQ_FMT_Q5_0 ? 6 : CLQ_FORMAT == CLQ_FMT_Q5_1 ? 8 : 2)
/* The codes as ggml reads them (row 0: scaled first) and centred for the
 * unscaled sums (row 1): d·q + m = d·(q - c) + (m + c·d), c = B32_CENTRE,
 * so that the sums stay near the size of the products (see the top of this
 * file). Q5_0's codes are q - 16 already; IQ4_NL's are its table. */
#if CLQ_FORMAT == CLQ_FMT_Q4_1
#define B32_CENTRE 8.0f
constant float b32_code[2][32] = {{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
                                  {-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7}};
#elif CLQ_FORMAT == CLQ_FMT_Q5_0
#define B32_CENTRE 0.0f
constant float b32_code[2][32] = {{-16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1,
                                   0,   1,   2,   3,   4,   5,   6,   7,  8,  9,  10, 11, 12, 13, 14, 15},
                                  {-16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1,
                                   0,   1,   2,   3,   4,   5,   6,   7,  8,  9,  10, 11, 12, 13, 14, 15}};
#elif CLQ_FORMAT == CLQ_FMT_Q5_1
#define B32_CENTRE 16.0f
constant float b32_code[2][32] = {{0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                                   16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31},
                                  {-16, -15, -14, -13, -12, -11, -10, -9, -8, -7, -6, -5, -4, -3, -2, -1,
                                   0,   1,   2,   3,   4,   5,   6,   7,  8,  9,  10, 11, 12, 13, 14, 15}};
#else
#define B32_CENTRE 0.0f
constant float b32_code[2][32] = {{CLQ_IQ4NL_CODE_VALUES}, {CLQ_IQ4NL_CODE_VALUES}};
#endif

#if B32_FIVE
/* Bits 0-3 of v (qh bits 4t .. 4t+3: the fifth bits of a word's four low
 * or high nibbles) moved to bit 4 of bytes 0-3, bit u to bit 8u + 4: a
 * 16-entry table looked up as LOOKUP4_16 looks up codes (the permute moves
 * bits, whatever they mean as floats), one operation where a multiply
 * (((v) & 15) · 0x2040810 & 0x10101010) took four. */
constant uint b32_spread[16] = {0x00000000u, 0x00000010u, 0x00001000u, 0x00001010u, 0x00100000u, 0x00100010u,
                                0x00101000u, 0x00101010u, 0x10000000u, 0x10000010u, 0x10001000u, 0x10001010u,
                                0x10100000u, 0x10100010u, 0x10101000u, 0x10101010u};
#define B32_SPREAD(v) as_uint16(LOOKUP4_16((constant float *)b32_spread, (v)))
/* A word's codes as bytes of 5 bits: lo_b (byte u: element 4t + u, low
 * nibble) and hi_b (16 + 4t + u, high nibble), fifth bits from qh bits e. */
#define B32_BYTES(word, qh, t)                                                                               \
    uint16 lo_b = ((word)&0x0F0F0F0Fu) | B32_SPREAD((qh) >> (4 * (t)));                                      \
    uint16 hi_b = (((word) >> 4) & 0x0F0F0F0Fu) | B32_SPREAD((qh) >> (16 + 4 * (t)));
#define B32_CODE(table, word, i) LOOKUP5_16(table, ((i) % 2 ? hi_b : lo_b) >> (8 * ((i) / 2)))
#else
#define B32_BYTES(word, qh, t)
#define B32_CODE(table, word, i) LOOKUP4_16(table, (word) >> (4 * (i)))
#endif

/* Q4_1, Q5_0, Q5_1 and IQ4_NL (block_q4_1 ... block_iq4_nl: fp16 d (and m),
 * Q5's 32 fifth bits qh, 16 bytes of codes, byte j: element j in its low
 * nibble, j + 16 in its high one): one block of the tile. Word t of the
 * codes holds, in nibble i, element 16·(i % 2) + 4t + i / 2. Q5_0's and
 * IQ4_NL's d are the group's 16 halves; Q4_1's and Q5_1's d and m are
 * word 0. */
static inline __attribute__((always_inline)) void block32(const uint MR, global const uchar *bj, ulong k0,
                                                          global const float *xk, const ulong *xrow,
                                                          global const void *x, const uint x_half,
                                                          vfloat *acc)
{
    uint16 w[5]; /* w[0]: Q5's qh; w[1 + t]: word t of the codes */
    block_words(bj, B32_QS - 4 * B32_FIVE, 4 + B32_FIVE, w + 1 - B32_FIVE);
    float16 d, mb = (float16)(0.0f); /* mb: the block's m */
    if (B32_MIN) {
        uint16 dm;
        block_words(bj, 0, 1, &dm);
        d = lanes_half(dm, 0);
        mb = lanes_half(dm, 16);
    } else {
        d = lone_d(bj);
    }
    if (MR == 1) {
        float16 part[4] = {(float16)(0.0f), (float16)(0.0f), (float16)(0.0f), (float16)(0.0f)};
#pragma unroll
        for (uint t = 0; t < 4; t++) {
            float xw[1][8];
            X_WORD(xw, 4 * t, 16)
            B32_BYTES(w[1 + t], w[0], t)
#pragma unroll
            for (uint i = 0; i < 8; i++)
                part[i % 4] = fma(B32_CODE(b32_code[1], w[1 + t], i),
                                  X_AT(0, i % 2, i / 2, 16 * (i % 2) + 4 * t + i / 2), part[i % 4]);
        }
        acc[0] = fma((part[0] + part[1]) + (part[2] + part[3]), d, acc[0]);
        if (B32_MIN)
            acc[0] = fma(fma(d, (float16)(B32_CENTRE), mb), x_sum32(x, x_half, xrow[0] + k0), acc[0]);
    } else {
#pragma unroll 1 /* the instruction cache: see the top of this file */
        for (uint t = 0; t < 4; t++) {
            uint16 word = w[1 + t];
            float xw[CLQ_TILE_ROWS][8];
            X_WORD(xw, 4 * t, 16)
            B32_BYTES(word, w[0], t)
#pragma unroll
            for (uint i = 0; i < 8; i++) {
                float16 v =
                    B32_MIN ? fma(B32_CODE(b32_code[0], word, i), d, mb) : B32_CODE(b32_code[0], word, i) * d;
#pragma unroll
                for (uint m = 0; m < MR; m++)
                    acc[m] = fma(v, X_AT(m, i % 2, i / 2, 16 * (i % 2) + 4 * t + i / 2), acc[m]);
            }
        }
    }
}
#endif

#if defined(GGML_BY_WORDS) && (CLQ_FORMAT == CLQ_FMT_Q2_K || CLQ_FORMAT == CLQ_FMT_Q3_K)
#define Q3_K (CLQ_FORMAT == CLQ_FMT_Q3_K)
/* Q3_K: a 4-bit index's value, of which bits 0-1 are the low bits of the
 * code and bit 2 its high bit: low - (high ? 0 : 4). Q2_K: the codes at
 * bits 0-1 (row 0) and 2-3 (row 1) of a 4-bit index, so that one shift
 * serves two codes. Q2_K's codes stay uncentred in the unscaled sums: less
 * 1.5 (and the min 1.5·dl less), as Q4_K's, the M = 1 test missed its
 * bound (6.7e-4 against 6.4e-4) where the codes as they are met it. */
#if Q3_K
constant float q23_code[16] = {-4, -3, -2, -1, 0, 1, 2, 3, -4, -3, -2, -1, 0, 1, 2, 3};
#else
constant float q23_code[2][16] = {{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3},
                                  {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}};
#endif
constant float q23_nibble[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* As X_WORD, for the word's four fours of elements e, e + gap, e + 2·gap,
 * e + 3·gap (xw[m][4n + u]: X_AT's n-th four). */
#define X_QUAD(xw, e, gap)                                                                                   \
    if (x_half && !X_TILED(MR))                                                                              \
        _Pragma("unroll") for (uint m = 0; m < MR; m++)                                                      \
        {                                                                                                    \
            global const half *xh = (global const half *)x + xrow[m] + k0;                                   \
            _Pragma("unroll") for (uint n = 0; n < 4; n++)                                                   \
                vstore4(vload_half4(0, xh + (e) + n * (gap)), n, xw[m]);                                     \
        }

/* Lane j: Σ X[at + 16j .. at + 16j + 15], the sums of a super-block's 16
 * sub-blocks (Q2_K's mins): 16 loads, then four stages that each add pairs
 * of vectors, halves of each row's lanes to the other halves, so that the
 * rows' partial sums stay in row order. */
static inline __attribute__((always_inline)) WIDE float16 x_sums16(global const void *x, uint x_half,
                                                                   ulong at)
{
    float16 r[16];
#pragma unroll
    for (uint i = 0; i < 16; i++)
        r[i] = x_half ? load_x16(x, 1, at + 16 * i) : ((global const float16 *)x)[at / 16 + i];
#pragma unroll
    for (uint i = 0; i < 8; i++)
        r[i] =
            SHUFFLE16(r[2 * i], r[2 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
            SHUFFLE16(r[2 * i], r[2 * i + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
#pragma unroll
    for (uint i = 0; i < 4; i++)
        r[i] = SHUFFLE16(r[2 * i], r[2 * i + 1], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27) +
               SHUFFLE16(r[2 * i], r[2 * i + 1], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
#pragma unroll
    for (uint i = 0; i < 2; i++)
        r[i] = SHUFFLE16(r[2 * i], r[2 * i + 1], 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29) +
               SHUFFLE16(r[2 * i], r[2 * i + 1], 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31);
    return SHUFFLE16(r[0], r[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) +
           SHUFFLE16(r[0], r[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
}

/* The code of element u of the word's four of s (bits 2s, 2s + 1 of byte
 * u of the low bits' word; Q3_K's high bit: bit 4h + s of byte u of the
 * hmask word), all lanes. Q3_K merges the high bits of a four into bit 2
 * of each byte with one bitselect (index, below). */
#if Q3_K
#define Q23_INDEX(word, hmw, h, s)                                                                           \
    bitselect((4 * (h) + (s) >= 2 ? (hmw) >> (4 * (h) + (s)-2) : (hmw) << (2 - (s))), (word) >> (2 * (s)),   \
              (uint16)(0x03030303u))
#define Q23_CODE(index, word, s, u) LOOKUP4_16(q23_code, (index) >> (8 * (u)))
#else
#define Q23_INDEX(word, hmw, h, s) 0
#define Q23_CODE(index, word, s, u) LOOKUP4_16(q23_code[(s) % 2], (word) >> (2 * ((s)&2) + 8 * (u)))
#endif

/* Q2_K and Q3_K (block_q2_K: 16 bytes of 4-bit scales and mins, 64 bytes of
 * 2-bit codes, fp16 d and dmin; block_q3_K: 32 bytes of high bits hmask,
 * 64 bytes of low 2 bits, 12 bytes of 6-bit scales, fp16 d): one
 * super-block of the tile, in sub-blocks of 16. Word t of the 2-bit codes
 * (t = 8h + 4q + tt) holds, in bits 2s, 2s + 1 of byte u, element
 * 128h + 32s + 16q + 4tt + u, of sub-block 8h + 2s + q; Q3_K's high bit of
 * that element is bit 4h + s of byte u of hmask word 4q + tt. */
static inline __attribute__((always_inline)) void superblock_q23_k(const uint MR, global const uchar *bj,
                                                                   ulong k0, global const float *xk,
                                                                   const ulong *xrow, global const void *x,
                                                                   const uint x_half, vfloat *acc)
{
    const uint QS = Q3_K ? 32 : 16; /* the 2-bit codes' first byte */
    uint16 sc[4];                   /* the scale bytes */
    float16 d, dmin = (float16)(0.0f);
#if Q3_K
    block_words(bj, 96, 3, sc);
    d = lone_d(bj);
#else
    uint16 dd;
    block_words(bj, 80, 1, &dd);
    block_words(bj, 0, 4, sc);
    d = lanes_half(dd, 0);
    dmin = lanes_half(dd, 16);
    /* Q2_K's mins, for one row of X: the sub-blocks' sums of X */
    float xsum[16];
    if (MR == 1)
        vstore16(x_sums16(x, x_half, xrow[0] + k0), 0, xsum);
#endif
#pragma unroll
    for (uint h = 0; h < 2; h++) {
#pragma unroll
        for (uint q = 0; q < 2; q++) {
            /* the quarter's words: 2-bit codes (w), Q3_K's high bits (hm),
             * loaded here, not once per super-block, to leave registers
             * to the sums */
            uint16 w[4], hm[4];
            block_words(bj, QS + 32 * h + 16 * q, 4, w);
            if (Q3_K)
                block_words(bj, 16 * q, 4, hm);
            /* the scale dl (and Q2_K's min ml) of sub-block 8h + 2s + q,
             * whose scale byte is byte 2·(s % 2) + q of a word */
            float16 dl[4], ml[4];
#pragma unroll
            for (uint s = 0; s < 4; s++) {
                uint sh = 8 * (2 * (s % 2) + q);
#if Q3_K
                uint16 sc6 =
                    ((sc[s / 2] >> (sh + 4 * h)) & 15u) | ((sc[2] >> (sh + 2 * (2 * h + s / 2))) & 3u) << 4;
                dl[s] = d * convert_float16(as_int16(sc6) - 32);
#else
                dl[s] = d * LOOKUP4_16(q23_nibble, sc[2 * h + s / 2] >> sh);
                ml[s] = dmin * LOOKUP4_16(q23_nibble, sc[2 * h + s / 2] >> (sh + 4));
#endif
            }
            if (MR == 1) {
                /* one sum per s: 16 fmas each, three or four other operations
                 * apart; two per s spilled registers */
                float16 part[4] = {(float16)(0.0f), (float16)(0.0f), (float16)(0.0f), (float16)(0.0f)};
#pragma unroll
                for (uint tt = 0; tt < 4; tt++) {
                    uint16 word = w[tt];
                    uint e0 = 128 * h + 16 * q + 4 * tt;
                    float xw[1][16];
                    X_QUAD(xw, e0, 32)
#pragma unroll
                    for (uint s = 0; s < 4; s++) {
                        uint16 index = Q23_INDEX(word, hm[tt], h, s);
#pragma unroll
                        for (uint u = 0; u < 4; u++)
                            part[s] =
                                fma(Q23_CODE(index, word, s, u), X_AT(0, s, u, e0 + 32 * s + u), part[s]);
                    }
                }
#pragma unroll
                for (uint s = 0; s < 4; s++) {
                    acc[0] = fma(part[s], dl[s], acc[0]);
#if !Q3_K
                    acc[0] = fma(ml[s], (float16)(-xsum[8 * h + 2 * s + q]), acc[0]);
#endif
                }
            } else {
#pragma unroll 1 /* the instruction cache: see the top of this file */
                for (uint tt = 0; tt < 4; tt++) {
                    uint16 word = w[tt];
                    uint e0 = 128 * h + 16 * q + 4 * tt;
                    float xw[CLQ_TILE_ROWS][16];
                    X_QUAD(xw, e0, 32)
#pragma unroll
                    for (uint s = 0; s < 4; s++) {
                        uint16 index = Q23_INDEX(word, hm[tt], h, s);
#pragma unroll
                        for (uint u = 0; u < 4; u++) {
                            float16 c = Q23_CODE(index, word, s, u);
                            float16 v = Q3_K ? c * dl[s] : fma(c, dl[s], -ml[s]);
#pragma unroll
                            for (uint m = 0; m < MR; m++)
                                acc[m] = fma(v, X_AT(m, s, u, e0 + 32 * s + u), acc[m]);
                        }
                    }
                }
            }
        }
    }
}
#endif

#ifdef GGML_BY_WORDS
#if CLQ_FORMAT == CLQ_FMT_Q4_K || CLQ_FORMAT == CLQ_FMT_Q5_K
#define SUPERBLOCK superblock_q45_k
#elif CLQ_FORMAT == CLQ_FMT_Q6_K
#define SUPERBLOCK superblock_q6_k
#elif CLQ_GGML_BLOCK_OF(CLQ_FORMAT) == 32
#define SUPERBLOCK block32
#elif CLQ_FORMAT == CLQ_FMT_Q2_K || CLQ_FORMAT == CLQ_FMT_Q3_K
#define SUPERBLOCK superblock_q23_k
#else
#define SUPERBLOCK superblock_iq4_xs
#endif

/* A whole tile by words: the tile's super-blocks in turn, each through its
 * format's SUPERBLOCK (above), which adds its products to acc. */
static inline __attribute__((always_inline)) void tiles_by_words(const uint MR, uint m_count, uint n_count,
                                                                 uint k_count, global const uchar *quants,
                                                                 global const void *x, const uint x_half,
                                                                 global void *y, EPILOGUE_PARAMS)
{
    uint tile = get_global_id(0), n0 = tile * CLQ_TILE_ROWS;
    if (n0 >= n_count)
        return;
    uint m0 = get_global_id(1) * MR, nb = k_count / GGML_BLOCK;
    global const uchar *tb = quants + (ulong)tile * nb * CLQ_TILE_ROWS * GGML_BYTES;
    ulong xrow[CLQ_TILE_ROWS];
    vfloat acc[CLQ_TILE_ROWS];
    start_rows(MR, m0, m_count, k_count, xrow, acc);
    lora_prefetch(MR, m0, m_count, n0, EPILOGUE_ARGS);
    for (uint j = 0; j < nb; j++) {
        global const uchar *bj = tb + (ulong)j * CLQ_TILE_ROWS * GGML_BYTES;
        ulong k0 = (ulong)j * GGML_BLOCK;
        SUPERBLOCK(MR, bj, k0, (global const float *)x + (ulong)m0 * k_count + k0 * CLQ_TILE_ROWS, xrow, x,
                   x_half, acc);
    }
    store_tile_rows(MR, m0, m_count, n0, n_count, acc, y, EPILOGUE_ARGS);
}

/* The tiles kernel's body: (m_count, n_count, k_count, block, the weight's
 * arrays, x, x_half, y, epilogue). */
#define TILES_FN(MR, m, n, k, block, quants, scales, zeros, nested, code, offset, x, x_half, y, ...)         \
    tiles_by_words(MR, m, n, k, quants, x, x_half, y, __VA_ARGS__)
#else
#define TILES_FN tiles_ggml
#endif
EXPAND(TILES_KERNEL, CLQ_MM_GROUP)

#endif

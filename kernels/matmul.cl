/*
 * Fused dequantize-GEMV/GEMM with the LoRA side path:
 *   Y = X·dequant(W)ᵀ (+ bias) (+ s·T·Bᵀ),  T = X·Aᵀ from lora.cl.
 * Built once per weight format: CLQ_FORMAT and CLQ_DQ are compile-time
 * constants, so no format switch is left in the inner loops.
 *
 * Two kernel families, chosen by the host:
 *  - clq_matmul_tiles<MR> (decode, and prefill on CPUs): a work-item streams
 *    CLQ_MM_LANES rows of one row tile of W (clq_common.h: the 16 rows of a
 *    tile lie side by side, 8 nibbles per word) against MR rows of X. On a
 *    CPU a work-item takes the whole tile as float16 vectors: one 64-byte
 *    load feeds 16 rows, a 4-bit code becomes a float with one permute
 *    (vpermps ignores all but the index's low 4 bits, so no mask is
 *    needed), and each element costs one fma per row of X. On a GPU each
 *    work-item takes one row (CLQ_MM_LANES 1), so 16 neighbours read one
 *    64-byte line. The weights are read once per MR rows of X;
 *  - clq_matmul_prefill (prefill on GPUs): tiles of CLQ_PF_TM rows of X by
 *    CLQ_PF_TN rows of W, the weights of a tile dequantized once into local
 *    memory and reused by every row of the X tile.
 * Both end in the same epilogue (bias, LoRA expand), so Y is written once.
 * dequant.cl and ggml_blocks.cl are prepended; matmul_ggml.cl, appended,
 * holds the tiles kernels of ggml's block types.
 *
 * A build holds one group of kernels, CLQ_MM_GROUP: MR (1, 2, 4, 8 or 16)
 * for clq_matmul_tiles<MR> (with clq_interleave_x for 16 rows on CPUs:
 * X_TILED), 0 for clq_matmul_prefill. Loading a cached program binary,
 * PoCL parses all of its bitcode (about 20 ms per MB on a Zen 4 core): a
 * process's first M = 1 matmul loads its 0.16 MB group instead of all
 * 1.5 MB.
 */
#pragma OPENCL FP_CONTRACT ON

/* No defaults here: the host passes every one of these (the format and
 * group per program variant, host/matmul.c; the tuning parameters from
 * host/params_table.h for every build), so a default could never be
 * reached and would only disagree with the table. */
#if !defined(CLQ_FORMAT) || !defined(CLQ_DQ) || !defined(CLQ_MM_GROUP)
#error "CLQ_FORMAT, CLQ_DQ and CLQ_MM_GROUP come from the host (host/matmul.c)"
#endif
#if !defined(CLQ_MM_LANES) || !defined(CLQ_PF_TM) || !defined(CLQ_PF_TN) || !defined(CLQ_PF_WM) ||           \
    !defined(CLQ_PF_WN)
#error "CLQ_MM_LANES and CLQ_PF_* come from the host's parameter table (host/params_table.h)"
#endif

/* The CPU paths hold a tile in float16 vectors and transpose 16×16
 * blocks of tile rows. */
#if CLQ_TILE_ROWS != 16
#error "the float16 paths below assume tiles of 16 rows"
#endif

#define PF_TK 16 /* K per prefill step: always inside one block (blocks are multiples of 16) */
#define PF_THREADS_M (CLQ_PF_TM / CLQ_PF_WM)
#define PF_THREADS_N (CLQ_PF_TN / CLQ_PF_WN)
#define PF_WG (PF_THREADS_M * PF_THREADS_N)

#define CLQ_8BIT (CLQ_FORMAT == CLQ_FMT_Q8 || CLQ_FORMAT == CLQ_FMT_DYNAMIC8)
#define WORD_BITS (CLQ_8BIT ? 8 : 4)
#define WORD_ELEMS CLQ_WORD_ELEMENTS(WORD_BITS)

/* The weight's device arrays, as every kernel here takes them. */
#define WEIGHT_PARAMS                                                                                        \
    global const uchar *quants, global const void *scales, global const uchar *zeros,                        \
        global const float *nested, global const float *code, global const float *offset
/* Bias and LoRA expand, applied to each output. */
#define EPILOGUE_PARAMS                                                                                      \
    global const void *bias, uint y_half, uint n_adapters, global const float *t, uint r_max,                \
        global const void *lora_b, uint b_half, global const int *rank, global const uint *b_offset,         \
        global const float *lora_scale, global const int *row_adapter
#define EPILOGUE_ARGS                                                                                        \
    bias, y_half, n_adapters, t, r_max, lora_b, b_half, rank, b_offset, lora_scale, row_adapter

inline uint zero_point(global const uchar *zeros, uint g)
{
#if CLQ_FORMAT == CLQ_FMT_Q4Z
    return zeros[g];
#else
    return 0u;
#endif
}

/* Where B[n, j] of an adapter of rank r lies: B is stored in row tiles
 * like the weight (host/lora.c), 16 outputs side by side for each j, so a
 * tile's 16 outputs read one vector per j. */
inline ulong lora_b_index(uint b_offset, uint r, uint n, uint j)
{
    return b_offset + ((ulong)(n / CLQ_TILE_ROWS) * r + j) * CLQ_TILE_ROWS + n % CLQ_TILE_ROWS;
}

/* acc + bias[n] + s·Σ_j B[n, j]·T[m, j] for the adapter of row m, T from
 * the global scratch t (the prefill kernel's epilogue). */
inline float epilogue(float acc, uint m, uint n, EPILOGUE_PARAMS)
{
    if (bias)
        acc += load_x(bias, y_half, n);
    if (n_adapters) {
        int a = row_adapter ? row_adapter[m] : 0;
        if (a >= 0) {
            uint r = (uint)rank[a];
            global const float *t_row = t + (ulong)m * r_max;
            float side = 0.0f;
            for (uint j = 0; j < r; j++)
                side = fma(load_x(lora_b, b_half, lora_b_index(b_offset[a], r, n, j)), t_row[j], side);
            acc = fma(lora_scale[a], side, acc);
        }
    }
    return acc;
}

/* ---- the tiles kernels: CLQ_MM_LANES rows of W as one vector --------------------------- */

#if CLQ_MM_LANES == 16
typedef float16 vfloat;
typedef uint16 vuint;
#define VLOAD_UINT(p) vload16(0, p)
#define VLOAD_FLOAT(p) vload16(0, p)
#define VSTORE_FLOAT(v, p) vstore16(v, 0, p)
#elif CLQ_MM_LANES == 1
typedef float vfloat;
typedef uint vuint;
#define VLOAD_UINT(p) (*(p))
#define VLOAD_FLOAT(p) (*(p))
#define VSTORE_FLOAT(v, p) (*(p) = (v))
#else
#error "CLQ_MM_LANES must be 16 or 1"
#endif

/* On AVX-512 CPUs, LLVM's tuning prefers 256-bit vectors and splits a
 * float16 into two halves in every function that does not ask for 512-bit
 * ones: the scale runs' transpose (and any helper not inlined) ran as
 * pairs of ymm instructions. WIDE asks for 512-bit vectors where clang
 * targets AVX-512 (PoCL's CPU device defines __AVX512F__); elsewhere it is
 * nothing. */
#if defined(__clang__) && defined(__AVX512F__)
#define WIDE __attribute__((min_vector_width(512)))
#else
#define WIDE
#endif

/* CLQ_MM_LANES consecutive elements of B (fp32 or fp16). */
#if CLQ_MM_LANES == 16
#define VLOAD_B(p, is_half, i) load_x16(p, is_half, i)
#else
#define VLOAD_B(p, is_half, i) load_x(p, is_half, i)
#endif

/* The LoRA side path for lanes n0 .. n0+CLQ_MM_LANES-1 of row m of Y:
 * s·Σ_j B[n, j]·T[m, j], one vector fma per j (B's tiles put a tile's
 * outputs side by side). Lanes past N read B's zero padding. */
static inline __attribute__((always_inline)) vfloat lora_lanes(uint m, uint n0, EPILOGUE_PARAMS)
{
    vfloat side = (vfloat)(0.0f);
    int a = n_adapters ? (row_adapter ? row_adapter[m] : 0) : -1;
    if (a < 0)
        return side;
    uint r = (uint)rank[a];
    ulong at = lora_b_index(b_offset[a], r, n0, 0);
    global const float *t_row = t + (ulong)m * r_max;
    for (uint j = 0; j < r; j++)
        side = fma(VLOAD_B(lora_b, b_half, at + j * CLQ_TILE_ROWS), (vfloat)(t_row[j]), side);
    return side * lora_scale[a];
}

/* The tiles kernels' epilogue: rows m0 .. of this work-item's lanes of Y,
 * each its accumulator plus the LoRA side path and the bias; rows past M
 * and lanes past N are not stored. */
static inline __attribute__((always_inline)) void store_tile_rows(const uint MR, uint m0, uint m_count,
                                                                  uint n0, uint n_count, const vfloat *acc,
                                                                  global void *y, EPILOGUE_PARAMS)
{
#pragma unroll
    for (uint m = 0; m < MR; m++) {
        if (m0 + m >= m_count)
            break;
        float out[CLQ_MM_LANES];
        VSTORE_FLOAT(acc[m] + lora_lanes(m0 + m, n0, EPILOGUE_ARGS), out);
        for (uint l = 0; l < CLQ_MM_LANES && n0 + l < n_count; l++)
            store_y(y, y_half, (ulong)(m0 + m) * n_count + n0 + l,
                    bias ? out[l] + load_x(bias, y_half, n0 + l) : out[l]);
    }
}

/* A tiles work-item's rows of X (element offsets of their first element;
 * rows past M repeat row M-1, computed and not stored) and its
 * accumulators, zeroed. */
static inline __attribute__((always_inline)) void start_rows(const uint MR, uint m0, uint m_count,
                                                             uint k_count, ulong *xrow, vfloat *acc)
{
#pragma unroll
    for (uint m = 0; m < MR; m++) {
        xrow[m] = (ulong)min(m0 + m, m_count - 1) * k_count;
        acc[m] = (vfloat)(0.0f);
    }
}

/* Asks for the lines of B that lora_lanes will read for rows m0 .. of this
 * work-item's outputs before the tile's weights are streamed: left to the
 * epilogue, a tile's lines of B (16 at rank 16, each from memory) cost a
 * memory latency or two per tile. Rows sharing the previous row's adapter
 * ask once. */
static inline __attribute__((always_inline)) void lora_prefetch(const uint MR, uint m0, uint m_count, uint n0,
                                                                EPILOGUE_PARAMS)
{
    int previous = -1;
#pragma unroll
    for (uint m = 0; m < MR; m++) {
        int a = n_adapters && m0 + m < m_count ? (row_adapter ? row_adapter[m0 + m] : 0) : -1;
        if (a < 0 || a == previous)
            continue;
        previous = a;
        uint r = (uint)rank[a];
        ulong at = lora_b_index(b_offset[a], r, n0, 0);
        for (uint j = 0; j < r; j++) {
            if (b_half)
                CLQ_PREFETCH((global const half *)lora_b + at + j * CLQ_TILE_ROWS);
            else
                CLQ_PREFETCH((global const float *)lora_b + at + j * CLQ_TILE_ROWS);
        }
    }
}

/* The values of element i of each lane's word, before the block scale
 * (dequant.cl's CLQ_UNSCALED: on a CPU's 16 lanes, a 4-bit code becomes a
 * float with one vpermps and no mask). */
inline vfloat unscaled_lanes(vuint w, uint i, vfloat zero, global const float *code)
{
    return CLQ_UNSCALED(CLQ_FORMAT, CLQ_MM_LANES, w >> (WORD_BITS * i), zero, code);
}

/* The block scales (and Q4Z zero points) of block j of rows n0 .. n0+L-1;
 * rows past N (the last tile's padding) take row N-1's. */
WIDE inline vfloat lane_scales(uint n0, uint n_count, uint nb, uint j, global const void *scales,
                               global const float *nested, global const float *code,
                               global const float *offset)
{
    float v[CLQ_MM_LANES];
    for (uint l = 0; l < CLQ_MM_LANES; l++)
        v[l] =
            block_scale(CLQ_FORMAT, CLQ_DQ, scales, min(n0 + l, n_count - 1) * nb + j, nested, code, offset);
    return VLOAD_FLOAT(v);
}

#if CLQ_MM_LANES == 16
/* Where a work-item holds a whole tile (CPUs), it reads the tile's block
 * scales 16 blocks at a time: each row's 16 consecutive scales in one
 * load, the 16×16 of them transposed in registers into a lane vector per
 * block. Gathering the 16 rows' strided scales for every block took about
 * a fifth of decode on Zen 4 (docs/design.md). Rows whose K/B is no
 * multiple of 16 (K = 11008: 172 blocks of 64) take their last K/B mod 16
 * blocks' scales one block at a time. A run is as many blocks as the tile
 * has rows: the square that transpose16 turns into a lane vector per block. */
#define SCALE_RUN CLQ_TILE_ROWS
#if defined(__clang__)
#define SHUFFLE16(x, y, ...) __builtin_shufflevector(x, y, __VA_ARGS__)
#else
#define SHUFFLE16(x, y, ...) shuffle2(x, y, (uint16)(__VA_ARGS__))
#endif

/* One stage of transpose16: for every pair of rows i and i+b (i & b == 0),
 * swap the off-diagonal b×b blocks of their 2b×2b block. LO and HI are the
 * shuffle indices (parenthesized) of the new rows i and i+b; b is a
 * constant, so the unrolled loop keeps only the pairs. */
#define UNPAREN(...) __VA_ARGS__
#define TRANSPOSE_STAGE(r, b, LO, HI)                                                                        \
    _Pragma("unroll") for (uint i = 0; i < 16; i++) if ((i & (b)) == 0)                                      \
    {                                                                                                        \
        float16 x = (r)[i], y = (r)[i + (b)];                                                                \
        (r)[i] = SHUFFLE16(x, y, UNPAREN LO);                                                                \
        (r)[i + (b)] = SHUFFLE16(x, y, UNPAREN HI);                                                          \
    }

/* Rows r[0..15] of a 16×16 matrix become its columns: four stages, b = 8,
 * 4, 2, 1. */
WIDE inline void transpose16(float16 *r){
    TRANSPOSE_STAGE(r, 8, (0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23),
                    (8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31))
        TRANSPOSE_STAGE(r, 4, (0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27),
                        (4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31))
            TRANSPOSE_STAGE(r, 2, (0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29),
                            (2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31))
                TRANSPOSE_STAGE(r, 1, (0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30),
                                (1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31))}

/* The scales of blocks j0 .. j0+15 of rows n0 .. n0+15 (j0 + 15 < nb):
 * run[jj] holds block j0+jj's, one lane per row, as lane_scales gives them
 * (rows past N take row N-1's), computed as block_scale does. Double
 * quantization's groups of 256 blocks run over the whole matrix, so where
 * nb is no multiple of 16 a row's run may straddle two of them. */
WIDE inline void scale_run(uint n0, uint n_count, uint nb, uint j0, global const void *scales,
                           global const float *nested, global const float *code, global const float *offset,
                           float16 *run)
{
#pragma unroll
    for (uint l = 0; l < CLQ_TILE_ROWS; l++) {
        ulong at = (ulong)min(n0 + l, n_count - 1) * nb + j0;
#if CLQ_DQ
        uchar16 q = vload16(0, (global const uchar *)scales + at);
        uint first = (uint)(at % CLQ_NESTED_BLOCK); /* of the run in its group */
        float16 group =
            select((float16)(nested[(at + 15) / CLQ_NESTED_BLOCK]), (float16)(nested[at / CLQ_NESTED_BLOCK]),
                   (int16)(first) + (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) <
                       (int16)(CLQ_NESTED_BLOCK));
        float16 t = (float16)(code[q.s0], code[q.s1], code[q.s2], code[q.s3], code[q.s4], code[q.s5],
                              code[q.s6], code[q.s7], code[q.s8], code[q.s9], code[q.sa], code[q.sb],
                              code[q.sc], code[q.sd], code[q.se], code[q.sf]) *
                    group;
        run[l] = t + offset[0];
#elif CLQ_FORMAT == CLQ_FMT_Q4 || CLQ_FORMAT == CLQ_FMT_Q8
        run[l] = vload_half16(0, (global const half *)scales + at);
#else
        run[l] = vload16(0, (global const float *)scales + at);
#endif
    }
    transpose16(run);
}

/* Asks for the lines scale_run (and zero_run) will read for blocks j0 ..
 * j0+15: the next run, requested as this one starts. A row's run lies K/B
 * scales from the next row's, 16 short streams that the hardware
 * prefetcher does not pick up: read cold, each run cost about a memory
 * latency, and decode ran slower by 6-23 % (NF4/64) and 2-4 % (Q4/64,
 * whose fp16 runs share lines; docs/design.md, measured with
 * `clq bench --format nf4,q4 --block 64 --m 1`). */
WIDE inline void prefetch_scale_run(uint n0, uint n_count, uint nb, uint j0, global const void *scales,
                                    global const uchar *zeros)
{
#pragma unroll
    for (uint l = 0; l < CLQ_TILE_ROWS; l++) {
        ulong at = (ulong)min(n0 + l, n_count - 1) * nb + j0;
#if CLQ_DQ
        CLQ_PREFETCH((global const uchar *)scales + at);
#elif CLQ_FORMAT == CLQ_FMT_Q4 || CLQ_FORMAT == CLQ_FMT_Q8
        CLQ_PREFETCH((global const half *)scales + at);
#else
        CLQ_PREFETCH((global const float *)scales + at);
#endif
#if CLQ_FORMAT == CLQ_FMT_Q4Z
        CLQ_PREFETCH(zeros + at);
#endif
    }
}

/* Q4Z's zero points of the same blocks, as lane_zeros gives them; no code
 * for the other formats. */
WIDE inline void zero_run(uint n0, uint n_count, uint nb, uint j0, global const uchar *zeros, float16 *run)
{
#if CLQ_FORMAT == CLQ_FMT_Q4Z
#pragma unroll
    for (uint l = 0; l < CLQ_TILE_ROWS; l++)
        run[l] = convert_float16(vload16(0, zeros + (ulong)min(n0 + l, n_count - 1) * nb + j0));
    transpose16(run);
#endif
}
#endif

inline vfloat lane_zeros(uint n0, uint n_count, uint nb, uint j, global const uchar *zeros)
{
#if CLQ_FORMAT == CLQ_FMT_Q4Z
    float v[CLQ_MM_LANES];
    for (uint l = 0; l < CLQ_MM_LANES; l++)
        v[l] = (float)zeros[min(n0 + l, n_count - 1) * nb + j];
    return VLOAD_FLOAT(v);
#else
    return (vfloat)(0.0f);
#endif
}

/* Decode streams each tile once: a work-item holding a whole tile (a CPU)
 * prefetches 8 KiB (128 lines of the tile) ahead, 4096x4096 decode NF4 680
 * -> 590 us, Q4 800 -> 520 us on the CI machine (CLQ_PREFETCH is x86 only). */
#if CLQ_MM_LANES == 16
#define PREFETCH_AHEAD(p) CLQ_PREFETCH((p) + 128 * CLQ_TILE_ROWS)
#else
#define PREFETCH_AHEAD(p) ((void)0)
#endif

/* The WORD_ELEMS elements of fp16 X that one word of weights meets, as
 * floats: vload_half of one element is about 18 integer instructions on
 * PoCL's CPU device, a vector of them one vcvtph2ps. */
#if CLQ_8BIT
#define VLOAD_HALF_WORD(p) vload_half4(0, p)
#define VSTORE_WORD(v, p) vstore4(v, 0, p)
#else
#define VLOAD_HALF_WORD(p) vload_half8(0, p)
#define VSTORE_WORD(v, p) vstore8(v, 0, p)
#endif

/* Whether the tiles kernel reads X interleaved: for 16 rows of X on CPUs
 * (16-lane work-items) the host first copies X in groups of 16 rows, column
 * by column, as fp32 (clq_interleave_x, below), so the 16 elements of one
 * column lie in one 64-byte line. Read row by row, rows K elements apart,
 * they fell in one or two L1 sets where K·4 is a multiple of 2 KiB (K =
 * 4096, 14336), more lines than the set has ways: prefill at M = 512 ran at
 * 89 GFLOP/s with K = 4096 against 163 with K = 11008 on Zen 4. The
 * interleaved copy is made once per call, not once per tile, and is faster
 * than reading rows at K = 11008 too (docs/design.md, measured with
 * `clq bench --format nf4 --m 512 --shape 4096x4096 --shape 4096x11008`). */
#define X_TILED(MR) (CLQ_MM_LANES == CLQ_TILE_ROWS && (MR) == CLQ_TILE_ROWS)

/* Rows m0 .. m0+MR-1 of X against the lanes of one tile. For small MR the
 * products of a block are summed unscaled and scaled once (one op less per
 * element), in PARTS independent sums per row so that the fma latency is
 * hidden (2 fma ports of 4 cycles want 8 chains in flight: MR = 4 with one
 * sum per row waited on them); for large MR the weights are scaled first,
 * so each row of X needs only its accumulator. MR is a constant after inlining and the loops over
 * a word's elements and over the rows are unrolled: every accumulator stays
 * in a register. Rows of X past M repeat row M-1 and are not stored. */
/* always_inline and static: no copy with a variable MR is ever compiled
 * (PoCL would warn that its loops cannot be unrolled). */
static inline __attribute__((always_inline)) void tiles(const uint MR, uint m_count, uint n_count,
                                                        uint k_count, uint block, WEIGHT_PARAMS,
                                                        global const void *x, const uint x_half,
                                                        global void *y, EPILOGUE_PARAMS)
{
    const uint groups = CLQ_TILE_ROWS / CLQ_MM_LANES; /* work-items per tile */
    const uint PARTS = MR == 1 ? 4 : 2;
    uint gid = get_global_id(0), tile = gid / groups, l0 = gid % groups * CLQ_MM_LANES;
    uint n0 = tile * CLQ_TILE_ROWS + l0;
    if (n0 >= n_count)
        return;
    uint m0 = get_global_id(1) * MR;
    uint nb = k_count / block, row_words = k_count / WORD_ELEMS;
    global const uint *qw = (global const uint *)quants + (ulong)tile * row_words * CLQ_TILE_ROWS + l0;
    ulong xrow[CLQ_TILE_ROWS];
    vfloat acc[CLQ_TILE_ROWS];
    start_rows(MR, m0, m_count, k_count, xrow, acc);
    const ulong x_tiled = (ulong)m0 * k_count; /* X_TILED: this group's first element */
    lora_prefetch(MR, m0, m_count, n0, EPILOGUE_ARGS);

#ifdef SCALE_RUN
    vfloat scale_runs[SCALE_RUN], zero_runs[SCALE_RUN];
    const uint runs_end = nb / SCALE_RUN * SCALE_RUN; /* blocks before it: by runs */
#endif
    for (uint j = 0; j < nb; j++) {
#ifdef SCALE_RUN
        bool by_runs = j < runs_end;
        if (by_runs && j % SCALE_RUN == 0) {
            scale_run(n0, n_count, nb, j, scales, nested, code, offset, scale_runs);
            if (j + SCALE_RUN < runs_end)
                prefetch_scale_run(n0, n_count, nb, j + SCALE_RUN, scales, zeros);
            zero_run(n0, n_count, nb, j, zeros, zero_runs);
        }
        vfloat s = by_runs ? scale_runs[j % SCALE_RUN]
                           : lane_scales(n0, n_count, nb, j, scales, nested, code, offset);
        vfloat z = by_runs ? zero_runs[j % SCALE_RUN] : lane_zeros(n0, n_count, nb, j, zeros);
#else
        vfloat s = lane_scales(n0, n_count, nb, j, scales, nested, code, offset);
        vfloat z = lane_zeros(n0, n_count, nb, j, zeros);
#endif
        uint k0 = j * block;
        if (MR <= 4) {
            vfloat part[4][4];
#pragma unroll
            for (uint m = 0; m < MR; m++)
#pragma unroll
                for (uint p = 0; p < PARTS; p++)
                    part[m][p] = (vfloat)(0.0f);
            /* k as a ulong: a uint k may wrap, so LLVM kept it 32-bit and
             * rebuilt both addresses from it (five integer instructions per
             * line of weights); a ulong one becomes two pointer steps. */
            for (ulong k = k0; k < k0 + block; k += WORD_ELEMS) {
                vuint w = VLOAD_UINT(qw + k / WORD_ELEMS * CLQ_TILE_ROWS);
                PREFETCH_AHEAD(qw + k / WORD_ELEMS * CLQ_TILE_ROWS);
                float xw[4][WORD_ELEMS]; /* fp16 X: the word's elements, converted */
#pragma unroll
                for (uint m = 0; m < MR; m++)
                    if (x_half)
                        VSTORE_WORD(VLOAD_HALF_WORD((global const half *)x + xrow[m] + k), xw[m]);
#pragma unroll
                for (uint i = 0; i < WORD_ELEMS; i++) {
                    vfloat v = unscaled_lanes(w, i, z, code);
#pragma unroll
                    for (uint m = 0; m < MR; m++)
                        part[m][i % PARTS] =
                            fma(v, x_half ? xw[m][i] : ((global const float *)x)[xrow[m] + k + i],
                                part[m][i % PARTS]);
                }
            }
#pragma unroll
            for (uint m = 0; m < MR; m++) {
                vfloat sum = part[m][0];
#pragma unroll
                for (uint p = 1; p < PARTS; p++)
                    sum += part[m][p];
                acc[m] = fma(sum, s, acc[m]);
            }
        } else {
            /* Interleaved X through a pointer that steps with k: each row's
             * element is then a constant offset from it, folded into the fma's
             * broadcast operand, where an index computed per element cost two
             * integer instructions per fma (PoCL's LLVM 15). */
            global const float *xk = (global const float *)x + x_tiled + (ulong)k0 * CLQ_TILE_ROWS;
            for (uint k = k0; k < k0 + block; k += WORD_ELEMS, xk += WORD_ELEMS * CLQ_TILE_ROWS) {
                vuint w = VLOAD_UINT(qw + (ulong)(k / WORD_ELEMS) * CLQ_TILE_ROWS);
                float xw[CLQ_TILE_ROWS][WORD_ELEMS]; /* fp16 X read in place (M <= 8) */
#pragma unroll
                for (uint m = 0; m < MR; m++)
                    if (!X_TILED(MR) && x_half)
                        VSTORE_WORD(VLOAD_HALF_WORD((global const half *)x + xrow[m] + k), xw[m]);
#pragma unroll
                for (uint i = 0; i < WORD_ELEMS; i++) {
                    vfloat v = unscaled_lanes(w, i, z, code) * s;
#pragma unroll
                    for (uint m = 0; m < MR; m++)
                        acc[m] = fma(v,
                                     X_TILED(MR) ? xk[i * CLQ_TILE_ROWS + m]
                                     : x_half    ? xw[m][i]
                                                 : ((global const float *)x)[xrow[m] + k + i],
                                     acc[m]);
                }
            }
        }
    }

    store_tile_rows(MR, m0, m_count, n0, n_count, acc, y, EPILOGUE_ARGS);
}

/* Global size: (tiles · 16/CLQ_MM_LANES, ceil(M/MR)). */
#define TILES_KERNEL(MR)                                                                                     \
    kernel WIDE void clq_matmul_tiles##MR(uint m_count, uint n_count, uint k_count, uint block,              \
                                          WEIGHT_PARAMS, global const void *x, uint x_half, global void *y,  \
                                          EPILOGUE_PARAMS)                                                   \
    {                                                                                                        \
        /* x_half as a constant in each branch: the inner loops load X                                       \
         * without a test per element (and fp32 X as an fma operand). */                                     \
        if (x_half && !X_TILED(MR)) /* interleaved X is always fp32 */                                       \
            TILES_FN(MR, m_count, n_count, k_count, block, quants, scales, zeros, nested, code, offset, x,   \
                     1u, y, EPILOGUE_ARGS);                                                                  \
        else                                                                                                 \
            TILES_FN(MR, m_count, n_count, k_count, block, quants, scales, zeros, nested, code, offset, x,   \
                     0u, y, EPILOGUE_ARGS);                                                                  \
    }

/* The group's kernels (through EXPAND, so that CLQ_MM_GROUP becomes its
 * number first: clq_matmul_tiles16), and where X comes interleaved
 * (X_TILED), the interleaving kernel. */
#define EXPAND(MACRO, MR) MACRO(MR)
#if CLQ_MM_GROUP != 0
#if !CLQ_FMT_IS_GGML(CLQ_FORMAT) /* matmul_ggml.cl instantiates its own */
#define TILES_FN tiles
EXPAND(TILES_KERNEL, CLQ_MM_GROUP)
#endif
#if X_TILED(CLQ_MM_GROUP)
/* X's rows in groups of CLQ_TILE_ROWS (T), column by column, as fp32:
 * element (m, k) at xt[(m / T · K + k) · T + m % T]; rows past M repeat row
 * M-1, which the tiles kernel computes and does not store. A work-item
 * moves a T×T block, transposed in registers. Global size K/T · ceil(M/T). */
kernel WIDE void clq_interleave_x(uint m_count, uint k_count, global const void *x, uint x_half,
                                  global float *xt)
{
    const uint T = CLQ_TILE_ROWS;
    uint g = get_global_id(0) / (k_count / T), c = get_global_id(0) % (k_count / T) * T;
    float16 r[CLQ_TILE_ROWS];
#pragma unroll
    for (uint i = 0; i < T; i++)
        r[i] = load_x16(x, x_half, (ulong)min(g * T + i, m_count - 1) * k_count + c);
    transpose16(r);
#pragma unroll
    for (uint j = 0; j < T; j++)
        vstore16(r[j], 0, xt + ((ulong)g * k_count + c + j) * T);
}
#endif
#endif

/* ---- prefill with local memory ---------------------------------------------------------- */

/* Prefill: a work-group computes a CLQ_PF_TM × CLQ_PF_TN tile of Y, each
 * work-item a CLQ_PF_WM × CLQ_PF_WN grid of it (strided, so neighbouring
 * work-items read neighbouring local words). Per step of 16 along K, the X
 * tile and the dequantized W tile are staged in local memory, k-major. */
#if CLQ_MM_GROUP == 0
kernel __attribute__((reqd_work_group_size(PF_WG, 1, 1))) void
clq_matmul_prefill(uint m_count, uint n_count, uint k_count, uint block, WEIGHT_PARAMS, global const void *x,
                   uint x_half, global void *y, EPILOGUE_PARAMS)
{
    local float xs[PF_TK][CLQ_PF_TM];
    local float ws[PF_TK][CLQ_PF_TN];
    uint lid = get_local_id(0), tiles_n = (n_count + CLQ_PF_TN - 1) / CLQ_PF_TN;
    uint m0 = get_group_id(0) / tiles_n * CLQ_PF_TM, n0 = get_group_id(0) % tiles_n * CLQ_PF_TN;
    uint tm = lid / PF_THREADS_N, tn = lid % PF_THREADS_N;
    uint nb = k_count / block;
    float acc[CLQ_PF_WM][CLQ_PF_WN];
    for (uint i = 0; i < CLQ_PF_WM; i++)
        for (uint jj = 0; jj < CLQ_PF_WN; jj++)
            acc[i][jj] = 0.0f;

    for (uint k0 = 0; k0 < k_count; k0 += PF_TK) {
        for (uint v = lid; v < CLQ_PF_TM * PF_TK; v += PF_WG) {
            uint row = v / PF_TK, kk = v % PF_TK, m = m0 + row;
            xs[kk][row] = m < m_count ? load_x(x, x_half, (ulong)m * k_count + k0 + kk) : 0.0f;
        }
        /* Each task dequantizes eight elements of one weight row. */
        for (uint task = lid; task < CLQ_PF_TN * 2; task += PF_WG) {
            uint row = task / 2, half8 = task % 2, n = n0 + row;
            float8 ev = (float8)(0.0f); /* the eight values in order */
#if CLQ_FMT_IS_GGML(CLQ_FORMAT)
            if (n < n_count) {
                uint k = k0 + 8 * half8, e = k % CLQ_GGML_BLOCK_OF(CLQ_FORMAT);
                global const uchar *grp = ggml_group_at(CLQ_FORMAT, quants, n, k, k_count);
                uint l = n % CLQ_TILE_ROWS;
                /* the eight share their 16's scale and offset (ggml_blocks.cl) */
                float2 so = ggml_scale_offset(CLQ_FORMAT, grp, l, e);
                float8 q =
                    (float8)(ggml_code(CLQ_FORMAT, grp, l, e), ggml_code(CLQ_FORMAT, grp, l, e + 1),
                             ggml_code(CLQ_FORMAT, grp, l, e + 2), ggml_code(CLQ_FORMAT, grp, l, e + 3),
                             ggml_code(CLQ_FORMAT, grp, l, e + 4), ggml_code(CLQ_FORMAT, grp, l, e + 5),
                             ggml_code(CLQ_FORMAT, grp, l, e + 6), ggml_code(CLQ_FORMAT, grp, l, e + 7));
                ev = so.x * q + so.y;
            }
#else
            if (n < n_count) {
                uint g = n * nb + k0 / block;
                float s = block_scale(CLQ_FORMAT, CLQ_DQ, scales, g, nested, code, offset);
                uint z = zero_point(zeros, g);
                uint k = k0 + 8 * half8;
                global const uint *qw = (global const uint *)quants;
#if CLQ_8BIT
                uint w0 = qw[tile_word(n, k, k_count, 8)], w1 = qw[tile_word(n, k + 4, k_count, 8)];
                uint8 q = (uint8)((uint4)(w0), (uint4)(w1)) >> (uint8)(0, 8, 16, 24, 0, 8, 16, 24);
#else
                uint8 q = (uint8)(qw[tile_word(n, k, k_count, 4)]) >> (uint8)(0, 4, 8, 12, 16, 20, 24, 28);
#endif
                ev = CLQ_UNSCALED(CLQ_FORMAT, 8, q, (float)z, code) * s;
            }
#endif
            ws[8 * half8 + 0][row] = ev.s0;
            ws[8 * half8 + 1][row] = ev.s1;
            ws[8 * half8 + 2][row] = ev.s2;
            ws[8 * half8 + 3][row] = ev.s3;
            ws[8 * half8 + 4][row] = ev.s4;
            ws[8 * half8 + 5][row] = ev.s5;
            ws[8 * half8 + 6][row] = ev.s6;
            ws[8 * half8 + 7][row] = ev.s7;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (uint kk = 0; kk < PF_TK; kk++) {
            float a[CLQ_PF_WM], b[CLQ_PF_WN];
            for (uint i = 0; i < CLQ_PF_WM; i++)
                a[i] = xs[kk][tm + i * PF_THREADS_M];
            for (uint jj = 0; jj < CLQ_PF_WN; jj++)
                b[jj] = ws[kk][tn + jj * PF_THREADS_N];
            for (uint i = 0; i < CLQ_PF_WM; i++)
                for (uint jj = 0; jj < CLQ_PF_WN; jj++)
                    acc[i][jj] = fma(a[i], b[jj], acc[i][jj]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (uint i = 0; i < CLQ_PF_WM; i++) {
        uint m = m0 + tm + i * PF_THREADS_M;
        for (uint jj = 0; jj < CLQ_PF_WN; jj++) {
            uint n = n0 + tn + jj * PF_THREADS_N;
            if (m < m_count && n < n_count)
                store_y(y, y_half, (ulong)m * n_count + n, epilogue(acc[i][jj], m, n, EPILOGUE_ARGS));
        }
    }
}
#endif /* CLQ_MM_GROUP == 0 */

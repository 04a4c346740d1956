/*
 * Fused dequantize-GEMV/GEMM with the LoRA side path:
 *   Y = X·dequant(W)ᵀ (+ bias) (+ s·T·Bᵀ),  T = X·Aᵀ from lora.cl.
 * Built once per weight format: CLQ_FORMAT and CLQ_DQ are compile-time
 * constants, so no format switch is left in the inner loops. dequant.cl is
 * prepended (codes, scales).
 *
 * Two kernels, chosen by the host from M:
 *  - clq_matmul_decode (M <= 16): one work-item per output row reads that
 *    row's weights once, 16 elements at a time, and updates all M rows of X;
 *  - clq_matmul_prefill: tiles of CLQ_PF_TM rows of X by CLQ_PF_TN rows of W,
 *    the weights of a tile dequantized once into local memory and reused by
 *    every row of the X tile.
 * Both end in the same epilogue (bias, LoRA expand), so Y is written once.
 */
#pragma OPENCL FP_CONTRACT ON

#ifndef CLQ_FORMAT
#error "CLQ_FORMAT must be defined by the host"
#endif
#ifndef CLQ_DQ
#define CLQ_DQ 0 /* 1: NF4/FP4 scales are double-quantized */
#endif
#ifndef CLQ_PF_TM
#define CLQ_PF_TM 64 /* prefill tile: rows of X per work-group */
#endif
#ifndef CLQ_PF_TN
#define CLQ_PF_TN 64 /* prefill tile: rows of W (outputs) per work-group */
#endif
#ifndef CLQ_PF_WM
#define CLQ_PF_WM 4 /* prefill: rows of X per work-item */
#endif
#ifndef CLQ_PF_WN
#define CLQ_PF_WN 4 /* prefill: outputs per work-item */
#endif

#define PF_TK 16            /* K per prefill step: always inside one block (blocks are multiples of 16) */
#define PF_THREADS_M (CLQ_PF_TM / CLQ_PF_WM)
#define PF_THREADS_N (CLQ_PF_TN / CLQ_PF_WN)
#define PF_WG (PF_THREADS_M * PF_THREADS_N)

#define CLQ_8BIT (CLQ_FORMAT == CLQ_FMT_Q8 || CLQ_FORMAT == CLQ_FMT_DYNAMIC8)

/* The weight's device arrays, as every kernel here takes them. */
#define WEIGHT_PARAMS                                                                                       \
    global const uchar *quants, global const void *scales, global const uchar *zeros,                      \
        global const float *nested, global const float *code, global const float *offset
/* Bias and LoRA expand, applied to each output. */
#define EPILOGUE_PARAMS                                                                                     \
    global const void *bias, uint y_half, uint n_adapters, global const float *t, uint r_max,              \
        global const void *lora_b, uint b_half, global const int *rank, global const uint *b_offset,       \
        global const float *lora_scale, global const int *row_adapter
#define EPILOGUE_ARGS bias, y_half, n_adapters, t, r_max, lora_b, b_half, rank, b_offset, lora_scale, row_adapter

/* Eight elements' values before the block scale. */
inline float8 unscaled8(uchar8 q, uint zero, global const float *code)
{
#if CLQ_FORMAT == CLQ_FMT_Q8
    return convert_float8(as_char8(q));
#elif CLQ_FORMAT == CLQ_FMT_Q4
    return convert_float8(convert_int8(q) - 8);
#elif CLQ_FORMAT == CLQ_FMT_Q4Z
    return convert_float8(convert_int8(q) - (int)zero);
#else
#if CLQ_FORMAT == CLQ_FMT_NF4
#define TABLE nf4_code
#elif CLQ_FORMAT == CLQ_FMT_FP4
#define TABLE fp4_code
#else
#define TABLE code
#endif
    return (float8)(TABLE[q.s0], TABLE[q.s1], TABLE[q.s2], TABLE[q.s3], TABLE[q.s4], TABLE[q.s5], TABLE[q.s6],
                    TABLE[q.s7]);
#undef TABLE
#endif
}

/* Sixteen consecutive elements from flat element e (a multiple of 16),
 * unscaled, split into the even and the odd ones. */
inline void load16(global const uchar *quants, ulong e, uint zero, global const float *code, float8 *even,
                   float8 *odd)
{
#if CLQ_8BIT
    uchar16 b = vload16(0, quants + e);
    *even = unscaled8(b.even, zero, code);
    *odd = unscaled8(b.odd, zero, code);
#else
    uchar8 b = vload8(0, quants + e / 2); /* element 2i low nibble, 2i+1 high */
    *even = unscaled8(b & (uchar8)15, zero, code);
    *odd = unscaled8(b >> (uchar8)4, zero, code);
#endif
}

inline float16 load_x16(global const void *x, uint x_half, ulong i)
{
    return x_half ? vload_half16(0, (global const half *)x + i) : vload16(0, (global const float *)x + i);
}

inline uint zero_point(global const uchar *zeros, uint g)
{
#if CLQ_FORMAT == CLQ_FMT_Q4Z
    return zeros[g];
#else
    return 0u;
#endif
}

/* acc + bias[n] + s·Σ_j B[n, j]·T[m, j] for the adapter of row m. */
inline float epilogue(float acc, uint m, uint n, EPILOGUE_PARAMS)
{
    if (bias)
        acc += load_x(bias, y_half, n);
    if (n_adapters) {
        int a = row_adapter ? row_adapter[m] : 0;
        if (a >= 0) {
            int r = rank[a];
            ulong b_row = b_offset[a] + (ulong)n * (uint)r;
            global const float *t_row = t + (ulong)m * r_max;
            float side = 0.0f;
            for (int j = 0; j < r; j++)
                side = mad(load_x(lora_b, b_half, b_row + j), t_row[j], side);
            acc = mad(lora_scale[a], side, acc);
        }
    }
    return acc;
}

/* Decode: one work-item per output row n, for rows m0 .. m0+m_count-1 of X
 * (m_count <= CLQ_DECODE_ROWS). Each weight byte is read once; the float8
 * accumulators of all those rows stay in private memory. The weights are
 * scaled before the multiply (w·s is the exact dequantized value), so the
 * sum is over the same numbers as the reference. */
kernel void clq_matmul_decode(uint m0, uint m_count, uint n_count, uint k_count, uint block, WEIGHT_PARAMS,
                              global const void *x, uint x_half, global void *y, EPILOGUE_PARAMS)
{
    uint n = get_global_id(0);
    if (n >= n_count)
        return;
    float8 acc[CLQ_DECODE_ROWS];
    for (uint m = 0; m < CLQ_DECODE_ROWS; m++)
        acc[m] = (float8)(0.0f);
    uint nb = k_count / block;
    for (uint j = 0; j < nb; j++) {
        uint g = n * nb + j;
        float s = block_scale(CLQ_FORMAT, CLQ_DQ, scales, g, nested, code, offset);
        uint z = zero_point(zeros, g);
        for (uint i = 0; i < block; i += 16) {
            float8 we, wo;
            load16(quants, (ulong)g * block + i, z, code, &we, &wo);
            we *= s;
            wo *= s;
            ulong k = (ulong)j * block + i;
            for (uint m = 0; m < m_count; m++) {
                float16 xv = load_x16(x, x_half, (ulong)(m0 + m) * k_count + k);
                acc[m] = mad(we, xv.even, mad(wo, xv.odd, acc[m]));
            }
        }
    }
    for (uint m = 0; m < m_count; m++) {
        float8 a = acc[m];
        float4 q = a.lo + a.hi;
        float sum = (q.x + q.y) + (q.z + q.w);
        store_y(y, y_half, (ulong)(m0 + m) * n_count + n, epilogue(sum, m0 + m, n, EPILOGUE_ARGS));
    }
}

/* Prefill: a work-group computes a CLQ_PF_TM × CLQ_PF_TN tile of Y, each
 * work-item a CLQ_PF_WM × CLQ_PF_WN grid of it (strided, so neighbouring
 * work-items read neighbouring local words). Per step of 16 along K, the X
 * tile and the dequantized W tile are staged in local memory, k-major. */
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
            if (n < n_count) {
                uint g = n * nb + k0 / block;
                float s = block_scale(CLQ_FORMAT, CLQ_DQ, scales, g, nested, code, offset);
                uint z = zero_point(zeros, g);
                ulong e = (ulong)n * k_count + k0 + 8 * half8;
#if CLQ_8BIT
                uchar8 b = vload8(0, quants + e);
                ev = unscaled8(b, z, code) * s;
#else
                uchar4 b = vload4(0, quants + e / 2);
                uchar8 q = (uchar8)(b.s0 & 15, b.s0 >> 4, b.s1 & 15, b.s1 >> 4, b.s2 & 15, b.s2 >> 4, b.s3 & 15,
                                    b.s3 >> 4);
                ev = unscaled8(q, z, code) * s;
#endif
            }
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
                    acc[i][jj] = mad(a[i], b[jj], acc[i][jj]);
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

/* The CLBlast baselines (problem.h): what a user without clq runs on the
 * same device. Row-major throughout: Y (M×N) = X (M×K) · Wᵀ (W is N×K). */
#include <clblast_c.h>

#include "fp16.h"
#include "ops.h"
#include "problem.h"

/* C = alpha·A·Bᵀ + beta·C in fp32 or fp16 (alpha and beta are converted to
 * half for HGEMM, as a half-precision caller would pass them). */
static CLBlastStatusCode gemm_nt(int half, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_off,
                                 size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c,
                                 size_t c_off, size_t ldc, cl_command_queue *q, cl_event *e)
{
    if (half)
        return CLBlastHgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, m, n, k,
                            clq_fp32_to_fp16(alpha), a, a_off, lda, b, b_off, ldb, clq_fp32_to_fp16(beta), c,
                            c_off, ldc, q, e);
    return CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, m, n, k, alpha, a,
                        a_off, lda, b, b_off, ldb, beta, c, c_off, ldc, q, e);
}

/* y = W·x for a single row: GEMV is what a decoder calls at M = 1. */
static CLBlastStatusCode gemv(int half, size_t n, size_t k, cl_mem w, cl_mem x, cl_mem y, cl_command_queue *q,
                              cl_event *e)
{
    if (half)
        return CLBlastHgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, n, k, clq_fp32_to_fp16(1.0f), w, 0, k,
                            x, 0, 1, clq_fp32_to_fp16(0.0f), y, 0, 1, q, e);
    return CLBlastSgemv(CLBlastLayoutRowMajor, CLBlastTransposeNo, n, k, 1.0f, w, 0, k, x, 0, 1, 0.0f, y, 0,
                        1, q, e);
}

/* The product and the LoRA side path on buffers of one precision. Rows
 * cycle through the adapters (row i uses adapter i mod G), so adapter j's
 * rows are a strided view of X, T and Y: offset j rows, leading dimension G
 * rows. That is one pair of GEMMs per adapter used, what a framework
 * without a batched-LoRA kernel does. */
static int run_gemms(bench_problem *p, int half, cl_mem w, cl_mem x, cl_mem y, cl_mem a, cl_mem b, cl_mem t,
                     cl_command_queue q, cl_event *last)
{
    size_t m = p->m, n = p->n, k = p->k, r = p->rank;
    size_t g = p->adapters > 1 ? p->adapters : 1, used = r ? bench_lora_adapters_used(m, (uint32_t)g) : 0;
    cl_event e = NULL;
    CLBlastStatusCode s =
        m == 1 ? gemv(half, n, k, w, x, y, &q, used ? NULL : &e)
               : gemm_nt(half, m, n, k, 1.0f, x, 0, k, w, 0, k, 0.0f, y, 0, n, &q, used ? NULL : &e);
    for (size_t j = 0; j < used && s == CLBlastSuccess; j++) {
        size_t rows = (m - j + g - 1) / g;
        s = gemm_nt(half, rows, r, k, 1.0f, x, j * k, g * k, a, j * r * k, k, 0.0f, t, j * r, g * r, &q,
                    NULL);
        if (s == CLBlastSuccess)
            s = gemm_nt(half, rows, n, r, p->lora_scale, t, j * r, g * r, b, j * n * r, r, 1.0f, y, j * n,
                        g * n, &q, j + 1 == used ? &e : NULL);
    }
    *last = e;
    p->clblast_status = (int)s;
    return s == CLBlastSuccess ? 0 : -1;
}

int bench_run_clblast_f32(void *user, cl_command_queue q, cl_event *last)
{
    bench_problem *p = user;
    return run_gemms(p, 0, p->w32, p->x32, p->y32, p->a32, p->b32, p->t32, q, last);
}

int bench_run_clblast_f16(void *user, cl_command_queue q, cl_event *last)
{
    bench_problem *p = user;
    return run_gemms(p, 1, p->w16, p->x16, p->y16, p->a16, p->b16, p->t16, q, last);
}

int bench_run_unfused(void *user, cl_command_queue q, cl_event *last)
{
    bench_problem *p = user;
    if (clq_weight_dequantize(p->weight, CLQ_DTYPE_F32, p->dequant32, 0, NULL, NULL) != CLQ_SUCCESS)
        return -1;
    return run_gemms(p, 0, p->dequant32, p->x32, p->y32, p->a32, p->b32, p->t32, q, last);
}

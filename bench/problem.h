/* The device buffers of one benchmark problem (a shape, an M and a LoRA
 * configuration), and the run functions that time clq and CLBlast on
 * them. Each run function has measure.h's bench_run_fn signature. */
#ifndef CLQ_BENCH_PROBLEM_H
#define CLQ_BENCH_PROBLEM_H

#include <stdint.h>

#include "clq.h"

typedef struct bench_problem {
    clq_context *ctx;
    uint64_t n, k, m;
    /* the weight under test (clq runs and the unfused path) */
    clq_weight_desc desc;
    const clq_weight *weight;
    /* fp32: the original matrix (CLBlast baseline and quantize's source),
     * dequantize's and the unfused path's output, activations, adapters
     * (A: adapters×rank×K, B: adapters×N×rank) and the M×rank intermediate */
    cl_mem w32, dequant32, x32, y32, a32, b32, t32;
    /* fp16 copies of the same, for the HGEMM baseline (NULL without fp16) */
    cl_mem w16, x16, y16, a16, b16, t16;
    /* LoRA: rank 0 means none; adapters > 1 means rows cycle through them */
    uint32_t rank, adapters;
    float lora_scale;
    const clq_lora *lora;
    const int32_t *lora_index; /* M entries, or NULL: adapter 0 for every row */
    int clblast_status;        /* the last CLBlast call's status, for error messages */
} bench_problem;

/* clq: quantize w32 into a new weight of `desc` (destroyed again), dequantize
 * `weight` into dequant32, and the fused matmul. */
int bench_run_clq_quantize(void *problem, cl_command_queue q, cl_event *last);
int bench_run_clq_dequantize(void *problem, cl_command_queue q, cl_event *last);
int bench_run_clq_matmul(void *problem, cl_command_queue q, cl_event *last);

/* CLBlast baselines: SGEMV (M = 1) or SGEMM on the fp32 matrix; the same in
 * half precision (HGEMV/HGEMM); clq dequantize then SGEMV/SGEMM (unfused).
 * The LoRA side path is two more GEMMs per adapter: T = X·Aᵀ, Y += s·T·Bᵀ,
 * on each adapter's rows (a strided view of X and Y). */
int bench_run_clblast_f32(void *problem, cl_command_queue q, cl_event *last);
int bench_run_clblast_f16(void *problem, cl_command_queue q, cl_event *last);
int bench_run_unfused(void *problem, cl_command_queue q, cl_event *last);

#endif

/* The device buffers a sweep keeps while it runs: those of the current
 * shape (the fp32 matrix, its fp16 copy, the quantized weights, made once
 * per format) and those of the current M and LoRA configuration. */
#ifndef CLQ_BENCH_WORKSPACE_H
#define CLQ_BENCH_WORKSPACE_H

#include "options.h"
#include "problem.h"

typedef struct bench_workspace {
    clq_context *ctx;
    int fp16;              /* make the fp16 copies for the HGEMM baseline */
    int lora_f16;          /* make clq's adapters in fp16 too (fp32 always) */
    bench_problem problem; /* what the run functions see */
    int shape;             /* index of the current shape, -1 for none */
    int group_ready;
    uint64_t m;
    uint32_t rank, adapters;
    clq_weight *weights[BENCH_MAX_PAIRS];
    clq_lora *lora[2]; /* clq's adapters of the current group: [0] fp32, [1] fp16 */
    int32_t *lora_index;
    char why[256]; /* the reason of the last failure */
} bench_workspace;

void bench_workspace_init(bench_workspace *ws, clq_context *ctx, int fp16);

/* Switches to shape `index` (a no-op if current), releasing the previous
 * shape's buffers. Returns 0 or -1 (reason in ws->why). */
int bench_workspace_shape(bench_workspace *ws, int index, const bench_shape *shape);

/* Switches to an M and LoRA configuration on the current shape. */
int bench_workspace_group(bench_workspace *ws, uint64_t m, uint32_t rank, uint32_t adapters);

/* Which of the group's adapter sets clq's runs use: CLQ_DTYPE_F32 (the
 * default) or CLQ_DTYPE_F16 (made only with lora_f16). Returns 0 or -1. */
int bench_workspace_lora_dtype(bench_workspace *ws, clq_dtype dtype);

/* The current shape's weight for a pair, quantized at first use. */
int bench_workspace_weight(bench_workspace *ws, int pair_index, const bench_pair *pair, clq_weight **out);

void bench_workspace_release(bench_workspace *ws);

#endif

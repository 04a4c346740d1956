/* The list of measurements a sweep makes on one device, in the order they
 * run: by shape, then quantize and dequantize rows, then matmul by M and
 * LoRA configuration with the baselines first. Planning first gives the
 * progress display its "i of n" and lets resources be set up once per
 * shape and once per (M, LoRA). */
#ifndef CLQ_BENCH_PLAN_H
#define CLQ_BENCH_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"

typedef enum bench_path {
    BENCH_PATH_QUANTIZE,   /* clq_weight_quantize */
    BENCH_PATH_DEQUANTIZE, /* clq_weight_dequantize */
    BENCH_PATH_FUSED,      /* clq_matmul */
    BENCH_PATH_F32,        /* CLBlast SGEMV/SGEMM on the fp32 matrix */
    BENCH_PATH_F16,        /* CLBlast HGEMV/HGEMM on an fp16 copy */
    BENCH_PATH_UNFUSED     /* clq dequantize, then CLBlast SGEMV/SGEMM */
} bench_path;

typedef struct bench_case {
    bench_op op;
    bench_path path;
    int shape; /* index into options.shapes */
    int pair;  /* index into options.pairs; -1 for the F32/F16 baselines */
    uint64_t m;
    uint32_t rank, adapters; /* adapters: 0 (no LoRA), 1, or options.multi_lora */
    clq_dtype lora_dtype;    /* clq's adapters: --lora-dtype's in fused rows with LoRA, else f32 */
} bench_case;

/* 1 when the CLBlast baselines (the F32, F16 and UNFUSED paths) are built
 * (bench/CMakeLists.txt defines CLQ_BENCH_CLBLAST where CLBlast is found);
 * without them a plan holds clq's own rows only. */
#ifdef CLQ_BENCH_CLBLAST
#define BENCH_HAS_CLBLAST 1
#else
#define BENCH_HAS_CLBLAST 0
#endif

/* Builds the plan for a device (has_fp16: add the F16 baseline). Pairs
 * whose block does not divide a shape's K are left out of that shape.
 * Returns the number of cases (0 if nothing applies) with a malloc'd array
 * in *out, or -1 when out of memory. */
long bench_plan(const bench_options *o, int has_fp16, bench_case **out);

/* A short human name: "matmul 4096x4096 nf4/64 M=64 r16x8 fused". */
void bench_case_label(const bench_options *o, const bench_case *c, char *buf, size_t len);

#endif

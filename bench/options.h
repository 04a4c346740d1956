/* The command line of `clq bench`: what to sweep and where to write it. */
#ifndef CLQ_BENCH_OPTIONS_H
#define CLQ_BENCH_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "ops.h"

#define BENCH_MAX_DEVICES 16
#define BENCH_MAX_PAIRS 64
#define BENCH_MAX_SHAPES 32
#define BENCH_MAX_LIST 32
#define BENCH_MAX_ROUNDS 1000 /* --rounds */

/* A format at one block size; NF4 and FP4 also double-quantized. */
typedef struct bench_pair {
    clq_format format;
    uint32_t block;
    int double_quant; /* "nf4-dq", "fp4-dq": the absmax vector quantized again (QLoRA's default) */
} bench_pair;

typedef struct bench_options {
    const char *devices[BENCH_MAX_DEVICES]; /* selectors; none = every device */
    int n_devices;
    int ops[BENCH_OP_COUNT]; /* 1 = run this operation */
    bench_pair pairs[BENCH_MAX_PAIRS];
    int n_pairs;
    int codec_pairs; /* quantize/dequantize run for the first this-many pairs */
    bench_shape shapes[BENCH_MAX_SHAPES];
    int n_shapes;
    uint64_t ms[BENCH_MAX_LIST];
    int n_ms;
    uint32_t ranks[BENCH_MAX_LIST];
    int n_ranks;
    uint32_t multi_lora; /* adapters in the multi-LoRA rows; 0 = none */
    /* what clq's adapters are stored in, a row each (the baselines' follow their path) */
    clq_dtype lora_dtypes[2];
    int n_lora_dtypes;
    double target; /* seconds of device time per measurement (all rounds together) */
    int rounds;    /* sittings per measurement, taken in turn over the whole plan (<= BENCH_MAX_ROUNDS) */
    int warmup, min_reps, max_reps;
    int evict, queued, quick, quiet;
    int startup;               /* --startup: time a new process's first matmul instead of a sweep */
    const char *startup_child; /* internal: this process is one such run, on this device ("" default) */
    const char *csv, *json, *plot;
} bench_options;

typedef enum bench_parse_result {
    BENCH_PARSE_RUN = 0,  /* options are in *o */
    BENCH_PARSE_HELP = 1, /* --help was printed */
    BENCH_PARSE_ERROR = 2 /* a one-line error was printed on stderr */
} bench_parse_result;

/* Parses argv[1..argc-1] (argv[0] is the command's own name). Reentrant: no
 * getopt state, so a test can call it many times in one process. */
bench_parse_result bench_options_parse(int argc, char **argv, bench_options *o);

void bench_options_help(FILE *out);

/* The repetitions of one round: min_reps and max_reps shared out over the
 * rounds (at least one each). */
void bench_round_reps(const bench_options *o, int *min_reps, int *max_reps);

/* "nf4/64" */
void bench_pair_name(const bench_pair *p, char *buf, size_t len);

#endif

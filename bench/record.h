/*
 * What a benchmark run produces: the devices with their measured roofline,
 * and one record per measurement. The field list (bench_record_field) is
 * the one definition of a record's columns, shared by the CSV and JSON
 * writers.
 */
#ifndef CLQ_BENCH_RECORD_H
#define CLQ_BENCH_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "measure.h"
#include "ops.h"

/* One kernel shape a probe tried: what it reached, or the OpenCL error that
 * stopped it (then value and runs are 0). A shape whose one timed run fell
 * far behind the best is not measured further (probes.c): its value is
 * that run's; the others' is the median of `runs` repetitions. */
#define BENCH_PROBE_MAX 12
typedef struct bench_probe_try {
    char kernel[96]; /* the shape, e.g. "slices float16 x4 acc, 16 items, 1 per group" */
    double value;    /* GB/s or GFLOP/s */
    int measured;    /* measured in full, with the run's timer settings */
    int runs;
    int error;
} bench_probe_try;

/* The device's own roofline, measured by the probes (probes.h): the best of
 * several kernel shapes for each figure. */
typedef struct bench_roofline {
    double read_gbps;     /* best streaming-read kernel, buffer larger than the cache */
    char read_kernel[96]; /* its shape (bench_probe_try) */
    uint64_t read_buffer_bytes;
    double fma_gflops; /* best kernel of independent mad or fma chains */
    char fma_kernel[96];
    bench_probe_try read_tried[BENCH_PROBE_MAX], fma_tried[BENCH_PROBE_MAX];
    int n_read_tried, n_fma_tried;
    /* The min_vector_width(512) variants: 1 built and tried, 0 not tried
     * (not a CPU device), -1 the device's compiler rejected them. */
    int wide;
    /* On a CPU device, the host's own figures from C (host_probe.h), with
     * the threads and the instructions used; 0 where not measured. */
    double host_read_gbps, host_fma_gflops;
    int host_threads;
    const char *host_read_isa, *host_fma_isa;
} bench_roofline;

typedef struct bench_device {
    char selector[24]; /* "P:D", as --device accepts */
    char name[128], platform[128], driver[128];
    cl_device_type type;
    uint64_t memory_bytes, cache_bytes;
    unsigned compute_units;
    int has_fp16; /* cl_khr_fp16: the CLBlast HGEMM baseline runs */
    bench_roofline roof;
    size_t evict_bytes; /* 0: --no-evict */
    double evict_us;
    double spacer_us; /* --queued: what each run waits behind; 0 without */
} bench_device;

typedef struct bench_record {
    const bench_device *device;
    bench_op op;
    const char *impl;   /* "clq", "clblast", or "clq+clblast" (the unfused path) */
    const char *path;   /* "quantize", "dequantize", "fused-decode", "fused-prefill", "sgemv",
                           "sgemm", "hgemv", "hgemm", "dequant+sgemv", "dequant+sgemm" */
    const char *format; /* clq format name, or "f32" / "f16" for the unquantized baselines */
    uint32_t block;     /* 0 for the unquantized baselines */
    int double_quant;   /* NF4/FP4 with the absmax vector quantized again (bench_pair) */
    const char *shape;  /* preset name, or "custom" */
    uint64_t n, k, m;   /* m = 0 for quantize and dequantize */
    uint32_t rank, adapters;
    const char *lora_dtype; /* "f32" or "f16" when rank > 0, else NULL */
    double bytes, flops;    /* work the run moves and computes (ops.h) */
    int evicted, queued;
    double target_s;
    int rounds; /* sittings the runs were taken in (clq bench --rounds) */
    bench_stats stats;
    /* Fused rows with LoRA: the time over the same product's without LoRA,
     * less 1, as the median over the rounds of the ratio of the two rows'
     * medians in that round (taken seconds apart: a shared host's drift
     * between rounds falls on both). NAN where there is no such row. */
    double lora_overhead;
    /* derived from the above and the device's roofline */
    double gbps, gflops, bound_us, roofline_fraction;
} bench_record;

/* Computes gbps, gflops, bound_us and roofline_fraction. */
void bench_record_derive(bench_record *r);

/* The weight as the table and charts name it: "nf4/64", "nf4-dq/64" when
 * double-quantized, or "f32" / "f16" for the unquantized baselines. */
void bench_record_weight(const bench_record *r, char *buf, size_t len);

typedef struct bench_results {
    bench_record *items;
    size_t count, capacity;
} bench_results;

int bench_results_push(bench_results *res, const bench_record *r); /* 0 or -1 (out of memory) */
void bench_results_free(bench_results *res);

/* ---- the columns of a record --------------------------------------------------- */

/* BENCH_FIELD_NONE: a number that does not apply to this record (empty in
 * CSV, null in JSON). */
typedef enum bench_field_kind {
    BENCH_FIELD_TEXT,
    BENCH_FIELD_INT,
    BENCH_FIELD_REAL,
    BENCH_FIELD_NONE
} bench_field_kind;

typedef struct bench_value {
    bench_field_kind kind;
    const char *text;
    long long integer;
    double real;
} bench_value;

/* The number of columns and the name of column i. */
size_t bench_field_count(void);
const char *bench_field_name(size_t i);

/* Column i of record r. */
bench_value bench_record_field(const bench_record *r, size_t i);

#endif

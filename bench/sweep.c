/* Running a sweep on one device (see sweep.h). */
#include "sweep.h"

#if BENCH_HAS_CLBLAST
#include <clblast_c.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "measure.h"
#include "probes.h"
#include "workspace.h"

/* Forecast figures before a device's roofline is known, and the share of
 * it a run is assumed to reach (only the time-left estimate uses them). */
#define DEFAULT_READ_GBPS 10.0
#define DEFAULT_FMA_GFLOPS 100.0
#define ASSUMED_EFFICIENCY 0.15

/* A case's record and its runs so far, pooled over the rounds. */
typedef struct case_state {
    bench_record r;
    bench_samples samples;
    double *round_us; /* each round's median device time (--rounds of them) */
    int rounds_done;
    const struct case_state *twin; /* fused with LoRA: the same product without LoRA, if planned */
    int failed;                    /* failed in an earlier round: not measured again */
} case_state;

typedef struct device_run {
    const bench_sweep *s;
    bench_device *dev;
    clq_context *ctx;
    bench_timer timer;
    bench_workspace ws;
    int failed_shape; /* a shape whose buffers could not be made: its cases are skipped */
    double fp32_us;   /* CLBlast fp32 median of the current matmul problem */
} device_run;

/* Approximate stored bytes per element: the quants plus one scale per block. */
static double estimated_weight_bytes(const bench_pair *p, uint64_t n, uint64_t k)
{
    clq_weight_desc d = {p->format, p->block, n, k, 0};
    clq_external e;
    if (bench_is_ggml_format(p->format) && clq_external_sizes(&d, CLQ_LAYOUT_GGML, &e) == CLQ_SUCCESS)
        return (double)e.data_bytes; /* the blocks as stored */
    int eight_bit = p->format == CLQ_FORMAT_Q8 || p->format == CLQ_FORMAT_DYNAMIC8;
    return (double)n * k * ((eight_bit ? 1.0 : 0.5) + 4.0 / p->block);
}

/* The eviction buffer's size by measure.c's rule, from what the device
 * list tells before a context exists. */
static double estimated_evict_bytes(const bench_device *d)
{
    double bytes = BENCH_EVICT_MULTIPLE * (d->cache_bytes ? (double)d->cache_bytes : 128.0 * 1024 * 1024);
    return d->memory_bytes && bytes > d->memory_bytes / 4.0 ? d->memory_bytes / 4.0 : bytes;
}

double bench_sweep_predict(const bench_options *o, const bench_device *d, const bench_case *c)
{
    const bench_shape *sh = &o->shapes[c->shape];
    double gbps = d->roof.read_gbps > 0 ? d->roof.read_gbps : DEFAULT_READ_GBPS;
    double gflops = d->roof.fma_gflops > 0 ? d->roof.fma_gflops : DEFAULT_FMA_GFLOPS;
    double evict_s = d->evict_us > 0 ? d->evict_us / 1e6
                     : o->evict      ? estimated_evict_bytes(d) / (gbps * 1e9)
                                     : 0;
    double wb = c->pair >= 0 ? estimated_weight_bytes(&o->pairs[c->pair], sh->n, sh->k)
                             : (c->path == BENCH_PATH_F16 ? 2.0 : 4.0) * sh->n * sh->k;
    if (c->path == BENCH_PATH_UNFUSED)
        wb = bench_unfused_weight_bytes(wb, sh->n, sh->k);
    double bytes = c->op == BENCH_OP_MATMUL ? bench_matmul_bytes(c->m, sh->n, sh->k, wb, 4, c->rank, 1, 4)
                                            : bench_quantize_bytes(sh->n, sh->k, 4, wb);
    double flops = c->op == BENCH_OP_MATMUL ? bench_matmul_flops(c->m, sh->n, sh->k, c->rank) : 0;
    double op_s = bench_roofline_bound_s(bytes, flops, gbps * 1e9, gflops * 1e9) / ASSUMED_EFFICIENCY;
    int min_reps, max_reps;
    bench_round_reps(o, &min_reps, &max_reps);
    double reps = op_s > 0 ? o->target / o->rounds / op_s : max_reps;
    reps = reps < min_reps ? min_reps : reps > max_reps ? max_reps : reps;
    return (o->warmup + reps) * (op_s + evict_s);
}

/* ---- one measurement ---------------------------------------------------------- */

static const char *matmul_path(const bench_case *c)
{
    int gemv = c->m == 1;
    switch (c->path) {
    case BENCH_PATH_FUSED:
        return c->m <= CLQ_DECODE_MAX_M ? "fused-decode" : "fused-prefill";
    case BENCH_PATH_F32:
        return gemv ? "sgemv" : "sgemm";
    case BENCH_PATH_F16:
        return gemv ? "hgemv" : "hgemm";
    default:
        return gemv ? "dequant+sgemv" : "dequant+sgemm";
    }
}

/* The record of a case, less the timing: names, sizes, bytes and flops. */
static void describe_case(const device_run *run, const bench_case *c, const clq_weight *w, bench_record *r)
{
    const bench_options *o = run->s->o;
    const bench_shape *sh = &o->shapes[c->shape];
    *r = (bench_record){.device = run->dev,
                        .lora_overhead = NAN,
                        .op = c->op,
                        .shape = sh->name,
                        .n = sh->n,
                        .k = sh->k,
                        .rank = c->rank,
                        .adapters = c->adapters,
                        .evicted = o->evict,
                        .queued = o->queued,
                        .target_s = o->target,
                        .rounds = o->rounds};
    double qbytes = w ? (double)clq_weight_device_bytes(w) : 0, nk = (double)sh->n * sh->k;
    if (c->pair >= 0) {
        r->format = clq_format_name(o->pairs[c->pair].format);
        r->block = o->pairs[c->pair].block;
        r->double_quant = o->pairs[c->pair].double_quant;
    } else {
        r->format = c->path == BENCH_PATH_F16 ? "f16" : "f32";
    }
    if (c->op != BENCH_OP_MATMUL) {
        r->impl = "clq";
        r->path = bench_op_name(c->op);
        r->bytes = c->op == BENCH_OP_QUANTIZE ? bench_quantize_bytes(sh->n, sh->k, 4, qbytes)
                                              : bench_dequantize_bytes(sh->n, sh->k, 4, qbytes);
        return;
    }
    r->m = c->m;
    r->path = matmul_path(c);
    r->impl = c->path == BENCH_PATH_FUSED ? "clq" : c->path == BENCH_PATH_UNFUSED ? "clq+clblast" : "clblast";
    size_t elem = c->path == BENCH_PATH_F16 ? 2 : 4;
    double wb = c->path == BENCH_PATH_FUSED     ? qbytes
                : c->path == BENCH_PATH_UNFUSED ? bench_unfused_weight_bytes(qbytes, sh->n, sh->k)
                                                : (double)elem * nk;
    uint32_t used = bench_lora_adapters_used(c->m, c->adapters);
    size_t lora_elem = c->path == BENCH_PATH_FUSED ? (c->lora_dtype == CLQ_DTYPE_F16 ? 2 : 4) : elem;
    if (c->rank)
        r->lora_dtype = lora_elem == 2 ? "f16" : "f32";
    r->bytes = bench_matmul_bytes(c->m, sh->n, sh->k, wb, elem, c->rank, used, lora_elem);
    r->flops = bench_matmul_flops(c->m, sh->n, sh->k, c->rank);
}

static bench_run_fn run_function(const bench_case *c)
{
    switch (c->path) {
    case BENCH_PATH_QUANTIZE:
        return bench_run_clq_quantize;
    case BENCH_PATH_DEQUANTIZE:
        return bench_run_clq_dequantize;
    case BENCH_PATH_FUSED:
        return bench_run_clq_matmul;
#if BENCH_HAS_CLBLAST
    case BENCH_PATH_F32:
        return bench_run_clblast_f32;
    case BENCH_PATH_F16:
        return bench_run_clblast_f16;
    default:
        return bench_run_unfused;
#else
    default:
        return NULL; /* the baselines are not planned without CLBlast */
#endif
    }
}

/* Sets the workspace up for a case; the weight of its pair in *w. */
static int prepare(device_run *run, const bench_case *c, clq_weight **w)
{
    const bench_options *o = run->s->o;
    bench_workspace *ws = &run->ws;
    *w = NULL;
    if (bench_workspace_shape(ws, c->shape, &o->shapes[c->shape]) != 0)
        return -1;
    if (c->pair >= 0 && bench_workspace_weight(ws, c->pair, &o->pairs[c->pair], w) != 0)
        return -1;
    ws->problem.weight = *w;
    if (c->pair >= 0)
        ws->problem.desc = clq_weight_get_desc(*w);
    if (c->op == BENCH_OP_MATMUL && bench_workspace_group(ws, c->m, c->rank, c->adapters) != 0)
        return -1;
    if (c->op == BENCH_OP_MATMUL && c->rank && bench_workspace_lora_dtype(ws, c->lora_dtype) != 0)
        return -1;
    return 0;
}

static void report_failure(device_run *run, const char *label, const char *why)
{
    bench_progress_clear(run->s->progress);
    fprintf(stderr, "clq bench: %s on %s: %s\n", label, run->dev->selector, why);
}

/* The median over the rounds measured so far of this case's time over its
 * twin's in the same round, less 1 (record.h, lora_overhead); NAN if none. */
static double paired_overhead(const case_state *st)
{
    const case_state *twin = st->twin;
    int n = twin ? (st->rounds_done < twin->rounds_done ? st->rounds_done : twin->rounds_done) : 0;
    double ratios[BENCH_MAX_ROUNDS];
    int used = 0;
    for (int i = 0; i < n && i < BENCH_MAX_ROUNDS; i++)
        if (st->round_us[i] > 0 && twin->round_us[i] > 0)
            ratios[used++] = st->round_us[i] / twin->round_us[i];
    return used ? bench_median(ratios, used) - 1 : NAN;
}

/* One sitting of a case: 0 when measured, 1 when skipped (it failed in an
 * earlier round), -1 when it fails now. The last round turns the pooled
 * runs into the case's record and prints its row. */
static int measure_case(device_run *run, const bench_case *c, const char *label, case_state *st,
                        int last_round)
{
    clq_weight *w;
    if (st->failed)
        return 1;
    st->failed = 1;
    if (run->failed_shape == c->shape)
        return -1;
    if (prepare(run, c, &w) != 0) {
        if (run->ws.shape < 0)
            run->failed_shape = c->shape;
        report_failure(run, label, run->ws.why);
        return -1;
    }
    if (c->path == BENCH_PATH_F32)
        run->fp32_us = 0; /* the first case of each matmul problem */
    describe_case(run, c, w, &st->r);
    run->ws.problem.clblast_status = 0;
    int before = st->samples.count;
    if (bench_sample(&run->timer, run_function(c), &run->ws.problem, &st->samples) != 0) {
        char why[320];
        if (run->ws.problem.clblast_status != 0)
            snprintf(why, sizeof why, "CLBlast returned status %d", run->ws.problem.clblast_status);
        else
            snprintf(why, sizeof why, "%s", *clq_last_error() ? clq_last_error() : "an OpenCL call failed");
        report_failure(run, label, why);
        return -1;
    }
    st->failed = 0;
    st->round_us[st->rounds_done++] = bench_samples_median_from(&st->samples, before);
    if (!last_round)
        return 0;
    bench_record *r = &st->r;
    bench_samples_stats(&st->samples, &r->stats);
    r->lora_overhead = paired_overhead(st);
    bench_record_derive(r);
    if (c->path == BENCH_PATH_F32)
        run->fp32_us = r->stats.median_us;
    bench_progress_clear(run->s->progress);
    bench_table_row(run->s->table, r, c->op == BENCH_OP_MATMUL ? run->fp32_us : 0);
    if (bench_results_push(run->s->results, r) != 0) {
        report_failure(run, label, "out of host memory");
        return -1;
    }
    return 0;
}

/* ---- the device ---------------------------------------------------------------- */

/* One tiny run of everything clq does for a pair: builds the programs (or
 * loads them from clq's program cache) outside any timed run. */
static int prime_pair(clq_context *ctx, const bench_pair *pair, int matmul, int lora)
{
    enum { MAX_BLOCK = 4096 };
    float w[MAX_BLOCK], out[MAX_BLOCK], x[MAX_BLOCK], a[MAX_BLOCK]; /* 64 KiB: fine on the stack */
    float b = 0.5f, y = 0;
    bench_fill_normal(w, pair->block, 0.02f, 1);
    bench_fill_normal(x, pair->block, 1.0f, 2);
    bench_fill_normal(a, pair->block, 0.1f, 3);
    clq_weight_desc d = {pair->format, pair->block, 1, pair->block, pair->double_quant};
    clq_weight *weight = NULL;
    clq_lora *adapter = NULL;
    clq_adapter_desc ad = {1, 1.0f, 0, CLQ_DTYPE_F32, a, &b};
    size_t bytes = pair->block * sizeof(float);
    int status = clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, w, bytes, &weight);
    if (status == CLQ_SUCCESS)
        status = clq_weight_dequantize_host(weight, CLQ_DTYPE_F32, out, bytes);
    if (status == CLQ_SUCCESS && lora)
        status = clq_lora_create(ctx, 1, pair->block, &ad, 1, &adapter);
    if (status == CLQ_SUCCESS && matmul)
        status = clq_matmul_host(weight, 1, CLQ_DTYPE_F32, x, NULL, &y, adapter, NULL);
    clq_lora_destroy(adapter);
    clq_weight_destroy(weight);
    return status == CLQ_SUCCESS ? 0 : -1;
}

/* Builds the kernels the plan uses, and only those: clq_context_warm_up
 * would build all eight matmul variants, which a cold --quick run cannot
 * afford on a CPU. CLBlast compiles on its first call, in a warm-up run. */
static int prime_kernels(device_run *run, const bench_case *cases, long n)
{
    const bench_options *o = run->s->o;
    int used[BENCH_MAX_PAIRS] = {0}, matmul = 0, lora = 0;
    for (long i = 0; i < n; i++) {
        if (cases[i].pair >= 0)
            used[cases[i].pair] = 1;
        matmul |= cases[i].op == BENCH_OP_MATMUL;
        lora |= cases[i].rank > 0;
    }
    for (int i = 0; i < o->n_pairs; i++)
        if (used[i] && prime_pair(run->ctx, &o->pairs[i], matmul, lora) != 0)
            return -1;
    return 0;
}

static int open_device(device_run *run, const bench_case *cases, long n_cases)
{
    const bench_options *o = run->s->o;
    bench_device *dev = run->dev;
    clq_context_options co;
    clq_context_options_init(&co);
    co.device = dev->selector;
    co.profiling = 1;
    char why[320];
    if (clq_context_create(&co, &run->ctx) != CLQ_SUCCESS || prime_kernels(run, cases, n_cases) != 0) {
        fprintf(stderr, "clq bench: device %s (%s): %s\n", dev->selector, dev->name, clq_last_error());
        return -1;
    }
    if (bench_timer_init(&run->timer, run->ctx, o->target, o->evict) != 0) {
        fprintf(stderr, "clq bench: device %s: cannot allocate the %zu MiB eviction buffer\n", dev->selector,
                bench_cache_multiple_bytes(clq_context_cl_device(run->ctx), BENCH_EVICT_MULTIPLE) >> 20);
        return -1;
    }
    run->timer.warmup = o->warmup;
    if (o->queued && bench_timer_queue(&run->timer, run->ctx, BENCH_SPACER_US, why, sizeof why) != 0) {
        fprintf(stderr, "clq bench: device %s: %s\n", dev->selector, why);
        return -1;
    }
    run->timer.target_seconds = o->target / o->rounds;
    bench_round_reps(o, &run->timer.min_reps, &run->timer.max_reps);
    dev->evict_bytes = run->timer.evict_bytes;
    dev->evict_us = run->timer.evict_us;
    dev->spacer_us = run->timer.spacer_us; /* 0 unless --queued */
    if (bench_probe_roofline(run->ctx, &run->timer, &dev->roof, why, sizeof why) != 0) {
        fprintf(stderr, "clq bench: device %s: %s\n", dev->selector, why);
        return -1;
    }
    return 0;
}

static void close_device(device_run *run)
{
    bench_workspace_release(&run->ws);
    bench_timer_release(&run->timer);
#if BENCH_HAS_CLBLAST
    /* CLBlast keeps compiled programs per context; drop them with it. */
    CLBlastClearCache();
#endif
    clq_context_destroy(run->ctx);
}

/* For a fused case with LoRA, the index of the same product without it
 * (same shape, weight and M, rank 0); -1 if there is none, or no LoRA. */
static long lora_twin(const bench_case *cases, long n_cases, long i)
{
    const bench_case *c = &cases[i];
    if (c->op != BENCH_OP_MATMUL || c->path != BENCH_PATH_FUSED || c->rank == 0)
        return -1;
    for (long j = 0; j < n_cases; j++) {
        const bench_case *t = &cases[j];
        if (t->op == BENCH_OP_MATMUL && t->path == BENCH_PATH_FUSED && t->rank == 0 && t->shape == c->shape &&
            t->pair == c->pair && t->m == c->m)
            return j;
    }
    return -1;
}

long bench_sweep_device(const bench_sweep *s, bench_device *dev, const bench_case *cases, long n_cases)
{
    device_run run = {.s = s, .dev = dev, .failed_shape = -1};
    bench_progress_clear(s->progress);
    if (open_device(&run, cases, n_cases) != 0) {
        close_device(&run);
        return -1;
    }
    bench_table_device(s->table, dev);
    if (!BENCH_HAS_CLBLAST)
        fprintf(s->table->out, "  note: CLBlast baseline: not built (clq bench was built without CLBlast)\n");
    for (int round = 0; round < s->o->rounds; round++)
        for (long i = 0; i < n_cases; i++)
            bench_progress_predict(s->progress, s->progress_base + (size_t)(round * n_cases + i),
                                   bench_sweep_predict(s->o, dev, &cases[i]));
    bench_workspace_init(&run.ws, run.ctx, dev->has_fp16);
    for (int i = 0; i < s->o->n_lora_dtypes; i++)
        run.ws.lora_f16 |= s->o->lora_dtypes[i] == CLQ_DTYPE_F16;
    case_state *states = calloc((size_t)n_cases, sizeof *states);
    double *round_us = calloc((size_t)n_cases * s->o->rounds, sizeof *round_us);
    if (!states || !round_us) {
        fprintf(stderr, "clq bench: out of host memory\n");
        free(states);
        free(round_us);
        close_device(&run);
        return -1;
    }
    for (long i = 0; i < n_cases; i++) {
        states[i].round_us = round_us + i * s->o->rounds;
        long twin = lora_twin(cases, n_cases, i);
        states[i].twin = twin >= 0 ? &states[twin] : NULL;
    }
    long failed = 0;
    for (int round = 0; round < s->o->rounds; round++)
        for (long i = 0; i < n_cases; i++) {
            char label[160];
            bench_case_label(s->o, &cases[i], label, sizeof label);
            bench_progress_begin(s->progress, label);
            double start = bench_now_us();
            failed += measure_case(&run, &cases[i], label, &states[i], round == s->o->rounds - 1) < 0;
            bench_progress_end(s->progress, (bench_now_us() - start) / 1e6);
        }
    for (long i = 0; i < n_cases; i++)
        bench_samples_free(&states[i].samples);
    free(states);
    free(round_us);
    close_device(&run);
    return failed;
}

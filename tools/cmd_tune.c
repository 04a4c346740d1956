/*
 * `clq tune`: searches the kernel parameters of one device and stores the
 * fastest in the tuning file, which every later context on that device and
 * driver loads. Four stages, each keeping the winners before it: the decode
 * shape (rows per work-item vector, work-group size) by the time of M = 1;
 * the prefill kernel (tiles or local-memory tiles and their shape) by the
 * time of a large M; the quantize span (elements of a row per work-item) and
 * work-group size by the time of quantizing the weight; and the LoRA shrink
 * kernel (a work-item per sum, or a work-group reduction) by the time of
 * M = 1 with a rank-16 adapter. The candidates come from the parameter
 * table (tune_candidates.h). Each candidate is a fresh context with
 * options.tuning set, so it compiles its own kernels (PoCL: seconds each);
 * the last two stages change no kernel source.
 * Times are device times from `clq bench`'s timer, with the caches evicted
 * before every run as the bench does: a weight that fits in a CPU's L3
 * would otherwise be timed from cache, and decode and quantize would be
 * tuned for a case that models never see.
 */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "tool.h"
#include "tune_candidates.h"

static const char *const NAME = "tune";

#define MAX_CANDIDATES 32
#define LORA_RANK 16

/* What a candidate is timed on; a stage picks by one of them. */
enum { T_DECODE, T_PREFILL, T_QUANTIZE, T_LORA, T_COUNT };
static const char *const MEASURE_NAMES[T_COUNT] = {"decode", "prefill", "quantize", "lora"};

typedef struct tune_args {
    const char *device, *output;
    uint64_t n, k, prefill_m;
    clq_format format;
    unsigned block;
    double target; /* seconds of runs per candidate and measurement */
    const char *tries[MAX_CANDIDATES];
    size_t n_tries;
    int stages[T_COUNT]; /* --only: 1 = search this stage */
    int save, evict;
} tune_args;

static void print_help(void)
{
    printf("usage: clq tune [--device SEL] [--shape NxK] [--format F] [--block B] [--prefill-m M]\n"
           "                [--only STAGES] [--try PARAMS ...] [--target SECONDS] [--quick]\n"
           "                [--output FILE] [--no-save]\n\n"
           "Times clq's kernels on one weight under candidate parameters and stores the\n"
           "fastest for this device and driver in the tuning file (default:\n"
           "$CLQ_TUNING_FILE, else tuning.txt in clq's cache directory). Stages, each\n"
           "keeping the winners before it: decode (M = 1), prefill (M = --prefill-m),\n"
           "quantize (the weight from fp32), lora (M = 1 with a rank-%d adapter).\n"
           "Each stage tries the values host/params_table.h lists for the device's class.\n\n"
           "  --shape NxK       the weight (default 4096x4096; --quick: 1024x1024)\n"
           "  --format F        nf4 (default), fp4, q4, q4z, q8, dynamic8\n"
           "  --block B         block size (default 64)\n"
           "  --prefill-m M     rows of X timed for prefill (default 256; --quick: 64)\n"
           "  --only STAGES     search only these of decode,prefill,quantize,lora; the\n"
           "                    others keep the device's current values\n"
           "  --try PARAMS      a candidate 'name=value ...' (repeatable); replaces the\n"
           "                    stages, and all are timed at M = 1 and M\n"
           "  --target SECONDS  device time per candidate and measurement (default 0.3;\n"
           "                    --quick 0.05), 5 to 20 runs\n"
           "  --no-evict        do not evict the caches before each run (faster; weights\n"
           "                    that fit in the cache are then timed from it)\n"
           "  --output FILE     the tuning file to write\n"
           "  --no-save         print the result only\n"
           "  -d, --device SEL  'platform:device' or part of a device name\n"
           "  -h, --help        this help\n",
           LORA_RANK);
}

/* One candidate's timings (seconds; 0: not measured) and the full
 * parameter set it ran with. */
typedef struct timing {
    double t[T_COUNT];
    char params[512];
} timing;

/* One timed operation (measure.h's bench_run_fn): a matmul of w, or, with
 * matmul NULL, quantizing the fp32 buffer src to desc. */
typedef struct operation {
    clq_context *ctx;
    const clq_weight *w;
    const clq_matmul_args *matmul;
    const clq_weight_desc *desc;
    cl_mem src;
} operation;

static int run_operation(void *user, cl_command_queue queue, cl_event *last)
{
    const operation *op = user;
    if (op->matmul)
        return clq_matmul(op->w, op->matmul, 0, NULL, last) == CLQ_SUCCESS ? 0 : -1;
    clq_weight *tmp = NULL;
    int status = clq_weight_quantize(op->ctx, op->desc, CLQ_DTYPE_F32, op->src, 0, NULL, &tmp);
    clq_weight_destroy(tmp); /* OpenCL keeps its buffers until the kernels are done */
    if (status != CLQ_SUCCESS)
        return -1;
    /* In order: the marker ends when the quantize does. */
    return clEnqueueMarkerWithWaitList(queue, 0, NULL, last) == CL_SUCCESS ? 0 : -1;
}

/* Uniform values in [-0.5, 0.5) from a fixed seed: the weight and the
 * adapters (times do not depend on the values). */
static void fill_values(float *v, uint64_t count, uint32_t seed)
{
    for (uint64_t i = 0; i < count; i++) {
        seed = seed * 1664525u + 1013904223u;
        v[i] = (float)(seed >> 8) / (float)(1u << 24) - 0.5f;
    }
}

/* A device buffer of `bytes`, copied from host when not NULL. */
static cl_mem make_buffer(clq_context *ctx, const void *host, size_t bytes, cl_int *err)
{
    if (*err != CL_SUCCESS)
        return NULL;
    return clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                          bytes, (void *)host, err);
}

/* A rank-16 adapter for the weight's shape, or NULL (status in *status). */
static clq_lora *make_adapter(clq_context *ctx, const tune_args *args, clq_status *status)
{
    float *a = malloc(LORA_RANK * args->k * sizeof *a), *b = malloc(args->n * LORA_RANK * sizeof *b);
    clq_lora *lora = NULL;
    *status = a && b ? CLQ_SUCCESS : CLQ_ERROR_OUT_OF_HOST_MEMORY;
    if (*status == CLQ_SUCCESS) {
        fill_values(a, LORA_RANK * args->k, 777u);
        fill_values(b, args->n * LORA_RANK, 778u);
        clq_adapter_desc ad = {LORA_RANK, 2.0f * LORA_RANK, 0, CLQ_DTYPE_F32, a, b};
        *status = clq_lora_create(ctx, args->n, args->k, &ad, 1, &lora);
    }
    free(a);
    free(b);
    return lora;
}

/* Times one candidate on the measurements flagged in `what`; prints the
 * error and returns -1 if it fails. */
static int time_candidate(const tune_args *args, const char *params, const float *w_host, const int *what,
                          timing *out)
{
    clq_context_options o;
    clq_context_options_init(&o);
    o.device = args->device;
    o.tuning = params;
    o.profiling = 1; /* the timer reads profiling events */
    clq_context *ctx = NULL;
    *out = (timing){0};
    int status = clq_context_create(&o, &ctx);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, params, status), -1;
    clq_weight_desc d = {args->format, args->block, args->n, args->k, 0};
    clq_weight *w = NULL;
    clq_lora *lora = NULL;
    uint64_t m_max = args->prefill_m;
    bench_timer timer;
    if (bench_timer_init(&timer, ctx, args->target, args->evict) != 0) {
        bench_timer_release(&timer);
        clq_context_destroy(ctx);
        return tool_error(NAME, "%s: cannot allocate the eviction buffer (try --no-evict)", params), -1;
    }
    timer.max_reps = 20; /* with eviction, each run costs a read of twice the last-level cache */
    cl_int err = CL_SUCCESS;
    cl_mem src = what[T_QUANTIZE] ? make_buffer(ctx, w_host, args->n * args->k * 4, &err) : NULL;
    cl_mem x = make_buffer(ctx, NULL, m_max * args->k * 4, &err);
    cl_mem y = make_buffer(ctx, NULL, m_max * args->n * 4, &err);
    if (err == CL_SUCCESS) {
        float half = 0.5f; /* any finite X: the time does not depend on it */
        err = clEnqueueFillBuffer(clq_context_cl_queue(ctx), x, &half, 4, 0, m_max * args->k * 4, 0, NULL,
                                  NULL);
    }
    if (err != CL_SUCCESS) {
        tool_error(NAME, "%s: OpenCL error %d making the buffers", params, (int)err);
        status = err; /* clq passes OpenCL codes through as statuses */
    }
    if (status == CLQ_SUCCESS)
        status = clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, w_host, args->n * args->k * 4, &w);
    if (status == CLQ_SUCCESS && what[T_LORA])
        lora = make_adapter(ctx, args, &status);
    if (status == CLQ_SUCCESS) {
        clq_matmul_args a = {1, CLQ_DTYPE_F32, x, CLQ_DTYPE_F32, y, NULL, NULL, NULL, CLQ_MATMUL_AUTO};
        clq_matmul_args prefill = a, with_lora = a;
        prefill.m = m_max;
        with_lora.lora = lora;
        const operation ops[T_COUNT] = {
            {ctx, w, &a, NULL, NULL},
            {ctx, w, &prefill, NULL, NULL},
            {ctx, w, NULL, &d, src},
            {ctx, w, &with_lora, NULL, NULL},
        };
        for (int i = 0; i < T_COUNT && status == CLQ_SUCCESS; i++) {
            bench_stats st;
            if (!what[i])
                continue;
            if (bench_measure(&timer, run_operation, (void *)&ops[i], &st) != 0)
                status = CLQ_ERROR_INTERNAL; /* the call that failed set clq_last_error() */
            else
                out->t[i] = st.median_us * 1e-6;
        }
        if (status == CLQ_SUCCESS)
            status = clq_context_tuning(ctx, out->params, sizeof out->params);
    }
    if (status != CLQ_SUCCESS && err == CL_SUCCESS)
        tool_library_error(NAME, params, status);
    cl_mem bufs[] = {src, x, y};
    for (size_t i = 0; i < 3; i++)
        if (bufs[i])
            clReleaseMemObject(bufs[i]);
    clq_lora_destroy(lora);
    clq_weight_destroy(w);
    bench_timer_release(&timer);
    clq_context_destroy(ctx);
    return status == CLQ_SUCCESS ? 0 : -1;
}

static void print_row(const timing *t, const char *params)
{
    for (int i = 0; i < T_COUNT; i++)
        if (t->t[i] > 0)
            printf("  %10.1f us %-8s", t->t[i] * 1e6, MEASURE_NAMES[i]);
    printf("   %s\n", params);
    fflush(stdout);
}

/* Times the candidates of `stage` (each prefixed by `base`) on the
 * measurements in `what`, prints a row each, and appends the fastest by
 * that stage's measurement to `base`; returns -1 if none ran. */
static int run_stage(const tune_args *args, int stage, int cpu, char *base, size_t base_len, const int *what,
                     const float *w_host, timing *best)
{
    const char *name = MEASURE_NAMES[stage];
    char winner[256] = "";
    int found = 0;
    for (size_t i = 0, count = tune_candidates(name, cpu, 0, NULL, 0); i < count; i++) {
        char cand[256], params[512];
        tune_candidates(name, cpu, i, cand, sizeof cand);
        snprintf(params, sizeof params, "%s%s%s", base, *base ? " " : "", cand);
        timing t;
        if (time_candidate(args, params, w_host, what, &t) != 0)
            continue;
        print_row(&t, params);
        if (!found || t.t[stage] < best->t[stage]) {
            found = 1;
            *best = t;
            snprintf(winner, sizeof winner, "%s", cand);
        }
    }
    if (!found)
        return -1;
    size_t used = strlen(base);
    snprintf(base + used, base_len - used, "%s%s", used ? " " : "", winner);
    return 0;
}

/* The stages --only asked for, in order; the chosen candidates accumulate
 * in `chosen`. Returns 0, or -1 if a stage had no candidate that ran. */
static int run_stages(const tune_args *args, int cpu, const float *w_host, timing *best)
{
    char chosen[512] = "";
    for (int stage = 0; stage < T_COUNT; stage++) {
        if (!args->stages[stage])
            continue;
        /* Decode and prefill are timed together: a decode shape must not
         * ruin prefill, and the prefill stage shows what decode costs. */
        int what[T_COUNT] = {0};
        what[stage] = 1;
        if (stage <= T_PREFILL)
            what[T_DECODE] = what[T_PREFILL] = 1;
        printf("%s:\n", MEASURE_NAMES[stage]);
        if (run_stage(args, stage, cpu, chosen, sizeof chosen, what, w_host, best) != 0)
            return -1;
    }
    return 0;
}

/* "prefill,lora" -> stages[T_PREFILL] = stages[T_LORA] = 1; -1 on an
 * unknown or empty name. */
static int parse_stages(const char *text, int *stages)
{
    char copy[128];
    if (snprintf(copy, sizeof copy, "%s", text) >= (int)sizeof copy)
        return -1;
    memset(stages, 0, T_COUNT * sizeof *stages);
    char *save = NULL;
    int any = 0;
    for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int i = 0; i < T_COUNT; i++)
            if (!strcmp(name, MEASURE_NAMES[i]))
                stages[i] = found = 1;
        if (!found)
            return -1;
        any = 1;
    }
    return any && text[0] != ',' && text[strlen(text) - 1] != ',' && !strstr(text, ",,") ? 0 : -1;
}

static int parse_args(int argc, char **argv, tune_args *a)
{
    static const struct option long_options[] = {
        {"device", required_argument, NULL, 'd'},
        {"shape", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"block", required_argument, NULL, 'b'},
        {"prefill-m", required_argument, NULL, 'm'},
        {"try", required_argument, NULL, 't'},
        {"target", required_argument, NULL, 'T'},
        {"quick", no_argument, NULL, 'q'},
        {"output", required_argument, NULL, 'o'},
        {"no-save", no_argument, NULL, 'n'},
        {"only", required_argument, NULL, 'O'},
        {"no-evict", no_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int quick = 0, shape_set = 0, m_set = 0, target_set = 0, only_set = 0;
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, ":d:h", long_options, NULL)) != -1;) {
        uint64_t v = 0;
        switch (opt) {
        case 'd':
            a->device = optarg;
            break;
        case 's': {
            char *x = strchr(optarg, 'x');
            if (!x)
                return tool_usage_error(NAME, "--shape '%s' is not NxK", optarg);
            *x = '\0';
            if (tool_parse_u64(NAME, "--shape", optarg, 1, 1u << 20, &a->n) != 0 ||
                tool_parse_u64(NAME, "--shape", x + 1, 1, 1u << 20, &a->k) != 0)
                return TOOL_EXIT_USAGE;
            shape_set = 1;
            break;
        }
        case 'f':
            if (clq_format_from_name(optarg, &a->format) != CLQ_SUCCESS)
                return tool_usage_error(NAME, "unknown format '%s'", optarg);
            break;
        case 'b':
            if (tool_parse_u64(NAME, "--block", optarg, 16, 4096, &v) != 0)
                return TOOL_EXIT_USAGE;
            a->block = (unsigned)v;
            break;
        case 'm':
            if (tool_parse_u64(NAME, "--prefill-m", optarg, 17, 65536, &a->prefill_m) != 0)
                return TOOL_EXIT_USAGE;
            m_set = 1;
            break;
        case 't':
            if (a->n_tries == MAX_CANDIDATES)
                return tool_usage_error(NAME, "at most %d --try candidates", MAX_CANDIDATES);
            a->tries[a->n_tries++] = optarg;
            break;
        case 'T': {
            char *end;
            a->target = strtod(optarg, &end);
            if (*end || !(a->target > 0 && a->target <= 60))
                return tool_usage_error(NAME, "--target '%s' is not a number of seconds in (0, 60]", optarg);
            target_set = 1;
            break;
        }
        case 'q':
            quick = 1;
            break;
        case 'O':
            if (parse_stages(optarg, a->stages) != 0)
                return tool_usage_error(NAME, "--only '%s' is not a list of decode,prefill,quantize,lora",
                                        optarg);
            only_set = 1;
            break;
        case 'o':
            a->output = optarg;
            break;
        case 'n':
            a->save = 0;
            break;
        case 'E':
            a->evict = 0;
            break;
        case 'h':
            print_help();
            return TOOL_EXIT_OK;
        default:
            return tool_bad_option(NAME, opt, argv);
        }
    }
    if (optind != argc)
        return tool_usage_error(NAME, "unexpected argument '%s'", argv[optind]);
    if (only_set && a->n_tries)
        return tool_usage_error(NAME, "--try replaces the stages: give --only or --try, not both");
    if (!shape_set)
        a->n = a->k = quick ? 1024 : 4096;
    if (!m_set)
        a->prefill_m = quick ? 64 : 256;
    if (!target_set)
        a->target = quick ? 0.05 : 0.3;
    if (!only_set)
        for (int i = 0; i < T_COUNT; i++)
            a->stages[i] = 1;
    if (a->k % a->block != 0)
        return tool_usage_error(NAME, "K = %llu is not a multiple of the block %u", (unsigned long long)a->k,
                                a->block);
    return -1;
}

int cmd_tune(int argc, char **argv)
{
    tune_args args = {.format = CLQ_FORMAT_NF4, .block = 64, .save = 1, .evict = 1};
    int rc = parse_args(argc, argv, &args);
    if (rc >= 0)
        return rc;

    clq_context *ctx = NULL;
    if (tool_open_context(NAME, args.device, &ctx) != 0)
        return TOOL_EXIT_RUNTIME;
    cl_device_type type = 0;
    clGetDeviceInfo(clq_context_cl_device(ctx), CL_DEVICE_TYPE, sizeof type, &type, NULL);
    char file[1100];
    snprintf(file, sizeof file, "%s", args.output ? args.output : clq_context_tuning_file(ctx));
    printf("clq tune on %s (driver %s): %s/%u %llux%llu, prefill M = %llu\n", clq_context_device_name(ctx),
           clq_context_driver_version(ctx), clq_format_name(args.format), args.block,
           (unsigned long long)args.n, (unsigned long long)args.k, (unsigned long long)args.prefill_m);

    float *w_host = malloc(args.n * args.k * sizeof *w_host);
    if (!w_host) {
        clq_context_destroy(ctx);
        return tool_error(NAME, "out of memory");
    }
    fill_values(w_host, args.n * args.k, 12345u);

    timing best = {0};
    int found;
    if (args.n_tries) {
        /* Explicit candidates: the fastest by the sum of decode and prefill. */
        const int what[T_COUNT] = {[T_DECODE] = 1, [T_PREFILL] = 1};
        found = -1;
        for (size_t i = 0; i < args.n_tries; i++) {
            timing t;
            if (time_candidate(&args, args.tries[i], w_host, what, &t) != 0)
                continue;
            print_row(&t, args.tries[i]);
            if (found < 0 || t.t[T_DECODE] + t.t[T_PREFILL] < best.t[T_DECODE] + best.t[T_PREFILL]) {
                found = (int)i;
                best = t;
            }
        }
    } else {
        found = run_stages(&args, (type & CL_DEVICE_TYPE_CPU) != 0, w_host, &best);
    }
    free(w_host);
    if (found < 0) {
        clq_context_destroy(ctx);
        return tool_error(NAME, "no candidate ran");
    }
    printf("best: %s\n", best.params);
    int status = CLQ_SUCCESS;
    if (args.save) {
        status = clq_tuning_save(ctx, best.params, file);
        if (status == CLQ_SUCCESS)
            printf("saved to %s\n", file);
        else
            tool_library_error(NAME, "saving the tuning file", status);
    }
    clq_context_destroy(ctx);
    return status == CLQ_SUCCESS ? TOOL_EXIT_OK : TOOL_EXIT_RUNTIME;
}

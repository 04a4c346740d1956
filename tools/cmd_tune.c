/*
 * `clq tune`: searches the kernel parameters of one device and stores the
 * fastest in the tuning file, which every later context on that device and
 * driver loads. Two stages: the decode shape (rows per work-item vector,
 * work-group size) by the time of M = 1, then the prefill kernel (tiles or
 * local-memory tiles and their shape) by the time of a large M, keeping the
 * decode winner. Each candidate is a fresh context with options.tuning set,
 * so it compiles its own kernels (PoCL: seconds each).
 */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

static const char *const NAME = "tune";

#define MAX_CANDIDATES 32

typedef struct tune_args {
    const char *device, *output;
    uint64_t n, k, prefill_m;
    clq_format format;
    unsigned block;
    double target; /* seconds of runs per candidate and M */
    const char *tries[MAX_CANDIDATES];
    size_t n_tries;
    int save;
} tune_args;

static void print_help(void)
{
    printf("usage: clq tune [--device SEL] [--shape NxK] [--format F] [--block B] [--prefill-m M]\n"
           "                [--try PARAMS ...] [--target SECONDS] [--quick] [--output FILE] [--no-save]\n\n"
           "Times the fused matmul of one weight under candidate kernel parameters and\n"
           "stores the fastest for this device and driver in the tuning file (default:\n"
           "$CLQ_TUNING_FILE, else tuning.txt in clq's cache directory).\n\n"
           "  --shape NxK       the weight (default 4096x4096; --quick: 1024x1024)\n"
           "  --format F        nf4 (default), fp4, q4, q4z, q8, dynamic8\n"
           "  --block B         block size (default 64)\n"
           "  --prefill-m M     rows of X timed for prefill (default 256; --quick: 64)\n"
           "  --try PARAMS      a candidate 'name=value ...' (repeatable); replaces the\n"
           "                    built-in candidates, and all are timed at M = 1 and M\n"
           "  --target SECONDS  time spent per candidate and M (default 0.3; --quick 0.05)\n"
           "  --output FILE     the tuning file to write\n"
           "  --no-save         print the result only\n"
           "  -d, --device SEL  'platform:device' or part of a device name\n"
           "  -h, --help        this help\n");
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One candidate's timings: the median wall time of a blocking matmul at
 * M = 1 and M = prefill_m, after one untimed run that builds the kernels. */
typedef struct timing {
    double decode, prefill; /* seconds; negative: the candidate failed */
    char params[512];       /* the full parameter set it ran with */
} timing;

static double median_time(clq_context *ctx, const clq_weight *w, const clq_matmul_args *a, double target)
{
    double t[64];
    size_t n = 0;
    double start = now_seconds();
    if (clq_matmul(w, a, 0, NULL, NULL) != CLQ_SUCCESS || clFinish(clq_context_cl_queue(ctx)) != CL_SUCCESS)
        return -1.0;
    while (n < 64 && (n < 3 || now_seconds() - start < target)) {
        double t0 = now_seconds();
        if (clq_matmul(w, a, 0, NULL, NULL) != CLQ_SUCCESS ||
            clFinish(clq_context_cl_queue(ctx)) != CL_SUCCESS)
            return -1.0;
        t[n++] = now_seconds() - t0;
    }
    qsort(t, n, sizeof t[0], compare_double);
    return t[n / 2];
}

/* Times one candidate; prints the error and returns -1 if it fails. */
static int time_candidate(const tune_args *args, const char *params, const float *w_host, timing *out)
{
    clq_context_options o;
    clq_context_options_init(&o);
    o.device = args->device;
    o.tuning = params;
    clq_context *ctx = NULL;
    int status = clq_context_create(&o, &ctx);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, params, status), -1;
    clq_weight_desc d = {args->format, args->block, args->n, args->k, 0};
    clq_weight *w = NULL;
    cl_mem x = NULL, y = NULL;
    uint64_t m_max = args->prefill_m;
    status = clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, w_host, args->n * args->k * 4, &w);
    cl_int err = CL_SUCCESS;
    if (status == CLQ_SUCCESS) {
        x = clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE, m_max * args->k * 4, NULL, &err);
        if (err == CL_SUCCESS)
            y = clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE, m_max * args->n * 4, NULL, &err);
        if (err == CL_SUCCESS) {
            float zero = 0.5f; /* any finite X: the time does not depend on it */
            err = clEnqueueFillBuffer(clq_context_cl_queue(ctx), x, &zero, 4, 0, m_max * args->k * 4, 0, NULL,
                                      NULL);
        }
        if (err != CL_SUCCESS)
            status = err;
    }
    if (status == CLQ_SUCCESS) {
        clq_matmul_args a = {1, CLQ_DTYPE_F32, x, CLQ_DTYPE_F32, y, NULL, NULL, NULL, CLQ_MATMUL_AUTO};
        out->decode = median_time(ctx, w, &a, args->target);
        a.m = m_max;
        out->prefill = median_time(ctx, w, &a, args->target);
        status = clq_context_tuning(ctx, out->params, sizeof out->params);
        if (out->decode < 0 || out->prefill < 0)
            status = CLQ_ERROR_INTERNAL;
    }
    if (status != CLQ_SUCCESS)
        tool_library_error(NAME, params, status);
    if (x)
        clReleaseMemObject(x);
    if (y)
        clReleaseMemObject(y);
    clq_weight_destroy(w);
    clq_context_destroy(ctx);
    return status == CLQ_SUCCESS ? 0 : -1;
}

/* The built-in candidates for a device class. Stage 1 (decode) lists
 * vector shapes; stage 2 (prefill) is appended to the stage-1 winner. */
static size_t decode_candidates(int cpu, const char **out)
{
    static const char *const cpu_list[] = {"mm_lanes=16 tiles_wg=1", "mm_lanes=16 tiles_wg=2",
                                           "mm_lanes=16 tiles_wg=4", "mm_lanes=16 tiles_wg=8",
                                           "mm_lanes=1 tiles_wg=16"};
    static const char *const gpu_list[] = {"mm_lanes=1 tiles_wg=32", "mm_lanes=1 tiles_wg=64",
                                           "mm_lanes=1 tiles_wg=128", "mm_lanes=1 tiles_wg=256",
                                           "mm_lanes=16 tiles_wg=16"};
    const char *const *list = cpu ? cpu_list : gpu_list;
    for (size_t i = 0; i < 5; i++)
        out[i] = list[i];
    return 5;
}

static size_t prefill_candidates(const char **out)
{
    static const char *const list[] = {
        "prefill_local=0",
        "prefill_local=1 pf_tm=32 pf_tn=32 pf_wm=4 pf_wn=4",
        "prefill_local=1 pf_tm=32 pf_tn=32 pf_wm=8 pf_wn=8",
        "prefill_local=1 pf_tm=64 pf_tn=64 pf_wm=4 pf_wn=4",
        "prefill_local=1 pf_tm=64 pf_tn=64 pf_wm=8 pf_wn=8",
        "prefill_local=1 pf_tm=128 pf_tn=128 pf_wm=8 pf_wn=8",
    };
    for (size_t i = 0; i < 6; i++)
        out[i] = list[i];
    return 6;
}

/* Times `count` candidates (each prefixed by `base`), prints a row each, and
 * returns the index of the fastest by `by_prefill`, or -1 if none ran. */
static int run_stage(const tune_args *args, const char *base, const char **cands, size_t count, int by_prefill,
                     const float *w_host, timing *best)
{
    int best_i = -1;
    for (size_t i = 0; i < count; i++) {
        char params[512];
        snprintf(params, sizeof params, "%s%s%s", base, *base ? " " : "", cands[i]);
        timing t;
        if (time_candidate(args, params, w_host, &t) != 0)
            continue;
        printf("  %10.1f us  %10.1f us   %s\n", t.decode * 1e6, t.prefill * 1e6, params);
        fflush(stdout);
        double key = by_prefill ? t.prefill : t.decode, best_key = by_prefill ? best->prefill : best->decode;
        if (best_i < 0 || key < best_key) {
            best_i = (int)i;
            *best = t;
        }
    }
    return best_i;
}

static int parse_args(int argc, char **argv, tune_args *a)
{
    static const struct option long_options[] = {
        {"device", required_argument, NULL, 'd'},    {"shape", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},    {"block", required_argument, NULL, 'b'},
        {"prefill-m", required_argument, NULL, 'm'}, {"try", required_argument, NULL, 't'},
        {"target", required_argument, NULL, 'T'},    {"quick", no_argument, NULL, 'q'},
        {"output", required_argument, NULL, 'o'},    {"no-save", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    int quick = 0, shape_set = 0, m_set = 0, target_set = 0;
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
        case 'o':
            a->output = optarg;
            break;
        case 'n':
            a->save = 0;
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
    if (!shape_set)
        a->n = a->k = quick ? 1024 : 4096;
    if (!m_set)
        a->prefill_m = quick ? 64 : 256;
    if (!target_set)
        a->target = quick ? 0.05 : 0.3;
    if (a->k % a->block != 0)
        return tool_usage_error(NAME, "K = %llu is not a multiple of the block %u", (unsigned long long)a->k,
                                a->block);
    return -1;
}

int cmd_tune(int argc, char **argv)
{
    tune_args args = {.format = CLQ_FORMAT_NF4, .block = 64, .save = 1};
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
    printf("clq tune on %s (driver %s): %s/%u %llux%llu, M = 1 and %llu\n", clq_context_device_name(ctx),
           clq_context_driver_version(ctx), clq_format_name(args.format), args.block, (unsigned long long)args.n,
           (unsigned long long)args.k, (unsigned long long)args.prefill_m);

    float *w_host = malloc(args.n * args.k * sizeof *w_host);
    if (!w_host) {
        clq_context_destroy(ctx);
        return tool_error(NAME, "out of memory");
    }
    uint32_t state = 12345u;
    for (uint64_t i = 0; i < args.n * args.k; i++) {
        state = state * 1664525u + 1013904223u;
        w_host[i] = (float)(state >> 8) / (float)(1u << 24) - 0.5f;
    }

    printf("      M = 1   M = %-7llu   parameters\n", (unsigned long long)args.prefill_m);
    timing best = {0};
    int found;
    if (args.n_tries) {
        /* Explicit candidates: the fastest by the sum of both times. */
        found = -1;
        for (size_t i = 0; i < args.n_tries; i++) {
            timing t;
            if (time_candidate(&args, args.tries[i], w_host, &t) != 0)
                continue;
            printf("  %10.1f us  %10.1f us   %s\n", t.decode * 1e6, t.prefill * 1e6, args.tries[i]);
            if (found < 0 || t.decode + t.prefill < best.decode + best.prefill) {
                found = (int)i;
                best = t;
            }
        }
    } else {
        const char *cands[MAX_CANDIDATES];
        size_t n = decode_candidates((type & CL_DEVICE_TYPE_CPU) != 0, cands);
        found = run_stage(&args, "", cands, n, 0, w_host, &best);
        if (found >= 0) {
            char base[512];
            snprintf(base, sizeof base, "%s", cands[found]);
            n = prefill_candidates(cands);
            found = run_stage(&args, base, cands, n, 1, w_host, &best);
        }
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

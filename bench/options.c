/* Command-line parsing for `clq bench` (see options.h). A small table-driven
 * parser rather than getopt_long: getopt keeps global state (optind and a
 * hidden cursor), and the tests call clq_bench_main many times per process. */
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Defaults of a full sweep, and of --quick (which fits in well under a
 * minute on a 2-core CPU with PoCL). */
#define FULL_TARGET_S 0.25
#define QUICK_TARGET_S 0.02

static const uint64_t DEFAULT_MS[] = {1, 2, 4, 8, 16, 64, 256, 1024};
static const uint32_t DEFAULT_RANKS[] = {0, 16, 64};
static const clq_format ALL_FORMATS[] = {CLQ_FORMAT_NF4, CLQ_FORMAT_FP4, CLQ_FORMAT_Q4,
                                         CLQ_FORMAT_Q4Z, CLQ_FORMAT_Q8,  CLQ_FORMAT_DYNAMIC8};
#define N_ALL_FORMATS (int)(sizeof ALL_FORMATS / sizeof ALL_FORMATS[0])

/* What the command line gave, before defaults fill the rest. */
typedef struct given {
    clq_format formats[BENCH_MAX_PAIRS];
    int double_quant[BENCH_MAX_PAIRS]; /* formats[i] given as "nf4-dq" / "fp4-dq" */
    int n_formats;
    uint32_t blocks[BENCH_MAX_LIST];
    int n_blocks;
    int ops, ms, ranks, multi_lora, target, shapes;
} given;

/* Prints the one-line usage error; returns -1 for the caller to pass on. */
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("clq bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see 'clq bench --help')\n", stderr);
    va_end(ap);
    return -1;
}

/* A whole decimal number in [min, max]; strtoull alone would accept signs,
 * spaces and trailing garbage. */
static int parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
    if (!end || *end != '\0')
        return fail("%s: '%s' is not a whole number", opt, text);
    if (errno == ERANGE || v < min || v > max)
        return fail("%s: %s is out of range (%llu to %llu)", opt, text, (unsigned long long)min,
                    (unsigned long long)max);
    *out = v;
    return 0;
}

/* Splits a comma-separated list and hands each item to `item`; an empty
 * item ("1,,2") is an error. */
static int for_each_item(const char *opt, const char *list,
                         int (*item)(const char *opt, const char *text, void *ctx), void *ctx)
{
    char buf[512];
    if (strlen(list) >= sizeof buf)
        return fail("%s: list too long", opt);
    strcpy(buf, list);
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p == '\0')
            return fail("%s: empty item in '%s'", opt, list);
        if (item(opt, p, ctx) != 0)
            return -1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

typedef struct u64_list {
    uint64_t *v;
    int *n;
    uint64_t min, max;
} u64_list;

static int u64_item(const char *opt, const char *text, void *ctx)
{
    u64_list *l = ctx;
    if (*l->n >= BENCH_MAX_LIST)
        return fail("%s: at most %d values", opt, BENCH_MAX_LIST);
    return parse_u64(opt, text, l->min, l->max, &l->v[(*l->n)++]);
}

static int format_item(const char *opt, const char *text, void *ctx)
{
    given *g = ctx;
    if (strcmp(text, "all") == 0) {
        for (int i = 0; i < N_ALL_FORMATS && g->n_formats < BENCH_MAX_PAIRS; i++) {
            g->double_quant[g->n_formats] = 0;
            g->formats[g->n_formats++] = ALL_FORMATS[i];
        }
        return 0;
    }
    char name[32];
    size_t len = strlen(text);
    int dq = len > 3 && strcmp(text + len - 3, "-dq") == 0;
    snprintf(name, sizeof name, "%.*s", (int)(dq ? len - 3 : len), text);
    clq_format f;
    if (clq_format_from_name(name, &f) != CLQ_SUCCESS)
        return fail(
            "%s: unknown format '%s' (nf4, fp4, q4, q4z, q8, dynamic8, nf4-dq, fp4-dq, q4_1, q5_0, q5_1, "
            "q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs, all)",
            opt, text);
    if (dq && f != CLQ_FORMAT_NF4 && f != CLQ_FORMAT_FP4)
        return fail("%s: '%s': only nf4 and fp4 are double-quantized", opt, text);
    if (g->n_formats < BENCH_MAX_PAIRS) {
        g->double_quant[g->n_formats] = dq;
        g->formats[g->n_formats++] = f;
    }
    return 0;
}

static int lora_dtype_item(const char *opt, const char *text, void *ctx)
{
    bench_options *o = ctx;
    if (strcmp(text, "f32") && strcmp(text, "f16"))
        return fail("%s: '%s' is not f32 or f16", opt, text);
    clq_dtype d = text[1] == '1' ? CLQ_DTYPE_F16 : CLQ_DTYPE_F32;
    for (int i = 0; i < o->n_lora_dtypes; i++)
        if (o->lora_dtypes[i] == d)
            return fail("%s: %s is listed twice", opt, text);
    o->lora_dtypes[o->n_lora_dtypes++] = d;
    return 0;
}

static int op_item(const char *opt, const char *text, void *ctx)
{
    bench_options *o = ctx;
    bench_op op;
    if (bench_op_from_name(text, &op) != 0)
        return fail("%s: unknown operation '%s' (quantize, dequantize, matmul)", opt, text);
    o->ops[op] = 1;
    return 0;
}

static int add_shape(bench_options *o, const char *opt, uint64_t n, uint64_t k, const char *name)
{
    if (o->n_shapes >= BENCH_MAX_SHAPES)
        return fail("%s: at most %d shapes", opt, BENCH_MAX_SHAPES);
    o->shapes[o->n_shapes++] = (bench_shape){n, k, name};
    return 0;
}

static int parse_shape(bench_options *o, const char *opt, const char *text)
{
    const char *x = strchr(text, 'x');
    char left[32];
    uint64_t n, k;
    if (!x || (size_t)(x - text) >= sizeof left)
        return fail("%s: '%s' is not NxK (e.g. 4096x11008)", opt, text);
    memcpy(left, text, (size_t)(x - text));
    left[x - text] = '\0';
    if (parse_u64(opt, left, 1, 1u << 20, &n) != 0 || parse_u64(opt, x + 1, 1, 1u << 20, &k) != 0)
        return -1;
    return add_shape(o, opt, n, k, bench_shape_name(n, k));
}

static int parse_preset(bench_options *o, const char *opt, const char *name)
{
    bench_shape found[BENCH_MAX_SHAPES];
    int n = bench_preset_lookup(name, found, BENCH_MAX_SHAPES);
    if (n < 0)
        return fail("%s: unknown preset '%s' (%s)", opt, name, bench_preset_names());
    for (int i = 0; i < n; i++)
        if (add_shape(o, opt, found[i].n, found[i].k, found[i].name) != 0)
            return -1;
    return 0;
}

static int parse_target(bench_options *o, const char *opt, const char *text)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v > 0 && v <= 60))
        return fail("%s: '%s' is not a time in seconds in (0, 60]", opt, text);
    o->target = v;
    return 0;
}

/* One option with its value (NULL for flags). */
static int apply(bench_options *o, given *g, const char *opt, const char *v)
{
    uint64_t tmp[BENCH_MAX_LIST], one;
    int n = 0;
    if (!strcmp(opt, "--device")) {
        if (o->n_devices >= BENCH_MAX_DEVICES)
            return fail("--device: at most %d devices", BENCH_MAX_DEVICES);
        o->devices[o->n_devices++] = v;
        return 0;
    }
    if (!strcmp(opt, "--op")) {
        g->ops = 1;
        return for_each_item(opt, v, op_item, o);
    }
    if (!strcmp(opt, "--format"))
        return for_each_item(opt, v, format_item, g);
    if (!strcmp(opt, "--block")) {
        u64_list l = {tmp, &n, 16, 4096};
        if (for_each_item(opt, v, u64_item, &l) != 0)
            return -1;
        for (int i = 0; i < n; i++) {
            if (tmp[i] & (tmp[i] - 1))
                return fail("%s: %llu is not a power of two", opt, (unsigned long long)tmp[i]);
            if (g->n_blocks < BENCH_MAX_LIST)
                g->blocks[g->n_blocks++] = (uint32_t)tmp[i];
        }
        return 0;
    }
    if (!strcmp(opt, "--shape") || !strcmp(opt, "--preset")) {
        g->shapes = 1;
        return opt[2] == 's' ? parse_shape(o, opt, v) : parse_preset(o, opt, v);
    }
    if (!strcmp(opt, "--m")) {
        u64_list l = {o->ms, &o->n_ms, 1, 65536};
        g->ms = 1;
        return for_each_item(opt, v, u64_item, &l);
    }
    if (!strcmp(opt, "--rank")) {
        u64_list l = {tmp, &n, 0, CLQ_MAX_LORA_RANK};
        if (for_each_item(opt, v, u64_item, &l) != 0)
            return -1;
        for (int i = 0; i < n && o->n_ranks < BENCH_MAX_LIST; i++)
            o->ranks[o->n_ranks++] = (uint32_t)tmp[i];
        g->ranks = 1;
        return 0;
    }
    if (!strcmp(opt, "--multi-lora")) {
        g->multi_lora = 1;
        if (parse_u64(opt, v, 0, 256, &one) != 0)
            return -1;
        o->multi_lora = (uint32_t)one;
        return 0;
    }
    if (!strcmp(opt, "--lora-dtype")) {
        o->n_lora_dtypes = 0;
        return for_each_item(opt, v, lora_dtype_item, o);
    }
    if (!strcmp(opt, "--rounds")) {
        if (parse_u64(opt, v, 1, BENCH_MAX_ROUNDS, &one) != 0)
            return -1;
        o->rounds = (int)one;
        return 0;
    }
    if (!strcmp(opt, "--target")) {
        g->target = 1;
        return parse_target(o, opt, v);
    }
    /* Output paths and flags. */
    const char **path = !strcmp(opt, "--csv")    ? &o->csv
                        : !strcmp(opt, "--json") ? &o->json
                        : !strcmp(opt, "--plot") ? &o->plot
                                                 : NULL;
    int *flag = !strcmp(opt, "--quick")     ? &o->quick
                : !strcmp(opt, "--queued")  ? &o->queued
                : !strcmp(opt, "--quiet")   ? &o->quiet
                : !strcmp(opt, "--startup") ? &o->startup
                                            : NULL;
    if (!strcmp(opt, "--startup-child"))
        o->startup_child = v;
    else if (path)
        *path = v;
    else if (flag)
        *flag = 1;
    else if (!strcmp(opt, "--no-evict"))
        o->evict = 0;
    else
        return fail("unknown option '%s'", opt);
    return 0;
}

static const char *const VALUE_OPTIONS[] = {
    "--device",     "--op",     "--format", "--block", "--shape",      "--preset", "--m",
    "--rank",       "--target", "--csv",    "--json",  "--multi-lora", "--plot",   "--startup-child",
    "--lora-dtype", "--rounds"};
static const char *const FLAG_OPTIONS[] = {"--no-evict", "--queued", "--quick", "--quiet", "--startup"};

static int takes_value(const char *name)
{
    for (size_t i = 0; i < sizeof VALUE_OPTIONS / sizeof VALUE_OPTIONS[0]; i++)
        if (!strcmp(name, VALUE_OPTIONS[i]))
            return 1;
    for (size_t i = 0; i < sizeof FLAG_OPTIONS / sizeof FLAG_OPTIONS[0]; i++)
        if (!strcmp(name, FLAG_OPTIONS[i]))
            return 0;
    return -1;
}

/* Fills in what the command line left open: the full sweep's defaults, or
 * --quick's smaller ones. */
static void apply_defaults(bench_options *o, const given *g)
{
    if (!g->ops)
        for (int i = 0; i < BENCH_OP_COUNT; i++)
            o->ops[i] = 1;
    if (!g->shapes)
        add_shape(o, "--shape", 4096, 4096, "llama2-7b.attn");
    if (!g->shapes && !o->quick)
        for (int i = 1; i < BENCH_DEFAULT_SHAPES; i++)
            o->shapes[o->n_shapes++] = bench_default_shapes()[i];
    if (g->n_formats == 0 && g->n_blocks == 0 && o->quick) {
        o->pairs[o->n_pairs++] = (bench_pair){CLQ_FORMAT_NF4, 64, 0};
        o->pairs[o->n_pairs++] = (bench_pair){CLQ_FORMAT_Q4, 32, 0};
    } else {
        const clq_format *formats = g->n_formats ? g->formats : ALL_FORMATS;
        int n_formats = g->n_formats ? g->n_formats : N_ALL_FORMATS;
        for (int f = 0; f < n_formats; f++)
            for (int b = 0; b < (g->n_blocks ? g->n_blocks : 1) && o->n_pairs < BENCH_MAX_PAIRS; b++)
                o->pairs[o->n_pairs++] =
                    (bench_pair){formats[f], g->n_blocks ? g->blocks[b] : bench_default_block(formats[f]),
                                 g->n_formats ? g->double_quant[f] : 0};
    }
    /* --quick: one quantize and one dequantize row, the matmul for each pair. */
    o->codec_pairs = o->quick ? 1 : o->n_pairs;
    if (!g->ms) {
        const uint64_t quick_ms[] = {1, 64};
        const uint64_t *ms = o->quick ? quick_ms : DEFAULT_MS;
        o->n_ms = o->quick ? 2 : (int)(sizeof DEFAULT_MS / sizeof DEFAULT_MS[0]);
        memcpy(o->ms, ms, o->n_ms * sizeof *ms);
    }
    if (!g->ranks) {
        o->n_ranks = o->quick ? 2 : 3;
        memcpy(o->ranks, DEFAULT_RANKS, o->n_ranks * sizeof *o->ranks);
    }
    if (!g->multi_lora)
        o->multi_lora = o->quick ? 0 : 8;
    if (!g->target)
        o->target = o->quick ? QUICK_TARGET_S : FULL_TARGET_S;
    /* --quick trades statistical weight for time: one warm-up and 3 to 10
     * timed runs (each run pays a ~0.1 s eviction on a CPU). */
    o->warmup = o->quick ? 1 : 2;
    o->min_reps = o->quick ? 3 : 5;
    o->max_reps = o->quick ? 10 : 200;
}

/* Splits "--name=value" or "--name value" (consuming the next argument);
 * *i is the index of the argument, advanced past a consumed value. */
static int parse_arg(int argc, char **argv, int *i, bench_options *o, given *g)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0)
        return fail("unexpected argument '%s'", arg);
    char name[32];
    const char *eq = strchr(arg, '='), *value = NULL;
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    if (len >= sizeof name)
        return fail("unknown option '%s'", arg);
    memcpy(name, arg, len);
    name[len] = '\0';
    int wants = takes_value(name);
    if (wants < 0)
        return fail("unknown option '%s'", name);
    if (wants && eq)
        value = eq + 1;
    else if (wants && *i + 1 < argc)
        value = argv[++*i];
    else if (wants)
        return fail("option '%s' needs a value", name);
    else if (eq)
        return fail("option '%s' takes no value", name);
    return apply(o, g, name, value);
}

bench_parse_result bench_options_parse(int argc, char **argv, bench_options *o)
{
    *o = (bench_options){0};
    o->evict = 1;
    o->lora_dtypes[0] = CLQ_DTYPE_F32;
    o->n_lora_dtypes = 1;
    o->rounds = 1;
    given g = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            bench_options_help(stdout);
            return BENCH_PARSE_HELP;
        }
        if (parse_arg(argc, argv, &i, o, &g) != 0)
            return BENCH_PARSE_ERROR;
    }
    apply_defaults(o, &g);
    return BENCH_PARSE_RUN;
}

void bench_round_reps(const bench_options *o, int *min_reps, int *max_reps)
{
    *min_reps = (o->min_reps + o->rounds - 1) / o->rounds;
    *max_reps = (o->max_reps + o->rounds - 1) / o->rounds;
}

void bench_pair_name(const bench_pair *p, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s/%u", clq_format_name(p->format), p->double_quant ? "-dq" : "", p->block);
}

void bench_options_help(FILE *out)
{
    fprintf(out,
            "usage: clq bench [options]\n\n"
            "Times clq's quantize, dequantize and fused matmul against CLBlast on the same\n"
            "device, after measuring the device's roofline (read bandwidth, FMA rate).\n"
            "Weights are evicted from the cache before every run. Defaults are a full sweep;\n"
            "--quick is a sub-minute check.\n\n"
            "  --device SEL      a device ('platform:device' or part of its name); repeatable;\n"
            "                    default: every device of every platform\n"
            "  --op LIST         quantize,dequantize,matmul (default: all three)\n"
            "  --format LIST     nf4,fp4,q4,q4z,q8,dynamic8 or all (default: all); nf4-dq,\n"
            "                    fp4-dq: double-quantized (the absmax vector quantized again);\n"
            "                    ggml's block types q4_1,q5_0,q5_1,q2_k,q3_k,q4_k,q5_k,q6_k,\n"
            "                    iq4_nl,iq4_xs (not in all)\n"
            "  --block LIST      block sizes for every format (default: each format's usual one:\n"
            "                    32 for q4/q4z/q8, 64 for nf4/fp4, 256 for dynamic8; a ggml\n"
            "                    type's own, 32 or 256)\n"
            "  --shape NxK       a weight of N outputs by K inputs; repeatable\n"
            "  --preset NAME     %s\n"
            "                    (default: 4096x4096, 11008x4096, 4096x11008, 14336x4096)\n"
            "  --m LIST          rows of X (default: 1,2,4,8,16,64,256,1024)\n"
            "  --rank LIST       LoRA ranks, 0 = none (default: 0,16,64)\n"
            "  --multi-lora N    also run each rank > 0 with N adapters, rows cycling through\n"
            "                    them (default: 8; 0 or 1: off)\n"
            "  --lora-dtype LIST f32,f16: what clq's adapters are stored in, a row each\n"
            "                    (default: f32)\n"
            "  --target SECONDS  device time per measurement (default: %.2f; --quick: %.2f)\n"
            "  --rounds R        take each measurement in R sittings, going through the whole\n"
            "                    plan R times, and pool the runs: slow drift on a shared machine\n"
            "                    then falls on every row alike, so rows compare (default: 1)\n"
            "  --no-evict        do not evict the cache before each run (weights may be hot)\n"
            "  --queued          enqueue each run behind a 2 ms spacer kernel rather than on\n"
            "                    an idle queue: device time then leaves out the host's\n"
            "                    enqueueing, as when an application queues work ahead (wall\n"
            "                    time includes the spacer)\n"
            "  --quick           4096x4096, nf4/64 and q4/32, M 1,64, rank 0,16, one quantize and\n"
            "                    one dequantize row, short target; other options override\n"
            "  --csv FILE        one record per measurement, with device, driver, clq version\n"
            "  --json FILE       the same records as JSON, with the devices' rooflines\n"
            "  --plot DIR        PNG charts (GB/s and GFLOP/s against M) via gnuplot\n"
            "  --quiet           no progress display on stderr\n"
            "  --startup         instead of a sweep: time a new process's first matmul (context,\n"
            "                    weight, one M=1 product) with a warm program cache, per device\n"
            "  -h, --help        this help\n",
            bench_preset_names(), FULL_TARGET_S, QUICK_TARGET_S);
}

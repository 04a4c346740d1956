/*
 * `clq bench` through clq_bench_main: a tiny sweep on the default device
 * writes CSV, JSON and charts that must agree with each other and hold what
 * the issue promises (device, driver and clq version in every record, clq
 * rows, and CLBlast rows where the bench is built with CLBlast, roofline
 * fractions); bad command lines exit with 2; and
 * the work counts the benchmark reports are checked on known cases. No
 * assertion depends on how fast anything ran.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "measure.h"
#include "ops.h"
#include "plan.h"
#include "support.h"
#include "workspace.h"

/* ---- helpers --------------------------------------------------------------------- */

static void make_temp_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/clq-test-bench-XXXXXX");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

/* The tiny sweep: 64x256 nf4, M 1 and 3, rank 0 and 4, two adapters, a
 * millisecond per measurement and no eviction (an eviction buffer is
 * twice the last-level cache: seconds per run on a CPU). */
static int run_tiny_sweep(const char *const *extra, int n_extra)
{
    const char *args[32] = {"bench", "--device",   test_device(),  "--shape",  "64x256", "--m",
                            "1,3",   "--rank",     "0,4",          "--format", "nf4",    "--target",
                            "0.001", "--no-evict", "--multi-lora", "2",        "--quiet"};
    int n = 17;
    for (int i = 0; i < n_extra; i++)
        args[n++] = extra[i];
    return clq_bench_main(n, (char **)args);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)size + 1);
    cr_assert_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = '\0';
    fclose(f);
    return text;
}

/* Splits one CSV line (RFC 4180 quoting, no embedded line breaks here) into
 * at most cap fields, unquoting in place; returns the number of fields. */
static int split_csv(char *line, char **fields, int cap)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *out = p;
        cr_assert_lt(n, cap, "too many fields");
        fields[n++] = out;
        if (*p == '"') {
            for (p++;; p++) {
                if (*p == '"' && p[1] == '"')
                    *out++ = *p++;
                else if (*p == '"')
                    break;
                else
                    *out++ = *p;
                cr_assert_neq(*p, '\0', "unterminated quoted field");
            }
            p++;
        } else {
            while (*p && *p != ',')
                *out++ = *p++;
        }
        cr_assert(*p == ',' || *p == '\0', "text after a quoted field");
        char end = *p;
        *out = '\0';
        if (end == '\0')
            return n;
        p++;
    }
}

static int field_index(char *const *header, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(header[i], name) == 0)
            return i;
    cr_assert_fail("CSV header has no field '%s'", name);
    return -1;
}

static double parse_number(const char *text, const char *name)
{
    char *end = NULL;
    double v = strtod(text, &end);
    cr_assert(end != text && *end == '\0' && isfinite(v), "%s: '%s' is not a number", name, text);
    return v;
}

/* ---- CSV and JSON ------------------------------------------------------------------ */

#define MAX_FIELDS 64

/* A CSV file read row by row, its fields looked up by column name. Every
 * row must have as many fields as the header. */
typedef struct csv_reader {
    char *text, *save, *header[MAX_FIELDS], *fields[MAX_FIELDS];
    int columns, row; /* row: 1-based index of the current row */
} csv_reader;

static void csv_open(csv_reader *c, const char *path)
{
    *c = (csv_reader){.text = read_text(path)};
    char *line = strtok_r(c->text, "\n", &c->save);
    cr_assert_not_null(line, "empty CSV");
    c->columns = split_csv(line, c->header, MAX_FIELDS);
}

/* Moves to the next row; false after the last. */
static bool csv_next(csv_reader *c)
{
    char *line = strtok_r(NULL, "\n", &c->save);
    if (!line)
        return false;
    c->row++;
    int n = split_csv(line, c->fields, MAX_FIELDS);
    cr_assert_eq(n, c->columns, "row %d has %d fields, the header %d", c->row, n, c->columns);
    return true;
}

static const char *csv_text(const csv_reader *c, const char *name)
{
    return c->fields[field_index(c->header, c->columns, name)];
}

static double csv_number(const csv_reader *c, const char *name)
{
    return parse_number(csv_text(c, name), name);
}

static void csv_close(csv_reader *c)
{
    free(c->text);
}

/* Fields that are counts or measurements and must be above zero in every
 * record; the others that are numbers must be zero or more (rank, block
 * and m are 0 where they do not apply). */
static const char *const POSITIVE[] = {"n",
                                       "k",
                                       "reps",
                                       "median_us",
                                       "min_us",
                                       "max_us",
                                       "wall_median_us",
                                       "bytes",
                                       "gbps",
                                       "target_s",
                                       "roofline_bound_us",
                                       "roofline_fraction",
                                       "peak_read_gbps",
                                       "peak_fma_gflops"};
static const char *const NON_NEGATIVE[] = {"block", "m", "rank", "adapters", "evicted", "flops", "gflops"};
static const char *const TEXT[] = {"device", "driver_version", "clq_version", "op", "impl", "path", "format"};

typedef struct csv_summary {
    int rows, clq_rows, clblast_rows, unfused_rows, matmul_rows;
} csv_summary;

static csv_summary check_csv(const char *path)
{
    csv_reader c;
    csv_open(&c, path);
    csv_summary s = {0};
    while (csv_next(&c)) {
        for (size_t i = 0; i < sizeof TEXT / sizeof TEXT[0]; i++)
            cr_assert_gt(strlen(csv_text(&c, TEXT[i])), 0, "%s is empty", TEXT[i]);
        cr_assert_str_eq(csv_text(&c, "clq_version"), clq_version_string());
        for (size_t i = 0; i < sizeof POSITIVE / sizeof POSITIVE[0]; i++)
            cr_assert_gt(csv_number(&c, POSITIVE[i]), 0, "%s is not positive in row %d", POSITIVE[i], c.row);
        for (size_t i = 0; i < sizeof NON_NEGATIVE / sizeof NON_NEGATIVE[0]; i++)
            cr_assert_geq(csv_number(&c, NON_NEGATIVE[i]), 0);
        const char *impl = csv_text(&c, "impl");
        int matmul = strcmp(csv_text(&c, "op"), "matmul") == 0;
        /* lora_dtype says what the adapters were stored in, where there are any */
        const char *lora_dtype = csv_text(&c, "lora_dtype");
        if (csv_number(&c, "rank") > 0)
            cr_assert(!strcmp(lora_dtype, "f32") || !strcmp(lora_dtype, "f16"), "lora_dtype '%s'",
                      lora_dtype);
        else
            cr_assert_str_empty(lora_dtype);
        if (matmul) {
            cr_assert_gt(csv_number(&c, "m"), 0);
            cr_assert_gt(csv_number(&c, "gflops"), 0);
        }
        /* +lora: on clq's fused rows with LoRA (the sweep has rank 0 too),
         * a time ratio less 1; empty elsewhere */
        const char *overhead = csv_text(&c, "lora_overhead");
        if (matmul && strcmp(impl, "clq") == 0 && csv_number(&c, "rank") > 0)
            cr_assert_gt(parse_number(overhead, "lora_overhead"), -1.0, "row %d", c.row);
        else
            cr_assert_str_empty(overhead, "row %d", c.row);
        s.rows++;
        s.matmul_rows += matmul;
        s.clq_rows += strcmp(impl, "clq") == 0;
        s.clblast_rows += strcmp(impl, "clblast") == 0;
        s.unfused_rows += strcmp(impl, "clq+clblast") == 0;
    }
    csv_close(&c);
    return s;
}

static void check_json(const char *path, int expected_records)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s:%d: %s", path, err.line, err.text);
    cr_assert_str_eq(json_string_value(json_object_get(root, "clq_version")), clq_version_string());
    json_t *devices = json_object_get(root, "devices"), *records = json_object_get(root, "records");
    cr_assert(json_is_array(devices) && json_array_size(devices) == 1);
    json_t *roof = json_object_get(json_array_get(devices, 0), "roofline");
    cr_assert_gt(json_number_value(json_object_get(roof, "read_gbps")), 0);
    cr_assert_gt(json_number_value(json_object_get(roof, "fma_gflops")), 0);
    cr_assert(json_is_array(records));
    cr_assert_eq((int)json_array_size(records), expected_records, "JSON has %zu records, CSV %d",
                 json_array_size(records), expected_records);
    int clq = 0, clblast = 0;
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        for (size_t t = 0; t < sizeof TEXT / sizeof TEXT[0]; t++)
            cr_assert(json_string_length(json_object_get(r, TEXT[t])) > 0, "%s missing", TEXT[t]);
        cr_assert_gt(json_number_value(json_object_get(r, "roofline_fraction")), 0);
        const char *impl = json_string_value(json_object_get(r, "impl"));
        json_t *overhead = json_object_get(r, "lora_overhead");
        if (strcmp(impl, "clq") == 0 && json_integer_value(json_object_get(r, "rank")) > 0)
            cr_assert(json_is_real(overhead));
        else
            cr_assert(json_is_null(overhead));
        clq += strcmp(impl, "clq") == 0;
        clblast += strcmp(impl, "clblast") == 0;
    }
    cr_assert_gt(clq, 0);
    if (BENCH_HAS_CLBLAST)
        cr_assert_gt(clblast, 0);
    else
        cr_assert_eq(clblast, 0);
    json_decref(root);
}

/* Whether `rows` is what the tiny sweep writes with `extra_fused` more fused
 * rows: 2 codec rows and 6 fused, and with CLBlast 6 fp32 and 6 unfused
 * baselines, and 6 fp16 ones on a device with cl_khr_fp16. */
static bool tiny_sweep_rows(int rows, int extra_fused)
{
    int clq = 2 + 6 + extra_fused;
    if (!BENCH_HAS_CLBLAST)
        return rows == clq;
    return rows == clq + 12 || rows == clq + 18;
}

/* The tiny sweep with --csv into a new temporary folder, `extra` options
 * after it; returns check_csv's summary. The folder's name goes to dir
 * (remove_tree it when done), the file's to csv. */
static csv_summary sweep_to_csv(const char *const *extra, int n_extra, char dir[64], char csv[128])
{
    make_temp_dir(dir, 64);
    snprintf(csv, 128, "%s/out.csv", dir);
    const char *args[16] = {"--csv", csv};
    int n = 2;
    cr_assert_leq(n_extra, 14);
    for (int i = 0; i < n_extra; i++)
        args[n++] = extra[i];
    cr_assert_eq(run_tiny_sweep(args, n), 0);
    return check_csv(csv);
}

Test(bench, tiny_sweep_writes_csv_and_json, .init = cr_redirect_stdout, .timeout = 600)
{
    char dir[64], csv[128], json[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(csv, sizeof csv, "%s/out.csv", dir);
    snprintf(json, sizeof json, "%s/out.json", dir);
    const char *extra[] = {"--csv", csv, "--json", json};
    cr_assert_eq(run_tiny_sweep(extra, 4), 0);
    csv_summary s = check_csv(csv);
    /* quantize + dequantize, then 2 M × 3 LoRA configurations (none, rank
     * 4, rank 4 on 2 adapters) × (fp32 baseline, fused, unfused), and an
     * fp16 baseline on devices with cl_khr_fp16; without CLBlast, the fused
     * rows alone. */
    cr_assert(tiny_sweep_rows(s.rows, 0), "%d records", s.rows);
    cr_assert_eq(s.matmul_rows, s.rows - 2);
    cr_assert_eq(s.clq_rows, 2 + 6);
    cr_assert_eq(s.unfused_rows, BENCH_HAS_CLBLAST ? 6 : 0);
    if (BENCH_HAS_CLBLAST)
        cr_assert_geq(s.clblast_rows, 6);
    else
        cr_assert_eq(s.clblast_rows, 0);
    check_json(json, s.rows);
    test_remove_tree(dir);
}

/* The table says when the CLBlast baselines are left out of the build, and
 * only then. */
Test(bench, table_says_whether_the_baseline_is_built, .init = cr_redirect_stdout, .timeout = 600)
{
    const char *args[] = {"bench",  "--device", test_device(), "--shape",  "64x256",   "--op",
                          "matmul", "--format", "nf4",         "--m",      "1",        "--rank",
                          "0",      "--quick",  "--no-evict",  "--target", "0.000001", "--quiet"};
    cr_assert_eq(clq_bench_main(sizeof args / sizeof args[0], (char **)args), 0);
    fflush(stdout);
    FILE *out = cr_get_redirected_stdout();
    char line[512];
    bool said = false;
    while (fgets(line, sizeof line, out))
        said |= strstr(line, "CLBlast baseline: not built") != NULL;
    cr_assert_eq(said, !BENCH_HAS_CLBLAST, "the note is %s", said ? "there" : "missing");
}

/* --rounds 3 with a target too short for more than the least repetitions:
 * each round runs ceil(5 / 3) = 2 of them, and each row pools all three
 * rounds (6 runs; the last round alone would give 2, a single sitting 5).
 * The plan is still one row per measurement. */
Test(bench, rounds_pool_the_runs_of_every_round, .init = cr_redirect_stdout, .timeout = 600)
{
    char dir[64], csv[128];
    const char *extra[] = {"--rounds", "3", "--target", "0.000001"};
    csv_summary s = sweep_to_csv(extra, 4, dir, csv);
    cr_assert(tiny_sweep_rows(s.rows, 0), "%d records", s.rows);
    csv_reader c;
    csv_open(&c, csv);
    while (csv_next(&c)) {
        cr_assert_eq(csv_number(&c, "rounds"), 3);
        cr_assert_eq(csv_number(&c, "reps"), 6, "%s", csv_text(&c, "path"));
    }
    csv_close(&c);
    test_remove_tree(dir);
}

/* --rank 4,0: the rows without LoRA still come first for each M, as each
 * row with LoRA is compared with them round by round (+lora, which
 * check_csv finds on every fused row with LoRA). */
Test(bench, rank_zero_is_measured_first, .init = cr_redirect_stdout, .timeout = 600)
{
    char dir[64], csv[128];
    const char *extra[] = {"--rank", "4,0", "--rounds", "2"};
    sweep_to_csv(extra, 4, dir, csv);
    csv_reader c;
    csv_open(&c, csv);
    double m = -1;
    int lora_seen = 0;
    while (csv_next(&c)) {
        if (strcmp(csv_text(&c, "op"), "matmul") != 0)
            continue;
        if (csv_number(&c, "m") != m) {
            m = csv_number(&c, "m");
            lora_seen = 0;
        }
        if (csv_number(&c, "rank") > 0)
            lora_seen = 1;
        else
            cr_assert(!lora_seen, "M = %g: a row without LoRA after one with (row %d)", m, c.row);
    }
    csv_close(&c);
    test_remove_tree(dir);
}

/* --lora-dtype f32,f16: each fused row with LoRA comes twice, once per
 * type of clq's adapters (the baselines' rows do not). The tiny sweep has
 * 4 such rows (M 1 and 3, one adapter and two). */
Test(bench, lora_dtype_list_gives_a_fused_row_per_type, .init = cr_redirect_stdout, .timeout = 600)
{
    char dir[64], csv[128];
    const char *extra[] = {"--lora-dtype", "f32,f16"};
    csv_summary s = sweep_to_csv(extra, 2, dir, csv);
    cr_assert(tiny_sweep_rows(s.rows, 4), "%d records", s.rows);
    csv_reader c;
    csv_open(&c, csv);
    int f16 = 0, f32_fused = 0;
    while (csv_next(&c)) {
        const char *path = csv_text(&c, "path"), *dtype = csv_text(&c, "lora_dtype");
        if (!strcmp(dtype, "f16")) {
            cr_assert_str_eq(path, "fused-decode");
            f16++;
        }
        f32_fused += !strcmp(dtype, "f32") && !strcmp(path, "fused-decode");
    }
    cr_assert_eq(f16, 4);
    cr_assert_eq(f32_fused, 4);
    csv_close(&c);
    test_remove_tree(dir);
}

/* --format nf4,nf4-dq: the double-quantized weight is a pair of its own,
 * with double_quant = 1 in its records, and it is what was built: its
 * quantize row moves fewer bytes (an 8-bit scale per block, not fp32, once
 * the 1 KiB code table is paid for). */
Test(bench, double_quantized_weight_is_a_pair_of_its_own, .init = cr_redirect_stdout, .timeout = 600)
{
    char dir[64], csv[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(csv, sizeof csv, "%s/out.csv", dir);
    const char *args[] = {"bench",      "--device",        test_device(), "--shape",  "256x1024",
                          "--op",       "quantize,matmul", "--m",         "1",        "--rank",
                          "0",          "--format",        "nf4,nf4-dq",  "--target", "0.001",
                          "--no-evict", "--quiet",         "--csv",       csv};
    cr_assert_eq(clq_bench_main(sizeof args / sizeof args[0], (char **)args), 0);
    csv_summary s = check_csv(csv);
    cr_assert_eq(s.clq_rows, 4, "%d clq records", s.clq_rows); /* quantize and fused, per weight */
    csv_reader c;
    csv_open(&c, csv);
    double quantize_bytes[2] = {0, 0};
    int fused[2] = {0, 0};
    while (csv_next(&c)) {
        if (strcmp(csv_text(&c, "impl"), "clq") != 0)
            continue;
        cr_assert_str_eq(csv_text(&c, "format"), "nf4");
        int dq = (int)csv_number(&c, "double_quant");
        cr_assert(dq == 0 || dq == 1, "double_quant %d", dq);
        if (!strcmp(csv_text(&c, "op"), "quantize"))
            quantize_bytes[dq] = csv_number(&c, "bytes");
        else
            fused[dq]++;
    }
    csv_close(&c);
    cr_assert_eq(fused[0], 1);
    cr_assert_eq(fused[1], 1);
    cr_assert(quantize_bytes[1] > 0 && quantize_bytes[1] < quantize_bytes[0], "quantize bytes %g (dq), %g",
              quantize_bytes[1], quantize_bytes[0]);
    test_remove_tree(dir);
}

/* --queued end to end: every record says it was queued behind the spacer,
 * and the device's JSON gives the spacer's calibrated length. (Whether each
 * run really waits behind a spacer is queued_runs_wait_behind_the_spacer's
 * to check, by counting, not by timing.) */
Test(bench, queued_sweep_records_its_spacer, .init = cr_redirect_stdout, .timeout = 600)
{
    char dir[64], csv[128], json[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(csv, sizeof csv, "%s/out.csv", dir);
    snprintf(json, sizeof json, "%s/out.json", dir);
    const char *args[] = {"bench",  "--device", test_device(), "--shape",  "64x256",   "--op",
                          "matmul", "--format", "nf4",         "--m",      "1",        "--rank",
                          "0",      "--quick",  "--queued",    "--target", "0.000001", "--quiet",
                          "--csv",  csv,        "--json",      json};
    cr_assert_eq(clq_bench_main(sizeof args / sizeof args[0], (char **)args), 0);
    json_error_t err;
    json_t *root = json_load_file(json, 0, &err);
    cr_assert_not_null(root, "%s", err.text);
    double spacer_us =
        json_number_value(json_object_get(json_array_get(json_object_get(root, "devices"), 0), "spacer_us"));
    json_decref(root);
    cr_assert_gt(spacer_us, 0, "no spacer in the JSON");
    csv_reader c;
    csv_open(&c, csv);
    while (csv_next(&c))
        cr_assert_eq(csv_number(&c, "queued"), 1);
    /* the fused run, and with CLBlast the fp32 baseline, the unfused run
     * and, with cl_khr_fp16, the fp16 baseline */
    cr_assert(BENCH_HAS_CLBLAST ? c.row == 3 || c.row == 4 : c.row == 1, "%d records", c.row);
    csv_close(&c);
    test_remove_tree(dir);
}

/* The timer's spacer swapped for a kernel that counts its runs, and an
 * operation that records, for each of its runs, the count it finds. */
static const char *const COUNTING_SOURCE =
    "kernel void count_spacers(global uint *spacers) { spacers[0] += 1u; }\n"
    "kernel void record_spacers(global const uint *spacers, global uint *seen, uint run)\n"
    "{\n"
    "    seen[run] = spacers[0];\n"
    "}\n";

typedef struct counting_op {
    cl_kernel record;
    cl_uint runs;
} counting_op;

static int record_spacers(void *user, cl_command_queue q, cl_event *last)
{
    counting_op *op = user;
    static const size_t one = 1;
    cl_uint run = op->runs++;
    if (clSetKernelArg(op->record, 2, sizeof run, &run) != CL_SUCCESS)
        return -1;
    return clEnqueueNDRangeKernel(q, op->record, 1, NULL, &one, NULL, 0, NULL, last) == CL_SUCCESS ? 0 : -1;
}

/* Runs 2 warm-ups and 4 timed runs through bench_sample, queued or not;
 * returns the spacers counted in all and what each run found in seen[]. */
static cl_uint sample_counting_spacers(bool queued, cl_uint seen[6])
{
    clq_context_options co;
    clq_context_options_init(&co);
    co.profiling = 1;
    clq_context *ctx;
    TEST_OK(clq_context_create(&co, &ctx));
    cl_context cl = clq_context_cl_context(ctx);
    cl_device_id dev = clq_context_cl_device(ctx);
    cl_int err;
    const char *source = COUNTING_SOURCE;
    cl_program program = clCreateProgramWithSource(cl, 1, &source, NULL, &err);
    cr_assert_eq(err, CL_SUCCESS);
    cr_assert_eq(clBuildProgram(program, 1, &dev, "", NULL, NULL), CL_SUCCESS);
    cl_uint zero[7] = {0};
    cl_mem spacers =
        clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof(cl_uint), zero, &err);
    cr_assert_eq(err, CL_SUCCESS);
    cl_mem seen_buf =
        clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 6 * sizeof(cl_uint), zero, &err);
    cr_assert_eq(err, CL_SUCCESS);
    counting_op op = {clCreateKernel(program, "record_spacers", &err), 0};
    cr_assert_eq(err, CL_SUCCESS);
    cl_kernel count = clCreateKernel(program, "count_spacers", &err);
    cr_assert_eq(err, CL_SUCCESS);
    cr_assert_eq(clSetKernelArg(count, 0, sizeof spacers, &spacers), CL_SUCCESS);
    cr_assert_eq(clSetKernelArg(op.record, 0, sizeof spacers, &spacers), CL_SUCCESS);
    cr_assert_eq(clSetKernelArg(op.record, 1, sizeof seen_buf, &seen_buf), CL_SUCCESS);

    bench_timer t;
    cr_assert_eq(bench_timer_init(&t, ctx, 0.001, false), 0);
    t.warmup = 2;
    t.min_reps = t.max_reps = 4;
    t.spacer = count;
    t.spacer_us = BENCH_SPACER_US; /* what the spacer stands for; only a warning reads it */
    t.queued = queued;
    bench_samples samples = {0};
    cr_assert_eq(bench_sample(&t, record_spacers, &op, &samples), 0);
    cr_assert_eq(samples.count, 4);
    cr_assert_eq(op.runs, 6);
    bench_samples_free(&samples);

    cl_command_queue q = clq_context_cl_queue(ctx);
    cl_uint counted = 0;
    cr_assert_eq(clEnqueueReadBuffer(q, spacers, CL_TRUE, 0, sizeof counted, &counted, 0, NULL, NULL),
                 CL_SUCCESS);
    cr_assert_eq(clEnqueueReadBuffer(q, seen_buf, CL_TRUE, 0, 6 * sizeof *seen, seen, 0, NULL, NULL),
                 CL_SUCCESS);
    clReleaseKernel(count);
    clReleaseKernel(op.record);
    clReleaseMemObject(spacers);
    clReleaseMemObject(seen_buf);
    clReleaseProgram(program);
    clq_context_destroy(ctx);
    return counted;
}

/* --queued: each run, warm-ups included, is enqueued behind a spacer of
 * its own, after the previous run: run i finds i + 1 spacers done. Without
 * --queued no spacer runs. Counted on the device, so the check does not
 * depend on how long anything took. */
Test(bench, queued_runs_wait_behind_the_spacer)
{
    cl_uint seen[6];
    cr_assert_eq(sample_counting_spacers(true, seen), 6);
    for (cl_uint i = 0; i < 6; i++)
        cr_assert_eq(seen[i], i + 1, "run %u found %u spacers done", i, seen[i]);
    cr_assert_eq(sample_counting_spacers(false, seen), 0);
    for (cl_uint i = 0; i < 6; i++)
        cr_assert_eq(seen[i], 0, "run %u found %u spacers done", i, seen[i]);
}

/* ---- charts ------------------------------------------------------------------------ */

static int gnuplot_on_path(void)
{
    const char *path = getenv("PATH");
    char buf[1024];
    while (path && *path) {
        const char *end = strchr(path, ':');
        int n = end ? (int)(end - path) : (int)strlen(path);
        snprintf(buf, sizeof buf, "%.*s/gnuplot", n, path);
        if (access(buf, X_OK) == 0)
            return 1;
        path = end ? end + 1 : NULL;
    }
    return 0;
}

Test(bench, plot_writes_png_charts, .init = cr_redirect_stdout, .timeout = 600)
{
    if (!gnuplot_on_path())
        cr_skip("gnuplot is not on PATH");
    char dir[64], plots[128];
    make_temp_dir(dir, sizeof dir);
    snprintf(plots, sizeof plots, "%s/charts/nested", dir);
    const char *extra[] = {"--op", "matmul", "--plot", plots};
    cr_assert_eq(run_tiny_sweep(extra, 4), 0);
    DIR *d = opendir(plots);
    cr_assert_not_null(d, "%s was not created", plots);
    int pngs = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".png") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", plots, e->d_name);
        FILE *f = fopen(path, "rb");
        unsigned char magic[8] = {0};
        cr_assert_not_null(f);
        cr_assert_eq(fread(magic, 1, 8, f), 8, "%s is empty or short", path);
        fclose(f);
        cr_assert_eq(memcmp(magic, "\x89PNG\r\n\x1a\n", 8), 0, "%s is not a PNG", path);
        pngs++;
    }
    closedir(d);
    /* One chart per LoRA configuration: none, rank 4, rank 4 × 2 adapters. */
    cr_assert_eq(pngs, 3);
    test_remove_tree(dir);
}

/* ---- the baselines compute what clq computes ----------------------------------- */

#if BENCH_HAS_CLBLAST /* the unfused path is a CLBlast baseline */
static void read_y(bench_workspace *ws, float *y)
{
    cl_command_queue q = clq_context_cl_queue(ws->ctx);
    size_t bytes = (size_t)(ws->problem.m * ws->problem.n) * sizeof *y;
    cr_assert_eq(clEnqueueReadBuffer(q, ws->problem.y32, CL_TRUE, 0, bytes, y, 0, NULL, NULL), CL_SUCCESS);
}

static void run_and_read(bench_workspace *ws, bench_run_fn run, float *y)
{
    cl_command_queue q = clq_context_cl_queue(ws->ctx);
    cl_event last = NULL;
    cr_assert_eq(run(&ws->problem, q, &last), 0, "%s", clq_last_error());
    cr_assert_eq(clFinish(q), CL_SUCCESS);
    if (last)
        clReleaseEvent(last);
    read_y(ws, y);
}

/* The unfused baseline (clq dequantize, then CLBlast GEMMs with the LoRA
 * rows as strided views) must compute the product clq_matmul computes on
 * the same dequantized weight, adapters and row assignment; otherwise the
 * benchmark would compare unlike things. Float sums in different orders
 * differ by rounding only: 1e-4 of the largest |y| is far above that (K =
 * 256 terms, u = 6e-8) and far below any indexing mistake. */
Test(bench, unfused_baseline_matches_clq)
{
    const bench_shape shape = {48, 256, "custom"};
    const bench_pair pair = {CLQ_FORMAT_NF4, 64, 0};
    const uint64_t ms[] = {1, 5};
    const uint32_t adapters[] = {0, 1, 3};
    bench_workspace ws;
    bench_workspace_init(&ws, test_context(), 0);
    cr_assert_eq(bench_workspace_shape(&ws, 0, &shape), 0, "%s", ws.why);
    clq_weight *w;
    cr_assert_eq(bench_workspace_weight(&ws, 0, &pair, &w), 0, "%s", ws.why);
    ws.problem.weight = w;
    float fused[5 * 48], unfused[5 * 48];
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++) {
            uint32_t rank = adapters[j] ? 4 : 0;
            cr_assert_eq(bench_workspace_group(&ws, ms[i], rank, adapters[j]), 0, "%s", ws.why);
            run_and_read(&ws, bench_run_clq_matmul, fused);
            run_and_read(&ws, bench_run_unfused, unfused);
            size_t count = (size_t)(ms[i] * shape.n);
            float scale = 0;
            for (size_t e = 0; e < count; e++)
                scale = fmaxf(scale, fabsf(fused[e]));
            cr_assert_gt(scale, 0);
            for (size_t e = 0; e < count; e++)
                cr_assert(fabsf(fused[e] - unfused[e]) <= 1e-4f * scale,
                          "M %llu, %u adapters: y[%zu] = %g fused, %g unfused", (unsigned long long)ms[i],
                          adapters[j], e, fused[e], unfused[e]);
        }
    bench_workspace_release(&ws);
}

static void read_floats(bench_workspace *ws, cl_mem buf, size_t count, float *out)
{
    cl_command_queue q = clq_context_cl_queue(ws->ctx);
    cr_assert_eq(clEnqueueReadBuffer(q, buf, CL_TRUE, 0, count * sizeof *out, out, 0, NULL, NULL),
                 CL_SUCCESS);
}

/* --lora-dtype f16: clq's adapters are the fp32 ones rounded to half, the
 * unfused baseline keeps fp32. The difference is bounded by that rounding:
 * each element of A and B moves by at most u|v| + eta (u = 2^-11, eta =
 * 2^-25 for fp16 subnormals), so with T_j = X·A_j,
 *   |dY[m, n]| <= s · sum_j [ (sum_k |x_k| (u|a_jk| + eta)) (|b_nj|(1+u) + eta)
 *                             + |T_j| (u|b_nj| + eta) ],
 * plus the 1e-4 of the largest |y| that different summation orders take. */
Test(bench, fp16_adapters_differ_by_their_rounding_only)
{
    const bench_shape shape = {48, 256, "custom"};
    const bench_pair pair = {CLQ_FORMAT_NF4, 64, 0};
    enum { M = 5, RANK = 4, ADAPTERS = 3 };
    bench_workspace ws;
    bench_workspace_init(&ws, test_context(), 0);
    ws.lora_f16 = 1;
    cr_assert_eq(bench_workspace_shape(&ws, 0, &shape), 0, "%s", ws.why);
    clq_weight *w;
    cr_assert_eq(bench_workspace_weight(&ws, 0, &pair, &w), 0, "%s", ws.why);
    ws.problem.weight = w;
    cr_assert_eq(bench_workspace_group(&ws, M, RANK, ADAPTERS), 0, "%s", ws.why);
    cr_assert_eq(bench_workspace_lora_dtype(&ws, CLQ_DTYPE_F16), 0, "%s", ws.why);
    const bench_problem *p = &ws.problem;
    enum { N = 48, K = 256 };
    static float fused[M * N], unfused[M * N], x[M * K], a[ADAPTERS * RANK * K], b[ADAPTERS * N * RANK];
    run_and_read(&ws, bench_run_clq_matmul, fused);
    run_and_read(&ws, bench_run_unfused, unfused);
    read_floats(&ws, p->x32, M * K, x);
    read_floats(&ws, p->a32, ADAPTERS * RANK * K, a);
    read_floats(&ws, p->b32, ADAPTERS * N * RANK, b);
    const double u = 0x1p-11, eta = 0x1p-25;
    float scale = 0;
    for (int e = 0; e < M * N; e++)
        scale = fmaxf(scale, fabsf(unfused[e]));
    for (int m = 0; m < M; m++) {
        int ad = p->lora_index ? p->lora_index[m] : 0;
        cr_assert(ad >= 0 && ad < ADAPTERS);
        for (int n = 0; n < N; n++) {
            double bound = 0;
            for (int j = 0; j < RANK; j++) {
                const float *arow = a + ((size_t)ad * RANK + j) * K;
                double t = 0, dt = 0;
                for (int k = 0; k < K; k++) {
                    t += (double)x[m * K + k] * arow[k];
                    dt += fabs(x[m * K + k]) * (u * fabs(arow[k]) + eta);
                }
                double bj = fabs(b[((size_t)ad * N + n) * RANK + j]);
                bound += dt * (bj * (1 + u) + eta) + fabs(t) * (u * bj + eta);
            }
            bound = p->lora_scale * bound + 1e-4 * scale;
            double diff = fabs((double)fused[m * N + n] - unfused[m * N + n]);
            cr_assert(diff <= bound, "y[%d, %d]: %g with fp16 adapters, %g with fp32 (bound %g)", m, n,
                      fused[m * N + n], unfused[m * N + n], bound);
        }
    }
    /* The same product with the group's fp32 adapters in clq (same kernels,
     * same sums) must differ somewhere, or the adapters were never rounded. */
    static float fused32[M * N];
    cr_assert_eq(bench_workspace_lora_dtype(&ws, CLQ_DTYPE_F32), 0, "%s", ws.why);
    run_and_read(&ws, bench_run_clq_matmul, fused32);
    bench_workspace_release(&ws);
    cr_assert_neq(memcmp(fused, fused32, sizeof fused), 0, "fp16 adapters gave the fp32 result");
}
#endif

/* ---- the command line -------------------------------------------------------------- */

static int run_args(const char *const *args, int n)
{
    return clq_bench_main(n, (char **)args);
}

Test(bench, bad_options_exit_2, .init = cr_redirect_stderr)
{
    const char *const cases[][3] = {
        {"bench", "--bogus", NULL},
        {"bench", "--m", NULL},
        {"bench", "--m", "0"},
        {"bench", "--m", "1,,2"},
        {"bench", "--m", "-1"},
        {"bench", "--m", "4x"},
        {"bench", "--shape", "4096"},
        {"bench", "--shape", "0x64"},
        {"bench", "--format", "q3"},
        {"bench", "--format", "q4-dq"},
        {"bench", "--block", "48"},
        {"bench", "--rank", "2000"},
        {"bench", "--target", "0"},
        {"bench", "--target", "fast"},
        {"bench", "--op", "transpose"},
        {"bench", "--preset", "gpt5"},
        {"bench", "--quick=yes", NULL},
        {"bench", "stray", NULL},
        {"bench", "--multi-lora", "1000"},
        {"bench", "--lora-dtype", "bf16"},
        {"bench", "--rounds", "0"},
        {"bench", "--rounds", "1001"},
        {"bench", "--lora-dtype", "f16,f16"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = cases[i][2] ? 3 : 2;
        cr_expect_eq(run_args(cases[i], n), 2, "'%s %s' did not exit with 2", cases[i][1],
                     cases[i][2] ? cases[i][2] : "");
    }
}

/* One startup run (what `clq bench --startup` spawns) in this process: it
 * prints its three times, each positive. */
Test(bench, startup_child_reports_its_times, .init = cr_redirect_stdout, .timeout = 600)
{
    const char *args[] = {"bench", "--startup-child", test_device()};
    cr_assert_eq(run_args(args, 3), 0);
    fflush(stdout);
    FILE *out = cr_get_redirected_stdout();
    double t[3] = {0};
    cr_assert_eq(fscanf(out, "startup-child %lf %lf %lf", &t[0], &t[1], &t[2]), 3);
    for (int i = 0; i < 3; i++)
        cr_assert_gt(t[i], 0.0, "time %d is %g", i, t[i]);
}

Test(bench, help_exits_0, .init = cr_redirect_stdout)
{
    const char *args[] = {"bench", "--help"};
    cr_assert_eq(run_args(args, 2), 0);
}

/* ---- the shared description of the operations ------------------------------------- */

Test(bench_ops, work_counts)
{
    /* 2·M·N·K, plus 2·M·r·(K + N) for the adapter */
    cr_assert_eq(bench_matmul_flops(1, 4096, 4096, 0), 2.0 * 4096 * 4096);
    cr_assert_eq(bench_matmul_flops(64, 11008, 4096, 16),
                 2.0 * 64 * 11008 * 4096 + 2.0 * 64 * 16 * (4096 + 11008));
    /* weight + X + Y + A and B of each adapter used */
    cr_assert_eq(bench_matmul_bytes(2, 8, 4, 100, 4, 0, 0, 4), 100 + 4 * (2 * 4 + 2 * 8));
    cr_assert_eq(bench_matmul_bytes(2, 8, 4, 100, 4, 3, 2, 4),
                 100 + 4 * (2 * 4 + 2 * 8) + 2 * 3 * (4 + 8) * 4);
    cr_assert_eq(bench_lora_adapters_used(1, 8), 1);
    cr_assert_eq(bench_lora_adapters_used(64, 8), 8);
    cr_assert_eq(bench_lora_adapters_used(64, 0), 0);
    cr_assert_eq(bench_unfused_weight_bytes(10, 2, 3), 10 + 2 * 4 * 2 * 3);
    cr_assert_eq(bench_roofline_bound_s(1e9, 1e9, 1e9, 1e10), 1.0);   /* memory bound */
    cr_assert_eq(bench_roofline_bound_s(1e9, 1e11, 1e9, 1e10), 10.0); /* compute bound */
}

Test(bench_ops, lora_rows_cycle_through_adapters)
{
    int32_t idx[10];
    bench_lora_rows(idx, 10, 8);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(idx[i], i % 8);
}

Test(bench_ops, presets_and_default_blocks)
{
    bench_shape s[8];
    cr_assert_eq(bench_preset_lookup("llama2-7b.mlp_down", s, 8), 1);
    cr_assert(s[0].n == 4096 && s[0].k == 11008);
    cr_assert_eq(bench_preset_lookup("llama2-7b", s, 8), 3);
    cr_assert_eq(bench_preset_lookup("all", s, 8), BENCH_DEFAULT_SHAPES);
    cr_assert_eq(bench_preset_lookup("nope", s, 8), -1);
    cr_assert_eq(bench_default_block(CLQ_FORMAT_NF4), 64);
    cr_assert_eq(bench_default_block(CLQ_FORMAT_Q4), 32);
}

Test(bench_ops, inputs_are_deterministic)
{
    float a[101], b[101];
    bench_fill_normal(a, 101, 1.0f, 42);
    bench_fill_normal(b, 101, 1.0f, 42);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    double sum = 0, sq = 0;
    float w[4096];
    bench_fill_weight(w, 64, 64, 1);
    for (int i = 0; i < 4096; i++) {
        sum += w[i];
        sq += (double)w[i] * w[i];
    }
    /* sd 0.02: the sample sd of 4096 values is within 10% of it */
    double sd = sqrt(sq / 4096 - (sum / 4096) * (sum / 4096));
    cr_assert(fabs(sd - 0.02) < 0.002, "sd %g", sd);
}

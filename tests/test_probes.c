/*
 * The roofline probes of `clq bench`: each figure is the best of the kernel
 * shapes tried, the winner is named, a CPU device gets the host's own
 * figures beside them, and the table, CSV and JSON carry them, with every
 * roofline fraction computed from the best probe. No assertion depends on
 * how fast anything ran.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "measure.h"
#include "probes.h"
#include "support.h"

static int is_cpu(clq_context *ctx)
{
    cl_device_type type = 0;
    clGetDeviceInfo(clq_context_cl_device(ctx), CL_DEVICE_TYPE, sizeof type, &type, NULL);
    return (type & CL_DEVICE_TYPE_CPU) != 0;
}

/* The tried shapes: named, distinct, each a figure or an OpenCL error; the
 * best figure of those measured in full, and its name, are the roofline's. */
static void check_tried(const bench_probe_try *tried, int n, double best, const char *best_name,
                        const char *what)
{
    cr_assert_geq(n, 3, "%s: %d shapes tried", what, n);
    int winner = -1;
    for (int i = 0; i < n; i++) {
        cr_assert_gt(strlen(tried[i].kernel), 0, "%s shape %d has no name", what, i);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(tried[i].kernel, tried[j].kernel, "%s: two shapes named alike", what);
        if (tried[i].error == 0) {
            cr_assert_gt(tried[i].value, 0, "%s: %s ran but has no figure", what, tried[i].kernel);
            cr_assert_geq(tried[i].runs, 1);
        } else {
            cr_assert_eq(tried[i].value, 0);
            cr_assert_eq(tried[i].measured, 0);
        }
        if (!tried[i].measured)
            continue;
        cr_assert_leq(tried[i].value, best, "%s: %s beat the reported best", what, tried[i].kernel);
        if (tried[i].value == best && winner < 0)
            winner = i;
    }
    cr_assert_geq(winner, 0, "%s: the reported best %g is none of the shapes' figures", what, best);
    cr_assert_str_eq(best_name, tried[winner].kernel, "%s: the winner is misnamed", what);
}

Test(probes, best_shape_wins_and_is_named, .timeout = 600)
{
    clq_context_options co;
    clq_context_options_init(&co);
    co.device = test_device();
    co.profiling = 1;
    clq_context *ctx;
    TEST_OK(clq_context_create(&co, &ctx));
    bench_timer timer;
    cr_assert_eq(bench_timer_init(&timer, ctx, 0.001, false), 0);
    bench_roofline roof;
    char why[320] = "";
    cr_assert_eq(bench_probe_roofline(ctx, &timer, &roof, why, sizeof why), 0, "%s", why);
    check_tried(roof.read_tried, roof.n_read_tried, roof.read_gbps, roof.read_kernel, "read");
    check_tried(roof.fma_tried, roof.n_fma_tried, roof.fma_gflops, roof.fma_kernel, "FMA");
    cr_assert_gt(roof.read_buffer_bytes, 0);
    int wide_tried = 0;
    for (int i = 0; i < roof.n_fma_tried; i++)
        wide_tried |= strstr(roof.fma_tried[i].kernel, "min_vector_width(512)") != NULL;
    cr_assert_eq(wide_tried, roof.wide > 0, "min_vector_width(512) shapes tried: %d, wide %d", wide_tried,
                 roof.wide);
    if (is_cpu(ctx)) {
        /* the host's own figures, with what measured them */
        cr_assert_neq(roof.wide, 0, "a CPU device tries min_vector_width(512)");
        cr_assert_gt(roof.host_threads, 0);
        cr_assert_gt(roof.host_read_gbps, 0);
        cr_assert_gt(roof.host_fma_gflops, 0);
        cr_assert(roof.host_read_isa && roof.host_fma_isa && *roof.host_read_isa && *roof.host_fma_isa);
    } else {
        cr_assert_eq(roof.wide, 0, "min_vector_width(512) is for CPU devices only");
        cr_assert_eq(roof.host_read_gbps, 0);
        cr_assert_eq(roof.host_fma_gflops, 0);
    }
    bench_timer_release(&timer);
    clq_context_destroy(ctx);
}

/* ---- the outputs ----------------------------------------------------------------- */

/* Splits one CSV line (RFC 4180, no line breaks inside fields) into at
 * most `max` fields in place; returns the count. */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *out = line, *p = line;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        fields[n++] = out;
        if (*p == '"') {
            for (p++; *p; p++) {
                if (*p == '"' && p[1] == '"')
                    *out++ = *p++;
                else if (*p == '"') {
                    p++;
                    break;
                } else
                    *out++ = *p;
            }
        } else {
            while (*p && *p != ',')
                *out++ = *p++;
        }
        if (*p != ',') {
            *out = '\0';
            break;
        }
        *out++ = '\0';
        p++;
    }
    return n;
}

static int csv_column(char **header, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(header[i], name) == 0)
            return i;
    cr_assert_fail("CSV has no column %s", name);
    return -1;
}

static double near(double a, double b)
{
    return fabs(a - b) <= 1e-6 * fmax(fabs(a), fabs(b));
}

/* The best figure of a JSON list of tried shapes, of those measured in
 * full, and its name. */
static double json_best(json_t *tried, const char *unit, const char **name)
{
    double best = 0;
    size_t i;
    json_t *t;
    cr_assert(json_is_array(tried) && json_array_size(tried) >= 3);
    json_array_foreach(tried, i, t)
    {
        cr_assert(json_is_string(json_object_get(t, "kernel")));
        cr_assert(json_is_integer(json_object_get(t, "runs")));
        json_t *v = json_object_get(t, unit), *measured = json_object_get(t, "measured");
        cr_assert(json_is_number(v) || json_is_null(v), "%s is neither a figure nor null", unit);
        cr_assert(json_is_boolean(measured));
        if (json_is_true(measured) && json_number_value(v) > best) {
            best = json_number_value(v);
            *name = json_string_value(json_object_get(t, "kernel"));
        }
    }
    return best;
}

Test(probes, outputs_use_the_best_probe, .init = cr_redirect_stdout, .timeout = 600)
{
    char dir[] = "/tmp/clq-test-probes-XXXXXX", csv[64], json[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(csv, sizeof csv, "%s/out.csv", dir);
    snprintf(json, sizeof json, "%s/out.json", dir);
    /* M = 1 is bound by the read bandwidth; M = 512 does 25 flops a byte,
     * bound by the FMA rate on most devices. */
    const char *args[] = {"bench",   "--device",     test_device(), "--op",     "matmul", "--shape",
                          "64x256",  "--format",     "nf4",         "--m",      "1,512",  "--rank",
                          "0",       "--multi-lora", "0",           "--target", "0.001",  "--no-evict",
                          "--quiet", "--csv",        csv,           "--json",   json};
    cr_assert_eq(clq_bench_main(sizeof args / sizeof args[0], (char **)args), 0);

    json_error_t err;
    json_t *root = json_load_file(json, 0, &err);
    cr_assert_not_null(root, "%s:%d: %s", json, err.line, err.text);
    json_t *roof = json_object_get(json_array_get(json_object_get(root, "devices"), 0), "roofline");
    const char *read_name = NULL, *fma_name = NULL;
    double read = json_best(json_object_get(roof, "read_kernels"), "gbps", &read_name);
    double fma = json_best(json_object_get(roof, "fma_kernels"), "gflops", &fma_name);
    cr_assert(near(json_number_value(json_object_get(roof, "read_gbps")), read));
    cr_assert(near(json_number_value(json_object_get(roof, "fma_gflops")), fma));
    cr_assert_str_eq(json_string_value(json_object_get(roof, "read_kernel")), read_name);
    cr_assert_str_eq(json_string_value(json_object_get(roof, "fma_kernel")), fma_name);
    cr_assert(json_is_string(json_object_get(roof, "min_vector_width_512")));
    json_t *host = json_object_get(roof, "host");
    cr_assert(json_is_null(host) || (json_is_number(json_object_get(host, "read_gbps")) &&
                                     json_is_number(json_object_get(host, "fma_gflops")) &&
                                     json_is_string(json_object_get(host, "fma_isa"))));

    /* every record: the device's best figures and kernels, and the bound
     * and fraction from them */
    json_t *records = json_object_get(root, "records"), *r;
    size_t i;
    cr_assert_geq(json_array_size(records), 2);
    json_array_foreach(records, i, r)
    {
        double bytes = json_number_value(json_object_get(r, "bytes"));
        double flops = json_number_value(json_object_get(r, "flops"));
        double median = json_number_value(json_object_get(r, "median_us"));
        double bound = json_number_value(json_object_get(r, "roofline_bound_us"));
        cr_assert(near(json_number_value(json_object_get(r, "peak_read_gbps")), read));
        cr_assert(near(json_number_value(json_object_get(r, "peak_fma_gflops")), fma));
        cr_assert_str_eq(json_string_value(json_object_get(r, "peak_read_kernel")), read_name);
        cr_assert_str_eq(json_string_value(json_object_get(r, "peak_fma_kernel")), fma_name);
        cr_assert(near(bound, 1e6 * fmax(bytes / (read * 1e9), flops / (fma * 1e9))),
                  "record %zu: bound %g us", i, bound);
        cr_assert(near(json_number_value(json_object_get(r, "roofline_fraction")), bound / median));
        json_t *host_read = json_object_get(r, "host_read_gbps");
        cr_assert(json_is_null(host) ? json_is_null(host_read)
                                     : near(json_number_value(host_read),
                                            json_number_value(json_object_get(host, "read_gbps"))));
    }

    /* the CSV's columns hold the same */
    FILE *f = fopen(csv, "r");
    cr_assert_not_null(f);
    char head[8192], line[8192], *h[128], *v[128];
    cr_assert_not_null(fgets(head, sizeof head, f));
    int nh = csv_split(head, h, 128), rows = 0;
    int c_read = csv_column(h, nh, "peak_read_gbps"), c_fma = csv_column(h, nh, "peak_fma_gflops");
    int c_rk = csv_column(h, nh, "peak_read_kernel"), c_fk = csv_column(h, nh, "peak_fma_kernel");
    int c_hr = csv_column(h, nh, "host_read_gbps"), c_hf = csv_column(h, nh, "host_fma_gflops");
    while (fgets(line, sizeof line, f)) {
        cr_assert_eq(csv_split(line, v, 128), nh, "row %d has a different number of fields", rows);
        cr_assert(near(strtod(v[c_read], NULL), read));
        cr_assert(near(strtod(v[c_fma], NULL), fma));
        cr_assert_str_eq(v[c_rk], read_name);
        cr_assert_str_eq(v[c_fk], fma_name);
        if (json_is_null(host)) {
            cr_assert_str_empty(v[c_hr]);
            cr_assert_str_empty(v[c_hf]);
        } else {
            cr_assert(near(strtod(v[c_hf], NULL), json_number_value(json_object_get(host, "fma_gflops"))));
        }
        rows++;
    }
    fclose(f);
    cr_assert_eq(rows, (int)json_array_size(records));

    /* the table names both winners (closing stdout ends the redirected stream) */
    fclose(stdout);
    FILE *table = cr_get_redirected_stdout();
    char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, table);
    text[len] = '\0';
    cr_assert_not_null(strstr(text, read_name), "the table does not name the read kernel %s", read_name);
    cr_assert_not_null(strstr(text, fma_name), "the table does not name the FMA kernel %s", fma_name);
    if (!json_is_null(host))
        cr_assert_not_null(strstr(text, "host CPU from C"));

    json_decref(root);
    unlink(csv);
    unlink(json);
    rmdir(dir);
}

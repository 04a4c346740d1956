/*
 * layer_demo: one real layer from a model file, with an optional PEFT LoRA
 * adapter, through clq's fused matmul in both regimes (decode M = 1 and
 * prefill M = 512), checked against an fp32 reference computed on the host
 * from the dequantized weight, and timed.
 *
 *   layer_demo FILE.gguf:TENSOR [ADAPTERDIR:LAYER]
 *   layer_demo FILE.safetensors:PREFIX [ADAPTERDIR:LAYER]
 *
 * PREFIX is a bitsandbytes 4-bit layer (PREFIX.weight.quant_state...) or a
 * float tensor; float tensors (GGUF f32/f16, safetensors F32/F16/BF16) are
 * quantized to q8 blocks of 32. Exit status 0 when every checked output is
 * within the error bound of an fp32 computation, 1 otherwise.
 *
 * Only the public API (clq.h, clq_io.h) is used: this is how an application
 * loads files it already has.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <clq.h>
#include <clq_io.h>

#define CHECK(call)                                                                                          \
    do {                                                                                                     \
        int status_ = (call);                                                                                \
        if (status_ != CLQ_SUCCESS) {                                                                        \
            fprintf(stderr, "layer_demo: %s failed: %s\n", #call, clq_last_error());                         \
            exit(2);                                                                                         \
        }                                                                                                    \
    } while (0)

/* ---- loading ---------------------------------------------------------------- */

static clq_weight *load_weight(clq_context *ctx, const char *spec)
{
    const char *colon = strrchr(spec, ':');
    if (!colon) {
        fprintf(stderr, "layer_demo: expected FILE.gguf:TENSOR or FILE.safetensors:PREFIX, got '%s'\n", spec);
        exit(2);
    }
    char path[4096];
    snprintf(path, sizeof path, "%.*s", (int)(colon - spec), spec);
    const char *name = colon + 1;
    clq_weight *w = NULL;
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".gguf") == 0) {
        clq_gguf *g = NULL;
        CHECK(clq_gguf_open(path, &g));
        CHECK(clq_gguf_load_weight(ctx, g, name, CLQ_FORMAT_Q8, 32, &w));
        clq_gguf_close(g); /* the weight is independent of the file */
        return w;
    }
    clq_safetensors *st = NULL;
    CHECK(clq_safetensors_open(path, &st));
    clq_bnb_info info;
    if (clq_safetensors_bnb_info(st, name, &info) == CLQ_SUCCESS)
        CHECK(clq_safetensors_load_bnb(ctx, st, name, &w));
    else
        CHECK(clq_safetensors_load_weight(ctx, st, name, CLQ_FORMAT_Q8, 32, &w));
    clq_safetensors_close(st);
    return w;
}

static float half_to_float(uint16_t h)
{
    int e = (h >> 10) & 0x1f;
    float m = (float)(h & 0x3ff);
    float v = e == 0 ? ldexpf(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexpf(m + 1024.0f, e - 25);
    return h & 0x8000 ? -v : v;
}

/* A tensor of the adapter as fp32 values, for the host reference. */
static float *to_floats(const clq_safetensors_tensor *t)
{
    float *v = malloc(t->elements * sizeof *v);
    const unsigned char *p = t->data;
    for (uint64_t i = 0; i < t->elements; i++) {
        if (t->dtype == CLQ_SAFETENSORS_F32) {
            memcpy(&v[i], p + 4 * i, 4);
            continue;
        }
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        uint32_t bits = (uint32_t)h << 16; /* BF16: the top half of an fp32 */
        if (t->dtype == CLQ_SAFETENSORS_F16)
            v[i] = half_to_float(h);
        else
            memcpy(&v[i], &bits, 4);
    }
    return v;
}

typedef struct adapter {
    clq_lora *lora;
    uint32_t rank;
    float scale;
    float *a, *b; /* rank×K, N×rank */
} adapter;

static void load_adapter(clq_context *ctx, const char *spec, uint64_t n, uint64_t k, adapter *out)
{
    const char *colon = strrchr(spec, ':');
    if (!colon) {
        fprintf(stderr, "layer_demo: expected ADAPTERDIR:LAYER, got '%s'\n", spec);
        exit(2);
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(colon - spec), spec);
    clq_peft *p = NULL;
    CHECK(clq_peft_open(dir, &p));
    clq_peft_layer l;
    CHECK(clq_peft_find_layer(p, colon + 1, &l));
    const clq_peft *set[1] = {p};
    CHECK(clq_peft_lora_create(ctx, set, 1, colon + 1, n, k, &out->lora));
    *out = (adapter){out->lora, l.rank, l.scale, to_floats(&l.a), to_floats(&l.b)};
    printf("adapter %s: rank %u, scale %g\n", l.module, l.rank, (double)l.scale);
    clq_peft_close(p);
}

/* ---- running and checking ------------------------------------------------------ */

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Device time of one profiled run, in seconds. */
static double run_once(const clq_weight *w, clq_matmul_args *args)
{
    cl_event done;
    CHECK(clq_matmul(w, args, 0, NULL, &done));
    clWaitForEvents(1, &done);
    cl_ulong start = 0, end = 0;
    clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
    clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
    clReleaseEvent(done);
    return (double)(end - start) * 1e-9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Checks row i of y against the reference in double; returns whether it
 * lies within the bound of an fp32 computation (|error| <= γ(K+r+4)·Σ|terms|,
 * Higham §3.1). Updates the largest error seen. */
static int check_row(const float *w, uint64_t n, uint64_t k, const float *x, const float *y,
                     const adapter *ad, double *max_err, double *max_ref)
{
    int ok = 1;
    double u = ldexp(1.0, -24), terms = (double)(k + (ad->lora ? ad->rank : 0) + 4);
    double gamma = terms * u / (1 - terms * u);
    double *t = ad->lora ? calloc(ad->rank, sizeof *t) : NULL,
           *ta = ad->lora ? calloc(ad->rank, sizeof *ta) : NULL;
    for (uint32_t j = 0; ad->lora && j < ad->rank; j++)
        for (uint64_t c = 0; c < k; c++) {
            t[j] += (double)x[c] * ad->a[j * k + c];
            ta[j] += fabs((double)x[c] * ad->a[j * k + c]);
        }
    for (uint64_t o = 0; o < n; o++) {
        double ref = 0, mag = 0;
        for (uint64_t c = 0; c < k; c++) {
            ref += (double)x[c] * w[o * k + c];
            mag += fabs((double)x[c] * w[o * k + c]);
        }
        for (uint32_t j = 0; ad->lora && j < ad->rank; j++) {
            ref += ad->scale * t[j] * ad->b[o * ad->rank + j];
            mag += fabs(ad->scale * ad->b[o * ad->rank + j]) * ta[j];
        }
        double err = fabs((double)y[o] - ref);
        ok &= err <= gamma * mag;
        if (err > *max_err)
            *max_err = err;
        if (fabs(ref) > *max_ref)
            *max_ref = fabs(ref);
    }
    free(t);
    free(ta);
    return ok;
}

static int run_regime(clq_context *ctx, const clq_weight *w, const float *wd, const adapter *ad, uint64_t m,
                      const char *label)
{
    clq_weight_desc d = clq_weight_get_desc(w);
    uint64_t n = d.rows, k = d.cols;
    float *x = malloc(m * k * sizeof *x), *y = malloc(m * n * sizeof *y);
    srand(1234);
    for (uint64_t i = 0; i < m * k; i++)
        x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    cl_int err;
    cl_context cl = clq_context_cl_context(ctx);
    clq_matmul_args args = {m,    CLQ_DTYPE_F32, NULL, CLQ_DTYPE_F32,  NULL,
                            NULL, ad->lora,      NULL, CLQ_MATMUL_AUTO};
    args.x = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, m * k * sizeof *x, x, &err);
    args.y = clCreateBuffer(cl, CL_MEM_WRITE_ONLY, m * n * sizeof *y, NULL, &err);
    run_once(w, &args); /* warm-up: the first call builds or loads the kernels */
    enum { REPS = 7 };
    double device[REPS], wall = seconds();
    for (int r = 0; r < REPS; r++)
        device[r] = run_once(w, &args);
    wall = (seconds() - wall) / REPS;
    qsort(device, REPS, sizeof device[0], by_value);
    clEnqueueReadBuffer(clq_context_cl_queue(ctx), args.y, CL_TRUE, 0, m * n * sizeof *y, y, 0, NULL, NULL);

    /* The reference costs M·N·K in double on one core: large batches are
     * checked on 16 rows spread over the batch. */
    uint64_t checked = m * n * k <= (1ull << 28) ? m : 16, max_err_row = 0;
    double max_err = 0, max_ref = 0;
    int ok = 1;
    for (uint64_t i = 0; i < checked; i++) {
        uint64_t row = checked == m ? i : i * (m - 1) / (checked - 1);
        double before = max_err;
        ok &= check_row(wd, n, k, x + row * k, y + row * n, ad, &max_err, &max_ref);
        if (max_err > before)
            max_err_row = row;
    }
    double flops = 2.0 * (double)m * (double)n * (double)k;
    printf("%-8s M=%-4llu median device time %8.3f ms (wall %8.3f ms), %7.2f GFLOP/s, "
           "%s: max |error| %.3g (row %llu, largest |y| %.3g) on %llu rows\n",
           label, (unsigned long long)m, device[REPS / 2] * 1e3, wall * 1e3, flops / device[REPS / 2] * 1e-9,
           ok ? "within the fp32 bound" : "OUTSIDE the fp32 bound", max_err, (unsigned long long)max_err_row,
           max_ref, (unsigned long long)checked);
    clReleaseMemObject(args.x);
    clReleaseMemObject(args.y);
    free(x);
    free(y);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: layer_demo FILE.gguf:TENSOR|FILE.safetensors:PREFIX [ADAPTERDIR:LAYER]\n");
        return 2;
    }
    clq_context_options options;
    clq_context_options_init(&options);
    options.profiling = 1;
    clq_context *ctx = NULL;
    CHECK(clq_context_create(&options, &ctx));
    printf("device: %s\n", clq_context_device_name(ctx));

    clq_weight *w = load_weight(ctx, argv[1]);
    clq_weight_desc d = clq_weight_get_desc(w);
    printf("weight %s: %s, block %u, %llu x %llu%s, %llu bytes on the device\n", argv[1],
           clq_format_name(d.format), d.block, (unsigned long long)d.rows, (unsigned long long)d.cols,
           d.double_quant ? ", double-quantized" : "", (unsigned long long)clq_weight_device_bytes(w));
    /* The reference multiplies by exactly what the kernels dequantize. */
    float *wd = malloc(d.rows * d.cols * sizeof *wd);
    CHECK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, wd, d.rows * d.cols * sizeof *wd));
    adapter ad = {0};
    if (argc == 3)
        load_adapter(ctx, argv[2], d.rows, d.cols, &ad);

    int ok = run_regime(ctx, w, wd, &ad, 1, "decode");
    ok &= run_regime(ctx, w, wd, &ad, 512, "prefill");

    free(wd);
    free(ad.a);
    free(ad.b);
    clq_lora_destroy(ad.lora);
    clq_weight_destroy(w);
    clq_context_destroy(ctx);
    return ok ? 0 : 1;
}

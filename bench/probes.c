/* Roofline probes (see probes.h). */
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_probe.h"

/* Devices disagree on which kernel shape reaches their limit, so each
 * figure is the best of several shapes, and the winner is named.
 *
 * Reads: GPUs want neighbouring work-items on neighbouring addresses
 * (strided: a grid-stride loop). A CPU runs a work-group's items one after
 * another on one core and wants each on its own contiguous chunk (PoCL
 * reads 2 GB/s strided and 20 GB/s chunked on a 2-core Xeon); it comes
 * closer still with one item per work-group streaming a long contiguous
 * slice in wide vectors with independent accumulators (28.6 GB/s there,
 * what C reaches with AVX-512 loads), for anything from one to 32 items a
 * core.
 *
 * FMA: independent vector chains hide FMA latency (4 cycles on x86,
 * about as many on GPUs) behind throughput; the vector widths cover 128-
 * to 512-bit SIMD. The shapes of many items use mad(), which a GPU
 * contracts to its FMA. PoCL compiles mad() as a multiply and an add (in
 * the generated code for a Xeon: vmulps and vaddps, half the rate of
 * vfmadd), so the CPU-shaped kernels call fma(): a few items of float16
 * with 8-12 chains, one per work-group, keep the chains in registers (412
 * GFLOP/s on that Xeon, where 16384 items of 16 mad chains reach
 * 163-206). A device without FMA hardware emulates fma() slowly, and
 * there a mad shape wins. Every lane of every chain goes into the stored
 * result, so that the compiler can drop none of the work.
 *
 * LLVM may split 512-bit vectors on AVX-512 CPUs (it prefers 256-bit ones
 * there) unless a function asks for them with min_vector_width(512).
 * PoCL 3.1 on the Xeon emits 512-bit FMAs for the FMA kernels either way,
 * but without it loads a third of the float16 slices in 256-bit halves
 * (the generated code). The attribute is clang's: CPU devices (PoCL,
 * rusticl) compile through clang, but a GPU vendor's compiler may reject
 * it, so the program is built a second time with it on CPU devices only,
 * and its shapes are tried where that build succeeds. */
static const char PROBE_SOURCE[] =
    "#ifdef CLQ_PROBE_WIDE\n"
    "#define PROBE_KERNEL __kernel __attribute__((min_vector_width(512)))\n"
    "#else\n"
    "#define PROBE_KERNEL __kernel\n"
    "#endif\n"
    "PROBE_KERNEL void read_strided(__global const float4 *src, ulong n, __global float *out)\n"
    "{\n"
    "    size_t gid = get_global_id(0), stride = get_global_size(0);\n"
    "    float4 acc = 0.0f;\n"
    "    for (ulong i = gid; i < n; i += stride)\n"
    "        acc += src[i];\n"
    "    out[gid] = acc.x + acc.y + acc.z + acc.w;\n"
    "}\n"
    "PROBE_KERNEL void read_chunked(__global const float4 *src, ulong n, __global float *out)\n"
    "{\n"
    "    size_t gid = get_global_id(0), items = get_global_size(0);\n"
    "    ulong chunk = (n + items - 1) / items, begin = gid * chunk, end = min(begin + chunk, n);\n"
    "    float4 acc = 0.0f;\n"
    "    for (ulong i = begin; i < end; i++)\n"
    "        acc += src[i];\n"
    "    out[gid] = acc.x + acc.y + acc.z + acc.w;\n"
    "}\n"
    "#define SUM4(s) ((s).x + (s).y + (s).z + (s).w)\n"
    "#define SUM8(s) SUM4((s).lo + (s).hi)\n"
    "#define SUM16(s) SUM8((s).lo + (s).hi)\n"
    /* Each item's share is a whole number of 4-vector steps; the last
     * item takes what is left. */
    "#define READ_SLICES(T, NAME, SUM)                                              \\\n"
    "PROBE_KERNEL void NAME(__global const T *src, ulong n, __global float *out)     \\\n"
    "{                                                                              \\\n"
    "    ulong id = get_global_id(0), items = get_global_size(0);                   \\\n"
    "    ulong share = n / items / 4 * 4, begin = id * share;                       \\\n"
    "    ulong end = id + 1 == items ? n : begin + share, i = begin;                \\\n"
    "    T a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;                               \\\n"
    "    for (; i + 4 <= end; i += 4) {                                             \\\n"
    "        a0 += src[i];                                                          \\\n"
    "        a1 += src[i + 1];                                                      \\\n"
    "        a2 += src[i + 2];                                                      \\\n"
    "        a3 += src[i + 3];                                                      \\\n"
    "    }                                                                          \\\n"
    "    for (; i < end; i++)                                                       \\\n"
    "        a0 += src[i];                                                          \\\n"
    "    out[id] = SUM((a0 + a1) + (a2 + a3));                                      \\\n"
    "}\n"
    "READ_SLICES(float8, read_slices_float8, SUM8)\n"
    "READ_SLICES(float16, read_slices_float16, SUM16)\n"
    "#define X4(op, p) op(p##0) op(p##1) op(p##2) op(p##3)\n"
    "#define X8(op, p) X4(op, p) op(p##4) op(p##5) op(p##6) op(p##7)\n"
    "#define CHAINS8(op) X8(op, x)\n"
    "#define CHAINS12(op) X8(op, x) X4(op, y)\n"
    "#define CHAINS16(op) X8(op, x) X8(op, y)\n"
    "#define INIT(v) chain_t v = start; start += 0.0625f;\n"
    "#define STEP_mad(v) v = mad(v, va, vb);\n"
    "#define STEP_fma(v) v = fma(v, va, vb);\n"
    "#define ADD(v) s += v;\n"
    "#define FMA_KERNEL(T, OP, NAME, CHAINS, LANES)                                 \\\n"
    "PROBE_KERNEL void NAME(__global float *out, float a, float b, int iterations)  \\\n"
    "{                                                                              \\\n"
    "    typedef T chain_t;                                                         \\\n"
    "    T start = (T)((float)get_global_id(0) * 1e-7f), va = (T)a, vb = (T)b;      \\\n"
    "    CHAINS(INIT)                                                               \\\n"
    "    for (int i = 0; i < iterations; i++) {                                     \\\n"
    "        CHAINS(STEP_##OP)                                                      \\\n"
    "    }                                                                          \\\n"
    "    T s = 0.0f;                                                                \\\n"
    "    CHAINS(ADD)                                                                \\\n"
    "    out[get_global_id(0)] = LANES(s);                                          \\\n"
    "}\n"
    "FMA_KERNEL(float4, mad, mad_float4_x16, CHAINS16, SUM4)\n"
    "FMA_KERNEL(float8, mad, mad_float8_x16, CHAINS16, SUM8)\n"
    "FMA_KERNEL(float16, mad, mad_float16_x16, CHAINS16, SUM16)\n"
    "FMA_KERNEL(float16, fma, fma_float16_x16, CHAINS16, SUM16)\n"
    "FMA_KERNEL(float8, fma, fma_float8_x8, CHAINS8, SUM8)\n"
    "FMA_KERNEL(float16, fma, fma_float16_x8, CHAINS8, SUM16)\n"
    "FMA_KERNEL(float16, fma, fma_float16_x12, CHAINS12, SUM16)\n";

/* A kernel shape: the entry point, its vector width and accumulators or
 * chains, and its launch. items = max(min_items, per_cu × compute units);
 * one_per_group launches work-groups of one item (else the device picks);
 * wide uses the min_vector_width(512) build. */
typedef struct probe_shape {
    const char *kernel;
    const char *pattern; /* reads: how the items cover the buffer; FMA: mad or fma */
    int width, chains;   /* floats per vector; accumulators (reads) or chains (FMA) */
    unsigned per_cu, min_items;
    int one_per_group, wide;
} probe_shape;

// clang-format off
static const probe_shape READ_SHAPES[] = {
    {"read_strided", "strided", 4, 1, 1024, 4096, 0, 0},
    {"read_chunked", "chunked", 4, 1, 1024, 4096, 0, 0},
    {"read_slices_float16", "slices", 16, 4, 1, 1, 1, 0},
    {"read_slices_float16", "slices", 16, 4, 8, 8, 1, 0},
    {"read_slices_float16", "slices", 16, 4, 32, 32, 1, 0},
    {"read_slices_float8", "slices", 8, 4, 8, 8, 1, 0},
    {"read_slices_float16", "slices", 16, 4, 8, 8, 1, 1},
};

static const probe_shape FMA_SHAPES[] = {
    {"mad_float4_x16", "mad", 4, 16, 2048, 16384, 0, 0},
    {"mad_float8_x16", "mad", 8, 16, 2048, 16384, 0, 0},
    {"mad_float16_x16", "mad", 16, 16, 2048, 16384, 0, 0},
    {"fma_float16_x16", "fma", 16, 16, 2048, 16384, 0, 0},
    {"fma_float8_x8", "fma", 8, 8, 64, 128, 1, 0},
    {"fma_float16_x8", "fma", 16, 8, 64, 128, 1, 0},
    {"fma_float16_x12", "fma", 16, 12, 64, 128, 1, 0},
    {"fma_float16_x8", "fma", 16, 8, 64, 128, 1, 1},
    {"fma_float16_x12", "fma", 16, 12, 64, 128, 1, 1},
};
// clang-format on

#define N_READ_SHAPES (sizeof READ_SHAPES / sizeof READ_SHAPES[0])
#define N_FMA_SHAPES (sizeof FMA_SHAPES / sizeof FMA_SHAPES[0])
_Static_assert(N_READ_SHAPES <= BENCH_PROBE_MAX && N_FMA_SHAPES <= BENCH_PROBE_MAX,
               "bench_roofline holds BENCH_PROBE_MAX shapes per probe");

/* Shapes of many items run this many iterations, as before; shapes of one
 * item per group run as many as give a launch about this many flops
 * (some 10 ms on a CPU, well under one on a GPU). */
#define FMA_ITERATIONS 256
#define FMA_LAUNCH_FLOPS 4294967296.0

static size_t shape_items(const probe_shape *s, cl_uint cus)
{
    size_t items = (size_t)s->per_cu * cus;
    return items < s->min_items ? s->min_items : items;
}

static void read_name(const probe_shape *s, size_t items, char *buf, size_t len)
{
    char accs[24] = "";
    if (s->chains > 1)
        snprintf(accs, sizeof accs, " x%d acc", s->chains);
    snprintf(buf, len, "%s float%d%s, %zu items%s%s", s->pattern, s->width, accs, items,
             s->one_per_group ? ", 1 per group" : "", s->wide ? ", min_vector_width(512)" : "");
}

static void fma_name(const probe_shape *s, size_t items, char *buf, size_t len)
{
    snprintf(buf, len, "float%d x%d %s chains, %zu items%s%s", s->width, s->chains, s->pattern, items,
             s->one_per_group ? ", 1 per group" : "", s->wide ? ", min_vector_width(512)" : "");
}

/* One shape, set up to launch: its kernel with arguments set, NDRange,
 * work per launch (bytes or flops), name and result. */
typedef struct probe_run {
    cl_kernel kernel;
    size_t global, local; /* local 0: the device picks */
    double work;
    cl_int err;
    char name[96];
} probe_run;

static int run_probe(void *user, cl_command_queue q, cl_event *last)
{
    probe_run *r = user;
    r->err =
        clEnqueueNDRangeKernel(q, r->kernel, 1, NULL, &r->global, r->local ? &r->local : NULL, 0, NULL, last);
    return r->err == CL_SUCCESS ? 0 : -1;
}

/* A shape within this share of the best single run is measured in full. */
#define FINALIST_SHARE 0.5

/* Every shape is first timed over a single run, and only those within
 * FINALIST_SHARE of the best are measured with the timer's settings: on a
 * CPU the strided read takes a tenth of a second or more per pass, and a
 * full measurement of it would cost seconds to learn nothing. Fills
 * tried[] and the best measured figure and its name; 0, or -1 if no shape
 * ran (the last error in *err). */
static int probe_shapes(const bench_timer *timer, probe_run *runs, int n, bench_probe_try *tried,
                        int *n_tried, double *best, char (*best_name)[sizeof tried->kernel], cl_int *err)
{
    /* The single run is timed as every run is (measure.h), after one
     * untimed launch in which the device may compile the kernel for its
     * NDRange and the pages come in. */
    bench_timer t = *timer;
    t.evict = NULL; /* see probes.h */
    t.warmup = 1;
    t.min_reps = t.max_reps = 1;
    double rate[BENCH_PROBE_MAX], best_screen = 0;
    for (int i = 0; i < n; i++) {
        bench_stats st;
        rate[i] = 0;
        if (runs[i].err == CL_SUCCESS && bench_measure(&t, run_probe, &runs[i], &st) == 0 && st.median_us > 0)
            rate[i] = runs[i].work / (st.median_us * 1e-6) / 1e9;
        else if (runs[i].err == CL_SUCCESS)
            runs[i].err = CL_INVALID_OPERATION;
        if (rate[i] > best_screen)
            best_screen = rate[i];
    }
    t.min_reps = timer->min_reps; /* the finalists: the timer's settings, warmed up already */
    t.max_reps = timer->max_reps;
    int ran = 0;
    for (int i = 0; i < n; i++) {
        probe_run *r = &runs[i];
        bench_probe_try *tr = &tried[(*n_tried)++];
        snprintf(tr->kernel, sizeof tr->kernel, "%s", r->name);
        tr->value = rate[i];
        tr->runs = 1;
        if (r->err == CL_SUCCESS && rate[i] >= FINALIST_SHARE * best_screen) {
            bench_stats st;
            if (bench_measure(&t, run_probe, r, &st) == 0 && st.median_us > 0) {
                tr->value = r->work / (st.median_us * 1e-6) / 1e9;
                tr->runs = st.reps;
                tr->measured = 1;
                ran = 1;
                if (tr->value > *best) {
                    *best = tr->value;
                    memcpy(*best_name, tr->kernel, sizeof tr->kernel);
                }
            } else if (r->err == CL_SUCCESS) {
                r->err = CL_INVALID_OPERATION;
            }
        }
        tr->error = r->err;
        if (r->err != CL_SUCCESS) {
            tr->value = 0;
            tr->runs = 0;
            *err = r->err;
        }
    }
    return ran ? 0 : -1;
}

static void release_runs(probe_run *runs, int n)
{
    for (int i = 0; i < n; i++)
        if (runs[i].kernel)
            clReleaseKernel(runs[i].kernel);
}

static int fail(char *why, size_t len, const char *what, cl_int err)
{
    snprintf(why, len, "roofline probe: %s failed (OpenCL error %d)", what, (int)err);
    return -1;
}

typedef struct probe_programs {
    cl_program plain, wide; /* wide: NULL unless built */
} probe_programs;

/* The host's own read figure over the probe's buffer, mapped: the same
 * memory the kernels read (PoCL and rusticl map a CPU device's buffers
 * without a copy). Left at 0 if the buffer cannot be mapped. */
static void host_read(cl_command_queue q, cl_mem src, size_t bytes, bench_roofline *out)
{
    cl_int err;
    void *p = clEnqueueMapBuffer(q, src, CL_TRUE, CL_MAP_READ, 0, bytes, 0, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return;
    out->host_threads = bench_host_threads();
    out->host_read_gbps = bench_host_read_gbps(p, bytes, out->host_threads, &out->host_read_isa);
    clEnqueueUnmapMemObject(q, src, p, 0, NULL, NULL);
    clFinish(q);
}

static cl_uint compute_units(cl_device_id dev)
{
    cl_uint cus = 1;
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    return cus;
}

/* The output of a probe's kernels: a float for each item of its largest
 * launch. */
static cl_mem create_sink(cl_context cl, const probe_shape *shapes, size_t n, cl_uint cus, cl_int *err)
{
    size_t most = 0;
    for (size_t i = 0; i < n; i++)
        if (shape_items(&shapes[i], cus) > most)
            most = shape_items(&shapes[i], cus);
    return clCreateBuffer(cl, CL_MEM_WRITE_ONLY, most * sizeof(float), NULL, err);
}

/* The next run: shape s's NDRange, name and kernel, from the program built
 * for it (the error, if any, in its err); NULL, and nothing added, where
 * that program was not built. */
static probe_run *add_run(probe_run *runs, int *n, const probe_shape *s, const probe_programs *progs,
                          cl_uint cus, void (*name)(const probe_shape *, size_t, char *, size_t))
{
    cl_program prog = s->wide ? progs->wide : progs->plain;
    if (!prog)
        return NULL;
    probe_run *r = &runs[(*n)++];
    *r = (probe_run){.global = shape_items(s, cus), .local = s->one_per_group ? 1 : 0};
    name(s, r->global, r->name, sizeof r->name);
    r->kernel = clCreateKernel(prog, s->kernel, &r->err);
    return r;
}

/* Sets a kernel argument of a run where all before it went well (else its
 * err keeps the first error). */
static void set_arg(probe_run *r, cl_uint index, size_t size, const void *value)
{
    if (r->err == CL_SUCCESS)
        r->err = clSetKernelArg(r->kernel, index, size, value);
}

static int probe_read(cl_context cl, cl_device_id dev, const probe_programs *progs, int cpu,
                      const bench_timer *timer, bench_roofline *out, char *why, size_t why_len)
{
    cl_uint cus = compute_units(dev);
    /* Eight times the last-level cache: a buffer only twice its size read
     * up to 39 GB/s where DRAM gives 30-33 (Zen 4 CI VM, 32 MiB L3). */
    size_t bytes = bench_cache_multiple_bytes(dev, 8);
    cl_int err;
    cl_mem src = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return fail(why, why_len, "allocating the read buffer", err);
    cl_mem sink = create_sink(cl, READ_SHAPES, N_READ_SHAPES, cus, &err);
    /* Written once so that the pages exist and hold ordinary floats, each
     * page its own: zeros, or one value repeated, a hypervisor may back
     * with one shared page (bench_fill_distinct). */
    if (err == CL_SUCCESS)
        err = bench_fill_distinct(timer->queue, src, bytes);
    out->read_buffer_bytes = bytes;
    probe_run runs[BENCH_PROBE_MAX] = {0};
    int n = 0;
    for (size_t i = 0; i < N_READ_SHAPES && err == CL_SUCCESS; i++) {
        probe_run *r = add_run(runs, &n, &READ_SHAPES[i], progs, cus, read_name);
        if (!r)
            continue;
        r->work = (double)bytes;
        cl_ulong elems = bytes / (sizeof(float) * READ_SHAPES[i].width);
        set_arg(r, 0, sizeof src, &src);
        set_arg(r, 1, sizeof elems, &elems);
        set_arg(r, 2, sizeof sink, &sink);
    }
    int status = err == CL_SUCCESS ? probe_shapes(timer, runs, n, out->read_tried, &out->n_read_tried,
                                                  &out->read_gbps, &out->read_kernel, &err)
                                   : -1;
    release_runs(runs, n);
    if (status == 0 && cpu)
        host_read(timer->queue, src, bytes, out);
    clReleaseMemObject(src);
    if (sink)
        clReleaseMemObject(sink);
    return status == 0 ? 0 : fail(why, why_len, "every read-bandwidth kernel", err);
}

static int probe_fma(cl_context cl, cl_device_id dev, const probe_programs *progs, int cpu,
                     const bench_timer *timer, bench_roofline *out, char *why, size_t why_len)
{
    cl_uint cus = compute_units(dev);
    cl_int err;
    cl_mem sink = create_sink(cl, FMA_SHAPES, N_FMA_SHAPES, cus, &err);
    if (err != CL_SUCCESS)
        return fail(why, why_len, "allocating the FMA output", err);
    /* a < 1 and b small keep every chain finite: x -> x·a + b converges. */
    float a = 0.999f, b = 0.001f;
    probe_run runs[BENCH_PROBE_MAX] = {0};
    int n = 0;
    for (size_t i = 0; i < N_FMA_SHAPES; i++) {
        const probe_shape *s = &FMA_SHAPES[i];
        probe_run *r = add_run(runs, &n, s, progs, cus, fma_name);
        if (!r)
            continue;
        double per_iteration = 2.0 * s->chains * s->width * (double)r->global;
        int iterations = s->one_per_group ? (int)(FMA_LAUNCH_FLOPS / per_iteration) : FMA_ITERATIONS;
        if (iterations < FMA_ITERATIONS)
            iterations = FMA_ITERATIONS;
        r->work = per_iteration * iterations;
        set_arg(r, 0, sizeof sink, &sink);
        set_arg(r, 1, sizeof a, &a);
        set_arg(r, 2, sizeof b, &b);
        set_arg(r, 3, sizeof iterations, &iterations);
    }
    int status = probe_shapes(timer, runs, n, out->fma_tried, &out->n_fma_tried, &out->fma_gflops,
                              &out->fma_kernel, &err);
    release_runs(runs, n);
    clReleaseMemObject(sink);
    if (status == 0 && cpu) {
        if (!out->host_threads)
            out->host_threads = bench_host_threads();
        out->host_fma_gflops = bench_host_fma_gflops(out->host_threads, &out->host_fma_isa);
    }
    return status == 0 ? 0 : fail(why, why_len, "every FMA kernel", err);
}

static cl_program build(cl_context cl, cl_device_id dev, const char *options, cl_int *err)
{
    const char *src = PROBE_SOURCE;
    cl_program prog = clCreateProgramWithSource(cl, 1, &src, NULL, err);
    if (*err != CL_SUCCESS)
        return NULL;
    *err = clBuildProgram(prog, 1, &dev, options, NULL, NULL);
    if (*err != CL_SUCCESS) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

int bench_probe_roofline(clq_context *ctx, const bench_timer *timer, bench_roofline *out, char *why,
                         size_t why_len)
{
    cl_context cl = clq_context_cl_context(ctx);
    cl_device_id dev = clq_context_cl_device(ctx);
    cl_device_type type = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    int cpu = (type & CL_DEVICE_TYPE_CPU) != 0;
    *out = (bench_roofline){0};
    cl_int err;
    probe_programs progs = {build(cl, dev, "", &err), NULL};
    if (!progs.plain)
        return fail(why, why_len, "building the probe program", err);
    if (cpu) {
        progs.wide = build(cl, dev, "-DCLQ_PROBE_WIDE", &err);
        out->wide = progs.wide ? 1 : -1;
    }
    int status = probe_read(cl, dev, &progs, cpu, timer, out, why, why_len);
    if (status == 0)
        status = probe_fma(cl, dev, &progs, cpu, timer, out, why, why_len);
    clReleaseProgram(progs.plain);
    if (progs.wide)
        clReleaseProgram(progs.wide);
    return status;
}

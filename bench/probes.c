/* Roofline probes (see probes.h). */
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>

/* Two read patterns, because devices disagree on which streams best:
 * GPUs want neighbouring work-items on neighbouring addresses (strided: a
 * grid-stride loop), while a CPU runs a work-group's items one after
 * another on one core and wants each on its own contiguous chunk (PoCL
 * reads 2 GB/s strided and 20 GB/s chunked on the 2-core CI machine).
 * The better of the two is the device's read bandwidth.
 *
 * The FMA kernels keep 16 independent chains per work-item so that FMA
 * latency (4 cycles on x86, about as many on GPUs) is hidden by
 * throughput; the vector widths cover 128- to 512-bit SIMD. mad() rather
 * than fma(): mad may be contracted to whatever the device does fastest,
 * and a roofline is about the fastest. The result is stored so that the
 * compiler cannot drop the chains. */
static const char PROBE_SOURCE[] =
    "__kernel void read_strided(__global const float4 *src, ulong n, __global float *out)\n"
    "{\n"
    "    size_t gid = get_global_id(0), stride = get_global_size(0);\n"
    "    float4 acc = 0.0f;\n"
    "    for (ulong i = gid; i < n; i += stride)\n"
    "        acc += src[i];\n"
    "    out[gid] = acc.x + acc.y + acc.z + acc.w;\n"
    "}\n"
    "__kernel void read_chunked(__global const float4 *src, ulong n, __global float *out)\n"
    "{\n"
    "    size_t gid = get_global_id(0), items = get_global_size(0);\n"
    "    ulong chunk = (n + items - 1) / items, begin = gid * chunk, end = min(begin + chunk, n);\n"
    "    float4 acc = 0.0f;\n"
    "    for (ulong i = begin; i < end; i++)\n"
    "        acc += src[i];\n"
    "    out[gid] = acc.x + acc.y + acc.z + acc.w;\n"
    "}\n"
    "#define CHAIN8(op, p) op(p##0) op(p##1) op(p##2) op(p##3) op(p##4) op(p##5) op(p##6) op(p##7)\n"
    "#define STEP(v) v = mad(v, a, b);\n"
    "#define SUM(v) s += v;\n"
    "#define FMA_KERNEL(T, NAME)                                                     \\\n"
    "__kernel void NAME(__global float *out, float a, float b, int iterations)      \\\n"
    "{                                                                              \\\n"
    "    T x0 = (T)((float)get_global_id(0) * 1e-7f), x1 = x0 + 0.1f, x2 = x0 + 0.2f,  \\\n"
    "      x3 = x0 + 0.3f, x4 = x0 + 0.4f, x5 = x0 + 0.5f, x6 = x0 + 0.6f, x7 = x0 + 0.7f; \\\n"
    "    T y0 = x0 + 0.8f, y1 = x0 + 0.9f, y2 = x0 + 1.0f, y3 = x0 + 1.1f, y4 = x0 + 1.2f, \\\n"
    "      y5 = x0 + 1.3f, y6 = x0 + 1.4f, y7 = x0 + 1.5f;                             \\\n"
    "    for (int i = 0; i < iterations; i++) {                                     \\\n"
    "        CHAIN8(STEP, x) CHAIN8(STEP, y)                                        \\\n"
    "    }                                                                          \\\n"
    "    T s = 0.0f;                                                                \\\n"
    "    CHAIN8(SUM, x) CHAIN8(SUM, y)                                              \\\n"
    "    out[get_global_id(0)] = s.s0 + s.s1;                                       \\\n"
    "}\n"
    "FMA_KERNEL(float4, fma_float4)\n"
    "FMA_KERNEL(float8, fma_float8)\n"
    "FMA_KERNEL(float16, fma_float16)\n";

#define FMA_CHAINS 16
#define FMA_ITERATIONS 256

typedef struct probe_launch {
    cl_kernel kernel;
    size_t global;
} probe_launch;

static int run_probe(void *user, cl_command_queue q, cl_event *last)
{
    probe_launch *l = user;
    return clEnqueueNDRangeKernel(q, l->kernel, 1, NULL, &l->global, NULL, 0, NULL, last) == CL_SUCCESS ? 0
                                                                                                        : -1;
}

/* Times one kernel with the timer's settings: seconds per launch (median). */
static int time_kernel(const bench_timer *timer, cl_kernel kernel, size_t global, double *seconds)
{
    bench_timer t = *timer;
    t.evict = NULL; /* see probes.h */
    probe_launch l = {kernel, global};
    bench_stats st;
    if (bench_measure(&t, run_probe, &l, &st) != 0)
        return -1;
    *seconds = st.median_us * 1e-6;
    return 0;
}

static int fail(char *why, size_t len, const char *what, cl_int err)
{
    snprintf(why, len, "roofline probe: %s failed (OpenCL error %d)", what, (int)err);
    return -1;
}

static int probe_read(cl_context cl, cl_device_id dev, cl_program prog, const bench_timer *timer,
                      bench_roofline *out, char *why, size_t why_len)
{
    cl_uint cus = 1;
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    /* Eight times the last-level cache: a buffer only twice its size read
     * up to 39 GB/s where DRAM gives 30-33 (Zen 4 CI VM, 32 MiB L3). */
    size_t bytes = bench_cache_multiple_bytes(dev, 8), items = cus * 1024 < 4096 ? 4096 : cus * 1024;
    cl_ulong n = bytes / 16;
    cl_int err;
    cl_mem src = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return fail(why, why_len, "allocating the read buffer", err);
    cl_mem sink = clCreateBuffer(cl, CL_MEM_WRITE_ONLY, items * sizeof(float), NULL, &err);
    /* Written once so that the pages exist and hold ordinary floats; not
     * zeros, which a hypervisor may back with one shared page. */
    float fill = 0.0078125f;
    if (err == CL_SUCCESS)
        err = clEnqueueFillBuffer(timer->queue, src, &fill, sizeof fill, 0, bytes, 0, NULL, NULL);
    const char *names[] = {"read_strided", "read_chunked"};
    out->read_gbps = 0;
    for (int i = 0; i < 2 && err == CL_SUCCESS; i++) {
        cl_kernel k = clCreateKernel(prog, names[i], &err);
        if (err != CL_SUCCESS)
            break;
        clSetKernelArg(k, 0, sizeof src, &src);
        clSetKernelArg(k, 1, sizeof n, &n);
        clSetKernelArg(k, 2, sizeof sink, &sink);
        double s = 0;
        if (time_kernel(timer, k, items, &s) != 0)
            err = CL_INVALID_OPERATION;
        else if (s > 0 && bytes / s / 1e9 > out->read_gbps) {
            out->read_gbps = bytes / s / 1e9;
            out->read_kernel = names[i] + 5;
        }
        clReleaseKernel(k);
    }
    out->read_buffer_bytes = bytes;
    clReleaseMemObject(src);
    if (sink)
        clReleaseMemObject(sink);
    return err == CL_SUCCESS ? 0 : fail(why, why_len, "the read-bandwidth kernel", err);
}

static int probe_fma(cl_context cl, cl_device_id dev, cl_program prog, const bench_timer *timer,
                     bench_roofline *out, char *why, size_t why_len)
{
    cl_uint cus = 1;
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    size_t items = cus * 2048 < 16384 ? 16384 : cus * 2048;
    cl_int err;
    cl_mem sink = clCreateBuffer(cl, CL_MEM_WRITE_ONLY, items * sizeof(float), NULL, &err);
    if (err != CL_SUCCESS)
        return fail(why, why_len, "allocating the FMA output", err);
    const char *names[] = {"fma_float4", "fma_float8", "fma_float16"};
    const int widths[] = {4, 8, 16};
    /* a < 1 and b small keep every chain finite: x -> x·a + b converges. */
    float a = 0.999f, b = 0.001f;
    int iterations = FMA_ITERATIONS;
    out->fma_gflops = 0;
    for (int i = 0; i < 3 && err == CL_SUCCESS; i++) {
        cl_kernel k = clCreateKernel(prog, names[i], &err);
        if (err != CL_SUCCESS)
            break;
        clSetKernelArg(k, 0, sizeof sink, &sink);
        clSetKernelArg(k, 1, sizeof a, &a);
        clSetKernelArg(k, 2, sizeof b, &b);
        clSetKernelArg(k, 3, sizeof iterations, &iterations);
        double s = 0, flops = 2.0 * FMA_CHAINS * widths[i] * (double)iterations * (double)items;
        if (time_kernel(timer, k, items, &s) != 0)
            err = CL_INVALID_OPERATION;
        else if (s > 0 && flops / s / 1e9 > out->fma_gflops) {
            out->fma_gflops = flops / s / 1e9;
            out->fma_kernel = names[i] + 4;
        }
        clReleaseKernel(k);
    }
    clReleaseMemObject(sink);
    return err == CL_SUCCESS ? 0 : fail(why, why_len, "the FMA kernel", err);
}

int bench_probe_roofline(clq_context *ctx, const bench_timer *timer, bench_roofline *out, char *why,
                         size_t why_len)
{
    cl_context cl = clq_context_cl_context(ctx);
    cl_device_id dev = clq_context_cl_device(ctx);
    const char *src = PROBE_SOURCE;
    cl_int err;
    cl_program prog = clCreateProgramWithSource(cl, 1, &src, NULL, &err);
    if (err != CL_SUCCESS)
        return fail(why, why_len, "creating the probe program", err);
    err = clBuildProgram(prog, 1, &dev, "", NULL, NULL);
    int status = err == CL_SUCCESS ? 0 : fail(why, why_len, "building the probe program", err);
    *out = (bench_roofline){0};
    if (status == 0)
        status = probe_read(cl, dev, prog, timer, out, why, why_len);
    if (status == 0)
        status = probe_fma(cl, dev, prog, timer, out, why, why_len);
    clReleaseProgram(prog);
    return status;
}

/* Timing for the benchmark (see measure.h). */
#define _POSIX_C_SOURCE 200809L
#include "measure.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

size_t bench_cache_multiple_bytes(cl_device_id dev, unsigned multiple)
{
    cl_ulong cache = 0, mem = 0, max_alloc = 0;
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache, &cache, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    cl_ulong bytes = multiple * (cache ? cache : (cl_ulong)128 << 20);
    if (mem && bytes > mem / 4)
        bytes = mem / 4;
    if (max_alloc && bytes > max_alloc)
        bytes = max_alloc;
    return (size_t)(bytes & ~(cl_ulong)4095);
}

/* The eviction reads its buffer rather than writing it: a fill leaves the
 * caches full of dirty lines, whose write-back then shares the memory bus
 * with the run's own reads (on the Zen 4 CI VM, 4096² NF4/64 decode took
 * 439-537 us after a fill and 381-437 us after a read, runs alternating).
 * An application's previous work is mostly other weights, read, so a read
 * is also the closer picture. Each work-item reads one contiguous chunk on
 * a CPU (where a work-group's items run one after another on a core) and
 * every items-th float4 on other devices (neighbouring items on
 * neighbouring addresses). The sum is stored only if it is negative, which
 * it never is (the buffer holds small positive floats), so nothing is
 * written. */
static const char *const EVICT_SOURCE =
    "kernel void bench_evict(global const float4 *src, ulong n, uint chunked, global float *sink)\n"
    "{\n"
    "    ulong id = get_global_id(0), items = get_global_size(0);\n"
    "    ulong chunk = chunked ? (n + items - 1) / items : 1, step = chunked ? 1 : items;\n"
    "    ulong begin = chunked ? id * chunk : id, end = chunked ? min(begin + chunk, n) : n;\n"
    "    float4 acc = 0.0f;\n"
    "    for (ulong i = begin; i < end; i += step)\n"
    "        acc += src[i];\n"
    "    if (acc.x + acc.y + acc.z + acc.w < 0.0f)\n"
    "        sink[0] = acc.x;\n"
    "}\n";

/* Reads the eviction buffer and waits until it is read. */
static int evict(const bench_timer *t)
{
    if (clEnqueueNDRangeKernel(t->queue, t->evict_kernel, 1, NULL, &t->evict_items, NULL, 0, NULL, NULL) !=
        CL_SUCCESS)
        return -1;
    return clFinish(t->queue) == CL_SUCCESS ? 0 : -1;
}

/* A one-kernel program built from source, and the one-float buffer its
 * kernel writes to (never, in practice: see the kernels). */
static cl_int build_kernel(cl_context cl, cl_device_id dev, const char *source, const char *name,
                           cl_program *program, cl_kernel *kernel, cl_mem *sink)
{
    cl_int err;
    *program = clCreateProgramWithSource(cl, 1, &source, NULL, &err);
    if (err == CL_SUCCESS)
        err = clBuildProgram(*program, 1, &dev, "", NULL, NULL);
    if (err == CL_SUCCESS)
        *kernel = clCreateKernel(*program, name, &err);
    if (err == CL_SUCCESS)
        *sink = clCreateBuffer(cl, CL_MEM_WRITE_ONLY, sizeof(float), NULL, &err);
    return err;
}

static void release_kernel(cl_program *program, cl_kernel *kernel, cl_mem *sink)
{
    if (*kernel)
        clReleaseKernel(*kernel);
    if (*program)
        clReleaseProgram(*program);
    if (*sink)
        clReleaseMemObject(*sink);
    *kernel = NULL;
    *program = NULL;
    *sink = NULL;
}

cl_int bench_fill_distinct(cl_command_queue queue, cl_mem buffer, size_t bytes)
{
    cl_int err;
    uint32_t *p = clEnqueueMapBuffer(queue, buffer, CL_TRUE, CL_MAP_WRITE_INVALIDATE_REGION, 0, bytes, 0,
                                     NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return err;
    /* 2^-7 .. 2^-6: the exponent of 0.0078125, a mantissa from a
     * multiplicative hash of the word's index */
    for (size_t i = 0; i < bytes / sizeof *p; i++)
        p[i] = 0x3C000000u | ((uint32_t)i * 2654435761u >> 9);
    err = clEnqueueUnmapMemObject(queue, buffer, p, 0, NULL, NULL);
    return err == CL_SUCCESS ? clFinish(queue) : err;
}

/* The eviction buffer, filled once (bench_fill_distinct), and the kernel
 * that reads it. */
static int evict_setup(bench_timer *t, clq_context *ctx)
{
    cl_context cl = clq_context_cl_context(ctx);
    cl_device_id dev = clq_context_cl_device(ctx);
    size_t bytes = bench_cache_multiple_bytes(dev, BENCH_EVICT_MULTIPLE);
    cl_int err;
    t->evict = clCreateBuffer(cl, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        t->evict = NULL;
        return -1;
    }
    t->evict_bytes = bytes;
    err = bench_fill_distinct(t->queue, t->evict, bytes);
    if (err == CL_SUCCESS)
        err = build_kernel(cl, dev, EVICT_SOURCE, "bench_evict", &t->evict_program, &t->evict_kernel,
                           &t->evict_sink);
    cl_device_type type = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    cl_uint units = 1, chunked = (type & CL_DEVICE_TYPE_CPU) != 0;
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    t->evict_items = units * 1024 < 4096 ? 4096 : units * 1024;
    cl_ulong n = bytes / 16;
    if (err == CL_SUCCESS)
        err = clSetKernelArg(t->evict_kernel, 0, sizeof t->evict, &t->evict);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(t->evict_kernel, 1, sizeof n, &n);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(t->evict_kernel, 2, sizeof chunked, &chunked);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(t->evict_kernel, 3, sizeof t->evict_sink, &t->evict_sink);
    return err == CL_SUCCESS ? 0 : -1;
}

int bench_timer_init(bench_timer *t, clq_context *ctx, double target_seconds, bool with_evict)
{
    *t = (bench_timer){0};
    t->queue = clq_context_cl_queue(ctx);
    t->target_seconds = target_seconds;
    t->warmup = 2;
    t->min_reps = 5;
    t->max_reps = 200;
    if (!with_evict)
        return 0;
    /* The first read also brings the kernel in; time the second. */
    if (evict_setup(t, ctx) != 0 || evict(t) != 0)
        return -1;
    double start = bench_now_us();
    int status = evict(t);
    t->evict_us = bench_now_us() - start;
    return status;
}

void bench_timer_release(bench_timer *t)
{
    if (t->evict)
        clReleaseMemObject(t->evict);
    t->evict = NULL;
    release_kernel(&t->evict_program, &t->evict_kernel, &t->evict_sink);
    release_kernel(&t->spacer_program, &t->spacer, &t->spacer_sink);
}

/* The work a --queued run waits behind: a chain of multiply-adds in
 * registers on one work-item. It reads and writes no memory (the sink is
 * never written: v stays positive), so it leaves the caches as the
 * eviction left them; and on a CPU device it leaves the other cores to the
 * host thread that enqueues the run meanwhile. */
static const char *const SPACER_SOURCE = "kernel void bench_spacer(uint iterations, global float *sink)\n"
                                         "{\n"
                                         "    float v = (float)get_global_id(0);\n"
                                         "    for (uint i = 0; i < iterations; i++)\n"
                                         "        v = mad(v, 0.5f, 1.0f);\n"
                                         "    if (v < 0.0f)\n"
                                         "        sink[0] = v;\n"
                                         "}\n";
static const size_t SPACER_ITEMS = 1;

static int enqueue_spacer(const bench_timer *t, cl_uint iterations, cl_event *done)
{
    if (clSetKernelArg(t->spacer, 0, sizeof iterations, &iterations) != CL_SUCCESS ||
        clEnqueueNDRangeKernel(t->queue, t->spacer, 1, NULL, &SPACER_ITEMS, NULL, 0, NULL, done) !=
            CL_SUCCESS)
        return -1;
    return 0;
}

/* Device microseconds of one spacer of `iterations`, or -1. */
static double time_spacer(bench_timer *t, cl_uint iterations)
{
    cl_event done = NULL;
    if (enqueue_spacer(t, iterations, &done) != 0)
        return -1.0;
    cl_ulong s = 0, e = 0;
    if (clWaitForEvents(1, &done) != CL_SUCCESS ||
        clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_START, sizeof s, &s, NULL) != CL_SUCCESS ||
        clGetEventProfilingInfo(done, CL_PROFILING_COMMAND_END, sizeof e, &e, NULL) != CL_SUCCESS)
        e = s = 0;
    clReleaseEvent(done);
    return e > s ? (double)(e - s) / 1e3 : -1.0;
}

int bench_timer_queue(bench_timer *t, clq_context *ctx, double us, char *why, size_t why_len)
{
    cl_context cl = clq_context_cl_context(ctx);
    cl_device_id dev = clq_context_cl_device(ctx);
    cl_int err =
        build_kernel(cl, dev, SPACER_SOURCE, "bench_spacer", &t->spacer_program, &t->spacer, &t->spacer_sink);
    if (err == CL_SUCCESS)
        err = clSetKernelArg(t->spacer, 1, sizeof t->spacer_sink, &t->spacer_sink);
    if (err != CL_SUCCESS) {
        snprintf(why, why_len, "the --queued spacer kernel: OpenCL error %d", (int)err);
        return -1;
    }
    /* Scale a short spin to `us` (the loop is one dependent chain, so its
     * time is linear in its length), then time what it gives. */
    cl_uint probe = 1u << 16, iterations = probe;
    double probe_us = time_spacer(t, probe);
    if (probe_us > 0) {
        double want = probe * (us / probe_us);
        iterations = want >= 4e9 ? 4000000000u : want < 1 ? 1u : (cl_uint)want;
    }
    t->spacer_us = probe_us > 0 ? time_spacer(t, iterations) : -1.0;
    if (t->spacer_us <= 0) {
        snprintf(why, why_len, "the --queued spacer kernel could not be timed");
        return -1;
    }
    t->queued = true; /* the spacer's argument stays at `iterations` from its timing */
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed run: evict, then run; device and wall microseconds. The run
 * is enqueued once the eviction is done, on an idle queue, so device time
 * includes any wait for the host to enqueue its second and later commands
 * (on a CPU device the host competes with the device's threads for the
 * cores). `queued` puts the spacer between the eviction and the run: the
 * run's commands are in the queue when it ends, as in an application that
 * queues its work ahead, and device time runs from its end; wall time then
 * includes the spacer. */
static int one_run(const bench_timer *t, bench_run_fn run, void *user, double *device_us, double *wall_us,
                   double *enqueue_us)
{
    if (t->evict && evict(t) != 0)
        return -1;
    cl_event first = NULL, last = NULL;
    double start = bench_now_us();
    cl_int err =
        t->queued ? clEnqueueNDRangeKernel(t->queue, t->spacer, 1, NULL, &SPACER_ITEMS, NULL, 0, NULL, &first)
                  : clEnqueueMarkerWithWaitList(t->queue, 0, NULL, &first);
    if (err != CL_SUCCESS)
        return -1;
    int status = run(user, t->queue, &last) != 0 ? -1 : 0;
    *enqueue_us = bench_now_us() - start;
    if (status == 0 && clFinish(t->queue) != CL_SUCCESS)
        status = -1;
    *wall_us = bench_now_us() - start;
    *device_us = *wall_us;
    cl_ulong s = 0, e = 0;
    if (status == 0 && last &&
        clGetEventProfilingInfo(first, CL_PROFILING_COMMAND_END, sizeof s, &s, NULL) == CL_SUCCESS &&
        clGetEventProfilingInfo(last, CL_PROFILING_COMMAND_END, sizeof e, &e, NULL) == CL_SUCCESS && e > s)
        *device_us = (double)(e - s) / 1e3;
    clReleaseEvent(first);
    if (last)
        clReleaseEvent(last);
    return status;
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int samples_reserve(bench_samples *s, int more)
{
    if (s->count + more <= s->capacity)
        return 0;
    int cap = s->count + more > 2 * s->capacity ? s->count + more : 2 * s->capacity;
    double *d = realloc(s->device_us, cap * sizeof *d);
    if (d)
        s->device_us = d;
    double *w = d ? realloc(s->wall_us, cap * sizeof *w) : NULL;
    if (w)
        s->wall_us = w;
    if (!d || !w)
        return -1;
    s->capacity = cap;
    return 0;
}

int bench_sample(const bench_timer *t, bench_run_fn run, void *user, bench_samples *s)
{
    double begin = bench_now_us(), dev = 0, wall = 0, enqueue = 0, slowest_enqueue = 0;
    for (int i = 0; i < (t->warmup > 0 ? t->warmup : 1); i++)
        if (one_run(t, run, user, &dev, &wall, &enqueue) != 0)
            return -1;
    int reps = dev > 0 ? (int)(t->target_seconds * 1e6 / dev) : t->max_reps;
    reps = reps < t->min_reps ? t->min_reps : reps > t->max_reps ? t->max_reps : reps;
    if (samples_reserve(s, reps) != 0)
        return -1;
    for (int i = 0; i < reps; i++, s->count++) {
        if (one_run(t, run, user, &s->device_us[s->count], &s->wall_us[s->count], &enqueue) != 0)
            return -1;
        slowest_enqueue = enqueue > slowest_enqueue ? enqueue : slowest_enqueue;
    }
    static bool warned; /* once per process: the figures stay honest, only less queued */
    if (t->queued && slowest_enqueue > t->spacer_us && !warned) {
        warned = true;
        fprintf(stderr,
                "clq bench: --queued: a run took %.0f us to enqueue, longer than the %.0f us spacer; its "
                "device time includes the host's enqueueing\n",
                slowest_enqueue, t->spacer_us);
    }
    s->spent_s += (bench_now_us() - begin) / 1e6;
    return 0;
}

double bench_samples_median_from(bench_samples *s, int from)
{
    int n = s->count - from;
    if (n <= 0)
        return 0;
    return bench_median(s->device_us + from, n);
}

void bench_samples_stats(const bench_samples *s, bench_stats *out)
{
    int n = s->count;
    double *d = s->device_us, *w = s->wall_us;
    out->median_us = bench_median(d, n); /* sorted now */
    out->min_us = d[0];
    out->max_us = d[n - 1];
    out->wall_median_us = bench_median(w, n);
    out->wall_min_us = w[0];
    out->wall_max_us = w[n - 1];
    out->reps = n;
    out->spent_s = s->spent_s;
}

void bench_samples_free(bench_samples *s)
{
    free(s->device_us);
    free(s->wall_us);
    *s = (bench_samples){0};
}

int bench_measure(const bench_timer *t, bench_run_fn run, void *user, bench_stats *out)
{
    bench_samples s = {0};
    int status = bench_sample(t, run, user, &s);
    if (status == 0)
        bench_samples_stats(&s, out);
    bench_samples_free(&s);
    return status;
}

/* Timing for the benchmark (see measure.h). */
#define _POSIX_C_SOURCE 200809L
#include "measure.h"

#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int bench_timer_init(bench_timer *t, clq_context *ctx, double target_seconds, bool evict)
{
    t->queue = clq_context_cl_queue(ctx);
    t->evict = NULL;
    t->evict_bytes = 0;
    t->target_seconds = target_seconds;
    t->min_reps = 5;
    t->max_reps = 200;
    if (!evict)
        return 0;
    cl_ulong cache = 0, mem = 0;
    cl_device_id dev = clq_context_cl_device(ctx);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache, &cache, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    size_t bytes = (size_t)(2 * cache);
    if (bytes > mem / 4)
        bytes = (size_t)(mem / 4);
    if (bytes == 0)
        return 0;
    cl_int err;
    t->evict = clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE, bytes, NULL, &err);
    t->evict_bytes = err == CL_SUCCESS ? bytes : 0;
    return err == CL_SUCCESS ? 0 : -1;
}

void bench_timer_release(bench_timer *t)
{
    if (t->evict)
        clReleaseMemObject(t->evict);
    t->evict = NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One timed run: evict, then run; device and wall microseconds. */
static int one_run(const bench_timer *t, bench_run_fn run, void *user, double *device_us, double *wall_us)
{
    if (t->evict) {
        cl_uint pattern = 0x5a5a5a5a;
        if (clEnqueueFillBuffer(t->queue, t->evict, &pattern, sizeof pattern, 0, t->evict_bytes, 0, NULL, NULL) !=
                CL_SUCCESS ||
            clFinish(t->queue) != CL_SUCCESS)
            return -1;
    }
    cl_event first = NULL, last = NULL;
    double start = now_us();
    if (clEnqueueMarkerWithWaitList(t->queue, 0, NULL, &first) != CL_SUCCESS)
        return -1;
    int status = run(user, t->queue, &last) != 0 || clFinish(t->queue) != CL_SUCCESS ? -1 : 0;
    *wall_us = now_us() - start;
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

int bench_measure(const bench_timer *t, bench_run_fn run, void *user, bench_stats *out)
{
    double dev = 0, wall = 0;
    for (int i = 0; i < 2; i++)
        if (one_run(t, run, user, &dev, &wall) != 0)
            return -1;
    int reps = dev > 0 ? (int)(t->target_seconds * 1e6 / dev) : t->max_reps;
    reps = reps < t->min_reps ? t->min_reps : reps > t->max_reps ? t->max_reps : reps;
    double *d = malloc(reps * sizeof *d), *w = malloc(reps * sizeof *w);
    if (!d || !w) {
        free(d);
        free(w);
        return -1;
    }
    int status = 0;
    for (int i = 0; i < reps && status == 0; i++)
        status = one_run(t, run, user, &d[i], &w[i]);
    if (status == 0) {
        qsort(d, reps, sizeof *d, cmp_double);
        qsort(w, reps, sizeof *w, cmp_double);
        out->median_us = reps % 2 ? d[reps / 2] : 0.5 * (d[reps / 2 - 1] + d[reps / 2]);
        out->wall_median_us = reps % 2 ? w[reps / 2] : 0.5 * (w[reps / 2 - 1] + w[reps / 2]);
        out->min_us = d[0];
        out->max_us = d[reps - 1];
        out->reps = reps;
    }
    free(d);
    free(w);
    return status;
}

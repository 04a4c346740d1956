/* Timing for the benchmark (see measure.h). */
#define _POSIX_C_SOURCE 200809L
#include "measure.h"

#include <stdlib.h>
#include <time.h>

double bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

size_t bench_evict_bytes(cl_device_id dev)
{
    cl_ulong cache = 0, mem = 0, max_alloc = 0;
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache, &cache, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    cl_ulong bytes = cache ? 2 * cache : (cl_ulong)256 << 20;
    if (mem && bytes > mem / 4)
        bytes = mem / 4;
    if (max_alloc && bytes > max_alloc)
        bytes = max_alloc;
    return (size_t)(bytes & ~(cl_ulong)4095);
}

/* Writes the eviction buffer; `wait`: until it is written. */
static int evict(const bench_timer *t, bool wait)
{
    cl_uint pattern = 0x5a5a5a5a;
    if (clEnqueueFillBuffer(t->queue, t->evict, &pattern, sizeof pattern, 0, t->evict_bytes, 0, NULL, NULL) !=
        CL_SUCCESS)
        return -1;
    return !wait || clFinish(t->queue) == CL_SUCCESS ? 0 : -1;
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
    size_t bytes = bench_evict_bytes(clq_context_cl_device(ctx));
    cl_int err;
    t->evict = clCreateBuffer(clq_context_cl_context(ctx), CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        t->evict = NULL;
        return -1;
    }
    t->evict_bytes = bytes;
    /* The first fill also maps the pages in; time the second. */
    if (evict(t, true) != 0)
        return -1;
    double start = bench_now_us();
    int status = evict(t, true);
    t->evict_us = bench_now_us() - start;
    return status;
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

/* One timed run: evict, then run; device and wall microseconds. The run
 * is enqueued once the eviction is done, on an idle queue, so device time
 * includes any wait for the host to enqueue its second and later commands
 * (on a CPU device the host competes with the device's threads for the
 * cores); `queued` enqueues it behind the eviction instead, as an
 * application queues work behind earlier work, and wall time then includes
 * the end of the eviction. */
static int one_run(const bench_timer *t, bench_run_fn run, void *user, double *device_us, double *wall_us)
{
    if (t->evict && evict(t, !t->queued) != 0)
        return -1;
    cl_event first = NULL, last = NULL;
    double start = bench_now_us();
    if (clEnqueueMarkerWithWaitList(t->queue, 0, NULL, &first) != CL_SUCCESS)
        return -1;
    int status = run(user, t->queue, &last) != 0 || clFinish(t->queue) != CL_SUCCESS ? -1 : 0;
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

static double median_sorted(const double *v, int n)
{
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
    double begin = bench_now_us(), dev = 0, wall = 0;
    for (int i = 0; i < (t->warmup > 0 ? t->warmup : 1); i++)
        if (one_run(t, run, user, &dev, &wall) != 0)
            return -1;
    int reps = dev > 0 ? (int)(t->target_seconds * 1e6 / dev) : t->max_reps;
    reps = reps < t->min_reps ? t->min_reps : reps > t->max_reps ? t->max_reps : reps;
    if (samples_reserve(s, reps) != 0)
        return -1;
    for (int i = 0; i < reps; i++, s->count++)
        if (one_run(t, run, user, &s->device_us[s->count], &s->wall_us[s->count]) != 0)
            return -1;
    s->spent_s += (bench_now_us() - begin) / 1e6;
    return 0;
}

void bench_samples_stats(const bench_samples *s, bench_stats *out)
{
    int n = s->count;
    double *d = s->device_us, *w = s->wall_us;
    qsort(d, n, sizeof *d, cmp_double);
    qsort(w, n, sizeof *w, cmp_double);
    out->median_us = median_sorted(d, n);
    out->min_us = d[0];
    out->max_us = d[n - 1];
    out->wall_median_us = median_sorted(w, n);
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

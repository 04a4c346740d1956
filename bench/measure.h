/* Timing for the benchmark: warm-up, repetitions calibrated to a target
 * time, device time from profiling events, wall time beside it, medians. */
#ifndef CLQ_BENCH_MEASURE_H
#define CLQ_BENCH_MEASURE_H

#include <stdbool.h>
#include <stddef.h>

#include "clq.h"

/* Enqueues one run of the operation on `queue`; returns 0 on success and the
 * events of its last command in *last (or NULL: then only wall time is
 * measured). Device time runs from the end of `first` (a marker the timer
 * enqueues just before, or with `queued` the spacer) to the end of *last,
 * so an operation of several kernels is timed whole. */
typedef int (*bench_run_fn)(void *user, cl_command_queue queue, cl_event *last);

typedef struct bench_stats {
    double median_us, min_us, max_us; /* device time per run (wall time if no event) */
    double wall_median_us;            /* enqueue to completion, as the host sees it */
    double wall_min_us, wall_max_us;
    int reps;
    double spent_s; /* wall time the whole measurement took, eviction and warm-up included */
} bench_stats;

typedef struct bench_timer {
    cl_command_queue queue; /* must have CL_QUEUE_PROFILING_ENABLE */
    cl_mem evict;           /* read before each run so weights are not cache-hot; may be NULL */
    size_t evict_bytes;
    cl_program evict_program;
    cl_kernel evict_kernel; /* reads `evict` */
    size_t evict_items;
    cl_mem evict_sink;
    double evict_us; /* what one eviction costs (not counted in any result) */
    bool queued;     /* runs are enqueued behind the spacer, not on an idle queue */
    cl_program spacer_program;
    cl_kernel spacer; /* --queued: spins in registers for about spacer_us */
    cl_mem spacer_sink;
    double spacer_us;
    double target_seconds; /* device time to spend per measurement */
    int warmup;            /* untimed runs first: program loads, page faults, CLBlast's compiles */
    int min_reps, max_reps;
} bench_timer;

/* `multiple` times a device's last-level cache (CL_DEVICE_GLOBAL_MEM_CACHE_SIZE;
 * 128 MiB if it reports none), capped at a quarter of its memory and at its
 * largest allocation: the eviction buffer is BENCH_EVICT_MULTIPLE times
 * the cache. */
#define BENCH_EVICT_MULTIPLE 2u
size_t bench_cache_multiple_bytes(cl_device_id device, unsigned multiple);

/* Fills a buffer that a probe or the eviction reads with small positive
 * floats that differ from page to page (and within each), and waits until
 * it is written. A buffer of one repeated value is a buffer of identical
 * pages, which a hypervisor may merge into one: on a KVM/Firecracker guest
 * (AMD EPYC Zen 5) a 2 GiB read of memset pages rose from 44 to 72 GB/s
 * within seconds, the same read of distinct pages stayed at 34-40, and the
 * bench's read probe and host probe, over a filled buffer, read up to
 * 55.6 and 223 GB/s. Returns a CL error code. */
cl_int bench_fill_distinct(cl_command_queue queue, cl_mem buffer, size_t bytes);

/* Sets up a timer on a profiling queue with 2 warm-up runs and 5..200
 * repetitions; with `evict`, allocates the eviction buffer (and times one
 * eviction). Returns 0, or -1 if the buffer cannot be allocated. */
int bench_timer_init(bench_timer *t, clq_context *ctx, double target_seconds, bool evict);
void bench_timer_release(bench_timer *t);

/* The spacer of clq bench --queued: longer than the host takes to enqueue
 * any run (a fused matmul takes 20-100 us on PoCL). */
#define BENCH_SPACER_US 2000.0

/* Queues every later run behind a kernel that keeps the device busy for
 * about `us` microseconds after the eviction (clq bench --queued): the run's
 * commands then wait in the queue, as an application's do behind earlier
 * work, and its device time runs from the spacer's end. Builds and
 * calibrates the spacer; returns 0, or -1 (why in `why`). */
int bench_timer_queue(bench_timer *t, clq_context *ctx, double us, char *why, size_t why_len);

/* Warm-up runs, then reps calibrated from the last warm-up so that their
 * device time adds up to the target. Returns 0 or -1 (a run failed). */
int bench_measure(const bench_timer *t, bench_run_fn run, void *user, bench_stats *out);

/* The runs of one measurement taken in several sittings (clq bench
 * --rounds), pooled: device and wall microseconds per run. */
typedef struct bench_samples {
    double *device_us, *wall_us;
    int count, capacity;
    double spent_s;
} bench_samples;

/* One sitting: t's warm-up runs, then reps calibrated to t's target, each
 * run's times appended to s. Returns 0 or -1 (a run failed, or no memory). */
int bench_sample(const bench_timer *t, bench_run_fn run, void *user, bench_samples *s);

/* The median of v[0..n-1] (n > 0); sorts v in place. */
double bench_median(double *v, int n);

/* The median device time of runs from .. s->count-1 (one sitting's, when
 * `from` is the count before it); sorts them in place. 0 if none. */
double bench_samples_median_from(bench_samples *s, int from);

/* Median, min and max of the pooled runs (s->count > 0); sorts them in place. */
void bench_samples_stats(const bench_samples *s, bench_stats *out);
void bench_samples_free(bench_samples *s);

/* Monotonic wall clock in microseconds. */
double bench_now_us(void);

#endif

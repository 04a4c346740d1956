/* The host's own figures from C (see host_probe.h). */
#define _GNU_SOURCE /* sched_getaffinity */
#include "host_probe.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define HOST_X86 1
#include <immintrin.h>
#endif

#define MAX_THREADS 256
#define PASSES 3

int bench_host_threads(void)
{
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set) < MAX_THREADS ? CPU_COUNT(&set) : MAX_THREADS;
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n < MAX_THREADS ? (int)n : MAX_THREADS;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the loops ------------------------------------------------------------------ */

/* Each returns a value derived from all it computed, which the caller
 * stores, so that nothing can be dropped. The read loops keep four
 * accumulators so that the adds never wait on one another; a 64-byte line
 * per load or two is far faster than memory. The FMA loops keep 12
 * independent chains: enough to cover 2 FMA units of 4-5 cycles' latency
 * and still fit in 16 registers. x -> x·a + b with a < 1 stays finite.
 * Each chain starts from a value of its own: chains that start equal are
 * one value to the compiler, which then keeps a single chain (GCC 12 at -O2
 * ran one FMA an iteration where twelve were counted). */

#define FMA_CHAINS 12
#define FMA_A 0.999f
#define FMA_B 0.001f
#define FMA_START(chain) (0.5f + (chain)*0.0625f)
/* The FMA_CHAINS chains x0..x11 (with a and b) of an FMA loop. */
#define FMA12_INIT(set1)                                                                                     \
    x0 = set1(FMA_START(0)), x1 = set1(FMA_START(1)), x2 = set1(FMA_START(2)), x3 = set1(FMA_START(3)),      \
    x4 = set1(FMA_START(4)), x5 = set1(FMA_START(5)), x6 = set1(FMA_START(6)), x7 = set1(FMA_START(7)),      \
    x8 = set1(FMA_START(8)), x9 = set1(FMA_START(9)), x10 = set1(FMA_START(10)), x11 = set1(FMA_START(11))
#define FMA12_STEP(fmadd)                                                                                    \
    x0 = fmadd(x0, a, b);                                                                                    \
    x1 = fmadd(x1, a, b);                                                                                    \
    x2 = fmadd(x2, a, b);                                                                                    \
    x3 = fmadd(x3, a, b);                                                                                    \
    x4 = fmadd(x4, a, b);                                                                                    \
    x5 = fmadd(x5, a, b);                                                                                    \
    x6 = fmadd(x6, a, b);                                                                                    \
    x7 = fmadd(x7, a, b);                                                                                    \
    x8 = fmadd(x8, a, b);                                                                                    \
    x9 = fmadd(x9, a, b);                                                                                    \
    x10 = fmadd(x10, a, b);                                                                                  \
    x11 = fmadd(x11, a, b);
#define FMA12_SUM(add)                                                                                       \
    add(add(add(add(x0, x1), add(x2, x3)), add(add(x4, x5), add(x6, x7))), add(add(x8, x9), add(x10, x11)))

#ifdef HOST_X86
/* The read and FMA loops of one x86 vector ISA, written once: V is its
 * vector type, mm the prefix of its intrinsics, sum a V's horizontal sum;
 * each loop is compiled for the features named (and run only where the CPU
 * has them: pick_isa). */
#define X86_LOOPS(isa, read_features, fma_features, V, mm, sum)                                              \
    __attribute__((target(read_features))) static double read_##isa(const char *p, size_t bytes)             \
    {                                                                                                        \
        V a0 = mm##_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                                                 \
        for (size_t i = 0; i + 4 * sizeof(V) <= bytes; i += 4 * sizeof(V)) {                                 \
            a0 = mm##_add_ps(a0, mm##_loadu_ps((const float *)(p + i)));                                     \
            a1 = mm##_add_ps(a1, mm##_loadu_ps((const float *)(p + i + sizeof(V))));                         \
            a2 = mm##_add_ps(a2, mm##_loadu_ps((const float *)(p + i + 2 * sizeof(V))));                     \
            a3 = mm##_add_ps(a3, mm##_loadu_ps((const float *)(p + i + 3 * sizeof(V))));                     \
        }                                                                                                    \
        return sum(mm##_add_ps(mm##_add_ps(a0, a1), mm##_add_ps(a2, a3)));                                   \
    }                                                                                                        \
    __attribute__((target(fma_features))) static double fma_##isa(long iterations)                           \
    {                                                                                                        \
        V a = mm##_set1_ps(FMA_A), b = mm##_set1_ps(FMA_B), FMA12_INIT(mm##_set1_ps);                        \
        for (long n = 0; n < iterations; n++) {                                                              \
            FMA12_STEP(mm##_fmadd_ps)                                                                        \
        }                                                                                                    \
        return sum(FMA12_SUM(mm##_add_ps));                                                                  \
    }

__attribute__((target("avx2"))) static double sum_avx2(__m256 s)
{
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    return (double)lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

X86_LOOPS(avx512, "avx512f", "avx512f", __m512, _mm512, _mm512_reduce_add_ps)
X86_LOOPS(avx2, "avx2", "avx2,fma", __m256, _mm256, sum_avx2)
#endif

/* Plain C for other CPUs: 64-bit integer sums (which a compiler may
 * vectorize freely), and chains of 8 floats that it may turn into SIMD
 * multiply-adds where the target has them. */
static double read_c(const char *p, size_t bytes)
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, w[4];
    for (size_t i = 0; i + sizeof w <= bytes; i += sizeof w) {
        memcpy(w, p + i, sizeof w);
        a0 += w[0];
        a1 += w[1];
        a2 += w[2];
        a3 += w[3];
    }
    return (double)(a0 + a1 + a2 + a3);
}

#define C_LANES 8
static double fma_c(long iterations)
{
    float x[FMA_CHAINS][C_LANES];
    for (int c = 0; c < FMA_CHAINS; c++)
        for (int l = 0; l < C_LANES; l++)
            x[c][l] = FMA_START(c) + l * 0.00390625f;
    for (long n = 0; n < iterations; n++)
        for (int c = 0; c < FMA_CHAINS; c++)
            for (int l = 0; l < C_LANES; l++)
                x[c][l] = x[c][l] * FMA_A + FMA_B;
    double s = 0;
    for (int c = 0; c < FMA_CHAINS; c++)
        for (int l = 0; l < C_LANES; l++)
            s += x[c][l];
    return s;
}

/* ---- threads -------------------------------------------------------------------- */

typedef enum job_kind { JOB_READ, JOB_FMA } job_kind;

typedef struct host_job {
    job_kind kind;
    int use; /* 2: AVX-512, 1: AVX2 (+FMA), 0: C */
    const char *buf;
    size_t bytes;
    long iterations;
    int threads, passes;
    /* The workers wait at the gate until every one has started (go = 1)
     * or one could not be (go = -1); the barriers then bound each pass. */
    pthread_mutex_t lock;
    pthread_cond_t opened;
    int go;
    pthread_barrier_t start, stop;
    double results[MAX_THREADS];
} host_job;

typedef struct host_worker {
    host_job *job;
    int id;
} host_worker;

static double run_loop(const host_job *job, int id)
{
    if (job->kind == JOB_FMA) {
#ifdef HOST_X86
        if (job->use == 2)
            return fma_avx512(job->iterations);
        if (job->use == 1)
            return fma_avx2(job->iterations);
#endif
        return fma_c(job->iterations);
    }
    /* Each thread's share is a whole number of 256-byte steps; the last
     * takes what is left. */
    size_t share = job->bytes / job->threads & ~(size_t)255, begin = (size_t)id * share;
    size_t len = id + 1 == job->threads ? job->bytes - begin : share;
#ifdef HOST_X86
    if (job->use == 2)
        return read_avx512(job->buf + begin, len);
    if (job->use == 1)
        return read_avx2(job->buf + begin, len);
#endif
    return read_c(job->buf + begin, len);
}

static void *worker(void *arg)
{
    host_worker *w = arg;
    host_job *job = w->job;
    pthread_mutex_lock(&job->lock);
    while (job->go == 0)
        pthread_cond_wait(&job->opened, &job->lock);
    int go = job->go;
    pthread_mutex_unlock(&job->lock);
    for (int p = 0; go > 0 && p < job->passes; p++) {
        pthread_barrier_wait(&job->start);
        job->results[w->id] += run_loop(job, w->id);
        pthread_barrier_wait(&job->stop);
    }
    return NULL;
}

static void open_gate(host_job *job, int go)
{
    pthread_mutex_lock(&job->lock);
    job->go = go;
    pthread_cond_broadcast(&job->opened);
    pthread_mutex_unlock(&job->lock);
}

/* Runs job->passes passes on job->threads threads, timing each from the
 * moment all are released to the moment the last is done: seconds[p].
 * Returns 0, or -1 if the threads could not be started. */
static int run_passes(host_job *job, double *seconds)
{
    pthread_t th[MAX_THREADS];
    host_worker w[MAX_THREADS];
    int started = 0, status = -1;
    job->go = 0;
    if (pthread_mutex_init(&job->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&job->opened, NULL) != 0)
        goto no_cond;
    if (pthread_barrier_init(&job->start, NULL, job->threads + 1) != 0)
        goto no_start;
    if (pthread_barrier_init(&job->stop, NULL, job->threads + 1) != 0)
        goto no_stop;
    for (; started < job->threads; started++) {
        w[started] = (host_worker){job, started};
        if (pthread_create(&th[started], NULL, worker, &w[started]) != 0)
            break;
    }
    if (started == job->threads) {
        open_gate(job, 1);
        for (int p = 0; p < job->passes; p++) {
            pthread_barrier_wait(&job->start);
            double t0 = now_s();
            pthread_barrier_wait(&job->stop);
            seconds[p] = now_s() - t0;
        }
        status = 0;
    } else {
        open_gate(job, -1);
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&job->stop);
no_stop:
    pthread_barrier_destroy(&job->start);
no_start:
    pthread_cond_destroy(&job->opened);
no_cond:
    pthread_mutex_destroy(&job->lock);
    return status;
}

static double median_pass(double *v)
{
    for (int i = 0; i < PASSES; i++)
        for (int j = i + 1; j < PASSES; j++)
            if (v[j] < v[i]) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
    return v[PASSES / 2];
}

static int pick_isa(job_kind kind, const char **isa)
{
#ifdef HOST_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *isa = "AVX-512";
        return 2;
    }
    if (__builtin_cpu_supports("avx2") && (kind == JOB_READ || __builtin_cpu_supports("fma"))) {
        *isa = kind == JOB_READ ? "AVX2" : "AVX2+FMA";
        return 1;
    }
#else
    (void)kind;
#endif
    *isa = "C";
    return 0;
}

double bench_host_read_gbps(const void *buf, size_t bytes, int threads, const char **isa)
{
    host_job *job = calloc(1, sizeof *job);
    if (!job)
        return 0;
    job->kind = JOB_READ;
    job->use = pick_isa(JOB_READ, isa);
    job->buf = buf;
    job->bytes = bytes;
    job->threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    job->passes = PASSES;
    double seconds[PASSES];
    double gbps = run_passes(job, seconds) == 0 ? (double)bytes / median_pass(seconds) / 1e9 : 0;
    free(job);
    return gbps;
}

/* Long enough that starting the threads and the scheduler's jitter are
 * small beside it; short enough that the probe costs well under a second. */
#define FMA_PASS_SECONDS 0.02

double bench_host_fma_gflops(int threads, const char **isa)
{
    host_job *job = calloc(1, sizeof *job);
    if (!job)
        return 0;
    job->kind = JOB_FMA;
    job->use = pick_isa(JOB_FMA, isa);
    job->threads = threads < 1 ? 1 : threads > MAX_THREADS ? MAX_THREADS : threads;
    double lanes = job->use == 2 ? 16 : job->use == 1 ? 8 : C_LANES, seconds[PASSES], gflops = 0;
    /* Calibrate: grow one pass until it takes a tenth of the target, then
     * scale the iterations to the target. */
    job->iterations = 1 << 12;
    job->passes = 1;
    int status = 0;
    while ((status = run_passes(job, seconds)) == 0 && seconds[0] < FMA_PASS_SECONDS / 10 &&
           job->iterations < (1L << 30))
        job->iterations *= 4;
    if (status == 0) {
        double scale = seconds[0] > 0 ? FMA_PASS_SECONDS / seconds[0] : 1;
        job->iterations = (long)(job->iterations * (scale > 1 ? scale : 1));
        job->passes = PASSES;
        status = run_passes(job, seconds);
    }
    if (status == 0)
        gflops =
            2.0 * FMA_CHAINS * lanes * (double)job->iterations * job->threads / median_pass(seconds) / 1e9;
    free(job);
    return gflops;
}

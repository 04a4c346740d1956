/* Records and their columns (see record.h). */
#include "record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void bench_record_weight(const bench_record *r, char *buf, size_t len)
{
    if (r->block)
        snprintf(buf, len, "%s%s/%u", r->format, r->double_quant ? "-dq" : "", r->block);
    else
        snprintf(buf, len, "%s", r->format);
}

void bench_record_derive(bench_record *r)
{
    double s = r->stats.median_us * 1e-6;
    const bench_roofline *roof = &r->device->roof;
    r->gbps = s > 0 ? r->bytes / s / 1e9 : 0;
    r->gflops = s > 0 ? r->flops / s / 1e9 : 0;
    r->bound_us =
        1e6 * bench_roofline_bound_s(r->bytes, r->flops, roof->read_gbps * 1e9, roof->fma_gflops * 1e9);
    r->roofline_fraction = r->stats.median_us > 0 ? r->bound_us / r->stats.median_us : 0;
}

int bench_results_push(bench_results *res, const bench_record *r)
{
    if (res->count == res->capacity) {
        size_t cap = res->capacity ? 2 * res->capacity : 64;
        bench_record *items = realloc(res->items, cap * sizeof *items);
        if (!items)
            return -1;
        res->items = items;
        res->capacity = cap;
    }
    res->items[res->count++] = *r;
    return 0;
}

void bench_results_free(bench_results *res)
{
    free(res->items);
    *res = (bench_results){0};
}

/* ---- columns ------------------------------------------------------------------- */

static bench_value text(const char *s)
{
    return (bench_value){BENCH_FIELD_TEXT, s ? s : "", 0, 0};
}
static bench_value integer(long long v)
{
    return (bench_value){BENCH_FIELD_INT, NULL, v, 0};
}
static bench_value real(double v)
{
    return (bench_value){BENCH_FIELD_REAL, NULL, 0, v};
}
static bench_value real_or_none(double v)
{
    return (bench_value){isnan(v) ? BENCH_FIELD_NONE : BENCH_FIELD_REAL, NULL, 0, v};
}

/* A figure that is 0 where it was not measured (the host's, off CPU devices). */
static bench_value measured(double v)
{
    return (bench_value){v > 0 ? BENCH_FIELD_REAL : BENCH_FIELD_NONE, NULL, 0, v};
}

/* Every column once: its name and how to read it from record r (device d).
 * The CSV header, the JSON keys and the values all come from this list. */
// clang-format off
#define BENCH_FIELDS(X)                                             \
    X(device,             text(d->name))                            \
    X(platform,           text(d->platform))                        \
    X(driver_version,     text(d->driver))                          \
    X(clq_version,        text(clq_version_string()))               \
    X(device_selector,    text(d->selector))                        \
    X(op,                 text(bench_op_name(r->op)))               \
    X(impl,               text(r->impl))                            \
    X(path,               text(r->path))                            \
    X(format,             text(r->format))                          \
    X(block,              integer(r->block))                        \
    X(double_quant,       integer(r->double_quant))                 \
    X(shape,              text(r->shape))                           \
    X(n,                  integer((long long)r->n))                 \
    X(k,                  integer((long long)r->k))                 \
    X(m,                  integer((long long)r->m))                 \
    X(rank,               integer(r->rank))                         \
    X(adapters,           integer(r->adapters))                     \
    X(lora_dtype,         text(r->lora_dtype))                      \
    X(evicted,            integer(r->evicted))                      \
    X(queued,             integer(r->queued))                       \
    X(target_s,           real(r->target_s))                        \
    X(rounds,             integer(r->rounds))                       \
    X(reps,               integer(r->stats.reps))                   \
    X(median_us,          real(r->stats.median_us))                 \
    X(min_us,             real(r->stats.min_us))                    \
    X(max_us,             real(r->stats.max_us))                    \
    X(wall_median_us,     real(r->stats.wall_median_us))            \
    X(wall_min_us,        real(r->stats.wall_min_us))               \
    X(wall_max_us,        real(r->stats.wall_max_us))               \
    X(bytes,              real(r->bytes))                           \
    X(flops,              real(r->flops))                           \
    X(gbps,               real(r->gbps))                            \
    X(gflops,             real(r->gflops))                          \
    X(roofline_bound_us,  real(r->bound_us))                        \
    X(roofline_fraction,  real(r->roofline_fraction))               \
    X(lora_overhead,      real_or_none(r->lora_overhead))           \
    X(peak_read_gbps,     real(d->roof.read_gbps))                  \
    X(peak_fma_gflops,    real(d->roof.fma_gflops))                 \
    X(peak_read_kernel,   text(d->roof.read_kernel))                \
    X(peak_fma_kernel,    text(d->roof.fma_kernel))                 \
    X(host_read_gbps,     measured(d->roof.host_read_gbps))         \
    X(host_fma_gflops,    measured(d->roof.host_fma_gflops))
// clang-format on

enum {
#define FIELD_ENUM_(name, expr) F_##name,
    BENCH_FIELDS(FIELD_ENUM_)
#undef FIELD_ENUM_
        F_COUNT
};

static const char *const FIELD_NAMES[F_COUNT] = {
#define FIELD_NAME_(name, expr) #name,
    BENCH_FIELDS(FIELD_NAME_)
#undef FIELD_NAME_
};

size_t bench_field_count(void)
{
    return F_COUNT;
}

const char *bench_field_name(size_t i)
{
    return i < F_COUNT ? FIELD_NAMES[i] : NULL;
}

bench_value bench_record_field(const bench_record *r, size_t i)
{
    const bench_device *d = r->device;
    switch (i) {
#define FIELD_CASE_(name, expr)                                                                              \
    case F_##name:                                                                                           \
        return expr;
        BENCH_FIELDS(FIELD_CASE_)
#undef FIELD_CASE_
    default:
        return text(NULL);
    }
}

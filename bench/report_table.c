/* The readable table on stdout (see report.h). */
#include <math.h>
#include <string.h>

#include "plan.h"
#include "report.h"

void bench_table_init(bench_table *t, FILE *out)
{
    *t = (bench_table){0};
    t->out = out;
}

static void format_bytes(double bytes, char *buf, size_t len)
{
    if (bytes >= 1024.0 * 1024 * 1024)
        snprintf(buf, len, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
    else
        snprintf(buf, len, "%.0f MiB", bytes / (1024.0 * 1024));
}

static void format_time(double us, char *buf, size_t len)
{
    if (us < 1e3)
        snprintf(buf, len, "%.1f us", us);
    else if (us < 1e6)
        snprintf(buf, len, "%.2f ms", us / 1e3);
    else
        snprintf(buf, len, "%.2f s", us / 1e6);
}

void bench_table_intro(FILE *out, const bench_options *o, int n_devices)
{
    fprintf(out, "clq %s benchmark: %d device%s%s\n", clq_version_string(), n_devices,
            n_devices == 1 ? "" : "s", o->quick ? " (--quick)" : "");
    if (o->evict)
        fprintf(out, "method: weights are not cache-hot: before every timed run a buffer of twice the\n"
                     "  device's last-level cache (capped at 1/4 of its memory) is read;\n");
    else
        fprintf(out, "method: --no-evict: weights may be cache-hot between runs;\n");
    if (o->queued)
        fprintf(out, "  --queued: each run is enqueued behind a spacer kernel that spins in registers, not\n"
                     "  on an idle queue: its commands wait in the queue as behind earlier work (its wall\n"
                     "  time includes the spacer);\n");
    fprintf(
        out,
        "  %d warm-up run%s, then repetitions calibrated to %.3g s of device time (%d..%d);\n"
        "  time = device time from profiling events (first marker to last kernel end): median [min, max];\n"
        "  wall = median enqueue-to-finish on the host. GB/s counts the bytes a run must move (weight\n"
        "  as stored + X + Y + adapters); roofline = max(bytes/bandwidth, flops/FMA peak) / median time.\n",
        o->warmup, o->warmup == 1 ? "" : "s", o->target, o->min_reps, o->max_reps);
    if (o->rounds > 1)
        fprintf(out,
                "  --rounds %d: each measurement is taken in %d sittings, the whole plan in turn, each\n"
                "  with its warm-up and a share of the target and repetitions; the runs are pooled.\n",
                o->rounds, o->rounds);
    int lora = 0;
    for (int i = 0; i < o->n_ranks; i++)
        lora |= o->ranks[i] > 0;
    if (lora)
        fprintf(
            out,
            "  +lora: a fused row with LoRA against the same product without (where --rank has 0):\n"
            "  in each round the ratio of their medians, taken seconds apart; the median ratio, less 1.\n");
}

/* The roofline: each figure with the kernel shape that reached it, then on
 * a CPU device the host's own figures from C and how near the kernels come. */
static void roofline_lines(FILE *out, const bench_roofline *roof, const char *read_buf)
{
    fprintf(out, "  roofline: read %.1f GB/s, fp32 FMA %.1f GFLOP/s, each the best of its probe's kernels:\n",
            roof->read_gbps, roof->fma_gflops);
    fprintf(out, "    read (%s buffer, best of %d): %s\n", read_buf, roof->n_read_tried, roof->read_kernel);
    fprintf(out, "    FMA (best of %d): %s\n", roof->n_fma_tried, roof->fma_kernel);
    if (roof->wide < 0)
        fprintf(out, "    the device's compiler rejected min_vector_width(512): kernels without it only\n");
    if (roof->host_read_gbps > 0 && roof->host_fma_gflops > 0)
        fprintf(out,
                "  host CPU from C, %d thread%s: read %.1f GB/s (%s loads), fp32 FMA %.1f GFLOP/s (%s);\n"
                "    the best kernels reach %.0f%% and %.0f%% of these\n",
                roof->host_threads, roof->host_threads == 1 ? "" : "s", roof->host_read_gbps,
                roof->host_read_isa, roof->host_fma_gflops, roof->host_fma_isa,
                100.0 * roof->read_gbps / roof->host_read_gbps,
                100.0 * roof->fma_gflops / roof->host_fma_gflops);
    else if (roof->host_fma_gflops > 0) /* the read buffer could not be mapped */
        fprintf(
            out,
            "  host CPU from C, %d thread%s: fp32 FMA %.1f GFLOP/s (%s); the best kernel reaches %.0f%%\n",
            roof->host_threads, roof->host_threads == 1 ? "" : "s", roof->host_fma_gflops, roof->host_fma_isa,
            100.0 * roof->fma_gflops / roof->host_fma_gflops);
}

void bench_table_device(bench_table *t, const bench_device *d)
{
    char cache[32], read_buf[32];
    format_bytes((double)d->cache_bytes, cache, sizeof cache);
    format_bytes((double)d->roof.read_buffer_bytes, read_buf, sizeof read_buf);
    fprintf(t->out, "\ndevice %s: %s\n  platform %s, driver %s, %u compute units, last-level cache %s\n",
            d->selector, d->name, d->platform, d->driver, d->compute_units, cache);
    roofline_lines(t->out, &d->roof, read_buf);
    if (d->evict_bytes) {
        char evict[32];
        format_bytes((double)d->evict_bytes, evict, sizeof evict);
        fprintf(t->out, "  eviction: %s read before every run (%.0f ms each, not timed)\n", evict,
                d->evict_us / 1e3);
    }
    if (d->spacer_us > 0)
        fprintf(t->out,
                "  --queued: each run waits behind a %.0f us spacer kernel (time runs from its end)\n",
                d->spacer_us);
    if (BENCH_HAS_CLBLAST && !d->has_fp16)
        fprintf(t->out, "  note: no cl_khr_fp16 on this device: the CLBlast HGEMM baseline is left out\n");
    t->started = 0;
}

/* "clq fused (decode)", "CLBlast sgemm", "clq dequant + CLBlast sgemm" */
static void path_label(const bench_record *r, char *buf, size_t len)
{
    int half_lora = r->lora_dtype && strcmp(r->lora_dtype, "f16") == 0;
    if (strcmp(r->impl, "clq") == 0 && strncmp(r->path, "fused-", 6) == 0)
        snprintf(buf, len, "clq fused (%s%s)", r->path + 6, half_lora ? ", lora f16" : "");
    else if (strcmp(r->impl, "clq") == 0)
        snprintf(buf, len, "clq %s", r->path);
    else if (strcmp(r->impl, "clblast") == 0)
        snprintf(buf, len, "CLBlast %s", r->path);
    else
        snprintf(buf, len, "clq dequant + CLBlast %s", r->path + strlen("dequant+"));
}

static void group_header(bench_table *t, const bench_record *r)
{
    int same_shape = t->n == r->n && t->k == r->k && t->shape_name == r->shape;
    if (!t->started || t->op != r->op || !same_shape) {
        fprintf(t->out, "\n%s %llux%llu (%s)%s\n", bench_op_name(r->op), (unsigned long long)r->n,
                (unsigned long long)r->k, r->shape, r->op == BENCH_OP_MATMUL ? ": Y = X·Wᵀ, W is N×K" : "");
        fprintf(t->out, "%6s %-7s %-28s %-12s %10s %10s %10s %10s %5s %8s %8s %6s %7s %7s\n", "M", "lora",
                "path", "weight", "median", "min", "max", "wall", "reps", "GB/s", "GFLOP/s", "roof",
                "vs fp32", "+lora");
    } else if (r->op == BENCH_OP_MATMUL &&
               (t->m != r->m || t->rank != r->rank || t->adapters != r->adapters)) {
        fputc('\n', t->out);
    }
    t->started = 1;
    t->op = r->op;
    t->shape_name = r->shape;
    t->n = r->n;
    t->k = r->k;
    t->m = r->m;
    t->rank = r->rank;
    t->adapters = r->adapters;
}

void bench_table_row(bench_table *t, const bench_record *r, double fp32_us)
{
    group_header(t, r);
    char m[24] = "-", lora[24] = "-", path[48], weight[24], med[16], lo[16], hi[16], wall[16], vs[16] = "";
    char extra[16] = "";
    if (r->op == BENCH_OP_MATMUL)
        snprintf(m, sizeof m, "%llu", (unsigned long long)r->m);
    if (r->rank)
        snprintf(lora, sizeof lora, r->adapters > 1 ? "%ux%u" : "%u", r->rank, r->adapters);
    bench_record_weight(r, weight, sizeof weight);
    path_label(r, path, sizeof path);
    format_time(r->stats.median_us, med, sizeof med);
    format_time(r->stats.min_us, lo, sizeof lo);
    format_time(r->stats.max_us, hi, sizeof hi);
    format_time(r->stats.wall_median_us, wall, sizeof wall);
    if (fp32_us > 0 && r->stats.median_us > 0 && strcmp(r->format, "f32") != 0)
        snprintf(vs, sizeof vs, "%.2fx", fp32_us / r->stats.median_us);
    if (!isnan(r->lora_overhead))
        snprintf(extra, sizeof extra, "%+.1f%%", 100.0 * r->lora_overhead);
    fprintf(t->out, "%6s %-7s %-28s %-12s %10s %10s %10s %10s %5d %8.3g %8.3g %5.1f%% %7s %7s\n", m, lora,
            path, weight, med, lo, hi, wall, r->stats.reps, r->gbps, r->gflops, 100.0 * r->roofline_fraction,
            vs, extra);
    fflush(t->out);
}

/* JSON output with jansson (see report.h):
 *   { "clq_version", "method": {...}, "devices": [{..., "roofline": {...}}],
 *     "records": [{one object per measurement, the columns of record.h}] }
 * Each record repeats its device, driver and clq version, so a record
 * stands alone when records of several runs are pooled. */
#include <jansson.h>

#include "plan.h"
#include "report.h"

static json_t *value_json(bench_value v)
{
    switch (v.kind) {
    case BENCH_FIELD_TEXT:
        return json_string(v.text);
    case BENCH_FIELD_INT:
        return json_integer(v.integer);
    case BENCH_FIELD_NONE:
        return json_null();
    default:
        return json_real(v.real);
    }
}

static json_t *record_json(const bench_record *r)
{
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < bench_field_count(); i++)
        json_object_set_new(obj, bench_field_name(i), value_json(bench_record_field(r, i)));
    return obj;
}

/* The shapes a probe tried, in order: [{"kernel", unit: the figure, or
 * null with "opencl_error", "runs", "measured": false for a shape left at
 * one run (record.h)}] */
static json_t *tried_json(const bench_probe_try *tried, int n, const char *unit)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        json_t *t = json_pack("{s:s, s:o, s:i, s:b}", "kernel", tried[i].kernel, unit,
                              tried[i].error ? json_null() : json_real(tried[i].value), "runs", tried[i].runs,
                              "measured", tried[i].measured);
        if (t && tried[i].error)
            json_object_set_new(t, "opencl_error", json_integer(tried[i].error));
        json_array_append_new(arr, t);
    }
    return arr;
}

/* The host's own figures from C on a CPU device; null where not measured. */
static json_t *host_json(const bench_roofline *roof)
{
    if (!(roof->host_read_gbps > 0) && !(roof->host_fma_gflops > 0))
        return json_null();
    return json_pack("{s:i, s:o, s:s?, s:o, s:s?}", "threads", roof->host_threads, "read_gbps",
                     roof->host_read_gbps > 0 ? json_real(roof->host_read_gbps) : json_null(), "read_isa",
                     roof->host_read_isa, "fma_gflops",
                     roof->host_fma_gflops > 0 ? json_real(roof->host_fma_gflops) : json_null(), "fma_isa",
                     roof->host_fma_isa);
}

static json_t *roofline_json(const bench_roofline *roof)
{
    const char *wide = roof->wide > 0   ? "tried"
                       : roof->wide < 0 ? "rejected by the compiler"
                                        : "not a CPU device";
    return json_pack("{s:f, s:s, s:I, s:f, s:s, s:o, s:o, s:s, s:o}", "read_gbps", roof->read_gbps,
                     "read_kernel", roof->read_kernel, "read_buffer_bytes",
                     (json_int_t)roof->read_buffer_bytes, "fma_gflops", roof->fma_gflops, "fma_kernel",
                     roof->fma_kernel, "read_kernels",
                     tried_json(roof->read_tried, roof->n_read_tried, "gbps"), "fma_kernels",
                     tried_json(roof->fma_tried, roof->n_fma_tried, "gflops"), "min_vector_width_512", wide,
                     "host", host_json(roof));
}

static json_t *device_json(const bench_device *d)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:b, s:I, s:f, s:f, s:o}", "selector", d->selector,
                     "name", d->name, "platform", d->platform, "driver_version", d->driver, "memory_bytes",
                     (json_int_t)d->memory_bytes, "cache_bytes", (json_int_t)d->cache_bytes, "compute_units",
                     (int)d->compute_units, "fp16", d->has_fp16, "eviction_bytes", (json_int_t)d->evict_bytes,
                     "eviction_us", d->evict_us, "spacer_us", d->spacer_us, "roofline",
                     roofline_json(&d->roof));
}

static json_t *method_json(const bench_options *o)
{
    return json_pack(
        "{s:b, s:b, s:f, s:i, s:i, s:i, s:i, s:b, s:b, s:s, s:s}", "evict", o->evict, "queued", o->queued,
        "target_s", o->target, "rounds", o->rounds, "warmup", o->warmup, "min_reps", o->min_reps, "max_reps",
        o->max_reps, "quick", o->quick, "clblast_baseline", BENCH_HAS_CLBLAST, "time",
        "device time from profiling events; median, min and max over the repetitions", "lora_overhead",
        "fused rows with LoRA: per round, the row's median over the same product's without LoRA; "
        "the median over the rounds, less 1");
}

int bench_write_json(const char *path, const bench_options *o, const bench_device *devices, int n_devices,
                     const bench_results *res)
{
    json_t *root = json_object(), *devs = json_array(), *recs = json_array();
    int status = root && devs && recs ? 0 : -1;
    for (int i = 0; status == 0 && i < n_devices; i++)
        status = json_array_append_new(devs, device_json(&devices[i]));
    for (size_t i = 0; status == 0 && i < res->count; i++)
        status = json_array_append_new(recs, record_json(&res->items[i]));
    if (status == 0) {
        json_object_set_new(root, "clq_version", json_string(clq_version_string()));
        json_object_set_new(root, "method", method_json(o));
        json_object_set(root, "devices", devs);
        json_object_set(root, "records", recs);
        char *tmp = NULL;
        FILE *f = bench_output_open(path, &tmp);
        status = f ? json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : -1;
        if (f)
            status = bench_output_close(f, path, tmp, status == 0);
    } else {
        fprintf(stderr, "clq bench: writing %s failed: out of memory\n", path);
    }
    json_decref(devs);
    json_decref(recs);
    json_decref(root);
    return status == 0 ? 0 : -1;
}

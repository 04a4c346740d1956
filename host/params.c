/* Per-device tuning parameters: defaults by device class, "name=value" text
 * (the tuning file, the tuning option, CLQ_PARAMS) parsed and printed, and
 * the -D options that hand the same values to the kernels. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void clq_device_params_default(const clq_context *ctx, clq_device_params *p)
{
    memset(p, 0, sizeof *p);
    unsigned wg = 256;
    while (wg > 1 && wg > ctx->max_work_group)
        wg /= 2;
    p->reduce_wg = wg;
    /* A CPU runs a work-group as a loop on one core, and a tile's 16 rows
     * as one float16 vector per work-item; for M > 16 it keeps the tiles
     * kernel (16 rows of X per work-item, in registers) and shrinks LoRA
     * without barriers. A GPU gives each row its own work-item, 16 of them
     * sharing each 64-byte line, in groups of 64, and uses local-memory
     * tiles for prefill. A CPU quantizes and dequantizes 1024 elements of
     * a row per work-item (a work-item's own cost matches a small block's
     * work), in work-groups of 16 so that both cores get work; a GPU one
     * block (dequantize: 16 elements) per work-item. Decode's LoRA shrink
     * is a launch of its own everywhere: on PoCL, computing it inside the
     * matmul (once per work-group, each reading all of A) added 10-13 % to
     * a 4096x4096 rank-16 decode against 0.5-4.5 % launched first
     * (interleaved runs, BENCHMARKS.md). `clq tune` finds better values per
     * device. */
    bool cpu = (ctx->device_type & CL_DEVICE_TYPE_CPU) != 0;
    p->mm_lanes = cpu ? 16 : 1;
    p->tiles_wg = cpu ? 1 : 64;
    p->prefill_local = !cpu;
    p->shrink_rows = cpu;
    p->pf_tm = cpu ? 32 : 64;
    p->pf_tn = cpu ? 32 : 64;
    p->pf_wm = cpu ? 8 : 4;
    p->pf_wn = cpu ? 8 : 4;
    p->quant_span = cpu ? 1024 : 16;
    p->quant_wg = cpu ? 16 : 0;
    p->lora_groups = 0;
    while (p->pf_tm / p->pf_wm * (p->pf_tn / p->pf_wn) > ctx->max_work_group && p->pf_tm > p->pf_wm) {
        p->pf_tm /= 2; /* devices with small work-groups */
        p->pf_tn /= 2;
    }
}

void clq_device_params_defines(const clq_device_params *p, char *buf, size_t len)
{
    size_t used = strlen(buf);
    if (used < len)
        snprintf(buf + used, len - used, " -DCLQ_REDUCE_WG=%u -DCLQ_MM_LANES=%u -DCLQ_PF_TM=%u -DCLQ_PF_TN=%u -DCLQ_PF_WM=%u"
                 " -DCLQ_PF_WN=%u",
                 p->reduce_wg, p->mm_lanes, p->pf_tm, p->pf_tn, p->pf_wm, p->pf_wn);
}

/* One parameter's name, where it lives, and what values it accepts. */
typedef struct param_field {
    const char *name;
    size_t offset;
    bool is_bool;
    unsigned min, max;
    bool power_of_two;
} param_field;

#define FIELD(name, lo, hi, pow2) {#name, offsetof(clq_device_params, name), false, lo, hi, pow2}
static const param_field fields[] = {
    FIELD(reduce_wg, 1, 1024, true), FIELD(mm_lanes, 1, 16, true), FIELD(tiles_wg, 1, 1024, true),
    {"prefill_local", offsetof(clq_device_params, prefill_local), true, 0, 1, false},
    {"shrink_rows", offsetof(clq_device_params, shrink_rows), true, 0, 1, false},
    FIELD(pf_tm, 1, 256, true),      FIELD(pf_tn, 1, 256, true),   FIELD(pf_wm, 1, 16, true),
    FIELD(pf_wn, 1, 16, true),       FIELD(quant_span, 16, 65536, true),
    FIELD(quant_wg, 0, 1024, true),  FIELD(lora_groups, 0, 64, false),
};
#undef FIELD

static clq_status check_params(const clq_context *ctx, const clq_device_params *p)
{
    if (p->mm_lanes != 1 && p->mm_lanes != CLQ_TILE_ROWS)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "mm_lanes must be 1 or %d, not %u", CLQ_TILE_ROWS, p->mm_lanes);
    if (p->pf_wm > p->pf_tm || p->pf_wn > p->pf_tn)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "prefill tile %ux%u is smaller than a work-item's %ux%u",
                        p->pf_tm, p->pf_tn, p->pf_wm, p->pf_wn);
    size_t pf_wg = (size_t)(p->pf_tm / p->pf_wm) * (p->pf_tn / p->pf_wn);
    if (p->reduce_wg > ctx->max_work_group || p->tiles_wg > ctx->max_work_group || pf_wg > ctx->max_work_group ||
        p->quant_wg > ctx->max_work_group)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "a work-group size (reduce_wg %u, tiles_wg %u, prefill %zu, "
                        "quant_wg %u) exceeds the device's %zu", p->reduce_wg, p->tiles_wg, pf_wg, p->quant_wg,
                        ctx->max_work_group);
    return CLQ_SUCCESS;
}

clq_status clq_device_params_parse(const clq_context *ctx, const char *text, clq_device_params *p)
{
    clq_device_params out = *p;
    const char *s = text;
    while (*s) {
        size_t skip = strspn(s, " \t\r\n,;");
        s += skip;
        if (!*s)
            break;
        size_t len = strcspn(s, " \t\r\n,;");
        char item[64];
        if (len >= sizeof item)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tuning parameter '%.*s...' is too long", 32, s);
        memcpy(item, s, len);
        item[len] = '\0';
        s += len;
        char *eq = strchr(item, '=');
        if (!eq)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tuning parameter '%s' is not name=value", item);
        *eq = '\0';
        const param_field *f = NULL;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            if (strcmp(fields[i].name, item) == 0)
                f = &fields[i];
        if (!f)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "unknown tuning parameter '%s'", item);
        char *end;
        unsigned long v = strtoul(eq + 1, &end, 10);
        if (end == eq + 1 || *end || v < f->min || v > f->max || (f->power_of_two && (v & (v - 1))))
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tuning parameter %s = '%s': expected %s%u..%u", item,
                            eq + 1, f->power_of_two ? "a power of two in " : "", f->min, f->max);
        if (f->is_bool)
            *(bool *)((char *)&out + f->offset) = v != 0;
        else
            *(unsigned *)((char *)&out + f->offset) = (unsigned)v;
    }
    CLQ_FORWARD(check_params(ctx, &out));
    *p = out;
    return CLQ_SUCCESS;
}

void clq_device_params_format(const clq_device_params *p, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof fields / sizeof fields[0] && used < len; i++) {
        const char *at = (const char *)p + fields[i].offset;
        unsigned v = fields[i].is_bool ? (unsigned)*(const bool *)at : *(const unsigned *)at;
        int n = snprintf(buf + used, len - used, "%s%s=%u", i ? " " : "", fields[i].name, v);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

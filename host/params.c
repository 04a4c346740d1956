/* Per-device tuning parameters: defaults by device class, "name=value" text
 * (the tuning file, the tuning option, CLQ_PARAMS) parsed and printed, and
 * the -D options that hand the same values to the kernels, all from the one
 * list in params_table.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* One parameter's row of the table, as the functions below use it. */
typedef struct param_field {
    const char *name;
    size_t offset;
    bool is_bool;
    unsigned min, max;
    bool power_of_two;
    unsigned cpu, gpu;  /* class defaults */
    const char *define; /* "" where the kernels do not see it */
} param_field;

#define IS_BOOL_bool true
#define IS_BOOL_unsigned false
#define FIELD(name, type, lo, hi, pow2, cpu, gpu, define, ...)                                               \
    {#name, offsetof(clq_device_params, name), IS_BOOL_##type, lo, hi, pow2, cpu, gpu, define},
static const param_field fields[] = {CLQ_PARAMS_TABLE(FIELD)};
#undef FIELD
#define FIELD_COUNT (sizeof fields / sizeof fields[0])

static unsigned get_field(const clq_device_params *p, const param_field *f)
{
    const char *at = (const char *)p + f->offset;
    return f->is_bool ? (unsigned)*(const bool *)at : *(const unsigned *)at;
}

static void set_field(clq_device_params *p, const param_field *f, unsigned v)
{
    char *at = (char *)p + f->offset;
    if (f->is_bool)
        *(bool *)at = v != 0;
    else
        *(unsigned *)at = v;
}

/* The table's defaults of one class, then what this device's work-group
 * limit requires. */
static void class_defaults(const clq_context *ctx, bool cpu, clq_device_params *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < FIELD_COUNT; i++)
        set_field(p, &fields[i], cpu ? fields[i].cpu : fields[i].gpu);
    while (p->reduce_wg > 1 && p->reduce_wg > ctx->max_work_group)
        p->reduce_wg /= 2;
    while (p->pf_tm / p->pf_wm * (p->pf_tn / p->pf_wn) > ctx->max_work_group && p->pf_tm > p->pf_wm) {
        p->pf_tm /= 2; /* devices with small work-groups */
        p->pf_tn /= 2;
    }
}

void clq_device_params_default(const clq_context *ctx, clq_device_params *p)
{
    class_defaults(ctx, (ctx->device_type & CL_DEVICE_TYPE_CPU) != 0, p);
}

void clq_device_params_defines(const clq_device_params *p, char *buf, size_t len)
{
    size_t used = strlen(buf);
    for (size_t i = 0; i < FIELD_COUNT && used < len; i++) {
        if (!fields[i].define[0])
            continue;
        int n = snprintf(buf + used, len - used, " -D%s=%u", fields[i].define, get_field(p, &fields[i]));
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static clq_status check_params(const clq_context *ctx, const clq_device_params *p)
{
    if (p->mm_lanes != 1 && p->mm_lanes != CLQ_TILE_ROWS)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "mm_lanes must be 1 or %d, not %u", CLQ_TILE_ROWS,
                        p->mm_lanes);
    if (p->pf_wm > p->pf_tm || p->pf_wn > p->pf_tn)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "prefill tile %ux%u is smaller than a work-item's %ux%u",
                        p->pf_tm, p->pf_tn, p->pf_wm, p->pf_wn);
    size_t pf_wg = (size_t)(p->pf_tm / p->pf_wm) * (p->pf_tn / p->pf_wn);
    if (p->reduce_wg > ctx->max_work_group || p->tiles_wg > ctx->max_work_group ||
        pf_wg > ctx->max_work_group || p->quant_wg > ctx->max_work_group)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT,
                        "a work-group size (reduce_wg %u, tiles_wg %u, prefill %zu, "
                        "quant_wg %u) exceeds the device's %zu",
                        p->reduce_wg, p->tiles_wg, pf_wg, p->quant_wg, ctx->max_work_group);
    return CLQ_SUCCESS;
}

/* Applies one "name=value" item to *p. */
static clq_status parse_item(const clq_context *ctx, char *item, clq_device_params *p)
{
    char *eq = strchr(item, '=');
    if (!eq)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tuning parameter '%s' is not name=value", item);
    *eq = '\0';
    const char *value = eq + 1;
    if (strcmp(item, CLQ_PARAMS_CLASS_KEY) == 0) {
        if (strcmp(value, "cpu") != 0 && strcmp(value, "gpu") != 0)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tuning parameter %s = '%s': expected cpu or gpu",
                            item, value);
        class_defaults(ctx, strcmp(value, "cpu") == 0, p);
        return CLQ_SUCCESS;
    }
    const param_field *f = NULL;
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (strcmp(fields[i].name, item) == 0)
            f = &fields[i];
    if (!f)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "unknown tuning parameter '%s'", item);
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    if (end == value || *end || v < f->min || v > f->max || (f->power_of_two && (v & (v - 1))))
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tuning parameter %s = '%s': expected %s%u..%u", item,
                        value, f->power_of_two ? "a power of two in " : "", f->min, f->max);
    set_field(p, f, (unsigned)v);
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
        CLQ_FORWARD(parse_item(ctx, item, &out));
    }
    CLQ_FORWARD(check_params(ctx, &out));
    *p = out;
    return CLQ_SUCCESS;
}

void clq_device_params_format(const clq_device_params *p, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < FIELD_COUNT && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s=%u", i ? " " : "", fields[i].name,
                         get_field(p, &fields[i]));
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

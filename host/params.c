/* Per-device tuning parameters: defaults by device class, and the -D options
 * that hand the same values to the kernels. */
#include <stdbool.h>
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
    /* A CPU runs a work-group as a loop on one core: small groups and
     * tiles keep both cores busy on small matrices. GPUs want 256 work-items
     * in flight per group. Tuned values come later from `clq tune`. */
    bool cpu = (ctx->device_type & CL_DEVICE_TYPE_CPU) != 0;
    p->decode_wg = cpu ? 16 : 64;
    p->pf_tm = cpu ? 32 : 64;
    p->pf_tn = cpu ? 32 : 64;
    p->pf_wm = cpu ? 8 : 4;
    p->pf_wn = cpu ? 8 : 4;
    while (p->pf_tm / p->pf_wm * (p->pf_tn / p->pf_wn) > ctx->max_work_group && p->pf_tm > p->pf_wm) {
        p->pf_tm /= 2; /* devices with small work-groups */
        p->pf_tn /= 2;
    }
}

void clq_device_params_defines(const clq_device_params *p, char *buf, size_t len)
{
    size_t used = strlen(buf);
    if (used < len)
        snprintf(buf + used, len - used, " -DCLQ_REDUCE_WG=%u -DCLQ_PF_TM=%u -DCLQ_PF_TN=%u -DCLQ_PF_WM=%u -DCLQ_PF_WN=%u",
                 p->reduce_wg, p->pf_tm, p->pf_tn, p->pf_wm, p->pf_wn);
}

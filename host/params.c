/* Per-device tuning parameters: defaults by device class, and the -D options
 * that hand the same values to the kernels. */
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
}

void clq_device_params_defines(const clq_device_params *p, char *buf, size_t len)
{
    size_t used = strlen(buf);
    if (used < len)
        snprintf(buf + used, len - used, " -DCLQ_REDUCE_WG=%u", p->reduce_wg);
}

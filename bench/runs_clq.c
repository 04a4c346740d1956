/* The clq side of the benchmark: one run of each operation (problem.h). */
#include "problem.h"

int bench_run_clq_quantize(void *user, cl_command_queue q, cl_event *last)
{
    bench_problem *p = user;
    clq_weight *w = NULL;
    if (clq_weight_quantize(p->ctx, &p->desc, CLQ_DTYPE_F32, p->w32, 0, NULL, &w) != CLQ_SUCCESS)
        return -1;
    /* clq_weight_quantize returns only when its work is done (it must see
     * every NaN before a weight exists) and hands out no event; a marker
     * enqueued now ends the device-clock span at that point, so the time
     * includes its blocking check, as a caller would see it. */
    cl_int err = clEnqueueMarkerWithWaitList(q, 0, NULL, last);
    clq_weight_destroy(w);
    return err == CL_SUCCESS ? 0 : -1;
}

int bench_run_clq_dequantize(void *user, cl_command_queue q, cl_event *last)
{
    bench_problem *p = user;
    (void)q;
    return clq_weight_dequantize(p->weight, CLQ_DTYPE_F32, p->dequant32, 0, NULL, last) == CLQ_SUCCESS ? 0
                                                                                                       : -1;
}

int bench_run_clq_matmul(void *user, cl_command_queue q, cl_event *last)
{
    bench_problem *p = user;
    (void)q;
    clq_matmul_args a = {
        .m = p->m,
        .x_type = CLQ_DTYPE_F32,
        .x = p->x32,
        .y_type = CLQ_DTYPE_F32,
        .y = p->y32,
        .bias = NULL,
        .lora = p->rank ? p->lora : NULL,
        .lora_index = p->rank ? p->lora_index : NULL,
        .kernel = CLQ_MATMUL_AUTO,
    };
    return clq_matmul(p->weight, &a, 0, NULL, last) == CLQ_SUCCESS ? 0 : -1;
}

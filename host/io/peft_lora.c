/* PEFT adapters as clq adapter sets: one layer of several adapter folders,
 * widened to fp32, each with PEFT's own scale. Public calls only, beside
 * the widening helper. */
#include <stdlib.h>

#include "safetensors_internal.h"

/* A and B of one layer widened to fp32, for clq_lora_create_scaled. */
static clq_status widen(const clq_peft_layer *l, float **a, float **b)
{
    *a = malloc((size_t)l->a.elements * sizeof **a);
    *b = malloc((size_t)l->b.elements * sizeof **b);
    if (!*a || !*b)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "widening the adapter of '%.200s'", l->module);
    st_to_f32(l->a.dtype, l->a.data, (size_t)l->a.elements, *a);
    st_to_f32(l->b.dtype, l->b.data, (size_t)l->b.elements, *b);
    return CLQ_SUCCESS;
}

static clq_status load_set(clq_context *ctx, const clq_peft *const *adapters, size_t count, const char *layer,
                           uint64_t rows, uint64_t cols, clq_adapter_desc *ad, float *scales, clq_lora **out)
{
    for (size_t i = 0; i < count; i++) {
        if (!adapters[i])
            return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_peft_lora_create: adapter %zu is NULL", i);
        clq_peft_layer l;
        CLQ_FORWARD(clq_peft_find_layer(adapters[i], layer, &l));
        if (l.rows != rows || l.cols != cols)
            return CLQ_FAIL(CLQ_ERROR_SHAPE,
                            "adapter %zu: module '%.200s' adapts a %llu x %llu weight, not %llu x %llu", i,
                            l.module, (unsigned long long)l.rows, (unsigned long long)l.cols,
                            (unsigned long long)rows, (unsigned long long)cols);
        float *a, *b;
        int status = widen(&l, &a, &b);
        /* alpha and rslora are not used when the scales are given (and
         * lora_alpha need not fit an fp32); the scale stands in for alpha. */
        ad[i] = (clq_adapter_desc){l.rank, l.scale, 0, CLQ_DTYPE_F32, a, b};
        scales[i] = l.scale;
        CLQ_FORWARD(status);
    }
    return clq_lora_create_scaled(ctx, rows, cols, ad, scales, count, out);
}

clq_status clq_peft_lora_create(clq_context *ctx, const clq_peft *const *adapters, size_t count,
                                const char *layer, uint64_t rows, uint64_t cols, clq_lora **out)
{
    if (!ctx || !adapters || !layer || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_peft_lora_create: ctx, adapters, layer and out are required");
    if (count == 0 || count > CLQ_MAX_ADAPTERS)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "%zu adapters: 1 to %d allowed", count, CLQ_MAX_ADAPTERS);
    clq_adapter_desc *ad = calloc(count, sizeof *ad);
    float *scales = calloc(count, sizeof *scales);
    int status = ad && scales ? load_set(ctx, adapters, count, layer, rows, cols, ad, scales, out)
                              : CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating %zu adapters", count);
    for (size_t i = 0; ad && i < count; i++) {
        free((void *)ad[i].a);
        free((void *)ad[i].b);
    }
    free(ad);
    free(scales);
    return status;
}

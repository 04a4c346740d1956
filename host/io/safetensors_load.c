/* safetensors tensors as clq weights: floating-point tensors quantized on
 * the device, bitsandbytes layers imported bit for bit. The reader itself
 * needs no OpenCL; this is where it meets the device. */
#include <stdlib.h>
#include <string.h>

#include "safetensors_internal.h"

clq_status clq_safetensors_load_weight(clq_context *ctx, const clq_safetensors *st, const char *name,
                                       clq_format format, uint32_t block, clq_weight **out)
{
    if (!ctx || !st || !name || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_safetensors_load_weight: ctx, st, name and out are required");
    size_t index;
    clq_safetensors_tensor t;
    CLQ_FORWARD(clq_safetensors_find_tensor(st, name, &index));
    CLQ_FORWARD(clq_safetensors_tensor_info(st, index, &t));
    if (t.n_dims < 1 || t.n_dims > 2)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "tensor '%.200s' has %u dimensions; a weight is 1-D or 2-D", t.name,
                        t.n_dims);
    clq_weight_desc desc = {format, block, t.n_dims == 2 ? t.dims[0] : 1, t.dims[t.n_dims - 1], 0};
    switch (t.dtype) {
    case CLQ_SAFETENSORS_F32:
    case CLQ_SAFETENSORS_F16:
        return clq_weight_quantize_host(ctx, &desc,
                                        t.dtype == CLQ_SAFETENSORS_F32 ? CLQ_DTYPE_F32 : CLQ_DTYPE_F16,
                                        t.data, (size_t)t.size, out);
    case CLQ_SAFETENSORS_BF16: {
        if (t.elements > SIZE_MAX / sizeof(float))
            return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "tensor '%.200s' is too large", t.name);
        float *x = malloc((size_t)t.elements * sizeof *x + 1);
        if (!x)
            return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "widening tensor '%.200s' to fp32", t.name);
        st_to_f32(t.dtype, t.data, (size_t)t.elements, x);
        int status =
            clq_weight_quantize_host(ctx, &desc, CLQ_DTYPE_F32, x, (size_t)t.elements * sizeof *x, out);
        free(x);
        return status;
    }
    default:
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_FORMAT,
                        "tensor '%.200s' is %s; clq loads F32, F16 and BF16 weights", t.name,
                        clq_safetensors_dtype_name(t.dtype));
    }
}

/* An aligned copy of a float or byte array in the file (the file's bytes
 * promise no alignment; the import reads floats). */
static void *copy_of(const clq_safetensors_tensor *t)
{
    void *p = malloc(t->size ? (size_t)t->size : 1);
    if (p && t->size)
        memcpy(p, t->data, (size_t)t->size);
    return p;
}

clq_status clq_safetensors_load_bnb(clq_context *ctx, const clq_safetensors *st, const char *prefix,
                                    clq_weight **out)
{
    if (!ctx || !st || !prefix || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_safetensors_load_bnb: ctx, st, prefix and out are required");
    clq_bnb_info info;
    bnb_tensors t;
    CLQ_FORWARD(st_bnb_read(st, prefix, &info, &t));
    /* The packed codes are only copied to the device: no copy needed. */
    clq_external e = {.data = (void *)t.weight.data, .data_bytes = (size_t)t.weight.size};
    e.scales = copy_of(&t.absmax);
    e.scales_bytes = (size_t)t.absmax.size;
    if (info.desc.double_quant) {
        e.nested_absmax = copy_of(&t.nested_absmax);
        e.nested_absmax_bytes = (size_t)t.nested_absmax.size;
        e.nested_code = copy_of(&t.nested_quant_map);
        e.nested_code_bytes = (size_t)t.nested_quant_map.size;
        e.offset = info.nested_offset;
    }
    int status = !e.scales || (info.desc.double_quant && (!e.nested_absmax || !e.nested_code))
                     ? CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "copying the quant state of '%.200s'", prefix)
                     : clq_weight_import(ctx, &info.desc, CLQ_LAYOUT_BNB, &e, out);
    free(e.scales);
    free(e.nested_absmax);
    free(e.nested_code);
    return status;
}

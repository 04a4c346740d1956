/* GGUF tensors as clq weights: ggml's quantized blocks (q4_0, q8_0 and the
 * ggml formats) imported as they are, f32 / f16 tensors quantized on the device. Only public calls: the
 * reader itself needs no OpenCL, this file is where it meets the device. */
#include "clq_io.h"
#include "internal.h"

/* GGUF's ne[0] is the row length; a 1-D tensor is a single row. Tensors
 * with a third or fourth dimension above 1 are stacks of matrices (experts,
 * heads) that a single weight does not describe. */
static clq_status weight_shape(const clq_gguf_tensor *t, uint64_t *rows, uint64_t *cols)
{
    if (t->dims[2] != 1 || t->dims[3] != 1)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "tensor '%.200s' is %llu x %llu x %llu x %llu; a weight is 2-D",
                        t->name, (unsigned long long)t->dims[0], (unsigned long long)t->dims[1],
                        (unsigned long long)t->dims[2], (unsigned long long)t->dims[3]);
    *cols = t->dims[0];
    *rows = t->dims[1];
    return CLQ_SUCCESS;
}

clq_status clq_gguf_load_weight(clq_context *ctx, const clq_gguf *g, const char *name,
                                clq_format float_format, uint32_t float_block, clq_weight **out)
{
    if (!ctx || !g || !name || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_load_weight: ctx, gguf, name and out are required");
    size_t index;
    clq_gguf_tensor t;
    CLQ_FORWARD(clq_gguf_find_tensor(g, name, &index));
    CLQ_FORWARD(clq_gguf_tensor_info(g, index, &t));
    clq_weight_desc desc = {0};
    CLQ_FORWARD(weight_shape(&t, &desc.rows, &desc.cols));
    /* clq_external is shared with export, hence its non-const pointer;
     * import only reads it. */
    clq_external blocks = {.data = (void *)t.data, .data_bytes = (size_t)t.size};
    switch (t.type) {
    case CLQ_GGML_Q4_0:
    case CLQ_GGML_Q8_0:
        desc.format = t.type == CLQ_GGML_Q4_0 ? CLQ_FORMAT_Q4 : CLQ_FORMAT_Q8;
        desc.block = 32;
        return clq_weight_import(ctx, &desc, CLQ_LAYOUT_GGML, &blocks, out);
    case CLQ_GGML_F32:
    case CLQ_GGML_F16:
        desc.format = float_format;
        desc.block = float_block;
        return clq_weight_quantize_host(ctx, &desc, t.type == CLQ_GGML_F32 ? CLQ_DTYPE_F32 : CLQ_DTYPE_F16,
                                        t.data, (size_t)t.size, out);
    default:
        if (clq_ggml_type_format(t.type, &desc.format)) { /* loaded as stored, as q4_0 and q8_0 */
            desc.block = clq_ggml_format_block(desc.format);
            return clq_weight_import(ctx, &desc, CLQ_LAYOUT_GGML, &blocks, out);
        }
        return CLQ_FAIL(
            CLQ_ERROR_UNSUPPORTED_FORMAT,
            "tensor '%.200s' is %s; clq loads q4_0, q4_1, q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K, "
            "q6_K, iq4_nl, iq4_xs, f16 and f32",
            t.name, clq_ggml_type_name(t.type));
    }
}

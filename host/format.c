/* Formats, layouts and the sizes derived from a weight description. */
#include <string.h>
#include <strings.h>

#include "internal.h"

_Static_assert(CLQ_FMT_Q8 == CLQ_FORMAT_Q8 && CLQ_FMT_Q4 == CLQ_FORMAT_Q4 && CLQ_FMT_Q4Z == CLQ_FORMAT_Q4Z &&
                   CLQ_FMT_NF4 == CLQ_FORMAT_NF4 && CLQ_FMT_FP4 == CLQ_FORMAT_FP4 &&
                   CLQ_FMT_DYNAMIC8 == CLQ_FORMAT_DYNAMIC8,
               "kernels/clq_common.h format numbers must equal enum clq_format");
_Static_assert(sizeof(clq_block_q4_0) == CLQ_GGML_Q4_0_BYTES, "ggml block_q4_0 is 18 bytes");
_Static_assert(sizeof(clq_block_q8_0) == CLQ_GGML_Q8_0_BYTES, "ggml block_q8_0 is 34 bytes");

static const char *const format_names[] = {NULL,       "q8",   "q4",   "q4z",    "nf4",   "fp4",
                                           "dynamic8", "q4_1", "q5_0", "q5_1",   "q2_k",  "q3_k",
                                           "q4_k",     "q5_k", "q6_k", "iq4_nl", "iq4_xs"};
_Static_assert(sizeof format_names / sizeof format_names[0] == CLQ_FORMAT_IQ4_XS + 1, "a name per format");
static const char *const layout_names[] = {NULL, "bnb", "ggml", "ort"};
#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *clq_format_name(clq_format format)
{
    return (unsigned)format < COUNT_OF(format_names) ? format_names[format] : NULL;
}

const char *clq_layout_name(clq_layout layout)
{
    return (unsigned)layout < COUNT_OF(layout_names) ? layout_names[layout] : NULL;
}

static int index_of_name(const char *const *names, size_t count, const char *name)
{
    for (size_t i = 1; name && i < count; i++)
        if (strcasecmp(names[i], name) == 0)
            return (int)i;
    return 0;
}

clq_status clq_format_from_name(const char *name, clq_format *out)
{
    if (!out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_format_from_name: out is NULL");
    int i = index_of_name(format_names, COUNT_OF(format_names), name);
    if (!i)
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_FORMAT,
                        "unknown format '%s' (q8, q4, q4z, nf4, fp4, dynamic8, q4_1, q5_0, q5_1, q2_k, q3_k, "
                        "q4_k, q5_k, q6_k, iq4_nl, iq4_xs)",
                        name ? name : "(null)");
    *out = (clq_format)i;
    return CLQ_SUCCESS;
}

clq_status clq_layout_from_name(const char *name, clq_layout *out)
{
    if (!out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_layout_from_name: out is NULL");
    int i = index_of_name(layout_names, COUNT_OF(layout_names), name);
    if (!i)
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_LAYOUT, "unknown layout '%s' (bnb, ggml, ort)",
                        name ? name : "(null)");
    *out = (clq_layout)i;
    return CLQ_SUCCESS;
}

bool clq_format_is_4bit(clq_format format)
{
    return format == CLQ_FORMAT_Q4 || format == CLQ_FORMAT_Q4Z || format == CLQ_FORMAT_NF4 ||
           format == CLQ_FORMAT_FP4;
}

uint64_t clq_ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

/* Largest element count clq accepts: kernels index elements with 64-bit
 * offsets but blocks with 32-bit ones. */
#define CLQ_MAX_BLOCKS ((uint64_t)UINT32_MAX)

clq_status clq_weight_desc_check(const clq_weight_desc *d)
{
    if (!d)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "weight description is NULL");
    if (!clq_format_name(d->format))
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_FORMAT, "format %d is not a clq_format", (int)d->format);
    if (clq_format_is_ggml(d->format) && d->block != clq_ggml_format_block(d->format))
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_BLOCK, "block %u: %s has blocks of %u", d->block,
                        clq_format_name(d->format), clq_ggml_format_block(d->format));
    if (d->block < 16 || d->block > 4096 || (d->block & (d->block - 1)))
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_BLOCK, "block %u: must be a power of two from 16 to 4096",
                        d->block);
    if (d->rows == 0 || d->cols == 0)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "shape %llux%llu: rows and cols must be positive",
                        (unsigned long long)d->rows, (unsigned long long)d->cols);
    if (d->cols % d->block)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "K = %llu is not a multiple of the block size %u",
                        (unsigned long long)d->cols, d->block);
    if (d->rows > UINT64_MAX / d->cols || d->rows * d->cols / d->block > CLQ_MAX_BLOCKS)
        return CLQ_FAIL(CLQ_ERROR_SHAPE, "shape %llux%llu is too large", (unsigned long long)d->rows,
                        (unsigned long long)d->cols);
    if (d->double_quant && d->format != CLQ_FORMAT_NF4 && d->format != CLQ_FORMAT_FP4)
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_FORMAT,
                        "double quantization applies to nf4 and fp4 only, not %s",
                        clq_format_name(d->format));
    return CLQ_SUCCESS;
}

void clq_device_sizes_of(const clq_weight_desc *d, clq_device_sizes *s)
{
    uint64_t elements = d->rows * d->cols, nblocks = elements / d->block;
    memset(s, 0, sizeof *s);
    if (clq_format_is_ggml(d->format)) { /* ggml block tiles (clq_common.h) */
        s->quants_tile = CLQ_TILE_ROWS * (d->cols / d->block) * clq_ggml_format_bytes(d->format);
        s->quants = clq_ceil_div(d->rows, CLQ_TILE_ROWS) * s->quants_tile;
        s->quants_padding = d->rows % CLQ_TILE_ROWS != 0;
        return;
    }
    /* Rows padded to whole tiles (clq_common.h). */
    uint64_t row_bytes = clq_format_is_4bit(d->format) ? d->cols / 2 : d->cols;
    uint64_t tiles = clq_ceil_div(d->rows, CLQ_TILE_ROWS);
    s->quants_tile = CLQ_TILE_ROWS * row_bytes;
    s->quants = tiles * s->quants_tile;
    s->quants_padding = d->rows % CLQ_TILE_ROWS != 0;
    if (d->double_quant) {
        s->scales = nblocks;
        s->nested_absmax = 4 * clq_ceil_div(nblocks, CLQ_NESTED_BLOCK);
        s->code = 4 * 256;
        s->offset = 4;
    } else {
        s->scales = (d->format == CLQ_FORMAT_Q4 || d->format == CLQ_FORMAT_Q8) ? 2 * nblocks : 4 * nblocks;
    }
    if (d->format == CLQ_FORMAT_Q4Z)
        s->zeros = nblocks;
    if (d->format == CLQ_FORMAT_DYNAMIC8)
        s->code = 4 * 256;
}

clq_status clq_external_sizes(const clq_weight_desc *d, clq_layout layout, clq_external *s)
{
    if (!s)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_external_sizes: sizes is NULL");
    CLQ_FORWARD(clq_weight_desc_check(d));
    uint64_t elements = d->rows * d->cols, nblocks = elements / d->block;
    clq_external e = {0};
    switch (layout) {
    case CLQ_LAYOUT_GGML:
        if (clq_format_is_ggml(d->format)) {
            e.data_bytes = nblocks * clq_ggml_format_bytes(d->format);
            break;
        }
        if ((d->format != CLQ_FORMAT_Q4 && d->format != CLQ_FORMAT_Q8) || d->block != CLQ_GGML_QK)
            return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_LAYOUT,
                            "ggml layout holds q4 and q8 with block 32 and the ggml formats, not %s/%u",
                            clq_format_name(d->format), d->block);
        e.data_bytes = nblocks * (d->format == CLQ_FORMAT_Q4 ? CLQ_GGML_Q4_0_BYTES : CLQ_GGML_Q8_0_BYTES);
        break;
    case CLQ_LAYOUT_BNB:
        if (d->format != CLQ_FORMAT_NF4 && d->format != CLQ_FORMAT_FP4 && d->format != CLQ_FORMAT_DYNAMIC8)
            return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_LAYOUT, "bnb layout holds nf4, fp4 and dynamic8, not %s",
                            clq_format_name(d->format));
        e.data_bytes = d->format == CLQ_FORMAT_DYNAMIC8 ? elements : elements / 2;
        e.scales_bytes = d->double_quant ? nblocks : 4 * nblocks;
        if (d->double_quant)
            e.nested_absmax_bytes = 4 * clq_ceil_div(nblocks, CLQ_NESTED_BLOCK);
        if (d->double_quant || d->format == CLQ_FORMAT_DYNAMIC8)
            e.nested_code_bytes = 4 * 256;
        break;
    case CLQ_LAYOUT_ORT:
        if (d->format != CLQ_FORMAT_Q4Z)
            return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_LAYOUT, "ort layout holds q4z, not %s",
                            clq_format_name(d->format));
        e.data_bytes = elements / 2;
        e.scales_bytes = 4 * nblocks;
        e.zero_points_bytes = d->rows * clq_ceil_div(d->cols / d->block, 2);
        break;
    default:
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_LAYOUT, "layout %d is not a clq_layout", (int)layout);
    }
    *s = e;
    return CLQ_SUCCESS;
}

size_t clq_dtype_size(clq_dtype t)
{
    return t == CLQ_DTYPE_F16 ? 2 : 4;
}

clq_status clq_check_dtype(clq_dtype t, const char *what)
{
    if (t != CLQ_DTYPE_F32 && t != CLQ_DTYPE_F16)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "%s dtype %d is neither CLQ_DTYPE_F32 nor CLQ_DTYPE_F16",
                        what, (int)t);
    return CLQ_SUCCESS;
}

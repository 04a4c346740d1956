/* bitsandbytes 4-bit layers in safetensors: the quant state's JSON and
 * tensors checked against each other, with no device needed (loading them
 * is in safetensors_load.c). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors_internal.h"

#define BNB_STATE_KEY ".weight.quant_state.bitsandbytes__"
#define BNB_NESTED_BLOCK 256 /* the only nested block bitsandbytes (and clq) use */

const float st_nf4_code[16] = {CLQ_NF4_CODE_VALUES};
const float st_fp4_code[16] = {CLQ_FP4_CODE_VALUES};

/* prefix + suffix into buf; false if it does not fit. */
static bool tensor_name(char *buf, size_t len, const char *prefix, const char *suffix)
{
    int n = snprintf(buf, len, "%s%s", prefix, suffix);
    return n >= 0 && (size_t)n < len;
}

static clq_status find(const clq_safetensors *st, const char *prefix, const char *suffix,
                       clq_safetensors_tensor *out)
{
    char name[1024];
    size_t index;
    if (!tensor_name(name, sizeof name, prefix, suffix))
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "layer name '%.200s...' is too long", prefix);
    CLQ_FORWARD(clq_safetensors_find_tensor(st, name, &index));
    return clq_safetensors_tensor_info(st, index, out);
}

/* The quant_state tensor: exactly one of __nf4 and __fp4. */
static clq_status find_state(const clq_safetensors *st, const char *prefix, bnb_tensors *t,
                             clq_format *format)
{
    clq_safetensors_tensor fp4;
    bool has_nf4 = find(st, prefix, BNB_STATE_KEY "nf4", &t->state) == CLQ_SUCCESS;
    bool has_fp4 = find(st, prefix, BNB_STATE_KEY "fp4", &fp4) == CLQ_SUCCESS;
    if (!has_nf4 && !has_fp4)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND, "%s has no '%.200s" BNB_STATE_KEY "nf4' or '...fp4' tensor",
                        st->source, prefix);
    if (has_nf4 && has_fp4)
        return CLQ_BAD_AT(st->source, fp4.offset, "layer '%.200s' has both an nf4 and an fp4 quant_state",
                          prefix);
    if (has_fp4)
        t->state = fp4;
    *format = has_nf4 ? CLQ_FORMAT_NF4 : CLQ_FORMAT_FP4;
    if (t->state.dtype != CLQ_SAFETENSORS_U8)
        return CLQ_BAD_AT(st->source, t->state.offset, "'%.200s' is %s, not U8 bytes of JSON", t->state.name,
                          clq_safetensors_dtype_name(t->state.dtype));
    return CLQ_SUCCESS;
}

/* The JSON fields clq needs, each checked; unknown fields are ignored. */
static clq_status read_state_json(const clq_safetensors *st, const clq_safetensors_tensor *s,
                                  const json_t *root, clq_format format, clq_bnb_info *info)
{
    uint64_t at = s->offset, block, n, k;
    if (!json_is_object(root))
        return CLQ_BAD_AT(st->source, at, "'%.200s' does not hold a JSON object", s->name);
    const char *type = json_string_value(json_object_get(root, "quant_type"));
    const char *want = format == CLQ_FORMAT_NF4 ? "nf4" : "fp4";
    if (!type || strcmp(type, want) != 0)
        return CLQ_BAD_AT(st->source, at, "'%.200s': quant_type is '%.20s', the tensor's name says '%s'",
                          s->name, type ? type : "(missing)", want);
    if (!st_json_uint(json_object_get(root, "blocksize"), UINT32_MAX, &block))
        return CLQ_BAD_AT(st->source, at, "'%.200s': blocksize is not an integer in 32-bit range", s->name);
    const json_t *shape = json_object_get(root, "shape");
    if (!json_is_array(shape) || json_array_size(shape) != 2 ||
        !st_json_uint(json_array_get(shape, 0), UINT32_MAX, &n) ||
        !st_json_uint(json_array_get(shape, 1), UINT32_MAX, &k))
        return CLQ_BAD_AT(st->source, at, "'%.200s': shape is not [N, K] with 32-bit N and K", s->name);
    const char *dtype = json_string_value(json_object_get(root, "dtype"));
    snprintf(info->dtype, sizeof info->dtype, "%s", dtype ? dtype : "");
    info->desc = (clq_weight_desc){format, (uint32_t)block, n, k, 0};

    const json_t *nested_block = json_object_get(root, "nested_blocksize");
    const json_t *offset = json_object_get(root, "nested_offset");
    if (!nested_block && !offset)
        return CLQ_SUCCESS;
    uint64_t nb;
    /* The offset is an fp32 value: a double beyond fp32's range must not be
     * converted (undefined in C). */
    if (!st_json_uint(nested_block, UINT32_MAX, &nb) || !json_is_number(offset) ||
        !(fabs(json_number_value(offset)) <= FLT_MAX))
        return CLQ_BAD_AT(
            st->source, at,
            "'%.200s': nested_blocksize and nested_offset must both be numbers (an fp32 offset)", s->name);
    if (nb != BNB_NESTED_BLOCK)
        return CLQ_FAIL(CLQ_ERROR_UNSUPPORTED_BLOCK, "'%.200s': nested_blocksize %llu; clq reads 256",
                        s->name, (unsigned long long)nb);
    info->desc.double_quant = 1;
    info->nested_offset = (float)json_number_value(offset);
    return CLQ_SUCCESS;
}

/* A tensor of the layer: present, of `dtype`, with `elements` elements. */
static clq_status check_tensor(const clq_safetensors *st, const char *prefix, const char *suffix,
                               clq_safetensors_dtype dtype, uint64_t elements, clq_safetensors_tensor *out)
{
    int status = find(st, prefix, suffix, out);
    if (status == CLQ_ERROR_NOT_FOUND)
        return CLQ_FAIL(CLQ_ERROR_BAD_DATA, "%s: layer '%.200s' has a quant_state but no '%s' tensor",
                        st->source, prefix, suffix);
    CLQ_FORWARD(status);
    if (out->dtype != dtype || out->elements != elements)
        return CLQ_BAD_AT(st->source, out->offset, "'%.200s' is %llu x %s, the quant_state needs %llu x %s",
                          out->name, (unsigned long long)out->elements,
                          clq_safetensors_dtype_name(out->dtype), (unsigned long long)elements,
                          clq_safetensors_dtype_name(dtype));
    return CLQ_SUCCESS;
}

/* quant_map must be the code clq dequantizes with (compared by value, so
 * bitsandbytes' +0 and a -0 are the same entry). */
static clq_status check_quant_map(const clq_safetensors *st, const clq_safetensors_tensor *t,
                                  clq_format format)
{
    const float *code = format == CLQ_FORMAT_NF4 ? st_nf4_code : st_fp4_code;
    float map[16];
    st_to_f32(CLQ_SAFETENSORS_F32, t->data, 16, map);
    for (int i = 0; i < 16; i++)
        if (!(map[i] == code[i]))
            return CLQ_BAD_AT(st->source, t->offset + 4 * (uint64_t)i,
                              "'%.200s'[%d] is %.9g, but the %s code has %.9g there: not a %s quant_map",
                              t->name, i, (double)map[i], clq_format_name(format), (double)code[i],
                              clq_format_name(format));
    return CLQ_SUCCESS;
}

/* Every tensor the state names, against the shape and blocksize. */
static clq_status check_tensors(const clq_safetensors *st, const char *prefix, const clq_bnb_info *info,
                                bnb_tensors *t)
{
    const clq_weight_desc *d = &info->desc;
    CLQ_FORWARD(clq_weight_desc_check(d));
    uint64_t nblocks = d->rows * d->cols / d->block; /* desc_check bounds N·K */
    CLQ_FORWARD(check_tensor(st, prefix, ".weight", CLQ_SAFETENSORS_U8, d->rows * d->cols / 2, &t->weight));
    CLQ_FORWARD(check_tensor(st, prefix, ".weight.absmax",
                             d->double_quant ? CLQ_SAFETENSORS_U8 : CLQ_SAFETENSORS_F32, nblocks,
                             &t->absmax));
    CLQ_FORWARD(check_tensor(st, prefix, ".weight.quant_map", CLQ_SAFETENSORS_F32, 16, &t->quant_map));
    CLQ_FORWARD(check_quant_map(st, &t->quant_map, d->format));
    if (!d->double_quant)
        return CLQ_SUCCESS;
    CLQ_FORWARD(check_tensor(st, prefix, ".weight.nested_absmax", CLQ_SAFETENSORS_F32,
                             clq_ceil_div(nblocks, BNB_NESTED_BLOCK), &t->nested_absmax));
    return check_tensor(st, prefix, ".weight.nested_quant_map", CLQ_SAFETENSORS_F32, 256,
                        &t->nested_quant_map);
}

clq_status st_bnb_read(const clq_safetensors *st, const char *prefix, clq_bnb_info *info, bnb_tensors *t)
{
    clq_format format = CLQ_FORMAT_NF4;
    memset(info, 0, sizeof *info);
    CLQ_FORWARD(find_state(st, prefix, t, &format));
    json_t *root = NULL;
    CLQ_FORWARD(st_json_parse(st->source, t->state.offset, t->state.data, (size_t)t->state.size, &root));
    int status = read_state_json(st, &t->state, root, format, info);
    json_decref(root);
    CLQ_FORWARD(status);
    return check_tensors(st, prefix, info, t);
}

clq_status clq_safetensors_bnb_info(const clq_safetensors *st, const char *prefix, clq_bnb_info *out)
{
    if (!st || !prefix || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_safetensors_bnb_info: st, prefix and out are required");
    clq_bnb_info info;
    bnb_tensors t;
    CLQ_FORWARD(st_bnb_read(st, prefix, &info, &t));
    *out = info;
    return CLQ_SUCCESS;
}

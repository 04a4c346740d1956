/* Helpers of the safetensors reader and the formats built on it: the dtype
 * table, JSON through jansson with offsets for messages, name tables, and
 * widening of fp16 / bf16 to fp32. */
#include <stdlib.h>
#include <string.h>

#include "fp16.h"
#include "safetensors_internal.h"

/* ---- dtypes ---------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned char size;
} dtypes[] = {
    [CLQ_SAFETENSORS_BOOL] = {"BOOL", 1},       [CLQ_SAFETENSORS_U8] = {"U8", 1},
    [CLQ_SAFETENSORS_I8] = {"I8", 1},           [CLQ_SAFETENSORS_F8_E4M3] = {"F8_E4M3", 1},
    [CLQ_SAFETENSORS_F8_E5M2] = {"F8_E5M2", 1}, [CLQ_SAFETENSORS_F8_E8M0] = {"F8_E8M0", 1},
    [CLQ_SAFETENSORS_U16] = {"U16", 2},         [CLQ_SAFETENSORS_I16] = {"I16", 2},
    [CLQ_SAFETENSORS_F16] = {"F16", 2},         [CLQ_SAFETENSORS_BF16] = {"BF16", 2},
    [CLQ_SAFETENSORS_U32] = {"U32", 4},         [CLQ_SAFETENSORS_I32] = {"I32", 4},
    [CLQ_SAFETENSORS_F32] = {"F32", 4},         [CLQ_SAFETENSORS_U64] = {"U64", 8},
    [CLQ_SAFETENSORS_I64] = {"I64", 8},         [CLQ_SAFETENSORS_F64] = {"F64", 8},
    [CLQ_SAFETENSORS_C64] = {"C64", 8},
};
#define DTYPE_COUNT (sizeof dtypes / sizeof dtypes[0])

const char *clq_safetensors_dtype_name(clq_safetensors_dtype dtype)
{
    return (unsigned)dtype < DTYPE_COUNT ? dtypes[dtype].name : NULL;
}

size_t clq_safetensors_dtype_size(clq_safetensors_dtype dtype)
{
    return (unsigned)dtype < DTYPE_COUNT ? dtypes[dtype].size : 0;
}

/* ---- JSON ------------------------------------------------------------------ */

clq_status st_json_parse(const char *source, uint64_t base, const void *text, size_t size, json_t **out)
{
    json_error_t error;
    /* jansson checks UTF-8, refuses \u0000 (keys and values are handed out
     * NUL-terminated) and bounds its nesting depth; duplicate keys would
     * let two readers of one file see two different tensors. */
    json_t *root = json_loadb(text, size, JSON_REJECT_DUPLICATES, &error);
    if (!root)
        return CLQ_BAD_AT(source, base + (uint64_t)(error.position > 0 ? error.position : 0), "JSON: %s",
                          error.text);
    *out = root;
    return CLQ_SUCCESS;
}

uint64_t st_json_key_offset(const void *text, size_t size, uint64_t base, const char *key)
{
    const char *t = text;
    size_t n = strlen(key);
    for (size_t at = 0; n + 2 <= size && at <= size - n - 2; at++)
        if (t[at] == '"' && t[at + n + 1] == '"' && memcmp(t + at + 1, key, n) == 0)
            return base + at;
    return base;
}

bool st_json_uint(const json_t *v, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* ---- name tables ----------------------------------------------------------- */

static int compare_names(const void *pa, const void *pb)
{
    const st_name *a = pa, *b = pb;
    return strcmp(a->text, b->text);
}

void st_sort_names(st_name *names, size_t count)
{
    if (count > 1)
        qsort(names, count, sizeof *names, compare_names);
}

size_t st_lookup(const st_name *names, size_t count, const char *name)
{
    const st_name key = {name, 0};
    const st_name *found = count ? bsearch(&key, names, count, sizeof *names, compare_names) : NULL;
    return found ? found->index : SIZE_MAX;
}

/* ---- widening to fp32 ------------------------------------------------------ */

void st_to_f32(clq_safetensors_dtype dtype, const void *src, size_t count, float *dst)
{
    const unsigned char *p = src;
    for (size_t i = 0; i < count; i++) {
        if (dtype == CLQ_SAFETENSORS_F32) {
            memcpy(&dst[i], p + 4 * i, 4);
            continue;
        }
        uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        if (dtype == CLQ_SAFETENSORS_F16) {
            dst[i] = clq_fp16_to_fp32(h);
        } else { /* BF16: the top half of an fp32 */
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&dst[i], &bits, 4);
        }
    }
}

/*
 * What the safetensors reader's files share: the handle, the sorted name
 * tables, and helpers for the JSON that safetensors, bitsandbytes' quant
 * state and PEFT's adapter_config.json are written in (parsed by jansson).
 */
#ifndef CLQ_SAFETENSORS_INTERNAL_H
#define CLQ_SAFETENSORS_INTERNAL_H

#include <jansson.h>

#include "clq_io.h"
#include "internal.h"

/* A name and its position in file order, for lookups by bisection. */
typedef struct st_name {
    const char *text; /* NUL-terminated */
    size_t index;
} st_name;

struct clq_safetensors {
    const unsigned char *data;
    uint64_t size;
    void *map; /* the mapping clq_safetensors_open made, or NULL for caller memory */
    char *source;
    uint64_t data_start; /* 8 + the header length: where offsets count from */
    size_t tensor_count;
    clq_safetensors_tensor *tensors; /* in the order of their data */
    st_name *tensor_sorted;
    size_t metadata_count;
    const char **metadata; /* key, value, key, value, ... in the header's order */
    st_name *metadata_sorted;
    char *strings; /* NUL-terminated copies of every name, key and value */
};

/* Index in file order of `name` in a table sorted by st_sort_names, or
 * SIZE_MAX. */
size_t st_lookup(const st_name *names, size_t count, const char *name);
void st_sort_names(st_name *names, size_t count);

/* Parses `size` bytes of JSON (jansson, duplicate keys rejected). A syntax
 * error is CLQ_ERROR_BAD_DATA at `base` + its byte position in `source`. */
clq_status st_json_parse(const char *source, uint64_t base, const void *text, size_t size, json_t **out);

/* Where `key` first appears as a JSON string ("key") in `text`, as an
 * absolute offset (base + position); `base` itself when it cannot be
 * found (escaped differently). For messages about an entry that parsed. */
uint64_t st_json_key_offset(const void *text, size_t size, uint64_t base, const char *key);

/* A JSON integer in [0, max] (not a real, not negative). */
bool st_json_uint(const json_t *v, uint64_t max, uint64_t *out);

/* `count` elements of a F32, F16 or BF16 tensor widened to fp32 (exact);
 * the source needs no alignment. */
void st_to_f32(clq_safetensors_dtype dtype, const void *src, size_t count, float *dst);

/* The tensors of one bitsandbytes layer (safetensors_bnb.c), found and
 * checked against its quant state by st_bnb_read. */
typedef struct bnb_tensors {
    clq_safetensors_tensor state, weight, absmax, quant_map, nested_absmax, nested_quant_map;
} bnb_tensors;
/* The codes a bnb quant_map must hold (clq_common.h's, as host arrays). */
extern const float st_nf4_code[16], st_fp4_code[16];
clq_status st_bnb_read(const clq_safetensors *st, const char *prefix, clq_bnb_info *info, bnb_tensors *t);

#endif /* CLQ_SAFETENSORS_INTERNAL_H */

/* PEFT LoRA adapters: adapter_config.json (jansson) and
 * adapter_model.safetensors (the safetensors reader), and a layer's A and B
 * found by module name. No device is needed (adapter sets: peft_lora.c). */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors_internal.h"

/* A config larger than this is not a PEFT config; reading it whole would
 * be an easy way to exhaust memory. */
#define PEFT_MAX_CONFIG (16u << 20)

struct clq_peft {
    clq_safetensors *st;
    json_t *config; /* read-only once checked: safe to share between threads */
    char *source;   /* the config's path, or "PEFT config in memory" */
    clq_peft_config values;
    const json_t *targets;                      /* an array of strings, a string, or NULL */
    const json_t *rank_pattern, *alpha_pattern; /* objects, or NULL */
    size_t module_count;
    char **modules;   /* the module of each "<module>.lora_A.weight", NUL-terminated */
    size_t *module_a; /* the index of that lora_A tensor */
    char *module_names;
};

/* ---- the config -------------------------------------------------------------- */

typedef struct config_text {
    const char *text;
    size_t size;
    const char *source;
} config_text;

static uint64_t key_at(const config_text *c, const char *key)
{
    return st_json_key_offset(c->text, c->size, 0, key);
}

static clq_status check_targets(clq_peft *p, const config_text *c)
{
    const json_t *t = json_object_get(p->config, "target_modules");
    if (!t || json_is_null(t))
        return CLQ_SUCCESS;
    if (json_is_string(t)) {
        p->targets = t;
        p->values.target_module_count = 1;
        return CLQ_SUCCESS;
    }
    if (!json_is_array(t))
        return CLQ_BAD_AT(c->source, key_at(c, "target_modules"),
                          "target_modules is neither a list nor a string");
    for (size_t i = 0; i < json_array_size(t); i++)
        if (!json_is_string(json_array_get(t, i)))
            return CLQ_BAD_AT(c->source, key_at(c, "target_modules"), "target_modules[%zu] is not a string",
                              i);
    p->targets = t;
    p->values.target_module_count = json_array_size(t);
    return CLQ_SUCCESS;
}

/* rank_pattern: module -> rank; alpha_pattern: module -> alpha. */
static clq_status check_pattern(const config_text *c, const json_t *config, const char *name, bool ranks,
                                const json_t **out)
{
    const json_t *pattern = json_object_get(config, name);
    if (!pattern || json_is_null(pattern))
        return CLQ_SUCCESS;
    if (!json_is_object(pattern))
        return CLQ_BAD_AT(c->source, key_at(c, name), "%s is not an object", name);
    const char *key;
    json_t *v;
    uint64_t rank;
    json_object_foreach((json_t *)pattern, key, v)
    {
        bool ok = ranks ? st_json_uint(v, CLQ_MAX_LORA_RANK, &rank) && rank > 0
                        : json_is_number(v) && isfinite(json_number_value(v));
        if (!ok)
            return CLQ_BAD_AT(c->source, key_at(c, key), "%s['%.200s'] is not %s", name, key,
                              ranks ? "a rank from 1 to 1024" : "a finite number");
    }
    *out = pattern;
    return CLQ_SUCCESS;
}

static clq_status check_config(clq_peft *p, const config_text *c)
{
    const json_t *root = p->config;
    if (!json_is_object(root))
        return CLQ_BAD_AT(c->source, 0, "the config is not a JSON object");
    uint64_t r;
    if (!st_json_uint(json_object_get(root, "r"), CLQ_MAX_LORA_RANK, &r) || r == 0)
        return CLQ_BAD_AT(c->source, key_at(c, "r"), "r is missing or not a rank from 1 to %d",
                          CLQ_MAX_LORA_RANK);
    const json_t *alpha = json_object_get(root, "lora_alpha");
    if (!json_is_number(alpha) || !isfinite(json_number_value(alpha)))
        return CLQ_BAD_AT(c->source, key_at(c, "lora_alpha"), "lora_alpha is missing or not a finite number");
    const json_t *rslora = json_object_get(root, "use_rslora");
    if (rslora && !json_is_boolean(rslora) && !json_is_null(rslora))
        return CLQ_BAD_AT(c->source, key_at(c, "use_rslora"), "use_rslora is not true or false");
    p->values = (clq_peft_config){(uint32_t)r, json_number_value(alpha), json_is_true(rslora), 0};
    CLQ_FORWARD(check_targets(p, c));
    CLQ_FORWARD(check_pattern(c, root, "rank_pattern", true, &p->rank_pattern));
    return check_pattern(c, root, "alpha_pattern", false, &p->alpha_pattern);
}

static clq_status parse_config(clq_peft *p, const config_text *c)
{
    CLQ_FORWARD(st_json_parse(c->source, 0, c->text, c->size, &p->config));
    return check_config(p, c);
}

/* ---- modules ------------------------------------------------------------------ */

#define LORA_A_SUFFIX ".lora_A.weight"

static size_t module_length(const char *tensor)
{
    size_t n = strlen(tensor), s = strlen(LORA_A_SUFFIX);
    return n >= s && strcmp(tensor + n - s, LORA_A_SUFFIX) == 0 ? n - s : SIZE_MAX;
}

/* The modules the file adapts, one per lora_A tensor, named once here so
 * that layers are handed out with NUL-terminated module names. */
static clq_status list_modules(clq_peft *p)
{
    size_t count = 0, bytes = 1;
    for (size_t k = 0; k < p->st->tensor_count; k++) {
        size_t n = module_length(p->st->tensors[k].name);
        if (n != SIZE_MAX) {
            count++;
            bytes += n + 1;
        }
    }
    p->modules = calloc(count + 1, sizeof *p->modules);
    p->module_a = calloc(count + 1, sizeof *p->module_a);
    char *at = p->module_names = malloc(bytes);
    if (!p->modules || !p->module_a || !at)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating %zu module names", count);
    for (size_t k = 0; k < p->st->tensor_count; k++) {
        size_t n = module_length(p->st->tensors[k].name);
        if (n == SIZE_MAX)
            continue;
        memcpy(at, p->st->tensors[k].name, n);
        at[n] = '\0';
        p->modules[p->module_count] = at;
        p->module_a[p->module_count++] = k;
        at += n + 1;
    }
    return CLQ_SUCCESS;
}

/* ---- opening ------------------------------------------------------------------ */

void clq_peft_close(clq_peft *p)
{
    if (!p)
        return;
    clq_safetensors_close(p->st);
    json_decref(p->config);
    free(p->modules);
    free(p->module_a);
    free(p->module_names);
    free(p->source);
    free(p);
}

static clq_status new_handle(const char *source, clq_peft **out)
{
    clq_peft *p = calloc(1, sizeof *p);
    char *copy = strdup(source);
    if (!p || !copy) {
        free(p);
        free(copy);
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating a PEFT handle");
    }
    p->source = copy;
    *out = p;
    return CLQ_SUCCESS;
}

/* After the config and the tensors were read (`status`): lists the modules
 * and hands the handle out, or frees it. */
static clq_status finish_open(clq_peft *p, int status, clq_peft **out)
{
    if (status == CLQ_SUCCESS)
        status = list_modules(p);
    if (status != CLQ_SUCCESS) {
        clq_peft_close(p);
        return status;
    }
    *out = p;
    return CLQ_SUCCESS;
}

clq_status clq_peft_open_memory(const void *config, size_t config_size, const void *tensors,
                                size_t tensors_size, clq_peft **out)
{
    if (!out || (!config && config_size) || (!tensors && tensors_size))
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_peft_open_memory: config, tensors and out are required");
    clq_peft *p = NULL;
    CLQ_FORWARD(new_handle("PEFT config in memory", &p));
    config_text c = {config, config_size, p->source};
    int status = parse_config(p, &c);
    if (status == CLQ_SUCCESS)
        status = clq_safetensors_open_memory(tensors, tensors_size, &p->st);
    return finish_open(p, status, out);
}

/* dir/name into buf. */
static clq_status join(char *buf, size_t len, const char *dir, const char *name)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len)
        return CLQ_FAIL(CLQ_ERROR_IO, "%.200s: path too long", dir);
    return CLQ_SUCCESS;
}

clq_status clq_peft_open(const char *dir, clq_peft **out)
{
    if (!dir || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_peft_open: dir and out are required");
    char config_path[4096], tensors_path[4096];
    CLQ_FORWARD(join(config_path, sizeof config_path, dir, "adapter_config.json"));
    CLQ_FORWARD(join(tensors_path, sizeof tensors_path, dir, "adapter_model.safetensors"));
    clq_peft *p = NULL;
    CLQ_FORWARD(new_handle(config_path, &p));
    /* The config is mapped like the tensors, and parsed where it lies. */
    void *map = NULL;
    uint64_t size = 0;
    int status = clq_map_file(config_path, &map, &size);
    if (status == CLQ_SUCCESS && size > PEFT_MAX_CONFIG)
        status = CLQ_BAD_AT(config_path, PEFT_MAX_CONFIG, "a PEFT config is not larger than %u bytes",
                            PEFT_MAX_CONFIG);
    if (status == CLQ_SUCCESS) {
        config_text c = {map, (size_t)size, p->source};
        status = parse_config(p, &c);
    }
    clq_unmap_file(map, size);
    if (status == CLQ_SUCCESS)
        status = clq_safetensors_open(tensors_path, &p->st);
    return finish_open(p, status, out);
}

clq_status clq_peft_config_get(const clq_peft *p, clq_peft_config *out)
{
    if (!p || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_peft_config_get: peft and out are required");
    *out = p->values;
    return CLQ_SUCCESS;
}

const char *clq_peft_target_module(const clq_peft *p, size_t index)
{
    if (!p || index >= p->values.target_module_count)
        return NULL;
    return json_is_string(p->targets) ? json_string_value(p->targets)
                                      : json_string_value(json_array_get(p->targets, index));
}

const clq_safetensors *clq_peft_tensors(const clq_peft *p)
{
    return p ? p->st : NULL;
}

/* ---- layers ------------------------------------------------------------------- */

/* Does `name` end with `suffix` at a '.' boundary, or equal it? */
static bool ends_at_dot(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return s <= n && memcmp(name + n - s, suffix, s) == 0 && (s == n || name[n - s - 1] == '.');
}

/* The one module that ends with `layer`. */
static clq_status find_module(const clq_peft *p, const char *layer, size_t *out)
{
    size_t found = SIZE_MAX;
    for (size_t k = 0; k < p->module_count; k++) {
        if (!ends_at_dot(p->modules[k], layer))
            continue;
        if (found != SIZE_MAX)
            return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT,
                            "%s: '%.200s' names several modules ('%.200s' and '%.200s')", p->st->source,
                            layer, p->modules[found], p->modules[k]);
        found = k;
    }
    if (found == SIZE_MAX)
        return CLQ_FAIL(CLQ_ERROR_NOT_FOUND,
                        "%s has no module '%.200s' (a '<module>" LORA_A_SUFFIX "' tensor)", p->st->source,
                        layer);
    *out = found;
    return CLQ_SUCCESS;
}

/* A pattern entry whose key is the module or a dot-separated suffix of it. */
static const json_t *pattern_value(const json_t *pattern, const char *module)
{
    const char *key;
    json_t *v;
    if (pattern)
        json_object_foreach((json_t *)pattern, key, v) if (ends_at_dot(module, key)) return v;
    return NULL;
}

static bool is_float(clq_safetensors_dtype d)
{
    return d == CLQ_SAFETENSORS_F32 || d == CLQ_SAFETENSORS_F16 || d == CLQ_SAFETENSORS_BF16;
}

static clq_status check_layer(const clq_peft *p, clq_peft_layer *l)
{
    const char *src = p->st->source;
    const clq_safetensors_tensor *a = &l->a, *b = &l->b;
    if (!is_float(a->dtype) || !is_float(b->dtype) || a->n_dims != 2 || b->n_dims != 2)
        return CLQ_BAD_AT(src, a->offset,
                          "'%.200s' and its lora_B must be 2-D F32, F16 or BF16 (they are %u-D %s, %u-D %s)",
                          a->name, a->n_dims, clq_safetensors_dtype_name(a->dtype), b->n_dims,
                          clq_safetensors_dtype_name(b->dtype));
    if (a->dims[0] != b->dims[1] || a->dims[0] == 0 || a->dims[0] > CLQ_MAX_LORA_RANK || a->dims[1] == 0 ||
        b->dims[0] == 0)
        return CLQ_BAD_AT(
            src, b->offset,
            "module '%.200s': lora_A is %llu x %llu and lora_B %llu x %llu, not r x K and N x r", l->module,
            (unsigned long long)a->dims[0], (unsigned long long)a->dims[1], (unsigned long long)b->dims[0],
            (unsigned long long)b->dims[1]);
    const json_t *rank = pattern_value(p->rank_pattern, l->module);
    uint64_t want = rank ? (uint64_t)json_integer_value(rank) : p->values.r;
    if (a->dims[0] != want)
        return CLQ_BAD_AT(src, a->offset, "module '%.200s' has rank %llu, the config says %llu%s", l->module,
                          (unsigned long long)a->dims[0], (unsigned long long)want,
                          rank ? " (rank_pattern)" : "");
    const json_t *alpha = pattern_value(p->alpha_pattern, l->module);
    l->rank = (uint32_t)want;
    l->rows = b->dims[0];
    l->cols = a->dims[1];
    l->alpha = alpha ? json_number_value(alpha) : p->values.lora_alpha;
    /* PEFT's own arithmetic: Python floats, then the product in fp32. A
     * double out of fp32's range must not be converted (undefined in C). */
    double scale = l->alpha / (p->values.use_rslora ? sqrt((double)want) : (double)want);
    if (!(fabs(scale) <= FLT_MAX))
        return CLQ_BAD_AT(src, a->offset, "module '%.200s': the scale alpha/r = %g is beyond fp32", l->module,
                          scale);
    l->scale = (float)scale;
    return CLQ_SUCCESS;
}

clq_status clq_peft_find_layer(const clq_peft *p, const char *layer, clq_peft_layer *out)
{
    if (!p || !layer || !out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_peft_find_layer: peft, layer and out are required");
    clq_peft_layer l;
    memset(&l, 0, sizeof l);
    size_t m = 0, index;
    CLQ_FORWARD(find_module(p, layer, &m));
    l.module = p->modules[m];
    l.a = p->st->tensors[p->module_a[m]];
    char b_name[4096];
    int n = snprintf(b_name, sizeof b_name, "%s.lora_B.weight", l.module);
    if (n < 0 || (size_t)n >= sizeof b_name ||
        clq_safetensors_find_tensor(p->st, b_name, &index) != CLQ_SUCCESS)
        return CLQ_BAD_AT(p->st->source, l.a.offset, "'%.200s' has no lora_B beside it", l.a.name);
    CLQ_FORWARD(clq_safetensors_tensor_info(p->st, index, &l.b));
    CLQ_FORWARD(check_layer(p, &l));
    *out = l;
    return CLQ_SUCCESS;
}

/*
 * `clq inspect FILE`: what a GGUF or safetensors file (or a PEFT adapter
 * folder) holds: its metadata, and every tensor with its type, shape and
 * byte size; for safetensors also the bitsandbytes layers found. Needs no
 * device.
 */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clq_io.h"
#include "tool.h"

static const char *const NAME = "inspect";

static void print_help(void)
{
    printf("usage: clq inspect FILE.gguf | FILE.safetensors | ADAPTERDIR\n\n"
           "Lists the metadata and every tensor (type, shape, bytes) of a GGUF or\n"
           "safetensors file, the bitsandbytes 4-bit layers of a safetensors file, or\n"
           "the config and layers of a PEFT adapter folder. The file kind is told by\n"
           "its first bytes, not its name.\n\n"
           "  -h, --help   this help\n");
}

/* ---- GGUF ------------------------------------------------------------------- */

static void print_gguf_value(const clq_gguf_value *v)
{
    switch (v->type) {
    case CLQ_GGUF_STRING:
        printf("\"%.*s\"", (int)(v->string.length < 80 ? v->string.length : 80), v->string.data);
        if (v->string.length > 80)
            printf("... (%zu bytes)", v->string.length);
        break;
    case CLQ_GGUF_ARRAY: {
        static const char *const names[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                            "int32",  "float32", "bool",   "string", "array",
                                            "uint64", "int64",   "float64"};
        printf("[%llu %s values]", (unsigned long long)v->array_count,
               (unsigned)v->array_type < 13 ? names[v->array_type] : "?");
        break;
    }
    case CLQ_GGUF_FLOAT32:
    case CLQ_GGUF_FLOAT64:
        printf("%.9g", v->f);
        break;
    case CLQ_GGUF_INT8:
    case CLQ_GGUF_INT16:
    case CLQ_GGUF_INT32:
    case CLQ_GGUF_INT64:
        printf("%lld", (long long)v->i);
        break;
    case CLQ_GGUF_BOOL:
        printf("%s", v->u ? "true" : "false");
        break;
    default:
        printf("%llu", (unsigned long long)v->u);
    }
}

static int inspect_gguf(const char *path)
{
    clq_gguf *g = NULL;
    int status = clq_gguf_open(path, &g);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, "clq_gguf_open", status);
    printf("%s: GGUF version %u, alignment %u, %zu metadata keys, %zu tensors\n", path, clq_gguf_version(g),
           clq_gguf_alignment(g), clq_gguf_metadata_count(g), clq_gguf_tensor_count(g));
    for (size_t k = 0; k < clq_gguf_metadata_count(g); k++) {
        clq_gguf_value v;
        clq_gguf_metadata_get(g, k, &v);
        printf("  %s = ", v.key);
        print_gguf_value(&v);
        printf("\n");
    }
    /* "loads as": the clq format clq_gguf_load_weight gives a quantized
     * tensor (as stored), "quantized" for f32/f16, "-" for types it refuses. */
    printf("%-40s %-8s %-24s %-12s %s\n", "tensor", "type", "shape (ne[0] first)", "bytes", "loads as");
    for (size_t k = 0; k < clq_gguf_tensor_count(g); k++) {
        clq_gguf_tensor t;
        clq_gguf_tensor_info(g, k, &t);
        char shape[96] = "";
        for (uint32_t d = 0; d < t.n_dims; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", d ? " x " : "",
                     (unsigned long long)t.dims[d]);
        const char *type = clq_ggml_type_name(t.type);
        clq_format format;
        const char *loads = t.type == CLQ_GGML_Q4_0                            ? "q4"
                            : t.type == CLQ_GGML_Q8_0                          ? "q8"
                            : t.type == CLQ_GGML_F32 || t.type == CLQ_GGML_F16 ? "quantized"
                            : type && clq_format_from_name(type, &format) == CLQ_SUCCESS
                                ? clq_format_name(format)
                                : "-";
        printf("%-40s %-8s %-24s %-12llu %s\n", t.name, type ? type : "?", shape, (unsigned long long)t.size,
               loads);
    }
    clq_gguf_close(g);
    return TOOL_EXIT_OK;
}

/* ---- safetensors ------------------------------------------------------------ */

static void shape_text(const uint64_t *dims, uint32_t n_dims, char *buf, size_t len)
{
    snprintf(buf, len, "[");
    for (uint32_t d = 0; d < n_dims; d++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%llu", d ? ", " : "", (unsigned long long)dims[d]);
    snprintf(buf + strlen(buf), len - strlen(buf), "]");
}

/* Every "<prefix>.weight.quant_state.bitsandbytes__*" tensor names a layer. */
static void print_bnb_layers(const clq_safetensors *st)
{
    static const char key[] = ".weight.quant_state.bitsandbytes__";
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        clq_safetensors_tensor_info(st, k, &t);
        const char *at = strstr(t.name, key);
        if (!at)
            continue;
        char prefix[512];
        snprintf(prefix, sizeof prefix, "%.*s", (int)(at - t.name), t.name);
        clq_bnb_info info;
        if (clq_safetensors_bnb_info(st, prefix, &info) != CLQ_SUCCESS) {
            printf("  bnb layer %s: unreadable: %s\n", prefix, clq_last_error());
            continue;
        }
        printf("  bnb layer %s: %s, block %u, %llu x %llu%s, dtype %s\n", prefix,
               clq_format_name(info.desc.format), info.desc.block, (unsigned long long)info.desc.rows,
               (unsigned long long)info.desc.cols, info.desc.double_quant ? ", double-quantized" : "",
               info.dtype);
    }
}

static int inspect_safetensors(const char *path, const clq_safetensors *st)
{
    printf("%s: safetensors, %zu metadata keys, %zu tensors\n", path, clq_safetensors_metadata_count(st),
           clq_safetensors_tensor_count(st));
    for (size_t k = 0; k < clq_safetensors_metadata_count(st); k++) {
        const char *key, *value;
        clq_safetensors_metadata_get(st, k, &key, &value);
        printf("  %s = \"%.80s\"%s\n", key, value, strlen(value) > 80 ? "..." : "");
    }
    print_bnb_layers(st);
    printf("%-56s %-8s %-20s %s\n", "tensor", "dtype", "shape", "bytes");
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        clq_safetensors_tensor_info(st, k, &t);
        char shape[160];
        shape_text(t.dims, t.n_dims, shape, sizeof shape);
        printf("%-56s %-8s %-20s %llu\n", t.name, clq_safetensors_dtype_name(t.dtype), shape,
               (unsigned long long)t.size);
    }
    return TOOL_EXIT_OK;
}

static int inspect_peft(const char *dir)
{
    clq_peft *p = NULL;
    int status = clq_peft_open(dir, &p);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, "clq_peft_open", status);
    clq_peft_config c;
    clq_peft_config_get(p, &c);
    printf("%s: PEFT LoRA adapter, r = %u, lora_alpha = %.9g%s, target modules:", dir, c.r, c.lora_alpha,
           c.use_rslora ? ", use_rslora" : "");
    for (size_t k = 0; k < c.target_module_count; k++)
        printf(" %s", clq_peft_target_module(p, k));
    printf("\n");
    const clq_safetensors *st = clq_peft_tensors(p);
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        clq_safetensors_tensor_info(st, k, &t);
        size_t n = strlen(t.name), s = strlen(".lora_A.weight");
        if (n <= s || strcmp(t.name + n - s, ".lora_A.weight") != 0)
            continue;
        char module[512];
        snprintf(module, sizeof module, "%.*s", (int)(n - s), t.name);
        clq_peft_layer l;
        if (clq_peft_find_layer(p, module, &l) == CLQ_SUCCESS)
            printf("  layer %s: rank %u, %llu x %llu, %s, scale %.9g\n", l.module, l.rank,
                   (unsigned long long)l.rows, (unsigned long long)l.cols,
                   clq_safetensors_dtype_name(l.a.dtype), (double)l.scale);
        else
            printf("  layer %s: unreadable: %s\n", module, clq_last_error());
    }
    clq_peft_close(p);
    return TOOL_EXIT_OK;
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option long_options[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    opterr = 0;
    for (int opt; (opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1;) {
        if (opt != 'h')
            return tool_bad_option(NAME, opt, argv);
        print_help();
        return TOOL_EXIT_OK;
    }
    if (argc - optind != 1)
        return tool_usage_error(NAME, argc - optind < 1 ? "expected a FILE" : "expected one FILE");
    const char *path = argv[optind];
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return inspect_peft(path);
    /* Opening a FIFO to read its magic would wait for a writer. */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return tool_error(NAME, "'%s' is not a regular file", path);
    char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return tool_error(NAME, "cannot open '%s'", path);
    size_t got = fread(magic, 1, 4, f);
    fclose(f);
    if (got == 4 && memcmp(magic, "GGUF", 4) == 0)
        return inspect_gguf(path);
    clq_safetensors *st = NULL;
    int status = clq_safetensors_open(path, &st);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, "neither GGUF nor safetensors: clq_safetensors_open", status);
    int rc = inspect_safetensors(path, st);
    clq_safetensors_close(st);
    return rc;
}

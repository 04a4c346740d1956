/*
 * `clq inspect FILE`: what a GGUF or safetensors file (or a PEFT adapter
 * folder) holds: its metadata, and every tensor with its type, shape and
 * byte size; for safetensors also the bitsandbytes layers found. Needs no
 * device.
 */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <stdbool.h>
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

/* ---- text from the file ------------------------------------------------------ */

/* Names and values come from the file: control characters (ESC, BEL, CR:
 * terminal title and colour sequences, forged lines), C1 controls and
 * bidirectional overrides are printed as escapes, and so are bytes that are
 * not UTF-8; a backslash is doubled, so the output stays unambiguous. */

/* The code point of a valid UTF-8 sequence at s (at most len bytes), and
 * its length in *n; -1 if the sequence is not valid (overlong, surrogate,
 * beyond U+10FFFF, cut short). */
static long utf8_decode(const unsigned char *s, size_t len, size_t *n)
{
    static const long min_of[4] = {0, 0x80, 0x800, 0x10000};
    size_t k = s[0] >= 0xf0 ? 3 : s[0] >= 0xe0 ? 2 : s[0] >= 0xc0 ? 1 : 0;
    if (k == 0 || s[0] >= 0xf8 || len <= k)
        return -1;
    long c = s[0] & (0x3f >> k);
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min_of[k] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *n = k + 1;
    return c;
}

static bool is_format_control(long c)
{
    return (c >= 0x80 && c <= 0x9f) || c == 0x61c || c == 0x200e || c == 0x200f ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

/* Prints len bytes of s escaped; returns the characters printed. */
static int put_escaped(FILE *out, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    int printed = 0;
    for (size_t i = 0; i < len;) {
        unsigned char b = s[i];
        size_t n = 1;
        long c = b < 0x80 ? b : utf8_decode(s + i, len - i, &n);
        if (c == '\\')
            printed += fprintf(out, "\\\\");
        else if (c == '\n' || c == '\r' || c == '\t')
            printed += fprintf(out, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        else if (c < 0 || c < 0x20 || c == 0x7f)
            printed += fprintf(out, "\\x%02x", b);
        else if (is_format_control(c))
            printed += fprintf(out, "\\u%04lx", c);
        else {
            fwrite(s + i, 1, n, out);
            printed++;
        }
        i += n;
    }
    return printed;
}

/* A NUL-terminated name, escaped, padded with spaces to `width`. */
static void put_name(const char *name, int width)
{
    int printed = put_escaped(stdout, name, strlen(name));
    printf("%*s", printed < width ? width - printed : 0, "");
}

/* A string value in quotes: at most `limit` bytes of it, cut between
 * characters, then how long the whole was if it was cut. */
static void put_value(const char *text, size_t len, size_t limit)
{
    size_t cut = len < limit ? len : limit;
    for (int back = 0; cut < len && back < 3 && ((unsigned char)text[cut] & 0xc0) == 0x80; back++)
        cut--;
    printf("\"");
    put_escaped(stdout, text, cut);
    printf("\"");
    if (cut < len)
        printf("... (%zu bytes)", len);
}

/* tool_library_error, with clq_last_error() escaped: it quotes names from
 * the file. */
static int library_error(const char *call, int status)
{
    const char *why = clq_last_error();
    fprintf(stderr, "clq %s: %s failed: ", NAME, call);
    if (why && *why)
        put_escaped(stderr, why, strlen(why));
    else
        fputs(clq_status_string(status), stderr);
    fputc('\n', stderr);
    return TOOL_EXIT_RUNTIME;
}

/* ---- GGUF ------------------------------------------------------------------- */

static void print_gguf_value(const clq_gguf_value *v)
{
    switch (v->type) {
    case CLQ_GGUF_STRING:
        put_value(v->string.data, v->string.length, 80);
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
        return library_error("clq_gguf_open", status);
    put_escaped(stdout, path, strlen(path));
    printf(": GGUF version %u, alignment %u, %zu metadata keys, %zu tensors\n", clq_gguf_version(g),
           clq_gguf_alignment(g), clq_gguf_metadata_count(g), clq_gguf_tensor_count(g));
    for (size_t k = 0; k < clq_gguf_metadata_count(g); k++) {
        clq_gguf_value v;
        clq_gguf_metadata_get(g, k, &v);
        printf("  ");
        put_escaped(stdout, v.key, strlen(v.key));
        printf(" = ");
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
        put_name(t.name, 40);
        printf(" %-8s %-24s %-12llu %s\n", type ? type : "?", shape, (unsigned long long)t.size, loads);
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

/* Every "<prefix>.weight.quant_state.bitsandbytes__*" tensor names a layer.
 * Returns 0, or -1 when out of memory. */
static int print_bnb_layers(const clq_safetensors *st)
{
    static const char key[] = ".weight.quant_state.bitsandbytes__";
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        clq_safetensors_tensor_info(st, k, &t);
        const char *at = strstr(t.name, key);
        if (!at)
            continue;
        char *prefix = strndup(t.name, (size_t)(at - t.name));
        if (!prefix)
            return -1;
        clq_bnb_info info;
        printf("  bnb layer ");
        put_escaped(stdout, prefix, strlen(prefix));
        if (clq_safetensors_bnb_info(st, prefix, &info) != CLQ_SUCCESS) {
            const char *why = clq_last_error();
            printf(": unreadable: ");
            put_escaped(stdout, why, strlen(why));
        } else {
            printf(": %s, block %u, %llu x %llu%s, dtype ", clq_format_name(info.desc.format),
                   info.desc.block, (unsigned long long)info.desc.rows, (unsigned long long)info.desc.cols,
                   info.desc.double_quant ? ", double-quantized" : "");
            put_escaped(stdout, info.dtype, strlen(info.dtype));
        }
        printf("\n");
        free(prefix);
    }
    return 0;
}

static int inspect_safetensors(const char *path, const clq_safetensors *st)
{
    put_escaped(stdout, path, strlen(path));
    printf(": safetensors, %zu metadata keys, %zu tensors\n", clq_safetensors_metadata_count(st),
           clq_safetensors_tensor_count(st));
    for (size_t k = 0; k < clq_safetensors_metadata_count(st); k++) {
        const char *key, *value;
        clq_safetensors_metadata_get(st, k, &key, &value);
        printf("  ");
        put_escaped(stdout, key, strlen(key));
        printf(" = ");
        put_value(value, strlen(value), 80);
        printf("\n");
    }
    if (print_bnb_layers(st) != 0)
        return tool_error(NAME, "out of memory");
    printf("%-56s %-8s %-20s %s\n", "tensor", "dtype", "shape", "bytes");
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        clq_safetensors_tensor_info(st, k, &t);
        char shape[160];
        shape_text(t.dims, t.n_dims, shape, sizeof shape);
        put_name(t.name, 56);
        printf(" %-8s %-20s %llu\n", clq_safetensors_dtype_name(t.dtype), shape, (unsigned long long)t.size);
    }
    return TOOL_EXIT_OK;
}

static int inspect_peft(const char *dir)
{
    clq_peft *p = NULL;
    int status = clq_peft_open(dir, &p);
    if (status != CLQ_SUCCESS)
        return library_error("clq_peft_open", status);
    clq_peft_config c;
    clq_peft_config_get(p, &c);
    put_escaped(stdout, dir, strlen(dir));
    printf(": PEFT LoRA adapter, r = %u, lora_alpha = %.9g%s, target modules:", c.r, c.lora_alpha,
           c.use_rslora ? ", use_rslora" : "");
    for (size_t k = 0; k < c.target_module_count; k++) {
        const char *target = clq_peft_target_module(p, k);
        printf(" ");
        put_escaped(stdout, target, strlen(target));
    }
    printf("\n");
    const clq_safetensors *st = clq_peft_tensors(p);
    for (size_t k = 0; k < clq_safetensors_tensor_count(st); k++) {
        clq_safetensors_tensor t;
        clq_safetensors_tensor_info(st, k, &t);
        size_t n = strlen(t.name), s = strlen(".lora_A.weight");
        if (n <= s || strcmp(t.name + n - s, ".lora_A.weight") != 0)
            continue;
        /* The module's whole name, as `clq matmul --lora DIR:LAYER` passes it. */
        char *module = strndup(t.name, n - s);
        if (!module) {
            clq_peft_close(p);
            return tool_error(NAME, "out of memory");
        }
        clq_peft_layer l;
        printf("  layer ");
        put_escaped(stdout, module, n - s);
        if (clq_peft_find_layer(p, module, &l) == CLQ_SUCCESS) {
            printf(": rank %u, %llu x %llu, %s, scale %.9g\n", l.rank, (unsigned long long)l.rows,
                   (unsigned long long)l.cols, clq_safetensors_dtype_name(l.a.dtype), (double)l.scale);
        } else {
            const char *why = clq_last_error();
            printf(": unreadable: ");
            put_escaped(stdout, why, strlen(why));
            printf("\n");
        }
        free(module);
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
        return library_error("neither GGUF nor safetensors: clq_safetensors_open", status);
    int rc = inspect_safetensors(path, st);
    clq_safetensors_close(st);
    return rc;
}

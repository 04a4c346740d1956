/*
 * `clq quantize`: an N×K fp32 file into a folder of one external layout
 * (tests/data/README.md), laid out exactly like the reference vectors so the
 * two can be compared file by file.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folder.h"
#include "tool.h"

static const char *const NAME = "quantize";

#define VALID_PAIRS "ggml: q4, q8 with block 32, and ggml's types; bnb: nf4, fp4, dynamic8; ort: q4z"

typedef struct quantize_args {
    const char *format, *layout, *block, *rows, *cols, *device;
    int double_quant;
    const char *input, *outdir;
} quantize_args;

static void print_help(void)
{
    printf("usage: clq quantize --format F --layout L --block B --rows N --cols K [--double-quant]\n"
           "                    [--device SEL] INPUT.f32 OUTDIR\n\n"
           "Quantizes the N x K row-major fp32 matrix in INPUT.f32 on the device and writes\n"
           "OUTDIR: meta.txt, the arrays of layout L, a copy of the input (input.f32) and\n"
           "its dequantization (dequant.f32). See tests/data/README.md for the files.\n\n"
           "  -f, --format F       q8, q4, q4z, nf4, fp4, dynamic8, or ggml's q4_1, q5_0, q5_1,\n"
           "                       q2_k ... q6_k, iq4_nl, iq4_xs (blocks of 32 or 256 as the type has)\n"
           "  -l, --layout L       the layout that holds F:\n"
           "                       " VALID_PAIRS "\n"
           "  -b, --block B        block size along K, a power of two from 16 to 4096\n"
           "  -n, --rows N         rows (output features)\n"
           "  -k, --cols K         columns (input features), a multiple of B\n"
           "  -q, --double-quant   quantize the absmax again to 8 bits (nf4 and fp4)\n"
           "  -d, --device SEL     'platform:device' or part of a device name\n"
           "  -h, --help           this help\n");
}

/* Returns -1 to go on, else the exit status (help shown or bad usage). */
static int parse_args(int argc, char **argv, quantize_args *a)
{
    static const struct option long_options[] = {
        {"format", required_argument, NULL, 'f'},
        {"layout", required_argument, NULL, 'l'},
        {"block", required_argument, NULL, 'b'},
        {"rows", required_argument, NULL, 'n'},
        {"cols", required_argument, NULL, 'k'},
        {"double-quant", no_argument, NULL, 'q'},
        {"device", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    opterr = 0; /* tool_bad_option prints our own one-line message */
    for (int opt; (opt = getopt_long(argc, argv, ":f:l:b:n:k:qd:h", long_options, NULL)) != -1;) {
        switch (opt) {
        case 'f':
            a->format = optarg;
            break;
        case 'l':
            a->layout = optarg;
            break;
        case 'b':
            a->block = optarg;
            break;
        case 'n':
            a->rows = optarg;
            break;
        case 'k':
            a->cols = optarg;
            break;
        case 'q':
            a->double_quant = 1;
            break;
        case 'd':
            a->device = optarg;
            break;
        case 'h':
            print_help();
            return TOOL_EXIT_OK;
        default:
            return tool_bad_option(NAME, opt, argv);
        }
    }
    const char *missing = !a->format   ? "--format"
                          : !a->layout ? "--layout"
                          : !a->block  ? "--block"
                          : !a->rows   ? "--rows"
                          : !a->cols   ? "--cols"
                                       : NULL;
    if (missing)
        return tool_usage_error(NAME, "missing required option %s", missing);
    if (argc - optind < 2)
        return tool_usage_error(NAME, "expected INPUT.f32 and OUTDIR after the options");
    if (argc - optind > 2)
        return tool_usage_error(NAME, "unexpected argument '%s'", argv[optind + 2]);
    a->input = argv[optind];
    a->outdir = argv[optind + 1];
    return -1;
}

/* Turns the options into a checked description and the sizes of the layout's
 * arrays. Returns -1 to go on, else the exit status. */
static int make_desc(const quantize_args *a, clq_weight_desc *desc, clq_layout *layout, clq_external *sizes)
{
    clq_format format;
    if (clq_format_from_name(a->format, &format) != CLQ_SUCCESS)
        return tool_usage_error(NAME, "unknown format '%s' (q8, q4, q4z, nf4, fp4 or dynamic8)", a->format);
    if (clq_layout_from_name(a->layout, layout) != CLQ_SUCCESS)
        return tool_usage_error(NAME, "unknown layout '%s' (ggml, bnb or ort)", a->layout);
    uint64_t block, rows, cols;
    if (tool_parse_u64(NAME, "--block", a->block, 1, UINT32_MAX, &block) != 0 ||
        tool_parse_u64(NAME, "--rows", a->rows, 1, UINT64_MAX, &rows) != 0 ||
        tool_parse_u64(NAME, "--cols", a->cols, 1, UINT64_MAX, &cols) != 0)
        return TOOL_EXIT_USAGE;
    *desc = (clq_weight_desc){format, (uint32_t)block, rows, cols, a->double_quant};

    /* The library's sentence names the exact rule broken (block not a power
     * of two, K not a multiple of the block, double quant on q8, ...). */
    int status = clq_weight_desc_check(desc);
    if (status != CLQ_SUCCESS)
        return tool_usage_error(NAME, "invalid matrix description: %s", clq_last_error());
    status = clq_external_sizes(desc, *layout, sizes);
    if (status == CLQ_ERROR_UNSUPPORTED_LAYOUT)
        return tool_usage_error(NAME, "layout %s cannot hold format %s with block %u (valid: %s)", a->layout,
                                a->format, desc->block, VALID_PAIRS);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, "clq_external_sizes", status);
    /* The whole matrix is held in host memory as fp32, twice. */
    if (rows > SIZE_MAX / sizeof(float) / cols)
        return tool_error(NAME, "%llu x %llu is too large for this machine", (unsigned long long)rows,
                          (unsigned long long)cols);
    return -1;
}

/* Reads the input and checks it is exactly N×K fp32; NULL after an error. */
static float *read_input(const char *path, const clq_weight_desc *desc)
{
    size_t size = 0, want = (size_t)(desc->rows * desc->cols) * sizeof(float);
    void *input = NULL;
    int rc = clq_read_file_exact(path, want, &input, &size);
    if (rc < 0)
        tool_error(NAME, "cannot read '%s': %s", path,
                   errno == EINVAL ? "not a regular file" : strerror(errno));
    else if (rc > 0)
        tool_error(NAME, "'%s' has %zu bytes, but %llu x %llu fp32 needs %zu", path, size,
                   (unsigned long long)desc->rows, (unsigned long long)desc->cols, want);
    return rc == 0 ? input : NULL;
}

/* Allocates each array the layout uses (sizes from clq_external_sizes) into
 * `arrays`, which then owns them. Returns 0 or -1 (out of memory). */
static int alloc_arrays(const clq_external *sizes, clq_external *arrays)
{
    *arrays = *sizes;
    void **ptr[] = {&arrays->data, &arrays->scales, &arrays->zero_points, &arrays->nested_absmax,
                    &arrays->nested_code};
    const size_t bytes[] = {sizes->data_bytes, sizes->scales_bytes, sizes->zero_points_bytes,
                            sizes->nested_absmax_bytes, sizes->nested_code_bytes};
    int ok = 1;
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
        *ptr[i] = bytes[i] ? malloc(bytes[i]) : NULL;
        ok = ok && (*ptr[i] || !bytes[i]);
    }
    return ok ? 0 : -1;
}

/* Quantizes fo->input on the device and fills the folder's arrays and
 * dequant. Returns the exit status. */
static int quantize_into(clq_context *ctx, const clq_external *sizes, clq_folder *fo)
{
    const size_t count = (size_t)(fo->desc.rows * fo->desc.cols);
    const size_t bytes = count * sizeof(float);
    clq_weight *w = NULL;
    int status = clq_weight_quantize_host(ctx, &fo->desc, CLQ_DTYPE_F32, fo->input, bytes, &w);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, "clq_weight_quantize_host", status);

    int rc = TOOL_EXIT_OK;
    fo->dequant = malloc(bytes);
    if (alloc_arrays(sizes, &fo->arrays) != 0 || !fo->dequant)
        rc = tool_error(NAME, "out of memory");
    if (rc == TOOL_EXIT_OK && (status = clq_weight_export(w, fo->layout, &fo->arrays)) != CLQ_SUCCESS)
        rc = tool_library_error(NAME, "clq_weight_export", status);
    /* dequant.f32 is what clq itself reads back from the weight, so a folder
     * written here can be checked the same way as a peer's. */
    if (rc == TOOL_EXIT_OK &&
        (status = clq_weight_dequantize_host(w, CLQ_DTYPE_F32, fo->dequant, bytes)) != CLQ_SUCCESS)
        rc = tool_library_error(NAME, "clq_weight_dequantize_host", status);
    clq_weight_destroy(w);
    return rc;
}

int cmd_quantize(int argc, char **argv)
{
    quantize_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;
    clq_folder fo;
    memset(&fo, 0, sizeof fo);
    clq_external sizes;
    rc = make_desc(&a, &fo.desc, &fo.layout, &sizes);
    if (rc >= 0)
        return rc;
    fo.nested_block = fo.desc.double_quant ? 256 : 0;
    snprintf(fo.source, sizeof fo.source, "clq %s quantize", clq_version_string());

    /* Everything that can be checked without the device is checked before
     * opening it: a context costs a kernel build on first use. */
    fo.input = read_input(a.input, &fo.desc);
    if (!fo.input)
        return TOOL_EXIT_RUNTIME;
    clq_context *ctx = NULL;
    if (tool_open_context(NAME, a.device, &ctx) != 0) {
        clq_folder_free(&fo);
        return TOOL_EXIT_RUNTIME;
    }
    rc = quantize_into(ctx, &sizes, &fo);
    clq_context_destroy(ctx);

    char err[512];
    if (rc == TOOL_EXIT_OK && clq_folder_write(a.outdir, &fo, err, sizeof err) != CLQ_SUCCESS)
        rc = tool_error(NAME, "%s", err);
    clq_folder_free(&fo);
    return rc;
}

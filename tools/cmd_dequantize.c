/*
 * `clq dequantize`: a folder of any external layout (tests/data/README.md)
 * back to an N×K fp32 file, through the same import path an application uses.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folder.h"
#include "tool.h"

static const char *const NAME = "dequantize";

static void print_help(void)
{
    printf("usage: clq dequantize [--device SEL] INDIR OUTPUT.f32\n\n"
           "Imports the quantized matrix in folder INDIR (meta.txt and the arrays of its\n"
           "layout: ggml, bnb or ort), dequantizes it on the device and writes the N x K\n"
           "row-major fp32 result to OUTPUT.f32.\n\n"
           "  -d, --device SEL   'platform:device' or part of a device name\n"
           "  -h, --help         this help\n");
}

/* Imports the folder and dequantizes it into `out` (N×K floats). Returns the
 * exit status. */
static int dequantize_folder(clq_context *ctx, const clq_folder *fo, float *out, size_t count)
{
    clq_weight *w = NULL;
    int status = clq_weight_import(ctx, &fo->desc, fo->layout, &fo->arrays, &w);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, "clq_weight_import", status);
    int rc = TOOL_EXIT_OK;
    status = clq_weight_dequantize_host(w, CLQ_DTYPE_F32, out, count * sizeof(float));
    if (status != CLQ_SUCCESS)
        rc = tool_library_error(NAME, "clq_weight_dequantize_host", status);
    clq_weight_destroy(w);
    return rc;
}

int cmd_dequantize(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"device", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *selector = NULL;
    opterr = 0; /* tool_bad_option prints our own one-line message */
    for (int opt; (opt = getopt_long(argc, argv, ":d:h", long_options, NULL)) != -1;) {
        switch (opt) {
        case 'd':
            selector = optarg;
            break;
        case 'h':
            print_help();
            return TOOL_EXIT_OK;
        default:
            return tool_bad_option(NAME, opt, argv);
        }
    }
    if (argc - optind < 2)
        return tool_usage_error(NAME, "expected INDIR and OUTPUT.f32 after the options");
    if (argc - optind > 2)
        return tool_usage_error(NAME, "unexpected argument '%s'", argv[optind + 2]);
    const char *indir = argv[optind], *output = argv[optind + 1];

    clq_folder fo;
    char err[512];
    if (clq_output_check(output, err, sizeof err) != 0)
        return tool_error(NAME, "%s", err);
    /* The weight only: input.f32 and dequant.f32 play no part here. */
    if (clq_folder_read_weight(indir, &fo, err, sizeof err) != CLQ_SUCCESS)
        return tool_error(NAME, "%s", err);
    /* clq_folder_read has checked every file against the shape, so N×K fits
     * in memory as far as the arrays already read are concerned. */
    const size_t count = (size_t)(fo.desc.rows * fo.desc.cols);
    float *out = malloc(count * sizeof *out);
    clq_context *ctx = NULL;
    int rc = TOOL_EXIT_OK;
    if (!out)
        rc = tool_error(NAME, "out of memory for %zu floats", count);
    else if (tool_open_context(NAME, selector, &ctx) != 0)
        rc = TOOL_EXIT_RUNTIME;
    else
        rc = dequantize_folder(ctx, &fo, out, count);
    clq_context_destroy(ctx);
    if (rc == TOOL_EXIT_OK && clq_write_file(output, out, count * sizeof *out) != 0)
        rc = tool_error(NAME, "cannot write '%s': %s", output, strerror(errno));
    free(out);
    clq_folder_free(&fo);
    return rc;
}

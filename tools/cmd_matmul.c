/*
 * `clq matmul`: Y = X·dequant(W)ᵀ (+ bias) (+ LoRA) for a quantized-weight
 * folder of any layout (tests/data/README.md) or a weight inside a GGUF or
 * safetensors file, with LoRA folders or PEFT adapters, through the same
 * load and fused-matmul path an application uses, with the kernel choice
 * exposed.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clq_io.h"
#include "file_source.h"
#include "folder.h"
#include "lora_folder.h"
#include "tool.h"

static const char *const NAME = "matmul";

typedef struct matmul_args {
    const char *weight, *input, *rows, *bias, *index, *kernel, *device, *output, *format, *block;
    const char **lora; /* --lora folders in the order given: adapter i is lora[i] */
    size_t n_lora;
} matmul_args;

/* Everything read from files, so one function frees it whatever failed. */
typedef struct matmul_inputs {
    clq_folder weight; /* a folder ... */
    weight_file file;  /* ... or a weight inside a file (file.name set) */
    uint64_t n, k;
    float *x, *bias, *y;
    int32_t *index;
    clq_lora_folder *lora; /* n_lora entries, each read or zeroed */
    clq_peft **peft;       /* or n_lora PEFT adapters */
    const char *peft_layer;
    size_t n_lora;
} matmul_inputs;

static void print_help(void)
{
    printf(
        "usage: clq matmul --weight DIR|FILE.gguf:TENSOR|FILE.safetensors:PREFIX --input X.f32 --rows M\n"
        "                  [--bias BIAS.f32] [--lora LORADIR|ADAPTERDIR:LAYER ...] [--lora-index IDX.i32]\n"
        "                  [--kernel auto|decode|prefill] [--format F --block B] [--device SEL] "
        "OUTPUT.f32\n\n"
        "Loads the N x K weight and writes Y = X W^T (+ bias) (+ s (X A^T) B^T),\n"
        "M x N row-major fp32, to OUTPUT.f32.\n\n"
        "  -w, --weight DIR         quantized-weight folder (meta.txt and its arrays)\n"
        "      --weight FILE.gguf:TENSOR  a GGUF tensor (q4_0, q8_0, q4_1, q5_0, q5_1, q2_K..q6_K,\n"
        "                           iq4_nl, iq4_xs as they are; f32, f16\n"
        "                           quantized to --format/--block)\n"
        "      --weight FILE.safetensors:PREFIX  a bitsandbytes 4-bit layer PREFIX, or a\n"
        "                           float tensor PREFIX (or PREFIX.weight), quantized\n"
        "  -f, --format F           format for float tensors (default q8)\n"
        "  -B, --block B            block for float tensors (default 32)\n"
        "  -x, --input X.f32        M x K row-major fp32\n"
        "  -m, --rows M             rows of X (and of Y)\n"
        "  -b, --bias BIAS.f32      N fp32 values added to every row\n"
        "  -l, --lora LORADIR       a LoRA adapter folder: a.f32 (rank x K), b.f32\n"
        "                           (N x rank), meta.txt with rank, alpha and optional\n"
        "                           rslora=0/1; repeat for a set, adapter i being the\n"
        "                           i-th --lora\n"
        "      --lora ADAPTERDIR:LAYER  layer LAYER (a module name or its unique\n"
        "                           suffix) of a PEFT adapter folder (adapter_config.json,\n"
        "                           adapter_model.safetensors); a set is all PEFT or all folders\n"
        "  -i, --lora-index IDX.i32 M int32: the adapter of each row, -1 for none;\n"
        "                           required with several --lora (default with one:\n"
        "                           every row uses it)\n"
        "  -k, --kernel KIND        auto (default: decode for M <= %d, else prefill),\n"
        "                           decode or prefill\n"
        "  -d, --device SEL         'platform:device' or part of a device name\n"
        "  -h, --help               this help\n",
        CLQ_DECODE_MAX_M);
}

/* Returns -1 to go on, else the exit status (help shown or bad usage).
 * a->lora must have room for argc entries. */
static int parse_args(int argc, char **argv, matmul_args *a)
{
    static const struct option long_options[] = {
        {"weight", required_argument, NULL, 'w'}, {"input", required_argument, NULL, 'x'},
        {"rows", required_argument, NULL, 'm'},   {"bias", required_argument, NULL, 'b'},
        {"lora", required_argument, NULL, 'l'},   {"lora-index", required_argument, NULL, 'i'},
        {"kernel", required_argument, NULL, 'k'}, {"device", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'}, {"block", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    opterr = 0; /* tool_bad_option prints our own one-line message */
    for (int opt; (opt = getopt_long(argc, argv, ":w:x:m:b:l:i:k:d:f:B:h", long_options, NULL)) != -1;) {
        switch (opt) {
        case 'w':
            a->weight = optarg;
            break;
        case 'x':
            a->input = optarg;
            break;
        case 'm':
            a->rows = optarg;
            break;
        case 'b':
            a->bias = optarg;
            break;
        case 'l':
            a->lora[a->n_lora++] = optarg;
            break;
        case 'i':
            a->index = optarg;
            break;
        case 'k':
            a->kernel = optarg;
            break;
        case 'd':
            a->device = optarg;
            break;
        case 'f':
            a->format = optarg;
            break;
        case 'B':
            a->block = optarg;
            break;
        case 'h':
            print_help();
            return TOOL_EXIT_OK;
        default:
            return tool_bad_option(NAME, opt, argv);
        }
    }
    const char *missing = !a->weight ? "--weight" : !a->input ? "--input" : !a->rows ? "--rows" : NULL;
    if (missing)
        return tool_usage_error(NAME, "missing required option %s", missing);
    if (a->index && a->n_lora == 0)
        return tool_usage_error(NAME, "--lora-index needs at least one --lora");
    /* With a set, "adapter 0 for every row" is almost surely not what was
     * meant, so the index is not defaulted. */
    if (a->n_lora > 1 && !a->index)
        return tool_usage_error(NAME, "%zu --lora folders need --lora-index to say which row uses which",
                                a->n_lora);
    if (argc - optind < 1)
        return tool_usage_error(NAME, "expected OUTPUT.f32 after the options");
    if (argc - optind > 1)
        return tool_usage_error(NAME, "unexpected argument '%s'", argv[optind + 1]);
    a->output = argv[optind];
    return -1;
}

static int parse_kernel(const char *name, clq_matmul_kernel *out)
{
    static const struct {
        const char *name;
        clq_matmul_kernel kernel;
    } kinds[] = {{"auto", CLQ_MATMUL_AUTO}, {"decode", CLQ_MATMUL_DECODE}, {"prefill", CLQ_MATMUL_PREFILL}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(name, kinds[i].name) == 0) {
            *out = kinds[i].kernel;
            return 0;
        }
    return tool_usage_error(NAME, "unknown kernel '%s' (auto, decode or prefill)", name);
}

/* Reads `path`, which must be exactly `want` bytes (`what` says why, in the
 * message); NULL after an error. */
static void *read_exact(const char *path, size_t want, const char *what)
{
    size_t size = 0;
    void *data = NULL;
    int rc = clq_read_file_exact(path, want, &data, &size);
    if (rc < 0)
        tool_error(NAME, "cannot read '%s': %s", path,
                   errno == EINVAL ? "not a regular file" : strerror(errno));
    else if (rc > 0)
        tool_error(NAME, "'%s' has %zu bytes, expected %zu (%s)", path, size, want, what);
    return rc == 0 ? data : NULL;
}

static void inputs_free(matmul_inputs *in)
{
    clq_folder_free(&in->weight);
    weight_file_close(&in->file);
    for (size_t i = 0; in->peft && i < in->n_lora; i++)
        clq_peft_close(in->peft[i]);
    free(in->peft);
    free(in->x);
    free(in->bias);
    free(in->y);
    free(in->index);
    for (size_t i = 0; in->lora && i < in->n_lora; i++)
        clq_lora_folder_free(&in->lora[i]);
    free(in->lora);
}

/* Reads and checks every file before the device is opened (a context costs
 * a kernel build on first use). Returns -1 to go on, else the exit status. */
static int read_weight(const matmul_args *a, clq_format float_format, uint32_t float_block, matmul_inputs *in)
{
    char err[512];
    if (weight_file_spec(a->weight)) {
        if (weight_file_open(NAME, a->weight, float_format, float_block, &in->file) != 0)
            return TOOL_EXIT_RUNTIME;
        in->n = in->file.rows;
        in->k = in->file.cols;
        return -1;
    }
    if (clq_folder_read_weight(a->weight, &in->weight, err, sizeof err) != CLQ_SUCCESS)
        return tool_error(NAME, "%s", err);
    in->n = in->weight.desc.rows;
    in->k = in->weight.desc.cols;
    return -1;
}

/* The --lora arguments: all PEFT adapters (checked for the weight's shape
 * now) or all folders. */
static int read_lora(const matmul_args *a, matmul_inputs *in)
{
    char dir[4096], err[512];
    const char *layer = NULL;
    size_t peft = 0;
    for (size_t i = 0; i < a->n_lora; i++)
        peft += peft_spec(a->lora[i], dir, sizeof dir, &layer);
    if (peft && peft != a->n_lora)
        return tool_usage_error(
            NAME, "--lora: PEFT adapters (DIR:LAYER) and LoRA folders cannot be mixed in one set");
    in->n_lora = a->n_lora;
    in->lora = a->n_lora && !peft ? calloc(a->n_lora, sizeof *in->lora) : NULL;
    in->peft = peft ? calloc(peft, sizeof *in->peft) : NULL;
    if (a->n_lora && !in->lora && !in->peft)
        return tool_error(NAME, "out of memory");
    for (size_t i = 0; i < a->n_lora; i++) {
        if (!peft) {
            if (clq_lora_folder_read(a->lora[i], in->n, in->k, &in->lora[i], err, sizeof err) != CLQ_SUCCESS)
                return tool_error(NAME, "%s", err);
            continue;
        }
        peft_spec(a->lora[i], dir, sizeof dir, &layer);
        if (in->peft_layer && strcmp(layer, in->peft_layer) != 0)
            return tool_usage_error(NAME, "--lora: every adapter of a set names the same layer ('%s', '%s')",
                                    in->peft_layer, layer);
        in->peft_layer = layer;
        clq_peft_layer l;
        int status = clq_peft_open(dir, &in->peft[i]);
        if (status == CLQ_SUCCESS)
            status = clq_peft_find_layer(in->peft[i], layer, &l);
        if (status != CLQ_SUCCESS)
            return tool_library_error(NAME, "reading the PEFT adapter", status);
        if (l.rows != in->n || l.cols != in->k)
            return tool_error(NAME, "%s: layer '%s' is for a %llu x %llu weight, not %llu x %llu", dir,
                              l.module, (unsigned long long)l.rows, (unsigned long long)l.cols,
                              (unsigned long long)in->n, (unsigned long long)in->k);
    }
    return -1;
}

static int read_inputs(const matmul_args *a, uint64_t m, clq_format float_format, uint32_t float_block,
                       matmul_inputs *in)
{
    int rc = read_weight(a, float_format, float_block, in);
    if (rc >= 0)
        return rc;
    const uint64_t n = in->n, k = in->k;
    /* X and Y are held in host memory whole. */
    const uint64_t wide = n > k ? n : k;
    if (m > SIZE_MAX / sizeof(float) / wide)
        return tool_error(NAME, "M = %llu rows of %llu values is too large for this machine",
                          (unsigned long long)m, (unsigned long long)wide);
    char what[128];
    snprintf(what, sizeof what, "M x K = %llu x %llu fp32", (unsigned long long)m, (unsigned long long)k);
    if (!(in->x = read_exact(a->input, (size_t)(m * k) * sizeof(float), what)))
        return TOOL_EXIT_RUNTIME;
    snprintf(what, sizeof what, "N = %llu fp32", (unsigned long long)n);
    if (a->bias && !(in->bias = read_exact(a->bias, (size_t)n * sizeof(float), what)))
        return TOOL_EXIT_RUNTIME;
    snprintf(what, sizeof what, "M = %llu int32", (unsigned long long)m);
    if (a->index && !(in->index = read_exact(a->index, (size_t)m * sizeof(int32_t), what)))
        return TOOL_EXIT_RUNTIME;
    in->y = malloc((size_t)(m * n) * sizeof(float));
    if (!in->y)
        return tool_error(NAME, "out of memory");
    return read_lora(a, in);
}

/* A device buffer initialised from host memory (or uninitialised if `host`
 * is NULL). Returns 0, or -1 after printing the reason. */
static int make_buffer(clq_context *ctx, cl_mem_flags flags, size_t bytes, void *host, const char *what,
                       cl_mem *out)
{
    cl_int err = CL_SUCCESS;
    *out = clCreateBuffer(clq_context_cl_context(ctx), flags | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes, host,
                          &err);
    if (err != CL_SUCCESS) {
        *out = NULL;
        tool_error(NAME, "clCreateBuffer for %s (%zu bytes) failed: %s", what, bytes, clq_status_string(err));
        return -1;
    }
    return 0;
}

static void release(cl_mem mem)
{
    if (mem)
        clReleaseMemObject(mem);
}

/* Device buffers rather than clq_matmul_host, because only clq_matmul takes
 * the kernel choice. Fills in->y; returns the exit status. */
static int multiply(clq_context *ctx, const clq_weight *w, const clq_lora *lora, matmul_inputs *in,
                    uint64_t m, clq_matmul_kernel kernel)
{
    const uint64_t n = in->n, k = in->k;
    const size_t x_bytes = (size_t)(m * k) * sizeof(float), y_bytes = (size_t)(m * n) * sizeof(float);
    clq_matmul_args args = {m, CLQ_DTYPE_F32, NULL, CLQ_DTYPE_F32, NULL, NULL, lora, in->index, kernel};
    int ok = make_buffer(ctx, CL_MEM_READ_ONLY, x_bytes, in->x, "X", &args.x) == 0 &&
             (!in->bias || make_buffer(ctx, CL_MEM_READ_ONLY, (size_t)n * sizeof(float), in->bias, "bias",
                                       &args.bias) == 0) &&
             make_buffer(ctx, CL_MEM_WRITE_ONLY, y_bytes, NULL, "Y", &args.y) == 0;
    int rc = ok ? TOOL_EXIT_OK : TOOL_EXIT_RUNTIME;
    int status = ok ? clq_matmul(w, &args, 0, NULL, NULL) : CLQ_SUCCESS;
    if (status != CLQ_SUCCESS)
        rc = tool_library_error(NAME, "clq_matmul", status);
    if (rc == TOOL_EXIT_OK) {
        /* The queue is in order, so a blocking read waits for the product. */
        cl_int err =
            clEnqueueReadBuffer(clq_context_cl_queue(ctx), args.y, CL_TRUE, 0, y_bytes, in->y, 0, NULL, NULL);
        if (err != CL_SUCCESS)
            rc = tool_error(NAME, "reading Y back failed: %s", clq_status_string(err));
    }
    release(args.x);
    release(args.bias);
    release(args.y);
    return rc;
}

/* Imports the weight and the adapter set, then multiplies. Returns the exit
 * status. */
static int run_on_device(clq_context *ctx, matmul_inputs *in, uint64_t m, clq_matmul_kernel kernel)
{
    clq_weight *w = NULL;
    clq_lora *lora = NULL;
    if (in->file.name) {
        if (weight_file_load(NAME, ctx, &in->file, &w) != 0)
            return TOOL_EXIT_RUNTIME;
    } else {
        int status = clq_weight_import(ctx, &in->weight.desc, in->weight.layout, &in->weight.arrays, &w);
        if (status != CLQ_SUCCESS)
            return tool_library_error(NAME, "clq_weight_import", status);
    }
    int rc = TOOL_EXIT_OK, status;
    if (in->peft) {
        status = clq_peft_lora_create(ctx, (const clq_peft *const *)in->peft, in->n_lora, in->peft_layer,
                                      in->n, in->k, &lora);
        if (status != CLQ_SUCCESS)
            rc = tool_library_error(NAME, "clq_peft_lora_create", status);
    } else if (in->n_lora) {
        clq_adapter_desc *ad = malloc(in->n_lora * sizeof *ad);
        if (!ad) {
            rc = tool_error(NAME, "out of memory");
        } else {
            for (size_t i = 0; i < in->n_lora; i++)
                ad[i] = clq_lora_folder_desc(&in->lora[i]);
            status = clq_lora_create(ctx, in->n, in->k, ad, in->n_lora, &lora);
            if (status != CLQ_SUCCESS)
                rc = tool_library_error(NAME, "clq_lora_create", status);
            free(ad);
        }
    }
    if (rc == TOOL_EXIT_OK)
        rc = multiply(ctx, w, lora, in, m, kernel);
    clq_lora_destroy(lora);
    clq_weight_destroy(w);
    return rc;
}

int cmd_matmul(int argc, char **argv)
{
    matmul_args a;
    memset(&a, 0, sizeof a);
    /* Every --lora could be repeated, so argc bounds their number. */
    a.lora = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *a.lora);
    if (!a.lora)
        return tool_error(NAME, "out of memory");
    int rc = parse_args(argc, argv, &a);
    uint64_t m = 0;
    clq_matmul_kernel kernel = CLQ_MATMUL_AUTO;
    if (rc < 0 && a.kernel && parse_kernel(a.kernel, &kernel) != 0)
        rc = TOOL_EXIT_USAGE;
    /* The kernels count rows in 32 bits; the library says so too, but a
     * usage error here names the option. */
    if (rc < 0 && tool_parse_u64(NAME, "--rows", a.rows, 1, UINT32_MAX, &m) != 0)
        rc = TOOL_EXIT_USAGE;
    /* Only float tensors in files are quantized; their format and block. */
    clq_format float_format = CLQ_FORMAT_Q8;
    uint64_t float_block = 32;
    if (rc < 0 && a.format && clq_format_from_name(a.format, &float_format) != CLQ_SUCCESS)
        rc = tool_usage_error(NAME, "--format: unknown format '%s'", a.format);
    if (rc < 0 && a.block && tool_parse_u64(NAME, "--block", a.block, 16, 4096, &float_block) != 0)
        rc = TOOL_EXIT_USAGE;
    if (rc >= 0) {
        free(a.lora);
        return rc;
    }

    char why[512];
    if (clq_output_check(a.output, why, sizeof why) != 0) {
        free(a.lora);
        return tool_error(NAME, "%s", why);
    }
    matmul_inputs in;
    memset(&in, 0, sizeof in);
    rc = read_inputs(&a, m, float_format, (uint32_t)float_block, &in);
    clq_context *ctx = NULL;
    if (rc < 0)
        rc = tool_open_context(NAME, a.device, &ctx) != 0 ? TOOL_EXIT_RUNTIME
                                                          : run_on_device(ctx, &in, m, kernel);
    clq_context_destroy(ctx);

    /* Written only now (and atomically), so a failed run leaves no output. */
    const size_t y_bytes = (size_t)(m * in.n) * sizeof(float);
    if (rc == TOOL_EXIT_OK && clq_write_file(a.output, in.y, y_bytes) != 0)
        rc = tool_error(NAME, "cannot write '%s': %s", a.output, strerror(errno));
    inputs_free(&in);
    free(a.lora);
    return rc;
}

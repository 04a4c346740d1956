/* Kernel programs: source assembly (shared header + one .cl file), build
 * options from the device parameters, and first-use compilation through the
 * on-disk binary cache. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The files of each program, in order, after the shared header. */
#define MAX_PROGRAM_FILES 4
static const char *const program_files[CLQ_PROGRAM_COUNT][MAX_PROGRAM_FILES] = {
    [CLQ_PROGRAM_QUANTIZE] = {"dequant.cl", "quantize.cl"},
    [CLQ_PROGRAM_REPACK] = {"repack.cl"},
    [CLQ_PROGRAM_MATMUL] = {"dequant.cl", "ggml_blocks.cl", "matmul.cl", "matmul_ggml.cl"},
    [CLQ_PROGRAM_LORA] = {"lora_dot.cl", "lora.cl"},
    [CLQ_PROGRAM_GGML] = {"dequant.cl", "ggml_blocks.cl", "ggml_dequant.cl", "ggml_quantize.cl"},
};
#define SHARED_HEADER "clq_common.h"

/* A program is named after the file that holds most of its kernels (in
 * the build-failure messages). */
static const char *const program_names[CLQ_PROGRAM_COUNT] = {
    [CLQ_PROGRAM_QUANTIZE] = "quantize.cl",  [CLQ_PROGRAM_REPACK] = "repack.cl",
    [CLQ_PROGRAM_MATMUL] = "matmul.cl",      [CLQ_PROGRAM_LORA] = "lora.cl",
    [CLQ_PROGRAM_GGML] = "ggml_quantize.cl",
};
static const char *program_name(clq_program_id id)
{
    return program_names[id];
}

/* Reads one kernel file: from ctx->kernel_dir when set (kernel development),
 * else from the copy embedded at build time. Returns malloc'd text. */
static clq_status read_kernel_file(const clq_context *ctx, const char *name, char **text, size_t *len)
{
    if (ctx->kernel_dir[0]) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", ctx->kernel_dir, name);
        FILE *f = fopen(path, "rb");
        if (!f)
            return CLQ_FAIL(CLQ_ERROR_IO, "cannot open kernel file %s (kernel_dir override)", path);
        char *buf = NULL;
        size_t n = 0, cap = 0, got;
        do {
            if (n + 4096 > cap) {
                char *grown = realloc(buf, cap = 2 * cap + 8192);
                if (!grown) {
                    free(buf);
                    fclose(f);
                    return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "reading %s", path);
                }
                buf = grown;
            }
            got = fread(buf + n, 1, cap - n, f);
            n += got;
        } while (got > 0);
        fclose(f);
        *text = buf;
        *len = n;
        return CLQ_SUCCESS;
    }
    for (size_t i = 0; i < clq_embedded_file_count; i++) {
        if (strcmp(clq_embedded_files[i].name, name) == 0) {
            size_t n = clq_embedded_files[i].size;
            char *buf = malloc(n + 1);
            if (!buf)
                return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "copying kernel %s", name);
            memcpy(buf, clq_embedded_files[i].data, n);
            *text = buf;
            *len = n;
            return CLQ_SUCCESS;
        }
    }
    return CLQ_FAIL(CLQ_ERROR_INTERNAL, "kernel file %s is not embedded", name);
}

/* Appends a file's text to a growing buffer. */
static clq_status append_file(const clq_context *ctx, const char *name, char **all, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    CLQ_FORWARD(read_kernel_file(ctx, name, &text, &n));
    char *grown = realloc(*all, *len + n + 2);
    if (!grown) {
        free(text);
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "assembling kernel source");
    }
    memcpy(grown + *len, text, n);
    grown[*len + n] = '\n';
    grown[*len + n + 1] = '\0';
    *all = grown;
    *len += n + 1;
    free(text);
    return CLQ_SUCCESS;
}

/* The program text: the shared header followed by the program's files. */
static clq_status assemble_source(const clq_context *ctx, clq_program_id id, char **source, size_t *len)
{
    char *all = NULL;
    size_t n = 0;
    int status = append_file(ctx, SHARED_HEADER, &all, &n);
    for (int i = 0; status == CLQ_SUCCESS && i < MAX_PROGRAM_FILES && program_files[id][i]; i++)
        status = append_file(ctx, program_files[id][i], &all, &n);
    if (status != CLQ_SUCCESS) {
        free(all);
        return status;
    }
    *source = all;
    *len = n;
    return CLQ_SUCCESS;
}

static void build_options(const clq_context *ctx, const char *defines, char *buf, size_t len)
{
    /* Bit-exact quantization needs 1/d correctly rounded, as in C on the
     * host; OpenCL allows 2.5 ulp unless asked. */
    snprintf(buf, len, "-cl-std=CL1.2%s",
             ctx->correctly_rounded_divide ? " -cl-fp32-correctly-rounded-divide-sqrt" : "");
    clq_device_params_defines(&ctx->params, buf, len);
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s", defines);
}

/* Records the build log of a failed build for clq_last_build_log(). */
static void keep_build_log(const clq_context *ctx, cl_program program)
{
    size_t size = 0;
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) != CL_SUCCESS)
        return;
    char *log = malloc(size + 1);
    if (!log)
        return;
    if (clGetProgramBuildInfo(program, ctx->device, CL_PROGRAM_BUILD_LOG, size, log, NULL) == CL_SUCCESS) {
        log[size] = '\0';
        clq_set_build_log(log);
    }
    free(log);
}

static clq_status build_from_source(clq_context *ctx, clq_program_id id, const char *source, size_t len,
                                    const char *options, cl_program *out)
{
    cl_int err;
    cl_program p = clCreateProgramWithSource(ctx->context, 1, &source, &len, &err);
    if (err != CL_SUCCESS)
        return CLQ_FAIL(err, "clCreateProgramWithSource(%s): %s", program_name(id), clq_status_string(err));
    err = clBuildProgram(p, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        keep_build_log(ctx, p);
        clReleaseProgram(p);
        return CLQ_FAIL(err == CL_BUILD_PROGRAM_FAILURE ? CLQ_ERROR_BUILD_FAILED : err,
                        "building %s with '%s' failed: %s (clq_last_build_log has the log)", program_name(id),
                        options, clq_status_string(err));
    }
    *out = p;
    return CLQ_SUCCESS;
}

/* A program from a cached binary, or NULL if the driver rejects it. */
static cl_program build_from_binary(clq_context *ctx, const unsigned char *bin, size_t size,
                                    const char *options)
{
    cl_int err, binary_status;
    cl_program p =
        clCreateProgramWithBinary(ctx->context, 1, &ctx->device, &size, &bin, &binary_status, &err);
    if (err != CL_SUCCESS || binary_status != CL_SUCCESS)
        return NULL;
    if (clBuildProgram(p, 1, &ctx->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

static void store_binary(const clq_cache_key *key, const clq_context *ctx, cl_program p)
{
    size_t size = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0)
        return;
    unsigned char *bin = malloc(size);
    if (!bin)
        return;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS)
        clq_cache_store(key, bin, size);
    (void)ctx;
    free(bin);
}

static clq_status build_program(clq_context *ctx, clq_program_id id, const char *defines, cl_program *out)
{
    char *source = NULL;
    size_t len = 0;
    char options[1024];
    build_options(ctx, defines, options, sizeof options);
    CLQ_FORWARD(assemble_source(ctx, id, &source, &len));
    clq_cache_key key;
    cl_program p = NULL;
    if (clq_cache_dir_usable(ctx, false)) {
        unsigned char *bin = NULL;
        size_t size = 0;
        clq_cache_key_make(ctx, source, len, options, &key);
        if (clq_cache_load(&key, &bin, &size)) {
            p = build_from_binary(ctx, bin, size, options);
            free(bin);
        }
    }
    int status = CLQ_SUCCESS;
    if (!p) {
        status = build_from_source(ctx, id, source, len, options, &p);
        if (status == CLQ_SUCCESS && clq_cache_dir_usable(ctx, true))
            store_binary(&key, ctx, p);
    }
    free(source);
    if (status == CLQ_SUCCESS)
        *out = p;
    return status;
}

/* The slot of a built program, or -1. Called with ctx->lock held. */
static int find_program(const clq_context *ctx, clq_program_id id, const char *defines)
{
    for (int i = 0; i < ctx->program_count; i++)
        if (ctx->programs[i].id == id && strcmp(ctx->programs[i].defines, defines) == 0)
            return i;
    return -1;
}

clq_status clq_program_get(clq_context *ctx, clq_program_id id, const char *defines, cl_program *out)
{
    if ((unsigned)id >= CLQ_PROGRAM_COUNT || strlen(defines) >= sizeof ctx->programs[0].defines)
        return CLQ_FAIL(CLQ_ERROR_INTERNAL, "program id %d, defines '%s'", (int)id, defines);
    pthread_mutex_lock(&ctx->lock);
    int status = CLQ_SUCCESS, slot = find_program(ctx, id, defines);
    if (slot < 0 && ctx->program_count == CLQ_MAX_PROGRAMS)
        status = CLQ_FAIL(CLQ_ERROR_INTERNAL, "more than %d program variants", CLQ_MAX_PROGRAMS);
    if (slot < 0 && status == CLQ_SUCCESS) {
        struct clq_built_program *p = &ctx->programs[ctx->program_count];
        status = build_program(ctx, id, defines, &p->program);
        if (status == CLQ_SUCCESS) {
            p->id = id;
            snprintf(p->defines, sizeof p->defines, "%s", defines);
            slot = ctx->program_count++;
        }
    }
    if (status == CLQ_SUCCESS)
        *out = ctx->programs[slot].program;
    pthread_mutex_unlock(&ctx->lock);
    return status;
}

clq_status clq_kernel_create(clq_context *ctx, clq_program_id id, const char *defines, const char *name,
                             cl_kernel *out)
{
    cl_program p;
    CLQ_FORWARD(clq_program_get(ctx, id, defines, &p));
    cl_int err;
    cl_kernel k = clCreateKernel(p, name, &err);
    if (err != CL_SUCCESS)
        return CLQ_FAIL(err, "clCreateKernel(%s): %s", name, clq_status_string(err));
    *out = k;
    return CLQ_SUCCESS;
}

clq_status clq_kernel_set_args_from(cl_kernel kernel, size_t first, const clq_arg *args, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)(first + i), args[i].size, args[i].value);
        if (err != CL_SUCCESS)
            return CLQ_FAIL(err, "clSetKernelArg(%zu): %s", first + i, clq_status_string(err));
    }
    return CLQ_SUCCESS;
}

clq_status clq_kernel_set_args(cl_kernel kernel, const clq_arg *args, size_t count)
{
    return clq_kernel_set_args_from(kernel, 0, args, count);
}

clq_status clq_enqueue_1d(clq_context *ctx, cl_kernel kernel, size_t global, size_t local, cl_uint num_wait,
                          const cl_event *wait_list, cl_event *event)
{
    if (global == 0)
        return CLQ_FAIL(CLQ_ERROR_INTERNAL, "empty NDRange");
    if (local)
        global = (global + local - 1) / local * local;
    CLQ_CL(clEnqueueNDRangeKernel(ctx->queue, kernel, 1, NULL, &global, local ? &local : NULL, num_wait,
                                  wait_list, event));
    return CLQ_SUCCESS;
}

clq_status clq_launch_kernel(clq_context *ctx, cl_kernel kernel, const clq_arg *args, size_t nargs,
                             size_t global, size_t local, cl_uint num_wait, const cl_event *wait_list,
                             cl_event *event)
{
    CLQ_FORWARD(clq_kernel_set_args(kernel, args, nargs));
    return clq_enqueue_1d(ctx, kernel, global, local, num_wait, wait_list, event);
}

clq_status clq_launch(clq_context *ctx, clq_program_id id, const char *name, const clq_arg *args,
                      size_t nargs, size_t global, size_t local, cl_uint num_wait, const cl_event *wait_list,
                      cl_event *event)
{
    cl_kernel k;
    CLQ_FORWARD(clq_kernel_create(ctx, id, "", name, &k));
    int status = clq_launch_kernel(ctx, k, args, nargs, global, local, num_wait, wait_list, event);
    clReleaseKernel(k);
    return status;
}

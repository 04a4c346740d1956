/* Kernel programs: source assembly (shared header + one .cl file), build
 * options from the device parameters, and first-use compilation through the
 * on-disk binary cache. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const program_files[CLQ_PROGRAM_COUNT] = {
    [CLQ_PROGRAM_QUANTIZE] = "quantize.cl",
    [CLQ_PROGRAM_REPACK] = "repack.cl",
};
#define SHARED_HEADER "clq_common.h"

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

/* The program text: the shared header followed by the .cl file. */
static clq_status assemble_source(const clq_context *ctx, clq_program_id id, char **source, size_t *len)
{
    char *header = NULL, *body = NULL;
    size_t hlen = 0, blen = 0;
    CLQ_FORWARD(read_kernel_file(ctx, SHARED_HEADER, &header, &hlen));
    int status = read_kernel_file(ctx, program_files[id], &body, &blen);
    if (status != CLQ_SUCCESS) {
        free(header);
        return status;
    }
    char *all = malloc(hlen + blen + 2);
    if (!all) {
        free(header);
        free(body);
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "assembling kernel source");
    }
    memcpy(all, header, hlen);
    all[hlen] = '\n';
    memcpy(all + hlen + 1, body, blen);
    all[hlen + 1 + blen] = '\0';
    free(header);
    free(body);
    *source = all;
    *len = hlen + 1 + blen;
    return CLQ_SUCCESS;
}

static void build_options(const clq_context *ctx, char *buf, size_t len)
{
    /* Bit-exact quantization needs 1/d correctly rounded, as in C on the
     * host; OpenCL allows 2.5 ulp unless asked. */
    snprintf(buf, len, "-cl-std=CL1.2%s", ctx->correctly_rounded_divide ? " -cl-fp32-correctly-rounded-divide-sqrt" : "");
    clq_device_params_defines(&ctx->params, buf, len);
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
        return CLQ_FAIL(err, "clCreateProgramWithSource(%s): %s", program_files[id], clq_status_string(err));
    err = clBuildProgram(p, 1, &ctx->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        keep_build_log(ctx, p);
        clReleaseProgram(p);
        return CLQ_FAIL(err == CL_BUILD_PROGRAM_FAILURE ? CLQ_ERROR_BUILD_FAILED : err,
                        "building %s with '%s' failed: %s (clq_last_build_log has the log)", program_files[id],
                        options, clq_status_string(err));
    }
    *out = p;
    return CLQ_SUCCESS;
}

/* A program from a cached binary, or NULL if the driver rejects it. */
static cl_program build_from_binary(clq_context *ctx, const unsigned char *bin, size_t size, const char *options)
{
    cl_int err, binary_status;
    cl_program p = clCreateProgramWithBinary(ctx->context, 1, &ctx->device, &size, &bin, &binary_status, &err);
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

static clq_status build_program(clq_context *ctx, clq_program_id id, cl_program *out)
{
    char *source = NULL;
    size_t len = 0;
    char options[1024];
    build_options(ctx, options, sizeof options);
    CLQ_FORWARD(assemble_source(ctx, id, &source, &len));
    clq_cache_key key;
    cl_program p = NULL;
    if (ctx->cache_enabled) {
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
        if (status == CLQ_SUCCESS && ctx->cache_enabled)
            store_binary(&key, ctx, p);
    }
    free(source);
    if (status == CLQ_SUCCESS)
        *out = p;
    return status;
}

clq_status clq_program_get(clq_context *ctx, clq_program_id id, cl_program *out)
{
    if ((unsigned)id >= CLQ_PROGRAM_COUNT)
        return CLQ_FAIL(CLQ_ERROR_INTERNAL, "program id %d", (int)id);
    pthread_mutex_lock(&ctx->lock);
    int status = CLQ_SUCCESS;
    if (!ctx->programs[id])
        status = build_program(ctx, id, &ctx->programs[id]);
    if (status == CLQ_SUCCESS)
        *out = ctx->programs[id];
    pthread_mutex_unlock(&ctx->lock);
    return status;
}

clq_status clq_kernel_create(clq_context *ctx, clq_program_id id, const char *name, cl_kernel *out)
{
    cl_program p;
    CLQ_FORWARD(clq_program_get(ctx, id, &p));
    cl_int err;
    cl_kernel k = clCreateKernel(p, name, &err);
    if (err != CL_SUCCESS)
        return CLQ_FAIL(err, "clCreateKernel(%s): %s", name, clq_status_string(err));
    *out = k;
    return CLQ_SUCCESS;
}

clq_status clq_kernel_set_args(cl_kernel kernel, const clq_arg *args, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        cl_int err = clSetKernelArg(kernel, (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS)
            return CLQ_FAIL(err, "clSetKernelArg(%zu): %s", i, clq_status_string(err));
    }
    return CLQ_SUCCESS;
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

clq_status clq_launch(clq_context *ctx, clq_program_id id, const char *name, const clq_arg *args, size_t nargs,
                      size_t global, size_t local, cl_uint num_wait, const cl_event *wait_list, cl_event *event)
{
    cl_kernel k;
    CLQ_FORWARD(clq_kernel_create(ctx, id, name, &k));
    int status = clq_kernel_set_args(k, args, nargs);
    if (status == CLQ_SUCCESS)
        status = clq_enqueue_1d(ctx, k, global, local, num_wait, wait_list, event);
    clReleaseKernel(k);
    return status;
}

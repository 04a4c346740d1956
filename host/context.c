/* Contexts: created by clq on a chosen device, or wrapping the application's
 * own OpenCL objects. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void clq_context_options_init(clq_context_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->program_cache = 1;
}

/* The cache directory: option, $CLQ_CACHE_DIR, $XDG_CACHE_HOME/clq, ~/.cache/clq.
 * CLQ_PROGRAM_CACHE=0 in the environment turns the cache off. A path too
 * long to hold is an error: cut short, it would name an ancestor. */
static clq_status choose_cache_dir(const clq_context_options *o, clq_context *ctx)
{
    const char *env = getenv("CLQ_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    const char *off = getenv("CLQ_PROGRAM_CACHE");
    ctx->cache_enabled = o->program_cache != 0 && !(off && strcmp(off, "0") == 0);
    const char *base = NULL, *suffix = "", *from = NULL;
    if (o->cache_dir && *o->cache_dir)
        base = o->cache_dir, from = "options.cache_dir";
    else if (env && *env)
        base = env, from = "CLQ_CACHE_DIR";
    else if (xdg && *xdg)
        base = xdg, suffix = "/clq", from = "XDG_CACHE_HOME";
    else if (home && *home)
        base = home, suffix = "/.cache/clq", from = "HOME";
    else
        ctx->cache_enabled = false; /* nowhere sensible to write */
    int n = base ? snprintf(ctx->cache_dir, sizeof ctx->cache_dir, "%s%s", base, suffix) : 0;
    if (n < 0 || (size_t)n >= sizeof ctx->cache_dir)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "the cache directory (from %s) is longer than %zu bytes",
                        from, sizeof ctx->cache_dir - 1);
    clq_cache_dir_usable(ctx, false);
    return CLQ_SUCCESS;
}

static clq_status read_device_facts(clq_context *ctx)
{
    CLQ_CL(clGetDeviceInfo(ctx->device, CL_DEVICE_PLATFORM, sizeof ctx->platform, &ctx->platform, NULL));
    CLQ_CL(clGetDeviceInfo(ctx->device, CL_DEVICE_NAME, sizeof ctx->device_name - 1, ctx->device_name, NULL));
    CLQ_CL(clGetDeviceInfo(ctx->device, CL_DRIVER_VERSION, sizeof ctx->driver_version - 1,
                           ctx->driver_version, NULL));
    CLQ_CL(clGetPlatformInfo(ctx->platform, CL_PLATFORM_VERSION, sizeof ctx->platform_version - 1,
                             ctx->platform_version, NULL));
    CLQ_CL(clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof ctx->max_work_group,
                           &ctx->max_work_group, NULL));
    CLQ_CL(clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof ctx->compute_units,
                           &ctx->compute_units, NULL));
    CLQ_CL(
        clGetDeviceInfo(ctx->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof ctx->local_mem, &ctx->local_mem, NULL));
    CLQ_CL(clGetDeviceInfo(ctx->device, CL_DEVICE_TYPE, sizeof ctx->device_type, &ctx->device_type, NULL));
    cl_device_fp_config fp = 0;
    CLQ_CL(clGetDeviceInfo(ctx->device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof fp, &fp, NULL));
    ctx->correctly_rounded_divide = (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0;
    cl_bool little = CL_TRUE;
    CLQ_CL(clGetDeviceInfo(ctx->device, CL_DEVICE_ENDIAN_LITTLE, sizeof little, &little, NULL));
    if (!little)
        return CLQ_FAIL(CLQ_ERROR_DEVICE_UNSUITABLE, "%s is big-endian; clq's layouts are little-endian",
                        ctx->device_name);
    return clq_tuning_apply(ctx);
}

/* Allocates a context struct and applies the options common to both ways of
 * making one. */
static clq_status context_new(const clq_context_options *options, clq_context **out)
{
    clq_context_options defaults;
    clq_context_options_init(&defaults);
    const clq_context_options *o = options ? options : &defaults;
    clq_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return CLQ_FAIL(CLQ_ERROR_OUT_OF_HOST_MEMORY, "allocating a context");
    if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
        free(ctx);
        return CLQ_FAIL(CLQ_ERROR_INTERNAL, "pthread_mutex_init failed");
    }
    int status = choose_cache_dir(o, ctx);
    if (status != CLQ_SUCCESS) {
        clq_context_destroy(ctx);
        return status;
    }
    const char *kdir = o->kernel_dir && *o->kernel_dir ? o->kernel_dir : getenv("CLQ_KERNEL_DIR");
    if (kdir && *kdir && strlen(kdir) >= sizeof ctx->kernel_dir) {
        clq_context_destroy(ctx);
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "the kernel directory is longer than %zu bytes",
                        sizeof ctx->kernel_dir - 1);
    }
    if (kdir && *kdir)
        snprintf(ctx->kernel_dir, sizeof ctx->kernel_dir, "%s", kdir);
    const char *tfile = o->tuning_file ? o->tuning_file : getenv("CLQ_TUNING_FILE");
    int n = tfile ? snprintf(ctx->tuning_file, sizeof ctx->tuning_file, "%s", tfile)
                  : snprintf(ctx->tuning_file, sizeof ctx->tuning_file, "%s/tuning.txt", ctx->cache_dir);
    if (n < 0 || (size_t)n >= sizeof ctx->tuning_file) {
        clq_context_destroy(ctx);
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "the tuning file's path is longer than %zu bytes",
                        sizeof ctx->tuning_file - 1);
    }
    if (o->tuning && strlen(o->tuning) >= sizeof ctx->tuning) {
        clq_context_destroy(ctx);
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "options.tuning is longer than %zu bytes",
                        sizeof ctx->tuning - 1);
    }
    if (o->tuning)
        snprintf(ctx->tuning, sizeof ctx->tuning, "%s", o->tuning);
    *out = ctx;
    return CLQ_SUCCESS;
}

clq_status clq_context_create(const clq_context_options *options, clq_context **out)
{
    if (!out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_context_create: out is NULL");
    clq_device_info info;
    CLQ_FORWARD(clq_device_select(options ? options->device : NULL, &info));
    clq_context *ctx = NULL;
    CLQ_FORWARD(context_new(options, &ctx));
    cl_int err = CL_SUCCESS;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)info.platform, 0};
    ctx->device = info.device;
    ctx->context = clCreateContext(props, 1, &info.device, NULL, NULL, &err);
    if (err == CL_SUCCESS) {
        cl_command_queue_properties qp = options && options->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
        /* clCreateCommandQueue is deprecated in 2.0 but is the only call a
         * 1.2 platform has. */
        ctx->queue = clCreateCommandQueue(ctx->context, info.device, qp, &err);
    }
    if (err != CL_SUCCESS) {
        int status =
            CLQ_FAIL(err, "creating a context and queue on %s: %s", info.device_name, clq_status_string(err));
        clq_context_destroy(ctx);
        return status;
    }
    int status = read_device_facts(ctx);
    if (status != CLQ_SUCCESS) {
        clq_context_destroy(ctx);
        return status;
    }
    *out = ctx;
    return CLQ_SUCCESS;
}

clq_status clq_context_wrap(cl_context context, cl_device_id device, cl_command_queue queue,
                            const clq_context_options *options, clq_context **out)
{
    if (!out || !context || !device || !queue)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER,
                        "clq_context_wrap: context, device, queue and out are required");
    cl_context qctx = NULL;
    cl_device_id qdev = NULL;
    CLQ_CL(clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof qctx, &qctx, NULL));
    CLQ_CL(clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof qdev, &qdev, NULL));
    if (qctx != context || qdev != device)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "clq_context_wrap: the queue belongs to another "
                                                    "context or device");
    clq_context *ctx = NULL;
    CLQ_FORWARD(context_new(options, &ctx));
    /* Retain so that destroy can release symmetrically; the application's
     * own references are untouched. */
    clRetainContext(context);
    clRetainCommandQueue(queue);
    ctx->context = context;
    ctx->queue = queue;
    ctx->device = device;
    int status = read_device_facts(ctx);
    if (status != CLQ_SUCCESS) {
        clq_context_destroy(ctx);
        return status;
    }
    *out = ctx;
    return CLQ_SUCCESS;
}

void clq_context_destroy(clq_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->queue)
        clFinish(ctx->queue);
    for (int i = 0; i < ctx->program_count; i++)
        clReleaseProgram(ctx->programs[i].program);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->context)
        clReleaseContext(ctx->context);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

cl_context clq_context_cl_context(const clq_context *ctx)
{
    return ctx ? ctx->context : NULL;
}
cl_device_id clq_context_cl_device(const clq_context *ctx)
{
    return ctx ? ctx->device : NULL;
}
cl_command_queue clq_context_cl_queue(const clq_context *ctx)
{
    return ctx ? ctx->queue : NULL;
}
const char *clq_context_device_name(const clq_context *ctx)
{
    return ctx ? ctx->device_name : "";
}
const char *clq_context_driver_version(const clq_context *ctx)
{
    return ctx ? ctx->driver_version : "";
}

clq_status clq_context_warm_up(clq_context *ctx)
{
    if (!ctx)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_context_warm_up: ctx is NULL");
    cl_program p;
    CLQ_FORWARD(clq_program_get(ctx, CLQ_PROGRAM_QUANTIZE, "", &p));
    CLQ_FORWARD(clq_program_get(ctx, CLQ_PROGRAM_REPACK, "", &p));
    CLQ_FORWARD(clq_program_get(ctx, CLQ_PROGRAM_LORA, "", &p));
    CLQ_FORWARD(clq_program_get(ctx, CLQ_PROGRAM_GGML, "", &p));
    return clq_matmul_warm_up(ctx);
}

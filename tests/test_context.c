/* Contexts: devices are listed and chosen, an application's own OpenCL
 * objects can be wrapped (and stay the application's), and the library
 * reports what it is. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

Test(context, lists_devices_with_one_default)
{
    size_t count = 0;
    TEST_OK(clq_devices_list(NULL, 0, &count));
    cr_assert_gt(count, 0, "no OpenCL device");
    clq_device_info *all = calloc(count, sizeof *all);
    TEST_OK(clq_devices_list(all, count, &count));
    int defaults = 0;
    for (size_t i = 0; i < count; i++)
        defaults += all[i].is_default;
    cr_assert_eq(defaults, 1);
    /* Selecting by "P:D" and by part of the name finds the same device. */
    clq_device_info by_index, by_name;
    char sel[32];
    snprintf(sel, sizeof sel, "%u:%u", all[0].platform_index, all[0].device_index);
    TEST_OK(clq_device_select(sel, &by_index));
    cr_assert_eq(by_index.device, all[0].device);
    char part[8] = {0};
    memcpy(part, all[0].device_name, strlen(all[0].device_name) < 6 ? strlen(all[0].device_name) : 6);
    TEST_OK(clq_device_select(part, &by_name));
    cr_assert_str_eq(by_name.device_name, by_index.device_name);
    free(all);
}

Test(context, wraps_application_objects_without_taking_them)
{
    cl_platform_id platform;
    cl_device_id device;
    cl_int err;
    clq_device_info info;
    TEST_OK(clq_device_select(NULL, &info));
    platform = info.platform;
    device = info.device;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    cl_context context = clCreateContext(props, 1, &device, NULL, NULL, &err);
    cr_assert_eq(err, CL_SUCCESS);
    cl_command_queue queue = clCreateCommandQueue(context, device, 0, &err);
    cr_assert_eq(err, CL_SUCCESS);

    cl_uint context_refs = 0, queue_refs = 0;
    clGetContextInfo(context, CL_CONTEXT_REFERENCE_COUNT, sizeof context_refs, &context_refs, NULL);
    clGetCommandQueueInfo(queue, CL_QUEUE_REFERENCE_COUNT, sizeof queue_refs, &queue_refs, NULL);
    clq_context *ctx = NULL;
    TEST_OK(clq_context_wrap(context, device, queue, NULL, &ctx));
    cr_assert_eq(clq_context_cl_context(ctx), context);
    cr_assert_eq(clq_context_cl_queue(ctx), queue);
    clq_weight_desc d = {CLQ_FORMAT_Q8, 32, 2, 64, 0};
    float x[128], y[128];
    for (int i = 0; i < 128; i++)
        x[i] = (float)(i - 64) / 64.0f;
    clq_weight *w = NULL;
    TEST_OK(clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, x, sizeof x, &w));
    TEST_OK(clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, sizeof y));
    for (int i = 0; i < 128; i++)
        cr_assert_float_eq(y[i], x[i], 1.0f / 127.0f, "element %d", i);
    clq_weight_destroy(w);
    clq_context_destroy(ctx);

    /* The application's objects are still alive and usable, and clq did
     * not release a reference it did not own. (Counts may be briefly higher:
     * PoCL frees finished commands, which hold the queue, on a thread of its
     * own.) */
    cl_uint refs = 0;
    cr_assert_eq(clGetContextInfo(context, CL_CONTEXT_REFERENCE_COUNT, sizeof refs, &refs, NULL), CL_SUCCESS);
    cr_assert_geq(refs, context_refs);
    cr_assert_eq(clGetCommandQueueInfo(queue, CL_QUEUE_REFERENCE_COUNT, sizeof refs, &refs, NULL),
                 CL_SUCCESS);
    cr_assert_geq(refs, queue_refs);
    cl_mem m = clCreateBuffer(context, CL_MEM_READ_WRITE, 64, NULL, &err);
    cr_assert_eq(err, CL_SUCCESS);
    cr_assert_eq(clEnqueueWriteBuffer(queue, m, CL_TRUE, 0, sizeof x[0], x, 0, NULL, NULL), CL_SUCCESS);
    clReleaseMemObject(m);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
}

Test(context, wrap_rejects_a_queue_of_another_context)
{
    clq_device_info info;
    TEST_OK(clq_device_select(NULL, &info));
    cl_int err;
    cl_context a = clCreateContext(NULL, 1, &info.device, NULL, NULL, &err);
    cl_context b = clCreateContext(NULL, 1, &info.device, NULL, NULL, &err);
    cl_command_queue qb = clCreateCommandQueue(b, info.device, 0, &err);
    clq_context *ctx = (clq_context *)0x1;
    cr_assert_eq(clq_context_wrap(a, info.device, qb, NULL, &ctx), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(ctx, (clq_context *)0x1);
    clReleaseCommandQueue(qb);
    clReleaseContext(b);
    clReleaseContext(a);
}

Test(context, reports_version_and_device)
{
    cr_assert_eq(clq_version_number(), CLQ_VERSION_NUMBER);
    cr_assert_str_eq(clq_version_string(), "0.1.0");
    cr_assert_neq(clq_context_device_name(test_context())[0], '\0');
    cr_assert_neq(clq_context_driver_version(test_context())[0], '\0');
}

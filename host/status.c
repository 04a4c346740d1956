/* Status codes, their names, and the per-thread record of the last failure. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* OpenCL's own error codes keep their CL_* names. */
#define CLQ_CL_ERROR_MAP(X)                                                                                  \
    X(CL_DEVICE_NOT_FOUND)                                                                                   \
    X(CL_DEVICE_NOT_AVAILABLE)                                                                               \
    X(CL_COMPILER_NOT_AVAILABLE)                                                                             \
    X(CL_MEM_OBJECT_ALLOCATION_FAILURE)                                                                      \
    X(CL_OUT_OF_RESOURCES)                                                                                   \
    X(CL_OUT_OF_HOST_MEMORY)                                                                                 \
    X(CL_PROFILING_INFO_NOT_AVAILABLE)                                                                       \
    X(CL_MEM_COPY_OVERLAP)                                                                                   \
    X(CL_IMAGE_FORMAT_MISMATCH)                                                                              \
    X(CL_IMAGE_FORMAT_NOT_SUPPORTED)                                                                         \
    X(CL_BUILD_PROGRAM_FAILURE)                                                                              \
    X(CL_MAP_FAILURE)                                                                                        \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET)                                                                       \
    X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)                                                          \
    X(CL_COMPILE_PROGRAM_FAILURE)                                                                            \
    X(CL_LINKER_NOT_AVAILABLE)                                                                               \
    X(CL_LINK_PROGRAM_FAILURE)                                                                               \
    X(CL_DEVICE_PARTITION_FAILED)                                                                            \
    X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE)                                                                      \
    X(CL_INVALID_VALUE)                                                                                      \
    X(CL_INVALID_DEVICE_TYPE)                                                                                \
    X(CL_INVALID_PLATFORM)                                                                                   \
    X(CL_INVALID_DEVICE)                                                                                     \
    X(CL_INVALID_CONTEXT)                                                                                    \
    X(CL_INVALID_QUEUE_PROPERTIES)                                                                           \
    X(CL_INVALID_COMMAND_QUEUE)                                                                              \
    X(CL_INVALID_HOST_PTR)                                                                                   \
    X(CL_INVALID_MEM_OBJECT)                                                                                 \
    X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)                                                                    \
    X(CL_INVALID_IMAGE_SIZE)                                                                                 \
    X(CL_INVALID_SAMPLER)                                                                                    \
    X(CL_INVALID_BINARY)                                                                                     \
    X(CL_INVALID_BUILD_OPTIONS)                                                                              \
    X(CL_INVALID_PROGRAM)                                                                                    \
    X(CL_INVALID_PROGRAM_EXECUTABLE)                                                                         \
    X(CL_INVALID_KERNEL_NAME)                                                                                \
    X(CL_INVALID_KERNEL_DEFINITION)                                                                          \
    X(CL_INVALID_KERNEL)                                                                                     \
    X(CL_INVALID_ARG_INDEX)                                                                                  \
    X(CL_INVALID_ARG_VALUE)                                                                                  \
    X(CL_INVALID_ARG_SIZE)                                                                                   \
    X(CL_INVALID_KERNEL_ARGS)                                                                                \
    X(CL_INVALID_WORK_DIMENSION)                                                                             \
    X(CL_INVALID_WORK_GROUP_SIZE)                                                                            \
    X(CL_INVALID_WORK_ITEM_SIZE)                                                                             \
    X(CL_INVALID_GLOBAL_OFFSET)                                                                              \
    X(CL_INVALID_EVENT_WAIT_LIST)                                                                            \
    X(CL_INVALID_EVENT)                                                                                      \
    X(CL_INVALID_OPERATION)                                                                                  \
    X(CL_INVALID_GL_OBJECT)                                                                                  \
    X(CL_INVALID_BUFFER_SIZE)                                                                                \
    X(CL_INVALID_MIP_LEVEL)                                                                                  \
    X(CL_INVALID_GLOBAL_WORK_SIZE)                                                                           \
    X(CL_INVALID_PROPERTY)                                                                                   \
    X(CL_INVALID_IMAGE_DESCRIPTOR)                                                                           \
    X(CL_INVALID_COMPILER_OPTIONS)                                                                           \
    X(CL_INVALID_LINKER_OPTIONS)                                                                             \
    X(CL_INVALID_DEVICE_PARTITION_COUNT)

const char *clq_status_string(int status)
{
    switch (status) {
#define CLQ_STATUS_CASE_(name, value, text)                                                                  \
    case value:                                                                                              \
        return "CLQ_" #name ": " text;
        CLQ_STATUS_MAP(CLQ_STATUS_CASE_)
#undef CLQ_STATUS_CASE_
#define CLQ_CL_CASE_(name)                                                                                   \
    case name:                                                                                               \
        return #name;
        CLQ_CL_ERROR_MAP(CLQ_CL_CASE_)
#undef CLQ_CL_CASE_
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    default:
        return "unknown status";
    }
}

static _Thread_local char last_error[1024];
static _Thread_local char *last_build_log;

int clq_fail_at(int status, const char *file, int line, const char *fmt, ...)
{
    /* Formatted aside first: an argument may be clq_last_error() itself (a
     * failure that wraps the one before it), which writing into last_error
     * directly would overwrite while reading it. */
    char message[sizeof last_error];
    const char *base = strrchr(file, '/');
    int n = snprintf(message, sizeof message, "%s (%s:%d): ", clq_status_string(status),
                     base ? base + 1 : file, line);
    if (n > 0 && (size_t)n < sizeof message) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(message + n, sizeof message - (size_t)n, fmt, ap);
        va_end(ap);
    }
    memcpy(last_error, message, sizeof last_error);
    return status;
}

int clq_bad_data_at(const char *source, uint64_t offset, const char *file, int line, const char *fmt, ...)
{
    char message[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return clq_fail_at(CLQ_ERROR_BAD_DATA, file, line, "%s: at offset %llu: %s", source,
                       (unsigned long long)offset, message);
}

const char *clq_last_error(void)
{
    return last_error;
}

void clq_set_build_log(const char *log)
{
    free(last_build_log);
    last_build_log = log ? strdup(log) : NULL;
}

const char *clq_last_build_log(void)
{
    return last_build_log ? last_build_log : "";
}

#define CLQ_STR2_(x) #x
#define CLQ_STR_(x) CLQ_STR2_(x)
const char *clq_version_string(void)
{
    return CLQ_STR_(CLQ_VERSION_MAJOR) "." CLQ_STR_(CLQ_VERSION_MINOR) "." CLQ_STR_(CLQ_VERSION_PATCH);
}

int clq_version_number(void)
{
    return CLQ_VERSION_NUMBER;
}

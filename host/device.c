/* Device discovery and choice: platform:device indices, a name substring, or
 * the CLQ_DEVICE environment variable; otherwise the first GPU/accelerator,
 * else the first device (PoCL's CPU device on a machine without a GPU). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

static void info_string(cl_device_id dev, cl_device_info what, char *buf, size_t len)
{
    if (clGetDeviceInfo(dev, what, len, buf, NULL) != CL_SUCCESS)
        snprintf(buf, len, "?");
    buf[len - 1] = '\0';
}

static void fill_info(cl_platform_id p, unsigned pi, cl_device_id d, unsigned di, clq_device_info *out)
{
    memset(out, 0, sizeof *out);
    out->platform_index = pi;
    out->device_index = di;
    out->platform = p;
    out->device = d;
    if (clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof out->platform_name, out->platform_name, NULL) !=
        CL_SUCCESS)
        snprintf(out->platform_name, sizeof out->platform_name, "?");
    out->platform_name[sizeof out->platform_name - 1] = '\0';
    info_string(d, CL_DEVICE_NAME, out->device_name, sizeof out->device_name);
    info_string(d, CL_DEVICE_VERSION, out->device_version, sizeof out->device_version);
    info_string(d, CL_DRIVER_VERSION, out->driver_version, sizeof out->driver_version);
    cl_ulong mem = 0;
    cl_uint units = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof out->type, &out->type, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    out->global_memory_bytes = mem;
    out->compute_units = units;
}

/* Enumerates all devices into a caller array; returns the count found. */
static size_t enumerate(clq_device_info *all, size_t cap)
{
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint np = 0;
    if (clGetPlatformIDs(MAX_PLATFORMS, platforms, &np) != CL_SUCCESS)
        return 0;
    size_t n = 0;
    for (cl_uint pi = 0; pi < np && pi < MAX_PLATFORMS; pi++) {
        cl_device_id devices[MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(platforms[pi], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devices, &nd) != CL_SUCCESS)
            continue;
        for (cl_uint di = 0; di < nd && di < MAX_DEVICES; di++, n++)
            if (n < cap)
                fill_info(platforms[pi], pi, devices[di], di, &all[n]);
    }
    return n;
}

static size_t default_index(const clq_device_info *all, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (all[i].type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR))
            return i;
    return 0;
}

static bool contains_ci(const char *hay, const char *needle)
{
    size_t nl = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < nl && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == nl)
            return true;
    }
    return nl == 0;
}

/* "P:D" of decimal digits only: true, with the indices (-1 for one beyond
 * unsigned, which names no device). sscanf's %u took signs and spaces and
 * wrapped large numbers around, so 0:4294967296 chose 0:0. */
static bool index_selector(const char *sel, long long *p, long long *d)
{
    static const char digits[] = "0123456789";
    size_t np = strspn(sel, digits), nd = np ? strspn(sel + np + 1, digits) : 0;
    if (np == 0 || sel[np] != ':' || nd == 0 || sel[np + 1 + nd] != '\0')
        return false;
    const char *parts[2] = {sel, sel + np + 1};
    long long *out[2] = {p, d};
    for (int k = 0; k < 2; k++) {
        errno = 0;
        unsigned long long v = strtoull(parts[k], NULL, 10);
        *out[k] = errno == ERANGE || v > UINT_MAX ? -1 : (long long)v;
    }
    return true;
}

/* Index of the device a selector names, or -1. "P:D" (decimal digits
 * only) is always read as indices, and names nothing when out of range. */
static long match_selector(const clq_device_info *all, size_t n, const char *sel)
{
    long long p, d;
    if (index_selector(sel, &p, &d)) {
        for (size_t i = 0; p >= 0 && d >= 0 && i < n; i++)
            if (all[i].platform_index == p && all[i].device_index == d)
                return (long)i;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (contains_ci(all[i].device_name, sel))
            return (long)i;
    return -1;
}

static const char *env_selector(void)
{
    const char *env = getenv("CLQ_DEVICE");
    return env && *env ? env : NULL;
}

/* Resolves a selector against the list; fails with CLQ_ERROR_NO_DEVICE. */
static clq_status resolve(const clq_device_info *all, size_t n, const char *sel, size_t *index)
{
    if (n == 0)
        return CLQ_FAIL(CLQ_ERROR_NO_DEVICE, "no OpenCL platform or device found (is an ICD such as "
                                             "pocl-opencl-icd installed?)");
    const char *chosen = sel && *sel ? sel : env_selector();
    if (!chosen) {
        *index = default_index(all, n);
        return CLQ_SUCCESS;
    }
    long i = match_selector(all, n, chosen);
    if (i < 0)
        return CLQ_FAIL(CLQ_ERROR_NO_DEVICE,
                        "no device matches '%s'%s (use 'platform:device' indices or "
                        "part of a device name; `clq devices` lists them)",
                        chosen, sel && *sel ? "" : " from CLQ_DEVICE");
    *index = (size_t)i;
    return CLQ_SUCCESS;
}

clq_status clq_devices_list(clq_device_info *out, size_t capacity, size_t *count)
{
    if (!count || (!out && capacity))
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_devices_list: count or out is NULL");
    clq_device_info all[MAX_DEVICES];
    size_t n = enumerate(all, MAX_DEVICES);
    if (n > MAX_DEVICES)
        n = MAX_DEVICES;
    size_t def = 0;
    const char *env = env_selector();
    long env_index = env ? match_selector(all, n, env) : -1;
    def = env_index >= 0 ? (size_t)env_index : default_index(all, n);
    for (size_t i = 0; i < n && i < capacity; i++) {
        out[i] = all[i];
        out[i].is_default = (i == def);
    }
    *count = n;
    return CLQ_SUCCESS;
}

clq_status clq_device_select(const char *selector, clq_device_info *out)
{
    if (!out)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_device_select: out is NULL");
    clq_device_info all[MAX_DEVICES];
    size_t n = enumerate(all, MAX_DEVICES), index = 0;
    if (n > MAX_DEVICES)
        n = MAX_DEVICES;
    CLQ_FORWARD(resolve(all, n, selector, &index));
    *out = all[index];
    out->is_default = !(selector && *selector) && !env_selector();
    return CLQ_SUCCESS;
}

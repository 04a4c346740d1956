/* Device selection for a run (see devices.h). */
#include "devices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int has_extension(cl_device_id dev, const char *name)
{
    size_t len = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, 0, NULL, &len) != CL_SUCCESS || len == 0)
        return 0;
    char *ext = malloc(len + 1);
    if (!ext)
        return 0;
    int found = 0;
    if (clGetDeviceInfo(dev, CL_DEVICE_EXTENSIONS, len, ext, NULL) == CL_SUCCESS) {
        ext[len] = '\0';
        /* Whole words only: a prefix of another extension's name is not it. */
        size_t n = strlen(name);
        for (const char *p = strstr(ext, name); p && !found; p = strstr(p + 1, name))
            found = (p == ext || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0');
    }
    free(ext);
    return found;
}

static void describe(const clq_device_info *info, bench_device *d)
{
    *d = (bench_device){0};
    snprintf(d->selector, sizeof d->selector, "%u:%u", info->platform_index, info->device_index);
    snprintf(d->name, sizeof d->name, "%s", info->device_name);
    snprintf(d->platform, sizeof d->platform, "%s", info->platform_name);
    snprintf(d->driver, sizeof d->driver, "%s", info->driver_version);
    d->type = info->type;
    d->memory_bytes = info->global_memory_bytes;
    d->compute_units = info->compute_units;
    cl_ulong cache = 0;
    clGetDeviceInfo(info->device, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache, &cache, NULL);
    d->cache_bytes = cache;
    d->has_fp16 = has_extension(info->device, "cl_khr_fp16");
}

static int all_devices(bench_device **out)
{
    size_t count = 0;
    if (clq_devices_list(NULL, 0, &count) != CLQ_SUCCESS || count == 0) {
        fprintf(stderr, "clq bench: no OpenCL device found (is an OpenCL driver such as pocl-opencl-icd "
                        "installed?)\n");
        return -1;
    }
    clq_device_info *infos = calloc(count, sizeof *infos);
    bench_device *devs = calloc(count, sizeof *devs);
    size_t listed = 0;
    if (!infos || !devs || clq_devices_list(infos, count, &listed) != CLQ_SUCCESS) {
        fprintf(stderr, "clq bench: listing devices failed: %s\n", clq_last_error());
        free(infos);
        free(devs);
        return -1;
    }
    count = listed < count ? listed : count;
    for (size_t i = 0; i < count; i++)
        describe(&infos[i], &devs[i]);
    free(infos);
    *out = devs;
    return (int)count;
}

int bench_devices_resolve(const bench_options *o, bench_device **out)
{
    if (o->n_devices == 0)
        return all_devices(out);
    bench_device *devs = calloc((size_t)o->n_devices, sizeof *devs);
    if (!devs)
        return -1;
    int n = 0;
    for (int i = 0; i < o->n_devices; i++) {
        clq_device_info info;
        if (clq_device_select(o->devices[i], &info) != CLQ_SUCCESS) {
            fprintf(stderr, "clq bench: --device '%s': %s\n", o->devices[i], clq_last_error());
            free(devs);
            return -1;
        }
        bench_device d;
        describe(&info, &d);
        int seen = 0;
        for (int j = 0; j < n; j++)
            seen |= strcmp(devs[j].selector, d.selector) == 0;
        if (!seen)
            devs[n++] = d;
    }
    *out = devs;
    return n;
}

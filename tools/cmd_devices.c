/*
 * `clq devices`: every OpenCL platform and device clq can use, one line each,
 * with the default (what the other commands pick without --device) marked.
 */
#define _POSIX_C_SOURCE 200809L

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static const char *const NAME = "devices";

static void print_help(void)
{
    printf("usage: clq devices [--device SEL]\n\n"
           "Lists every OpenCL platform and its devices, one line each:\n"
           "  P:D  name  [GPU|CPU|ACCEL]  driver  memory  compute units\n"
           "'*' marks the device the other commands use by default ($CLQ_DEVICE, else the\n"
           "first GPU or accelerator, else the first device).\n\n"
           "  -d, --device SEL   show only the device SEL selects ('platform:device' or part\n"
           "                     of a device name), to check a selector\n"
           "  -h, --help         this help\n");
}

static const char *type_name(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return "ACCEL";
    if (type & CL_DEVICE_TYPE_CPU)
        return "CPU";
    return "OTHER";
}

static void format_memory(uint64_t bytes, char *buf, size_t len)
{
    const double gib = 1024.0 * 1024.0 * 1024.0;
    if ((double)bytes >= gib)
        snprintf(buf, len, "%.1f GiB", (double)bytes / gib);
    else
        snprintf(buf, len, "%.0f MiB", (double)bytes / (1024.0 * 1024.0));
}

/* Prints the devices (all, or only `only` when not NULL) with columns padded
 * to the longest name so the list reads as a table. */
static void print_devices(const clq_device_info *devs, size_t n, const clq_device_info *only)
{
    int name_width = 0, driver_width = 0;
    for (size_t i = 0; i < n; i++) {
        int w = (int)strlen(devs[i].device_name), d = (int)strlen(devs[i].driver_version);
        name_width = w > name_width ? w : name_width;
        driver_width = d > driver_width ? d : driver_width;
    }
    for (size_t i = 0; i < n; i++) {
        const clq_device_info *d = &devs[i];
        if (only && (d->platform_index != only->platform_index || d->device_index != only->device_index))
            continue;
        if (!only && (i == 0 || d->platform_index != devs[i - 1].platform_index))
            printf("platform %u: %s\n", d->platform_index, d->platform_name);
        char memory[32], id[32];
        format_memory(d->global_memory_bytes, memory, sizeof memory);
        snprintf(id, sizeof id, "%u:%u", d->platform_index, d->device_index);
        printf("%c %-5s  %-*s  [%s]%*s  %-*s  %9s  %u compute units\n", d->is_default ? '*' : ' ', id,
               name_width, d->device_name, type_name(d->type), 5 - (int)strlen(type_name(d->type)), "",
               driver_width, d->driver_version, memory, d->compute_units);
    }
}

int cmd_devices(int argc, char **argv)
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
    if (optind < argc)
        return tool_usage_error(NAME, "unexpected argument '%s'", argv[optind]);

    size_t count = 0;
    int status = clq_devices_list(NULL, 0, &count);
    if (status != CLQ_SUCCESS)
        return tool_library_error(NAME, "clq_devices_list", status);
    if (count == 0)
        return tool_error(NAME, "no OpenCL device found (is an OpenCL driver or ICD, such as "
                                "pocl-opencl-icd, installed?)");
    clq_device_info *devs = calloc(count, sizeof *devs);
    if (!devs)
        return tool_error(NAME, "out of memory");
    size_t listed = 0;
    status = clq_devices_list(devs, count, &listed);
    if (status != CLQ_SUCCESS) {
        free(devs);
        return tool_library_error(NAME, "clq_devices_list", status);
    }
    /* The list may have changed between the two calls (a device unplugged). */
    count = listed < count ? listed : count;

    int rc = TOOL_EXIT_OK;
    if (selector) {
        clq_device_info chosen;
        status = clq_device_select(selector, &chosen);
        if (status != CLQ_SUCCESS)
            rc = tool_library_error(NAME, "selecting a device", status);
        else
            print_devices(devs, count, &chosen);
    } else {
        print_devices(devs, count, NULL);
    }
    free(devs);
    return rc;
}

/*
 * `clq`: quantize, dequantize and inspect weights from the command line.
 * main() dispatches on the subcommand; the helpers every subcommand shares
 * (error lines, strict numbers, opening a context) live here too.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

#ifdef CLQ_HAVE_BENCH
#include "bench.h"
#endif

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"devices", cmd_devices, "list OpenCL platforms and devices; '*' marks the default"},
    {"quantize", cmd_quantize, "quantize an fp32 matrix into a folder of an external layout"},
    {"dequantize", cmd_dequantize, "dequantize a folder back into an fp32 matrix"},
    {"matmul", cmd_matmul, "multiply an fp32 matrix by a folder's or a file's weight, with bias and LoRA"},
    {"inspect", cmd_inspect, "list the metadata and tensors of a GGUF or safetensors file or PEFT adapter"},
    {"tune", cmd_tune, "search this device's kernel parameters and store them in the tuning file"},
#ifdef CLQ_HAVE_BENCH
    {"bench", clq_bench_main, "time quantize, dequantize and matmul against CLBlast and the roofline"},
#endif
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *out)
{
    fprintf(out, "usage: clq <command> [options] [arguments]\n"
                 "       clq --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nEvery command takes --device SEL ('platform:device' or part of a device name;\n"
                 "default: $CLQ_DEVICE, else the first GPU or accelerator) and --help.\n");
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "clq: no command given (devices, quantize, dequantize, matmul, inspect, tune, bench;"
                        " see 'clq --help')\n");
        return TOOL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_usage(stdout);
        return TOOL_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "version") == 0) {
        printf("clq %s\n", clq_version_string());
        return TOOL_EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_usage(stdout);
            return TOOL_EXIT_OK;
        }
        const command *c = find_command(argv[2]);
        if (!c) {
            fprintf(stderr, "clq: unknown command '%s' (try 'clq --help')\n", argv[2]);
            return TOOL_EXIT_USAGE;
        }
        char *help_argv[] = {argv[2], "--help", NULL};
        return c->run(2, help_argv);
    }
    const command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "clq: unknown command '%s' (try 'clq --help')\n", name);
        return TOOL_EXIT_USAGE;
    }
    /* The subcommand sees its own name as argv[0], so getopt_long starts
     * right after it. */
    return c->run(argc - 1, argv + 1);
}

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                            */
/* ------------------------------------------------------------------------ */

/* One line per error, so scripts and tests can take the whole of stderr as
 * the reason. */
static void vreport(const char *cmd, const char *hint, const char *fmt, va_list ap)
{
    fprintf(stderr, "clq %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    if (hint)
        fprintf(stderr, " (see 'clq %s --help')", cmd);
    fputc('\n', stderr);
}

int tool_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, NULL, fmt, ap);
    va_end(ap);
    return TOOL_EXIT_RUNTIME;
}

int tool_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cmd, "help", fmt, ap);
    va_end(ap);
    return TOOL_EXIT_USAGE;
}

int tool_library_error(const char *cmd, const char *call, int status)
{
    const char *why = clq_last_error();
    /* clq_last_error() is empty if the failing call recorded nothing; the
     * status name still says what went wrong. */
    return tool_error(cmd, "%s failed: %s", call, why && *why ? why : clq_status_string(status));
}

int tool_bad_option(const char *cmd, int opt, char **argv)
{
    /* For a long option optopt holds its value (or 0 if unknown), so the
     * argument getopt_long just consumed is the clearer thing to name. */
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (opt == ':')
        return tool_usage_error(cmd, "option '%s' needs a value", arg);
    if (optopt > 0 && optopt < 128 && strncmp(arg, "--", 2) != 0)
        return tool_usage_error(cmd, "unknown option '-%c'", optopt);
    return tool_usage_error(cmd, "unknown option '%s'", arg);
}

int tool_parse_u64(const char *cmd, const char *option, const char *text, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    /* strtoull skips leading spaces and accepts '-' (negating modulo 2^64),
     * so "-1" would silently become 18446744073709551615: insist on a digit. */
    if (!text || text[0] < '0' || text[0] > '9') {
        tool_usage_error(cmd, "%s: '%s' is not a non-negative whole number", option, text ? text : "");
        return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0') {
        tool_usage_error(cmd, "%s: '%s' is not a whole number", option, text);
        return -1;
    }
    if (errno == ERANGE || v > max || v < min) {
        tool_usage_error(cmd, "%s: %s is out of range (%llu to %llu)", option, text, (unsigned long long)min,
                         (unsigned long long)max);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int tool_open_context(const char *cmd, const char *selector, clq_context **out)
{
    clq_context_options options;
    clq_context_options_init(&options);
    options.device = selector;
    int status = clq_context_create(&options, out);
    if (status != CLQ_SUCCESS) {
        tool_library_error(cmd, "opening an OpenCL context", status);
        return -1;
    }
    return 0;
}

/*
 * The `clq` command-line tool: subcommand entry points and the helpers they
 * share (tools/clq.c). Not part of the library.
 *
 * Conventions every subcommand follows: argv[0] is the subcommand's own name
 * ("quantize"), errors are one line "clq <cmd>: <message>" on stderr, and the
 * exit status is TOOL_EXIT_OK, TOOL_EXIT_RUNTIME (the input or the library
 * failed) or TOOL_EXIT_USAGE (the command line is wrong).
 */
#ifndef CLQ_TOOL_H
#define CLQ_TOOL_H

#include <stdint.h>

#include "clq.h"

enum { TOOL_EXIT_OK = 0, TOOL_EXIT_RUNTIME = 1, TOOL_EXIT_USAGE = 2 };

#if defined(__GNUC__)
#define TOOL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TOOL_PRINTF(f, a)
#endif

/* Subcommands: each parses its own options and returns the exit status. */
int cmd_devices(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_dequantize(int argc, char **argv);
int cmd_matmul(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_tune(int argc, char **argv);

/* Prints "clq <cmd>: <message>" on stderr; returns TOOL_EXIT_RUNTIME. */
int tool_error(const char *cmd, const char *fmt, ...) TOOL_PRINTF(2, 3);

/* The same, on the same line, with a pointer to --help; returns TOOL_EXIT_USAGE. */
int tool_usage_error(const char *cmd, const char *fmt, ...) TOOL_PRINTF(2, 3);

/* Reports a failed library call with clq_last_error(); returns
 * TOOL_EXIT_RUNTIME. Call it before any other clq call, which could replace
 * the message. */
int tool_library_error(const char *cmd, const char *call, int status);

/* Reports what getopt_long rejected (an unknown option or one missing its
 * value), given the '?' or ':' it returned; returns TOOL_EXIT_USAGE. The
 * option string must start with ':' so both cases are told apart. */
int tool_bad_option(const char *cmd, int opt, char **argv);

/* Parses a whole decimal number in [min, max] for option `option`. Rejects
 * empty strings, signs, spaces, trailing garbage and overflow, all of which
 * strtoull alone lets through. Prints the error itself; returns 0 or -1. */
int tool_parse_u64(const char *cmd, const char *option, const char *text, uint64_t min, uint64_t max,
                   uint64_t *out);

/* Opens a context on the device `selector` names (NULL: CLQ_DEVICE or the
 * default device). Prints the reason on failure; returns 0 or -1. */
int tool_open_context(const char *cmd, const char *selector, clq_context **out);

#endif /* CLQ_TOOL_H */

/* The tuning file: per-device kernel parameters found by `clq tune`, one
 * line per device and driver, loaded when a context is made. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* The parameters of the line for this device and driver, or NULL. Lines
 * are "device TAB driver TAB params"; '#' starts a comment line. `text` is
 * modified (lines are cut in place). */
static const char *find_entry(char *text, const char *device, const char *driver, unsigned *line_no)
{
    unsigned n = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        n++;
        char *tab1 = strchr(line, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (line[0] != '#' && tab2) {
            *tab1 = *tab2 = '\0';
            if (strcmp(line, device) == 0 && strcmp(tab1 + 1, driver) == 0) {
                *line_no = n;
                return tab2 + 1;
            }
        }
        line = next;
    }
    return NULL;
}

clq_status clq_tuning_apply(clq_context *ctx)
{
    clq_device_params_default(ctx, &ctx->params);
    if (ctx->tuning_file[0]) {
        size_t size = 0;
        bool not_regular;
        char *text = (char *)clq_file_slurp(ctx->tuning_file, 0, &size, &not_regular);
        /* Absent is the usual case; anything else that keeps the file from
         * being read is said, not skipped. */
        if (!text && errno != ENOENT && errno != ENOTDIR)
            return CLQ_FAIL(CLQ_ERROR_IO, "tuning file %s: %s", ctx->tuning_file,
                            not_regular ? "not a regular file" : strerror(errno));
        if (text) {
            unsigned line = 0;
            const char *params = find_entry(text, ctx->device_name, ctx->driver_version, &line);
            int status = params ? clq_device_params_parse(ctx, params, &ctx->params) : CLQ_SUCCESS;
            free(text);
            if (status != CLQ_SUCCESS)
                return CLQ_FAIL(status, "tuning file %s, line %u: %s", ctx->tuning_file, line,
                                clq_last_error());
        }
    }
    if (ctx->tuning[0])
        CLQ_FORWARD(clq_device_params_parse(ctx, ctx->tuning, &ctx->params));
    /* CLQ_PARAMS last: for experiments, and for testing other devices'
     * kernel shapes on this one. */
    const char *env = getenv("CLQ_PARAMS");
    if (env)
        CLQ_FORWARD(clq_device_params_parse(ctx, env, &ctx->params));
    return CLQ_SUCCESS;
}

clq_status clq_context_tuning(const clq_context *ctx, char *buf, size_t len)
{
    if (!ctx || !buf)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_context_tuning: ctx and buf are required");
    char text[512];
    clq_device_params_format(&ctx->params, text, sizeof text);
    if (strlen(text) >= len)
        return CLQ_FAIL(CLQ_ERROR_BUFFER_TOO_SMALL, "the parameters need %zu bytes, the buffer holds %zu",
                        strlen(text) + 1, len);
    memcpy(buf, text, strlen(text) + 1);
    return CLQ_SUCCESS;
}

const char *clq_context_tuning_file(const clq_context *ctx)
{
    return ctx ? ctx->tuning_file : "";
}

clq_status clq_tuning_save(const clq_context *ctx, const char *params, const char *path)
{
    if (!ctx || !params)
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_tuning_save: ctx and params are required");
    if (!path)
        path = ctx->tuning_file;
    if (!path[0])
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "clq_tuning_save: this context has no tuning file");
    if (strpbrk(params, "\t\n") || strpbrk(ctx->device_name, "\t\n") || strpbrk(ctx->driver_version, "\t\n"))
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "tabs and newlines cannot be stored in a tuning line");
    clq_device_params check = ctx->params;
    CLQ_FORWARD(clq_device_params_parse(ctx, params, &check));

    /* Keep every other line, drop this device's, append the new one. */
    bool exists = false, not_regular;
    mode_t mode = 0666;
    CLQ_FORWARD(clq_file_check_replace(path, &exists, &mode));
    size_t size = 0;
    char *old = exists ? (char *)clq_file_slurp(path, 0, &size, &not_regular) : NULL;
    if (exists && !old)
        return CLQ_FAIL(CLQ_ERROR_IO, "cannot read the tuning file %s: %s", path, strerror(errno));
    char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) {
        *slash = '\0';
        clq_file_make_dirs(dir);
    }
    free(dir);
    char *tmp = NULL;
    int fd = clq_file_create_temp(path, 0666, &tmp);
    FILE *f = fd >= 0 && (!exists || fchmod(fd, mode) == 0) ? fdopen(fd, "w") : NULL;
    if (!f) {
        int status =
            CLQ_FAIL(CLQ_ERROR_IO, "cannot write a temporary file beside %s: %s", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        free(tmp);
        free(old);
        return status;
    }
    bool ok = true;
    if (!old)
        ok = fputs("# clq tuning file: device TAB driver TAB parameters (written by clq tune)\n", f) >= 0;
    for (char *line = old; ok && line && *line;) {
        char *next = strchr(line, '\n');
        size_t len = next ? (size_t)(next - line) : strlen(line);
        size_t dlen = strlen(ctx->device_name), vlen = strlen(ctx->driver_version);
        bool mine = len > dlen + vlen + 2 && strncmp(line, ctx->device_name, dlen) == 0 &&
                    line[dlen] == '\t' && strncmp(line + dlen + 1, ctx->driver_version, vlen) == 0 &&
                    line[dlen + 1 + vlen] == '\t';
        if (!mine && len > 0)
            ok = fwrite(line, 1, len, f) == len && fputc('\n', f) != EOF;
        line = next ? next + 1 : NULL;
    }
    free(old);
    if (ok)
        ok = fprintf(f, "%s\t%s\t%s\n", ctx->device_name, ctx->driver_version, params) > 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return CLQ_FAIL(CLQ_ERROR_IO, "cannot write the tuning file %s", path);
    }
    free(tmp);
    return CLQ_SUCCESS;
}

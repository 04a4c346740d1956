/*
 * Weights and adapters named inside model files, for the `clq` tool (see
 * file_source.h).
 */
#define _POSIX_C_SOURCE 200809L

#include "file_source.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

/* Where the ":" after ".gguf" or ".safetensors" is, or NULL. */
static const char *split_point(const char *spec)
{
    static const char *const suffixes[] = {".gguf:", ".safetensors:"};
    for (size_t k = 0; k < 2; k++) {
        const char *at = strstr(spec, suffixes[k]);
        if (at)
            return at + strlen(suffixes[k]) - 1;
    }
    return NULL;
}

bool weight_file_spec(const char *spec)
{
    return split_point(spec) != NULL;
}

static int find_in_safetensors(const char *cmd, weight_file *w)
{
    clq_bnb_info info;
    int status = clq_safetensors_bnb_info(w->st, w->name, &info);
    if (status == CLQ_SUCCESS) {
        w->bnb = true;
        w->rows = info.desc.rows;
        w->cols = info.desc.cols;
        return 0;
    }
    if (status != CLQ_ERROR_NOT_FOUND)
        return tool_library_error(cmd, "clq_safetensors_bnb_info", status), -1;
    /* Not a bnb layer: a float tensor, by its name or as NAME.weight. */
    size_t index;
    clq_safetensors_tensor t;
    if (clq_safetensors_find_tensor(w->st, w->name, &index) != CLQ_SUCCESS) {
        size_t n = strlen(w->name);
        char *with_weight = realloc(w->name, n + sizeof ".weight");
        if (!with_weight)
            return tool_error(cmd, "out of memory"), -1;
        w->name = with_weight;
        memcpy(w->name + n, ".weight", sizeof ".weight");
        status = clq_safetensors_find_tensor(w->st, w->name, &index);
        if (status != CLQ_SUCCESS) {
            w->name[n] = '\0';
            tool_error(cmd, "'%s' is neither a bitsandbytes layer nor a tensor (nor has a '.weight' tensor)",
                       w->name);
            return -1;
        }
    }
    clq_safetensors_tensor_info(w->st, index, &t);
    if (t.n_dims < 1 || t.n_dims > 2)
        return tool_error(cmd, "tensor '%s' has %u dimensions; a weight is 1-D or 2-D", t.name, t.n_dims), -1;
    w->rows = t.n_dims == 2 ? t.dims[0] : 1;
    w->cols = t.dims[t.n_dims - 1];
    return 0;
}

static int find_in_gguf(const char *cmd, weight_file *w)
{
    size_t index;
    clq_gguf_tensor t;
    int status = clq_gguf_find_tensor(w->gguf, w->name, &index);
    if (status != CLQ_SUCCESS)
        return tool_library_error(cmd, "clq_gguf_find_tensor", status), -1;
    clq_gguf_tensor_info(w->gguf, index, &t);
    w->rows = t.dims[1];
    w->cols = t.dims[0];
    return 0;
}

int weight_file_open(const char *cmd, const char *spec, clq_format float_format, uint32_t float_block,
                     weight_file *out)
{
    memset(out, 0, sizeof *out);
    const char *colon = split_point(spec);
    size_t path_len = (size_t)(colon - spec);
    char *path = malloc(path_len + 1);
    out->name = strdup(colon + 1);
    if (!path || !out->name) {
        free(path);
        return tool_error(cmd, "out of memory"), -1;
    }
    memcpy(path, spec, path_len);
    path[path_len] = '\0';
    out->float_format = float_format;
    out->float_block = float_block;
    bool gguf = path_len >= 5 && strcmp(path + path_len - 5, ".gguf") == 0;
    int status = gguf ? clq_gguf_open(path, &out->gguf) : clq_safetensors_open(path, &out->st);
    free(path);
    if (status != CLQ_SUCCESS)
        return tool_library_error(cmd, gguf ? "clq_gguf_open" : "clq_safetensors_open", status), -1;
    return gguf ? find_in_gguf(cmd, out) : find_in_safetensors(cmd, out);
}

int weight_file_load(const char *cmd, clq_context *ctx, const weight_file *w, clq_weight **out)
{
    int status;
    const char *call;
    if (w->gguf) {
        call = "clq_gguf_load_weight";
        status = clq_gguf_load_weight(ctx, w->gguf, w->name, w->float_format, w->float_block, out);
    } else if (w->bnb) {
        call = "clq_safetensors_load_bnb";
        status = clq_safetensors_load_bnb(ctx, w->st, w->name, out);
    } else {
        call = "clq_safetensors_load_weight";
        status = clq_safetensors_load_weight(ctx, w->st, w->name, w->float_format, w->float_block, out);
    }
    return status == CLQ_SUCCESS ? 0 : (tool_library_error(cmd, call, status), -1);
}

void weight_file_close(weight_file *w)
{
    clq_gguf_close(w->gguf);
    clq_safetensors_close(w->st);
    free(w->name);
    memset(w, 0, sizeof *w);
}

bool peft_spec(const char *spec, char *dir, size_t dirlen, const char **layer)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) + sizeof "/adapter_config.json" > dirlen)
        return false;
    size_t n = (size_t)(colon - spec);
    memcpy(dir, spec, n);
    strcpy(dir + n, "/adapter_config.json");
    struct stat st;
    bool found = stat(dir, &st) == 0 && S_ISREG(st.st_mode);
    dir[n] = '\0';
    *layer = colon + 1;
    return found;
}

/* Links against an installed clq as an application would: writes a small
 * safetensors file, loads its tensor as a Q4 weight (clq_io.h), checks a
 * dequantized value (clq.h), and checks that the version the package
 * describes (CLQ_PACKAGE_VERSION, from the CMake package or pkg-config) is
 * the header's and the library's.
 *
 *   consumer SCRATCH.safetensors */
#include <clq.h>
#include <clq_io.h>
#include <stdio.h>
#include <string.h>

static int check_version(void)
{
    char header[32];
    snprintf(header, sizeof header, "%d.%d.%d", CLQ_VERSION_MAJOR, CLQ_VERSION_MINOR, CLQ_VERSION_PATCH);
    if (strcmp(header, CLQ_PACKAGE_VERSION) != 0 || strcmp(clq_version_string(), CLQ_PACKAGE_VERSION) != 0 ||
        clq_version_number() != CLQ_VERSION_NUMBER) {
        fprintf(stderr, "version mismatch: package %s, header %s, library %s (%d; header %d)\n",
                CLQ_PACKAGE_VERSION, header, clq_version_string(), clq_version_number(), CLQ_VERSION_NUMBER);
        return 0;
    }
    return 1;
}

static int write_file(const char *path, const float *x, size_t bytes)
{
    clq_safetensors_writer *sw = NULL;
    uint64_t dims[2] = {1, 32};
    int ok =
        clq_safetensors_writer_create(&sw) == CLQ_SUCCESS &&
        clq_safetensors_writer_add_tensor(sw, "w", CLQ_SAFETENSORS_F32, 2, dims, x, bytes) == CLQ_SUCCESS &&
        clq_safetensors_writer_write(sw, path) == CLQ_SUCCESS;
    clq_safetensors_writer_destroy(sw);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: consumer SCRATCH.safetensors\n");
        return 2;
    }
    if (!check_version())
        return 1;
    float x[32], y[32];
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i - 16);
    if (!write_file(argv[1], x, sizeof x)) {
        fprintf(stderr, "%s\n", clq_last_error());
        return 1;
    }
    clq_context *ctx = NULL;
    if (clq_context_create(NULL, &ctx) != CLQ_SUCCESS) {
        fprintf(stderr, "%s\n", clq_last_error());
        return 1;
    }
    clq_safetensors *st = NULL;
    clq_weight *w = NULL;
    int ok = clq_safetensors_open(argv[1], &st) == CLQ_SUCCESS &&
             clq_safetensors_load_weight(ctx, st, "w", CLQ_FORMAT_Q4, 32, &w) == CLQ_SUCCESS &&
             clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, sizeof y) == CLQ_SUCCESS && y[0] == -16.0f;
    if (!ok)
        fprintf(stderr, "%s\n", clq_last_error());
    printf("clq %s on %s: %s\n", clq_version_string(), clq_context_device_name(ctx), ok ? "ok" : "FAILED");
    clq_weight_destroy(w);
    clq_safetensors_close(st);
    clq_context_destroy(ctx);
    return ok ? 0 : 1;
}

/* Links against an installed clq, quantizes one block and checks the value. */
#include <clq.h>
#include <stdio.h>

int main(void)
{
    clq_context *ctx = NULL;
    if (clq_context_create(NULL, &ctx) != CLQ_SUCCESS) {
        fprintf(stderr, "%s\n", clq_last_error());
        return 1;
    }
    float x[32], y[32];
    for (int i = 0; i < 32; i++)
        x[i] = (float)(i - 16);
    clq_weight_desc desc = {CLQ_FORMAT_Q4, 32, 1, 32, 0};
    clq_weight *w = NULL;
    int ok = clq_weight_quantize_host(ctx, &desc, CLQ_DTYPE_F32, x, sizeof x, &w) == CLQ_SUCCESS &&
             clq_weight_dequantize_host(w, CLQ_DTYPE_F32, y, sizeof y) == CLQ_SUCCESS && y[0] == -16.0f;
    printf("clq %s on %s: %s\n", clq_version_string(), clq_context_device_name(ctx), ok ? "ok" : "FAILED");
    clq_weight_destroy(w);
    clq_context_destroy(ctx);
    return ok ? 0 : 1;
}

/*
 * One element of the LoRA shrink, T[m, j] = X[m, :]·A[j, :], in float16
 * vectors (K is a multiple of the weight's block, so of 16). Prepended to
 * lora.cl, whose clq_lora_shrink_rows is the CPUs' shrink.
 */

/* Four independent sums: one would wait on the fma latency at every step. */
inline float lora_dot(global const void *x, uint x_half, ulong x_at, global const void *a, uint a_half,
                      ulong a_at, uint k_count)
{
    float16 acc0 = (float16)(0.0f), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    uint k = 0;
    for (; k + 64 <= k_count; k += 64) {
        acc0 = fma(load_x16(x, x_half, x_at + k), load_x16(a, a_half, a_at + k), acc0);
        acc1 = fma(load_x16(x, x_half, x_at + k + 16), load_x16(a, a_half, a_at + k + 16), acc1);
        acc2 = fma(load_x16(x, x_half, x_at + k + 32), load_x16(a, a_half, a_at + k + 32), acc2);
        acc3 = fma(load_x16(x, x_half, x_at + k + 48), load_x16(a, a_half, a_at + k + 48), acc3);
    }
    for (; k < k_count; k += 16)
        acc0 = fma(load_x16(x, x_half, x_at + k), load_x16(a, a_half, a_at + k), acc0);
    float16 acc = (acc0 + acc1) + (acc2 + acc3);
    float8 a8 = acc.lo + acc.hi;
    float4 a4 = a8.lo + a8.hi;
    float2 a2 = a4.lo + a4.hi;
    return a2.x + a2.y;
}

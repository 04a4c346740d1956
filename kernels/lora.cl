/*
 * The shrink half of the LoRA side path: T = X·Aᵀ for each row of X with that
 * row's adapter (Punica's BGMV "shrink"). T is M × r_max floats in a scratch
 * buffer that only clq sees; the matmul kernels add s·T·Bᵀ to Y in their
 * epilogue, so Y is written once.
 *
 * Adapters live packed in one buffer: adapter i's A is rank[i] rows of K
 * starting at row a_row[i]. lora_dot.cl is prepended.
 */

/* The host passes it for every build (host/params_table.h), so no default. */
#ifndef CLQ_REDUCE_WG
#error "CLQ_REDUCE_WG comes from the host's parameter table (host/params_table.h)"
#endif

/* One work-group per (row m, rank index j): its lanes split K, then reduce
 * in local memory. Rows without an adapter (index -1) and j beyond the
 * adapter's rank get 0. */
kernel __attribute__((reqd_work_group_size(CLQ_REDUCE_WG, 1, 1))) void
clq_lora_shrink(uint m_count, uint k_count, global const void *x, uint x_half, global const void *a_all,
                uint a_half, global const int *rank, global const uint *a_row, global const int *row_adapter,
                uint r_max, global float *t)
{
    local float partial[CLQ_REDUCE_WG];
    uint pair = get_group_id(0), lid = get_local_id(0);
    uint m = pair / r_max, j = pair % r_max;
    if (m >= m_count)
        return; /* uniform over the work-group */
    int adapter = row_adapter ? row_adapter[m] : 0;
    bool active = adapter >= 0 && (int)j < rank[max(adapter, 0)];
    float sum = 0.0f;
    if (active) {
        ulong xrow = (ulong)m * k_count, arow = (ulong)(a_row[adapter] + j) * k_count;
        for (uint k = lid; k < k_count; k += CLQ_REDUCE_WG)
            sum = fma(load_x(x, x_half, xrow + k), load_x(a_all, a_half, arow + k), sum);
    }
    partial[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint stride = CLQ_REDUCE_WG / 2; stride > 0; stride /= 2) {
        if (lid < stride)
            partial[lid] += partial[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0)
        t[(ulong)m * r_max + j] = partial[0];
}

/* The same T for CPUs: one work-item per (row m, rank index j), its dot
 * product over K in float16 vectors (lora_dot.cl). No barrier and no local
 * memory: on PoCL a work-group barrier costs more than the 4096-element dot
 * product it would split. */
kernel void clq_lora_shrink_rows(uint m_count, uint k_count, global const void *x, uint x_half,
                                 global const void *a_all, uint a_half, global const int *rank,
                                 global const uint *a_row, global const int *row_adapter, uint r_max,
                                 global float *t)
{
    uint pair = get_global_id(0);
    uint m = pair / r_max, j = pair % r_max;
    if (m >= m_count)
        return;
    int adapter = row_adapter ? row_adapter[m] : 0;
    float sum = 0.0f;
    if (adapter >= 0 && (int)j < rank[adapter])
        sum = lora_dot(x, x_half, (ulong)m * k_count, a_all, a_half, (ulong)(a_row[adapter] + j) * k_count,
                       k_count);
    t[(ulong)m * r_max + j] = sum;
}

/* The shared description of the benchmarked operations (see ops.h). */
#include "ops.h"

#include <math.h>
#include <string.h>

#include "fp16.h"
#include "rng.h"

static const char *const OP_NAMES[BENCH_OP_COUNT] = {"quantize", "dequantize", "matmul"};

const char *bench_op_name(bench_op op)
{
    return op < BENCH_OP_COUNT ? OP_NAMES[op] : "?";
}

int bench_op_from_name(const char *name, bench_op *out)
{
    for (int i = 0; i < BENCH_OP_COUNT; i++)
        if (strcmp(name, OP_NAMES[i]) == 0) {
            *out = (bench_op)i;
            return 0;
        }
    return -1;
}

/* N×K of nn.Linear layers. Llama-2-7B: q/k/v/o are 4096×4096, gate and up
 * 11008×4096, down 4096×11008. Llama-3-8B and Mistral-7B widen the MLP to
 * 14336 (their k/v projections are 1024×4096 with grouped-query attention). */
static const bench_shape PRESETS[] = {
    {4096, 4096, "llama2-7b.attn"},      {11008, 4096, "llama2-7b.mlp_up"},
    {4096, 11008, "llama2-7b.mlp_down"}, {14336, 4096, "llama3-8b.mlp_up"},
    {4096, 14336, "llama3-8b.mlp_down"}, {1024, 4096, "llama3-8b.attn_kv"},
};
#define PRESET_COUNT (sizeof PRESETS / sizeof PRESETS[0])

/* The default sweep: the three Llama-2-7B layers and the 14336-wide up
 * projection, the shapes the issue names. */
static const bench_shape DEFAULT_SHAPES[BENCH_DEFAULT_SHAPES] = {
    {4096, 4096, "llama2-7b.attn"},
    {11008, 4096, "llama2-7b.mlp_up"},
    {4096, 11008, "llama2-7b.mlp_down"},
    {14336, 4096, "llama3-8b.mlp_up"},
};

const bench_shape *bench_default_shapes(void)
{
    return DEFAULT_SHAPES;
}

const char *bench_preset_names(void)
{
    return "llama2-7b.attn, llama2-7b.mlp_up, llama2-7b.mlp_down, llama3-8b.mlp_up, llama3-8b.mlp_down, "
           "llama3-8b.attn_kv, llama2-7b, llama3-8b, all";
}

const char *bench_shape_name(uint64_t n, uint64_t k)
{
    for (size_t i = 0; i < PRESET_COUNT; i++)
        if (PRESETS[i].n == n && PRESETS[i].k == k)
            return PRESETS[i].name;
    return "custom";
}

static int copy_prefixed(const char *prefix, bench_shape *out, int cap)
{
    int n = 0;
    size_t len = strlen(prefix);
    for (size_t i = 0; i < PRESET_COUNT; i++)
        if (strncmp(PRESETS[i].name, prefix, len) == 0 && PRESETS[i].name[len] == '.' && n < cap)
            out[n++] = PRESETS[i];
    return n;
}

int bench_preset_lookup(const char *name, bench_shape *out, int cap)
{
    for (size_t i = 0; i < PRESET_COUNT; i++)
        if (strcmp(name, PRESETS[i].name) == 0) {
            if (cap > 0)
                out[0] = PRESETS[i];
            return cap > 0 ? 1 : 0;
        }
    if (strcmp(name, "all") == 0) {
        int n = 0;
        for (; n < BENCH_DEFAULT_SHAPES && n < cap; n++)
            out[n] = DEFAULT_SHAPES[n];
        return n;
    }
    if (strcmp(name, "llama2-7b") == 0 || strcmp(name, "llama3-8b") == 0)
        return copy_prefixed(name, out, cap);
    return -1;
}

uint32_t bench_default_block(clq_format format)
{
    switch (format) {
    case CLQ_FORMAT_NF4:
    case CLQ_FORMAT_FP4:
        return 64; /* bitsandbytes' default blocksize for 4-bit weights */
    case CLQ_FORMAT_DYNAMIC8:
    case CLQ_FORMAT_Q2_K: /* ggml's super-blocks, the only block they have */
    case CLQ_FORMAT_Q3_K:
    case CLQ_FORMAT_Q4_K:
    case CLQ_FORMAT_Q5_K:
    case CLQ_FORMAT_Q6_K:
    case CLQ_FORMAT_IQ4_XS:
        return 256;
    default:
        return 32; /* ggml Q4_0/Q8_0 blocks; ORT MatMulNBits is commonly run at 32 too */
    }
}

/* ---- work counts -------------------------------------------------------------- */

double bench_matmul_flops(uint64_t m, uint64_t n, uint64_t k, uint32_t rank)
{
    double dm = (double)m, dn = (double)n, dk = (double)k;
    return 2.0 * dm * dn * dk + 2.0 * dm * rank * (dk + dn);
}

uint32_t bench_lora_adapters_used(uint64_t m, uint32_t adapters)
{
    return (uint64_t)adapters < m ? adapters : (uint32_t)m;
}

double bench_matmul_bytes(uint64_t m, uint64_t n, uint64_t k, double weight_bytes, size_t act_size,
                          uint32_t rank, uint32_t adapters_used, size_t lora_size)
{
    double act = (double)act_size * ((double)m * k + (double)m * n);
    double lora = (double)adapters_used * rank * ((double)k + n) * lora_size;
    return weight_bytes + act + lora;
}

double bench_unfused_weight_bytes(double quant_bytes, uint64_t n, uint64_t k)
{
    return quant_bytes + 2.0 * 4.0 * (double)n * k;
}

double bench_quantize_bytes(uint64_t n, uint64_t k, size_t src_size, double weight_bytes)
{
    return (double)src_size * n * k + weight_bytes;
}

double bench_dequantize_bytes(uint64_t n, uint64_t k, size_t dst_size, double weight_bytes)
{
    return weight_bytes + (double)dst_size * n * k;
}

double bench_roofline_bound_s(double bytes, double flops, double bytes_per_s, double flops_per_s)
{
    double t_mem = bytes_per_s > 0 ? bytes / bytes_per_s : 0;
    double t_flop = flops_per_s > 0 ? flops / flops_per_s : 0;
    return t_mem > t_flop ? t_mem : t_flop;
}

/* ---- inputs -------------------------------------------------------------------- */

void bench_fill_normal(float *v, size_t count, float sd, uint64_t seed)
{
    clq_rng r = {seed};
    /* Both values of each pair: half the cost on the 58M-element
     * 14336×4096 weight. */
    for (size_t i = 0; i < count; i += 2) {
        float second;
        clq_rng_normal_pair(&r, sd, &v[i], &second);
        if (i + 1 < count)
            v[i + 1] = second;
    }
}

void bench_fill_weight(float *w, uint64_t n, uint64_t k, uint64_t seed)
{
    bench_fill_normal(w, (size_t)(n * k), 0.02f, seed);
}

void bench_fill_activations(float *x, uint64_t m, uint64_t k, uint64_t seed)
{
    bench_fill_normal(x, (size_t)(m * k), 1.0f, seed);
}

void bench_fill_lora(float *a, float *b, uint32_t rank, uint64_t n, uint64_t k, uint32_t adapters,
                     uint64_t seed)
{
    /* A ~ N(0, 1/K) keeps X·Aᵀ of order 1, like PEFT's Kaiming-uniform A;
     * B is small and non-zero (a trained adapter, not PEFT's zero init). */
    bench_fill_normal(a, (size_t)adapters * rank * k, (float)(1.0 / sqrt((double)k)), seed);
    bench_fill_normal(b, (size_t)adapters * n * rank, 0.01f, seed + 1);
}

float bench_lora_alpha(uint32_t rank)
{
    return 2.0f * (float)rank;
}

float bench_lora_scale(uint32_t rank)
{
    return rank ? bench_lora_alpha(rank) / (float)rank : 0.0f;
}

void bench_lora_rows(int32_t *index, uint64_t m, uint32_t adapters)
{
    for (uint64_t i = 0; i < m; i++)
        index[i] = adapters ? (int32_t)(i % adapters) : -1;
}

void bench_to_f16(const float *src, uint16_t *dst, size_t count)
{
    for (size_t i = 0; i < count; i++)
        dst[i] = clq_fp32_to_fp16(src[i]);
}

/* ---- ggml's block types ---------------------------------------------------------- */

int bench_is_ggml_format(clq_format format)
{
    return format >= CLQ_FORMAT_Q4_1 && format <= CLQ_FORMAT_IQ4_XS;
}

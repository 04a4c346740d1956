/* Planning a sweep (see plan.h). */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct plan {
    bench_case *items;
    long count, capacity;
} plan;

static int add(plan *p, bench_case c)
{
    if (p->count == p->capacity) {
        long cap = p->capacity ? 2 * p->capacity : 64;
        bench_case *items = realloc(p->items, (size_t)cap * sizeof *items);
        if (!items)
            return -1;
        p->items = items;
        p->capacity = cap;
    }
    p->items[p->count++] = c;
    return 0;
}

static int pair_fits(const bench_options *o, int pair, const bench_shape *s)
{
    clq_weight_desc d = {o->pairs[pair].format, o->pairs[pair].block, s->n, s->k,
                         o->pairs[pair].double_quant};
    return clq_weight_desc_check(&d) == CLQ_SUCCESS;
}

static int plan_codec(const bench_options *o, int shape, bench_op op, bench_path path, plan *p)
{
    for (int i = 0; i < o->codec_pairs && i < o->n_pairs; i++)
        if (o->ops[op] && pair_fits(o, i, &o->shapes[shape]) &&
            add(p, (bench_case){op, path, shape, i, 0, 0, 0, CLQ_DTYPE_F32}) != 0)
            return -1;
    return 0;
}

/* One M and LoRA configuration: the baselines, then each format fused
 * (with each of --lora-dtype's adapter types) and unfused, so the rows a
 * reader compares sit together. Without CLBlast, the fused rows alone. */
static int plan_matmul_group(const bench_options *o, int has_fp16, int shape, uint64_t m, uint32_t rank,
                             uint32_t adapters, plan *p)
{
    bench_case c = {BENCH_OP_MATMUL, BENCH_PATH_F32, shape, -1, m, rank, adapters, CLQ_DTYPE_F32};
    if (BENCH_HAS_CLBLAST && add(p, c) != 0)
        return -1;
    c.path = BENCH_PATH_F16;
    if (BENCH_HAS_CLBLAST && has_fp16 && add(p, c) != 0)
        return -1;
    for (int i = 0; i < o->n_pairs; i++) {
        if (!pair_fits(o, i, &o->shapes[shape]))
            continue;
        c.pair = i;
        c.path = BENCH_PATH_FUSED;
        for (int d = 0; d < (rank ? o->n_lora_dtypes : 1); d++) {
            c.lora_dtype = rank ? o->lora_dtypes[d] : CLQ_DTYPE_F32;
            if (add(p, c) != 0)
                return -1;
        }
        c.lora_dtype = CLQ_DTYPE_F32;
        c.path = BENCH_PATH_UNFUSED;
        if (BENCH_HAS_CLBLAST && add(p, c) != 0)
            return -1;
    }
    return 0;
}

static int plan_matmul(const bench_options *o, int has_fp16, int shape, plan *p)
{
    /* Baselines alone measure nothing of clq: no fitting pair, no rows. */
    int fits = 0;
    for (int i = 0; i < o->n_pairs; i++)
        fits |= pair_fits(o, i, &o->shapes[shape]);
    if (!fits)
        return 0;
    /* Rank 0 first, whatever --rank's order: each row with LoRA is compared
     * with it in every round (+lora), so it is measured before them. */
    for (int mi = 0; mi < o->n_ms; mi++)
        for (int pass = 0; pass < 2; pass++)
            for (int ri = 0; ri < o->n_ranks; ri++) {
                uint32_t r = o->ranks[ri];
                if ((r == 0) != (pass == 0))
                    continue;
                if (plan_matmul_group(o, has_fp16, shape, o->ms[mi], r, r ? 1 : 0, p) != 0)
                    return -1;
                if (r && o->multi_lora > 1 &&
                    plan_matmul_group(o, has_fp16, shape, o->ms[mi], r, o->multi_lora, p) != 0)
                    return -1;
            }
    return 0;
}

long bench_plan(const bench_options *o, int has_fp16, bench_case **out)
{
    plan p = {0};
    int status = 0;
    for (int s = 0; s < o->n_shapes && status == 0; s++) {
        status = plan_codec(o, s, BENCH_OP_QUANTIZE, BENCH_PATH_QUANTIZE, &p);
        if (status == 0)
            status = plan_codec(o, s, BENCH_OP_DEQUANTIZE, BENCH_PATH_DEQUANTIZE, &p);
        if (status == 0 && o->ops[BENCH_OP_MATMUL])
            status = plan_matmul(o, has_fp16, s, &p);
    }
    if (status != 0) {
        free(p.items);
        return -1;
    }
    *out = p.items;
    return p.count;
}

static const char *const PATH_NAMES[] = {"quantize",     "dequantize",   "fused",
                                         "clblast fp32", "clblast fp16", "dequant+clblast"};

void bench_case_label(const bench_options *o, const bench_case *c, char *buf, size_t len)
{
    const bench_shape *s = &o->shapes[c->shape];
    char weight[32] = "fp32", lora[32] = "";
    if (c->pair >= 0)
        bench_pair_name(&o->pairs[c->pair], weight, sizeof weight);
    else if (c->path == BENCH_PATH_F16)
        snprintf(weight, sizeof weight, "fp16");
    const char *half_lora = c->lora_dtype == CLQ_DTYPE_F16 ? " f16" : "";
    if (c->rank && c->adapters > 1)
        snprintf(lora, sizeof lora, " r%ux%u%s", c->rank, c->adapters, half_lora);
    else if (c->rank)
        snprintf(lora, sizeof lora, " r%u%s", c->rank, half_lora);
    if (c->op == BENCH_OP_MATMUL)
        snprintf(buf, len, "matmul %llux%llu %s M=%llu%s %s", (unsigned long long)s->n,
                 (unsigned long long)s->k, weight, (unsigned long long)c->m, lora, PATH_NAMES[c->path]);
    else
        snprintf(buf, len, "%s %llux%llu %s", PATH_NAMES[c->path], (unsigned long long)s->n,
                 (unsigned long long)s->k, weight);
}

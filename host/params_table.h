/*
 * The per-device tuning parameters, declared once. Everything else is
 * derived from this list: the struct clq_device_params (internal.h), the
 * class defaults, the "name=value" parser and printer and the kernels' -D
 * options (params.c), and the candidates `clq tune` times (tools/cmd_tune.c).
 * The device-dependent limits (work-group sizes) are applied as code after
 * the defaults (params.c). This header has no dependencies, so the tool and
 * the tests read the same list.
 *
 * X(name, type, lo, hi, pow2, cpu, gpu, define, stage, follows, needs,
 *   cpu_tries, gpu_tries, meaning):
 *   type      unsigned, or bool (0 or 1)
 *   lo, hi    the accepted range; pow2: only powers of two in it
 *   cpu, gpu  the default on a CPU and on any other device
 *   define    the kernels' macro that receives the value as -D, or "" (host only)
 *   stage     the `clq tune` stage that searches it ("decode", "prefill",
 *             "quantize", "lora"), or "" (not tuned)
 *   follows   "": searched over its own tries; else the parameter whose
 *             value it takes in each candidate (square prefill tiles)
 *   needs     "": always part of a candidate; else the bool parameter of
 *             the same stage without which it has no effect (left out of
 *             the candidates where that is 0)
 *   cpu_tries, gpu_tries  the values the tuner tries, in order (a follower's
 *             are its leader's)
 *
 * Why these defaults: a CPU runs a work-group as a loop on one core and a
 * tile's 16 rows as one float16 vector per work-item, keeps the tiles kernel
 * (16 rows of X per work-item, in registers) for M > 16, and shrinks LoRA
 * without barriers; it quantizes and dequantizes 1024 elements of a row per
 * work-item (a work-item's own cost matches a small block's work), in
 * work-groups of 16 so that every core gets work. A GPU gives each row its
 * own work-item, 16 of them sharing each 64-byte line, in groups of 64,
 * uses local-memory tiles for prefill, and quantizes one block (dequantizes
 * 16 elements) per work-item. `clq tune` finds better values per device.
 */
#ifndef CLQ_PARAMS_TABLE_H
#define CLQ_PARAMS_TABLE_H

/* clang-format off */
#define CLQ_PARAMS_TABLE(X)                                                                                  \
    X(reduce_wg, unsigned, 1, 1024, 1, 256, 256, "CLQ_REDUCE_WG", "", "", "", (256), (256),                  \
      "work-group size of single-group reductions")                                                          \
    X(mm_lanes, unsigned, 1, 16, 1, 16, 1, "CLQ_MM_LANES", "decode", "", "", (16, 1), (1, 16),               \
      "matmul tiles kernels: rows of a 16-row tile per work-item (16 or 1)")                                 \
    X(tiles_wg, unsigned, 1, 1024, 1, 1, 64, "", "decode", "", "", (1, 2, 4, 8, 16), (16, 32, 64, 128, 256), \
      "matmul tiles kernels: work-items per work-group")                                                     \
    X(prefill_local, bool, 0, 1, 0, 0, 1, "", "prefill", "", "", (0, 1), (0, 1),                             \
      "prefill (M > 16) by the local-memory kernel, not the tiles kernel")                                   \
    X(shrink_rows, bool, 0, 1, 0, 1, 0, "", "lora", "", "", (1, 0), (0, 1),                                  \
      "LoRA shrink: a work-item per (row, rank index), not a work-group reduction")                          \
    X(pf_tm, unsigned, 1, 256, 1, 32, 64, "CLQ_PF_TM", "prefill", "", "prefill_local", (32, 64, 128),        \
      (32, 64, 128), "matmul prefill: rows of X per work-group tile")                                        \
    X(pf_tn, unsigned, 1, 256, 1, 32, 64, "CLQ_PF_TN", "prefill", "pf_tm", "prefill_local", (32, 64, 128),   \
      (32, 64, 128), "matmul prefill: rows of W (outputs) per work-group tile")                              \
    X(pf_wm, unsigned, 1, 16, 1, 8, 4, "CLQ_PF_WM", "prefill", "", "prefill_local", (4, 8), (4, 8),          \
      "matmul prefill: rows of X per work-item")                                                             \
    X(pf_wn, unsigned, 1, 16, 1, 8, 4, "CLQ_PF_WN", "prefill", "pf_wm", "prefill_local", (4, 8), (4, 8),     \
      "matmul prefill: outputs per work-item")                                                               \
    X(quant_span, unsigned, 16, 65536, 1, 1024, 16, "", "quantize", "", "", (16, 256, 1024, 4096),           \
      (16, 256, 1024, 4096), "quantize, dequantize: elements of a row per work-item")                        \
    X(quant_wg, unsigned, 0, 1024, 1, 16, 0, "", "quantize", "", "", (0, 16), (0, 16),                       \
      "quantize, dequantize: work-items per work-group (0: the driver chooses)")
/* clang-format on */

/* The device classes whose defaults a parameter string can start from:
 * "class=cpu" or "class=gpu" sets every parameter to that class's default
 * (then the device's limits apply), so a test or an experiment can ask for
 * another class's kernel shapes without copying its values. */
#define CLQ_PARAMS_CLASS_KEY "class"

#endif /* CLQ_PARAMS_TABLE_H */

/*
 * The LoRA adapter folder (tests/data/README.md): a.f32 (rank×K fp32),
 * b.f32 (N×rank fp32) and meta.txt with `rank`, `alpha` and optionally
 * `rslora` (0/1). Shared by the `clq` tool and the tests; not part of the
 * library.
 */
#ifndef CLQ_LORA_FOLDER_H
#define CLQ_LORA_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "clq.h"

/* One adapter folder in memory, for an N×K weight. */
typedef struct clq_lora_folder {
    uint32_t rank;
    float alpha;
    int rslora;
    uint64_t rows, cols; /* N and K of the weight it adapts */
    float *a;            /* rank×K */
    float *b;            /* N×rank */
} clq_lora_folder;

/* Reads the adapter in `dir` for an N×K (rows×cols) weight. meta.txt has no
 * shape of its own, so a.f32 and b.f32 are checked against `rank` and the
 * weight's shape; a mismatch names the file. Missing or inconsistent files
 * give CLQ_ERROR_IO / CLQ_ERROR_BAD_DATA and a message in `err`. On failure
 * *out is untouched. */
clq_status clq_lora_folder_read(const char *dir, uint64_t rows, uint64_t cols, clq_lora_folder *out,
                                char *err, size_t errlen);

/* Writes meta.txt, a.f32 and b.f32 into `dir` (created if missing; its
 * parent must exist). */
clq_status clq_lora_folder_write(const char *dir, const clq_lora_folder *folder, char *err, size_t errlen);

/* The adapter as clq_lora_create takes it (fp32; the arrays stay owned by
 * the folder). */
clq_adapter_desc clq_lora_folder_desc(const clq_lora_folder *folder);

/* The scale the library applies: alpha/rank, or alpha/sqrt(rank) with
 * rslora. */
float clq_lora_folder_scale(const clq_lora_folder *folder);

/* Frees a and b and zeroes the folder. Accepts NULL. */
void clq_lora_folder_free(clq_lora_folder *folder);

#endif /* CLQ_LORA_FOLDER_H */

/*
 * The folder convention of quantized matrices (tests/data/README.md): a
 * directory with meta.txt (key=value lines) and raw little-endian arrays.
 * Shared by the `clq` tool and the tests; not part of the library.
 */
#ifndef CLQ_FOLDER_H
#define CLQ_FOLDER_H

#include <stddef.h>
#include <stdint.h>

#include "clq.h"

/* One folder in memory. Arrays the folder does not have are NULL with size 0.
 * `arrays` follows clq_external's meaning for the folder's layout:
 *   ggml: data = quant.bin
 *   bnb:  data = packed.u8 (nf4/fp4) or quant.u8 (dynamic8);
 *         scales = absmax.f32, or absmax.u8 when double_quant=1;
 *         nested_absmax = nested_absmax.f32; nested_code = nested_code.f32
 *         (double_quant) or code.f32 (dynamic8); offset = offset.f32
 *   ort:  data = packed.u8; scales = scales.f32; zero_points = zero_points.u8
 * input / dequant are input.f32 and dequant.f32 (N×K floats) if present. */
typedef struct clq_folder {
    clq_weight_desc desc;
    clq_layout layout;
    uint32_t nested_block; /* 256 when double_quant, else 0 */
    clq_external arrays;
    float *input;   /* N×K or NULL */
    float *dequant; /* N×K or NULL */
    char source[256]; /* meta "source", may be empty */
} clq_folder;

/* Reads meta.txt and every array the layout needs from `dir`, checking each
 * file's size against the shape. Missing or inconsistent files give
 * CLQ_ERROR_IO / CLQ_ERROR_BAD_DATA and a message in `err` (size errlen).
 * input.f32 and dequant.f32 are optional. On failure *out is untouched. */
clq_status clq_folder_read(const char *dir, clq_folder *out, char *err, size_t errlen);

/* Writes meta.txt and the arrays present in `folder` into `dir` (created if
 * missing), including input.f32 / dequant.f32 when non-NULL. */
clq_status clq_folder_write(const char *dir, const clq_folder *folder, char *err, size_t errlen);

/* Frees every array of a folder read by clq_folder_read (or filled by the
 * caller with malloc'd arrays) and zeroes it. Accepts NULL. */
void clq_folder_free(clq_folder *folder);

/* Reads a whole raw file; *size receives its length. NULL on failure. */
void *clq_read_file(const char *path, size_t *size);

/* Writes a whole raw file atomically (temporary file, then rename). */
int clq_write_file(const char *path, const void *data, size_t size);

#endif /* CLQ_FOLDER_H */

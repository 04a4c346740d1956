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
    float *input;     /* N×K or NULL */
    float *dequant;   /* N×K or NULL */
    char source[256]; /* meta "source", may be empty */
} clq_folder;

/* Reads meta.txt and every array the layout needs from `dir`, checking each
 * file's size against the shape. Missing or inconsistent files give
 * CLQ_ERROR_IO / CLQ_ERROR_BAD_DATA and a message in `err` (size errlen).
 * input.f32 and dequant.f32 are optional. On failure *out is untouched. */
clq_status clq_folder_read(const char *dir, clq_folder *out, char *err, size_t errlen);

/* The same without input.f32 and dequant.f32 (left NULL, never opened): for
 * a command that needs only the weight. */
clq_status clq_folder_read_weight(const char *dir, clq_folder *out, char *err, size_t errlen);

/* Writes meta.txt and the arrays present in `folder` as the folder `dir`,
 * including input.f32 / dequant.f32 when non-NULL. Atomic as a whole: the
 * folder is written under a temporary name beside `dir` and renamed into
 * place, so `dir` is at every moment the old folder (or absent) or the
 * complete new one, never a mix; on failure it is left as it was. An
 * existing `dir` is replaced only if it is a directory holding nothing but
 * folder files (it keeps its permission bits); the parent is created if
 * missing. */
clq_status clq_folder_write(const char *dir, const clq_folder *folder, char *err, size_t errlen);

/* Frees every array of a folder read by clq_folder_read (or filled by the
 * caller with malloc'd arrays) and zeroes it. Accepts NULL. */
void clq_folder_free(clq_folder *folder);

/* Reads a whole raw file; *size receives its length. NULL on failure, with
 * errno set (EINVAL: not a regular file; a FIFO is refused, not waited on). */
void *clq_read_file(const char *path, size_t *size);

/* Reads a raw file that must be exactly `want` bytes, checking the size
 * before reading or allocating anything. 0: *data holds it (caller frees);
 * 1: the size differs (*actual holds it); -1: errno says why. */
int clq_read_file_exact(const char *path, size_t want, void **data, size_t *actual);

/* Whether `path` may be replaced by an output: 0 if it is absent or a
 * regular file with a single link; else -1 and the reason in `why`. A
 * directory, FIFO, device, socket or symbolic link is never replaced by a
 * regular file, and a file with other hard links is refused because a
 * rename would silently split them (writing in place instead would lose
 * the all-or-nothing guarantee). */
int clq_output_check(const char *path, char *why, size_t len);

/* Writes a whole raw file atomically (temporary file, then rename), keeping
 * the permission bits of the file it replaces (a new one gets 0666 less the
 * umask). Refuses (errno EEXIST) what clq_output_check refuses. */
int clq_write_file(const char *path, const void *data, size_t size);

#endif /* CLQ_FOLDER_H */

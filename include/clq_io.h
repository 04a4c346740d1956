/*
 * clq_io — model files for clq: GGUF (ggml's format), safetensors (with the
 * quantization states bitsandbytes saves beside 4-bit layers) and LoRA
 * adapter folders as Hugging Face PEFT saves them. Readers turn tensors into
 * clq weights and adapter sets; writers save weights back bit-exactly.
 *
 * This header extends clq.h (which it includes); both are implemented by the
 * one library, libclq. The JSON inside safetensors and PEFT files is parsed
 * with jansson, a private dependency of the library that only this part
 * uses. README.md and examples/layer_demo.c show them in use;
 * tests/data/README.md describes the reference files they are tested on.
 *
 * The conventions of clq.h hold for every function here (clq_status return
 * codes, clq_last_error(), nothing written on failure, close and destroy
 * accept NULL, no printing). In addition:
 *
 *  - Reader handles (clq_gguf, clq_safetensors, clq_peft) need no OpenCL
 *    device and belong to no context. A handle never changes once open:
 *    every function taking a const handle may be called from several threads
 *    at once. Close it once, when no other thread is using it.
 *  - Every pointer a reader hands out (names, strings, metadata, a tensor's
 *    `data`, the clq_safetensors behind a clq_peft) points into the handle:
 *    into the file mapping made by *_open, or into the memory given to
 *    *_open_memory. It stays valid until the handle is closed, and no
 *    longer. Memory given to *_open_memory stays the caller's; it must stay
 *    alive and unchanged until the handle is closed. A mapped file must not
 *    be truncated while open (touching its pages would then raise SIGBUS,
 *    which no reader can prevent).
 *  - Weights and adapter sets made from a handle (clq_gguf_load_weight,
 *    clq_safetensors_load_weight, clq_safetensors_load_bnb,
 *    clq_peft_lora_create) have their bytes copied to the device before the
 *    call returns. They do not refer to the handle, which may be closed at
 *    once; they belong to the context they were loaded on and follow clq.h's
 *    lifetime rules (the context must outlive them).
 *  - Writers (clq_gguf_writer, clq_safetensors_writer) copy everything added
 *    to them: a weight is exported from the device before its add call
 *    returns, so it may be destroyed afterwards. A writer is not
 *    thread-safe: one thread at a time per writer; different writers are
 *    independent.
 */
#ifndef CLQ_IO_H
#define CLQ_IO_H

#include "clq.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* GGUF files                                                                */
/* ------------------------------------------------------------------------ */

/* A GGUF file (ggml's format, versions 2 and 3, little-endian) open for
 * reading. Opening parses and checks the header, every metadata key/value
 * and every tensor description; tensor bytes are not read until a tensor is
 * loaded or its bytes are touched, so opening a large model costs only its
 * header.
 *
 * The file is treated as hostile: every count, size, offset and string
 * length is checked against the bytes that remain before it is used or
 * anything is allocated for it. A malformed file gives CLQ_ERROR_BAD_DATA
 * and a clq_last_error() sentence with the byte offset of the fault ("at
 * offset 1234: string length 99999999 exceeds the 210 bytes left"), never a
 * crash or a read outside the file. Files rejected by name: versions other
 * than 2 and 3, big-endian files, unknown value or tensor types, nested
 * arrays, bool bytes other than 0 and 1, duplicate keys or tensor names,
 * keys and tensor names holding a NUL byte, more than 4 dimensions,
 * dimensions beyond ggml's int64 range or whose product overflows, a
 * general.alignment that is not a u32 power of two, tensor offsets not
 * aligned to it, and tensor data past the end of the file.
 *
 * A handle never changes once open: every function taking a
 * `const clq_gguf *` may be called from several threads at once. */
typedef struct clq_gguf clq_gguf;

/* Metadata value types; the numbers are the file's own. */
typedef enum clq_gguf_type {
    CLQ_GGUF_UINT8 = 0,
    CLQ_GGUF_INT8 = 1,
    CLQ_GGUF_UINT16 = 2,
    CLQ_GGUF_INT16 = 3,
    CLQ_GGUF_UINT32 = 4,
    CLQ_GGUF_INT32 = 5,
    CLQ_GGUF_FLOAT32 = 6,
    CLQ_GGUF_BOOL = 7,
    CLQ_GGUF_STRING = 8,
    CLQ_GGUF_ARRAY = 9,
    CLQ_GGUF_UINT64 = 10,
    CLQ_GGUF_INT64 = 11,
    CLQ_GGUF_FLOAT64 = 12
} clq_gguf_type;

/* The ggml tensor types clq loads; the numbers are ggml's. Tensors of every
 * other ggml type (q8_1, bf16, iq2_xxs, ...) are listed too, with their type
 * number, but not loaded. */
typedef enum clq_ggml_type {
    CLQ_GGML_F32 = 0,
    CLQ_GGML_F16 = 1,
    CLQ_GGML_Q4_0 = 2,
    CLQ_GGML_Q4_1 = 3,
    CLQ_GGML_Q5_0 = 6,
    CLQ_GGML_Q5_1 = 7,
    CLQ_GGML_Q8_0 = 8,
    CLQ_GGML_Q2_K = 10,
    CLQ_GGML_Q3_K = 11,
    CLQ_GGML_Q4_K = 12,
    CLQ_GGML_Q5_K = 13,
    CLQ_GGML_Q6_K = 14,
    CLQ_GGML_IQ4_NL = 20,
    CLQ_GGML_IQ4_XS = 23
} clq_ggml_type;

/* ggml's name of a tensor type number ("q4_0", "q4_K", "bf16"); NULL for a
 * number ggml does not (or no longer) use. */
CLQ_API const char *clq_ggml_type_name(uint32_t type);

/* A string inside the file: `length` bytes at `data`, NOT NUL-terminated
 * (GGUF strings carry their length and may hold any byte). It points into
 * the file's memory and stays valid while the handle is open. */
typedef struct clq_gguf_string {
    const char *data;
    size_t length;
} clq_gguf_string;

/* One metadata value (or one element of an array value). Which field holds
 * it depends on `type`; the others are zero. */
typedef struct clq_gguf_value {
    const char *key; /* NUL-terminated, owned by the handle; NULL for array elements */
    clq_gguf_type type;
    uint64_t u;               /* UINT8, UINT16, UINT32, UINT64, and BOOL (0 or 1) */
    int64_t i;                /* INT8, INT16, INT32, INT64 */
    double f;                 /* FLOAT32 (widened exactly) and FLOAT64 */
    clq_gguf_string string;   /* STRING */
    clq_gguf_type array_type; /* ARRAY: the element type (never ARRAY) */
    uint64_t array_count;     /* ARRAY: the number of elements */
    uint64_t offset;          /* byte offset of the value in the file; for an ARRAY, of its first element */
} clq_gguf_value;

/* One tensor's description. GGUF lists dimensions fastest first: ne[0] is
 * the row length (K, columns), ne[1] the number of rows (N); a 1-D tensor
 * is read as one row of ne[0]. */
typedef struct clq_gguf_tensor {
    const char *name;  /* NUL-terminated, owned by the handle */
    uint32_t type;     /* ggml type number (clq_ggml_type, or any other ggml type) */
    uint32_t n_dims;   /* 0..4 */
    uint64_t dims[4];  /* ne[0..3]; those past n_dims are 1 */
    uint64_t elements; /* product of the dims */
    uint64_t offset;   /* absolute byte offset of the data in the file */
    uint64_t size;     /* bytes of data */
    const void *data;  /* the bytes themselves, inside the file's memory (valid while the handle is open;
                          with clq_gguf_open, touching them reads them from disk) */
} clq_gguf_tensor;

/* Opens a GGUF file by memory-mapping it read-only and checks its header
 * and tensor directory (see above). The mapping lives until clq_gguf_close;
 * the file must not be truncated meanwhile (the system would then deliver
 * SIGBUS on access, which no reader can prevent). Errors: CLQ_ERROR_IO
 * (cannot open, stat or map; not a regular file), CLQ_ERROR_BAD_DATA
 * (malformed file, with the offset), CLQ_ERROR_OUT_OF_HOST_MEMORY. Needs no
 * OpenCL device. The caller closes *out with clq_gguf_close. */
CLQ_API clq_status clq_gguf_open(const char *path, clq_gguf **out);

/* The same over `size` bytes of GGUF already in memory. Nothing is copied:
 * the caller keeps the memory alive and unchanged until clq_gguf_close. The
 * memory needs no alignment. */
CLQ_API clq_status clq_gguf_open_memory(const void *data, size_t size, clq_gguf **out);

/* Unmaps the file and frees the handle; every pointer obtained from it
 * becomes invalid. Weights loaded from it are independent and stay valid.
 * Accepts NULL. */
CLQ_API void clq_gguf_close(clq_gguf *gguf);

/* The file's format version (2 or 3), and the alignment of its tensor data
 * (general.alignment, else 32). 0 for NULL. */
CLQ_API uint32_t clq_gguf_version(const clq_gguf *gguf);
CLQ_API uint32_t clq_gguf_alignment(const clq_gguf *gguf);

/* Number of metadata key/values (0 for NULL), and the value at `index` in
 * file order. Errors: CLQ_ERROR_NULL_POINTER, CLQ_ERROR_NOT_FOUND
 * (index out of range). */
CLQ_API size_t clq_gguf_metadata_count(const clq_gguf *gguf);
CLQ_API clq_status clq_gguf_metadata_get(const clq_gguf *gguf, size_t index, clq_gguf_value *out);

/* Looks a key up (exact, case-sensitive; O(log n)). CLQ_ERROR_NOT_FOUND
 * when the file has no such key, which is how optional keys are probed. */
CLQ_API clq_status clq_gguf_metadata_find(const clq_gguf *gguf, const char *key, clq_gguf_value *out);

/* Reads elements first .. first+count-1 of an ARRAY value into out[0..count).
 * Numbers and bools cost O(count); strings O(first + count), because each
 * string's length must be read to find the next: read a string array (a
 * vocabulary) in one call or in a few large ones, not one element at a
 * time. `array` must come from this handle. Errors: CLQ_ERROR_NULL_POINTER,
 * CLQ_ERROR_INVALID_ARGUMENT (not an array, or the range passes its end). */
CLQ_API clq_status clq_gguf_array_get(const clq_gguf *gguf, const clq_gguf_value *array, uint64_t first,
                                      size_t count, clq_gguf_value *out);

/* Number of tensors (0 for NULL), and the description of the one at `index`
 * in file order. Errors as clq_gguf_metadata_get. */
CLQ_API size_t clq_gguf_tensor_count(const clq_gguf *gguf);
CLQ_API clq_status clq_gguf_tensor_info(const clq_gguf *gguf, size_t index, clq_gguf_tensor *out);

/* The index of the tensor called `name` (O(log n)); CLQ_ERROR_NOT_FOUND
 * when there is none. */
CLQ_API clq_status clq_gguf_find_tensor(const clq_gguf *gguf, const char *name, size_t *index);

/* Loads the 1-D or 2-D tensor `name` as a weight of ne[1] rows (1 for 1-D)
 * by ne[0] columns:
 *   q4_0 -> CLQ_FORMAT_Q4, block 32, and q8_0 -> CLQ_FORMAT_Q8, block 32:
 *           the blocks are imported as they are (clq_weight_import with
 *           CLQ_LAYOUT_GGML), so exporting gives back the file's bytes;
 *   q4_1, q5_0, q5_1, q2_K ... q6_K, iq4_nl, iq4_xs -> the clq format of
 *           the same name (CLQ_FORMAT_Q4_1 ...) with the type's block,
 *           imported as they are in the same way: whatever float_format
 *           asks, a quantized tensor is loaded as stored;
 *   f32, f16 -> quantized on the device to float_format / float_block
 *           (clq_weight_quantize_host; float_block is ignored otherwise).
 * Only this tensor's bytes are read. Errors: CLQ_ERROR_NOT_FOUND (no
 * such tensor), CLQ_ERROR_SHAPE (more than 2 dimensions larger than 1),
 * CLQ_ERROR_UNSUPPORTED_FORMAT (another ggml type), and those of the import
 * or quantization (a non-finite value or fp16 scale is CLQ_ERROR_BAD_DATA /
 * CLQ_ERROR_NONFINITE_INPUT). The weight is independent of the handle;
 * the caller destroys it with clq_weight_destroy. */
CLQ_API clq_status clq_gguf_load_weight(clq_context *ctx, const clq_gguf *gguf, const char *name,
                                        clq_format float_format, uint32_t float_block, clq_weight **out);

/* ---- writing GGUF -------------------------------------------------------- */

/* Collects metadata and tensors, then writes one GGUF file (version 3,
 * little-endian, tensor data aligned to general.alignment: 32, or the u32
 * power of two given as that key), which ggml and gguf-py read. Not
 * thread-safe: one thread at a time per writer. */
typedef struct clq_gguf_writer clq_gguf_writer;

/* Creates an empty writer (CLQ_ERROR_OUT_OF_HOST_MEMORY if it cannot), which
 * the caller frees with clq_gguf_writer_destroy (accepts NULL), along with
 * every copy it holds. Needs no OpenCL device. */
CLQ_API clq_status clq_gguf_writer_create(clq_gguf_writer **out);
CLQ_API void clq_gguf_writer_destroy(clq_gguf_writer *writer);

/* Metadata key/values, in the order added (a key given twice is
 * CLQ_ERROR_INVALID_ARGUMENT; general.alignment must be a u32 power of
 * two). */
CLQ_API clq_status clq_gguf_writer_add_string(clq_gguf_writer *writer, const char *key, const char *value);
CLQ_API clq_status clq_gguf_writer_add_u32(clq_gguf_writer *writer, const char *key, uint32_t value);
CLQ_API clq_status clq_gguf_writer_add_f32(clq_gguf_writer *writer, const char *key, float value);

/* Adds an F32 or F16 tensor of n_dims (1..4) dimensions ne[0..n_dims) in
 * GGUF order (ne[0] the row length); `bytes` must be its size. The data is
 * copied. Errors: CLQ_ERROR_INVALID_ARGUMENT (a name already added, a type
 * other than F32/F16, a bad shape), CLQ_ERROR_BUFFER_TOO_SMALL. */
CLQ_API clq_status clq_gguf_writer_add_tensor(clq_gguf_writer *writer, const char *name, clq_ggml_type type,
                                              uint32_t n_dims, const uint64_t *ne, const void *data,
                                              size_t bytes);

/* Adds a Q4 or Q8 weight with block 32 as a q4_0 / q8_0 tensor of ne[0] = K,
 * ne[1] = N, and a weight of a ggml format (CLQ_FORMAT_Q4_1 ...) as a
 * tensor of its type, exported bit-exactly from the device (blocking). Errors:
 * CLQ_ERROR_UNSUPPORTED_LAYOUT (another format or block), those of
 * clq_weight_export. */
CLQ_API clq_status clq_gguf_writer_add_weight(clq_gguf_writer *writer, const char *name,
                                              const clq_weight *weight);

/* Writes the file (into a temporary file renamed over `path` when
 * complete). Errors: CLQ_ERROR_IO. */
CLQ_API clq_status clq_gguf_writer_write(const clq_gguf_writer *writer, const char *path);

/* ------------------------------------------------------------------------ */
/* safetensors files                                                         */
/* ------------------------------------------------------------------------ */

/* A safetensors file (Hugging Face's format: an 8-byte little-endian header
 * length, a JSON header, then the raw tensor bytes) open for reading. The
 * JSON is parsed with jansson; opening checks every entry and no tensor byte
 * is read until it is asked for.
 *
 * The file is treated as hostile, as the GGUF reader treats its input: a
 * malformed file gives CLQ_ERROR_BAD_DATA and a clq_last_error() sentence
 * with the byte offset of the fault (a JSON syntax error at its own byte;
 * a bad entry at the byte where its name appears in the header; a tensor
 * whose bytes do not fit at the offset of its data). Rejected, by name: a
 * header length past the end of the file or above the format's 100 MB
 * limit, JSON that does not parse (invalid UTF-8, a NUL escape, a duplicate
 * key included) or is not an object, entries without a known dtype, a shape
 * of non-negative integers (at most CLQ_SAFETENSORS_MAX_DIMS) or two
 * data_offsets, a __metadata__ that is not an object of strings, a byte
 * length that is not shape × dtype size (computed without overflow), and
 * tensors that overlap, leave a hole, or do not end exactly at the end of
 * the file (the rules of the reference implementation).
 *
 * A handle never changes once open: every function taking a
 * `const clq_safetensors *` may be called from several threads at once. */
typedef struct clq_safetensors clq_safetensors;

/* Element types, by their names in the header. */
typedef enum clq_safetensors_dtype {
    CLQ_SAFETENSORS_BOOL = 1,
    CLQ_SAFETENSORS_U8,
    CLQ_SAFETENSORS_I8,
    CLQ_SAFETENSORS_F8_E4M3,
    CLQ_SAFETENSORS_F8_E5M2,
    CLQ_SAFETENSORS_F8_E8M0,
    CLQ_SAFETENSORS_U16,
    CLQ_SAFETENSORS_I16,
    CLQ_SAFETENSORS_F16,
    CLQ_SAFETENSORS_BF16,
    CLQ_SAFETENSORS_U32,
    CLQ_SAFETENSORS_I32,
    CLQ_SAFETENSORS_F32,
    CLQ_SAFETENSORS_U64,
    CLQ_SAFETENSORS_I64,
    CLQ_SAFETENSORS_F64,
    CLQ_SAFETENSORS_C64
} clq_safetensors_dtype;

#define CLQ_SAFETENSORS_MAX_DIMS 8

/* The header's name of a dtype ("F32", "BF16"); NULL if unknown. Bytes per
 * element: 0 if unknown. */
CLQ_API const char *clq_safetensors_dtype_name(clq_safetensors_dtype dtype);
CLQ_API size_t clq_safetensors_dtype_size(clq_safetensors_dtype dtype);

/* One tensor's description. Shapes are in PyTorch / numpy order, outermost
 * first: a [N, K] weight has dims[0] = N rows and dims[1] = K columns. */
typedef struct clq_safetensors_tensor {
    const char *name; /* NUL-terminated, owned by the handle */
    clq_safetensors_dtype dtype;
    uint32_t n_dims;                         /* 0 (a scalar) .. CLQ_SAFETENSORS_MAX_DIMS */
    uint64_t dims[CLQ_SAFETENSORS_MAX_DIMS]; /* those past n_dims are 0 */
    uint64_t elements;                       /* product of the dims (1 for a scalar) */
    uint64_t offset;                         /* absolute byte offset of the data in the file */
    uint64_t size;                           /* bytes of data */
    const void *data; /* the bytes, inside the file's memory; no alignment is promised (the header
                         length decides it), so read them with memcpy */
} clq_safetensors_tensor;

/* Opens a safetensors file by memory-mapping it read-only and checks its
 * header (see above). Errors as clq_gguf_open. Needs no OpenCL device.
 * The caller closes *out with clq_safetensors_close. */
CLQ_API clq_status clq_safetensors_open(const char *path, clq_safetensors **out);

/* The same over `size` bytes already in memory (not copied: the caller
 * keeps them alive and unchanged until clq_safetensors_close). */
CLQ_API clq_status clq_safetensors_open_memory(const void *data, size_t size, clq_safetensors **out);

/* Unmaps the file and frees the handle; pointers obtained from it become
 * invalid, weights loaded from it stay valid. Accepts NULL. */
CLQ_API void clq_safetensors_close(clq_safetensors *st);

/* Number of tensors (0 for NULL) and the one at `index`, in the order of
 * their data in the file. Errors: CLQ_ERROR_NULL_POINTER,
 * CLQ_ERROR_NOT_FOUND (index out of range). */
CLQ_API size_t clq_safetensors_tensor_count(const clq_safetensors *st);
CLQ_API clq_status clq_safetensors_tensor_info(const clq_safetensors *st, size_t index,
                                               clq_safetensors_tensor *out);

/* The index of the tensor called `name` (exact; O(log n));
 * CLQ_ERROR_NOT_FOUND when there is none. */
CLQ_API clq_status clq_safetensors_find_tensor(const clq_safetensors *st, const char *name, size_t *index);

/* The header's __metadata__ (string keys and string values; none when the
 * file has no __metadata__): the count (0 for NULL), the pair at `index`
 * in the header's order, and the value of a key (O(log n);
 * CLQ_ERROR_NOT_FOUND when absent). Strings are NUL-terminated UTF-8 owned
 * by the handle. */
CLQ_API size_t clq_safetensors_metadata_count(const clq_safetensors *st);
CLQ_API clq_status clq_safetensors_metadata_get(const clq_safetensors *st, size_t index, const char **key,
                                                const char **value);
CLQ_API clq_status clq_safetensors_metadata_find(const clq_safetensors *st, const char *key,
                                                 const char **value);

/* Loads a 1-D or 2-D floating-point tensor (F32, F16 or BF16; a 1-D tensor
 * is one row) as a weight of dims[0] rows by dims[1] columns, quantized on
 * the device to `format` / `block` (BF16 is widened to fp32 on the host
 * first, exactly). Errors: CLQ_ERROR_NOT_FOUND, CLQ_ERROR_SHAPE (more than
 * 2 dimensions), CLQ_ERROR_UNSUPPORTED_FORMAT (another dtype), and those of
 * clq_weight_quantize_host. The caller destroys the weight. */
CLQ_API clq_status clq_safetensors_load_weight(clq_context *ctx, const clq_safetensors *st, const char *name,
                                               clq_format format, uint32_t block, clq_weight **out);

/* ---- bitsandbytes 4-bit weights in safetensors ---------------------------- */

/* A bitsandbytes Linear4bit layer saved with its quantization state: for a
 * layer `P` (e.g. "model.layers.0.mlp.down_proj") the tensors
 *   P.weight                    U8, the packed 4-bit codes (N·K/2 bytes, any shape)
 *   P.weight.absmax             F32 per block, or U8 per block when double-quantized
 *   P.weight.quant_map          F32 × 16, the code (must equal clq's NF4 / FP4 code)
 *   P.weight.nested_absmax      F32 per 256 blocks (double quantization only)
 *   P.weight.nested_quant_map   F32 × 256 (double quantization only)
 *   P.weight.quant_state.bitsandbytes__nf4 (or __fp4)
 *                               U8 holding JSON: quant_type, blocksize, dtype,
 *                               shape [N, K], and with double quantization
 *                               nested_blocksize (256) and nested_offset.
 * What bitsandbytes' QuantState.as_dict(packed=True) writes. */
typedef struct clq_bnb_info {
    clq_weight_desc desc; /* NF4 or FP4, blocksize, N, K, double_quant */
    float nested_offset;  /* double quantization: the offset; else 0 */
    char dtype[16];       /* the layer's dtype as the state names it ("bfloat16"), for information */
} clq_bnb_info;

/* Reads and checks the state of layer `prefix` without a device: every
 * tensor's presence, dtype and size against the JSON's shape and
 * blocksize, and the quant_map against the format's code (a mismatch is
 * CLQ_ERROR_BAD_DATA naming the first differing entry). Errors:
 * CLQ_ERROR_NOT_FOUND (no quant_state tensor for that prefix),
 * CLQ_ERROR_BAD_DATA (with the offset), CLQ_ERROR_UNSUPPORTED_BLOCK /
 * CLQ_ERROR_SHAPE (a state clq cannot hold: K not a multiple of the
 * block, a nested block other than 256). */
CLQ_API clq_status clq_safetensors_bnb_info(const clq_safetensors *st, const char *prefix, clq_bnb_info *out);

/* Loads layer `prefix` bit-exactly (clq_weight_import with
 * CLQ_LAYOUT_BNB): exporting the weight gives back the file's bytes.
 * Errors: those of clq_safetensors_bnb_info and of the import. */
CLQ_API clq_status clq_safetensors_load_bnb(clq_context *ctx, const clq_safetensors *st, const char *prefix,
                                            clq_weight **out);

/* ---- writing safetensors ------------------------------------------------- */

/* Collects tensors and metadata, then writes one safetensors file laid out
 * as the reference writer does: the header's JSON padded with spaces to a
 * multiple of 8, tensors ordered by dtype size (largest first) then name,
 * so every tensor's data is aligned to its element size. Not thread-safe:
 * one thread at a time per writer. */
typedef struct clq_safetensors_writer clq_safetensors_writer;

/* Creates an empty writer (CLQ_ERROR_OUT_OF_HOST_MEMORY if it cannot), which
 * the caller frees with clq_safetensors_writer_destroy (accepts NULL), along with
 * every copy it holds. Needs no OpenCL device. */
CLQ_API clq_status clq_safetensors_writer_create(clq_safetensors_writer **out);
CLQ_API void clq_safetensors_writer_destroy(clq_safetensors_writer *writer);

/* Adds a __metadata__ entry (UTF-8 strings; a key given twice is
 * CLQ_ERROR_INVALID_ARGUMENT). */
CLQ_API clq_status clq_safetensors_writer_add_metadata(clq_safetensors_writer *writer, const char *key,
                                                       const char *value);

/* Adds a tensor of `dtype` and shape dims[0..n_dims) (outermost first);
 * `bytes` must be the shape's byte size. The data is copied. Errors:
 * CLQ_ERROR_INVALID_ARGUMENT (a name already added, "__metadata__", not
 * UTF-8, an unknown dtype, more than CLQ_SAFETENSORS_MAX_DIMS dimensions),
 * CLQ_ERROR_BUFFER_TOO_SMALL (bytes does not match). */
CLQ_API clq_status clq_safetensors_writer_add_tensor(clq_safetensors_writer *writer, const char *name,
                                                     clq_safetensors_dtype dtype, uint32_t n_dims,
                                                     const uint64_t *dims, const void *data, size_t bytes);

/* Adds an NF4 or FP4 weight (double-quantized or not) as bitsandbytes saves
 * a Linear4bit layer `prefix`: the tensors and JSON state described at
 * clq_safetensors_bnb_info, exported bit-exactly from the device
 * (blocking). `dtype` is the JSON's "dtype", the dtype bitsandbytes
 * dequantizes to ("float16", "bfloat16"; NULL gives "float32"). Errors:
 * CLQ_ERROR_UNSUPPORTED_LAYOUT (another format), those of
 * clq_weight_export and of add_tensor. */
CLQ_API clq_status clq_safetensors_writer_add_bnb(clq_safetensors_writer *writer, const char *prefix,
                                                  const clq_weight *weight, const char *dtype);

/* Writes the file (into a temporary file renamed over `path` when
 * complete). Errors: CLQ_ERROR_IO. The writer may be written again or
 * destroyed. */
CLQ_API clq_status clq_safetensors_writer_write(const clq_safetensors_writer *writer, const char *path);

/* ------------------------------------------------------------------------ */
/* PEFT LoRA adapters                                                        */
/* ------------------------------------------------------------------------ */

/* A LoRA adapter as Hugging Face PEFT saves it: a folder holding
 * adapter_config.json and adapter_model.safetensors. From the config clq
 * reads `r`, `lora_alpha`, `use_rslora` (optional, false), `target_modules`
 * (a list of names or one string, optional) and the optional per-module
 * `rank_pattern` / `alpha_pattern` (keys matched literally as a name or a
 * dot-separated suffix of the module; PEFT also allows regular expressions
 * there, which clq does not interpret). Other keys are ignored. Each layer
 * L has `<module>.lora_A.weight` (r × K) and `<module>.lora_B.weight`
 * (N × r), F32, F16 or BF16, where <module> is L or ends with "." L.
 *
 * The config and the tensors are treated as hostile like every clq file
 * (CLQ_ERROR_BAD_DATA with the file and byte offset). A handle never
 * changes once open and may be shared between threads. */
typedef struct clq_peft clq_peft;

typedef struct clq_peft_config {
    uint32_t r;
    double lora_alpha;
    int use_rslora;
    size_t target_module_count; /* names listed (a single string counts as one) */
} clq_peft_config;

/* One layer's adapter as the file has it. */
typedef struct clq_peft_layer {
    const char *module;          /* the module name in the file, NUL-terminated, owned by the handle */
    clq_safetensors_tensor a, b; /* lora_A (rank × K) and lora_B (N × rank) */
    uint32_t rank;
    uint64_t rows, cols; /* N and K of the weight it adapts */
    double alpha;        /* lora_alpha, or the alpha_pattern entry of the module */
    float scale;         /* alpha/rank, or alpha/√rank with use_rslora, computed in double */
} clq_peft_layer;

/* Opens the adapter folder `dir` (the safetensors file is memory-mapped).
 * Errors: CLQ_ERROR_IO (a file is missing or unreadable),
 * CLQ_ERROR_BAD_DATA. The caller closes *out with clq_peft_close. */
CLQ_API clq_status clq_peft_open(const char *dir, clq_peft **out);

/* The same from memory: the config's JSON text and the safetensors bytes
 * (neither copied; keep them alive until clq_peft_close). */
CLQ_API clq_status clq_peft_open_memory(const void *config, size_t config_size, const void *tensors,
                                        size_t tensors_size, clq_peft **out);

/* Frees the handle and unmaps its file; every pointer obtained from it
 * (module names, tensors, clq_peft_tensors) becomes invalid, adapter sets
 * loaded from it stay valid. Accepts NULL. */
CLQ_API void clq_peft_close(clq_peft *peft);

/* The config's values; the i-th target module name (NULL past the end);
 * the adapter's safetensors file (owned by the handle). */
CLQ_API clq_status clq_peft_config_get(const clq_peft *peft, clq_peft_config *out);
CLQ_API const char *clq_peft_target_module(const clq_peft *peft, size_t index);
CLQ_API const clq_safetensors *clq_peft_tensors(const clq_peft *peft);

/* Finds the adapter of layer `layer` ("model.layers.0.self_attn.q_proj",
 * or any dot-separated suffix of the module name that only one module has)
 * and checks it: both tensors present, 2-D, of a float dtype, ranks equal,
 * and equal to the config's r (or rank_pattern entry). Errors:
 * CLQ_ERROR_NOT_FOUND, CLQ_ERROR_INVALID_ARGUMENT (the name fits several
 * modules), CLQ_ERROR_BAD_DATA. */
CLQ_API clq_status clq_peft_find_layer(const clq_peft *peft, const char *layer, clq_peft_layer *out);

/* Loads layer `layer` of each of `count` adapter folders into one adapter
 * set for an N×K (rows×cols) weight: adapter i of the set is adapters[i],
 * for clq_matmul's per-row lora_index. A and B are widened to fp32 on the
 * host (exactly) and each adapter gets PEFT's own scale
 * (clq_lora_create_scaled). Errors: those of clq_peft_find_layer,
 * CLQ_ERROR_SHAPE (an adapter made for another shape), and those of
 * clq_lora_create. The caller destroys *out with clq_lora_destroy. */
CLQ_API clq_status clq_peft_lora_create(clq_context *ctx, const clq_peft *const *adapters, size_t count,
                                        const char *layer, uint64_t rows, uint64_t cols, clq_lora **out);

#ifdef __cplusplus
}
#endif

#endif /* CLQ_IO_H */

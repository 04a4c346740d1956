/*
 * clq — OpenCL kernels for quantized LLM weights.
 *
 * This header is the whole public surface of the library. Conventions that
 * hold for every function below unless its comment says otherwise:
 *
 *  - Every function returns a clq_status: CLQ_SUCCESS (0), one of clq's own
 *    negative codes (CLQ_ERROR_*), or an OpenCL error code passed through
 *    unchanged (CL_OUT_OF_RESOURCES, ...). clq_status_string() names any of
 *    them; clq_last_error() gives a sentence about the most recent failure on
 *    the calling thread (which call failed and why).
 *  - On failure nothing is written: output pointers keep their old value and
 *    output buffers are left untouched.
 *  - Handles are opaque; every *_create / *_import has a *_destroy, and
 *    destroy accepts NULL.
 *  - The library never prints, aborts or exits.
 *  - Thread safety: different contexts may be used from different threads
 *    freely. One context may be shared between threads: its program cache is
 *    locked internally, and the in-order command queue serializes work. A
 *    weight must not be destroyed while another thread uses it.
 *
 * Shapes follow PyTorch nn.Linear: a weight W is N rows (outputs) by K columns
 * (inputs); quantization blocks run along K inside one row, so K must be a
 * multiple of the block size.
 */
#ifndef CLQ_H
#define CLQ_H

#include <stddef.h>
#include <stdint.h>

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#ifdef __APPLE__
#include <OpenCL/cl.h>
#else
#include <CL/cl.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define CLQ_VERSION_MAJOR 0
#define CLQ_VERSION_MINOR 1
#define CLQ_VERSION_PATCH 0
#define CLQ_VERSION_NUMBER \
    (CLQ_VERSION_MAJOR * 10000 + CLQ_VERSION_MINOR * 100 + CLQ_VERSION_PATCH)

#if defined(_WIN32) && defined(CLQ_SHARED_BUILD)
#define CLQ_API __declspec(dllexport)
#elif defined(_WIN32) && defined(CLQ_SHARED)
#define CLQ_API __declspec(dllimport)
#elif defined(__GNUC__)
#define CLQ_API __attribute__((visibility("default")))
#else
#define CLQ_API
#endif

/* ------------------------------------------------------------------------ */
/* Status codes                                                              */
/* ------------------------------------------------------------------------ */

/* clq's own codes, all below -2000 so they never collide with OpenCL's
 * (which are in -1..-72 for the core API and -1000..-1100 for extensions).
 * The list is the one source of truth for codes and their strings. */
#define CLQ_STATUS_MAP(X)                                                          \
    X(SUCCESS, 0, "success")                                                       \
    X(ERROR_INVALID_ARGUMENT, -2001, "invalid argument")                           \
    X(ERROR_NULL_POINTER, -2002, "a required pointer or handle is NULL")           \
    X(ERROR_UNSUPPORTED_FORMAT, -2003, "unsupported format")                       \
    X(ERROR_UNSUPPORTED_BLOCK, -2004, "unsupported block size for this format")    \
    X(ERROR_SHAPE, -2005, "shape mismatch (K must be a multiple of the block)")    \
    X(ERROR_BUFFER_TOO_SMALL, -2006, "buffer too small")                           \
    X(ERROR_NONFINITE_INPUT, -2007, "input contains NaN or Inf")                   \
    X(ERROR_UNSUPPORTED_LAYOUT, -2008, "layout not available for this format")     \
    X(ERROR_NO_DEVICE, -2009, "no OpenCL device found or matched")                 \
    X(ERROR_BUILD_FAILED, -2010, "kernel build failed (see clq_last_build_log)")   \
    X(ERROR_OUT_OF_HOST_MEMORY, -2011, "out of host memory")                       \
    X(ERROR_IO, -2012, "file input/output failed")                                 \
    X(ERROR_BAD_DATA, -2013, "malformed or inconsistent data")                     \
    X(ERROR_DEVICE_UNSUITABLE, -2014, "device lacks a capability clq needs")       \
    X(ERROR_INTERNAL, -2015, "internal error in clq")                              \
    X(ERROR_CONTEXT_MISMATCH, -2016, "objects belong to different clq contexts")    \
    X(ERROR_NOT_FOUND, -2017, "no such key, tensor or index")                      \
    X(ERROR_SCALE_OVERFLOW, -2018, "finite input too large for the format's scale")

typedef enum clq_status {
#define CLQ_STATUS_ENUM_(name, value, text) CLQ_##name = value,
    CLQ_STATUS_MAP(CLQ_STATUS_ENUM_)
#undef CLQ_STATUS_ENUM_
} clq_status;

/* A constant string naming any status: clq's own, or an OpenCL error code
 * ("CL_OUT_OF_RESOURCES"). Never NULL; unknown codes give "unknown status". */
CLQ_API const char *clq_status_string(int status);

/* A sentence about the most recent failure on the calling thread, including
 * the failing call and its file:line inside clq. The string belongs to clq
 * and stays valid until the next clq call on this thread. Empty if none. */
CLQ_API const char *clq_last_error(void);

/* The build log of the most recent failed kernel build on the calling thread
 * (empty if none). Owned by clq; valid until the next failed build on this
 * thread. */
CLQ_API const char *clq_last_build_log(void);

/* Library version as "MAJOR.MINOR.PATCH" and as CLQ_VERSION_NUMBER. */
CLQ_API const char *clq_version_string(void);
CLQ_API int clq_version_number(void);

/* ------------------------------------------------------------------------ */
/* Formats and layouts                                                       */
/* ------------------------------------------------------------------------ */

typedef enum clq_format {
    CLQ_FORMAT_Q8 = 1,  /* int8, fp16 scale d = absmax/127 (ggml Q8_0 rule)  */
    CLQ_FORMAT_Q4 = 2,  /* 4-bit symmetric, fp16 d = m/-8 (ggml Q4_0 rule)   */
    CLQ_FORMAT_Q4Z = 3, /* 4-bit with fp32 scale and 4-bit zero point (ORT)  */
    CLQ_FORMAT_NF4 = 4, /* 4-bit NormalFloat code, fp32 absmax (bnb)         */
    CLQ_FORMAT_FP4 = 5, /* 4-bit e2m1 code, fp32 absmax (bnb)                */
    CLQ_FORMAT_DYNAMIC8 = 6 /* 8-bit bnb dynamic code, fp32 absmax           */
} clq_format;

typedef enum clq_dtype {
    CLQ_DTYPE_F32 = 1,
    CLQ_DTYPE_F16 = 2 /* IEEE binary16, read/written with vload/vstore_half */
} clq_dtype;

/* External layouts a weight can be imported from and exported to,
 * bit-exactly. The device layout is clq's own and not part of the API. */
typedef enum clq_layout {
    CLQ_LAYOUT_BNB = 1,  /* bitsandbytes: NF4, FP4 (optionally double-quantized), DYNAMIC8 */
    CLQ_LAYOUT_GGML = 2, /* ggml Q4_0 / Q8_0 blocks (block 32 only): Q4, Q8 */
    CLQ_LAYOUT_ORT = 3   /* ONNX Runtime MatMulNBits: Q4Z */
} clq_layout;

CLQ_API const char *clq_format_name(clq_format format);  /* "nf4", ...; NULL if unknown */
CLQ_API const char *clq_layout_name(clq_layout layout);  /* "bnb", ...; NULL if unknown */
CLQ_API clq_status clq_format_from_name(const char *name, clq_format *out);
CLQ_API clq_status clq_layout_from_name(const char *name, clq_layout *out);

/* What a quantized matrix is. Block sizes: any power of two from 16 to 4096
 * (32, 64, 128, 256 are the common ones); the ggml layout only has 32.
 * double_quant (NF4 and FP4 only) quantizes the fp32 absmax vector again to
 * 8 bits in groups of 256 (bitsandbytes compress_statistics). */
typedef struct clq_weight_desc {
    clq_format format;
    uint32_t block;
    uint64_t rows; /* N, output features */
    uint64_t cols; /* K, input features, a multiple of block */
    int double_quant;
} clq_weight_desc;

/* Checks a description: CLQ_SUCCESS or the precise reason it is invalid. */
CLQ_API clq_status clq_weight_desc_check(const clq_weight_desc *desc);

/* ------------------------------------------------------------------------ */
/* Devices and contexts                                                      */
/* ------------------------------------------------------------------------ */

typedef struct clq_device_info {
    unsigned platform_index;
    unsigned device_index;
    cl_platform_id platform;
    cl_device_id device;
    cl_device_type type;
    char platform_name[128];
    char device_name[128];
    char device_version[128];
    char driver_version[128];
    uint64_t global_memory_bytes;
    unsigned compute_units;
    int is_default; /* the device clq_context_create picks with no selector */
} clq_device_info;

/* Lists every device of every platform. Writes up to `capacity` entries to
 * `out` (which may be NULL when capacity is 0) and the total found to
 * *count. The default device is the first GPU or accelerator, else the first
 * device; a CLQ_DEVICE variable in the environment overrides it. */
CLQ_API clq_status clq_devices_list(clq_device_info *out, size_t capacity, size_t *count);

/* Resolves a device selector: "P:D" (platform and device index), or a
 * case-insensitive substring of the device name (first match). NULL or ""
 * means: the CLQ_DEVICE variable if set, else the default device. */
CLQ_API clq_status clq_device_select(const char *selector, clq_device_info *out);

typedef struct clq_context clq_context;

typedef struct clq_context_options {
    const char *device;          /* selector as for clq_device_select; NULL = default */
    int program_cache;           /* 1 (default): cache program binaries on disk; CLQ_PROGRAM_CACHE=0 disables */
    const char *cache_dir;       /* NULL: $CLQ_CACHE_DIR, else $XDG_CACHE_HOME/clq, else ~/.cache/clq */
    const char *kernel_dir;      /* NULL: embedded kernels; else read .cl files from here ($CLQ_KERNEL_DIR too) */
    int profiling;               /* 1: the queue clq creates has profiling enabled */
    const char *tuning_file;     /* NULL: $CLQ_TUNING_FILE, else tuning.txt in the cache directory; "": none */
    const char *tuning;          /* "name=value ..." over the tuning file's entry (see clq_context_tuning) */
} clq_context_options;

/* Fills options with defaults (cache on, default device, no profiling). */
CLQ_API void clq_context_options_init(clq_context_options *options);

/* Creates a context, its own cl_context and in-order command queue on the
 * chosen device. options may be NULL (defaults). */
CLQ_API clq_status clq_context_create(const clq_context_options *options, clq_context **out);

/* Wraps an application's own OpenCL objects. clq retains them while the
 * context lives and releases only its own references: the application keeps
 * ownership. The queue must belong to the context and device. options may be
 * NULL; its device field is ignored. */
CLQ_API clq_status clq_context_wrap(cl_context context, cl_device_id device, cl_command_queue queue,
                                    const clq_context_options *options, clq_context **out);

/* Finishes the queue and frees everything clq created. Accepts NULL. */
CLQ_API void clq_context_destroy(clq_context *ctx);

/* The OpenCL objects behind a context (owned by the context). */
CLQ_API cl_context clq_context_cl_context(const clq_context *ctx);
CLQ_API cl_device_id clq_context_cl_device(const clq_context *ctx);
CLQ_API cl_command_queue clq_context_cl_queue(const clq_context *ctx);
/* Device name and driver version (owned by the context). */
CLQ_API const char *clq_context_device_name(const clq_context *ctx);
CLQ_API const char *clq_context_driver_version(const clq_context *ctx);

/* Kernel tuning. Each device has parameters (tile shapes, vector width,
 * work-group sizes) with defaults by device class. A tuning file holds
 * better ones found by `clq tune`, one line per device and driver:
 *   <device name> TAB <driver version> TAB name=value name=value ...
 * A context takes, in order: the defaults, the file's line for its device
 * and driver, options->tuning, and $CLQ_PARAMS. A bad name or value in any
 * of them fails context creation with CLQ_ERROR_INVALID_ARGUMENT. */

/* Writes the parameters in effect as "name=value ..." (NUL-terminated) into
 * buf; CLQ_ERROR_BUFFER_TOO_SMALL if len is too short. */
CLQ_API clq_status clq_context_tuning(const clq_context *ctx, char *buf, size_t len);

/* The tuning file this context read (or would read): "" when none. */
CLQ_API const char *clq_context_tuning_file(const clq_context *ctx);

/* Stores `params` ("name=value ...", checked against this device) as the
 * line for ctx's device and driver in the tuning file at `path` (NULL: the
 * context's tuning file), replacing any earlier line for them and keeping
 * the others. The file is replaced atomically. Later contexts load it. */
CLQ_API clq_status clq_tuning_save(const clq_context *ctx, const char *params, const char *path);

/* Compiles (or loads from the program cache) every kernel program clq uses
 * on this device now rather than at first use. Optional. */
CLQ_API clq_status clq_context_warm_up(clq_context *ctx);

/* ------------------------------------------------------------------------ */
/* Quantized weights                                                         */
/* ------------------------------------------------------------------------ */

typedef struct clq_weight clq_weight;

/* Quantizes an N×K row-major matrix held in a device buffer (fp32 or fp16)
 * into a new weight. Waits for `wait_list`, then for its own work: it
 * returns only once the input has been checked, because a NaN or Inf
 * anywhere must be reported (CLQ_ERROR_NONFINITE_INPUT, with the first bad
 * index in clq_last_error) before a weight exists. So must a block whose
 * scale would not be finite (CLQ_ERROR_SCALE_OVERFLOW, row and columns):
 * Q8 with absmax/127 rounding to an fp16 Inf (|x| from 8321040 up), Q4
 * with |m|/8 doing so (|m| from 524160 up), Q4Z with 15·((max−min)/15)
 * above FLT_MAX; with double quantization, a block whose absmax (near
 * FLT_MAX) would come back as code·absmax2 + offset beyond FLT_MAX (the
 * mean itself never overflows). So every weight made dequantizes to
 * finite values. `src` stays owned by the caller. */
CLQ_API clq_status clq_weight_quantize(clq_context *ctx, const clq_weight_desc *desc, clq_dtype src_type,
                                       cl_mem src, cl_uint num_wait, const cl_event *wait_list,
                                       clq_weight **out);

/* The same from host memory; `src_bytes` must cover N×K elements. */
CLQ_API clq_status clq_weight_quantize_host(clq_context *ctx, const clq_weight_desc *desc, clq_dtype src_type,
                                            const void *src, size_t src_bytes, clq_weight **out);

/* Frees the weight's device memory. Accepts NULL. */
CLQ_API void clq_weight_destroy(clq_weight *weight);

/* The weight's description. */
CLQ_API clq_weight_desc clq_weight_get_desc(const clq_weight *weight);

/* Bytes the weight occupies on the device (quants, scales and side data). */
CLQ_API uint64_t clq_weight_device_bytes(const clq_weight *weight);

/* Dequantizes into a device buffer of N×K elements of dst_type. Asynchronous:
 * enqueued after wait_list; *event (if event is not NULL) receives an event
 * the caller must release. */
CLQ_API clq_status clq_weight_dequantize(const clq_weight *weight, clq_dtype dst_type, cl_mem dst,
                                         cl_uint num_wait, const cl_event *wait_list, cl_event *event);

/* Blocking convenience: dequantizes into host memory. */
CLQ_API clq_status clq_weight_dequantize_host(const clq_weight *weight, clq_dtype dst_type, void *dst,
                                              size_t dst_bytes);

/* ------------------------------------------------------------------------ */
/* External layouts: import and export, bit-exact                            */
/* ------------------------------------------------------------------------ */

/* Host arrays of one external layout (see DESIGN.md and vectors/README.md).
 * Which arrays a layout uses:
 *   GGML (Q4, Q8; block 32): data = the blocks (fp16 d + quants), N·K/32 of
 *        18 (Q4_0) or 34 (Q8_0) bytes. No other array.
 *   BNB NF4/FP4: data = N·K/2 bytes, element 2i in the HIGH nibble;
 *        scales = fp32 absmax per block, or, with double_quant, one uint8 per
 *        block plus nested_absmax (fp32 per 256 blocks, rounded up),
 *        nested_code (256 fp32) and offset.
 *   BNB DYNAMIC8: data = N·K code indices; scales = fp32 absmax per block;
 *        nested_code = the 256-entry code.
 *   ORT Q4Z: data = N × K/block × block/2 bytes, element 2i in the LOW
 *        nibble; scales = fp32 N × K/block; zero_points = N × ceil(K/block/2)
 *        bytes, two per byte, low nibble first.
 * For import the pointers are read; for export they are written and each
 * *_bytes is the capacity available. Unused arrays may be NULL/0. */
typedef struct clq_external {
    void *data;
    size_t data_bytes;
    void *scales;
    size_t scales_bytes;
    void *zero_points;
    size_t zero_points_bytes;
    void *nested_absmax;
    size_t nested_absmax_bytes;
    void *nested_code;
    size_t nested_code_bytes;
    float offset;
} clq_external;

/* The byte size of each array a layout needs for a description (pointers in
 * *sizes are set to NULL, offset to 0). Fails with
 * CLQ_ERROR_UNSUPPORTED_LAYOUT if the layout cannot hold the format. */
CLQ_API clq_status clq_external_sizes(const clq_weight_desc *desc, clq_layout layout, clq_external *sizes);

/* Creates a weight from external-layout arrays in host memory. The bytes are
 * copied to the device and repacked there into clq's device layout. */
CLQ_API clq_status clq_weight_import(clq_context *ctx, const clq_weight_desc *desc, clq_layout layout,
                                     const clq_external *src, clq_weight **out);

/* Writes the weight in an external layout into the caller's host arrays
 * (blocking). Bit-exact: import followed by export gives back the same
 * bytes. */
CLQ_API clq_status clq_weight_export(const clq_weight *weight, clq_layout layout, clq_external *dst);

/* ------------------------------------------------------------------------ */
/* LoRA adapters                                                             */
/* ------------------------------------------------------------------------ */

/* One adapter in host memory: A is rank×K, B is N×rank, both row-major in
 * `dtype`. The side path adds s·(X·Aᵀ)·Bᵀ with s = alpha/rank, or
 * alpha/√rank when rslora is set (PEFT's use_rslora). */
typedef struct clq_adapter_desc {
    uint32_t rank; /* 1..CLQ_MAX_LORA_RANK */
    float alpha;
    int rslora;
    clq_dtype dtype;
    const void *a;
    const void *b;
} clq_adapter_desc;

#define CLQ_MAX_LORA_RANK 1024

typedef struct clq_lora clq_lora;

/* Copies `count` adapters for an N×K weight to the device, packed together
 * (ranks may differ; all must share one dtype). A single adapter is a set of
 * one. The host arrays may be freed on return. NaN or Inf in an A or B is
 * CLQ_ERROR_NONFINITE_INPUT (adapter, matrix, row and column named); an
 * alpha that is not finite, CLQ_ERROR_INVALID_ARGUMENT. */
CLQ_API clq_status clq_lora_create(clq_context *ctx, uint64_t rows, uint64_t cols, const clq_adapter_desc *adapters,
                                   size_t count, clq_lora **out);

/* The same with each adapter's scale s given as scales[i] (finite) rather
 * than derived from alpha and rank, which are then ignored: for adapters
 * whose scale was computed elsewhere (PEFT computes alpha/r or alpha/√r in
 * double precision; clq_peft_lora_create passes that, rounded once to
 * fp32). scales may be NULL, which is clq_lora_create. */
CLQ_API clq_status clq_lora_create_scaled(clq_context *ctx, uint64_t rows, uint64_t cols,
                                          const clq_adapter_desc *adapters, const float *scales, size_t count,
                                          clq_lora **out);

/* Frees the adapters' device memory. Accepts NULL. */
CLQ_API void clq_lora_destroy(clq_lora *lora);

/* Number of adapters in a set. */
CLQ_API size_t clq_lora_count(const clq_lora *lora);

/* ------------------------------------------------------------------------ */
/* Fused matmul                                                              */
/* ------------------------------------------------------------------------ */

typedef enum clq_matmul_kernel {
    CLQ_MATMUL_AUTO = 0,    /* decode for M <= CLQ_DECODE_MAX_M, prefill above */
    CLQ_MATMUL_DECODE = 1,  /* weights read once per call per 16 rows of X */
    CLQ_MATMUL_PREFILL = 2  /* tiled: weights dequantized once per tile of rows */
} clq_matmul_kernel;

#define CLQ_DECODE_MAX_M 16

/* One call of Y = X·dequant(W)ᵀ (+ bias) (+ s·(X·Aᵀ)·Bᵀ). */
typedef struct clq_matmul_args {
    uint64_t m;                /* rows of X and Y, >= 1 */
    clq_dtype x_type;
    cl_mem x;                  /* M×K */
    clq_dtype y_type;
    cl_mem y;                  /* M×N, written once */
    cl_mem bias;               /* N values of y_type, or NULL */
    const clq_lora *lora;      /* adapters, or NULL for no side path */
    const int32_t *lora_index; /* host array of M: adapter per row, -1 for none;
                                  NULL: adapter 0 for every row */
    clq_matmul_kernel kernel;
} clq_matmul_args;

/* Enqueues the fused product on the weight's queue after wait_list;
 * *event (if event is not NULL) receives an event the caller releases. The
 * host arrays in args (lora_index) are copied before return. Checks every
 * shape first: a mismatch is an error and nothing is enqueued. */
CLQ_API clq_status clq_matmul(const clq_weight *weight, const clq_matmul_args *args, cl_uint num_wait,
                              const cl_event *wait_list, cl_event *event);

/* Blocking convenience on host memory: x is M×K, y is M×N, bias N or NULL,
 * all of `dtype`. */
CLQ_API clq_status clq_matmul_host(const clq_weight *weight, uint64_t m, clq_dtype dtype, const void *x,
                                   const void *bias, void *y, const clq_lora *lora, const int32_t *lora_index);

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
 * other ggml type (q4_K, bf16, ...) are listed too, with their type number,
 * but not loaded. */
typedef enum clq_ggml_type {
    CLQ_GGML_F32 = 0,
    CLQ_GGML_F16 = 1,
    CLQ_GGML_Q4_0 = 2,
    CLQ_GGML_Q8_0 = 8
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
    const char *key;          /* NUL-terminated, owned by the handle; NULL for array elements */
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
 * thread-safe; one writer per thread. */
typedef struct clq_gguf_writer clq_gguf_writer;

CLQ_API clq_status clq_gguf_writer_create(clq_gguf_writer **out);
CLQ_API void clq_gguf_writer_destroy(clq_gguf_writer *writer); /* accepts NULL */

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
                                              uint32_t n_dims, const uint64_t *ne, const void *data, size_t bytes);

/* Adds a Q4 or Q8 weight with block 32 as a q4_0 / q8_0 tensor of ne[0] = K,
 * ne[1] = N, exported bit-exactly from the device (blocking). Errors:
 * CLQ_ERROR_UNSUPPORTED_LAYOUT (another format or block), those of
 * clq_weight_export. */
CLQ_API clq_status clq_gguf_writer_add_weight(clq_gguf_writer *writer, const char *name, const clq_weight *weight);

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
    uint32_t n_dims;                          /* 0 (a scalar) .. CLQ_SAFETENSORS_MAX_DIMS */
    uint64_t dims[CLQ_SAFETENSORS_MAX_DIMS];  /* those past n_dims are 0 */
    uint64_t elements;                        /* product of the dims (1 for a scalar) */
    uint64_t offset;                          /* absolute byte offset of the data in the file */
    uint64_t size;                            /* bytes of data */
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
    clq_weight_desc desc;  /* NF4 or FP4, blocksize, N, K, double_quant */
    float nested_offset;   /* double quantization: the offset; else 0 */
    char dtype[16];        /* the layer's dtype as the state names it ("bfloat16"), for information */
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
 * so every tensor's data is aligned to its element size. Not thread-safe;
 * one writer per thread. */
typedef struct clq_safetensors_writer clq_safetensors_writer;

CLQ_API clq_status clq_safetensors_writer_create(clq_safetensors_writer **out);
CLQ_API void clq_safetensors_writer_destroy(clq_safetensors_writer *writer); /* accepts NULL */

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
    const char *module;                /* the module name in the file, NUL-terminated, owned by the handle */
    clq_safetensors_tensor a, b;       /* lora_A (rank × K) and lora_B (N × rank) */
    uint32_t rank;
    uint64_t rows, cols;               /* N and K of the weight it adapts */
    double alpha;                      /* lora_alpha, or the alpha_pattern entry of the module */
    float scale;                       /* alpha/rank, or alpha/√rank with use_rslora, computed in double */
} clq_peft_layer;

/* Opens the adapter folder `dir` (the safetensors file is memory-mapped).
 * Errors: CLQ_ERROR_IO (a file is missing or unreadable),
 * CLQ_ERROR_BAD_DATA. The caller closes *out with clq_peft_close. */
CLQ_API clq_status clq_peft_open(const char *dir, clq_peft **out);

/* The same from memory: the config's JSON text and the safetensors bytes
 * (neither copied; keep them alive until clq_peft_close). */
CLQ_API clq_status clq_peft_open_memory(const void *config, size_t config_size, const void *tensors,
                                        size_t tensors_size, clq_peft **out);

/* Frees the handle and unmaps its file. Accepts NULL. */
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

/* ------------------------------------------------------------------------ */
/* 4-bit packing                                                             */
/* ------------------------------------------------------------------------ */

typedef enum clq_nibble_order {
    CLQ_NIBBLE_LOW_FIRST = 1, /* element 2i in the low nibble (ORT, clq) */
    CLQ_NIBBLE_HIGH_FIRST = 2 /* element 2i in the high nibble (bnb) */
} clq_nibble_order;

/* Packs `count` (even) values 0..15, one per byte in `src`, two per byte into
 * `dst` (count/2 bytes), on the device. Values above 15 are an error reported
 * as CLQ_ERROR_BAD_DATA after the call completes (blocking). */
CLQ_API clq_status clq_pack4(clq_context *ctx, clq_nibble_order order, cl_mem src, cl_mem dst, size_t count);

/* Unpacks count/2 bytes into `count` values, one per byte (asynchronous). */
CLQ_API clq_status clq_unpack4(clq_context *ctx, clq_nibble_order order, cl_mem src, cl_mem dst, size_t count,
                               cl_uint num_wait, const cl_event *wait_list, cl_event *event);

#ifdef __cplusplus
}
#endif

#endif /* CLQ_H */

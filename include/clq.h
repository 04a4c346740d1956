/*
 * clq — OpenCL kernels for quantized LLM weights.
 *
 * This header is the core of the library: devices and contexts, tuning,
 * quantized weights (quantize, dequantize, external layouts, 4-bit
 * packing), LoRA adapter sets and the fused matmul. Reading and writing
 * model files (GGUF, safetensors with bitsandbytes states, PEFT adapter
 * folders) is declared in clq_io.h, which includes this header; one
 * library, libclq, implements both. README.md shows the library in use,
 * docs/ explains its design, and tests/data/README.md describes the
 * reference vectors of every format and layout.
 *
 * Conventions that hold for every function below unless its comment says
 * otherwise:
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
 *    weight or adapter set may be used by several threads at once, but must
 *    not be destroyed while another thread is inside a call with it.
 *
 * Lifetimes:
 *
 *  - A weight (clq_weight) or adapter set (clq_lora) belongs to the context
 *    it was made on: every call on it uses that context's queue and kernel
 *    programs, so the context must outlive it. Destroy weights and adapter
 *    sets before their context. clq_weight_destroy and clq_lora_destroy are
 *    the only calls still allowed on them after clq_context_destroy (they
 *    only release OpenCL buffers, and OpenCL keeps a cl_context alive while
 *    buffers of it remain), so a cleanup path may run in either order.
 *  - Asynchronous calls (those taking a wait list and giving an event)
 *    enqueue work on the context's queue and return. A weight or adapter set
 *    may be destroyed while work that uses it is still queued: destroy drops
 *    clq's references to its device buffers, and OpenCL frees a buffer only
 *    once the commands queued on it have finished (clReleaseMemObject; clq
 *    relies on the same rule for its own scratch buffers). The handle itself
 *    is freed at once, so no later call may name it.
 *  - cl_mem buffers the caller passes (sources, destinations, X, Y, bias)
 *    stay the caller's: clq keeps no reference to them after the call
 *    returns. Their results are ready when the call's event completes (or
 *    after clFinish on the context's queue); release the event with
 *    clReleaseEvent. Host arrays passed to any call may be reused or freed
 *    as soon as it returns.
 *  - Blocking calls (quantize, import, export, pack4 and the *_host
 *    conveniences) return when their work is done; the queue being in
 *    order, they also wait for the work enqueued on it before them.
 *  - clq_context_destroy finishes the context's queue first, so all work
 *    enqueued on it ends before the context's OpenCL objects are released.
 *    Events clq returned stay valid until the caller releases them.
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
#define CLQ_VERSION_NUMBER (CLQ_VERSION_MAJOR * 10000 + CLQ_VERSION_MINOR * 100 + CLQ_VERSION_PATCH)

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
#define CLQ_STATUS_MAP(X)                                                                                    \
    X(SUCCESS, 0, "success")                                                                                 \
    X(ERROR_INVALID_ARGUMENT, -2001, "invalid argument")                                                     \
    X(ERROR_NULL_POINTER, -2002, "a required pointer or handle is NULL")                                     \
    X(ERROR_UNSUPPORTED_FORMAT, -2003, "unsupported format")                                                 \
    X(ERROR_UNSUPPORTED_BLOCK, -2004, "unsupported block size for this format")                              \
    X(ERROR_SHAPE, -2005, "invalid or mismatched shape")                                                     \
    X(ERROR_BUFFER_TOO_SMALL, -2006, "buffer too small")                                                     \
    X(ERROR_NONFINITE_INPUT, -2007, "input contains NaN or Inf")                                             \
    X(ERROR_UNSUPPORTED_LAYOUT, -2008, "layout not available for this format")                               \
    X(ERROR_NO_DEVICE, -2009, "no OpenCL device found or matched")                                           \
    X(ERROR_BUILD_FAILED, -2010, "kernel build failed (see clq_last_build_log)")                             \
    X(ERROR_OUT_OF_HOST_MEMORY, -2011, "out of host memory")                                                 \
    X(ERROR_IO, -2012, "file input/output failed")                                                           \
    X(ERROR_BAD_DATA, -2013, "malformed or inconsistent data")                                               \
    X(ERROR_DEVICE_UNSUITABLE, -2014, "device lacks a capability clq needs")                                 \
    X(ERROR_INTERNAL, -2015, "internal error in clq")                                                        \
    X(ERROR_CONTEXT_MISMATCH, -2016, "objects belong to different clq contexts")                             \
    X(ERROR_NOT_FOUND, -2017, "no such key, tensor or index")                                                \
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
    CLQ_FORMAT_Q8 = 1,       /* int8, fp16 scale d = absmax/127 (ggml Q8_0 rule)  */
    CLQ_FORMAT_Q4 = 2,       /* 4-bit symmetric, fp16 d = m/-8 (ggml Q4_0 rule)   */
    CLQ_FORMAT_Q4Z = 3,      /* 4-bit with fp32 scale and 4-bit zero point (ORT)  */
    CLQ_FORMAT_NF4 = 4,      /* 4-bit NormalFloat code, fp32 absmax (bnb)         */
    CLQ_FORMAT_FP4 = 5,      /* 4-bit e2m1 code, fp32 absmax (bnb)                */
    CLQ_FORMAT_DYNAMIC8 = 6, /* 8-bit bnb dynamic code, fp32 absmax          */
    /* ggml's block types, as GGUF files hold them (layout CLQ_LAYOUT_GGML);
     * the block is fixed by the type: 32, or a super-block of 256. */
    CLQ_FORMAT_Q4_1 = 7,    /* 32: fp16 d and m, 4-bit q: d·q + m              */
    CLQ_FORMAT_Q5_0 = 8,    /* 32: fp16 d, 5-bit q: d·(q − 16)                 */
    CLQ_FORMAT_Q5_1 = 9,    /* 32: fp16 d and m, 5-bit q: d·q + m              */
    CLQ_FORMAT_Q2_K = 10,   /* 256: 16 sub-blocks of 16, 4-bit scale and min  */
    CLQ_FORMAT_Q3_K = 11,   /* 256: 16 sub-blocks of 16, 6-bit scales         */
    CLQ_FORMAT_Q4_K = 12,   /* 256: 8 sub-blocks of 32, 6-bit scale and min   */
    CLQ_FORMAT_Q5_K = 13,   /* 256: as q4_k with 5-bit q                      */
    CLQ_FORMAT_Q6_K = 14,   /* 256: 16 sub-blocks of 16, int8 scales, 6-bit q */
    CLQ_FORMAT_IQ4_NL = 15, /* 32: fp16 d, 4-bit index into ggml's 16 values */
    CLQ_FORMAT_IQ4_XS = 16  /* 256: as iq4_nl with 6-bit sub-block scales    */
} clq_format;

typedef enum clq_dtype {
    CLQ_DTYPE_F32 = 1,
    CLQ_DTYPE_F16 = 2 /* IEEE binary16, read/written with vload/vstore_half */
} clq_dtype;

/* External layouts a weight can be imported from and exported to,
 * bit-exactly. The device layout is clq's own and not part of the API. */
typedef enum clq_layout {
    CLQ_LAYOUT_BNB = 1,  /* bitsandbytes: NF4, FP4 (optionally double-quantized), DYNAMIC8 */
    CLQ_LAYOUT_GGML = 2, /* ggml blocks: Q4_0 / Q8_0 (Q4, Q8, block 32), and every ggml format's own */
    CLQ_LAYOUT_ORT = 3   /* ONNX Runtime MatMulNBits: Q4Z */
} clq_layout;

CLQ_API const char *clq_format_name(clq_format format); /* "nf4", ...; NULL if unknown */
CLQ_API const char *clq_layout_name(clq_layout layout); /* "bnb", ...; NULL if unknown */
CLQ_API clq_status clq_format_from_name(const char *name, clq_format *out);
CLQ_API clq_status clq_layout_from_name(const char *name, clq_layout *out);

/* What a quantized matrix is. Block sizes: any power of two from 16 to 4096
 * (32, 64, 128, 256 are the common ones); the ggml layout only has 32 for
 * Q4 and Q8, and the ggml formats (CLQ_FORMAT_Q4_1 ...) have their type's
 * block (32 or 256) and no other.
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
    const char *device;      /* selector as for clq_device_select; NULL = default */
    int program_cache;       /* 1 (default): cache program binaries on disk; CLQ_PROGRAM_CACHE=0 disables */
    const char *cache_dir;   /* NULL: $CLQ_CACHE_DIR, else $XDG_CACHE_HOME/clq, else ~/.cache/clq */
    const char *kernel_dir;  /* NULL: embedded kernels; else read .cl files from here ($CLQ_KERNEL_DIR too) */
    int profiling;           /* 1: the queue clq creates has profiling enabled */
    const char *tuning_file; /* NULL: $CLQ_TUNING_FILE, else tuning.txt in the cache directory; "": none */
    const char *tuning;      /* "name=value ..." over the tuning file's entry (see clq_context_tuning) */
} clq_context_options;

/* Fills options with defaults (cache on, default device, no profiling). */
CLQ_API void clq_context_options_init(clq_context_options *options);

/* Creates a context, its own cl_context and in-order command queue on the
 * chosen device. options may be NULL (defaults). */
CLQ_API clq_status clq_context_create(const clq_context_options *options, clq_context **out);

/* Wraps an application's own OpenCL objects. clq retains them while the
 * context lives and releases only its own references: the application keeps
 * ownership. The queue must belong to the context and device, and be in
 * order: clq orders its own commands by the queue, not by events. options
 * may be NULL; its device field is ignored. */
CLQ_API clq_status clq_context_wrap(cl_context context, cl_device_id device, cl_command_queue queue,
                                    const clq_context_options *options, clq_context **out);

/* Waits for all work on the context's queue, then frees everything clq
 * created. Destroy its weights and adapter sets before it (see Lifetimes
 * above). Accepts NULL. Not to be called while another thread uses ctx. */
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
 * on this device now rather than at first use, except the matmul programs
 * of the ggml formats (CLQ_FORMAT_Q4_1 ...), ten formats of six programs
 * each, which are built at first use. Optional. */
CLQ_API clq_status clq_context_warm_up(clq_context *ctx);

/* Whether the on-disk program cache is in use. ON: programs are loaded from
 * and stored in the cache directory. OFF: turned off (options->program_cache,
 * CLQ_PROGRAM_CACHE=0) or no directory is known. REFUSED: the directory is
 * not a directory owned by this user that group and others cannot write (or
 * could not be created), so programs are built from source; `why` (if not
 * NULL) receives the reason, truncated to `len`. Checked at context creation
 * and before each use. Thread-safe. */
typedef enum clq_cache_state { CLQ_CACHE_ON = 0, CLQ_CACHE_OFF = 1, CLQ_CACHE_REFUSED = 2 } clq_cache_state;
CLQ_API clq_cache_state clq_context_cache_state(const clq_context *ctx, char *why, size_t len);

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
 * finite values. `src` stays owned by the caller. The ggml formats
 * (CLQ_FORMAT_Q4_1 ...) are quantized bit for bit as ggml does without an
 * importance matrix (ggml_quantize_chunk); a block whose fp16 scale or min
 * would be Inf or NaN (or whose float fit overflows) is
 * CLQ_ERROR_SCALE_OVERFLOW too (kernels/ggml_quantize.cl states each
 * type's limit). */
CLQ_API clq_status clq_weight_quantize(clq_context *ctx, const clq_weight_desc *desc, clq_dtype src_type,
                                       cl_mem src, cl_uint num_wait, const cl_event *wait_list,
                                       clq_weight **out);

/* The same from host memory; `src_bytes` must cover N×K elements. */
CLQ_API clq_status clq_weight_quantize_host(clq_context *ctx, const clq_weight_desc *desc, clq_dtype src_type,
                                            const void *src, size_t src_bytes, clq_weight **out);

/* Releases the weight's device buffers (OpenCL frees them once the work
 * already queued on them ends; see Lifetimes above) and frees the handle.
 * Accepts NULL. */
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

/* Host arrays of one external layout (tests/data/README.md has a reference
 * file of each, made by the layout's own library).
 * Which arrays a layout uses:
 *   GGML (Q4, Q8; block 32): data = the blocks (fp16 d + quants), N·K/32 of
 *        18 (Q4_0) or 34 (Q8_0) bytes. No other array.
 *   GGML (the ggml formats): data = ggml's blocks of the type, byte for
 *        byte (ggml-common.h), N·K/block of them, row by row. No other array.
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
CLQ_API clq_status clq_lora_create(clq_context *ctx, uint64_t rows, uint64_t cols,
                                   const clq_adapter_desc *adapters, size_t count, clq_lora **out);

/* The same with each adapter's scale s given as scales[i] (finite) rather
 * than derived from alpha and rank, which are then ignored: for adapters
 * whose scale was computed elsewhere (PEFT computes alpha/r or alpha/√r in
 * double precision; clq_peft_lora_create (clq_io.h) passes that, rounded
 * once to fp32). scales may be NULL, which is clq_lora_create. */
CLQ_API clq_status clq_lora_create_scaled(clq_context *ctx, uint64_t rows, uint64_t cols,
                                          const clq_adapter_desc *adapters, const float *scales, size_t count,
                                          clq_lora **out);

/* Releases the adapters' device buffers (freed once the work already
 * queued on them ends, as for clq_weight_destroy) and frees the handle.
 * Accepts NULL. */
CLQ_API void clq_lora_destroy(clq_lora *lora);

/* Number of adapters in a set. */
CLQ_API size_t clq_lora_count(const clq_lora *lora);

/* ------------------------------------------------------------------------ */
/* Fused matmul                                                              */
/* ------------------------------------------------------------------------ */

typedef enum clq_matmul_kernel {
    CLQ_MATMUL_AUTO = 0,   /* decode for M <= CLQ_DECODE_MAX_M, prefill above */
    CLQ_MATMUL_DECODE = 1, /* weights read once per call per 16 rows of X */
    CLQ_MATMUL_PREFILL = 2 /* tiled: weights dequantized once per tile of rows */
} clq_matmul_kernel;

#define CLQ_DECODE_MAX_M 16

/* One call of Y = X·dequant(W)ᵀ (+ bias) (+ s·(X·Aᵀ)·Bᵀ). */
typedef struct clq_matmul_args {
    uint64_t m; /* rows of X and Y, >= 1 */
    clq_dtype x_type;
    cl_mem x; /* M×K */
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
                                   const void *bias, void *y, const clq_lora *lora,
                                   const int32_t *lora_index);

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

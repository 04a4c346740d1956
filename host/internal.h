/*
 * What the host files of clq share and users never see: the context and
 * weight structs, the error-forwarding macros, and the program registry.
 */
#ifndef CLQ_INTERNAL_H
#define CLQ_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "clq.h"
#include "clq_common.h"
#include "params_table.h"

/* ---- errors -------------------------------------------------------------- */

/* Records a failure for clq_last_error() and returns `status`. The message is
 * printf-style; file and line say where inside clq the failure was seen. */
int clq_fail_at(int status, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#define CLQ_FAIL(status, ...) clq_fail_at((status), __FILE__, __LINE__, __VA_ARGS__)

/* Records CLQ_ERROR_BAD_DATA for a fault in a file being read, as
 * "<source>: at offset N: <message>", and returns it: every file reader
 * names the file (or "... in memory") and the byte offset of the fault. */
int clq_bad_data_at(const char *source, uint64_t offset, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
#define CLQ_BAD_AT(source, offset, ...) clq_bad_data_at((source), (offset), __FILE__, __LINE__, __VA_ARGS__)

/* Forwards a failing clq status unchanged (the callee already recorded why). */
#define CLQ_FORWARD(expr)                                                                                    \
    do {                                                                                                     \
        int clq_fwd_status_ = (expr);                                                                        \
        if (clq_fwd_status_ != CLQ_SUCCESS)                                                                  \
            return clq_fwd_status_;                                                                          \
    } while (0)

/* Checks an OpenCL call: on failure records the call text and the CL_* name. */
#define CLQ_CL(expr)                                                                                         \
    do {                                                                                                     \
        cl_int clq_cl_status_ = (expr);                                                                      \
        if (clq_cl_status_ != CL_SUCCESS)                                                                    \
            return CLQ_FAIL(clq_cl_status_, "%s failed: %s", #expr, clq_status_string(clq_cl_status_));      \
    } while (0)

/* Maps a whole regular file read-only (file_map.c). An empty file gives
 * *map = NULL and *size = 0 (mmap refuses a zero length). CLQ_ERROR_IO
 * names the path and the reason. */
clq_status clq_map_file(const char *path, void **map, uint64_t *size);
void clq_unmap_file(void *map, uint64_t size); /* accepts NULL */

/* A file being written (file_out.c): into a temporary file beside `path`,
 * renamed to it by clq_out_close only if every write succeeded. */
typedef struct clq_out {
    const char *path;
    char *tmp;
    FILE *file;
    uint64_t written;
} clq_out;
clq_status clq_out_open(clq_out *o, const char *path);
clq_status clq_out_write(clq_out *o, const void *data, size_t bytes);
/* Writes `byte` until the size is a multiple of `alignment`. */
clq_status clq_out_pad(clq_out *o, uint64_t alignment, unsigned char byte);
/* Closes the file; renames it into place when `status` (the writer's
 * result so far) is success, else removes it. Returns the final status. */
clq_status clq_out_close(clq_out *o, clq_status status);

/* Sets the thread's build log (after a failed clBuildProgram). */
void clq_set_build_log(const char *log);

/* ---- programs ----------------------------------------------------------- */

/* Every kernel program clq builds: one .cl file in kernels/ each. */
typedef enum clq_program_id {
    CLQ_PROGRAM_QUANTIZE = 0, /* dequant.cl + quantize.cl: quantize, dequantize, double quantization */
    CLQ_PROGRAM_REPACK,       /* repack.cl: external layouts <-> device layout, pack4 */
    CLQ_PROGRAM_MATMUL,       /* matmul.cl (+ matmul_ggml.cl): one variant per format and kernel group */
    CLQ_PROGRAM_LORA,         /* lora.cl: the shrink half of the LoRA side path */
    CLQ_PROGRAM_GGML,         /* ggml_dequant.cl, ggml_quantize.cl: the ggml formats */
    CLQ_PROGRAM_COUNT
} clq_program_id;

/* Most programs have one build per context; matmul has one per weight format
 * (the format is a compile-time constant there, so the inner loops carry no
 * format switch) and kernel group (so a process loads only the kernels it
 * runs; matmul.c). */
#define CLQ_MAX_PROGRAMS 128

/* The embedded kernel sources (generated at build time by cmake/embed.cmake). */
typedef struct clq_embedded_file {
    const char *name;
    const unsigned char *data;
    size_t size;
} clq_embedded_file;
extern const clq_embedded_file clq_embedded_files[];
extern const size_t clq_embedded_file_count;

/* ---- per-device parameters ---------------------------------------------- */

/* Tuning parameters, declared once in params_table.h: the host sizes
 * NDRanges from this struct and passes the same values to the programs as
 * -D defines (params.c). */
#define CLQ_PARAM_MEMBER(name, type, ...) type name;
typedef struct clq_device_params {
    CLQ_PARAMS_TABLE(CLQ_PARAM_MEMBER)
} clq_device_params;
#undef CLQ_PARAM_MEMBER

void clq_device_params_default(const clq_context *ctx, clq_device_params *params);
/* Applies "name=value" settings (separated by spaces, commas or newlines)
 * over *params, where "class=cpu" or "class=gpu" first resets every
 * parameter to that class's defaults; on a bad name or value returns an error and leaves *params
 * unchanged. */
clq_status clq_device_params_parse(const clq_context *ctx, const char *text, clq_device_params *params);
/* Every parameter as "name=value name=value ...", the form parse reads. */
void clq_device_params_format(const clq_device_params *params, char *buf, size_t len);
/* Appends " -DNAME=value" for every parameter the kernels see to `buf`. */
void clq_device_params_defines(const clq_device_params *params, char *buf, size_t len);

/* ---- files (file_map.c, file_out.c, cache.c) ------------------------------ */

/* Opens a regular file for reading (O_RDONLY plus `flags`) without blocking
 * on a FIFO or device; fills *st. -1 with errno set on failure, and
 * *not_regular true when the path exists but is not a regular file. */
int clq_file_open_regular(const char *path, int flags, struct stat *st, bool *not_regular);
/* Reads a whole regular file into memory, with a '\0' after its last byte;
 * `flags` as above; NULL (errno set, *not_regular as above) if absent, not a regular file or
 * unreadable. The caller frees it. */
unsigned char *clq_file_slurp(const char *path, int flags, size_t *size, bool *not_regular);
/* Creates a new file `path`.<unpredictable>.tmp with O_CREAT|O_EXCL|
 * O_NOFOLLOW and `mode` (less the umask); returns its descriptor and the
 * malloc'd name in *tmp, or -1 with errno set. */
int clq_file_create_temp(const char *path, mode_t mode, char **tmp);
/* Whether `path` may be replaced by a rename: absent, or a regular file with
 * a single link (then *exists and its permission bits in *mode). */
clq_status clq_file_check_replace(const char *path, bool *exists, mode_t *mode);
/* mkdir -p with mode 0700 for the directories it creates; failures show up
 * when a file inside is written. */
void clq_file_make_dirs(const char *path);

/* ---- tuning (tuning.c) -------------------------------------------------- */

/* The per-device parameters in effect: defaults, then the tuning file's
 * entry for this device and driver, then options->tuning, then CLQ_PARAMS. */
clq_status clq_tuning_apply(clq_context *ctx);

/* ---- context ------------------------------------------------------------ */

struct clq_context {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    char device_name[256];
    char driver_version[128];
    char platform_version[256];
    size_t max_work_group;
    cl_uint compute_units;
    cl_ulong local_mem; /* bytes of local memory per work-group */
    cl_device_type device_type;
    bool correctly_rounded_divide; /* CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT */
    clq_device_params params;
    bool cache_enabled;
    char cache_dir[1024];
    char cache_refused[1200]; /* why the cache directory is not trusted; empty when it is (under lock) */
    char kernel_dir[1024];    /* empty: embedded sources */
    char tuning_file[1040];   /* empty: no tuning file (room for cache_dir + "/tuning.txt") */
    char tuning[512];         /* options->tuning */
    pthread_mutex_t lock;     /* guards programs[] */
    struct clq_built_program {
        clq_program_id id;
        char defines[128]; /* the variant: extra -D options */
        cl_program program;
    } programs[CLQ_MAX_PROGRAMS];
    int program_count;
};

/* Returns the built program, variant `defines` ("" or " -DNAME=value ..."),
 * building it or loading it from the cache at first use. Thread-safe. The
 * context keeps ownership. */
clq_status clq_program_get(clq_context *ctx, clq_program_id id, const char *defines, cl_program *out);

/* Creates a kernel of a program variant (caller releases it). */
clq_status clq_kernel_create(clq_context *ctx, clq_program_id id, const char *defines, const char *name,
                             cl_kernel *out);

/* Sets kernel arguments from a list of (size, pointer) pairs. */
typedef struct clq_arg {
    size_t size;
    const void *value;
} clq_arg;
#define CLQ_ARG(x) ((clq_arg){sizeof(x), &(x)})
clq_status clq_kernel_set_args(cl_kernel kernel, const clq_arg *args, size_t count);
/* The same for arguments first, first+1, ... */
clq_status clq_kernel_set_args_from(cl_kernel kernel, size_t first, const clq_arg *args, size_t count);

/* Enqueues a 1-D kernel over `global` work-items (rounded up to `local` when
 * local is non-zero; kernels check their bounds). */
clq_status clq_enqueue_1d(clq_context *ctx, cl_kernel kernel, size_t global, size_t local, cl_uint num_wait,
                          const cl_event *wait_list, cl_event *event);

/* Creates kernel `name` of a program, sets its arguments, enqueues it over
 * `global` work-items and releases it: the usual launch in one call. */
clq_status clq_launch(clq_context *ctx, clq_program_id id, const char *name, const clq_arg *args,
                      size_t nargs, size_t global, size_t local, cl_uint num_wait, const cl_event *wait_list,
                      cl_event *event);
/* The same for a kernel already created (the caller keeps it). */
clq_status clq_launch_kernel(clq_context *ctx, cl_kernel kernel, const clq_arg *args, size_t nargs,
                             size_t global, size_t local, cl_uint num_wait, const cl_event *wait_list,
                             cl_event *event);
#define CLQ_NARGS(a) (sizeof(a) / sizeof((a)[0]))

/* Program binary cache (cache.c). The key is derived from everything that
 * changes the binary. Loading returns false for a missing, corrupt, truncated
 * or stale entry. */
typedef struct clq_cache_key {
    char text[2048]; /* human-readable identity stored inside the entry */
    char file[1280]; /* full path of the entry */
} clq_cache_key;
void clq_cache_key_make(const clq_context *ctx, const char *source, size_t source_len, const char *options,
                        clq_cache_key *key);
bool clq_cache_load(const clq_cache_key *key, unsigned char **binary, size_t *size);
/* Whether ctx's cache directory may be used (creating it, 0700, when
 * `create`); when it may not, turns the cache off for the context and
 * records why in ctx->cache_refused. Called with ctx->lock held, or before
 * the context is shared. */
bool clq_cache_dir_usable(clq_context *ctx, bool create);
void clq_cache_store(const clq_cache_key *key, const unsigned char *binary, size_t size);

/* ---- weights ------------------------------------------------------------ */

struct clq_weight {
    clq_context *ctx;
    clq_weight_desc desc;
    uint64_t nblocks;     /* N·K/block */
    cl_mem quants;        /* see clq_common.h, device layout */
    cl_mem scales;        /* fp16 bits, fp32, or uint8 (double-quantized) */
    cl_mem zeros;         /* Q4Z only */
    cl_mem nested_absmax; /* double-quant only */
    cl_mem code;          /* double-quant (nested code) and DYNAMIC8: 256 fp32 */
    cl_mem offset;        /* double-quant only: 1 fp32 */
    uint64_t device_bytes;
};

/* ---- LoRA adapter sets (lora.c) ------------------------------------------ */

#define CLQ_MAX_ADAPTERS 256

struct clq_lora {
    clq_context *ctx;
    uint64_t rows, cols; /* N and K of the weights it adapts */
    size_t count;
    uint32_t max_rank;
    bool half;                           /* A and B stored as fp16 */
    cl_mem a, b;                         /* packed A rows, packed B blocks (N×rank each) */
    cl_mem rank, a_row, b_offset, scale; /* per adapter: int, uint, uint, float */
};

/* Builds every matmul program variant (matmul.c), for clq_context_warm_up. */
clq_status clq_matmul_warm_up(clq_context *ctx);

/* Byte sizes of each device array for a description. */
typedef struct clq_device_sizes {
    uint64_t quants, scales, zeros, nested_absmax, code, offset;
    uint64_t quants_tile; /* bytes of one tile of CLQ_TILE_ROWS rows */
    bool quants_padding;  /* N is not a multiple of CLQ_TILE_ROWS */
} clq_device_sizes;
void clq_device_sizes_of(const clq_weight_desc *desc, clq_device_sizes *sizes);

/* Allocates the device arrays of a weight (contents undefined). */
clq_status clq_weight_alloc(clq_context *ctx, const clq_weight_desc *desc, clq_weight **out);

/* Helpers shared by the operation files. */
bool clq_format_is_4bit(clq_format format);
/* The ggml formats (format_ggml.c): whether a format is one, its block
 * (elements) and bytes per block, its ggml type number (UINT32_MAX for
 * the other formats), and the format of a ggml type number (false: none). */
bool clq_format_is_ggml(clq_format format);
uint32_t clq_ggml_format_block(clq_format format);
uint32_t clq_ggml_format_bytes(clq_format format);
uint32_t clq_ggml_format_type(clq_format format);
bool clq_ggml_type_format(uint32_t type, clq_format *out);
size_t clq_dtype_size(clq_dtype t); /* bytes per element */
clq_status clq_check_dtype(clq_dtype t, const char *what);
uint64_t clq_ceil_div(uint64_t a, uint64_t b);
clq_status clq_buffer_create(clq_context *ctx, cl_mem_flags flags, size_t bytes, void *host, cl_mem *out);
void clq_mem_release(cl_mem *mem);

/* Copies host bytes to a new device buffer (blocking). */
clq_status clq_upload(clq_context *ctx, const void *data, size_t bytes, cl_mem *out);
/* Blocking read of a whole device array into host memory. */
clq_status clq_download(clq_context *ctx, cl_mem src, void *dst, size_t bytes);
/* Checks that a caller's device buffer holds at least `bytes`. */
clq_status clq_check_buffer(cl_mem mem, size_t bytes, const char *what);
/* A one-word device flag initialised to UINT32_MAX, for kernels that report
 * the first bad index with atomic_min. */
clq_status clq_flag_create(clq_context *ctx, cl_mem *out);
clq_status clq_flag_read(clq_context *ctx, cl_mem flag, uint32_t *value);

/* The bnb dynamic code, as the kernels have it. */
extern const float clq_dynamic_code[256];

#endif /* CLQ_INTERNAL_H */

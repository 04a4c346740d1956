/*
 * The folder convention of quantized matrices (see folder.h and
 * tests/data/README.md). Plain POSIX file I/O; no library calls, so the tools
 * and tests can use it before (and independently of) the library.
 *
 * Inputs are opened with O_NONBLOCK and must be regular files (a FIFO would
 * block), and a file's size is checked against what the shape implies before
 * a byte of it is read. Outputs: see folder.h for what a replace keeps and
 * refuses, and clq_folder_write for the folder as a whole.
 */
/* _GNU_SOURCE for renameat2(RENAME_EXCHANGE), where the C library has it. */
#define _GNU_SOURCE

#include "folder.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NESTED_BLOCK 256
#define CODE_BYTES (256 * sizeof(float))

/* Names as in meta.txt (and clq_format_name / clq_layout_name). */
static const struct {
    const char *name;
    clq_format format;
} format_names[] = {
    {"q8", CLQ_FORMAT_Q8},
    {"q4", CLQ_FORMAT_Q4},
    {"q4z", CLQ_FORMAT_Q4Z},
    {"nf4", CLQ_FORMAT_NF4},
    {"fp4", CLQ_FORMAT_FP4},
    {"dynamic8", CLQ_FORMAT_DYNAMIC8},
    /* ggml's block types: layout ggml, quant.bin, block fixed by the type */
    {"q4_1", CLQ_FORMAT_Q4_1},
    {"q5_0", CLQ_FORMAT_Q5_0},
    {"q5_1", CLQ_FORMAT_Q5_1},
    {"q2_k", CLQ_FORMAT_Q2_K},
    {"q3_k", CLQ_FORMAT_Q3_K},
    {"q4_k", CLQ_FORMAT_Q4_K},
    {"q5_k", CLQ_FORMAT_Q5_K},
    {"q6_k", CLQ_FORMAT_Q6_K},
    {"iq4_nl", CLQ_FORMAT_IQ4_NL},
    {"iq4_xs", CLQ_FORMAT_IQ4_XS},
};
/* A format of ggml's own blocks (CLQ_FORMAT_Q4_1 ...). */
static int is_ggml_format(clq_format f)
{
    return f >= CLQ_FORMAT_Q4_1 && f <= CLQ_FORMAT_IQ4_XS;
}

static const struct {
    const char *name;
    clq_layout layout;
} layout_names[] = {
    {"bnb", CLQ_LAYOUT_BNB},
    {"ggml", CLQ_LAYOUT_GGML},
    {"ort", CLQ_LAYOUT_ORT},
};

static const char *format_to_name(clq_format f)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (format_names[i].format == f)
            return format_names[i].name;
    return NULL;
}

static const char *layout_to_name(clq_layout l)
{
    for (size_t i = 0; i < sizeof layout_names / sizeof layout_names[0]; i++)
        if (layout_names[i].layout == l)
            return layout_names[i].name;
    return NULL;
}

static clq_status fail(char *err, size_t errlen, clq_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Raw files                                                                 */
/* ------------------------------------------------------------------------ */

/* Opens a regular file for reading without blocking on a FIFO or device;
 * -1 with errno set (EINVAL for something that is not a regular file, EISDIR
 * for a directory). */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int e = fstat(fd, st) != 0 ? errno : S_ISREG(st->st_mode) ? 0 : S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
    if (e) {
        close(fd);
        errno = e;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}

static void *read_fd(int fd, size_t n)
{
    unsigned char *buf = malloc(n ? n : 1); /* non-NULL even for an empty file */
    size_t got = 0;
    while (buf && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) { /* error, or the file shrank under us */
            int e = r < 0 ? errno : EIO;
            free(buf);
            buf = NULL;
            errno = e;
            break;
        }
        got += (size_t)r;
    }
    return buf;
}

void *clq_read_file(const char *path, size_t *size)
{
    struct stat st;
    int fd = open_regular(path, &st);
    if (fd < 0)
        return NULL;
    size_t n = (size_t)st.st_size;
    void *buf = read_fd(fd, n);
    int e = errno;
    close(fd);
    errno = e;
    if (buf && size)
        *size = n;
    return buf;
}

int clq_read_file_exact(const char *path, size_t want, void **data, size_t *actual)
{
    struct stat st;
    int fd = open_regular(path, &st);
    if (fd < 0)
        return -1;
    *actual = (size_t)st.st_size;
    if ((uint64_t)st.st_size != (uint64_t)want) {
        close(fd);
        return 1;
    }
    void *buf = read_fd(fd, want);
    int e = errno;
    close(fd);
    errno = e;
    if (!buf)
        return -1;
    *data = buf;
    return 0;
}

int clq_output_check(const char *path, char *why, size_t len)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, len, "%s: %s", path, strerror(errno));
        return -1;
    }
    const char *kind = S_ISREG(st.st_mode)    ? NULL
                       : S_ISDIR(st.st_mode)  ? "a directory"
                       : S_ISLNK(st.st_mode)  ? "a symbolic link"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                                              : "a device or socket";
    if (kind) {
        snprintf(why, len, "%s exists and is %s, not a regular file; refusing to replace it", path, kind);
        return -1;
    }
    if (st.st_nlink > 1) {
        snprintf(why, len,
                 "%s has %llu hard links; replacing it would break them (remove it or write elsewhere)", path,
                 (unsigned long long)st.st_nlink);
        return -1;
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t size)
{
    const unsigned char *p = data;
    while (size > 0) {
        ssize_t w = write(fd, p, size);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        size -= (size_t)w;
    }
    return 0;
}

/* The mode a new file or folder gets: `base` less the umask (read back
 * at once: the tools and tests are single-threaded). */
static mode_t default_mode(mode_t base)
{
    mode_t mask = umask(022);
    umask(mask);
    return base & ~mask;
}

int clq_write_file(const char *path, const void *data, size_t size)
{
    char why[16];
    if (clq_output_check(path, why, sizeof why) != 0) {
        errno = EEXIST;
        return -1;
    }
    struct stat old;
    mode_t mode = lstat(path, &old) == 0 ? old.st_mode & 07777 : default_mode(0666);
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".tmp.XXXXXX");
    if (!tmp)
        return -1;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    /* A temporary name in the same directory, renamed over the target, so a
     * reader never sees a half-written file. */
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    int ok = fchmod(fd, mode) == 0 && write_all(fd, data, size) == 0 && fsync(fd) == 0;
    int e = errno;
    ok = (close(fd) == 0) && ok;
    if (ok && rename(tmp, path) == 0) {
        free(tmp);
        return 0;
    }
    e = ok ? errno : e;
    unlink(tmp);
    free(tmp);
    errno = e;
    return -1;
}

/* mkdir -p */
static int make_dirs(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return -1;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = (mkdir(p, 0755) != 0 && errno != EEXIST) ? -1 : 0;
    struct stat st;
    if (rc == 0 && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))) {
        errno = ENOTDIR;
        rc = -1;
    }
    free(p);
    return rc;
}

static char *join_path(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* ------------------------------------------------------------------------ */
/* meta.txt                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct meta {
    int have_format, have_layout, have_rows, have_cols, have_block;
    clq_format format;
    clq_layout layout;
    uint64_t rows, cols, block, double_quant, nested_block;
    char source[256];
} meta;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* A decimal unsigned integer, nothing else on the line. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static clq_status meta_key(meta *m, const char *key, const char *val, const char *path, int line, char *err,
                           size_t errlen)
{
    if (strcmp(key, "format") == 0) {
        for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
            if (strcmp(val, format_names[i].name) == 0) {
                m->format = format_names[i].format;
                m->have_format = 1;
                return CLQ_SUCCESS;
            }
        return fail(err, errlen, CLQ_ERROR_BAD_DATA,
                    "%s:%d: unknown format '%s' (expected q8, q4, q4z, nf4, fp4, dynamic8, q4_1, q5_0, q5_1, "
                    "q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl or iq4_xs)",
                    path, line, val);
    }
    if (strcmp(key, "layout") == 0) {
        for (size_t i = 0; i < sizeof layout_names / sizeof layout_names[0]; i++)
            if (strcmp(val, layout_names[i].name) == 0) {
                m->layout = layout_names[i].layout;
                m->have_layout = 1;
                return CLQ_SUCCESS;
            }
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s:%d: unknown layout '%s' (expected bnb, ggml or ort)",
                    path, line, val);
    }
    if (strcmp(key, "source") == 0) {
        snprintf(m->source, sizeof m->source, "%s", val);
        return CLQ_SUCCESS;
    }
    static const char *const num_keys[] = {"rows", "cols", "block", "double_quant", "nested_block"};
    uint64_t *num_vals[] = {&m->rows, &m->cols, &m->block, &m->double_quant, &m->nested_block};
    int *have[] = {&m->have_rows, &m->have_cols, &m->have_block, NULL, NULL};
    for (size_t i = 0; i < sizeof num_keys / sizeof num_keys[0]; i++) {
        if (strcmp(key, num_keys[i]) != 0)
            continue;
        if (parse_u64(val, num_vals[i]) != 0)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s:%d: %s='%s' is not an unsigned integer", path,
                        line, key, val);
        if (have[i])
            *have[i] = 1;
        return CLQ_SUCCESS;
    }
    return CLQ_SUCCESS; /* unknown keys (seed, bytes_per_block, ...) are information only */
}

#define META_MAX_KEYS 64
#define META_MAX_BYTES 65536

static clq_status meta_parse(char *text, const char *path, meta *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    /* A key given twice is an error, as in GGUF and safetensors: which one
     * was meant cannot be known. */
    const char *keys[META_MAX_KEYS];
    int nkeys = 0, key_line[META_MAX_KEYS];
    int line = 0;
    for (char *l = text, *next; l; l = next) {
        line++;
        next = strchr(l, '\n');
        if (next)
            *next++ = '\0';
        char *s = trim(l);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s:%d: expected key=value, got '%s'", path, line,
                        s);
        *eq = '\0';
        const char *key = trim(s);
        for (int i = 0; i < nkeys; i++)
            if (strcmp(keys[i], key) == 0)
                return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s:%d: key '%s' repeats line %d", path, line,
                            key, key_line[i]);
        if (nkeys == META_MAX_KEYS)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s:%d: more than %d keys", path, line,
                        META_MAX_KEYS);
        key_line[nkeys] = line;
        keys[nkeys++] = key;
        clq_status st = meta_key(m, key, trim(eq + 1), path, line, err, errlen);
        if (st != CLQ_SUCCESS)
            return st;
    }
    const char *missing = !m->have_format   ? "format"
                          : !m->have_layout ? "layout"
                          : !m->have_rows   ? "rows"
                          : !m->have_cols   ? "cols"
                          : !m->have_block  ? "block"
                                            : NULL;
    if (missing)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: missing required key '%s'", path, missing);
    return CLQ_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Shape checks and the files of each layout                                 */
/* ------------------------------------------------------------------------ */

enum { A_DATA, A_SCALES, A_ZERO, A_NESTED_ABSMAX, A_NESTED_CODE, A_OFFSET, A_INPUT, A_DEQUANT, A_COUNT };

static const char *const array_names[A_COUNT] = {"data",        "scales", "zero_points", "nested_absmax",
                                                 "nested_code", "offset", "input",       "dequant"};

typedef struct file_spec {
    const char *name; /* NULL: the layout has no such array */
    size_t bytes;
    int required;
} file_spec;

static int mul_ok(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return 0;
    *out = a * b;
    return 1;
}

/* Checks what a description and layout allow; fills the file of every array. */
static clq_status layout_files(const clq_weight_desc *d, clq_layout layout, file_spec f[A_COUNT], char *err,
                               size_t errlen)
{
    const char *fname = format_to_name(d->format), *lname = layout_to_name(layout);
    if (!fname || !lname)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "unknown format %d or layout %d", (int)d->format,
                    (int)layout);
    if (d->rows == 0 || d->cols == 0 || d->block == 0)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "rows, cols and block must be positive");
    if (d->cols % d->block != 0)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "cols=%llu is not a multiple of block=%u",
                    (unsigned long long)d->cols, (unsigned)d->block);
    int ok = (layout == CLQ_LAYOUT_GGML &&
              (d->format == CLQ_FORMAT_Q4 || d->format == CLQ_FORMAT_Q8 || is_ggml_format(d->format))) ||
             (layout == CLQ_LAYOUT_ORT && d->format == CLQ_FORMAT_Q4Z) ||
             (layout == CLQ_LAYOUT_BNB && (d->format == CLQ_FORMAT_NF4 || d->format == CLQ_FORMAT_FP4 ||
                                           d->format == CLQ_FORMAT_DYNAMIC8));
    if (!ok)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "layout %s cannot hold format %s", lname, fname);
    clq_external ggml_sizes = {0};
    if (is_ggml_format(d->format)) {
        clq_weight_desc one_block = *d; /* the type's own block size and block bytes */
        one_block.rows = 1;
        one_block.cols = d->block;
        if (clq_external_sizes(&one_block, CLQ_LAYOUT_GGML, &ggml_sizes) != CLQ_SUCCESS)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "format %s: %s", fname, clq_last_error());
    } else if (layout == CLQ_LAYOUT_GGML && d->block != 32)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "layout ggml needs block=32, got %u",
                    (unsigned)d->block);
    if (layout == CLQ_LAYOUT_ORT && d->block % 2 != 0)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "layout ort needs an even block, got %u",
                    (unsigned)d->block);
    if (d->double_quant && d->format != CLQ_FORMAT_NF4 && d->format != CLQ_FORMAT_FP4)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "double_quant=1 needs format nf4 or fp4, got %s", fname);

    size_t count, fbytes;
    if (d->rows > SIZE_MAX || d->cols > SIZE_MAX || !mul_ok((size_t)d->rows, (size_t)d->cols, &count) ||
        !mul_ok(count, sizeof(float), &fbytes))
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "shape %llux%llu is too large",
                    (unsigned long long)d->rows, (unsigned long long)d->cols);
    const size_t nblocks = count / d->block, bpr = (size_t)(d->cols / d->block);

    memset(f, 0, sizeof(file_spec) * A_COUNT);
    f[A_INPUT] = (file_spec){"input.f32", fbytes, 0};
    f[A_DEQUANT] = (file_spec){"dequant.f32", fbytes, 0};
    if (layout == CLQ_LAYOUT_GGML) {
        size_t block_bytes = is_ggml_format(d->format)    ? ggml_sizes.data_bytes
                             : d->format == CLQ_FORMAT_Q4 ? 18
                                                          : 34;
        size_t data_bytes;
        if (!mul_ok(nblocks, block_bytes, &data_bytes))
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "shape %llux%llu is too large",
                        (unsigned long long)d->rows, (unsigned long long)d->cols);
        f[A_DATA] = (file_spec){"quant.bin", data_bytes, 1};
    } else if (layout == CLQ_LAYOUT_ORT) {
        f[A_DATA] = (file_spec){"packed.u8", count / 2, 1};
        f[A_SCALES] = (file_spec){"scales.f32", nblocks * sizeof(float), 1};
        f[A_ZERO] = (file_spec){"zero_points.u8", (size_t)d->rows * ((bpr + 1) / 2), 1};
    } else if (d->format == CLQ_FORMAT_DYNAMIC8) {
        f[A_DATA] = (file_spec){"quant.u8", count, 1};
        f[A_SCALES] = (file_spec){"absmax.f32", nblocks * sizeof(float), 1};
        f[A_NESTED_CODE] = (file_spec){"code.f32", CODE_BYTES, 1};
    } else if (!d->double_quant) {
        f[A_DATA] = (file_spec){"packed.u8", (count + 1) / 2, 1};
        f[A_SCALES] = (file_spec){"absmax.f32", nblocks * sizeof(float), 1};
    } else {
        f[A_DATA] = (file_spec){"packed.u8", (count + 1) / 2, 1};
        f[A_SCALES] = (file_spec){"absmax.u8", nblocks, 1};
        f[A_NESTED_ABSMAX] =
            (file_spec){"nested_absmax.f32", (nblocks + NESTED_BLOCK - 1) / NESTED_BLOCK * sizeof(float), 1};
        f[A_NESTED_CODE] = (file_spec){"nested_code.f32", CODE_BYTES, 1};
        f[A_OFFSET] = (file_spec){"offset.f32", sizeof(float), 1};
    }
    return CLQ_SUCCESS;
}

/* An array of the folder: pointer and byte size (input and dequant have no
 * size field: their size is fixed by the shape). Offset is a value, not here. */
static const void *get_array(const clq_folder *fo, int a, size_t *bytes)
{
    const clq_external *e = &fo->arrays;
    const void *p = NULL;
    *bytes = (size_t)(fo->desc.rows * fo->desc.cols) * sizeof(float); /* input, dequant */
    switch (a) {
    case A_DATA:
        p = e->data, *bytes = e->data_bytes;
        break;
    case A_SCALES:
        p = e->scales, *bytes = e->scales_bytes;
        break;
    case A_ZERO:
        p = e->zero_points, *bytes = e->zero_points_bytes;
        break;
    case A_NESTED_ABSMAX:
        p = e->nested_absmax, *bytes = e->nested_absmax_bytes;
        break;
    case A_NESTED_CODE:
        p = e->nested_code, *bytes = e->nested_code_bytes;
        break;
    case A_INPUT:
        p = fo->input;
        break;
    case A_DEQUANT:
        p = fo->dequant;
        break;
    default:
        break;
    }
    return p;
}

static void set_array(clq_folder *fo, int a, void *buf, size_t bytes)
{
    clq_external *e = &fo->arrays;
    switch (a) {
    case A_DATA:
        e->data = buf, e->data_bytes = bytes;
        break;
    case A_SCALES:
        e->scales = buf, e->scales_bytes = bytes;
        break;
    case A_ZERO:
        e->zero_points = buf, e->zero_points_bytes = bytes;
        break;
    case A_NESTED_ABSMAX:
        e->nested_absmax = buf, e->nested_absmax_bytes = bytes;
        break;
    case A_NESTED_CODE:
        e->nested_code = buf, e->nested_code_bytes = bytes;
        break;
    case A_INPUT:
        fo->input = buf;
        break;
    case A_DEQUANT:
        fo->dequant = buf;
        break;
    case A_OFFSET:
        if (buf)
            memcpy(&e->offset, buf, sizeof(float));
        free(buf);
        break;
    default:
        free(buf);
        break;
    }
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

static clq_status read_meta(const char *dir, meta *m, char *err, size_t errlen)
{
    char *path = join_path(dir, "meta.txt");
    if (!path)
        return fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    struct stat sb;
    int fd = open_regular(path, &sb);
    size_t size = fd >= 0 ? (size_t)sb.st_size : 0;
    char *text = NULL;
    clq_status st = CLQ_SUCCESS;
    if (fd >= 0 && sb.st_size > META_MAX_BYTES)
        st = fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: %llu bytes, more than a meta.txt holds (%d)", path,
                  (unsigned long long)sb.st_size, META_MAX_BYTES);
    else if (fd < 0 || !(text = read_fd(fd, size)))
        st = fail(err, errlen, CLQ_ERROR_IO, "%s: cannot read: %s", path,
                  errno == EINVAL ? "not a regular file" : strerror(errno));
    if (fd >= 0)
        close(fd);
    if (text) {
        char *z = realloc(text, size + 1); /* NUL-terminate for the parser */
        if (!z) {
            free(text);
            free(path);
            return fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
        }
        text = z;
        text[size] = '\0';
        if (strlen(text) != size)
            st = fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: contains a NUL byte", path);
        else
            st = meta_parse(text, path, m, err, errlen);
    }
    free(text);
    free(path);
    return st;
}

/* Reads one array; a missing optional file leaves *data NULL. */
static clq_status read_array(const char *dir, const file_spec *fs, void **data, char *err, size_t errlen)
{
    char *path = join_path(dir, fs->name);
    if (!path)
        return fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    size_t size = 0;
    void *buf = NULL;
    int rc = clq_read_file_exact(path, fs->bytes, &buf, &size);
    clq_status st = CLQ_SUCCESS;
    if (rc == 1)
        st = fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: %zu bytes, expected %zu", path, size, fs->bytes);
    else if (rc < 0 && errno == ENOENT && !fs->required)
        st = CLQ_SUCCESS;
    else if (rc < 0 && errno == ENOMEM)
        st = fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", path);
    else if (rc < 0)
        st = fail(err, errlen, CLQ_ERROR_IO, "%s: cannot read: %s", path,
                  errno == EINVAL ? "not a regular file" : strerror(errno));
    free(path);
    *data = buf;
    return st;
}

static clq_status folder_read(const char *dir, int samples, clq_folder *out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!dir || !out)
        return fail(err, errlen, CLQ_ERROR_NULL_POINTER, "clq_folder_read: NULL argument");
    meta m;
    clq_status st = read_meta(dir, &m, err, errlen);
    if (st != CLQ_SUCCESS)
        return st;
    if (m.block > UINT32_MAX || m.double_quant > 1)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA,
                    "%s/meta.txt: block=%llu or double_quant=%llu out of range", dir,
                    (unsigned long long)m.block, (unsigned long long)m.double_quant);
    if (m.double_quant && m.nested_block != 0 && m.nested_block != NESTED_BLOCK)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s/meta.txt: nested_block=%llu, only %d is supported",
                    dir, (unsigned long long)m.nested_block, NESTED_BLOCK);

    clq_folder fo;
    memset(&fo, 0, sizeof fo);
    fo.desc = (clq_weight_desc){m.format, (uint32_t)m.block, m.rows, m.cols, (int)m.double_quant};
    fo.layout = m.layout;
    fo.nested_block = m.double_quant ? NESTED_BLOCK : 0;
    memcpy(fo.source, m.source, sizeof fo.source);

    file_spec files[A_COUNT];
    char why[200];
    st = layout_files(&fo.desc, fo.layout, files, why, sizeof why);
    if (st != CLQ_SUCCESS)
        return fail(err, errlen, st, "%s/meta.txt: %s", dir, why);

    for (int a = 0; a < A_COUNT && st == CLQ_SUCCESS; a++) {
        if (!files[a].name || (!samples && (a == A_INPUT || a == A_DEQUANT)))
            continue;
        void *buf = NULL;
        st = read_array(dir, &files[a], &buf, err, errlen);
        set_array(&fo, a, buf, buf ? files[a].bytes : 0);
    }
    if (st != CLQ_SUCCESS) {
        clq_folder_free(&fo);
        return st;
    }
    *out = fo;
    return CLQ_SUCCESS;
}

clq_status clq_folder_read(const char *dir, clq_folder *out, char *err, size_t errlen)
{
    return folder_read(dir, 1, out, err, errlen);
}

clq_status clq_folder_read_weight(const char *dir, clq_folder *out, char *err, size_t errlen)
{
    return folder_read(dir, 0, out, err, errlen);
}

void clq_folder_free(clq_folder *folder)
{
    if (!folder)
        return;
    free(folder->arrays.data);
    free(folder->arrays.scales);
    free(folder->arrays.zero_points);
    free(folder->arrays.nested_absmax);
    free(folder->arrays.nested_code);
    free(folder->input);
    free(folder->dequant);
    memset(folder, 0, sizeof *folder);
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

/* Every file name a folder of any layout may hold: an existing directory
 * holding anything else is not replaced (it is not a folder, or holds
 * someone's other files). */
static const char *const folder_file_names[] = {
    "meta.txt",        "quant.bin",  "packed.u8", "quant.u8",       "absmax.f32",
    "absmax.u8",       "scales.f32", "code.f32",  "zero_points.u8", "nested_absmax.f32",
    "nested_code.f32", "offset.f32", "input.f32", "dequant.f32",
};

static int is_folder_file(const char *name)
{
    for (size_t i = 0; i < sizeof folder_file_names / sizeof folder_file_names[0]; i++)
        if (strcmp(name, folder_file_names[i]) == 0)
            return 1;
    return 0;
}

/* 0 if `dir` holds only folder files; 1 with the first other name in
 * `name`; -1 with errno set if it cannot be read. */
static int foreign_entry(const char *dir, char *name, size_t len)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && !is_folder_file(e->d_name)) {
            snprintf(name, len, "%s", e->d_name);
            found = 1;
        }
    closedir(d);
    return found;
}

/* Removes a folder's files and the folder (only names a folder may hold:
 * nothing else is ever deleted). */
static int remove_folder(const char *dir)
{
    for (size_t i = 0; i < sizeof folder_file_names / sizeof folder_file_names[0]; i++) {
        char *path = join_path(dir, folder_file_names[i]);
        if (path)
            unlink(path);
        free(path);
    }
    return rmdir(dir);
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* One file of a new folder: the folder is private to this call, so a plain
 * exclusive create. */
static clq_status write_new_file(const char *dir, const char *name, const void *data, size_t bytes, char *err,
                                 size_t errlen)
{
    char *path = join_path(dir, name);
    if (!path)
        return fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    int ok = fd >= 0 && write_all(fd, data, bytes) == 0 && fsync(fd) == 0;
    int e = errno;
    ok = (fd >= 0 && close(fd) == 0) && ok;
    clq_status st =
        ok ? CLQ_SUCCESS : fail(err, errlen, CLQ_ERROR_IO, "%s: cannot write: %s", path, strerror(e));
    free(path);
    return st;
}

static clq_status write_meta(const char *dir, const clq_folder *fo, char *err, size_t errlen)
{
    char text[512];
    const clq_weight_desc *d = &fo->desc;
    int n =
        snprintf(text, sizeof text, "format=%s\nlayout=%s\nrows=%llu\ncols=%llu\nblock=%u\ndouble_quant=%d\n",
                 format_to_name(d->format), layout_to_name(fo->layout), (unsigned long long)d->rows,
                 (unsigned long long)d->cols, (unsigned)d->block, d->double_quant ? 1 : 0);
    if (d->double_quant)
        n += snprintf(text + n, sizeof text - (size_t)n, "nested_block=%d\n", NESTED_BLOCK);
    if (fo->source[0] && !memchr(fo->source, '\n', strnlen(fo->source, sizeof fo->source)))
        n += snprintf(text + n, sizeof text - (size_t)n, "source=%.*s\n", (int)sizeof fo->source - 1,
                      fo->source);
    return write_new_file(dir, "meta.txt", text, strlen(text), err, errlen);
}

/* `path` with a suffix of six random characters, made by mkdtemp (mode
 * 0700); NULL with errno set. */
static char *make_temp_dir(const char *path, const char *suffix)
{
    size_t len = strlen(path), slen = strlen(suffix);
    char *tmp = malloc(len + slen + 7);
    if (!tmp)
        return NULL;
    memcpy(tmp, path, len);
    memcpy(tmp + len, suffix, slen);
    memcpy(tmp + len + slen, "XXXXXX", 7);
    if (!mkdtemp(tmp)) {
        int e = errno;
        free(tmp);
        errno = e;
        return NULL;
    }
    return tmp;
}

/* Puts the complete folder `fresh` in the place of the existing folder
 * `dir`. Where the system can swap two names atomically (Linux
 * renameat2 RENAME_EXCHANGE), a reader of `dir` sees the old folder until
 * the swap and the new one after it. Elsewhere the old folder is renamed
 * aside first: a reader then sees the old folder, briefly no folder, then
 * the new one. In both cases never a mix of the two. The old folder is
 * removed afterwards. */
static int swap_in(const char *fresh, const char *dir)
{
#ifdef RENAME_EXCHANGE
    if (renameat2(AT_FDCWD, fresh, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
        remove_folder(fresh); /* now the old folder */
        return 0;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
#endif
    /* rename() onto an empty directory replaces it, so the aside name is
     * claimed by mkdtemp first and cannot be anyone else's. */
    char *aside = make_temp_dir(dir, ".old-");
    if (!aside)
        return -1;
    int rc = -1;
    if (rename(dir, aside) == 0) {
        if (rename(fresh, dir) == 0) {
            rc = 0;
            remove_folder(aside);
        } else {
            int e = errno;
            rename(aside, dir); /* the old folder back */
            errno = e;
        }
    } else {
        rmdir(aside);
    }
    free(aside);
    return rc;
}

/* `dir` without trailing slashes (malloc'd). */
static char *strip_slashes(const char *dir)
{
    char *p = strdup(dir);
    size_t n = p ? strlen(p) : 0;
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    return p;
}

/* Creates the directory that will hold `dir`. */
static int make_parent(const char *dir)
{
    char *parent = strdup(dir);
    if (!parent)
        return -1;
    char *slash = strrchr(parent, '/');
    int rc = 0;
    if (slash && slash != parent) {
        *slash = '\0';
        rc = make_dirs(parent);
    }
    free(parent);
    return rc;
}

/* Whether the folder `target` may be written: absent (its parent is then
 * created), or a directory holding only folder files (*old its status). */
static clq_status check_target(const char *target, struct stat *old, int *exists, char *err, size_t errlen)
{
    *exists = lstat(target, old) == 0;
    char other[256];
    int foreign = *exists && S_ISDIR(old->st_mode) ? foreign_entry(target, other, sizeof other) : 0;
    if (*exists && !S_ISDIR(old->st_mode))
        return fail(err, errlen, CLQ_ERROR_IO, "%s exists and is not a directory; refusing to replace it",
                    target);
    if (foreign < 0)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: cannot list it: %s", target, strerror(errno));
    if (foreign > 0)
        return fail(err, errlen, CLQ_ERROR_IO,
                    "%s holds '%s', which is not a folder file; refusing to replace it", target, other);
    if (!*exists && make_parent(target) != 0)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: cannot create its parent directory: %s", target,
                    strerror(errno));
    return CLQ_SUCCESS;
}

/* Makes a rename inside the directory holding `path` durable. */
static void sync_parent(const char *path)
{
    char *parent = strdup(path), *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash)
        *(slash == parent ? slash + 1 : slash) = '\0';
    sync_dir(slash ? parent : ".");
    free(parent);
}

static clq_status write_folder_files(const char *dir, const clq_folder *folder, const file_spec *files,
                                     char *err, size_t errlen)
{
    clq_status st = CLQ_SUCCESS;
    for (int a = 0; a < A_COUNT && st == CLQ_SUCCESS; a++) {
        size_t bytes;
        const void *p = a == A_OFFSET ? &folder->arrays.offset : get_array(folder, a, &bytes);
        if (files[a].name && p)
            st = write_new_file(dir, files[a].name, p, files[a].bytes, err, errlen);
    }
    return st == CLQ_SUCCESS ? write_meta(dir, folder, err, errlen) : st;
}

clq_status clq_folder_write(const char *dir, const clq_folder *folder, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!dir || !folder)
        return fail(err, errlen, CLQ_ERROR_NULL_POINTER, "clq_folder_write: NULL argument");
    file_spec files[A_COUNT];
    clq_status st = layout_files(&folder->desc, folder->layout, files, err, errlen);
    if (st != CLQ_SUCCESS)
        return st;

    /* Check every present array before writing anything. */
    for (int a = 0; a < A_COUNT; a++) {
        size_t bytes;
        const void *p = get_array(folder, a, &bytes);
        if (!p)
            continue;
        if (!files[a].name)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "layout %s has no %s array",
                        layout_to_name(folder->layout), array_names[a]);
        if (bytes != files[a].bytes)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: %zu bytes given, expected %zu", files[a].name,
                        bytes, files[a].bytes);
    }

    /* The whole folder is written under a new name beside `dir` and only
     * then renamed into place (swap_in), so `dir` is always either the old
     * folder or the new one. A crash can leave the temporary folder
     * (<dir>.tmp-XXXXXX) behind, never a half folder under `dir`. */
    char *target = strip_slashes(dir);
    if (!target)
        return fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    struct stat old;
    int exists = 0;
    st = check_target(target, &old, &exists, err, errlen);
    char *fresh = st == CLQ_SUCCESS ? make_temp_dir(target, ".tmp-") : NULL;
    if (st == CLQ_SUCCESS && !fresh)
        st = fail(err, errlen, CLQ_ERROR_IO, "%s: cannot create a folder beside it: %s", target,
                  strerror(errno));
    /* A replaced folder keeps its permissions; a new one gets the umask's. */
    if (fresh && chmod(fresh, exists ? old.st_mode & 07777 : default_mode(0777)) != 0)
        st = fail(err, errlen, CLQ_ERROR_IO, "%s: %s", fresh, strerror(errno));
    if (st == CLQ_SUCCESS)
        st = write_folder_files(fresh, folder, files, err, errlen);
    if (st == CLQ_SUCCESS) {
        sync_dir(fresh);
        if ((exists ? swap_in(fresh, target) : rename(fresh, target)) != 0)
            st = fail(err, errlen, CLQ_ERROR_IO, "%s: cannot move the new folder into place: %s", target,
                      strerror(errno));
    }
    if (st == CLQ_SUCCESS)
        sync_parent(target);
    else if (fresh)
        remove_folder(fresh);
    free(fresh);
    free(target);
    return st;
}

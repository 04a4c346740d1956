/*
 * The folder convention of quantized matrices (see folder.h and
 * tests/data/README.md). Plain POSIX file I/O; no library calls, so the tools
 * and tests can use it before (and independently of) the library.
 */
#define _POSIX_C_SOURCE 200809L

#include "folder.h"

#include <errno.h>
#include <fcntl.h>
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
    {"q8", CLQ_FORMAT_Q8},   {"q4", CLQ_FORMAT_Q4},   {"q4z", CLQ_FORMAT_Q4Z},
    {"nf4", CLQ_FORMAT_NF4}, {"fp4", CLQ_FORMAT_FP4}, {"dynamic8", CLQ_FORMAT_DYNAMIC8},
};

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

void *clq_read_file(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    int stat_ok = fstat(fd, &st) == 0;
    if (!stat_ok || !S_ISREG(st.st_mode)) {
        int e = !stat_ok ? errno : S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        close(fd);
        errno = e;
        return NULL;
    }
    size_t n = (size_t)st.st_size;
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
    close(fd);
    if (buf && size)
        *size = n;
    return buf;
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

int clq_write_file(const char *path, const void *data, size_t size)
{
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
    int ok = fchmod(fd, 0644) == 0 && write_all(fd, data, size) == 0 && fsync(fd) == 0;
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
                    "%s:%d: unknown format '%s' (expected q8, q4, q4z, nf4, fp4 or dynamic8)", path, line,
                    val);
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

static clq_status meta_parse(char *text, const char *path, meta *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
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
        clq_status st = meta_key(m, trim(s), trim(eq + 1), path, line, err, errlen);
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
    int ok = (layout == CLQ_LAYOUT_GGML && (d->format == CLQ_FORMAT_Q4 || d->format == CLQ_FORMAT_Q8)) ||
             (layout == CLQ_LAYOUT_ORT && d->format == CLQ_FORMAT_Q4Z) ||
             (layout == CLQ_LAYOUT_BNB && (d->format == CLQ_FORMAT_NF4 || d->format == CLQ_FORMAT_FP4 ||
                                           d->format == CLQ_FORMAT_DYNAMIC8));
    if (!ok)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "layout %s cannot hold format %s", lname, fname);
    if (layout == CLQ_LAYOUT_GGML && d->block != 32)
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
        f[A_DATA] = (file_spec){"quant.bin", nblocks * (d->format == CLQ_FORMAT_Q4 ? 18 : 34), 1};
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
    size_t size = 0;
    char *text = clq_read_file(path, &size);
    clq_status st = CLQ_SUCCESS;
    if (!text) {
        st = fail(err, errlen, CLQ_ERROR_IO, "%s: cannot read: %s", path, strerror(errno));
    } else {
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
    void *buf = clq_read_file(path, &size);
    clq_status st = CLQ_SUCCESS;
    if (!buf) {
        if (errno == ENOENT && !fs->required)
            st = CLQ_SUCCESS;
        else if (errno == ENOMEM)
            st = fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "%s: out of memory", path);
        else
            st = fail(err, errlen, CLQ_ERROR_IO, "%s: cannot read: %s", path, strerror(errno));
    } else if (size != fs->bytes) {
        st = fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: %zu bytes, expected %zu", path, size, fs->bytes);
        free(buf);
        buf = NULL;
    }
    free(path);
    *data = buf;
    return st;
}

clq_status clq_folder_read(const char *dir, clq_folder *out, char *err, size_t errlen)
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
        if (!files[a].name)
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

static clq_status write_array(const char *dir, const char *name, const void *data, size_t bytes, char *err,
                              size_t errlen)
{
    char *path = join_path(dir, name);
    if (!path)
        return fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    clq_status st = CLQ_SUCCESS;
    if (clq_write_file(path, data, bytes) != 0)
        st = fail(err, errlen, CLQ_ERROR_IO, "%s: cannot write: %s", path, strerror(errno));
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
    return write_array(dir, "meta.txt", text, strlen(text), err, errlen);
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
    if (make_dirs(dir) != 0)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: cannot create directory: %s", dir, strerror(errno));

    for (int a = 0; a < A_COUNT && st == CLQ_SUCCESS; a++) {
        size_t bytes;
        const void *p = a == A_OFFSET ? &folder->arrays.offset : get_array(folder, a, &bytes);
        if (files[a].name && p)
            st = write_array(dir, files[a].name, p, files[a].bytes, err, errlen);
    }
    /* meta.txt last: a folder with meta.txt has its arrays */
    return st == CLQ_SUCCESS ? write_meta(dir, folder, err, errlen) : st;
}

/*
 * The LoRA adapter folder (see lora_folder.h and tests/data/README.md).
 * Plain POSIX file I/O like folder.c and no device work, so tests can write
 * and read adapters before any context exists.
 */
#define _POSIX_C_SOURCE 200809L

#include "lora_folder.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "folder.h"

#if defined(__GNUC__)
static clq_status fail(char *err, size_t errlen, clq_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#endif

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
/* meta.txt                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct lora_meta {
    int have_rank, have_alpha;
    uint64_t rank;
    float alpha;
    int rslora;
} lora_meta;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* A decimal unsigned integer and nothing else; strtoull alone would take
 * signs, spaces and trailing text. */
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

/* A finite float and nothing else ("16", "-8.5", "1e2"). */
static int parse_float(const char *s, float *out)
{
    if (*s == '\0' || *s == ' ' || *s == '\t')
        return -1;
    errno = 0;
    char *end = NULL;
    float v = strtof(s, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static clq_status meta_line(lora_meta *m, const char *key, const char *val, const char *path, int line,
                            char *err, size_t errlen)
{
    if (strcmp(key, "rank") == 0) {
        if (parse_u64(val, &m->rank) != 0 || m->rank == 0 || m->rank > CLQ_MAX_LORA_RANK)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA,
                        "%s:%d: rank='%s' is not a whole number from 1 to %d", path, line, val,
                        CLQ_MAX_LORA_RANK);
        m->have_rank = 1;
    } else if (strcmp(key, "alpha") == 0) {
        if (parse_float(val, &m->alpha) != 0)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s:%d: alpha='%s' is not a finite number", path,
                        line, val);
        m->have_alpha = 1;
    } else if (strcmp(key, "rslora") == 0) {
        if (strcmp(val, "0") != 0 && strcmp(val, "1") != 0)
            return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s:%d: rslora='%s' is not 0 or 1", path, line, val);
        m->rslora = val[0] == '1';
    }
    return CLQ_SUCCESS; /* other keys (source, seed, ...) are information only */
}

static clq_status meta_parse(char *text, const char *path, lora_meta *m, char *err, size_t errlen)
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
        clq_status st = meta_line(m, trim(s), trim(eq + 1), path, line, err, errlen);
        if (st != CLQ_SUCCESS)
            return st;
    }
    if (!m->have_rank || !m->have_alpha)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: missing required key '%s'", path,
                    !m->have_rank ? "rank" : "alpha");
    return CLQ_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Reading and writing                                                       */
/* ------------------------------------------------------------------------ */

static clq_status read_meta(const char *dir, lora_meta *m, char *err, size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/meta.txt", dir) >= sizeof path)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: path too long", dir);
    size_t size = 0;
    char *text = clq_read_file(path, &size);
    if (!text)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: cannot read: %s", path, strerror(errno));
    char *z = realloc(text, size + 1); /* NUL-terminate for the parser */
    if (!z) {
        free(text);
        return fail(err, errlen, CLQ_ERROR_OUT_OF_HOST_MEMORY, "out of memory");
    }
    z[size] = '\0';
    clq_status st = strlen(z) != size ? fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: contains a NUL byte", path)
                                      : meta_parse(z, path, m, err, errlen);
    free(z);
    return st;
}

/* Reads dir/name, which must be exactly `rows`×`cols` fp32; the message says
 * which of the two shapes the size was checked against. */
static clq_status read_matrix(const char *dir, const char *name, uint64_t rows, uint64_t cols,
                              const char *shape, float **out, char *err, size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: path too long", dir);
    if (cols != 0 && rows > SIZE_MAX / sizeof(float) / cols)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: %llu x %llu is too large", path,
                    (unsigned long long)rows, (unsigned long long)cols);
    const size_t want = (size_t)(rows * cols) * sizeof(float);
    /* The size is checked before anything is read or allocated: a huge
     * file named a.f32 costs nothing. */
    size_t size = 0;
    void *data = NULL;
    int read = clq_read_file_exact(path, want, &data, &size);
    if (read < 0)
        return fail(err, errlen, errno == ENOMEM ? CLQ_ERROR_OUT_OF_HOST_MEMORY : CLQ_ERROR_IO,
                    "%s: cannot read: %s", path, strerror(errno));
    if (read > 0)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "%s: %zu bytes, but %s = %llu x %llu fp32 needs %zu",
                    path, size, shape, (unsigned long long)rows, (unsigned long long)cols, want);
    *out = data;
    return CLQ_SUCCESS;
}

clq_status clq_lora_folder_read(const char *dir, uint64_t rows, uint64_t cols, clq_lora_folder *out,
                                char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!dir || !out)
        return fail(err, errlen, CLQ_ERROR_NULL_POINTER, "clq_lora_folder_read: NULL argument");
    lora_meta m;
    clq_status st = read_meta(dir, &m, err, errlen);
    if (st != CLQ_SUCCESS)
        return st;
    float *a = NULL, *b = NULL;
    st = read_matrix(dir, "a.f32", m.rank, cols, "rank x K", &a, err, errlen);
    if (st == CLQ_SUCCESS)
        st = read_matrix(dir, "b.f32", rows, m.rank, "N x rank", &b, err, errlen);
    if (st != CLQ_SUCCESS) {
        free(a);
        return st;
    }
    *out = (clq_lora_folder){(uint32_t)m.rank, m.alpha, m.rslora, rows, cols, a, b};
    return CLQ_SUCCESS;
}

static clq_status write_one(const char *dir, const char *name, const void *data, size_t bytes, char *err,
                            size_t errlen)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: path too long", dir);
    if (clq_write_file(path, data, bytes) != 0)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: cannot write: %s", path, strerror(errno));
    return CLQ_SUCCESS;
}

clq_status clq_lora_folder_write(const char *dir, const clq_lora_folder *f, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!dir || !f || !f->a || !f->b)
        return fail(err, errlen, CLQ_ERROR_NULL_POINTER, "clq_lora_folder_write: NULL argument");
    if (f->rank == 0 || f->rank > CLQ_MAX_LORA_RANK || !isfinite(f->alpha) || f->rows == 0 || f->cols == 0 ||
        f->rows > SIZE_MAX / sizeof(float) / f->rank || f->cols > SIZE_MAX / sizeof(float) / f->rank)
        return fail(err, errlen, CLQ_ERROR_BAD_DATA, "clq_lora_folder_write: bad rank, alpha or shape");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return fail(err, errlen, CLQ_ERROR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    char meta[128];
    /* %.9g gives back the same float when read with strtof. */
    snprintf(meta, sizeof meta, "rank=%u\nalpha=%.9g\nrslora=%d\n", (unsigned)f->rank, (double)f->alpha,
             f->rslora ? 1 : 0);
    clq_status st = write_one(dir, "a.f32", f->a, (size_t)(f->rank * f->cols) * sizeof(float), err, errlen);
    if (st == CLQ_SUCCESS)
        st = write_one(dir, "b.f32", f->b, (size_t)(f->rows * f->rank) * sizeof(float), err, errlen);
    /* meta.txt last, as in folder.c: a folder with meta.txt has its arrays. */
    return st == CLQ_SUCCESS ? write_one(dir, "meta.txt", meta, strlen(meta), err, errlen) : st;
}

clq_adapter_desc clq_lora_folder_desc(const clq_lora_folder *f)
{
    return (clq_adapter_desc){f->rank, f->alpha, f->rslora, CLQ_DTYPE_F32, f->a, f->b};
}

float clq_lora_folder_scale(const clq_lora_folder *f)
{
    /* The same float expression as the library's (host/lora.c), so a
     * reference computed with it matches to the last bit of the scale. */
    return f->rslora ? f->alpha / sqrtf((float)f->rank) : f->alpha / (float)f->rank;
}

void clq_lora_folder_free(clq_lora_folder *f)
{
    if (!f)
        return;
    free(f->a);
    free(f->b);
    memset(f, 0, sizeof *f);
}

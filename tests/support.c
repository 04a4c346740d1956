#define _DEFAULT_SOURCE /* lstat, DIR */
#include "support.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folder.h"

static clq_context *shared_ctx;

clq_context *test_context(void)
{
    if (!shared_ctx) {
        int status = clq_context_create(NULL, &shared_ctx);
        cr_assert_eq(status, CLQ_SUCCESS, "no OpenCL context: %s", clq_last_error());
    }
    return shared_ctx;
}

void test_context_release(void)
{
    clq_context_destroy(shared_ctx);
    shared_ctx = NULL;
}

void test_fill_matrix(clq_rng *r, float *x, uint64_t rows, uint64_t cols)
{
    for (uint64_t i = 0; i < rows; i++) {
        float *row = x + i * cols;
        for (uint64_t j = 0; j < cols; j++) {
            switch (i % 8) {
            case 1:
                row[j] = 0.0f;
                break; /* all zero */
            case 2:
                row[j] = j == cols / 3 ? 1000.0f : clq_rng_normal(r, 0.01f);
                break; /* outlier */
            case 3:
                row[j] = 0.125f;
                break; /* constant */
            case 4:
                row[j] = -fabsf(clq_rng_normal(r, 0.05f)) - 1e-4f;
                break; /* negative only */
            case 5:
                row[j] = clq_rng_normal(r, 1e-30f);
                break; /* tiny */
            default:
                row[j] = clq_rng_normal(r, 0.05f);
                break;
            }
        }
    }
}

long test_first_diff(const void *a, const void *b, size_t bytes)
{
    const unsigned char *p = a, *q = b;
    for (size_t i = 0; i < bytes; i++)
        if (p[i] != q[i])
            return (long)i;
    return -1;
}

void *test_read_data(const char *rel, size_t *size)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", CLQ_TEST_DATA_DIR, rel);
    void *data = clq_read_file(path, size);
    cr_assert_not_null(data, "cannot read %s", path);
    return data;
}

void test_alloc_external(const clq_weight_desc *d, clq_layout layout, clq_external *e)
{
    int status = clq_external_sizes(d, layout, e);
    cr_assert_eq(status, CLQ_SUCCESS, "%s", clq_last_error());
    e->data = calloc(1, e->data_bytes + 1);
    e->scales = calloc(1, e->scales_bytes + 1);
    e->zero_points = calloc(1, e->zero_points_bytes + 1);
    e->nested_absmax = calloc(1, e->nested_absmax_bytes + 1);
    e->nested_code = calloc(1, e->nested_code_bytes + 1);
}

void test_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    chmod(path, 0700);
    DIR *d = opendir(path);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[1024];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        test_remove_tree(child);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

/* Helpers shared by the Criterion tests: one context per test process,
 * deterministic random data, and comparisons that name the first mismatch. */
#ifndef CLQ_TEST_SUPPORT_H
#define CLQ_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "clq.h"
#include "rng.h" /* clq_rng: the random inputs, shared with the benchmark */

/* A context on the default device (CLQ_DEVICE may choose another), created
 * at first use and kept for the process. Fails the test if none. */
clq_context *test_context(void);
void test_context_release(void);

/* "P:D", the tools' --device selector of the default device, so that a
 * machine with several OpenCL devices (or oclgrind's simulator installed as
 * one) runs the bench on that one only; fails the test if none. */
const char *test_device(void);

/* Fills an N×K matrix with normal values plus, by row, the edge cases the
 * formats must survive: an all-zero row, a single huge outlier, a constant
 * row, a negative-only row, tiny values. */
void test_fill_matrix(clq_rng *r, float *x, uint64_t rows, uint64_t cols);

/* Allocates zeroed host arrays of the sizes an external layout needs for a
 * description (one spare byte each, so none is zero-sized); free them with
 * ref_external_free. */
void test_alloc_external(const clq_weight_desc *d, clq_layout layout, clq_external *e);

/* rm -r of a test's folder: symlinks are removed, not followed; folders a
 * test made unreadable are opened up first. */
void test_remove_tree(const char *path);

/* Index of the first differing byte, or -1 if equal. */
long test_first_diff(const void *a, const void *b, size_t bytes);

/* Reads a file of the test data directory (CLQ_TEST_DATA_DIR/rel). */
void *test_read_data(const char *rel, size_t *size);

/* Makes a fresh folder $TMPDIR/<prefix>-XXXXXX (/tmp without TMPDIR) and
 * writes its path into path[len]; fails the test if it cannot. */
void test_make_temp_dir(char *path, size_t len, const char *prefix);

/* ---- the clq tool, run as a user runs it: a child process ---------------- */

/* What the tests keep of each of a run's stdout and stderr; a run that
 * writes more fails the test. */
#define TEST_RUN_CAPTURE 65536

/* Limits on a run; 0 in a field: none. */
typedef struct test_run_limits {
    unsigned long long file_size;     /* RLIMIT_FSIZE; SIGXFSZ ignored: a write past it fails (EFBIG) */
    unsigned long long address_space; /* RLIMIT_AS */
    unsigned seconds;                 /* a run still going after this long is killed (SIGALRM): a hang */
} test_run_limits;

typedef struct test_run {
    int exit_code;              /* the exit status; a run that died of a signal fails the test */
    char out[TEST_RUN_CAPTURE]; /* stdout, NUL-terminated */
    char err[TEST_RUN_CAPTURE]; /* stderr, NUL-terminated */
    size_t out_size, err_size;  /* their bytes before the NUL */
    char command[2048];         /* the command line, for messages */
} test_run;

/* Runs the clq tool (CLQ_TOOL_PATH) with the arguments after r,
 * NULL-terminated, and waits for it; stdout and stderr are captured in
 * unlinked files (a pipe could fill up and block the tool). */
void test_run_tool(test_run *r, ...);

/* The same under limits. */
void test_run_tool_limited(test_run *r, const test_run_limits *lim, ...);

/* The same with the arguments in a NULL-terminated array; lim may be NULL. */
void test_run_tool_args(test_run *r, const test_run_limits *lim, const char *const *args);

/* Asserts `status` is CLQ_SUCCESS, printing clq_last_error() otherwise. */
#define TEST_OK(expr)                                                                                        \
    do {                                                                                                     \
        int test_ok_status_ = (expr);                                                                        \
        cr_assert_eq(test_ok_status_, CLQ_SUCCESS, "%s -> %s\n%s", #expr,                                    \
                     clq_status_string(test_ok_status_), clq_last_error());                                  \
    } while (0)

#endif /* CLQ_TEST_SUPPORT_H */

#define _DEFAULT_SOURCE /* lstat, DIR, mkdtemp, setrlimit */
#include "support.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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

const char *test_device(void)
{
    static char sel[32];
    clq_device_info info;
    int status = clq_device_select(NULL, &info);
    cr_assert_eq(status, CLQ_SUCCESS, "no default device: %s", clq_last_error());
    snprintf(sel, sizeof sel, "%u:%u", info.platform_index, info.device_index);
    return sel;
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

void test_make_temp_dir(char *path, size_t len, const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(path, len, "%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    cr_assert(n > 0 && (size_t)n < len, "a temporary folder's path is longer than %zu bytes", len);
    cr_assert_not_null(mkdtemp(path), "mkdtemp %s: %s", path, strerror(errno));
}

#ifdef CLQ_TOOL_PATH
extern char **environ;

#define TEST_RUN_MAX_ARGS 32

/* An unlinked file for a child's output, closed on exec in every other
 * child. */
static int capture_file(void)
{
    char path[1024];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/clq-test-run-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp %s: %s", path, strerror(errno));
    unlink(path);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static void read_capture(const test_run *r, int fd, const char *name, char *buf, size_t *size)
{
    off_t end = lseek(fd, 0, SEEK_END);
    cr_assert(end >= 0 && end < TEST_RUN_CAPTURE, "`%s` wrote %lld bytes to %s; the test keeps %d",
              r->command, (long long)end, name, TEST_RUN_CAPTURE - 1);
    size_t got = 0;
    while (got < (size_t)end) {
        ssize_t n = pread(fd, buf + got, (size_t)end - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        cr_assert_gt(n, 0, "reading the %s of `%s`: %s", name, r->command, n < 0 ? strerror(errno) : "EOF");
        got += (size_t)n;
    }
    buf[got] = '\0';
    *size = got;
    close(fd);
}

/* The child, between fork and exec: only async-signal-safe calls, as the
 * test process may have threads (PoCL's). */
static void exec_tool(char *const *argv, int out_fd, int err_fd, const test_run_limits *lim)
{
    static const char cannot[] = "cannot execute " CLQ_TOOL_PATH "\n";
    if (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
        _exit(126);
    if (lim && lim->file_size) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {(rlim_t)lim->file_size, (rlim_t)lim->file_size};
        setrlimit(RLIMIT_FSIZE, &rl);
    }
    if (lim && lim->address_space) {
        struct rlimit rl = {(rlim_t)lim->address_space, (rlim_t)lim->address_space};
        setrlimit(RLIMIT_AS, &rl);
    }
    if (lim && lim->seconds)
        alarm(lim->seconds);
    execve(CLQ_TOOL_PATH, argv, environ);
    ssize_t written = write(STDERR_FILENO, cannot, sizeof cannot - 1);
    (void)written;
    _exit(127);
}

void test_run_tool_args(test_run *r, const test_run_limits *lim, const char *const *args)
{
    char *argv[TEST_RUN_MAX_ARGS + 2] = {(char *)CLQ_TOOL_PATH};
    int argc = 1;
    for (; args[argc - 1]; argc++) {
        cr_assert_leq(argc, TEST_RUN_MAX_ARGS, "more than %d arguments", TEST_RUN_MAX_ARGS);
        argv[argc] = (char *)args[argc - 1];
    }
    argv[argc] = NULL;
    size_t used = 0;
    r->command[0] = '\0';
    for (int i = 0; i < argc && used < sizeof r->command; i++)
        used += (size_t)snprintf(r->command + used, sizeof r->command - used, "%s%s", i ? " " : "", argv[i]);

    int out_fd = capture_file(), err_fd = capture_file();
    pid_t pid = fork();
    cr_assert_neq(pid, -1, "fork: %s", strerror(errno));
    if (pid == 0)
        exec_tool(argv, out_fd, err_fd, lim);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        cr_assert_eq(errno, EINTR, "waitpid: %s", strerror(errno));
    read_capture(r, out_fd, "stdout", r->out, &r->out_size);
    read_capture(r, err_fd, "stderr", r->err, &r->err_size);
    int hung = lim && lim->seconds && WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
    cr_assert(!hung, "`%s` was still running after %u s; stderr:\n%s", r->command, lim ? lim->seconds : 0,
              r->err);
    cr_assert(WIFEXITED(status), "`%s` was killed by signal %d; stderr:\n%s", r->command,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0, r->err);
    r->exit_code = WEXITSTATUS(status);
}

static void run_tool_va(test_run *r, const test_run_limits *lim, va_list ap)
{
    const char *args[TEST_RUN_MAX_ARGS + 2];
    size_t n = 0;
    for (const char *a; n <= TEST_RUN_MAX_ARGS && (a = va_arg(ap, const char *)) != NULL;)
        args[n++] = a;
    args[n] = NULL; /* more than TEST_RUN_MAX_ARGS: test_run_tool_args says so */
    test_run_tool_args(r, lim, args);
}

void test_run_tool(test_run *r, ...)
{
    va_list ap;
    va_start(ap, r);
    run_tool_va(r, NULL, ap);
    va_end(ap);
}

void test_run_tool_limited(test_run *r, const test_run_limits *lim, ...)
{
    va_list ap;
    va_start(ap, lim);
    run_tool_va(r, lim, ap);
    va_end(ap);
}
#endif

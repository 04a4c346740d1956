/* `clq bench --startup`: a new process's context creation and first matmul,
 * timed inside the child (clock_gettime) and as a whole by the parent. The
 * child is this same program, found through /proc/self/exe. */
#define _POSIX_C_SOURCE 200809L
#include "startup.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clq.h"

extern char **environ;

enum { STARTUP_RUNS = 7, STARTUP_N = 4096, STARTUP_K = 4096 };

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

int bench_startup_child(const char *device)
{
    double t0 = now_ms();
    clq_context_options opt;
    clq_context_options_init(&opt);
    opt.device = device && *device ? device : NULL;
    clq_context *ctx = NULL;
    clq_weight *w = NULL;
    float *host = malloc((size_t)STARTUP_N * STARTUP_K * sizeof *host), *x = NULL, *y = NULL;
    int status = host ? clq_context_create(&opt, &ctx) : CLQ_ERROR_OUT_OF_HOST_MEMORY;
    double t1 = now_ms();
    if (status == CLQ_SUCCESS) {
        for (size_t i = 0; i < (size_t)STARTUP_N * STARTUP_K; i++)
            host[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
        clq_weight_desc d = {CLQ_FORMAT_NF4, 64, STARTUP_N, STARTUP_K, 0};
        status =
            clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, host, (size_t)STARTUP_N * STARTUP_K * 4, &w);
    }
    double t2 = now_ms();
    x = calloc(STARTUP_K, sizeof *x);
    y = calloc(STARTUP_N, sizeof *y);
    if (status == CLQ_SUCCESS && (!x || !y))
        status = CLQ_ERROR_OUT_OF_HOST_MEMORY;
    if (status == CLQ_SUCCESS)
        status = clq_matmul_host(w, 1, CLQ_DTYPE_F32, x, NULL, y, NULL, NULL);
    double t3 = now_ms();
    if (status == CLQ_SUCCESS)
        printf("startup-child %.3f %.3f %.3f\n", t1 - t0, t2 - t1, t3 - t2);
    else
        fprintf(stderr, "clq bench: startup run failed: %s\n", clq_last_error());
    clq_weight_destroy(w);
    clq_context_destroy(ctx);
    free(host);
    free(x);
    free(y);
    return status == CLQ_SUCCESS ? 0 : -1;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One child: its wall time, and the three times it printed. */
static int run_child(const char *self, const char *device, double *wall, double t[3])
{
    char out_path[] = "/tmp/clq-bench-startup-XXXXXX";
    int fd = mkstemp(out_path);
    if (fd < 0)
        return -1;
    close(fd);
    char *argv[] = {(char *)"clq", (char *)"bench", (char *)"--startup-child", (char *)device, NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path, O_WRONLY | O_TRUNC, 0600);
    double start = now_ms();
    pid_t pid;
    int rc = posix_spawn(&pid, self, &actions, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (rc == 0)
        while (waitpid(pid, &status, 0) < 0) {
        }
    *wall = now_ms() - start;
    FILE *f = fopen(out_path, "r");
    int ok = rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && f &&
             fscanf(f, "startup-child %lf %lf %lf", &t[0], &t[1], &t[2]) == 3;
    if (f)
        fclose(f);
    remove(out_path);
    return ok ? 0 : -1;
}

int bench_startup(const bench_options *o)
{
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        fprintf(stderr, "clq bench: --startup needs /proc/self/exe\n");
        return -1;
    }
    self[len] = '\0';
    int n = o->n_devices ? o->n_devices : 1;
    printf("startup: a new process creates a context, quantizes a %dx%d nf4/64 weight and runs one\n"
           "M = 1 matmul, with the program cache warm; medians of %d runs (ms)\n",
           STARTUP_N, STARTUP_K, STARTUP_RUNS);
    printf("  %-40s %9s %9s %9s %14s %9s\n", "device", "context", "quantize", "matmul", "context+matmul",
           "process");
    for (int d = 0; d < n; d++) {
        const char *dev = o->n_devices ? o->devices[d] : "";
        double wall[STARTUP_RUNS], t[3][STARTUP_RUNS], one[3], w0;
        if (run_child(self, dev, &w0, one) != 0) { /* warms the program cache */
            fprintf(stderr, "clq bench: the startup run on '%s' failed\n", *dev ? dev : "default device");
            return -1;
        }
        for (int r = 0; r < STARTUP_RUNS; r++) {
            if (run_child(self, dev, &wall[r], one) != 0)
                return -1;
            for (int i = 0; i < 3; i++)
                t[i][r] = one[i];
        }
        double both[STARTUP_RUNS];
        for (int r = 0; r < STARTUP_RUNS; r++)
            both[r] = t[0][r] + t[2][r];
        qsort(wall, STARTUP_RUNS, sizeof wall[0], compare_double);
        qsort(both, STARTUP_RUNS, sizeof both[0], compare_double);
        for (int i = 0; i < 3; i++)
            qsort(t[i], STARTUP_RUNS, sizeof t[i][0], compare_double);
        int mid = STARTUP_RUNS / 2;
        printf("  %-40s %9.1f %9.1f %9.1f %14.1f %9.1f\n", *dev ? dev : "(default device)", t[0][mid],
               t[1][mid], t[2][mid], both[mid], wall[mid]);
    }
    return 0;
}

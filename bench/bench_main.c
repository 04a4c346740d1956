/* clq_bench_main: options, devices, one sweep per device, then the files. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices.h"
#include "options.h"
#include "plan.h"
#include "progress.h"
#include "record.h"
#include "report.h"
#include "startup.h"
#include "sweep.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Formats whose block does not divide a shape's K are left out of it: say
 * so once per pair and shape rather than silently. */
static void note_skipped(const bench_options *o)
{
    for (int s = 0; s < o->n_shapes; s++)
        for (int i = 0; i < o->n_pairs; i++) {
            const bench_shape *sh = &o->shapes[s];
            clq_weight_desc d = {o->pairs[i].format, o->pairs[i].block, sh->n, sh->k, 0};
            int status = clq_weight_desc_check(&d);
            if (status != CLQ_SUCCESS) {
                char name[32];
                bench_pair_name(&o->pairs[i], name, sizeof name);
                fprintf(stderr, "clq bench: note: %s left out of %llux%llu: %s\n", name,
                        (unsigned long long)sh->n, (unsigned long long)sh->k, clq_status_string(status));
            }
        }
}

typedef struct device_plan {
    bench_case *cases;
    long count;
} device_plan;

/* Plans every device up front so the progress display knows the total. */
static int plan_all(const bench_options *o, const bench_device *devs, int n, device_plan *plans,
                    size_t *total)
{
    *total = 0;
    for (int d = 0; d < n; d++) {
        plans[d].count = bench_plan(o, devs[d].has_fp16, &plans[d].cases);
        if (plans[d].count < 0) {
            fprintf(stderr, "clq bench: out of memory\n");
            return -1;
        }
        *total += (size_t)plans[d].count * (size_t)o->rounds;
    }
    return 0;
}

int bench_output_check(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        const char *refusal = !S_ISREG(st.st_mode) ? "it is not a regular file"
                              : st.st_nlink > 1    ? "it has other hard links, which a rename would break"
                              : access(path, W_OK) != 0 ? strerror(errno)
                                                        : NULL;
        if (refusal)
            fprintf(stderr, "clq bench: refusing to replace %s: %s\n", path, refusal);
        return refusal ? -1 : 0;
    }
    if (errno != ENOENT) {
        fprintf(stderr, "clq bench: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int ok = dir && access(slash ? dir : ".", W_OK | X_OK) == 0;
    if (!ok)
        fprintf(stderr, "clq bench: cannot write %s: %s\n", path, strerror(errno));
    free(dir);
    return ok ? 0 : -1;
}

FILE *bench_output_open(const char *path, char **tmp)
{
    if (bench_output_check(path) != 0)
        return NULL;
    struct stat st;
    mode_t mask = umask(022);
    umask(mask);
    mode_t mode = lstat(path, &st) == 0 ? st.st_mode & 07777 : 0666 & ~mask;
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    int fd = -1;
    if ((*tmp = malloc(n)) != NULL) {
        snprintf(*tmp, n, "%s.tmp.XXXXXX", path);
        fd = mkstemp(*tmp);
    }
    FILE *f = fd >= 0 && fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "clq bench: cannot write %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
    }
    return f;
}

int bench_output_close(FILE *f, const char *path, char *tmp, int ok)
{
    ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "clq bench: writing %s failed\n", path);
    else if (bench_output_check(path) != 0)
        ok = 0;
    else if (rename(tmp, path) != 0) {
        fprintf(stderr, "clq bench: cannot rename %s to %s: %s\n", tmp, path, strerror(errno));
        ok = 0;
    }
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

/* Output paths are checked before the devices are opened and the sweep,
 * which may run for hours, is started; nothing is written to them until
 * the end, so a run that fails early leaves an old file as it was. */
static int check_outputs(const bench_options *o)
{
    if ((o->csv && bench_output_check(o->csv) != 0) || (o->json && bench_output_check(o->json) != 0))
        return -1;
    if (o->plot && bench_make_dirs(o->plot) != 0) {
        fprintf(stderr, "clq bench: cannot create %s: %s\n", o->plot, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_outputs(const bench_options *o, const bench_device *devs, int n, const bench_results *res)
{
    int status = 0;
    if (o->csv && bench_write_csv(o->csv, res) != 0)
        status = -1;
    if (o->json && bench_write_json(o->json, o, devs, n, res) != 0)
        status = -1;
    if (o->plot && bench_write_plots(o->plot, res, o->quiet) != 0)
        status = -1;
    return status;
}

static int run(const bench_options *o, bench_device *devs, int n, device_plan *plans, bench_results *res)
{
    size_t total = 0;
    if (plan_all(o, devs, n, plans, &total) != 0)
        return EXIT_RUNTIME;
    if (total == 0) {
        fprintf(stderr, "clq bench: nothing to measure (no format fits the shapes given)\n");
        return EXIT_USAGE;
    }
    bench_progress progress;
    if (bench_progress_init(&progress, !o->quiet, total) != 0)
        return EXIT_RUNTIME;
    size_t base = 0;
    for (int d = 0; d < n; d++)
        for (int round = 0; round < o->rounds; round++)
            for (long i = 0; i < plans[d].count; i++)
                bench_progress_predict(&progress, base++,
                                       bench_sweep_predict(o, &devs[d], &plans[d].cases[i]));
    bench_table table;
    bench_table_init(&table, stdout);
    bench_table_intro(stdout, o, n);
    long failed = 0;
    base = 0;
    for (int d = 0; d < n; d++) {
        bench_sweep s = {o, &progress, base, &table, res};
        long f = bench_sweep_device(&s, &devs[d], plans[d].cases, plans[d].count);
        failed += f < 0 ? 1 : f;
        base += (size_t)plans[d].count * (size_t)o->rounds;
    }
    bench_progress_free(&progress);
    int status = write_outputs(o, devs, n, res);
    if (failed)
        fprintf(stderr, "clq bench: %ld measurement%s or device%s failed (see above)\n", failed,
                failed == 1 ? "" : "s", failed == 1 ? "" : "s");
    return failed || status != 0 ? EXIT_RUNTIME : EXIT_OK;
}

int clq_bench_main(int argc, char **argv)
{
    bench_options o;
    bench_parse_result parsed = bench_options_parse(argc, argv, &o);
    if (parsed == BENCH_PARSE_HELP)
        return EXIT_OK;
    if (parsed == BENCH_PARSE_ERROR)
        return EXIT_USAGE;
    if (o.startup_child)
        return bench_startup_child(o.startup_child) == 0 ? EXIT_OK : EXIT_RUNTIME;
    if (o.startup)
        return bench_startup(&o) == 0 ? EXIT_OK : EXIT_RUNTIME;
    note_skipped(&o);
    if (check_outputs(&o) != 0)
        return EXIT_RUNTIME;
    bench_device *devs = NULL;
    int n = bench_devices_resolve(&o, &devs);
    if (n <= 0) {
        free(devs);
        return EXIT_RUNTIME;
    }
    device_plan *plans = calloc((size_t)n, sizeof *plans);
    bench_results res = {0};
    int status = plans ? run(&o, devs, n, plans, &res) : EXIT_RUNTIME;
    for (int d = 0; plans && d < n; d++)
        free(plans[d].cases);
    free(plans);
    bench_results_free(&res);
    free(devs);
    return status;
}

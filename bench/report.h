/* What a run writes: the readable table on stdout (as it goes), and at the
 * end the CSV and JSON files and the gnuplot charts. */
#ifndef CLQ_BENCH_REPORT_H
#define CLQ_BENCH_REPORT_H

#include <stdio.h>

#include "options.h"
#include "record.h"

/* ---- the table (report_table.c) ---------------------------------------------- */

typedef struct bench_table {
    FILE *out;
    int started; /* a group header has been printed */
    bench_op op;
    const char *shape_name;
    uint64_t n, k, m;
    uint32_t rank, adapters;
} bench_table;

void bench_table_init(bench_table *t, FILE *out);

/* The run's header: clq version and the method (eviction, warm-up,
 * repetitions, what the times are). */
void bench_table_intro(FILE *out, const bench_options *o, int n_devices);

/* A device's header: name, driver, measured roofline, notes (no fp16). */
void bench_table_device(bench_table *t, const bench_device *d);

/* One row; fp32_us is the CLBlast fp32 median of the same matmul problem
 * (0 if none), for the speed-up column. */
void bench_table_row(bench_table *t, const bench_record *r, double fp32_us);

/* ---- files ----------------------------------------------------------------------- */

/* Output files are checked before the sweep (bench_output_check: absent in
 * a writable directory, or a regular file with one link, never touched
 * then), written under a temporary name beside the target
 * (bench_output_open) and renamed over it only when complete
 * (bench_output_close), keeping the replaced file's permission bits. Each
 * returns 0 (or the file), or -1 (NULL) after printing a one-line reason. */
int bench_output_check(const char *path);
FILE *bench_output_open(const char *path, char **tmp);
int bench_output_close(FILE *f, const char *path, char *tmp, int ok);

/* Each returns 0, or -1 after printing a one-line reason on stderr. */
int bench_write_csv(const char *path, const bench_results *res);
int bench_write_json(const char *path, const bench_options *o, const bench_device *devices, int n_devices,
                     const bench_results *res);

/* Writes data files and plot.gp into dir (created if needed) and runs
 * gnuplot there if it is on PATH; without gnuplot it prints a note and
 * leaves the script for later. */
int bench_write_plots(const char *dir, const bench_results *res, int quiet);

/* mkdir -p: 0, or -1 with errno set. */
int bench_make_dirs(const char *dir);

#endif

/* A one-line progress display on stderr: what is running, i of n, and the
 * estimated time left. Shown only when stderr is a terminal, without
 * --quiet, and once the sweep has run for a couple of seconds (short runs
 * stay silent). */
#ifndef CLQ_BENCH_PROGRESS_H
#define CLQ_BENCH_PROGRESS_H

#include <stddef.h>

typedef struct bench_progress {
    int enabled, shown;
    size_t total, done;
    double start_us;
    double *predicted; /* seconds per measurement, revised as rooflines are measured */
    double actual_s;   /* time spent in finished measurements */
    double predicted_done_s;
} bench_progress;

/* enabled: the caller's decision (not --quiet); the terminal test is here. */
int bench_progress_init(bench_progress *p, int enabled, size_t total);
void bench_progress_free(bench_progress *p);

/* Sets the predicted cost of measurement i (for the time-left estimate). */
void bench_progress_predict(bench_progress *p, size_t i, double seconds);

/* Shows measurement p->done + 1 of total as running. */
void bench_progress_begin(bench_progress *p, const char *label);

/* Marks it done; `seconds` is what it took. */
void bench_progress_end(bench_progress *p, double seconds);

/* Erases the line (before printing to stdout on the same terminal). */
void bench_progress_clear(bench_progress *p);

#endif

/* Progress display (see progress.h). */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "measure.h"

/* Below this a sweep is over before a display would help. */
#define SHOW_AFTER_S 2.0

int bench_progress_init(bench_progress *p, int enabled, size_t total)
{
    *p = (bench_progress){0};
    p->enabled = enabled && isatty(STDERR_FILENO);
    p->total = total;
    p->start_us = bench_now_us();
    p->predicted = calloc(total ? total : 1, sizeof *p->predicted);
    return p->predicted ? 0 : -1;
}

void bench_progress_free(bench_progress *p)
{
    bench_progress_clear(p);
    free(p->predicted);
    p->predicted = NULL;
}

void bench_progress_predict(bench_progress *p, size_t i, double seconds)
{
    if (i < p->total)
        p->predicted[i] = seconds;
}

static void format_duration(double s, char *buf, size_t len)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

/* The time left: the predictions of what remains, scaled by how far off
 * the predictions of what is done turned out to be. */
static double time_left(const bench_progress *p)
{
    double rest = 0;
    for (size_t i = p->done; i < p->total; i++)
        rest += p->predicted[i];
    double scale = p->predicted_done_s > 0 ? p->actual_s / p->predicted_done_s : 1.0;
    return rest * scale;
}

void bench_progress_begin(bench_progress *p, const char *label)
{
    double elapsed = (bench_now_us() - p->start_us) / 1e6;
    if (!p->enabled || elapsed < SHOW_AFTER_S)
        return;
    char spent[32], left[32];
    format_duration(elapsed, spent, sizeof spent);
    format_duration(time_left(p), left, sizeof left);
    fprintf(stderr, "\r\033[K[%zu/%zu] %.60s  %s elapsed, ~%s left", p->done + 1, p->total, label, spent,
            left);
    fflush(stderr);
    p->shown = 1;
}

void bench_progress_end(bench_progress *p, double seconds)
{
    if (p->done < p->total)
        p->predicted_done_s += p->predicted[p->done];
    p->actual_s += seconds;
    p->done++;
}

void bench_progress_clear(bench_progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = 0;
    }
}

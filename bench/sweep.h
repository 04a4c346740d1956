/* Running a planned sweep on one device: open a profiling context, measure
 * the roofline, then every case, printing rows as they come. */
#ifndef CLQ_BENCH_SWEEP_H
#define CLQ_BENCH_SWEEP_H

#include "plan.h"
#include "progress.h"
#include "record.h"
#include "report.h"

typedef struct bench_sweep {
    const bench_options *o;
    bench_progress *progress;
    size_t progress_base; /* progress index of this device's first case (round after round) */
    bench_table *table;
    bench_results *results;
} bench_sweep;

/* Runs `cases` on `dev` (whose roofline and eviction fields it fills).
 * Returns the number of measurements that failed (each reported on stderr),
 * or -1 if the device could not be set up at all. */
long bench_sweep_device(const bench_sweep *s, bench_device *dev, const bench_case *cases, long n_cases);

/* A rough forecast of how long one round of a case takes, for the
 * time-left estimate: its roofline bound at an assumed efficiency, times
 * the calibrated number of runs, each with its eviction. Uses typical CPU
 * figures until the device's roofline is measured. */
double bench_sweep_predict(const bench_options *o, const bench_device *dev, const bench_case *c);

#endif

/* `clq bench --startup`: how long a new process takes to its first matmul
 * with a warm program cache (context creation included). */
#ifndef CLQ_BENCH_STARTUP_H
#define CLQ_BENCH_STARTUP_H

#include "options.h"

/* Runs `clq bench --startup-child` in new processes (after one untimed run
 * that warms the cache) for each --device (default: the default device)
 * and prints the medians. Returns 0, or -1 if a run failed. */
int bench_startup(const bench_options *o);

/* One run: context, a 4096x4096 NF4 weight, one M = 1 matmul; prints
 * "startup-child context_ms weight_ms matmul_ms" on stdout. `device` is a
 * selector, "" for the default. Returns 0 or -1. */
int bench_startup_child(const char *device);

#endif

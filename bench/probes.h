/* The device's own roofline, measured at the start of a run: read bandwidth
 * from kernels streaming a buffer larger than the last-level cache, and the
 * fp32 FMA rate from kernels of independent vector mad chains, each the
 * best of several kernel shapes (named in the result). On a CPU device the
 * host's own figures from C are measured beside them (host_probe.h). */
#ifndef CLQ_BENCH_PROBES_H
#define CLQ_BENCH_PROBES_H

#include "measure.h"
#include "record.h"

/* Measures both on ctx's device with the timer's warm-up and repetition
 * settings (its eviction buffer is not used: the read probe's buffer is
 * itself larger than the cache). A shape that fails is recorded with its
 * OpenCL error and the others still run. Returns 0, or -1 with a reason in
 * `why` when the program does not build or no shape of a probe runs. */
int bench_probe_roofline(clq_context *ctx, const bench_timer *timer, bench_roofline *out, char *why,
                         size_t why_len);

#endif

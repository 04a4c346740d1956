/* The host CPU's own read bandwidth and fp32 FMA rate, measured from C
 * beside the OpenCL probes on a CPU device, so that a reader can see whether
 * the OpenCL kernels reach what the machine does. Each takes well under a
 * second. The code is chosen at run time from what the CPU supports
 * (AVX-512, AVX2 with FMA, or plain C) and named in the result. */
#ifndef CLQ_BENCH_HOST_PROBE_H
#define CLQ_BENCH_HOST_PROBE_H

#include <stddef.h>

/* The CPUs this process may run on (at least 1). */
int bench_host_threads(void);

/* GB/s of `threads` threads each reading its contiguous share of
 * buf[0..bytes) once, the median of a few passes (buf should be far larger
 * than the last-level cache). *isa names the loads ("AVX-512", "AVX2",
 * "C"). Returns 0 if the threads could not be started. */
double bench_host_read_gbps(const void *buf, size_t bytes, int threads, const char **isa);

/* GFLOP/s (an FMA counts 2) of `threads` threads each running independent
 * FMA chains in registers, the median of a few passes of some 20 ms. *isa
 * names the instructions ("AVX-512", "AVX2+FMA", "C"). Returns 0 if the
 * threads could not be started. */
double bench_host_fma_gflops(int threads, const char **isa);

#endif

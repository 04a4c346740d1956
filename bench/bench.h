/*
 * `clq bench`: the benchmark sweep, as a library the clq tool (and
 * the bench test) call. Not part of libclq.
 */
#ifndef CLQ_BENCH_H
#define CLQ_BENCH_H

/* Runs `clq bench` with argv[0] the command's own name ("bench") and the
 * options after it. Prints the table on stdout and errors on stderr.
 * Returns the exit status: 0, 1 (a device or a measurement failed, or an
 * output file could not be written) or 2 (bad command line). Can be called
 * more than once in a process. */
int clq_bench_main(int argc, char **argv);

#endif

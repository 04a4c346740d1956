/* Which devices a run covers: every device of every platform, or those the
 * --device selectors name (each once, in the order given). */
#ifndef CLQ_BENCH_DEVICES_H
#define CLQ_BENCH_DEVICES_H

#include "options.h"
#include "record.h"

/* Fills a malloc'd array of devices (name, driver, memory, cache, fp16;
 * the roofline is measured later). Returns the count, or -1 after printing
 * a one-line reason on stderr (no device, or a selector matches none). */
int bench_devices_resolve(const bench_options *o, bench_device **out);

#endif

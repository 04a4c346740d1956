/*
 * The candidates `clq tune` times in each stage, derived from the parameter
 * table (host/params_table.h): the cross product of the tries of the
 * stage's parameters for the device class, a follower taking its leader's
 * value, and a parameter that needs a bool left out where that bool is 0
 * (so "prefill_local=0" is one candidate, not one per prefill tile). The
 * tool and its tests share this header, so they agree on the counts.
 */
#ifndef CLQ_TUNE_CANDIDATES_H
#define CLQ_TUNE_CANDIDATES_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../host/params_table.h"

typedef struct tune_param {
    const char *name, *stage, *follows, *needs;
    const unsigned *tries[2]; /* [0]: GPU, [1]: CPU */
    size_t count[2];
} tune_param;

#define TUNE_UNPAREN(...) __VA_ARGS__
#define TUNE_TRIES(name, type, lo, hi, pow2, cpu, gpu, define, stage, follows, needs, cpu_tries, gpu_tries,  \
                   ...)                                                                                      \
    static const unsigned tune_cpu_##name[] = {TUNE_UNPAREN cpu_tries};                                      \
    static const unsigned tune_gpu_##name[] = {TUNE_UNPAREN gpu_tries};
CLQ_PARAMS_TABLE(TUNE_TRIES)
#undef TUNE_TRIES
#define TUNE_ROW(name, type, lo, hi, pow2, cpu, gpu, define, stage, follows, needs, ...)                     \
    {#name,                                                                                                  \
     stage,                                                                                                  \
     follows,                                                                                                \
     needs,                                                                                                  \
     {tune_gpu_##name, tune_cpu_##name},                                                                     \
     {sizeof tune_gpu_##name / sizeof(unsigned), sizeof tune_cpu_##name / sizeof(unsigned)}},
static const tune_param tune_params[] = {CLQ_PARAMS_TABLE(TUNE_ROW)};
#undef TUNE_ROW
#define TUNE_PARAM_COUNT (sizeof tune_params / sizeof tune_params[0])

/* Parameter i's value in the combination whose tries indices are `at`
 * (a follower reads its leader's). */
static inline unsigned tune_value(size_t i, int cpu, const size_t *at)
{
    const tune_param *p = &tune_params[i];
    if (p->follows[0])
        for (size_t j = 0; j < TUNE_PARAM_COUNT; j++)
            if (!strcmp(tune_params[j].name, p->follows))
                return tune_value(j, cpu, at);
    return p->tries[cpu][at[i]];
}

/* Whether parameter i has an effect in the combination `at`. */
static inline int tune_in_effect(size_t i, int cpu, const size_t *at)
{
    const tune_param *p = &tune_params[i];
    if (p->needs[0])
        for (size_t j = 0; j < TUNE_PARAM_COUNT; j++)
            if (!strcmp(tune_params[j].name, p->needs))
                return tune_value(j, cpu, at) != 0;
    return 1;
}

/* The number of candidates of `stage` for a CPU (cpu = 1) or another
 * device; where buf is not NULL, candidate `index` of them as
 * "name=value ...". */
static inline size_t tune_candidates(const char *stage, int cpu, size_t index, char *buf, size_t len)
{
    cpu = cpu != 0;
    size_t at[TUNE_PARAM_COUNT] = {0}, found = 0, own = 0;
    for (size_t i = 0; i < TUNE_PARAM_COUNT; i++)
        own += !strcmp(tune_params[i].stage, stage);
    if (!own)
        return 0;
    for (;;) {
        /* A combination is a candidate unless a parameter without effect
         * is at any but its first try (the same candidate again). */
        int fresh = 1;
        for (size_t i = 0; i < TUNE_PARAM_COUNT; i++)
            if (at[i] && !tune_in_effect(i, cpu, at))
                fresh = 0;
        if (fresh && found++ == index && buf) {
            size_t used = 0;
            buf[0] = '\0';
            for (size_t i = 0; i < TUNE_PARAM_COUNT && used < len; i++) {
                if (strcmp(tune_params[i].stage, stage) || !tune_in_effect(i, cpu, at))
                    continue;
                int n = snprintf(buf + used, len - used, "%s%s=%u", used ? " " : "", tune_params[i].name,
                                 tune_value(i, cpu, at));
                used += n > 0 ? (size_t)n : 0;
            }
        }
        /* The next combination: the stage's own (not following)
         * parameters as an odometer, the last one fastest. */
        size_t i = TUNE_PARAM_COUNT;
        while (i-- > 0) {
            const tune_param *p = &tune_params[i];
            if (strcmp(p->stage, stage) || p->follows[0])
                continue;
            if (++at[i] < p->count[cpu])
                break;
            at[i] = 0;
        }
        if (i == (size_t)-1)
            return found;
    }
}

#endif /* CLQ_TUNE_CANDIDATES_H */

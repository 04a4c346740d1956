/* The tuning file and parameter overrides: what clq tune saves, a later
 * context loads unchanged; other devices' lines survive; bad names and
 * values are refused with a message that says where they came from. */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../host/params_table.h"
#include "folder.h"
#include "support.h"

static char dir[64], file[128];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/clq-test-tuning-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof file, "%s/tuning.txt", dir);
}

static void remove_dir(void)
{
    remove(file);
    rmdir(dir);
}

static clq_status open_with(const char *tuning_file, const char *tuning, clq_context **out)
{
    clq_context_options o;
    clq_context_options_init(&o);
    o.tuning_file = tuning_file;
    o.tuning = tuning;
    return clq_context_create(&o, out);
}

static void params_of(const clq_context *ctx, char *buf, size_t len)
{
    TEST_OK(clq_context_tuning(ctx, buf, len));
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static int count_lines_with(const char *path, const char *needle)
{
    size_t size = 0;
    char *raw = clq_read_file(path, &size);
    cr_assert_not_null(raw, "cannot read %s", path);
    char *text = calloc(1, size + 1); /* a string for strtok */
    memcpy(text, raw, size);
    free(raw);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        n += strstr(line, needle) != NULL;
    free(text);
    return n;
}

TestSuite(tuning, .init = make_dir, .fini = remove_dir);

Test(tuning, saved_parameters_are_loaded_by_the_next_context)
{
    write_text(file, "# comment\nsome other device\t1.0\tmm_lanes=1 tiles_wg=64\n");
    clq_context *a = NULL, *b = NULL;
    TEST_OK(open_with(file, NULL, &a));
    char defaults[512], saved[512], loaded[512];
    params_of(a, defaults, sizeof defaults);
    /* A device's line is not another's: the foreign line changed nothing. */
    clq_context *plain = NULL;
    TEST_OK(open_with("", NULL, &plain));
    params_of(plain, saved, sizeof saved);
    cr_assert_str_eq(defaults, saved);
    clq_context_destroy(plain);

    TEST_OK(clq_tuning_save(a, "tiles_wg=2 mm_lanes=1", file));
    TEST_OK(
        clq_tuning_save(a, "tiles_wg=4 mm_lanes=1 pf_tm=32 pf_tn=32 pf_wm=4 pf_wn=4", file)); /* replaces */
    TEST_OK(open_with(file, NULL, &b));
    params_of(b, loaded, sizeof loaded);
    cr_assert(strstr(loaded, "mm_lanes=1 tiles_wg=4") != NULL, "loaded: %s", loaded);
    cr_assert(strstr(loaded, "pf_tm=32 pf_tn=32 pf_wm=4 pf_wn=4") != NULL, "loaded: %s", loaded);
    cr_assert_eq(count_lines_with(file, clq_context_device_name(a)), 1, "one line per device and driver");
    cr_assert_eq(count_lines_with(file, "some other device"), 1, "other devices' lines are kept");

    /* The full set round-trips: saving what b runs with and loading it again
     * gives the same text. */
    TEST_OK(clq_tuning_save(b, loaded, file));
    clq_context *c = NULL;
    TEST_OK(open_with(file, NULL, &c));
    params_of(c, saved, sizeof saved);
    cr_assert_str_eq(saved, loaded);
    cr_assert_str_eq(clq_context_tuning_file(c), file);
    clq_context_destroy(a);
    clq_context_destroy(b);
    clq_context_destroy(c);
}

Test(tuning, options_override_the_file_and_the_environment_overrides_both)
{
    clq_context *a = NULL;
    TEST_OK(open_with("", NULL, &a));
    TEST_OK(clq_tuning_save(a, "tiles_wg=2", file));
    clq_context_destroy(a);
    char p[512];
    TEST_OK(open_with(file, "tiles_wg=8", &a));
    params_of(a, p, sizeof p);
    cr_assert(strstr(p, "tiles_wg=8") != NULL, "%s", p);
    clq_context_destroy(a);
    setenv("CLQ_PARAMS", "tiles_wg=16", 1);
    TEST_OK(open_with(file, "tiles_wg=8", &a));
    params_of(a, p, sizeof p);
    cr_assert(strstr(p, "tiles_wg=16") != NULL, "%s", p);
    clq_context_destroy(a);
    unsetenv("CLQ_PARAMS");
}

Test(tuning, bad_parameters_are_refused_with_their_source)
{
    static const char *const bad[] = {"mm_lanes=3",       "tiles_wg=0", "tiles_wg=3",
                                      "nonsense=1",       "tiles_wg",   "tiles_wg=1x",
                                      "pf_tm=8 pf_wm=16", "class=tpu",  "class"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clq_context *ctx = NULL;
        cr_assert_eq(open_with("", bad[i], &ctx), CLQ_ERROR_INVALID_ARGUMENT, "'%s' was accepted", bad[i]);
        cr_assert_null(ctx);
        cr_assert_neq(clq_last_error()[0], '\0');
    }
    /* A bad line for this device in the file names the file and the line. */
    clq_context *a = NULL;
    TEST_OK(open_with("", NULL, &a));
    char text[1024];
    snprintf(text, sizeof text, "# first\n%s\t%s\tmm_lanes=5\n", clq_context_device_name(a),
             clq_context_driver_version(a));
    write_text(file, text);
    clq_context *b = NULL;
    cr_assert_eq(open_with(file, NULL, &b), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert(strstr(clq_last_error(), file) && strstr(clq_last_error(), "line 2"), "%s", clq_last_error());
    /* ... and keeps the reason it wraps */
    cr_assert(strstr(clq_last_error(), "mm_lanes = '5'"), "%s", clq_last_error());
    /* Saving refuses bad parameters and leaves the file as it was. */
    cr_assert_eq(clq_tuning_save(a, "mm_lanes=7", file), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(count_lines_with(file, "mm_lanes=5"), 1);
    cr_assert_eq(clq_tuning_save(a, "tiles_wg=2\tx", file), CLQ_ERROR_INVALID_ARGUMENT);
    cr_assert_eq(clq_tuning_save(NULL, "tiles_wg=2", file), CLQ_ERROR_NULL_POINTER);
    clq_context_destroy(a);
}

/* A class's defaults as the parameter table states them, in the printed
 * form (the test device's work-groups are large enough that no default is
 * clamped). */
static void table_defaults(int cpu, char *buf, size_t len)
{
    size_t used = 0;
#define DEFAULT_OF(name, type, lo, hi, pow2, cpu_value, gpu_value, ...)                                      \
    used += (size_t)snprintf(buf + used, len - used, "%s%s=%u", used ? " " : "", #name,                      \
                             (unsigned)(cpu ? (cpu_value) : (gpu_value)));
    CLQ_PARAMS_TABLE(DEFAULT_OF)
#undef DEFAULT_OF
    cr_assert_lt(used, len);
}

Test(tuning, a_class_preset_starts_from_that_class_defaults)
{
    char p[512], want[512];
    for (int cpu = 0; cpu <= 1; cpu++) {
        clq_context *a = NULL;
        TEST_OK(open_with("", cpu ? "class=cpu" : "class=gpu", &a));
        params_of(a, p, sizeof p);
        table_defaults(cpu, want, sizeof want);
        cr_assert_str_eq(p, want, "class=%s", cpu ? "cpu" : "gpu");
        clq_context_destroy(a);
    }
    /* The preset resets what came before it; what follows it applies. */
    clq_context *a = NULL;
    TEST_OK(open_with("", "tiles_wg=8 class=gpu quant_wg=16", &a));
    params_of(a, p, sizeof p);
    cr_assert(strstr(p, " tiles_wg=64 ") && strstr(p, "mm_lanes=1 ") && strstr(p, "quant_wg=16"), "%s", p);
    clq_context_destroy(a);
}

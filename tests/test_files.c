/* The library's files: every input must be a regular file and is refused at
 * once otherwise (a FIFO would block), the program cache trusts only a
 * private directory and never follows a planted link, paths too long for
 * their buffers are errors, and an output keeps the mode of the file it
 * replaces and never replaces anything but a regular file with one link. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clq_io.h"
#include "folder.h"
#include "support.h"

/* A hang is a failure: every test that opens a FIFO dies after this long. */
#define HANG_SECONDS 60

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/clq-files-test-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    umask(022);
}

static void remove_dir(void)
{
    test_remove_tree(dir);
}

TestSuite(files, .init = make_dir, .fini = remove_dir, .timeout = 600);

static void path_in(char *out, size_t len, const char *name)
{
    snprintf(out, len, "%s/%s", dir, name);
}

/* Entries of a cache folder (full paths), sorted; returns how many. */
static int list_entries(const char *cache, char out[][512], int max)
{
    int n = 0;
    DIR *d = opendir(cache);
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max)
        if (e->d_name[0] != '.')
            snprintf(out[n++], 512, "%s/%s", cache, e->d_name);
    if (d)
        closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(out[i], out[j]) > 0) {
                char t[512];
                memcpy(t, out[i], 512);
                memcpy(out[i], out[j], 512);
                memcpy(out[j], t, 512);
            }
    return n;
}

/* Quantizes a small weight (builds the quantize program) with the cache at
 * `cache`, in a child process; `before` runs in the child first. Returns
 * the child's exit status, or -1 if it was killed (a hang ends in SIGALRM). */
static int warm_up_in_child(const char *cache, void (*before)(void *), void *arg)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        alarm(HANG_SECONDS);
        if (before)
            before(arg);
        clq_context_options o;
        clq_context_options_init(&o);
        o.cache_dir = cache;
        o.tuning_file = "";
        clq_context *ctx = NULL;
        clq_weight_desc d = {CLQ_FORMAT_Q8, 32, 1, 32, 0};
        float x[32] = {1.0f};
        clq_weight *w = NULL;
        int ok = clq_context_create(&o, &ctx) == CLQ_SUCCESS &&
                 clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, x, sizeof x, &w) == CLQ_SUCCESS;
        if (!ok)
            fprintf(stderr, "warm-up failed: %s\n", clq_last_error());
        clq_weight_destroy(w);
        clq_context_destroy(ctx);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- inputs that are not regular files ------------------------------------------ */

Test(files, fifo_inputs_are_refused_at_once)
{
    alarm(HANG_SECONDS);
    char fifo[128];
    path_in(fifo, sizeof fifo, "model.gguf");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    clq_gguf *g = NULL;
    cr_assert_eq(clq_gguf_open(fifo, &g), CLQ_ERROR_IO);
    cr_assert(strstr(clq_last_error(), "not a regular file"), "%s", clq_last_error());
    clq_safetensors *st = NULL;
    cr_assert_eq(clq_safetensors_open(fifo, &st), CLQ_ERROR_IO);
    cr_assert(strstr(clq_last_error(), "not a regular file"), "%s", clq_last_error());

    clq_context_options o;
    clq_context_options_init(&o);
    o.program_cache = 0;
    o.tuning_file = fifo;
    clq_context *ctx = NULL;
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_IO, "a FIFO as the tuning file");
    cr_assert(strstr(clq_last_error(), "not a regular file"), "%s", clq_last_error());
}

Test(files, tuning_file_that_is_a_directory_is_an_error)
{
    clq_context_options o;
    clq_context_options_init(&o);
    o.program_cache = 0;
    o.tuning_file = dir;
    clq_context *ctx = NULL;
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_IO);
    cr_assert(strstr(clq_last_error(), "not a regular file"), "%s", clq_last_error());
}

static void replace_entries_by(const char *cache, int fifo)
{
    char e[8][512];
    int n = list_entries(cache, e, 8);
    cr_assert_gt(n, 0);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(unlink(e[i]), 0);
        cr_assert_eq(fifo ? mkfifo(e[i], 0600) : mkdir(e[i], 0700), 0, "%s: %s", e[i], strerror(errno));
    }
}

/* A FIFO used to block the build until a writer came; a directory made
 * malloc(ftell()) ask for 2^63 bytes (an abort under ASan). Both count as
 * absent now: the program is built from source. */
Test(files, cache_entry_that_is_a_fifo_or_directory_is_absent)
{
    char cache[128];
    path_in(cache, sizeof cache, "cache");
    cr_assert_eq(warm_up_in_child(cache, NULL, NULL), 0);
    replace_entries_by(cache, 1);
    cr_assert_eq(warm_up_in_child(cache, NULL, NULL), 0, "a FIFO entry blocked or failed the build");
    replace_entries_by(cache, 0);
    cr_assert_eq(warm_up_in_child(cache, NULL, NULL), 0, "a directory entry failed the build");
}

/* ---- the cache's trust ------------------------------------------------------------- */

typedef struct plant {
    const char *entry, *victim;
} plant;

/* The names the cache used for its temporary files: <entry>.<pid>.<n>.tmp. */
static void plant_links(void *arg)
{
    const plant *p = arg;
    char name[700];
    for (int n = 1; n <= 64; n++) {
        snprintf(name, sizeof name, "%s.%ld.%d.tmp", p->entry, (long)getpid(), n);
        if (symlink(p->victim, name) != 0)
            _exit(3);
    }
}

Test(files, cache_never_follows_a_planted_link)
{
    char cache[128], victim[128], e[8][512];
    path_in(cache, sizeof cache, "cache");
    path_in(victim, sizeof victim, "victim.txt");
    cr_assert_eq(warm_up_in_child(cache, NULL, NULL), 0);
    int n = list_entries(cache, e, 8);
    cr_assert_eq(n, 1);
    cr_assert_eq(unlink(e[0]), 0);
    static const char text[] = "someone else's file\n";
    cr_assert_eq(clq_write_file(victim, text, sizeof text - 1), 0);
    plant p = {e[0], victim};
    cr_assert_eq(warm_up_in_child(cache, plant_links, &p), 0);
    size_t size = 0;
    char *after = clq_read_file(victim, &size);
    cr_assert_not_null(after);
    cr_assert(size == sizeof text - 1 && memcmp(after, text, size) == 0, "the planted link was followed");
    free(after);
    struct stat st;
    cr_assert_eq(lstat(e[0], &st), 0);
    cr_assert(S_ISREG(st.st_mode), "the entry is a regular file, not the planted link");
}

Test(files, cache_dir_writable_by_others_is_refused)
{
    char cache[128], why[512], e[8][512];
    path_in(cache, sizeof cache, "shared");
    cr_assert_eq(mkdir(cache, 0700), 0);
    cr_assert_eq(chmod(cache, 0777), 0);
    /* The child first: PoCL does not survive a fork once this process has
     * used it. */
    cr_assert_eq(warm_up_in_child(cache, NULL, NULL), 0, "the build goes on without the cache");
    cr_assert_eq(list_entries(cache, e, 8), 0, "nothing is stored in a shared directory");
    clq_context_options o;
    clq_context_options_init(&o);
    o.cache_dir = cache;
    o.tuning_file = "";
    clq_context *ctx = NULL;
    TEST_OK(clq_context_create(&o, &ctx));
    cr_assert_eq(clq_context_cache_state(ctx, why, sizeof why), CLQ_CACHE_REFUSED);
    cr_assert(strstr(why, cache) && strstr(why, "writable by group or others"), "%s", why);
    clq_context_destroy(ctx);

    /* Group-writable is refused too; 0755 (as earlier clq versions made
     * it) is fine. */
    cr_assert_eq(chmod(cache, 0770), 0);
    TEST_OK(clq_context_create(&o, &ctx));
    cr_assert_eq(clq_context_cache_state(ctx, NULL, 0), CLQ_CACHE_REFUSED);
    clq_context_destroy(ctx);
    cr_assert_eq(chmod(cache, 0755), 0);
    TEST_OK(clq_context_create(&o, &ctx));
    cr_assert_eq(clq_context_cache_state(ctx, why, sizeof why), CLQ_CACHE_ON);
    cr_assert_str_empty(why);
    clq_context_destroy(ctx);
    o.program_cache = 0;
    TEST_OK(clq_context_create(&o, &ctx));
    cr_assert_eq(clq_context_cache_state(ctx, NULL, 0), CLQ_CACHE_OFF);
    clq_context_destroy(ctx);
}

Test(files, cache_dir_that_is_a_file_is_refused)
{
    char cache[128], why[512];
    path_in(cache, sizeof cache, "file");
    cr_assert_eq(clq_write_file(cache, "x", 1), 0);
    clq_context_options o;
    clq_context_options_init(&o);
    o.cache_dir = cache;
    o.tuning_file = "";
    clq_context *ctx = NULL;
    TEST_OK(clq_context_create(&o, &ctx));
    cr_assert_eq(clq_context_cache_state(ctx, why, sizeof why), CLQ_CACHE_REFUSED);
    cr_assert(strstr(why, "not a directory"), "%s", why);
    clq_context_destroy(ctx);
}

Test(files, new_cache_dirs_are_private)
{
    char cache[128], parent[128];
    path_in(parent, sizeof parent, "new");
    path_in(cache, sizeof cache, "new/clq");
    cr_assert_eq(warm_up_in_child(cache, NULL, NULL), 0);
    struct stat st;
    cr_assert_eq(stat(cache, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "cache directory mode %o", (unsigned)(st.st_mode & 0777));
    cr_assert_eq(stat(parent, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700, "parent made for it: mode %o", (unsigned)(st.st_mode & 0777));
}

/* ---- paths longer than their buffers ------------------------------------------------- */

Test(files, paths_too_long_are_errors)
{
    char *longer = malloc(2001);
    cr_assert_not_null(longer);
    memset(longer, 'a', 2000);
    longer[0] = '/';
    longer[2000] = '\0';
    clq_context_options o;
    clq_context_options_init(&o);
    o.cache_dir = longer;
    clq_context *ctx = NULL;
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_INVALID_ARGUMENT, "a long options.cache_dir");
    cr_assert(strstr(clq_last_error(), "cache directory"), "%s", clq_last_error());
    o.cache_dir = NULL;
    cr_assert_eq(setenv("CLQ_CACHE_DIR", longer, 1), 0);
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_INVALID_ARGUMENT, "a long CLQ_CACHE_DIR");
    cr_assert(strstr(clq_last_error(), "CLQ_CACHE_DIR"), "%s", clq_last_error());
    cr_assert_eq(setenv("CLQ_CACHE_DIR", dir, 1), 0);
    o.tuning_file = longer;
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_INVALID_ARGUMENT, "a long options.tuning_file");
    o.tuning_file = NULL;
    cr_assert_eq(setenv("CLQ_TUNING_FILE", longer, 1), 0);
    cr_assert_eq(clq_context_create(&o, &ctx), CLQ_ERROR_INVALID_ARGUMENT, "a long CLQ_TUNING_FILE");
    cr_assert(strstr(clq_last_error(), "tuning file"), "%s", clq_last_error());
    free(longer);
}

/* ---- outputs ---------------------------------------------------------------------------- */

static clq_status write_safetensors(const char *path)
{
    clq_safetensors_writer *sw = NULL;
    const float v[4] = {1, 2, 3, 4};
    const uint64_t four[1] = {4};
    TEST_OK(clq_safetensors_writer_create(&sw));
    TEST_OK(clq_safetensors_writer_add_tensor(sw, "v", CLQ_SAFETENSORS_F32, 1, four, v, sizeof v));
    clq_status status = clq_safetensors_writer_write(sw, path);
    clq_safetensors_writer_destroy(sw);
    return status;
}

/* Only the names given are in the test folder: no temporary file is left. */
static void assert_only(const char *a, const char *b)
{
    char e[8][512];
    int n = list_entries(dir, e, 8);
    for (int i = 0; i < n; i++) {
        const char *name = strrchr(e[i], '/') + 1;
        cr_assert(strcmp(name, a) == 0 || (b && strcmp(name, b) == 0), "left behind: %s", e[i]);
    }
}

Test(files, output_keeps_the_mode_it_replaces)
{
    char path[128];
    path_in(path, sizeof path, "out.safetensors");
    TEST_OK(write_safetensors(path));
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644, "a new file: 0666 less the umask");
    cr_assert_eq(chmod(path, 0600), 0);
    TEST_OK(write_safetensors(path));
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o after replacing a 0600 file",
                 (unsigned)(st.st_mode & 0777));

    /* The tuning file the same way. */
    char tuning[128], params[512];
    path_in(tuning, sizeof tuning, "tuning.txt");
    cr_assert_eq(clq_write_file(tuning, "# mine\n", 7), 0);
    cr_assert_eq(chmod(tuning, 0600), 0);
    clq_context *ctx = test_context();
    TEST_OK(clq_context_tuning(ctx, params, sizeof params));
    TEST_OK(clq_tuning_save(ctx, params, tuning));
    cr_assert_eq(stat(tuning, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "tuning file mode %o", (unsigned)(st.st_mode & 0777));
    assert_only("out.safetensors", "tuning.txt");
}

Test(files, output_refuses_special_files)
{
    alarm(HANG_SECONDS);
    char path[128];
    struct stat st;
    path_in(path, sizeof path, "fifo");
    cr_assert_eq(mkfifo(path, 0600), 0);
    cr_assert_eq(write_safetensors(path), CLQ_ERROR_IO);
    cr_assert(strstr(clq_last_error(), "a FIFO"), "%s", clq_last_error());
    cr_assert(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");

    path_in(path, sizeof path, "folder");
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_assert_eq(write_safetensors(path), CLQ_ERROR_IO);
    cr_assert(strstr(clq_last_error(), "a directory"), "%s", clq_last_error());

    char target[128];
    path_in(target, sizeof target, "target");
    cr_assert_eq(clq_write_file(target, "keep", 4), 0);
    path_in(path, sizeof path, "link");
    cr_assert_eq(symlink(target, path), 0);
    clq_gguf_writer *gw = NULL;
    TEST_OK(clq_gguf_writer_create(&gw));
    TEST_OK(clq_gguf_writer_add_string(gw, "general.architecture", "clq"));
    cr_assert_eq(clq_gguf_writer_write(gw, path), CLQ_ERROR_IO);
    clq_gguf_writer_destroy(gw);
    cr_assert(strstr(clq_last_error(), "a symbolic link"), "%s", clq_last_error());
    cr_assert(lstat(path, &st) == 0 && S_ISLNK(st.st_mode), "the link was replaced");
    cr_assert(stat(target, &st) == 0 && st.st_size == 4, "the link's target was written");
}

Test(files, output_refuses_to_break_a_hard_link)
{
    char a[128], b[128];
    path_in(a, sizeof a, "a.safetensors");
    path_in(b, sizeof b, "b.safetensors");
    cr_assert_eq(clq_write_file(a, "old", 3), 0);
    cr_assert_eq(link(a, b), 0);
    cr_assert_eq(write_safetensors(a), CLQ_ERROR_IO);
    cr_assert(strstr(clq_last_error(), "hard links"), "%s", clq_last_error());
    struct stat sa, sb;
    cr_assert_eq(stat(a, &sa), 0);
    cr_assert_eq(stat(b, &sb), 0);
    cr_assert(sa.st_ino == sb.st_ino && sa.st_size == 3, "the link was broken or the file changed");
    assert_only("a.safetensors", "b.safetensors");
}

/* ---- status texts ------------------------------------------------------------------------ */

/* A zero dimension is a shape error; the status's text must not name
 * another rule. */
Test(files, zero_rows_status_text_fits)
{
    clq_weight_desc d = {CLQ_FORMAT_Q4, 32, 0, 64, 0};
    cr_assert_eq(clq_weight_desc_check(&d), CLQ_ERROR_SHAPE);
    cr_assert(strstr(clq_last_error(), "rows and cols must be positive"), "%s", clq_last_error());
    cr_assert_null(strstr(clq_status_string(CLQ_ERROR_SHAPE), "multiple of the block"), "%s",
                   clq_status_string(CLQ_ERROR_SHAPE));
}

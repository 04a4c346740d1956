/* The on-disk program cache: entries are written once, reused by a second
 * process, and a truncated, corrupted or stale entry is rebuilt rather than
 * handed to the driver. Each test uses a cache folder of its own. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "folder.h"
#include "support.h"

#define MAX_ENTRIES 8

typedef struct entry {
    char path[512];
    ino_t inode;
    off_t size;
} entry;

static char cache_dir[64];

static void make_cache_dir(void)
{
    snprintf(cache_dir, sizeof cache_dir, "/tmp/clq-cache-test-XXXXXX");
    cr_assert_not_null(mkdtemp(cache_dir));
}

static void remove_cache_dir(void)
{
    DIR *d = opendir(cache_dir);
    struct dirent *e;
    char path[600];
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", cache_dir, e->d_name);
            remove(path);
        }
    if (d)
        closedir(d);
    rmdir(cache_dir);
}

/* Lists the cache entries, sorted by name. */
static int list_entries(entry *out)
{
    int n = 0;
    DIR *d = opendir(cache_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && n < MAX_ENTRIES) {
        if (e->d_name[0] == '.')
            continue;
        struct stat st;
        snprintf(out[n].path, sizeof out[n].path, "%s/%s", cache_dir, e->d_name);
        cr_assert_eq(stat(out[n].path, &st), 0);
        out[n].inode = st.st_ino;
        out[n].size = st.st_size;
        n++;
    }
    if (d)
        closedir(d);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(out[i].path, out[j].path) > 0) {
                entry t = out[i];
                out[i] = out[j];
                out[j] = t;
            }
    return n;
}

/* Quantizes and exports a small weight with the cache at cache_dir, which
 * builds two programs (quantize, repack), in a child process so that nothing
 * (not even the driver's own state) is shared with the test. */
static void warm_up_in_new_process(int use_cache)
{
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        clq_context_options o;
        clq_context_options_init(&o);
        o.cache_dir = cache_dir;
        o.program_cache = use_cache;
        clq_context *ctx = NULL;
        clq_weight_desc d = {CLQ_FORMAT_Q8, 32, 1, 32, 0};
        float x[32] = {1.0f};
        unsigned char blocks[34];
        clq_external e = {.data = blocks, .data_bytes = sizeof blocks};
        clq_weight *w = NULL;
        int ok = clq_context_create(&o, &ctx) == CLQ_SUCCESS &&
                 clq_weight_quantize_host(ctx, &d, CLQ_DTYPE_F32, x, sizeof x, &w) == CLQ_SUCCESS &&
                 clq_weight_export(w, CLQ_LAYOUT_GGML, &e) == CLQ_SUCCESS;
        clq_weight_destroy(w);
        if (!ok)
            fprintf(stderr, "warm-up failed: %s\n", clq_last_error());
        clq_context_destroy(ctx);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "warm-up process failed");
}

TestSuite(cache, .init = make_cache_dir, .fini = remove_cache_dir);

Test(cache, second_process_reuses_entries)
{
    warm_up_in_new_process(1);
    entry first[MAX_ENTRIES], second[MAX_ENTRIES];
    int n = list_entries(first);
    cr_assert_eq(n, 2, "expected one entry per program, found %d", n);
    warm_up_in_new_process(1);
    cr_assert_eq(list_entries(second), n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(first[i].inode, second[i].inode, "%s was rewritten instead of reused", first[i].path);
}

Test(cache, disabled_cache_writes_nothing)
{
    warm_up_in_new_process(0);
    entry e[MAX_ENTRIES];
    cr_assert_eq(list_entries(e), 0);
}

/* Damages every entry with `damage`, then checks a new process rebuilds and
 * replaces each one, and that the replacement is whole: a third process
 * reuses it. */
static void check_rebuilt_after(void (*damage)(const entry *e))
{
    warm_up_in_new_process(1);
    entry before[MAX_ENTRIES], after[MAX_ENTRIES], again[MAX_ENTRIES];
    int n = list_entries(before);
    cr_assert_eq(n, 2);
    for (int i = 0; i < n; i++)
        damage(&before[i]);
    warm_up_in_new_process(1);
    cr_assert_eq(list_entries(after), n);
    for (int i = 0; i < n; i++)
        cr_assert_neq(before[i].inode, after[i].inode, "%s was not rewritten", before[i].path);
    warm_up_in_new_process(1);
    cr_assert_eq(list_entries(again), n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(after[i].inode, again[i].inode, "the rebuilt %s was not reused", after[i].path);
}

static void truncate_entry(const entry *e)
{
    cr_assert_eq(truncate(e->path, e->size / 2), 0);
}

static void flip_a_byte(const entry *e)
{
    FILE *f = fopen(e->path, "r+b");
    cr_assert_not_null(f);
    fseek(f, e->size * 3 / 4, SEEK_SET); /* inside the binary */
    int c = fgetc(f);
    fseek(f, e->size * 3 / 4, SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
}

static void empty_entry(const entry *e)
{
    cr_assert_eq(truncate(e->path, 0), 0);
}

Test(cache, truncated_entry_is_rebuilt)
{
    check_rebuilt_after(truncate_entry);
}
Test(cache, corrupted_entry_is_rebuilt)
{
    check_rebuilt_after(flip_a_byte);
}
Test(cache, empty_entry_is_rebuilt)
{
    check_rebuilt_after(empty_entry);
}

/* A whole, valid entry stored under another key's name (as after a driver
 * update reusing a file name) is stale: its key text does not match. */
Test(cache, entry_under_the_wrong_key_is_rebuilt)
{
    warm_up_in_new_process(1);
    entry e[MAX_ENTRIES], after[MAX_ENTRIES];
    cr_assert_eq(list_entries(e), 2);
    size_t size;
    void *other = clq_read_file(e[1].path, &size);
    FILE *f = fopen(e[0].path, "wb");
    fwrite(other, 1, size, f);
    fclose(f);
    struct stat copied;
    cr_assert_eq(stat(e[0].path, &copied), 0);
    warm_up_in_new_process(1);
    cr_assert_eq(list_entries(after), 2);
    /* Rewritten (a new file renamed into place), and no longer the other
     * program's entry. */
    cr_assert_neq(after[0].inode, copied.st_ino, "the stale entry was not rewritten");
    size_t rebuilt_size;
    void *rebuilt = clq_read_file(after[0].path, &rebuilt_size);
    cr_assert(rebuilt_size != size || memcmp(rebuilt, other, size) != 0, "the stale entry is still there");
    free(rebuilt);
    free(other);
}

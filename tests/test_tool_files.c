/* The clq tool's files: a folder is replaced as a whole or not at all, a
 * file's size is checked before it is read, a FIFO is refused at once, an
 * output keeps its mode and never replaces a special file, meta.txt keys are
 * unique, only the files a command needs are read, and `clq bench` touches
 * no output before it has validated its options and devices. */
#define _DEFAULT_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "folder.h"
#include "support.h"

#define NF4_DIR CLQ_TEST_DATA_DIR "/bnb-nf4-b64"
#define HANG_SECONDS 120

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static char root[256];

static void make_root(void)
{
    test_make_temp_dir(root, sizeof root, "clq-tool-files");
    umask(022);
}

static void remove_root(void)
{
    test_remove_tree(root);
}

TestSuite(tool_files, .init = make_root, .fini = remove_root, .timeout = 600);

static const char *in_root(const char *name)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", root, name);
    return p;
}

/* Every run is killed if it hangs (a FIFO read would block forever). */
static const test_run_limits no_hang = {.seconds = HANG_SECONDS};

static void copy_file(const char *from, const char *to)
{
    size_t size = 0;
    void *data = clq_read_file(from, &size);
    cr_assert_not_null(data, "cannot read %s", from);
    cr_assert_eq(clq_write_file(to, data, size), 0, "cannot write %s: %s", to, strerror(errno));
    free(data);
}

/* A copy of the nf4 vector folder at root/name. */
static const char *copy_nf4(const char *name)
{
    static const char *const files[] = {"meta.txt", "packed.u8", "absmax.f32", "input.f32", "dequant.f32"};
    const char *dir = in_root(name);
    cr_assert_eq(mkdir(dir, 0755), 0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char from[600], to[600];
        snprintf(from, sizeof from, "%s/%s", NF4_DIR, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        copy_file(from, to);
    }
    return dir;
}

static int same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    void *x = clq_read_file(a, &na), *y = clq_read_file(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static int count_prefixed(const char *prefix)
{
    int n = 0;
    DIR *d = opendir(root);
    for (struct dirent *e; d && (e = readdir(d));)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return n;
}

/* ---- 1: a folder is the old one or the new one ----------------------------------- */

Test(tool_files, failed_quantize_leaves_the_old_folder_whole)
{
    char err[512], path[600], keep[600];
    test_run r;
    const char *w = in_root("W"), *input = NF4_DIR "/input.f32";
    test_run_tool_limited(&r, &no_hang, "quantize", "--format", "nf4", "--layout", "bnb", "--block", "64",
                          "--rows", "64", "--cols", "256", input, w, NULL);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    static const char *const files[] = {"meta.txt", "packed.u8", "absmax.f32"};
    const char *saved = in_root("saved");
    cr_assert_eq(mkdir(saved, 0755), 0);
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", w, files[i]);
        snprintf(keep, sizeof keep, "%s/%s", saved, files[i]);
        copy_file(path, keep);
    }
    /* fp4 into the same W, on a "disk" that fills up after 16 KiB per file:
     * packed.u8 (8 KiB) and absmax.f32 fit, input.f32 (64 KiB) does not. */
    test_run_limits lim = {.file_size = 16384, .seconds = HANG_SECONDS};
    test_run_tool_limited(&r, &lim, "quantize", "--format", "fp4", "--layout", "bnb", "--block", "64",
                          "--rows", "64", "--cols", "256", input, w, NULL);
    cr_assert_neq(r.exit_code, 0, "the write past the limit must fail: %s", r.err);
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", w, files[i]);
        snprintf(keep, sizeof keep, "%s/%s", saved, files[i]);
        cr_assert(same_file(path, keep), "%s changed: the folder is a mix of nf4 and fp4", path);
    }
    cr_assert_eq(count_prefixed("W."), 0, "the failed folder was left beside W");
    const char *out = in_root("out.f32");
    test_run_tool_limited(&r, &no_hang, "dequantize", w, out, NULL);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    snprintf(path, sizeof path, "%s/dequant.f32", w);
    cr_assert(same_file(out, path), "W no longer dequantizes to its own dequant.f32");

    /* Without the limit the fp4 folder replaces it, mode kept. */
    cr_assert_eq(chmod(w, 0750), 0);
    test_run_tool_limited(&r, &no_hang, "quantize", "--format", "fp4", "--layout", "bnb", "--block", "64",
                          "--rows", "64", "--cols", "256", input, w, NULL);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    clq_folder f;
    cr_assert_eq(clq_folder_read(w, &f, err, sizeof err), CLQ_SUCCESS, "%s", err);
    cr_assert_eq(f.desc.format, CLQ_FORMAT_FP4);
    clq_folder_free(&f);
    struct stat st;
    cr_assert_eq(stat(w, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0750, "folder mode %o", (unsigned)(st.st_mode & 0777));
    cr_assert_eq(count_prefixed("W."), 0, "the old folder was left beside W");
}

Test(tool_files, folder_write_refuses_a_directory_with_other_files)
{
    clq_folder f;
    char err[512], path[600];
    cr_assert_eq(clq_folder_read(NF4_DIR, &f, err, sizeof err), CLQ_SUCCESS, "%s", err);
    const char *home = in_root("home");
    cr_assert_eq(mkdir(home, 0755), 0);
    snprintf(path, sizeof path, "%s/notes.txt", home);
    cr_assert_eq(clq_write_file(path, "mine", 4), 0);
    cr_assert_eq(clq_folder_write(home, &f, err, sizeof err), CLQ_ERROR_IO);
    cr_assert(strstr(err, "notes.txt"), "%s", err);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "a file that is not part of a folder was removed");
    /* A new folder, and one given with a trailing slash. */
    const char *fresh = in_root("fresh/");
    cr_assert_eq(clq_folder_write(fresh, &f, err, sizeof err), CLQ_SUCCESS, "%s", err);
    cr_assert_eq(clq_folder_write(fresh, &f, err, sizeof err), CLQ_SUCCESS, "%s", err);
    clq_folder_free(&f);
    cr_assert_eq(count_prefixed("fresh."), 0);
}

/* ---- 5: sizes before reads ------------------------------------------------------------ */

/* A sparse file of 2 GiB costs no disk; reading it whole would cost 2 GiB of
 * memory. The limit on the address space turns that into a failure. */
static void make_sparse(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)1 << 31), 0);
    close(fd);
}

Test(tool_files, sizes_are_checked_before_reading)
{
    char path[600];
    test_run r;
    const char *dir = copy_nf4("big");
    snprintf(path, sizeof path, "%s/packed.u8", dir);
    make_sparse(path);
#ifdef UNDER_ASAN
    test_run_limits lim = no_hang;
#else
    test_run_limits lim = {.address_space = 1ull << 30, .seconds = HANG_SECONDS};
#endif
    test_run_tool_limited(&r, &lim, "dequantize", dir, in_root("d.f32"), NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "2147483648 bytes, expected 8192"), "%s", r.err);

    const char *x = in_root("x.f32");
    make_sparse(x);
    test_run_tool_limited(&r, &lim, "matmul", "--weight", NF4_DIR, "--input", x, "--rows", "1",
                          in_root("y.f32"), NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "has 2147483648 bytes, expected 1024"), "%s", r.err);

    /* A LoRA folder's A (rank 2 of the 64 x 256 weight: 2 x 256 fp32). */
    char lora[256];
    snprintf(lora, sizeof lora, "%s", in_root("lora"));
    cr_assert_eq(mkdir(lora, 0755), 0);
    snprintf(path, sizeof path, "%s/meta.txt", lora);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("rank=2\nalpha=4\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/b.f32", lora);
    static const float b[64 * 2];
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, sizeof b, 1, f), 1);
    fclose(f);
    snprintf(path, sizeof path, "%s/a.f32", lora);
    make_sparse(path);
    test_run_tool_limited(&r, &lim, "matmul", "--weight", NF4_DIR, "--input", NF4_DIR "/input.f32", "--rows",
                          "64", "--lora", lora, in_root("y.f32"), NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "2147483648 bytes, but"), "%s", r.err);
}

/* ---- 6: FIFOs -------------------------------------------------------------------------- */

Test(tool_files, fifos_are_refused_at_once)
{
    char path[600];
    test_run r;
    const char *dir = copy_nf4("fifo");
    snprintf(path, sizeof path, "%s/absmax.f32", dir);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(mkfifo(path, 0600), 0);
    test_run_tool_limited(&r, &no_hang, "dequantize", dir, in_root("d.f32"), NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "not a regular file"), "%s", r.err);

    const char *x = in_root("x.fifo");
    cr_assert_eq(mkfifo(x, 0600), 0);
    test_run_tool_limited(&r, &no_hang, "matmul", "--weight", NF4_DIR, "--input", x, "--rows", "1",
                          in_root("y.f32"), NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "not a regular file"), "%s", r.err);
    test_run_tool_limited(&r, &no_hang, "inspect", x, NULL);
    cr_assert_neq(r.exit_code, 0);
    cr_assert(strstr(r.err, "not a regular file"), "%s", r.err);
    test_run_tool_limited(&r, &no_hang, "quantize", "--format", "nf4", "--layout", "bnb", "--block", "64",
                          "--rows", "64", "--cols", "256", x, in_root("q"), NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "not a regular file"), "%s", r.err);
}

/* ---- 8: outputs -------------------------------------------------------------------------- */

Test(tool_files, outputs_keep_their_mode_and_refuse_special_files)
{
    test_run r;
    const char *out = in_root("d.f32");
    cr_assert_eq(clq_write_file(out, "old", 3), 0);
    cr_assert_eq(chmod(out, 0600), 0);
    test_run_tool_limited(&r, &no_hang, "dequantize", NF4_DIR, out, NULL);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    struct stat st;
    cr_assert_eq(stat(out, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o after replacing a 0600 file",
                 (unsigned)(st.st_mode & 0777));
    cr_assert(same_file(out, NF4_DIR "/dequant.f32"));

    const char *fifo = in_root("out.fifo");
    cr_assert_eq(mkfifo(fifo, 0600), 0);
    test_run_tool_limited(&r, &no_hang, "dequantize", NF4_DIR, fifo, NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "a FIFO"), "%s", r.err);
    cr_assert(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO was replaced");

    const char *link_a = in_root("a.f32"), *link_b = in_root("b.f32");
    cr_assert_eq(clq_write_file(link_a, "old", 3), 0);
    cr_assert_eq(link(link_a, link_b), 0);
    test_run_tool_limited(&r, &no_hang, "matmul", "--weight", NF4_DIR, "--input", NF4_DIR "/input.f32",
                          "--rows", "64", link_a, NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "hard links"), "%s", r.err);
    struct stat sb;
    cr_assert(stat(link_a, &st) == 0 && stat(link_b, &sb) == 0 && st.st_ino == sb.st_ino && st.st_size == 3);
}

/* ---- 9: bench validates before it writes ----------------------------------------------- */

Test(tool_files, bench_leaves_an_old_csv_alone_when_it_fails)
{
    test_run r;
    const char *csv = in_root("old.csv"), *json = in_root("old.json");
    cr_assert_eq(clq_write_file(csv, "a,b\n1,2\n", 8), 0);
    cr_assert_eq(clq_write_file(json, "{}\n", 3), 0);
    test_run_tool_limited(&r, &no_hang, "bench", "--csv", csv, "--json", json, "--device",
                          "no-such-device-anywhere", NULL);
    cr_assert_neq(r.exit_code, 0);
    struct stat st;
    cr_assert(stat(csv, &st) == 0 && st.st_size == 8, "old.csv was touched: %s", r.err);
    cr_assert(stat(json, &st) == 0 && st.st_size == 3, "old.json was touched: %s", r.err);
}

/* ---- 15: meta.txt keys, files a command does not need --------------------------------- */

Test(tool_files, meta_key_given_twice_is_an_error)
{
    char path[600];
    test_run r;
    const char *dir = copy_nf4("twice");
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    static const char meta[] = "format=fp4\nlayout=bnb\nrows=64\ncols=256\nblock=64\nformat=nf4\n";
    cr_assert_eq(clq_write_file(path, meta, sizeof meta - 1), 0);
    test_run_tool_limited(&r, &no_hang, "dequantize", dir, in_root("d.f32"), NULL);
    cr_assert_eq(r.exit_code, 1, "%s", r.err);
    cr_assert(strstr(r.err, "key 'format' repeats line 1"), "%s", r.err);
}

Test(tool_files, dequantize_ignores_an_unneeded_input_file)
{
    char err[512], path[600];
    test_run r;
    const char *dir = copy_nf4("extra");
    snprintf(path, sizeof path, "%s/input.f32", dir);
    cr_assert_eq(clq_write_file(path, "short", 5), 0);
    const char *out = in_root("d.f32");
    test_run_tool_limited(&r, &no_hang, "dequantize", dir, out, NULL);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    cr_assert(same_file(out, NF4_DIR "/dequant.f32"));
    /* The reader that loads the samples still checks them. */
    clq_folder f;
    cr_assert_eq(clq_folder_read(dir, &f, err, sizeof err), CLQ_ERROR_BAD_DATA);
    cr_assert(strstr(err, "5 bytes, expected 65536"), "%s", err);
}

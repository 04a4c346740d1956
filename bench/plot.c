/* Charts with gnuplot (see report.h): for each device, shape and LoRA
 * configuration, one PNG with two panels, achieved GB/s and GFLOP/s against
 * M. A colour per format: solid is clq fused, dashed the unfused path (clq
 * dequantize + CLBlast), dotted the roofline of the fused run; black is
 * CLBlast on the fp32 matrix (grey: fp16). The device's read bandwidth and
 * FMA peak are drawn across. clq writes the data and a script, plot.gp, and
 * runs gnuplot on it, so the charts can be restyled and redrawn by hand. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define MAX_CHARTS 512
#define MAX_SERIES 64

static const char *const COLOURS[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                      "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
#define N_COLOURS (sizeof COLOURS / sizeof COLOURS[0])

/* A chart: one device, shape and LoRA configuration. */
static int same_chart(const bench_record *a, const bench_record *b)
{
    return a->device == b->device && a->n == b->n && a->k == b->k && a->shape == b->shape &&
           a->rank == b->rank && a->adapters == b->adapters;
}

/* A series: clq fused, unfused or CLBlast, at one format and block. */
static int same_series(const bench_record *a, const bench_record *b)
{
    return strcmp(a->impl, b->impl) == 0 && strcmp(a->format, b->format) == 0 && a->block == b->block &&
           a->double_quant == b->double_quant;
}

static int cmp_m(const void *x, const void *y)
{
    const bench_record *a = *(const bench_record *const *)x, *b = *(const bench_record *const *)y;
    return (a->m > b->m) - (a->m < b->m);
}

int bench_make_dirs(const char *dir)
{
    char path[4096];
    if (!*dir || snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) {
        errno = !*dir ? ENOENT : ENAMETOOLONG;
        return -1;
    }
    for (char *p = path + 1;; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            if (mkdir(path, 0777) != 0 && errno != EEXIST)
                return -1;
            *p = c;
        }
        if (c == '\0')
            return 0;
    }
}

static void chart_name(const bench_record *r, char *buf, size_t len)
{
    char sel[24];
    snprintf(sel, sizeof sel, "%s", r->device->selector);
    for (char *p = sel; *p; p++)
        if (*p == ':')
            *p = '-';
    if (r->adapters > 1)
        snprintf(buf, len, "matmul_d%s_%llux%llu_r%ux%u", sel, (unsigned long long)r->n,
                 (unsigned long long)r->k, r->rank, r->adapters);
    else
        snprintf(buf, len, "matmul_d%s_%llux%llu_r%u", sel, (unsigned long long)r->n,
                 (unsigned long long)r->k, r->rank);
}

static void series_title(const bench_record *r, char *buf, size_t len)
{
    char weight[32];
    bench_record_weight(r, weight, sizeof weight);
    if (strcmp(r->impl, "clq") == 0)
        snprintf(buf, len, "clq fused %s", weight);
    else if (strcmp(r->impl, "clblast") == 0)
        snprintf(buf, len, "CLBlast %s",
                 strcmp(r->format, "f16") == 0 ? "fp16 (hgemv/hgemm)" : "fp32 (sgemv/sgemm)");
    else
        snprintf(buf, len, "clq dequant + CLBlast, %s", weight);
}

/* Writes the data of one chart: a gnuplot block per series (index i),
 * columns M, GB/s, GFLOP/s, roofline GB/s, roofline GFLOP/s. Fills
 * firsts[] with each series' first record; returns the number of series. */
static int write_chart_data(FILE *f, const bench_results *res, const bench_record *key,
                            const bench_record **firsts)
{
    int n_series = 0;
    const bench_record **pts = malloc(res->count * sizeof *pts);
    if (!pts)
        return -1;
    for (size_t i = 0; i < res->count && n_series < MAX_SERIES; i++) {
        const bench_record *r = &res->items[i];
        int known = 0;
        for (int s = 0; s < n_series; s++)
            known |= same_series(firsts[s], r);
        if (r->op != BENCH_OP_MATMUL || !same_chart(r, key) || known)
            continue;
        size_t n = 0;
        for (size_t j = i; j < res->count; j++)
            if (res->items[j].op == BENCH_OP_MATMUL && same_chart(&res->items[j], key) &&
                same_series(&res->items[j], r))
                pts[n++] = &res->items[j];
        qsort(pts, n, sizeof *pts, cmp_m);
        char title[64];
        series_title(r, title, sizeof title);
        fprintf(f, "%s# %s\n", n_series ? "\n\n" : "", title);
        for (size_t j = 0; j < n; j++) {
            const bench_record *p = pts[j];
            double bound_s = p->bound_us * 1e-6;
            fprintf(f, "%llu %.6g %.6g %.6g %.6g\n", (unsigned long long)p->m, p->gbps, p->gflops,
                    bound_s > 0 ? p->bytes / bound_s / 1e9 : 0, bound_s > 0 ? p->flops / bound_s / 1e9 : 0);
        }
        firsts[n_series++] = r;
    }
    free(pts);
    return n_series;
}

/* The colour of a quantized series: one per weight (format, block, double
 * quantization), in the order the pairs first appear, so a pair's fused and
 * unfused series match. */
static const char *pair_colour(const bench_record **series, const bench_record *r)
{
    int distinct = 0;
    for (const bench_record **s = series; *s != r; s++) {
        int seen = strcmp((*s)->impl, "clblast") == 0;
        for (const bench_record **t = series; t < s && !seen; t++)
            seen = strcmp((*t)->impl, "clblast") != 0 && strcmp((*t)->format, (*s)->format) == 0 &&
                   (*t)->block == (*s)->block && (*t)->double_quant == (*s)->double_quant;
        if (!seen && strcmp((*s)->format, r->format) == 0 && (*s)->block == r->block &&
            (*s)->double_quant == r->double_quant)
            return COLOURS[distinct % N_COLOURS];
        distinct += !seen;
    }
    return COLOURS[distinct % N_COLOURS];
}

/* One panel: column 2 (GB/s) or 3 (GFLOP/s), roofline from column 4 or 5;
 * the device's peak is a labelled line. Only the first panel has the key
 * (both show the same series), placed right of both panels. */
static void write_panel(FILE *gp, const char *dat, const bench_record **series, int n, int col, double peak,
                        const char *peak_title, int first)
{
    fprintf(gp, "set lmargin at screen %s\nset rmargin at screen %s\n", first ? "0.05" : "0.46",
            first ? "0.39" : "0.80");
    if (first)
        fprintf(gp, "set key at screen 0.82, 0.9 left top Left reverse font ',9' spacing 1.1\n");
    else
        fprintf(gp, "unset key\n");
    fprintf(gp, "set label 1 '%s' at graph 0.02, first %.6g offset 0, 0.6 textcolor rgb '#666666'\n",
            peak_title, peak);
    fprintf(gp, "plot \\\n");
    for (int s = 0; s < n; s++) {
        const bench_record *r = series[s];
        char title[64];
        series_title(r, title, sizeof title);
        int base = strcmp(r->impl, "clblast") == 0, fused = strcmp(r->impl, "clq") == 0;
        int f16 = strcmp(r->format, "f16") == 0;
        const char *rgb = base ? (f16 ? "#7f7f7f" : "#000000") : pair_colour(series, r);
        fprintf(
            gp,
            "  '%s' index %d using 1:%d with linespoints lw 2 pt 7 ps 0.8 dt %d lc rgb '%s' title '%s', \\\n",
            dat, s, col, fused || base ? 1 : 2, rgb, title);
        if (fused || (base && !f16))
            fprintf(gp, "  '%s' index %d using 1:%d with lines lw 1 dt 3 lc rgb '%s' notitle, \\\n", dat, s,
                    col + 2, rgb);
    }
    fprintf(gp,
            "  NaN with lines lw 1 dt 3 lc rgb '#555555' title 'roofline bound of the same colour', \\\n"
            "  %.6g with lines lw 1 dt 4 lc rgb '#999999' notitle\n"
            "unset label 1\n",
            peak);
}

/* The script's preamble: PNG via cairo where gnuplot has it, else libgd. */
static void write_preamble(FILE *gp)
{
    fprintf(gp, "# Written by clq bench: charts of GB/s and GFLOP/s against M. Run: gnuplot plot.gp\n"
                "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
                "  set terminal pngcairo size 1500,600 noenhanced font 'sans,10'\n"
                "} else {\n"
                "  set terminal png size 1500,600 noenhanced\n"
                "}\n"
                "set logscale x 2\nset logscale y\nset grid\nset xlabel 'M (rows of X)'\n");
}

static int write_chart(FILE *gp, const char *dir, const bench_results *res, const bench_record *key)
{
    char name[160], path[4352];
    chart_name(key, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const bench_record *series[MAX_SERIES];
    int n = write_chart_data(f, res, key, series);
    if (fclose(f) != 0 || n <= 0)
        return -1;
    const bench_device *d = key->device;
    char lora[48] = "no LoRA", peak[96];
    if (key->rank)
        snprintf(lora, sizeof lora, key->adapters > 1 ? "LoRA rank %u, %u adapters" : "LoRA rank %u",
                 key->rank, key->adapters);
    fprintf(gp, "\nset output '%s.png'\n", name);
    fprintf(gp, "set multiplot layout 1,2 title 'clq %s: matmul %llux%llu (%s), %s, on %s (%s)'\n",
            clq_version_string(), (unsigned long long)key->n, (unsigned long long)key->k, key->shape, lora,
            d->name, d->driver);
    char dat[176];
    snprintf(dat, sizeof dat, "%s.dat", name);
    fprintf(gp, "set ylabel 'achieved GB/s'\n");
    snprintf(peak, sizeof peak, "read bandwidth %.1f GB/s", d->roof.read_gbps);
    write_panel(gp, dat, series, n, 2, d->roof.read_gbps, peak, 1);
    fprintf(gp, "set ylabel 'achieved GFLOP/s'\n");
    snprintf(peak, sizeof peak, "FMA peak %.1f GFLOP/s", d->roof.fma_gflops);
    write_panel(gp, dat, series, n, 3, d->roof.fma_gflops, peak, 0);
    fprintf(gp, "unset multiplot\n");
    return 0;
}

/* gnuplot's full path if it is on PATH. */
static int find_gnuplot(char *out, size_t len)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n > 0 && (size_t)snprintf(out, len, "%.*s/gnuplot", (int)n, path) < len && access(out, X_OK) == 0)
            return 0;
        path = end ? end + 1 : NULL;
    }
    return -1;
}

/* Runs gnuplot on plot.gp inside dir (the script names files relative to it). */
static int run_gnuplot(const char *gnuplot, const char *dir)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (chdir(dir) == 0)
            execl(gnuplot, "gnuplot", "plot.gp", (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int bench_write_plots(const char *dir, const bench_results *res, int quiet)
{
    char path[4352], gnuplot[4096];
    if (bench_make_dirs(dir) != 0) {
        fprintf(stderr, "clq bench: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/plot.gp", dir);
    FILE *gp = fopen(path, "w");
    if (!gp) {
        fprintf(stderr, "clq bench: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    write_preamble(gp);
    const bench_record *charts[MAX_CHARTS];
    int n_charts = 0, status = 0;
    for (size_t i = 0; i < res->count && n_charts < MAX_CHARTS && status == 0; i++) {
        const bench_record *r = &res->items[i];
        int known = r->op != BENCH_OP_MATMUL;
        for (int c = 0; c < n_charts && !known; c++)
            known = same_chart(charts[c], r);
        if (!known) {
            charts[n_charts++] = r;
            status = write_chart(gp, dir, res, r);
        }
    }
    if (fclose(gp) != 0 || status != 0) {
        fprintf(stderr, "clq bench: writing the chart data in %s failed\n", dir);
        return -1;
    }
    if (n_charts == 0) {
        fprintf(stderr, "clq bench: note: no matmul results, so no charts\n");
        return 0;
    }
    if (find_gnuplot(gnuplot, sizeof gnuplot) != 0) {
        fprintf(stderr,
                "clq bench: note: gnuplot is not on PATH: wrote %s/plot.gp and its data, no PNGs "
                "(install gnuplot-nox and run 'gnuplot plot.gp' there)\n",
                dir);
        return 0;
    }
    if (run_gnuplot(gnuplot, dir) != 0) {
        fprintf(stderr, "clq bench: gnuplot failed on %s/plot.gp\n", dir);
        return -1;
    }
    if (!quiet)
        fprintf(stderr, "clq bench: %d chart%s in %s\n", n_charts, n_charts == 1 ? "" : "s", dir);
    return 0;
}

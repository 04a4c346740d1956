/* CSV output (see report.h): RFC 4180, one header line, one line per
 * record, the columns of record.h. Written by hand: a field is quoted when
 * it holds a comma, a quote or a line break, and quotes are doubled. */
#include <string.h>

#include "report.h"

static void put_text(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_value(FILE *f, bench_value v)
{
    switch (v.kind) {
    case BENCH_FIELD_TEXT:
        put_text(f, v.text);
        break;
    case BENCH_FIELD_INT:
        fprintf(f, "%lld", v.integer);
        break;
    case BENCH_FIELD_REAL:
        /* %.9g keeps what matters of a time or a rate and round-trips
         * through strtod without trailing noise. */
        fprintf(f, "%.9g", v.real);
        break;
    case BENCH_FIELD_NONE: /* an empty field */
        break;
    }
}

int bench_write_csv(const char *path, const bench_results *res)
{
    char *tmp = NULL;
    FILE *f = bench_output_open(path, &tmp);
    if (!f)
        return -1;
    size_t nf = bench_field_count();
    for (size_t i = 0; i < nf; i++)
        fprintf(f, "%s%s", i ? "," : "", bench_field_name(i));
    fputc('\n', f);
    for (size_t r = 0; r < res->count; r++) {
        for (size_t i = 0; i < nf; i++) {
            if (i)
                fputc(',', f);
            put_value(f, bench_record_field(&res->items[r], i));
        }
        fputc('\n', f);
    }
    return bench_output_close(f, path, tmp, !ferror(f));
}

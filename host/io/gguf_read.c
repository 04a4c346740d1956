/* Reading GGUF values through a bounds-checked cursor: integers, strings,
 * metadata values and arrays. Every function checks the bytes left before it
 * looks at them, so a hostile file can only ever produce an error. */
#include <stdlib.h>
#include <string.h>

#include "gguf_internal.h"

uint64_t gguf_left(const gguf_cursor *c)
{
    return c->pos <= c->size ? c->size - c->pos : 0;
}

static clq_status need(gguf_cursor *c, uint64_t bytes, const char *what)
{
    if (bytes > gguf_left(c))
        return GGUF_BAD(c, c->pos, "%s needs %llu bytes, %llu left", what, (unsigned long long)bytes,
                        (unsigned long long)gguf_left(c));
    return CLQ_SUCCESS;
}

/* Little-endian integers of `bytes` bytes, assembled byte by byte: no
 * alignment is assumed and the host's byte order does not matter. */
static clq_status read_le(gguf_cursor *c, unsigned bytes, const char *what, uint64_t *out)
{
    CLQ_FORWARD(need(c, bytes, what));
    uint64_t v = 0;
    for (unsigned k = 0; k < bytes; k++)
        v |= (uint64_t)c->data[c->pos + k] << (8 * k);
    c->pos += bytes;
    *out = v;
    return CLQ_SUCCESS;
}

clq_status gguf_read_u32(gguf_cursor *c, const char *what, uint32_t *out)
{
    uint64_t v;
    CLQ_FORWARD(read_le(c, 4, what, &v));
    *out = (uint32_t)v;
    return CLQ_SUCCESS;
}

clq_status gguf_read_u64(gguf_cursor *c, const char *what, uint64_t *out)
{
    return read_le(c, 8, what, out);
}

clq_status gguf_read_string(gguf_cursor *c, const char *what, clq_gguf_string *out)
{
    uint64_t at = c->pos, length;
    CLQ_FORWARD(gguf_read_u64(c, what, &length));
    if (length > gguf_left(c))
        return GGUF_BAD(c, at, "%s length %llu exceeds the %llu bytes left", what, (unsigned long long)length,
                        (unsigned long long)gguf_left(c));
    out->data = (const char *)c->data + c->pos;
    out->length = (size_t)length; /* fits: it is at most the size of memory we hold */
    c->pos += length;
    return CLQ_SUCCESS;
}

/* Bytes of one value of each type; 0 for the variable-sized STRING and ARRAY. */
static const unsigned char value_bytes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *const value_names[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                          "int32",  "float32", "bool",   "string", "array",
                                          "uint64", "int64",   "float64"};
#define GGUF_TYPE_COUNT (sizeof value_bytes / sizeof value_bytes[0])

/* Two's complement of a `bits`-wide value, without relying on the
 * implementation-defined conversion of large unsigned values to signed. */
static int64_t sign_extend(uint64_t v, unsigned bits)
{
    if (bits == 64)
        return v <= INT64_MAX ? (int64_t)v : -(int64_t)~v - 1;
    uint64_t sign = (uint64_t)1 << (bits - 1);
    return (int64_t)(v ^ sign) - (int64_t)sign;
}

static clq_status read_number(gguf_cursor *c, clq_gguf_type type, clq_gguf_value *out)
{
    uint64_t at = c->pos, v;
    unsigned bytes = value_bytes[type];
    CLQ_FORWARD(read_le(c, bytes, value_names[type], &v));
    switch (type) {
    case CLQ_GGUF_INT8:
    case CLQ_GGUF_INT16:
    case CLQ_GGUF_INT32:
    case CLQ_GGUF_INT64:
        out->i = sign_extend(v, 8 * bytes);
        break;
    case CLQ_GGUF_FLOAT32: {
        uint32_t bits = (uint32_t)v;
        float f;
        memcpy(&f, &bits, sizeof f);
        out->f = f;
        break;
    }
    case CLQ_GGUF_FLOAT64:
        memcpy(&out->f, &v, sizeof out->f);
        break;
    case CLQ_GGUF_BOOL:
        /* The GGUF spec calls any other byte invalid. */
        if (v > 1)
            return GGUF_BAD(c, at, "bool value %u is neither 0 nor 1", (unsigned)v);
        out->u = v;
        break;
    default:
        out->u = v;
        break;
    }
    return CLQ_SUCCESS;
}

clq_status gguf_read_scalar(gguf_cursor *c, clq_gguf_type type, clq_gguf_value *out)
{
    memset(out, 0, sizeof *out);
    out->type = type;
    out->offset = c->pos;
    if (type == CLQ_GGUF_STRING)
        return gguf_read_string(c, "string", &out->string);
    return read_number(c, type, out);
}

static clq_status read_type(gguf_cursor *c, const char *what, clq_gguf_type *out)
{
    uint64_t at = c->pos;
    uint32_t type;
    CLQ_FORWARD(gguf_read_u32(c, what, &type));
    if (type >= GGUF_TYPE_COUNT)
        return GGUF_BAD(c, at, "unknown %s %u", what, type);
    *out = (clq_gguf_type)type;
    return CLQ_SUCCESS;
}

/* Checks every element of an array (strings' lengths, bools' bytes) and
 * moves past it. The count was checked against the bytes left. */
static clq_status skip_elements(gguf_cursor *c, clq_gguf_type type, uint64_t count)
{
    clq_gguf_value element;
    if (type == CLQ_GGUF_STRING || type == CLQ_GGUF_BOOL) {
        for (uint64_t k = 0; k < count; k++)
            CLQ_FORWARD(gguf_read_scalar(c, type, &element));
        return CLQ_SUCCESS;
    }
    c->pos += count * value_bytes[type];
    return CLQ_SUCCESS;
}

static clq_status read_array(gguf_cursor *c, clq_gguf_value *out)
{
    uint64_t at = c->pos, count;
    CLQ_FORWARD(read_type(c, "array element type", &out->array_type));
    /* ggml's reader refuses them too: no model uses them. */
    if (out->array_type == CLQ_GGUF_ARRAY)
        return GGUF_BAD(c, at, "nested arrays are not supported");
    at = c->pos;
    CLQ_FORWARD(gguf_read_u64(c, "array length", &count));
    /* A string takes at least its 8-byte length. */
    unsigned min_bytes = out->array_type == CLQ_GGUF_STRING ? 8 : value_bytes[out->array_type];
    if (count > gguf_left(c) / min_bytes)
        return GGUF_BAD(c, at, "array of %llu %s values cannot fit in the %llu bytes left",
                        (unsigned long long)count, value_names[out->array_type],
                        (unsigned long long)gguf_left(c));
    out->array_count = count;
    out->offset = c->pos;
    return skip_elements(c, out->array_type, count);
}

clq_status gguf_read_value(gguf_cursor *c, clq_gguf_value *out)
{
    clq_gguf_type type;
    CLQ_FORWARD(read_type(c, "value type", &type));
    if (type != CLQ_GGUF_ARRAY)
        return gguf_read_scalar(c, type, out);
    memset(out, 0, sizeof *out);
    out->type = CLQ_GGUF_ARRAY;
    return read_array(c, out);
}

clq_status clq_gguf_array_get(const clq_gguf *g, const clq_gguf_value *array, uint64_t first, size_t count,
                              clq_gguf_value *out)
{
    if (!g || !array || (!out && count))
        return CLQ_FAIL(CLQ_ERROR_NULL_POINTER, "clq_gguf_array_get: gguf, array and out are required");
    if (array->type != CLQ_GGUF_ARRAY || array->array_type >= GGUF_TYPE_COUNT ||
        array->array_type == CLQ_GGUF_ARRAY)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "clq_gguf_array_get: the value is not an array");
    if (first > array->array_count || count > array->array_count - first)
        return CLQ_FAIL(CLQ_ERROR_INVALID_ARGUMENT, "elements %llu..+%zu pass the end of an array of %llu",
                        (unsigned long long)first, count, (unsigned long long)array->array_count);
    /* The value may not be one this handle made: the cursor still checks
     * every read, so a forged offset or count is an error, not a crash. */
    gguf_cursor c = {g->data, g->size, array->offset, g->source};
    unsigned bytes = value_bytes[array->array_type];
    if (bytes) {
        if (first > gguf_left(&c) / bytes)
            return GGUF_BAD(&c, c.pos, "element %llu lies past the end of the file",
                            (unsigned long long)first);
        c.pos += first * bytes;
    } else {
        clq_gguf_string skipped;
        for (uint64_t k = 0; k < first; k++)
            CLQ_FORWARD(gguf_read_string(&c, "string", &skipped));
    }
    for (size_t k = 0; k < count; k++)
        CLQ_FORWARD(gguf_read_scalar(&c, array->array_type, &out[k]));
    return CLQ_SUCCESS;
}

/* ---- name tables ---------------------------------------------------------- */

static int compare_text(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    if (r)
        return r;
    return alen < blen ? -1 : alen > blen;
}

static int compare_names(const void *pa, const void *pb)
{
    const gguf_name *a = pa, *b = pb;
    int r = compare_text(a->text, a->length, b->text, b->length);
    /* Ties broken by position, so a duplicate is reported at its second
     * occurrence whatever qsort does. */
    return r ? r : (a->index > b->index) - (a->index < b->index);
}

clq_status gguf_sort_names(const gguf_cursor *c, gguf_name *names, size_t count, const char *what)
{
    if (count > 1)
        qsort(names, count, sizeof *names, compare_names);
    for (size_t k = 1; k < count; k++) {
        const gguf_name *a = &names[k - 1], *b = &names[k];
        if (compare_text(a->text, a->length, b->text, b->length) == 0)
            return GGUF_BAD(c, b->offset, "duplicate %s '%.*s' (first at offset %llu)", what,
                            (int)(b->length < 200 ? b->length : 200), b->text, (unsigned long long)a->offset);
    }
    return CLQ_SUCCESS;
}

size_t gguf_lookup(const gguf_name *names, size_t count, const char *name)
{
    size_t lo = 0, hi = count, length = strlen(name);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = compare_text(names[mid].text, names[mid].length, name, length);
        if (r == 0)
            return names[mid].index;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

/*
 * What the GGUF reader's files share: the handle, and the bounds-checked
 * cursor every read of the file goes through (gguf_read.c). The file is
 * hostile input, so nothing here ever indexes the file's bytes directly:
 * a read asks the cursor, which first checks the bytes left.
 */
#ifndef CLQ_GGUF_INTERNAL_H
#define CLQ_GGUF_INTERNAL_H

#include "clq_io.h"
#include "internal.h"

/* A read position inside the file. */
typedef struct gguf_cursor {
    const unsigned char *data;
    uint64_t size;
    uint64_t pos;
    const char *source; /* the path, or "GGUF in memory", for error messages */
} gguf_cursor;

/* Records CLQ_ERROR_BAD_DATA as "<source>: at offset N: <message>" and
 * returns it. */
#define GGUF_BAD(c, offset, ...) CLQ_BAD_AT((c)->source, (offset), __VA_ARGS__)

/* Bytes left after the cursor. */
uint64_t gguf_left(const gguf_cursor *c);

/* Primitive reads; `what` names the field in the error message. */
clq_status gguf_read_u32(gguf_cursor *c, const char *what, uint32_t *out);
clq_status gguf_read_u64(gguf_cursor *c, const char *what, uint64_t *out);
clq_status gguf_read_string(gguf_cursor *c, const char *what, clq_gguf_string *out);

/* Reads one value of a scalar or string type into *out (zeroed first). */
clq_status gguf_read_scalar(gguf_cursor *c, clq_gguf_type type, clq_gguf_value *out);

/* Reads a key's value: its type, then the value. An array is checked
 * element by element and skipped; out->offset is its first element. */
clq_status gguf_read_value(gguf_cursor *c, clq_gguf_value *out);

/* A name (key or tensor name) as it is in the file, for the sorted lookup
 * tables: sorted by bytes, searched by bisection. */
typedef struct gguf_name {
    const char *text; /* inside the file, not NUL-terminated */
    size_t length;
    uint64_t offset; /* where the name's length field is, for messages */
    size_t index;    /* position in file order */
} gguf_name;

struct clq_gguf {
    const unsigned char *data;
    uint64_t size;
    void *map; /* the mapping clq_gguf_open made, or NULL for caller memory */
    size_t map_size;
    char *source;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset; /* start of the tensor data section */
    size_t kv_count;
    clq_gguf_value *kv;
    gguf_name *kv_sorted;
    size_t tensor_count;
    clq_gguf_tensor *tensors;
    gguf_name *tensor_sorted;
    char *names; /* NUL-terminated copies of every key and tensor name */
};

/* Parses the tensor directory (gguf_tensors.c): reads tensor_count infos at
 * the cursor, then places the data section and checks every tensor's
 * bytes lie inside the file. Fills g->tensors (allocated by the caller)
 * and g->data_offset. */
clq_status gguf_parse_tensors(clq_gguf *g, gguf_cursor *c);

/* Sorts a name table and rejects duplicates ("duplicate key 'x'"). */
clq_status gguf_sort_names(const gguf_cursor *c, gguf_name *names, size_t count, const char *what);
/* Index in file order of `name`, or SIZE_MAX. */
size_t gguf_lookup(const gguf_name *names, size_t count, const char *name);

#endif /* CLQ_GGUF_INTERNAL_H */

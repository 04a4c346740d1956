/*
 * On-disk cache of program binaries. PoCL and most drivers spend seconds
 * compiling a program; the cache makes every process after the first start
 * in milliseconds.
 *
 * An entry is one file named after the hash of its key:
 *   "CLQPROG\0"  u32 format version  u32 key length  u64 binary length
 *   key text  binary  u64 XXH64 of everything before it
 * The key text names everything that changes the binary (a hash of the
 * source, the build options, device, driver, platform and clq version) and is
 * compared in full on load, so a hash collision cannot hand back the wrong
 * binary. Entries are written to a temporary file and renamed into place, so
 * readers never see half an entry; a truncated, corrupt or stale entry fails
 * the checks and is rebuilt and overwritten, never passed to the driver.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"

#define CACHE_MAGIC "CLQPROG"
#define CACHE_FORMAT_VERSION 1u
#define HEADER_BYTES (8 + 4 + 4 + 8)

void clq_cache_key_make(const clq_context *ctx, const char *source, size_t source_len, const char *options,
                        clq_cache_key *key)
{
    unsigned long long source_hash = (unsigned long long)XXH64(source, source_len, 0);
    snprintf(key->text, sizeof key->text,
             "clq %s cache format %u\nsource %016llx\noptions %s\ndevice %s\ndriver %s\nplatform %s\n",
             clq_version_string(), CACHE_FORMAT_VERSION, source_hash, options, ctx->device_name,
             ctx->driver_version, ctx->platform_version);
    unsigned long long key_hash = (unsigned long long)XXH64(key->text, strlen(key->text), 0);
    snprintf(key->file, sizeof key->file, "%s/%016llx.bin", ctx->cache_dir, key_hash);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

unsigned char *clq_file_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    long end = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        end = ftell(f);
    if (end >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)end + 1)) != NULL) {
        if (fread(buf, 1, (size_t)end, f) != (size_t)end) {
            free(buf);
            buf = NULL;
        } else {
            buf[end] = '\0'; /* text readers may treat it as a string */
        }
    }
    fclose(f);
    *size = (size_t)end;
    return buf;
}

bool clq_cache_load(const clq_cache_key *key, unsigned char **binary, size_t *size)
{
    size_t n = 0;
    unsigned char *buf = clq_file_slurp(key->file, &n);
    if (!buf)
        return false;
    bool ok = n >= HEADER_BYTES + 8 && memcmp(buf, CACHE_MAGIC, 8) == 0 &&
              get_u32(buf + 8) == CACHE_FORMAT_VERSION;
    uint64_t key_len = ok ? get_u32(buf + 12) : 0, bin_len = ok ? get_u64(buf + 16) : 0;
    /* Lengths are checked against the file size before any is used. */
    ok = ok && key_len <= n && bin_len <= n && HEADER_BYTES + key_len + bin_len + 8 == n;
    ok = ok && get_u64(buf + n - 8) == (uint64_t)XXH64(buf, n - 8, 0);
    ok = ok && key_len == strlen(key->text) && memcmp(buf + HEADER_BYTES, key->text, key_len) == 0;
    ok = ok && bin_len > 0;
    if (ok) {
        memmove(buf, buf + HEADER_BYTES + key_len, bin_len);
        *binary = buf;
        *size = bin_len;
    } else {
        free(buf);
    }
    return ok;
}

void clq_file_make_dirs(const char *path)
{
    char tmp[1280];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

void clq_cache_store(const clq_cache_key *key, const unsigned char *binary, size_t size)
{
    char dir[1280], tmp[1400];
    snprintf(dir, sizeof dir, "%s", key->file);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return;
    *slash = '\0';
    clq_file_make_dirs(dir);

    size_t key_len = strlen(key->text), total = HEADER_BYTES + key_len + size + 8;
    unsigned char *buf = malloc(total);
    if (!buf)
        return;
    memcpy(buf, CACHE_MAGIC, 8);
    put_u32(buf + 8, CACHE_FORMAT_VERSION);
    put_u32(buf + 12, (uint32_t)key_len);
    put_u64(buf + 16, size);
    memcpy(buf + HEADER_BYTES, key->text, key_len);
    memcpy(buf + HEADER_BYTES + key_len, binary, size);
    put_u64(buf + total - 8, (uint64_t)XXH64(buf, total - 8, 0));

    /* A unique temporary name per process and call, then an atomic rename: two
     * processes filling the same entry both write whole files. */
    static atomic_ulong counter;
    snprintf(tmp, sizeof tmp, "%s.%ld.%lu.tmp", key->file, (long)getpid(), (unsigned long)++counter);
    FILE *f = fopen(tmp, "wb");
    if (f) {
        bool ok = fwrite(buf, 1, total, f) == total;
        ok = (fclose(f) == 0) && ok;
        if (!ok || rename(tmp, key->file) != 0)
            remove(tmp);
    }
    free(buf);
}

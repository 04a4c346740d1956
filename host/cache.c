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
 *
 * The checks cannot tell a forged entry from a real one: the key and the
 * hash are computable by anyone. What keeps another user's binary out of
 * this process is the directory: it is used only when it is a directory
 * owned by this user that neither group nor others can write (the rule ssh
 * applies to ~/.ssh); it is created 0700. Otherwise the context builds from
 * source and says why (clq_context_cache_state). An entry that is not a
 * regular file (a directory, a FIFO) counts as absent.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
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

bool clq_cache_load(const clq_cache_key *key, unsigned char **binary, size_t *size)
{
    size_t n = 0;
    bool not_regular;
    unsigned char *buf = clq_file_slurp(key->file, O_NOFOLLOW, &n, &not_regular);
    if (!buf)
        return false;
    bool ok =
        n >= HEADER_BYTES + 8 && memcmp(buf, CACHE_MAGIC, 8) == 0 && get_u32(buf + 8) == CACHE_FORMAT_VERSION;
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
    char *tmp = strdup(path);
    if (!tmp)
        return;
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0700);
            *p = '/';
        }
    }
    mkdir(tmp, 0700);
    free(tmp);
}

bool clq_cache_dir_usable(clq_context *ctx, bool create)
{
    if (!ctx->cache_enabled)
        return false;
    if (create)
        clq_file_make_dirs(ctx->cache_dir);
    struct stat st;
    const char *why = NULL;
    if (stat(ctx->cache_dir, &st) != 0) {
        if (!create)
            return true; /* nothing to load yet; checked again before a store */
        why = strerror(errno);
    } else if (!S_ISDIR(st.st_mode))
        why = "not a directory";
    else if (st.st_uid != geteuid())
        why = "owned by another user";
    else if (st.st_mode & (S_IWGRP | S_IWOTH))
        why = "writable by group or others (chmod go-w to use it)";
    if (!why)
        return true;
    snprintf(ctx->cache_refused, sizeof ctx->cache_refused,
             "program cache %s not used: %s; programs are built from source", ctx->cache_dir, why);
    ctx->cache_enabled = false;
    return false;
}

clq_cache_state clq_context_cache_state(const clq_context *ctx, char *why, size_t len)
{
    if (why && len)
        why[0] = '\0';
    if (!ctx)
        return CLQ_CACHE_OFF;
    clq_context *c = (clq_context *)ctx; /* the lock, only */
    pthread_mutex_lock(&c->lock);
    clq_cache_state state = ctx->cache_refused[0] ? CLQ_CACHE_REFUSED
                            : ctx->cache_enabled  ? CLQ_CACHE_ON
                                                  : CLQ_CACHE_OFF;
    if (why && len)
        snprintf(why, len, "%s", ctx->cache_refused);
    pthread_mutex_unlock(&c->lock);
    return state;
}

void clq_cache_store(const clq_cache_key *key, const unsigned char *binary, size_t size)
{
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

    /* A new temporary file per call (O_EXCL, unpredictable name), then an
     * atomic rename: two processes filling the same entry both write whole
     * files, and nothing planted at a guessed name is followed. */
    char *tmp = NULL;
    int fd = clq_file_create_temp(key->file, 0600, &tmp);
    if (fd >= 0) {
        FILE *f = fdopen(fd, "wb");
        bool ok = f && fwrite(buf, 1, total, f) == total;
        ok = (f ? fclose(f) == 0 : close(fd) == 0) && ok;
        if (!ok || rename(tmp, key->file) != 0)
            remove(tmp);
        free(tmp);
    }
    free(buf);
}

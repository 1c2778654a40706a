/* SPDX-License-Identifier: MIT */
/*
 * Stream backlog (store_rds_backlog.h): a byte ring of whole XADD commands, evicting the
 * oldest. Positions are free-running uint64_t; a byte at position x lies at buf[x % cap], so a
 * record may wrap around the end of the buffer (copied in two pieces).
 * Thread: writer:redis.
 */
#include "storage/redis/store_rds_backlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int store_rds_backlog_init(store_rds_backlog_t *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    if (!cap)
        return 0;
    b->buf = malloc(cap);
    if (!b->buf)
        return -ENOMEM;
    b->cap = cap;
    return 0;
}

void store_rds_backlog_deinit(store_rds_backlog_t *b)
{
    free(b->buf);
    b->buf = NULL;
    b->cap = 0;
}

static void ring_write(store_rds_backlog_t *b, uint64_t pos, const void *src, size_t n)
{
    size_t at = (size_t)(pos % b->cap), first = b->cap - at < n ? (size_t)(b->cap - at) : n;
    memcpy(b->buf + at, src, first);
    memcpy(b->buf, (const char *)src + first, n - first);
}

static void ring_read(const store_rds_backlog_t *b, uint64_t pos, void *dst, size_t n)
{
    size_t at = (size_t)(pos % b->cap), first = b->cap - at < n ? (size_t)(b->cap - at) : n;
    memcpy(dst, b->buf + at, first);
    memcpy((char *)dst + first, b->buf, n - first);
}

void store_rds_backlog_put(store_rds_backlog_t *b, const char *cmd, size_t len)
{
    if (!b->cap || len + 4 > b->cap || len > UINT32_MAX)
        return;
    while (b->tail - b->head + 4 + len > b->cap) {
        uint32_t old;
        ring_read(b, b->head, &old, 4);
        b->head += 4 + old;
        b->records--;
        b->evicted++;
    }
    uint32_t l = (uint32_t)len;
    ring_write(b, b->tail, &l, 4);
    ring_write(b, b->tail + 4, cmd, len);
    b->tail += 4 + len;
    b->records++;
}

size_t store_rds_backlog_next(const store_rds_backlog_t *b, uint64_t *pos, char *out, size_t cap)
{
    if (!b->cap || *pos < b->head || *pos >= b->tail)
        return 0;
    uint32_t l;
    ring_read(b, *pos, &l, 4);
    *pos += 4 + l;
    if (l > cap)
        return 0;
    ring_read(b, *pos - l, out, l);
    return l;
}

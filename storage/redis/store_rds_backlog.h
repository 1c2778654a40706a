/* SPDX-License-Identifier: MIT */
/*
 * Stream backlog of the Redis publisher: the most recent XADD commands, whole and RESP-encoded,
 * in one byte ring of fixed capacity (oldest evicted first). After a reconnect the publisher
 * sends them all again, so entries lost in flight, dropped while disconnected, or wiped by a
 * Redis restart are back in their streams (entries Redis already holds are refused by their
 * explicit IDs and counted as duplicates). docs/redis.md, "Streams".
 *
 * Thread: writer:redis (owner); no allocation after init.
 */
#ifndef STORE_RDS_BACKLOG_H
#define STORE_RDS_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

/** Byte ring of [u32 length][command] records. Thread: writer:redis. */
typedef struct store_rds_backlog {
    char *buf;
    uint64_t cap;        /* bytes (0: disabled) */
    uint64_t head, tail; /* free-running byte positions: oldest record, end */
    uint64_t records;    /* records held */
    uint64_t evicted;    /* records pushed out by newer ones */
} store_rds_backlog_t;

/** @return 0, -ENOMEM. cap 0 disables it (put is a no-op). Thread: main. */
int store_rds_backlog_init(store_rds_backlog_t *b, size_t cap);
/** Free the buffer (idempotent). Thread: main. */
void store_rds_backlog_deinit(store_rds_backlog_t *b);
/** Keep a copy of one command, evicting the oldest as needed; a command larger than the
 *  ring is not kept. Thread: writer:redis. Wait-free, no allocation. */
void store_rds_backlog_put(store_rds_backlog_t *b, const char *cmd, size_t len);
/** Copy the record at *pos (start: b->head) into out; advances *pos.
 *  @return its length; 0 at the end (or if out is too small, which skips it). */
size_t store_rds_backlog_next(const store_rds_backlog_t *b, uint64_t *pos, char *out, size_t cap);

#endif

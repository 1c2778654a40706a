/* SPDX-License-Identifier: MIT */
/*
 * Spill journal: a bounded, append-only, crc-checked on-disk FIFO of opaque records (the
 * PostgreSQL writer stores whole COPY batches in it while the server is unreachable or slow,
 * and replays them in order when it returns).
 *
 * Layout: a directory of segment files `seg-<16 hex digits>.tgj`, numbered upwards, and a
 * `head` file holding the read cursor (segment, offset, crc). Each record is
 *     u32 magic 'TGJ1' | u32 payload length | u64 record number | u32 crc32c | payload
 * (little-endian) where the crc32c covers the length, the record number and the payload, so a
 * corrupted length is caught too. Appends are written with one writev() and fdatasync()'d
 * before store_spill_append() returns; a new segment also fsyncs the directory.
 *
 * Reading is two-phase: store_spill_peek() returns the oldest record, store_spill_advance()
 * consumes it (after the caller committed it elsewhere) and makes the cursor durable. A fully
 * consumed segment is unlinked. A crash between commit and advance replays the record again:
 * the consumer must be idempotent (the PostgreSQL writer is, through its conflict keys).
 *
 * Corruption: a record whose magic, length or crc does not check is never returned. peek()
 * reports TG_ESPILL once per damaged region, counts it, and resynchronises on the next valid
 * record (scanning for the magic and checking its crc); a torn tail (crash during an append)
 * is cut off at open. Bound: appends that would take the journal above max_bytes fail with
 * -ENOSPC and change nothing (the caller decides the policy).
 *
 * Thread: one owner thread (writer:pg); store_spill_stats() may be read from any thread.
 */
#ifndef STORE_SPILL_H
#define STORE_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "book/tg_stat.h"

typedef struct store_spill store_spill_t;

/** Journal settings.  Thread: owner. */
typedef struct store_spill_cfg {
    const char *dir;        /* created if missing (one level); borrowed during open */
    uint64_t max_bytes;     /* bound on segment bytes on disk; default 1 GiB */
    uint64_t segment_bytes; /* roll to a new segment beyond this; default 64 MiB */
    int fsync;              /* 1 (default): fdatasync every append and cursor move */
} store_spill_cfg_t;

/** Counters (single writer: the owner).  Thread: any (read). */
typedef struct store_spill_stats {
    tg_stat_t appended_records;
    tg_stat_t appended_bytes;
    tg_stat_t consumed_records;
    tg_stat_t pending_records; /* gauge */
    tg_stat_t pending_bytes;   /* gauge: bytes of segments on disk */
    tg_stat_t full;            /* appends refused with -ENOSPC */
    tg_stat_t corrupt;         /* damaged regions detected (each reported once) */
    tg_stat_t corrupt_bytes;   /* bytes skipped because of damage */
    tg_stat_t torn_tail_bytes; /* bytes cut off the last segment at open */
    tg_stat_t torn_tails;      /* torn tails cut at open (a crash during an append) */
} store_spill_stats_t;

/** Fill defaults (dir NULL).  Thread: any. */
void store_spill_cfg_defaults(store_spill_cfg_t *c);

/**
 * Open (or create) a journal, scan its segments, cut a torn tail, load the cursor.
 * @param out Written only on success.
 * @param err Optional text buffer (errlen bytes) for the failing path/syscall.
 * @return 0; -EINVAL (no dir); negative errno of mkdir/open/read; -ENOMEM.  Thread: owner.
 */
int store_spill_open(store_spill_t **out, const store_spill_cfg_t *cfg, char *err, size_t errlen);

/** Close; sets *s to NULL; NULL is a no-op. Data already appended stays on disk. */
void store_spill_close(store_spill_t **s);

/**
 * Append one record made of the concatenation of iov[0..n). Durable on return (fsync mode).
 * @return 0; -ENOSPC (journal full, nothing written); -EMSGSIZE (record > segment_bytes or
 *         4 GiB); negative errno of write/fsync (the partial record is truncated away).
 * Thread: owner.
 */
int store_spill_append(store_spill_t *s, const struct iovec *iov, int n);

/**
 * Oldest unconsumed record. The pointer stays valid until the next call on `s`.
 * @return 0 (record in *data, *len); -ENOENT (journal empty); TG_ESPILL (a damaged region was
 *         found and skipped: call again for the next valid record); negative errno of read.
 * Thread: owner.
 */
int store_spill_peek(store_spill_t *s, const uint8_t **data, size_t *len);

/** Consume the record returned by the last successful peek (durable in fsync mode).
 *  @return 0; -EINVAL (no record peeked); negative errno.  Thread: owner. */
int store_spill_advance(store_spill_t *s);

/** Number of records not yet consumed (approximate after corruption).  Thread: owner. */
uint64_t store_spill_pending(const store_spill_t *s);

/** Counters.  Thread: any. */
const store_spill_stats_t *store_spill_stats(const store_spill_t *s);

/** CRC-32C (Castagnoli) of buf, continuing from crc (start with 0).  Thread: any. */
uint32_t store_spill_crc32c(uint32_t crc, const void *buf, size_t len);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Redis publisher: drains one tg_ring of book_out_t records (the builder's output for this
 * sink) and keeps hot snapshots in Redis keys with a TTL and streams every record on pub/sub,
 * with a sequence number per channel. Key and channel layout: docs/redis.md.
 *
 * Lifecycle: store_rds_create() (main, after the registry is complete, before the builder
 * starts), store_rds_start(), ..., store_rds_stop() (drains the ring and flushes the pipeline),
 * store_rds_destroy().
 *
 * Thread: main for the lifecycle calls; the publisher runs on its own thread (writer:redis),
 * which owns the hiredis context; store_rds_stats() and store_rds_last_error() are for any.
 */
#ifndef STORE_RDS_H
#define STORE_RDS_H

#include <stddef.h>
#include <stdint.h>

#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "book/book_out.h"
#include "book/tg_hist.h"
#include "book/tg_log.h"
#include "book/tg_stat.h"

/** Log callback (book/tg_log.h levels): `msg` is valid only during the call and never
 *  contains the password.  Thread: writer:redis (or the caller of create/probe/stop). */
typedef tg_log_fn store_rds_log_fn;

/** Publisher settings. Strings are borrowed during store_rds_create() only (copied).
 *  Thread: main. */
typedef struct store_rds_cfg {
    const char *url;              /* "redis://[[user]:password@]host[:port][/db]" or
                                     "unix:///path/redis.sock[?db=N]"; NULL: use host/port/db */
    const char *host;             /* "127.0.0.1" */
    int port;                     /* 6379 */
    const char *username;         /* ACL user (Redis 6+); NULL: AUTH with the password only */
    const char *password;         /* NULL: read the environment variable password_env */
    const char *password_env;     /* "REDISCLI_AUTH" (as redis-cli); NULL: none */
    int db;                       /* SELECT db when != 0 */
    const char *prefix;           /* key/channel prefix, "tg" */
    int64_t book_ttl_ms;          /* tg:book:*  10000 */
    int64_t bbo_ttl_ms;           /* tg:bbo:*   60000 */
    int64_t trade_ttl_ms;         /* tg:trade:* 60000 */
    int64_t candle_ttl_margin_ms; /* tg:candle:* TTL = interval + margin, 10000 */
    uint32_t pipeline_depth;      /* max commands awaiting replies, 4096 */
    uint32_t batch;               /* records popped per ring read, 256 */
    int connect_timeout_ms;       /* 1000 */
    int command_timeout_ms;       /* 2000: a reply or write slower than this drops the connection */
    int backoff_min_ms;           /* 100: first reconnect delay (jittered +-50%) */
    int backoff_max_ms;           /* 2000 */
    int64_t spin_ns;              /* busy-poll the ring this long after the last record before
                                     sleeping on the waiter (10 us; docs/latency.md) */
    uint32_t stream_trades;       /* XADD every trade message to {prefix}:stream:trades:...
                                     with MAXLEN ~ this (0: no stream; docs/redis.md) */
    uint32_t stream_books;        /* the same for book channel messages (0: off) */
    uint32_t stream_candles;      /* the same for candle channel messages (0: off) */
    size_t stream_backlog;        /* bytes of recent XADDs re-sent after a reconnect, 4 MiB */
    const char *leader_group;     /* redundant gateways (A/B): only the holder of the lease
                                     {prefix}:leader:{group} publishes (store_rds_lease.h);
                                     NULL or "": always publish */
    uint32_t leader_lease_ms;     /* lease length, 2000; renewed / tried every third of it */
    const char *cluster;          /* Redis Cluster seeds "host:port, host:port, ..." (NULL or
                                     "": a single Redis). The slot map is read from them; the
                                     url/host/port are not used, the credentials are; leader
                                     and db != 0 are refused (docs/redis.md) */
    const char *instance;         /* this gateway's name, in the lease's value */
    const tg_instr_reg_t *reg;    /* borrowed; must outlive the publisher; complete at create */
    tg_ring_t *ring;              /* borrowed: the builder's ring for this sink (consumer side) */
    store_rds_log_fn log;
    void *log_ud;
} store_rds_cfg_t;

/** Fill defaults (no ring, no registry).  Thread: any. */
void store_rds_cfg_defaults(store_rds_cfg_t *c);

/** Counters (single writer: writer:redis). Read with TG_STAT_GET from any thread. */
typedef struct store_rds_stats {
    tg_stat_t records;        /* records taken from the ring */
    tg_stat_t commands;       /* commands acknowledged by Redis */
    tg_stat_t messages;       /* PUBLISH commands sent */
    tg_stat_t snapshots;      /* SET commands sent */
    tg_stat_t coalesced;      /* snapshot messages replaced by a newer one before sending */
    tg_stat_t dropped;        /* messages not sent while disconnected (their numbers are gaps) */
    tg_stat_t lost;           /* commands in flight when a connection failed, or refused by a
                                 cluster (CLUSTERDOWN/TRYAGAIN, a MOVED/ASK not sent again) */
    tg_stat_t reconnects;     /* successful connections after the first */
    tg_stat_t errors;         /* connect/auth/io errors and error replies */
    tg_stat_t reply_errors;   /* error replies from Redis (subset of errors) */
    tg_stat_t bad_records;    /* unknown instrument or kind, document too large */
    tg_stat_t connected;      /* gauge: 1 while connected */
    tg_stat_t leader;         /* gauge: 1 while publishing (always 1 without leader_group) */
    tg_stat_t promotions;     /* leases won: this gateway became the publisher */
    tg_stat_t demotions;      /* leases lost or not renewed in time */
    tg_stat_t standby;        /* messages not sent because another gateway holds the lease */
    tg_stat_t bytes;          /* bytes of commands written */
    tg_stat_t stream_adds;    /* XADD commands sent (first sends, not re-sends) */
    tg_stat_t stream_resent;  /* XADD commands re-sent from the backlog after a reconnect */
    tg_stat_t hellos;         /* hello documents on {prefix}.control (one per connect) */
    tg_stat_t stream_dups;    /* re-sent XADDs Redis already held (ID refused; not errors) */
    tg_stat_t stream_evicted; /* XADDs pushed out of the backlog before a reconnect needed them */
    tg_stat_t cluster_refreshes; /* slot maps read (every connect, and while healing) */
    tg_stat_t cluster_redirects; /* MOVED/ASK replies (the command sent again, else lost) */
    tg_stat_t cluster_nodes;     /* gauge: primaries connected (cluster mode) */
    tg_stat_t cluster_resent;    /* redirected commands sent again (MOVED, ASKING + command) */
    tg_stat_t cluster_slow;      /* a node late with its replies: flushes stopped waiting for it */
    tg_hist_t rtt_lat;           /* pipeline round trip: a write -> the reply to its last command */
    tg_hist_t pub_lat; /* per message: ts_mono (receive) -> its PUBLISH acknowledged by Redis */
    /* stages per latency class (BOOK_LAT_*: trade, book, candle, timer; docs/latency.md):
       receive -> popped from the ring, -> its PUBLISH written to the socket, -> acknowledged;
       ring: pushed by the builder (ts_out) -> popped (the hand-off and wake-up alone) */
    tg_hist_t lat_pop[BOOK_LAT_KINDS], lat_written[BOOK_LAT_KINDS], lat_acked[BOOK_LAT_KINDS];
    tg_hist_t lat_ring[BOOK_LAT_KINDS];
} store_rds_stats_t;

typedef struct store_rds store_rds_t;

/**
 * Create a publisher (no connection yet). Attaches the publisher's waiter to cfg->ring.
 * @param out Written only on success.
 * @return 0; -EINVAL (missing ring/registry, bad prefix, bad URL, bad TTL/depth);
 *         -ENAMETOOLONG (a key name does not fit); -ENOMEM.  Thread: main, before start.
 */
int store_rds_create(store_rds_t **out, const store_rds_cfg_t *cfg);

/** Start the writer:redis thread (a tg_worker); it connects (and reconnects) by itself.
 *  @return 0, -EALREADY (already running), or a negative errno from pthread_create.
 *  Thread: main. */
int store_rds_start(store_rds_t *p);

/**
 * Stop: the thread drains the ring, sends what it holds, waits for the replies (bounded by
 * command_timeout_ms; one connect attempt if disconnected) and exits; this joins it.
 * @return 0 (also when not running), or the last error of the final flush (TG_EREDIS,
 *         -ETIMEDOUT, -ECONNREFUSED...) when data could not be delivered.  Thread: main.
 */
int store_rds_stop(store_rds_t *p);

/** Stop if running and free; sets *p to NULL. NULL is a no-op.  Thread: main. */
void store_rds_destroy(store_rds_t **p);

/** Counters for metrics.  Thread: any. */
const store_rds_stats_t *store_rds_stats(const store_rds_t *p);

/** 0: no leader group (always publishes); 1: holds the lease and publishes; 2: standby.
 *  Thread: any. */
int store_rds_role(const store_rds_t *p);

/** Copy the last error text (never the password) into buf. @return the last error code (0 if
 *  none).  Thread: any. */
int store_rds_last_error(store_rds_t *p, char *buf, size_t len);

/**
 * Connect, AUTH, SELECT and PING once with the configured timeouts (for --check-config and
 * start-up diagnostics). With cfg->cluster: read the slot map from the first seed that serves
 * a complete one, then the handshake with every primary.
 * @param errbuf Receives a one-line reason on failure (may be NULL).
 * @return 0; -EINVAL (bad config/URL); -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH... (connect);
 *         TG_EREDIS (AUTH/SELECT refused: the server's text is in errbuf).  Thread: any.
 */
int store_rds_probe(const store_rds_cfg_t *cfg, char *errbuf, size_t len);

#endif

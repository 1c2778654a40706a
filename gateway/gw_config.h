/* SPDX-License-Identifier: MIT */
/*
 * Gateway configuration: an INI file (libinih) with sections [gateway], [postgres], [redis],
 * [record], [metrics] and one [feed NAME] per exchange connection. Every problem is reported
 * as "FILE:LINE: message" and all of them are collected, so `tickgate --check-config` explains
 * every error at once. Secrets never live in the file: PostgreSQL takes its password from
 * PGPASSWORD/.pgpass (libpq), Redis from TICKGATE_REDIS_PASSWORD.
 * Thread: main (load, before the threads start); read-only afterwards (any).
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/tg_cfgkey.h"
#include "storage/sink.h"

#define GW_CFG_ERR_MAX       32
#define GW_SINK_CFG_MAX      4096 /* bytes of one sink's settings */
#define GW_CFG_INTERVALS_MAX 8

/** One [feed NAME] section: one websocket connection. */
typedef struct gw_feed_cfg {
    char name[64];
    char venue[24];
    char url[512];      /* ws:// or wss://; default: the venue's public endpoint */
    char rest_url[512]; /* base for REST snapshots; default: https://<venue rest host> */
    char ca_file[512];  /* extra CA bundle (tests: the replay server's cert) */
    char **symbols;     /* as the venue spells them */
    uint32_t n_symbols;
    unsigned channels;      /* FEED_CH_* (trades, book) */
    uint32_t depth;         /* subscribed book depth, 0 = venue default */
    int px_scale, sz_scale; /* -1 = venue default */
    uint32_t stale_ms;
    uint32_t rest_weight_per_min; /* REST budget of the venue; 0: its published one */
    uint32_t reconnect_max_ms;    /* reconnect backoff cap (feed_conn_cfg_t.backoff_max_ms) */
    uint32_t thread;              /* which feed thread (0-based, modulo gateway.feed_threads) */
    int deflate;                  /* permessage-deflate (only when the venue requires it) */
    int line;                     /* line of the section header */
    int venue_seen;               /* a venue key was given (valid or not) */
    uint32_t part, parts; /* 1-based part of a feed split by the venue's symbols per connection */
} gw_feed_cfg_t;

typedef struct gw_cfg {
    char path[512];
    /* [gateway] */
    char name[64];
    int log_level; /* 0 error .. 3 debug */
    uint32_t feed_threads;
    uint32_t feed_ring;            /* events per feed ring (power of two); 0: auto */
    uint32_t sink_ring;            /* records per sink ring (power of two) */
    uint32_t book_depth;           /* top-N published */
    uint32_t snapshot_min_ms;      /* rate limit of book snapshots on change, per instrument;
                                      0 (default): every change at once (docs/latency.md) */
    uint32_t forming_min_ms;       /* rate limit of forming candles; 0 (default): at once */
    uint32_t spin_us;              /* builder: busy-poll before sleeping (10) */
    uint32_t candle_dedup_window;  /* builder: trade keys per instrument for candles (1024) */
    uint32_t snapshot_interval_ms; /* periodic snapshots */
    int64_t intervals_ns[GW_CFG_INTERVALS_MAX]; /* candle intervals */
    uint32_t n_intervals;
    uint32_t stop_timeout_ms;
    uint32_t backfill_resume_s; /* resume trade backfill at start from the last stored trade */
    /* one section per sink kind ([postgres], [redis], ...): its own settings, parsed by the
     * sink (storage/sink.h); indexed like tg_sink_at() */
    _Alignas(16) unsigned char sink_cfg[TG_SINKS_MAX][GW_SINK_CFG_MAX];
    /* [record] */
    int rec_enabled;
    char rec_dir[512];
    uint64_t rec_rotate_bytes;
    uint32_t rec_rotate_s;
    /* [metrics] */
    int metrics_enabled;
    char metrics_host[64];
    int metrics_port;
    /* [feed NAME]... */
    gw_feed_cfg_t *feeds;
    uint32_t n_feeds;
    /* problems found: "FILE:LINE: message" */
    char *errors[GW_CFG_ERR_MAX];
    uint32_t n_errors;
} gw_cfg_t;

/** Fill every field with its default (no feeds). */
void gw_cfg_defaults(gw_cfg_t *c);

/**
 * Load and validate a config file into c (defaults first).
 * @return 0 when valid; TG_ECONFIG when c->errors lists problems; -errno if unreadable.
 */
int gw_cfg_load(gw_cfg_t *c, const char *path);

/** Free what gw_cfg_load() allocated. */
void gw_cfg_free(gw_cfg_t *c);

/** Events per connection ring: `feed_ring`, or for `auto` (0) GW_FEED_RING_AUTO_RING (less
 *  where the total below is less). For `auto` a connection holds at most a total of ring +
 *  overflow (feed_conn_cfg_t.ring_overflow, mapped only during a burst): the largest power of
 *  two from GW_FEED_RING_AUTO_MAX down to GW_FEED_RING_AUTO_MIN whose total for all
 *  c->n_feeds connections fits GW_FEED_RING_AUTO_BUDGET bytes (65536 up to 16 connections,
 *  16384 at 40). Call after gw_cfg_load() (feeds split by the venue's limits count).
 *  Thread: any. */
#define GW_FEED_RING_AUTO_MAX    65536u
#define GW_FEED_RING_AUTO_MIN    8192u
#define GW_FEED_RING_AUTO_RING   16384u
#define GW_FEED_RING_AUTO_BUDGET (64u << 20)
uint32_t gw_cfg_feed_ring(const gw_cfg_t *c);
/** Overflow events per connection: auto total - ring for `auto`, 0 for a set `feed_ring`. */
uint32_t gw_cfg_feed_overflow(const gw_cfg_t *c);

/** The settings of sink `name` ("postgres", "redis"), or NULL if no such sink. */
const void *gw_cfg_sink(const gw_cfg_t *c, const char *name);

/**
 * The key table of one of the gateway's own sections, "gateway", "record", "metrics" or "feed"
 * (the sinks' sections are in their tg_sink_ops_t). Rows whose off is SIZE_MAX are parsed by
 * the gateway itself (enums, lists, HOST:PORT); def NULL means no default (required, or set
 * from context). docs/config.md documents every row (checked by a test).
 * @param n receives the number of rows (0 for an unknown section).
 * @return the rows, or NULL for an unknown section.
 * Thread: any (static tables).
 */
const tg_cfgkey_t *gw_cfg_keys(const char *section, size_t *n);

/** Is host (a listen address: IPv4/IPv6 literal or a name) loopback only? "127.x.y.z",
 *  "::1", "localhost": true; "0.0.0.0", "::", "" (any address), other names and addresses:
 *  false. The gateway warns at start when /metrics listens on a non-loopback address (the
 *  metrics, health and dashboard have no authentication).  Thread: any. */
bool gw_cfg_host_is_loopback(const char *host);

/** Parse "1s", "1m", "5m", "1h", "1d", "250ms" into ns. @return 0 or TG_ECONFIG. */
int gw_cfg_parse_duration(const char *s, int64_t *ns);

#endif

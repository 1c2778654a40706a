/* SPDX-License-Identifier: MIT */
/*
 * Websocket client transport of the feeds (libwebsockets 4.1 + OpenSSL 3).
 *
 * A feed loop is one thread running one lws context; it carries any number of connections,
 * to one or several venues. Each connection owns a venue handler (feed.h): frames go to
 * venue->on_frame, REST bodies to venue->on_rest, lifecycle to on_open/on_close/on_tick, and
 * the events the handler emits are flushed into the connection's SPSC ring (tg_ring.h), whose
 * producer is the loop thread.
 *
 * Usage (thread main):
 *     feed_loop_cfg_defaults(&lc); feed_loop_create(&loop, &lc);
 *     feed_conn_cfg_defaults(&cc); cc.venue = "binance"; cc.symbols = ...; cc.ring = ring;
 *     feed_loop_add(loop, &cc, &conn);        // any number, before start
 *     feed_loop_start(loop);                  // spawns the thread "feed:<loop name>"
 *     ... feed_conn_status(conn, &st) / feed_conn_stats(conn) from any thread ...
 *     feed_loop_stop(loop);                   // from any thread but the loop's own
 *     feed_loop_destroy(&loop);
 *
 * Policies (docs/feeds.md): reconnect with jittered exponential backoff and a full resync
 * after every reconnect; stale timer; a full ring spills into an overflow held only during the
 * burst (cfg.ring_overflow); ring and overflow full: bounded retry then drop + TG_EV_GAP +
 * resync.
 */
#ifndef FEED_CONN_H
#define FEED_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "book/tg_stat.h"
#include "feeds/feed.h"
#include "feeds/net/feed_ovf.h"

struct feed_capture;

typedef struct feed_loop feed_loop_t;
typedef struct feed_conn feed_conn_t;

/** Log callback: one line, no newline. Called from the loop thread.  */
typedef void (*feed_log_fn)(void *ctx, int level, const char *msg);

/** Optional raw-frame hook: every received websocket frame, before the handler sees it.
 *  buf is valid only during the call.  Thread: feed:<loop>. */
typedef void (*feed_raw_fn)(void *ctx, feed_conn_t *c, int64_t ts_recv, const char *buf,
                            size_t len);

/** Configuration of one connection (strings and arrays are copied by feed_loop_add()). */
typedef struct feed_conn_cfg {
    const char *name;               /* connection name for logs/health; default: the venue name */
    const char *venue;              /* venue name for feed_venue_find() */
    const feed_venue_t *venue_impl; /* or a venue table directly (overrides `venue`) */
    const char *url;                /* ws:// or wss://; NULL: venue->default_url */
    const char *rest_url;       /* REST base "http[s]://host[:port]"; NULL: https://<rest_host> */
    const char *const *symbols; /* as the venue spells them; looked up in reg */
    size_t n_symbols;
    const tg_instr_reg_t *reg;    /* registry holding (venue, symbol); required with symbols */
    uint32_t depth;               /* venue meaning; 0 = venue default */
    unsigned channels;            /* FEED_CH_*; default FEED_CH_ALL */
    const char *ca_file;          /* PEM CA bundle; NULL = the OS store. Verification is on. */
    bool tls_insecure;            /* skip certificate verification (tests only; default false) */
    bool deflate;                 /* offer permessage-deflate (expensive; default false) */
    uint32_t stale_ms;            /* no frame for this long -> STALE + reconnect (0 = off); 30000 */
    uint32_t ping_ms;             /* send a ws ping after this much silence (0 = off); 10000 */
    uint32_t connect_timeout_ms;  /* resolve + TCP + TLS + upgrade; 10000 */
    uint32_t backoff_min_ms;      /* first reconnect delay; 250 */
    uint32_t backoff_max_ms;      /* cap of the exponential backoff; 30000 */
    uint32_t max_msg;             /* largest reassembled ws message in bytes; 8 MiB */
    uint32_t max_rest;            /* largest REST body in bytes; 32 MiB */
    uint32_t rest_weight_per_min; /* REST weight budget per minute of the venue (shared by
                                     every connection to its REST host, feed_rest_pace.h);
                                     0: the venue's published one; UINT32_MAX: unpaced */
    uint32_t rest_max_inflight;   /* REST requests in flight to the venue; 0: the venue's */
    uint32_t out_cap;             /* handler event buffer (events); 1024 */
    uint32_t ring_wait_us;        /* ring-full retry budget per flush; 50000 (capped at 50 ms) */
    uint32_t ring_overflow;       /* events held beyond a full ring during a burst, in order, in
                                     a buffer mapped only then (feed_ovf.h); the wait/drop path
                                     runs only when ring and overflow are full. 0: none
                                     (default); at most 1 << 24 */
    uint32_t rx_buffer;           /* lws rx buffer per connection; 65536 */
    tg_ring_t *ring;              /* output ring of tg_event_t; required. Producer: this loop */
    const struct tg_resync *resync; /* builder -> feed resync requests (book/tg_resync.h): a
                                       new request for one of this connection's instruments
                                       makes it reconnect (full resync); NULL: none */
    feed_log_fn log;                /* may be NULL */
    void *log_ctx;
    feed_raw_fn on_raw; /* optional raw-frame hook (e.g. a custom recorder) */
    void *raw_ctx;
    struct feed_capture *capture; /* optional tgrec capture (feed_capture.h), borrowed; used
                                     only by this loop's thread while it runs */
} feed_conn_cfg_t;

/** Fill defaults (see the field comments).  Thread: any. */
void feed_conn_cfg_defaults(feed_conn_cfg_t *c);

/** Loop configuration. */
typedef struct feed_loop_cfg {
    const char *name; /* thread name suffix ("feed:<name>"); default "feed" */
    feed_log_fn log;  /* loop-level log (context creation etc.); may be NULL */
    void *log_ctx;
    uint32_t tick_ms; /* housekeeping period (timers, on_tick dispatch); default 100 */
} feed_loop_cfg_t;

void feed_loop_cfg_defaults(feed_loop_cfg_t *c);

/** Connection state, readable by any thread. */
typedef enum feed_conn_state {
    FEED_CONN_IDLE = 0,       /* not started */
    FEED_CONN_RESOLVING = 1,  /* DNS lookup in the resolver thread */
    FEED_CONN_CONNECTING = 2, /* TCP/TLS/upgrade in progress */
    FEED_CONN_OPEN = 3,       /* websocket established */
    FEED_CONN_BACKOFF = 4,    /* waiting before the next attempt */
    FEED_CONN_STOPPED = 5,    /* loop stopped */
} feed_conn_state_t;

/** Transport counters beyond feed_stats_t. Single writer (loop thread), any reader. */
typedef struct feed_conn_tstats {
    tg_stat_t rx_frames;           /* complete websocket messages received (the handler counts its
                                      own feed_stats_t.frames/bytes, as the offline driver's do) */
    tg_stat_t rx_rest;             /* REST answers delivered to the handler */
    tg_stat_t rx_bytes;            /* payload bytes of both */
    tg_stat_t connects;            /* successful websocket upgrades */
    tg_stat_t connect_errors;      /* failed attempts (DNS, TCP, TLS, HTTP upgrade) */
    tg_stat_t closes;              /* established connections that ended */
    tg_stat_t stale;               /* stale-timer expiries */
    tg_stat_t oversized;           /* messages over max_msg (connection reset) */
    tg_stat_t frags;               /* websocket fragments that needed reassembly */
    tg_stat_t tx_frames, tx_bytes; /* text frames written */
    tg_stat_t tx_dropped;          /* sends refused (queue full or not connected) */
    tg_stat_t pings, pongs;
    tg_stat_t rest_ok, rest_fail, rest_dropped; /* dropped: answer of an older connection */
    tg_stat_t rest_queued;      /* gauge: GETs waiting for the venue's pacing or a slot */
    tg_stat_t rest_sent;        /* GETs started */
    tg_stat_t rest_throttled;   /* 429/418 answers (the request waits and goes again) */
    tg_stat_t rest_retry_waits; /* of those, the ones that stopped the venue (Retry-After) */
    tg_stat_t ev_dropped;       /* events lost to a full ring */
    tg_stat_t gap_marks;        /* TG_EV_GAP events injected after ring drops */
    tg_stat_t handler_errors;   /* failures outside err_* (feed_deliver) */
    tg_stat_t resync_requests;  /* reconnects asked for by the builder (checksum, crossed) */
    feed_ovf_stats_t ovf;       /* ring overflow: events and bytes held now, episodes */
} feed_conn_tstats_t;

/** Snapshot of a connection's state for /health.  */
typedef struct feed_conn_status {
    feed_conn_state_t state;
    int64_t last_frame_ns;  /* CLOCK_REALTIME of the last received frame (0 = never) */
    int64_t since_ns;       /* CLOCK_REALTIME when `state` was entered */
    uint32_t attempt;       /* consecutive failed attempts (backoff exponent) */
    int64_t venue_error_ns; /* when the venue last refused something (0 = never) */
    char venue_error[160];  /* its own words (feed_venue_error) */
} feed_conn_status_t;

/**
 * Create a loop (no thread yet).
 * @return 0, -EINVAL, -ENOMEM.  Thread: main.
 */
int feed_loop_create(feed_loop_t **out, const feed_loop_cfg_t *cfg);

/**
 * Add a connection. Validates the config, copies strings, resolves the symbols in cfg->reg,
 * allocates buffers and calls venue->init.
 * @param out Receives the connection handle (owned by the loop) on success; may be NULL.
 * @return 0; TG_ECONFIG (unknown venue, bad url, no ring, ...); TG_ESYMBOL (a symbol not in the
 *         registry); -EBUSY (loop already started); -ENOMEM; or venue->init's error.
 * Thread: main, before feed_loop_start().
 */
int feed_loop_add(feed_loop_t *l, const feed_conn_cfg_t *cfg, feed_conn_t **out);

/**
 * Create the lws context and vhosts and start the loop thread; connections start connecting.
 * @return 0, -EALREADY (already started; a stopped loop cannot start again), -ENOMEM,
 *         TG_ECONFIG (lws context/vhost creation failed, e.g. unreadable CA file), or -errno
 *         from pthread_create.  Thread: main.
 */
int feed_loop_start(feed_loop_t *l);

/**
 * Stop the loop: wakes it with lws_cancel_service(), which closes every connection (on_close
 * emits STALE for their books), flushes the handlers, and joins the thread. Idempotent.
 * @return 0, also when not started or already stopped (the tg_worker.h codes).
 * Thread: any thread except the loop's own.
 */
int feed_loop_stop(feed_loop_t *l);

/** Stop if needed, deinit handlers, free everything; sets *l = NULL. NULL-safe.  Thread: main. */
void feed_loop_destroy(feed_loop_t **l);

/** Number of connections; connection by index (NULL if out of range).  Thread: any. */
size_t feed_loop_count(const feed_loop_t *l);
feed_conn_t *feed_loop_conn(const feed_loop_t *l, size_t i);

/** Handler counters (frames/bytes/errors counted by the handler; reconnects, ring_full and
 *  resyncs asked through h->reconnect by the transport).  Thread: any. */
const feed_stats_t *feed_conn_stats(const feed_conn_t *c);
/** Transport counters.  Thread: any. */
const feed_conn_tstats_t *feed_conn_tstats(const feed_conn_t *c);
/** Current state, last frame time.  Thread: any (atomics, relaxed). */
void feed_conn_status(const feed_conn_t *c, feed_conn_status_t *st);
/** Connection name (immutable).  Thread: any. */
const char *feed_conn_name(const feed_conn_t *c);
/** State name for logs/health ("open", "backoff", ...).  Thread: any. */
const char *feed_conn_state_name(feed_conn_state_t s);

/**
 * Ask the connection to drop and reconnect (full resync), as the handler's h->reconnect does.
 * Thread: the loop thread only (use from on_frame or tests' hooks).
 */
void feed_conn_reconnect(feed_conn_t *c, const char *why);

#endif

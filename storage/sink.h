/* SPDX-License-Identifier: MIT */
/*
 * The sink contract: what every output of the builder (PostgreSQL, Redis, and those to come:
 * streams, shared memory, ...) provides, so that the gateway loops over one table and a new
 * sink is one module plus one row in storage/sink.c (docs/design.md "Substrate").
 *
 * A sink takes book_out_t records (book/book_out.h) of the classes it names (`takes`,
 * BOOK_SINK_* bits) from one SPSC ring the gateway creates for it; `lossless` sinks make the
 * builder wait when their ring is full, others lose what does not fit (counted by the builder).
 * It reads its own [section] of the config (cfg_* calls, every key checked, errors with the
 * key's text; its `enabled` key, a TG_CFG_BOOL, switches it on: tg_sink_enabled), is created and
 * connected at start (bad credentials fail fast there), runs its own thread between start and stop,
 * and describes its health and metrics.
 *
 * Thread rules: cfg_*, create, start, stop, destroy: main. health, metrics' pointers and
 * progress: any thread, at any time between create and destroy (they read single-writer
 * counters or copy under the sink's own lock).
 */
#ifndef TG_SINK_H
#define TG_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/tg_hist.h"
#include "book/tg_instr.h"
#include "book/tg_log.h"
#include "book/tg_ring.h"
#include "book/tg_stat.h"

#define TG_SINKS_MAX 8

/** What the gateway gives a sink at create time.  Thread: main. */
typedef struct tg_sink_env {
    const tg_instr_reg_t *reg; /* complete and immutable */
    tg_ring_t *ring;           /* book_out_t records; the sink is the consumer */
    uint32_t stop_timeout_ms;  /* [gateway] stop_timeout_ms: stop() returns within this */
    const char *instance;      /* [gateway] name ([A-Za-z0-9_.-]{1,63}); outlives the sink */
    const char *version;       /* the gateway's version text */
    tg_log_fn log;             /* TG_LOG_* levels; lctx names the sink ("sink=postgres") */
    void *lctx;
} tg_sink_env_t;

/** Hand the env's borrowed pointers to a writer's configuration: cfg is a store_*_cfg_t (an
 *  lvalue) with the members reg, ring, log and log_ud, as every writer of storage/ has; they get
 *  the registry, the sink's ring, the log function and its context.  Thread: main. */
#define TG_SINK_ENV_TO_CFG(cfg, env)                                                               \
    do {                                                                                           \
        (cfg).reg = (env)->reg;                                                                    \
        (cfg).ring = (env)->ring;                                                                  \
        (cfg).log = (env)->log;                                                                    \
        (cfg).log_ud = (env)->lctx;                                                                \
    } while (0)

/** How a sink registers its metrics (the gateway's registry behind function pointers, so
 *  storage/ does not depend on gateway/). Names follow Prometheus conventions; labels may be
 *  NULL. The pointers must stay valid until destroy.  Thread: main. */
typedef struct tg_sink_metrics {
    void *m;
    void (*counter)(void *m, const char *name, const char *labels, const char *help,
                    const tg_stat_t *v);
    void (*gauge)(void *m, const char *name, const char *labels, const char *help,
                  const tg_stat_t *v);
    void (*hist)(void *m, const char *name, const char *labels, const char *help,
                 const tg_hist_t *h);
} tg_sink_metrics_t;

/** One sink kind: an immutable table of functions.  Thread: any (const). */
typedef struct tg_sink_ops {
    const char *name; /* its config section and its name in logs, metrics and /health */
    uint32_t takes;   /* BOOK_SINK_* record classes (book/book_builder.h) */
    bool lossless;    /* true: never drop (the builder waits); false: drops are counted */
    const struct tg_cfgkey *keys; /* its config keys (book/tg_cfgkey.h): docs/config.md */
    size_t n_keys;
    size_t cfg_size; /* its config struct: zeroed, then the keys' defaults (tg_sink_cfg_defaults) */
    /** Optional: refuse one `key = value` of its section before the key table stores it
     *  (tg_sink_cfg_set). @return 0, or TG_ECONFIG with a message in err. */
    int (*cfg_key)(const char *key, const char *value, char *err, size_t cap);
    /** After every key: cross-key checks. @return 0 or TG_ECONFIG with err. */
    int (*cfg_check)(void *cfg, char *err, size_t cap);
    /** Create and connect (fail fast on bad settings). @return 0, or < 0 with err filled. */
    int (*create)(void **obj, const void *cfg, const tg_sink_env_t *env, char *err, size_t cap);
    int (*start)(void *obj);
    /** Drain, flush, stop the thread. @return 0, or the number of records it could neither
     *  deliver nor keep (> 0: data lost at stop). */
    long (*stop)(void *obj);
    void (*destroy)(void **obj);
    /** Health: a JSON object's members ("\"connected\":true,...") into buf.
     *  @return 1 when healthy.  Thread: any. */
    int (*health)(void *obj, char *buf, size_t cap);
    void (*metrics)(void *obj, const tg_sink_metrics_t *reg);
    /** `key=value` fields for the gateway's progress line.  Thread: any. */
    void (*progress)(void *obj, char *buf, size_t cap);
    /** Optional: resume points for trade backfill at start-up (docs/feeds.md, "Trade
     *  backfill"), for each registry instrument i among the trades of the last max_age_s
     *  seconds: by_ts[i] 0 (trade ids consecutive): out[i] = the last trade id the sink holds,
     *  0 if none; by_ts[i] 1 (by time): out_ts[i] = the exchange time (ns) of the newest trade
     *  it holds, at most 1 us before it (the sink's precision), 0 if none. @return instruments
     *  with one, or < 0 with err filled (-ENOTCONN: the sink's server is away).  Thread: main,
     *  after create, before start. */
    long (*last_trades)(void *obj, const uint8_t *by_ts, uint64_t *out, int64_t *out_ts,
                        uint32_t max_age_s, char *err, size_t cap);
} tg_sink_ops_t;

/* The sink kinds of this build, each defined in its folder; the table is sink.c. */
extern const tg_sink_ops_t tg_sink_postgres; /* pg/sink_pg.c */
extern const tg_sink_ops_t tg_sink_redis;    /* redis/sink_redis.c */
extern const tg_sink_ops_t tg_sink_shm;      /* shm/sink_shm.c */

/** The i-th sink kind of this build (0-based); NULL past the end.  Thread: any. */
const tg_sink_ops_t *tg_sink_at(size_t i);

/** A sink kind by name (its section name). NULL if none.  Thread: any. */
const tg_sink_ops_t *tg_sink_find(const char *name);

/** Fill cfg (o->cfg_size bytes) with the defaults of o's keys, zero elsewhere.  Thread: any. */
void tg_sink_cfg_defaults(const tg_sink_ops_t *o, void *cfg);

/** Whether the sink is on in cfg: its `enabled` key (a TG_CFG_BOOL, so an int; a sink
 *  without one is always on).  Thread: any. */
bool tg_sink_enabled(const tg_sink_ops_t *o, const void *cfg);

/** One `key = value` of o's section: o->cfg_key's check, then o's key table.
 *  @return 0, or TG_ECONFIG with a message in err ("batch_rows must be 1..10000000: 'x'",
 *  "unknown key"; the gateway prefixes file, line and section).  Thread: main. */
int tg_sink_cfg_set(const tg_sink_ops_t *o, void *cfg, const char *key, const char *value,
                    char *err, size_t cap);

/** mkdir -p with mode 0700, for the directories a sink (or the gateway) creates.
 *  @return 0 or -1 (errno set).  Thread: any. */
int tg_sink_mkdir_p(const char *path);

#endif

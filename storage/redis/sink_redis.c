/* SPDX-License-Identifier: MIT */
/*
 * The Redis publisher as a sink (storage/sink.h): its [redis] keys, its life cycle, its health
 * and metrics. The publisher itself is store_rds.h.
 * Thread: main (config, create, start, stop, destroy); any (health, progress).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book_builder.h"
#include "book/tg_cfgkey.h"
#include "book/tg_err.h"
#include "book/tg_own.h"
#include "storage/redis/rds_cluster.h"
#include "storage/redis/store_rds.h"
#include "storage/sink.h"

/** [redis] settings. */
typedef struct sink_rds_cfg {
    int enabled;
    char host[256];
    uint32_t port, db;
    int64_t book_ttl_ms, trade_ttl_ms;
    uint32_t stream_trades, stream_books, stream_candles; /* MAXLEN ~ N, 0: no stream */
    uint64_t stream_backlog;
    int required;    /* refuse to start while Redis is unreachable */
    char leader[64]; /* redundancy group: publish only while holding its lease */
    uint32_t leader_lease_ms;
    char cluster[512]; /* Redis Cluster seeds "host:port, ..." (empty: host/port) */
} sink_rds_cfg_t;

#define K(...) TG_CFGKEY_ROW(sink_rds_cfg_t, __VA_ARGS__)
static const tg_cfgkey_t rds_keys[] = {
    K("enabled", TG_CFG_BOOL, enabled, 0, 1, "true", "publish to Redis"),
    K("host", TG_CFG_STR, host, 1, 0, "127.0.0.1", "Redis server host"),
    K("port", TG_CFG_U32, port, 1, 65535, "6379", "Redis server port"),
    K("db", TG_CFG_U32, db, 0, 1000, "0", "database number (SELECT)"),
    K("book_ttl_s", TG_CFG_SEC, book_ttl_ms, 1, 86400, "10", "TTL of tg:book:* keys"),
    K("trade_ttl_s", TG_CFG_SEC, trade_ttl_ms, 1, 86400, "60", "TTL of tg:trade:* keys"),
    K("required", TG_CFG_BOOL, required, 0, 1, "false",
      "refuse to start while Redis is unreachable (default: start, reconnect in the background)"),
    K("stream_trades", TG_CFG_U32, stream_trades, 0, 100000000, "0",
      "also XADD trade messages to a stream per channel, MAXLEN ~ this (0: off)"),
    K("stream_books", TG_CFG_U32, stream_books, 0, 100000000, "0",
      "also XADD book messages to a stream per channel, MAXLEN ~ this (0: off)"),
    K("stream_candles", TG_CFG_U32, stream_candles, 0, 100000000, "0",
      "also XADD candle messages to a stream per channel, MAXLEN ~ this (0: off)"),
    K("stream_backlog_mb", TG_CFG_MB, stream_backlog, 1, 4096, "4",
      "recent stream entries re-sent after a reconnect"),
    K("leader", TG_CFG_STR, leader, 0, 0, "",
      "redundant gateways: of those with the same group, only the holder of the Redis lease "
      "{prefix}:leader:{group} publishes; the others stand by (empty: always publish)"),
    K("leader_lease_ms", TG_CFG_U32, leader_lease_ms, 300, 600000, "2000",
      "the lease's length: a dead leader is replaced within about 4/3 of it"),
    K("cluster", TG_CFG_STR, cluster, 0, 0, "",
      "Redis Cluster seeds \"host:port, host:port, ...\": publish to every primary, each "
      "instrument to its slot's (empty: the one Redis at host:port)"),
};
#undef K
#define N_KEYS (sizeof(rds_keys) / sizeof(rds_keys[0]))

static int rds_cfg_key(const char *key, const char *value, char *err, size_t cap)
{
    if (!strcmp(key, "leader") &&
        strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789_.-") != strlen(value)) {
        snprintf(err, cap, "leader must be a group name of [A-Za-z0-9_.-]: '%s'", value);
        return TG_ECONFIG;
    }
    if (!strcmp(key, "password")) {
        snprintf(err, cap, "password must not be in the file: set TICKGATE_REDIS_PASSWORD");
        return TG_ECONFIG;
    }
    return 0;
}

static int rds_cfg_check(void *cfg, char *err, size_t cap)
{
    const sink_rds_cfg_t *c = cfg;
    if (!c->cluster[0])
        return 0;
    if (c->db) {
        snprintf(err, cap, "db must be 0 with [redis] cluster (a cluster has db 0 only)");
        return TG_ECONFIG;
    }
    rds_cluster_node_t seeds[16];
    char why[160];
    if (rds_cluster_parse_seeds(c->cluster, seeds, 16, why, sizeof(why)) < 0) {
        snprintf(err, cap, "cluster: %s", why);
        return TG_ECONFIG;
    }
    return 0;
}

static void rds_fill(store_rds_cfg_t *rc, const sink_rds_cfg_t *c, const tg_sink_env_t *env)
{
    store_rds_cfg_defaults(rc);
    rc->host = c->host;
    rc->port = (int)c->port;
    rc->db = (int)c->db;
    rc->password_env = "TICKGATE_REDIS_PASSWORD";
    rc->book_ttl_ms = c->book_ttl_ms;
    rc->trade_ttl_ms = c->trade_ttl_ms;
    rc->stream_trades = c->stream_trades;
    rc->stream_books = c->stream_books;
    rc->stream_candles = c->stream_candles;
    rc->stream_backlog = (size_t)c->stream_backlog;
    rc->leader_group = c->leader;
    rc->leader_lease_ms = c->leader_lease_ms;
    rc->cluster = c->cluster;
    rc->instance = env->instance;
    TG_SINK_ENV_TO_CFG(*rc, env);
}

static int rds_create(void **obj, const void *cfgv, const tg_sink_env_t *env, char *err, size_t cap)
{
    const sink_rds_cfg_t *c = cfgv;
    store_rds_cfg_t rc;
    rds_fill(&rc, c, env);
    char why[256], where[300];
    if (c->cluster[0])
        snprintf(where, sizeof(where), "the Redis Cluster");
    else
        snprintf(where, sizeof(where), "%s:%u", c->host, c->port);
    int r = store_rds_probe(&rc, why, sizeof(why));
    /* refused settings (AUTH/SELECT: TG_EREDIS, bad URL: -EINVAL) always stop the start; an
     * unreachable server only with required (the publisher reconnects by itself) */
    if (r < 0 && (r == TG_EREDIS || r == -EINVAL || c->required)) {
        snprintf(err, cap, "cannot connect to %s: %s", where, why);
        return r;
    }
    if (r < 0)
        tg_logf(env->log, env->lctx, TG_LOG_ERROR,
                "Redis unreachable at start-up (%s: %s); starting anyway, reconnecting in "
                "the background ([redis] required = true refuses to start instead)",
                where, why);
    store_rds_t *p = NULL;
    if ((r = store_rds_create(&p, &rc)) < 0) {
        snprintf(err, cap, "cannot create the publisher: %s", tg_strerror(r));
        return r;
    }
    *obj = p;
    return 0;
}

static int rds_start(void *obj)
{
    return store_rds_start(obj);
}

static long rds_stop(void *obj)
{
    store_rds_stop(obj); /* lossy by design: what it could not send shows as sequence holes */
    return 0;
}

static void rds_destroy(void **obj)
{
    store_rds_t *p = tg_own_take(obj);
    store_rds_destroy(&p);
}

static int rds_health(void *obj, char *buf, size_t cap)
{
    int up = TG_STAT_GET(store_rds_stats(obj)->connected) != 0;
    int role = store_rds_role(obj);
    snprintf(buf, cap, "\"connected\":%s%s", up ? "true" : "false",
             role == 1   ? ",\"role\":\"leader\""
             : role == 2 ? ",\"role\":\"standby\""
                         : "");
    return up || role == 2; /* a standby publishes nothing, by design */
}

static void rds_metrics(void *obj, const tg_sink_metrics_t *r)
{
    const store_rds_stats_t *s = store_rds_stats(obj);
    void *m = r->m;
    r->counter(m, "tickgate_redis_messages_total", NULL, "PUBLISH commands sent.", &s->messages);
    r->counter(m, "tickgate_redis_snapshots_total", NULL, "SET commands sent.", &s->snapshots);
    r->counter(m, "tickgate_redis_coalesced_total", NULL,
               "Snapshots replaced by a newer one before sending.", &s->coalesced);
    r->counter(m, "tickgate_redis_dropped_total", NULL,
               "Messages not sent while disconnected (gaps in sequence numbers).", &s->dropped);
    r->counter(m, "tickgate_redis_lost_total", NULL,
               "Commands in flight when a connection failed, or refused by a cluster "
               "redirection (not executed; logged with counts on reconnect).",
               &s->lost);
    r->counter(m, "tickgate_redis_stream_adds_total", NULL, "XADD commands sent (streams).",
               &s->stream_adds);
    r->counter(m, "tickgate_redis_stream_resent_total", NULL,
               "Stream entries re-sent from the backlog after a reconnect.", &s->stream_resent);
    r->counter(m, "tickgate_redis_hellos_total", NULL,
               "Hello documents published on {prefix}.control after a connect (keys restored).",
               &s->hellos);
    r->counter(m, "tickgate_redis_stream_dups_total", NULL,
               "Re-sent stream entries that Redis already held.", &s->stream_dups);
    r->counter(m, "tickgate_redis_stream_evicted_total", NULL,
               "Stream entries pushed out of the backlog while disconnected.", &s->stream_evicted);
    r->counter(m, "tickgate_redis_errors_total", NULL, "Errors.", &s->errors);
    r->counter(m, "tickgate_redis_reconnects_total", NULL, "Reconnects.", &s->reconnects);
    r->gauge(m, "tickgate_redis_connected", NULL, "1 while connected.", &s->connected);
    r->counter(m, "tickgate_redis_cluster_refreshes_total", NULL,
               "Redis Cluster slot maps read (at every connect, and while a node is down).",
               &s->cluster_refreshes);
    r->counter(m, "tickgate_redis_cluster_redirects_total", NULL,
               "MOVED/ASK replies (the command sent again to the node named, else lost).",
               &s->cluster_redirects);
    r->counter(m, "tickgate_redis_cluster_resent_total", NULL,
               "Commands sent again after a MOVED (to the slot's new owner) or an ASK (ASKING).",
               &s->cluster_resent);
    r->counter(m, "tickgate_redis_cluster_slow_total", NULL,
               "Times a Redis Cluster node kept replies waiting past 200 ms: the other nodes went "
               "on without waiting for it (it fails at command_timeout_ms).",
               &s->cluster_slow);
    r->gauge(m, "tickgate_redis_cluster_nodes", NULL,
             "Redis Cluster primaries connected (0 when not in cluster mode).", &s->cluster_nodes);
    r->gauge(m, "tickgate_redis_leader", NULL,
             "1 while this gateway publishes ([redis] leader: while it holds the lease).",
             &s->leader);
    r->counter(m, "tickgate_redis_promotions_total", NULL,
               "Leases won: this gateway became its group's publisher.", &s->promotions);
    r->counter(m, "tickgate_redis_demotions_total", NULL,
               "Leases lost or not renewed in time: this gateway stopped publishing.",
               &s->demotions);
    r->counter(m, "tickgate_redis_standby_total", NULL,
               "Messages not sent because another gateway of the group publishes.", &s->standby);
    r->hist(m, "tickgate_redis_rtt_seconds", NULL, "Pipeline round trip.", &s->rtt_lat);
    r->hist(m, "tickgate_latency_receive_to_redis_seconds", NULL,
            "Receive (monotonic) to PUBLISH acknowledged by Redis.", &s->pub_lat);
    static const char *const lk[BOOK_LAT_KINDS] = {"trade", "book", "candle", "timer"};
    static const char *const help =
        "Receive (monotonic) to each hand-off, by stage and record class.";
    for (int k = 0; k < BOOK_LAT_KINDS; k++) {
        char lb[96];
        snprintf(lb, sizeof(lb), "stage=\"redis_popped\",kind=\"%s\"", lk[k]);
        r->hist(m, "tickgate_latency_stage_seconds", lb, help, &s->lat_pop[k]);
        snprintf(lb, sizeof(lb), "stage=\"redis_written\",kind=\"%s\"", lk[k]);
        r->hist(m, "tickgate_latency_stage_seconds", lb, help, &s->lat_written[k]);
        snprintf(lb, sizeof(lb), "stage=\"redis_acked\",kind=\"%s\"", lk[k]);
        r->hist(m, "tickgate_latency_stage_seconds", lb, help, &s->lat_acked[k]);
        snprintf(lb, sizeof(lb), "kind=\"%s\"", lk[k]);
        r->hist(m, "tickgate_latency_redis_ring_seconds", lb,
                "Builder push (ts_out) to popped by the Redis publisher: the hand-off alone.",
                &s->lat_ring[k]);
    }
}

static void rds_progress(void *obj, char *buf, size_t cap)
{
    const store_rds_stats_t *s = store_rds_stats(obj);
    snprintf(buf, cap, "redis_msgs=%llu redis_coalesced=%llu redis_dropped=%llu",
             (unsigned long long)TG_STAT_GET(s->messages),
             (unsigned long long)TG_STAT_GET(s->coalesced),
             (unsigned long long)TG_STAT_GET(s->dropped));
}

const tg_sink_ops_t tg_sink_redis = {
    .name = "redis",
    /* the hot state: every change, forming candles too; and the trades lost at a venue, so a
     * subscriber sees them on the trades channel (docs/redis.md "trade_gap") */
    .takes = BOOK_SINK_ALL | BOOK_SINK_TRADE_GAP,
    .lossless = false,
    .keys = rds_keys,
    .n_keys = N_KEYS,
    .cfg_size = sizeof(sink_rds_cfg_t),
    .cfg_key = rds_cfg_key,
    .cfg_check = rds_cfg_check,
    .create = rds_create,
    .start = rds_start,
    .stop = rds_stop,
    .destroy = rds_destroy,
    .health = rds_health,
    .metrics = rds_metrics,
    .progress = rds_progress,
};

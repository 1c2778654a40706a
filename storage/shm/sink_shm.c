/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory publisher as a sink (storage/sink.h): its [shm] keys, its life cycle, its
 * health and metrics. The publisher itself is store_shm.h; the layout is shm_layout.h.
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
#include "storage/shm/shm_layout.h"
#include "storage/shm/store_shm.h"
#include "storage/sink.h"

/** [shm] settings. */
typedef struct sink_shm_cfg {
    int enabled;
    char name[200];
    uint32_t depth, ring_entries, spin_us;
    char mode[8];
    int unlink;
} sink_shm_cfg_t;

#define K(...) TG_CFGKEY_ROW(sink_shm_cfg_t, __VA_ARGS__)
static const tg_cfgkey_t shm_keys[] = {
    K("enabled", TG_CFG_BOOL, enabled, 0, 1, "false",
      "publish books and trades into a shared-memory segment (docs/shm.md)"),
    K("name", TG_CFG_STR, name, 1, 0, "/tickgate", "POSIX shm name of the segment: /name"),
    K("depth", TG_CFG_U32, depth, 1, TG_SHM_DEPTH_MAX, "20",
      "levels per side held per instrument (at most [gateway] book_depth arrive)"),
    K("ring_entries", TG_CFG_U32, ring_entries, TG_SHM_RING_MIN, TG_SHM_RING_MAX, "65536",
      "trade and notice ring, a power of two (128 bytes each)"),
    K("mode", TG_CFG_STR, mode, 1, 0, "0640", "permissions of the segment (octal)"),
    K("unlink", TG_CFG_BOOL, unlink, 0, 1, "true", "remove the segment's name at exit"),
    K("spin_us", TG_CFG_U32, spin_us, 0, 10000, "10",
      "busy-poll the sink ring this long before sleeping"),
};
#undef K
#define N_KEYS (sizeof(shm_keys) / sizeof(shm_keys[0]))

static int parse_mode(const char *s, unsigned *out)
{
    char *end = NULL;
    unsigned long m = strtoul(s, &end, 8);
    if (!*s || *end || m > 0777)
        return -1;
    *out = (unsigned)m;
    return 0;
}

static int shm_cfg_check(void *cfgv, char *err, size_t cap)
{
    sink_shm_cfg_t *c = cfgv;
    unsigned m;
    if (c->ring_entries & (c->ring_entries - 1)) {
        snprintf(err, cap, "ring_entries must be a power of two: %u", c->ring_entries);
        return TG_ECONFIG;
    }
    if (c->name[0] != '/' || !c->name[1] || strchr(c->name + 1, '/')) {
        snprintf(err, cap, "name must be /word (one slash, at the start): '%s'", c->name);
        return TG_ECONFIG;
    }
    if (parse_mode(c->mode, &m) < 0) {
        snprintf(err, cap, "mode must be octal permissions 0..0777: '%s'", c->mode);
        return TG_ECONFIG;
    }
    return 0;
}

static int shm_create(void **obj, const void *cfgv, const tg_sink_env_t *env, char *err, size_t cap)
{
    const sink_shm_cfg_t *c = cfgv;
    store_shm_cfg_t sc;
    store_shm_cfg_defaults(&sc);
    unsigned mode = 0640;
    parse_mode(c->mode, &mode);
    sc.name = c->name;
    sc.depth = c->depth;
    sc.ring_entries = c->ring_entries;
    sc.mode = mode;
    sc.unlink = c->unlink != 0;
    sc.spin_ns = (int64_t)c->spin_us * 1000;
    TG_SINK_ENV_TO_CFG(sc, env);
    store_shm_t *p = NULL;
    char why[400];
    int r = store_shm_create(&p, &sc, why, sizeof(why));
    if (r < 0) {
        snprintf(err, cap, "cannot create the segment: %s", why);
        return r;
    }
    *obj = p;
    return 0;
}

static int shm_start(void *obj)
{
    return store_shm_start(obj);
}

static long shm_stop(void *obj)
{
    store_shm_stop(obj); /* lossy by design: what readers miss shows as holes */
    return 0;
}

static void shm_destroy(void **obj)
{
    store_shm_t *p = tg_own_take(obj);
    store_shm_destroy(&p);
}

static int shm_health(void *obj, char *buf, size_t cap)
{
    const store_shm_stats_t *s = store_shm_stats(obj);
    snprintf(buf, cap, "\"bytes\":%llu,\"records\":%llu", (unsigned long long)store_shm_size(obj),
             (unsigned long long)TG_STAT_GET(s->records));
    return 1; /* a mapped segment cannot go away under the writer */
}

static void shm_metrics(void *obj, const tg_sink_metrics_t *r)
{
    const store_shm_stats_t *s = store_shm_stats(obj);
    void *m = r->m;
    r->counter(m, "tickgate_shm_records_total", NULL, "Records taken from the sink ring.",
               &s->records);
    r->counter(m, "tickgate_shm_trades_total", NULL, "Trade entries written.", &s->trades);
    r->counter(m, "tickgate_shm_books_total", NULL, "Book slot versions written.", &s->books);
    r->counter(m, "tickgate_shm_statuses_total", NULL, "Book state changes written.", &s->statuses);
    r->counter(m, "tickgate_shm_bad_records_total", NULL,
               "Records of an unknown instrument or kind (not published).", &s->bad_records);
    r->counter(m, "tickgate_shm_wakes_total", NULL,
               "FUTEX_WAKE calls made for sleeping readers (at most one per batch).", &s->wakes);
    r->hist(m, "tickgate_latency_receive_to_shm_seconds", NULL,
            "Receive (monotonic) to visible in the shared-memory segment.", &s->pub_lat);
    r->hist(m, "tickgate_latency_shm_ring_seconds", NULL,
            "Builder push (ts_out) to visible in the segment: the hand-off alone.", &s->ring_lat);
}

static void shm_progress(void *obj, char *buf, size_t cap)
{
    const store_shm_stats_t *s = store_shm_stats(obj);
    snprintf(buf, cap, "shm_records=%llu shm_trades=%llu shm_books=%llu",
             (unsigned long long)TG_STAT_GET(s->records),
             (unsigned long long)TG_STAT_GET(s->trades), (unsigned long long)TG_STAT_GET(s->books));
}

const tg_sink_ops_t tg_sink_shm = {
    .name = "shm",
    /* the latest top-N and every trade; interval repeats and candles are not held */
    .takes = BOOK_SINK_TRADE | BOOK_SINK_BOOK_CHANGE | BOOK_SINK_BOOK_STATE | BOOK_SINK_GAP,
    .lossless = false,
    .keys = shm_keys,
    .n_keys = N_KEYS,
    .cfg_size = sizeof(sink_shm_cfg_t),
    .cfg_check = shm_cfg_check,
    .create = shm_create,
    .start = shm_start,
    .stop = shm_stop,
    .destroy = shm_destroy,
    .health = shm_health,
    .metrics = shm_metrics,
    .progress = shm_progress,
};

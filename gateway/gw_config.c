/* SPDX-License-Identifier: MIT */
/*
 * INI configuration (see gw_config.h). inih does the parsing; we keep our own map from
 * (section, key) to line number, since Debian's libinih is built without
 * INI_HANDLER_LINENO, so that every error can name its line.
 */
#include "gw_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "book/tg_cfgkey.h"
#include "book/tg_err.h"
#include "book/tg_event.h"
#include "book/tg_ring.h"
#include "feeds/feed.h"

typedef struct line_map {
    char section[96];
    char key[64];
    int line;
} line_map_t;

typedef struct parse_ctx {
    gw_cfg_t *c;
    line_map_t *lines;
    size_t n_lines, cap_lines;
    gw_feed_cfg_t *cur_feed;
} parse_ctx_t;

static void cfg_error(gw_cfg_t *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void cfg_error(gw_cfg_t *c, int line, const char *fmt, ...)
{
    if (c->n_errors >= GW_CFG_ERR_MAX)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t n = strlen(c->path) + strlen(msg) + 32;
    char *e = malloc(n);
    if (!e)
        return;
    if (line > 0)
        snprintf(e, n, "%s:%d: %s", c->path, line, msg);
    else
        snprintf(e, n, "%s: %s", c->path, msg);
    c->errors[c->n_errors++] = e;
}

/* Scan the file once for "[section]" and "key =" lines to learn their line numbers. */
static void map_lines(parse_ctx_t *p, FILE *f)
{
    char buf[8192], section[96] = "";
    int line = 0;
    while (fgets(buf, sizeof(buf), f)) {
        line++;
        char *s = buf;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (e) {
                size_t n = (size_t)(e - s - 1);
                if (n >= sizeof(section))
                    n = sizeof(section) - 1;
                memcpy(section, s + 1, n);
                section[n] = 0;
            }
            if (p->n_lines == p->cap_lines) {
                p->cap_lines = p->cap_lines ? p->cap_lines * 2 : 64;
                p->lines = realloc(p->lines, p->cap_lines * sizeof(line_map_t));
            }
            line_map_t *m = &p->lines[p->n_lines++];
            snprintf(m->section, sizeof(m->section), "%s", section);
            m->key[0] = 0;
            m->line = line;
            continue;
        }
        if (s != buf || *s == ';' || *s == '#' || !*s)
            continue; /* continuation lines and comments */
        char *eq = strpbrk(s, "=:");
        if (!eq)
            continue;
        char *ke = eq;
        while (ke > s && isspace((unsigned char)ke[-1]))
            ke--;
        if (p->n_lines == p->cap_lines) {
            p->cap_lines = p->cap_lines ? p->cap_lines * 2 : 64;
            p->lines = realloc(p->lines, p->cap_lines * sizeof(line_map_t));
        }
        line_map_t *m = &p->lines[p->n_lines++];
        snprintf(m->section, sizeof(m->section), "%s", section);
        size_t kn = (size_t)(ke - s);
        if (kn >= sizeof(m->key))
            kn = sizeof(m->key) - 1;
        memcpy(m->key, s, kn);
        m->key[kn] = 0;
        m->line = line;
    }
}

static int line_of(const parse_ctx_t *p, const char *section, const char *key)
{
    int found = 0;
    for (size_t i = 0; i < p->n_lines; i++)
        if (strcmp(p->lines[i].section, section) == 0 &&
            strcmp(p->lines[i].key, key ? key : "") == 0)
            found = p->lines[i].line; /* the last one wins, like the parser */
    return found;
}

int gw_cfg_parse_duration(const char *s, int64_t *ns)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v <= 0)
        return TG_ECONFIG;
    int64_t mul;
    if (strcmp(end, "ms") == 0)
        mul = 1000000LL;
    else if (strcmp(end, "s") == 0 || *end == 0)
        mul = 1000000000LL;
    else if (strcmp(end, "m") == 0)
        mul = 60LL * 1000000000LL;
    else if (strcmp(end, "h") == 0)
        mul = 3600LL * 1000000000LL;
    else if (strcmp(end, "d") == 0)
        mul = 86400LL * 1000000000LL;
    else
        return TG_ECONFIG;
    if (v > INT64_MAX / mul)
        return TG_ECONFIG;
    *ns = v * mul;
    return 0;
}

static int parse_u32(const char *v, uint32_t *out, uint32_t min, uint32_t max)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end || errno || x < min || x > max || *v == '-')
        return -1;
    *out = (uint32_t)x;
    return 0;
}

/*
 * The gateway's own sections as tables of book/tg_cfgkey.h, like the sinks' (storage/sink.h):
 * one row per key with its type, range, default and help; docs/config.md is checked against
 * them (tests/ops/test_ops_config_doc.c). Rows whose value is more than a number, a boolean or
 * a string (an enum, a list, HOST:PORT, a power of two...) have off == GW_KEY_CUSTOM and are
 * parsed by the section's custom function; their type says how they read in the docs.
 */
#define GW_KEY_CUSTOM SIZE_MAX

#define KG(...) TG_CFGKEY_ROW(gw_cfg_t, __VA_ARGS__)
#define KF(...) TG_CFGKEY_ROW(gw_feed_cfg_t, __VA_ARGS__)
#define KC(k, t, mn, mx, d, h)                                                                     \
    {                                                                                              \
        k, t, GW_KEY_CUSTOM, 0, mn, mx, d, h                                                       \
    }

static const tg_cfgkey_t gateway_keys[] = {
    KC("name", TG_CFG_STR, 0, 0, "tickgate",
       "this instance's name, [A-Za-z0-9_.-]{1,63}: instance= on every log line, "
       "tickgate_instance_info, /health, PostgreSQL application_name and instances row"),
    KC("log_level", TG_CFG_STR, 0, 0, "info", "error | warn | info | debug"),
    KG("feed_threads", TG_CFG_U32, feed_threads, 1, 64, "1", "libwebsockets service threads"),
    KC("feed_ring", TG_CFG_U32, 64, 1u << 24, "auto",
       "events per connection ring, a power of two (fixed: no overflow); auto: a ring of 16384 "
       "plus an overflow mapped only during a burst, the two holding 65536 up to 16 "
       "connections, then 64 MiB shared by all (at least 8192 each)"),
    KC("sink_ring", TG_CFG_U32, 64, 1u << 24, "16384", "records per sink ring, a power of two"),
    KG("book_depth", TG_CFG_U32, book_depth, 1, 20, "10", "book levels per side published"),
    KG("snapshot_min_ms", TG_CFG_U32, snapshot_min_ms, 0, 3600000, "0",
       "on-change book snapshots at most this often per instrument; 0: every change at once"),
    KG("forming_min_ms", TG_CFG_U32, forming_min_ms, 0, 3600000, "0",
       "forming candles at most this often per instrument and interval; 0: at once"),
    KG("candle_dedup_window", TG_CFG_U32, candle_dedup_window, 0, 1048576, "1024",
       "trade keys remembered per instrument so candles count each trade once (28 B each); "
       "0: off"),
    KG("spin_us", TG_CFG_U32, spin_us, 0, 1000000, "10",
       "the builder busy-polls its rings this long before sleeping"),
    KG("snapshot_interval_ms", TG_CFG_U32, snapshot_interval_ms, 0, 86400000, "1000",
       "periodic book snapshots (0: none)"),
    KC("candles", TG_CFG_STR, 0, 0, "1m", "candle intervals, a list of durations"),
    KG("stop_timeout_ms", TG_CFG_U32, stop_timeout_ms, 10, 600000, "900",
       "SIGTERM: time allowed for the final flush"),
    KG("backfill_resume_s", TG_CFG_U32, backfill_resume_s, 0, 604800, "3600",
       "at start, fetch the trades since the last one PostgreSQL holds if it is at most this "
       "old (s; venues with trade history); 0: never"),
};

static const tg_cfgkey_t record_keys[] = {
    KG("enabled", TG_CFG_BOOL, rec_enabled, 0, 1, "false", "capture every received frame"),
    KG("dir", TG_CFG_STR, rec_dir, 0, 0, "/var/lib/tickgate/capture",
       "directory of the tgrec.zst files"),
    KG("rotate_mb", TG_CFG_MB, rec_rotate_bytes, 1, 1048576, "256", "rotate a file at this size"),
    KG("rotate_s", TG_CFG_U32, rec_rotate_s, 1, 604800, "3600", "rotate a file at this age"),
};

static const tg_cfgkey_t metrics_keys[] = {
    KG("enabled", TG_CFG_BOOL, metrics_enabled, 0, 1, "true", "serve /metrics, /health, /"),
    KC("listen", TG_CFG_STR, 0, 0, "127.0.0.1:9108", "HOST:PORT of the HTTP server"),
};

static const tg_cfgkey_t feed_keys[] = {
    KC("venue", TG_CFG_STR, 0, 0, NULL, "venue handler (tickgate --list-venues); required"),
    KC("url", TG_CFG_STR, 0, 0, "", "ws:// or wss:// endpoint; empty: the venue's public one"),
    KC("rest_url", TG_CFG_STR, 0, 0, "", "http(s):// base of REST snapshots; empty: the venue's"),
    KF("ca_file", TG_CFG_STR, ca_file, 0, 0, "", "extra CA bundle (PEM)"),
    KC("symbols", TG_CFG_STR, 0, 0, NULL,
       "instruments as the venue spells them, comma-separated; repeatable; required"),
    KC("channels", TG_CFG_STR, 0, 0, "trades, book", "trades and/or book"),
    KF("depth", TG_CFG_U32, depth, 0, 100000, "0", "subscribed book depth; 0: venue default"),
    KC("px_scale", TG_CFG_U32, 0, 18, "", "price decimals; empty: venue default"),
    KC("sz_scale", TG_CFG_U32, 0, 18, "", "size decimals; empty: venue default"),
    KF("stale_ms", TG_CFG_U32, stale_ms, 100, 3600000, "30000", "a feed silent this long is STALE"),
    KF("rest_weight_per_min", TG_CFG_U32, rest_weight_per_min, 0, 4294967295u, "0",
       "REST weight budget per minute (all feeds of the venue's REST host); 0: the venue's "
       "published limit; 4294967295: unpaced (a local test server)"),
    KF("reconnect_max_ms", TG_CFG_U32, reconnect_max_ms, 250, 3600000, "30000",
       "longest wait before a reconnect (backoff from 250 ms doubles up to this)"),
    KC("thread", TG_CFG_U32, 0, 64, NULL,
       "feed thread (modulo feed_threads); default: the feed's position"),
    KF("deflate", TG_CFG_BOOL, deflate, 0, 1, "false", "permessage-deflate"),
};

#define N_KEYS(t) (sizeof(t) / sizeof((t)[0]))

const tg_cfgkey_t *gw_cfg_keys(const char *section, size_t *n)
{
    static const struct {
        const char *name;
        const tg_cfgkey_t *keys;
        size_t n;
    } sec[] = {
        {"gateway", gateway_keys, N_KEYS(gateway_keys)},
        {"record", record_keys, N_KEYS(record_keys)},
        {"metrics", metrics_keys, N_KEYS(metrics_keys)},
        {"feed", feed_keys, N_KEYS(feed_keys)},
    };
    for (size_t i = 0; i < N_KEYS(sec); i++)
        if (strcmp(sec[i].name, section) == 0) {
            *n = sec[i].n;
            return sec[i].keys;
        }
    *n = 0;
    return NULL;
}

#define KERR(...) (snprintf(err, cap, __VA_ARGS__), -1)

/* Custom keys of [gateway], [record], [metrics] (obj: the gw_cfg_t). @return 0 or -1. */
static int gateway_custom(gw_cfg_t *c, void *obj, const char *k, const char *v, char *err,
                          size_t cap)
{
    (void)obj;
    uint32_t u;
    if (!strcmp(k, "name")) {
        /* it goes unquoted into logfmt, Prometheus labels and application_name */
        size_t n = strlen(v), ok = strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789_.-");
        if (n == 0 || n >= sizeof(c->name) || ok != n)
            return KERR("name must be 1..63 of [A-Za-z0-9_.-]: '%s'", v);
        memcpy(c->name, v, n + 1);
        return 0;
    }
    if (!strcmp(k, "log_level")) {
        static const char *lv[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (!strcasecmp(v, lv[i])) {
                c->log_level = i;
                return 0;
            }
        return KERR("log_level must be error|warn|info|debug: '%s'", v);
    }
    if (!strcmp(k, "feed_ring") && !strcasecmp(v, "auto")) {
        c->feed_ring = 0; /* gw_cfg_feed_ring() sizes it from the connection count */
        return 0;
    }
    if (!strcmp(k, "feed_ring") || !strcmp(k, "sink_ring")) {
        if (parse_u32(v, &u, 64, 1u << 24) || (u & (u - 1)))
            return KERR("%s must be a power of two in 64..16777216: '%s'", k, v);
        *(k[0] == 'f' ? &c->feed_ring : &c->sink_ring) = u;
        return 0;
    }
    if (!strcmp(k, "candles")) {
        uint32_t n = 0;
        int64_t ivl[GW_CFG_INTERVALS_MAX];
        char *tmp = strdup(v), *save = NULL;
        if (!tmp)
            return KERR("out of memory");
        int rc = 0;
        for (char *s = strtok_r(tmp, ", \t", &save); s && !rc; s = strtok_r(NULL, ", \t", &save)) {
            if (gw_cfg_parse_duration(s, &ivl[n == GW_CFG_INTERVALS_MAX ? 0 : n]) < 0)
                rc = KERR("bad candle interval '%s' (use 1s, 1m, 5m, 1h, 1d)", s);
            else if (n == GW_CFG_INTERVALS_MAX)
                rc = KERR("at most %d candle intervals", GW_CFG_INTERVALS_MAX);
            else
                n++;
        }
        free(tmp);
        if (rc)
            return rc;
        memcpy(c->intervals_ns, ivl, n * sizeof(ivl[0]));
        c->n_intervals = n;
        return 0;
    }
    if (!strcmp(k, "listen")) {
        const char *colon = strrchr(v, ':');
        if (!colon || parse_u32(colon + 1, &u, 0, 65535) ||
            (size_t)(colon - v) >= sizeof(c->metrics_host))
            return KERR("listen must be HOST:PORT: '%s'", v);
        memcpy(c->metrics_host, v, (size_t)(colon - v));
        c->metrics_host[colon - v] = 0;
        c->metrics_port = (int)u;
        return 0;
    }
    return KERR("unknown key '%s'", k);
}

static int add_symbols(gw_feed_cfg_t *f, const char *v)
{
    char *tmp = strdup(v), *save = NULL;
    if (!tmp)
        return -1;
    for (char *s = strtok_r(tmp, ", \t", &save); s; s = strtok_r(NULL, ", \t", &save)) {
        char **ns = realloc(f->symbols, (f->n_symbols + 1) * sizeof(char *));
        if (!ns) {
            free(tmp);
            return -1;
        }
        f->symbols = ns;
        f->symbols[f->n_symbols++] = strdup(s);
    }
    free(tmp);
    return 0;
}

/* Custom keys of [feed NAME] (obj: the gw_feed_cfg_t). @return 0 or -1. */
static int feed_custom(gw_cfg_t *c, void *obj, const char *k, const char *v, char *err, size_t cap)
{
    (void)c;
    gw_feed_cfg_t *f = obj;
    uint32_t u;
    if (!strcmp(k, "venue")) {
        f->venue_seen = 1;
        if (!feed_venue_find(v)) {
            char known[1024];
            return KERR("unknown venue '%s' (known: %s)", v, feed_venue_list(known, sizeof(known)));
        }
        snprintf(f->venue, sizeof(f->venue), "%s", feed_venue_find(v)->name);
    } else if (!strcmp(k, "url")) {
        if (*v && strncmp(v, "ws://", 5) && strncmp(v, "wss://", 6))
            return KERR("url must start with ws:// or wss://: '%s'", v);
        if (strlen(v) >= sizeof(f->url))
            return KERR("url too long");
        snprintf(f->url, sizeof(f->url), "%s", v);
    } else if (!strcmp(k, "rest_url")) {
        if (*v && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            return KERR("rest_url must start with http:// or https://");
        if (strlen(v) >= sizeof(f->rest_url))
            return KERR("rest_url too long");
        snprintf(f->rest_url, sizeof(f->rest_url), "%s", v);
    } else if (!strcmp(k, "symbols")) {
        if (add_symbols(f, v))
            return KERR("out of memory");
    } else if (!strcmp(k, "channels")) {
        unsigned ch = 0;
        if (strstr(v, "trades"))
            ch |= FEED_CH_TRADES;
        if (strstr(v, "book"))
            ch |= FEED_CH_BOOK;
        if (!ch)
            return KERR("channels must list trades and/or book: '%s'", v);
        f->channels = ch;
    } else if (!strcmp(k, "px_scale") || !strcmp(k, "sz_scale")) {
        int *dst = k[0] == 'p' ? &f->px_scale : &f->sz_scale;
        if (!*v) {
            *dst = -1;
            return 0;
        }
        if (parse_u32(v, &u, 0, 18))
            return KERR("%s must be 0..18: '%s'", k, v);
        *dst = (int)u;
    } else if (!strcmp(k, "thread")) {
        if (parse_u32(v, &f->thread, 0, 64))
            return KERR("thread must be 0..64: '%s'", v);
    } else {
        return KERR("unknown key '%s'", k);
    }
    return 0;
}

typedef int (*custom_fn)(gw_cfg_t *c, void *obj, const char *k, const char *v, char *err,
                         size_t cap);

/* Set key k of a section's table in obj. @return 0 or -1 with err set (without the section
 * name: the caller prefixes it). */
static int key_set(const tg_cfgkey_t *keys, size_t n, custom_fn custom, gw_cfg_t *c, void *obj,
                   const char *k, const char *v, char *err, size_t cap)
{
    const tg_cfgkey_t *row = tg_cfgkey_find(keys, n, k);
    if (!row)
        return KERR("unknown key '%s'", k);
    if (row->off == GW_KEY_CUSTOM)
        return custom(c, obj, k, v, err, cap);
    return tg_cfgkey_set(keys, n, obj, k, v, err, cap) < 0 ? -1 : 0;
}

/* Every key of a table to its default. */
static void keys_defaults(const tg_cfgkey_t *keys, size_t n, custom_fn custom, gw_cfg_t *c,
                          void *obj)
{
    char err[1200];
    for (size_t i = 0; i < n; i++)
        if (keys[i].def &&
            key_set(keys, n, custom, c, obj, keys[i].key, keys[i].def, err, sizeof(err)) < 0)
            cfg_error(c, 0, "default of %s: %s (a build error)", keys[i].key, err);
}

static gw_feed_cfg_t *feed_section(parse_ctx_t *p, const char *section)
{
    const char *name = section + 4;
    while (*name == ' ')
        name++;
    gw_cfg_t *c = p->c;
    for (uint32_t i = 0; i < c->n_feeds; i++)
        if (strcmp(c->feeds[i].name, name) == 0)
            return &c->feeds[i];
    gw_feed_cfg_t *nf = realloc(c->feeds, (c->n_feeds + 1) * sizeof(*nf));
    if (!nf)
        return NULL;
    c->feeds = nf;
    gw_feed_cfg_t *f = &c->feeds[c->n_feeds++];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    keys_defaults(feed_keys, N_KEYS(feed_keys), feed_custom, c, f);
    f->thread = c->n_feeds - 1;
    f->line = line_of(p, section, NULL);
    return f;
}

/* A key of a sink's section: the sink parses it (storage/sink.h). @return false when the
 * section is not a sink's. */
static bool sink_key(parse_ctx_t *p, const char *section, const char *k, const char *v, int line)
{
    for (size_t i = 0; tg_sink_at(i) && i < TG_SINKS_MAX; i++) {
        const tg_sink_ops_t *o = tg_sink_at(i);
        if (strcmp(o->name, section) != 0)
            continue;
        char err[384];
        if (tg_sink_cfg_set(o, p->c->sink_cfg[i], k, v, err, sizeof(err)) < 0)
            cfg_error(p->c, line, "[%s] %s", section, err);
        return true;
    }
    return false;
}

/* auto: events of ring + overflow per connection, the largest power of two from AUTO_MAX down
 * to AUTO_MIN whose total for all connections fits AUTO_BUDGET */
static uint32_t feed_ring_total(const gw_cfg_t *c)
{
    uint64_t n = c->n_feeds ? c->n_feeds : 1;
    uint32_t cap = GW_FEED_RING_AUTO_MAX;
    while (cap > GW_FEED_RING_AUTO_MIN && cap * sizeof(tg_event_t) * n > GW_FEED_RING_AUTO_BUDGET)
        cap /= 2;
    return cap;
}

uint32_t gw_cfg_feed_ring(const gw_cfg_t *c)
{
    if (c->feed_ring)
        return c->feed_ring;
    uint32_t t = feed_ring_total(c);
    return t < GW_FEED_RING_AUTO_RING ? t : GW_FEED_RING_AUTO_RING;
}

uint32_t gw_cfg_feed_overflow(const gw_cfg_t *c)
{
    return c->feed_ring ? 0 : feed_ring_total(c) - gw_cfg_feed_ring(c);
}

const void *gw_cfg_sink(const gw_cfg_t *c, const char *name)
{
    for (size_t i = 0; tg_sink_at(i) && i < TG_SINKS_MAX; i++)
        if (strcmp(tg_sink_at(i)->name, name) == 0)
            return c->sink_cfg[i];
    return NULL;
}

static int on_kv(void *user, const char *section, const char *k, const char *v)
{
    parse_ctx_t *p = user;
    gw_cfg_t *c = p->c;
    int line = line_of(p, section, k);
    char err[1200];
    if (!strncmp(section, "feed ", 5) || !strcmp(section, "feed")) {
        gw_feed_cfg_t *f = feed_section(p, section);
        if (!f)
            return 0;
        if (key_set(feed_keys, N_KEYS(feed_keys), feed_custom, c, f, k, v, err, sizeof(err)) < 0)
            cfg_error(c, line, "[feed %s] %s", f->name, err);
        return 1;
    }
    size_t n;
    const tg_cfgkey_t *keys = strcmp(section, "feed") ? gw_cfg_keys(section, &n) : NULL;
    if (keys) {
        if (key_set(keys, n, gateway_custom, c, c, k, v, err, sizeof(err)) < 0)
            cfg_error(c, line, "[%s] %s", section, err);
        return 1;
    }
    if (!sink_key(p, section, k, v, line))
        cfg_error(c, line, "unknown section [%s]", section);
    return 1;
}

void gw_cfg_defaults(gw_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    keys_defaults(gateway_keys, N_KEYS(gateway_keys), gateway_custom, c, c);
    keys_defaults(record_keys, N_KEYS(record_keys), gateway_custom, c, c);
    keys_defaults(metrics_keys, N_KEYS(metrics_keys), gateway_custom, c, c);
    for (size_t i = 0; tg_sink_at(i) && i < TG_SINKS_MAX; i++)
        if (tg_sink_at(i)->cfg_size <= GW_SINK_CFG_MAX)
            tg_sink_cfg_defaults(tg_sink_at(i), c->sink_cfg[i]);
}

/* A feed with more symbols than its venue allows on one connection becomes several feeds of
 * at most that many ("name.1", "name.2", ...), each its own connection (docs/config.md). */
static void split_feeds(gw_cfg_t *c)
{
    uint32_t total = 0;
    for (uint32_t i = 0; i < c->n_feeds; i++) {
        const feed_venue_t *v = feed_venue_find(c->feeds[i].venue);
        uint32_t max = v && v->max_symbols_per_conn ? v->max_symbols_per_conn : UINT32_MAX;
        total += c->feeds[i].n_symbols > max ? (c->feeds[i].n_symbols + max - 1) / max : 1;
    }
    if (total == c->n_feeds)
        return;
    gw_feed_cfg_t *nf = calloc(total, sizeof(*nf));
    if (!nf) {
        cfg_error(c, 0, "cannot split feeds (out of memory)");
        return;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->n_feeds; i++) {
        gw_feed_cfg_t *f = &c->feeds[i];
        const feed_venue_t *v = feed_venue_find(f->venue);
        uint32_t max = v && v->max_symbols_per_conn ? v->max_symbols_per_conn : UINT32_MAX;
        if (f->n_symbols <= max) {
            nf[k++] = *f;
            continue;
        }
        uint32_t parts = (f->n_symbols + max - 1) / max;
        for (uint32_t p = 0; p < parts; p++) {
            gw_feed_cfg_t *g = &nf[k++];
            *g = *f;
            snprintf(g->name, sizeof(g->name), "%.52s.%u", f->name, (p + 1) % 100000000u);
            g->part = p + 1;
            g->parts = parts;
            g->thread = (f->thread + p) % c->feed_threads;
            uint32_t lo = p * max, n = f->n_symbols - lo < max ? f->n_symbols - lo : max;
            g->symbols = calloc(n, sizeof(char *));
            g->n_symbols = 0;
            for (uint32_t j = 0; g->symbols && j < n; j++)
                if ((g->symbols[j] = strdup(f->symbols[lo + j])) != NULL)
                    g->n_symbols++;
            if (g->n_symbols != n)
                cfg_error(c, f->line, "[feed %s] cannot split (out of memory)", f->name);
        }
        for (uint32_t j = 0; j < f->n_symbols; j++)
            free(f->symbols[j]);
        free(f->symbols);
    }
    free(c->feeds);
    c->feeds = nf;
    c->n_feeds = total;
}

static void validate(gw_cfg_t *c)
{
    for (size_t i = 0; tg_sink_at(i) && i < TG_SINKS_MAX; i++) {
        const tg_sink_ops_t *o = tg_sink_at(i);
        char err[384];
        if (o->cfg_size > GW_SINK_CFG_MAX)
            cfg_error(c, 0, "[%s] settings larger than GW_SINK_CFG_MAX (a build error)", o->name);
        else if (o->cfg_check && o->cfg_check(c->sink_cfg[i], err, sizeof(err)) < 0)
            cfg_error(c, 0, "[%s] %s", o->name, err);
    }
    if (c->n_feeds == 0)
        cfg_error(c, 0, "no [feed NAME] section: nothing to connect to");
    for (uint32_t i = 0; i < c->n_feeds; i++) {
        gw_feed_cfg_t *f = &c->feeds[i];
        if (!f->venue[0]) {
            if (!f->venue_seen) /* an unknown venue was reported where it was given */
                cfg_error(c, f->line, "[feed %s] venue is required", f->name);
            continue;
        }
        const feed_venue_t *v = feed_venue_find(f->venue);
        if (!f->url[0]) {
            if (v && v->default_url)
                snprintf(f->url, sizeof(f->url), "%s", v->default_url);
            else
                cfg_error(c, f->line, "[feed %s] url is required for venue %s", f->name, f->venue);
        }
        if (f->n_symbols == 0)
            cfg_error(c, f->line, "[feed %s] symbols is required", f->name);
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(c->feeds[j].name, f->name))
                cfg_error(c, f->line, "[feed %s] defined twice", f->name);
        f->thread %= c->feed_threads;
    }
    if (!c->n_errors)
        split_feeds(c);
}

/* inih reads lines of at most INI_MAX_LINE (200) bytes and Debian's build cannot change that.
 * This reader hands it the file line by line and splits a long `symbols = a, b, ...` line
 * into several `symbols = ...` lines (they append), so a feed may list thousands of symbols on
 * one line; any other over-long line still reaches inih whole-prefix first and is reported.
 * Thread: main. */
typedef struct line_reader {
    FILE *f;
    char *line; /* current physical line */
    size_t cap, len, off;
    bool split; /* a symbols line being handed out in chunks */
    size_t vstart;
    int lineno;     /* physical line being handed out */
    int bad_header; /* first "[section" line without its ']' (0: none) */
    bool skip;      /* inside a broken section: its keys are withheld until the next header */
} line_reader_t;

/* A "[name" line without its ']': inih would report it and then file the keys under it in the
 * previous section (a second, confusing error). The reader reports it once and withholds the
 * keys below it until the next good header. @return true when line is such a header. */
static bool broken_header(const char *line, bool *header)
{
    while (*line == ' ' || *line == '\t')
        line++;
    *header = *line == '[';
    return *header && !strchr(line, ']');
}

static char *read_line(char *str, int num, void *stream)
{
    line_reader_t *r = stream;
    size_t room = (size_t)num - 2; /* bytes of text, plus '\n' and NUL */
    if (r->off >= r->len) {
        ssize_t n = getline(&r->line, &r->cap, r->f);
        if (n <= 0)
            return NULL;
        r->len = (size_t)n;
        r->off = 0;
        r->split = false;
        r->lineno++;
        while (r->len && (r->line[r->len - 1] == '\n' || r->line[r->len - 1] == '\r'))
            r->line[--r->len] = 0;
        bool header;
        if (broken_header(r->line, &header)) {
            if (!r->bad_header)
                r->bad_header = r->lineno;
            r->skip = true;
        } else if (header) {
            r->skip = false;
        }
        if (r->skip) { /* hand inih an empty line in its place */
            snprintf(str, (size_t)num, "\n");
            r->off = r->len;
            return str;
        }
        if (r->len > room) {
            const char *s = r->line;
            while (*s == ' ' || *s == '\t')
                s++;
            if (!strncmp(s, "symbols", 7)) {
                const char *eq = s + 7;
                while (*eq == ' ' || *eq == '\t')
                    eq++;
                if (*eq == '=' || *eq == ':') {
                    r->split = true;
                    r->vstart = (size_t)(eq + 1 - r->line);
                    r->off = r->vstart;
                }
            }
        }
        if (r->len == 0) {
            snprintf(str, (size_t)num, "\n");
            r->off = 1;
            r->len = 0;
            return str;
        }
    }
    if (r->split) { /* "symbols = " + as many whole names as fit */
        size_t n = (size_t)snprintf(str, (size_t)num, "symbols = ");
        size_t i = r->off;
        while (i < r->len && (r->line[i] == ' ' || r->line[i] == ',' || r->line[i] == '\t'))
            i++;
        size_t end = i, last = i;
        while (end < r->len) {
            size_t e = end;
            while (e < r->len && r->line[e] != ',')
                e++;
            if (e - i + n > room)
                break;
            last = e;
            end = e < r->len ? e + 1 : e;
        }
        if (last > i || end >= r->len) {
            memcpy(str + n, r->line + i, last - i);
            n += last - i;
            str[n++] = '\n';
            str[n] = 0;
            r->off = last < r->len ? last + 1 : r->len;
            return str;
        }
        /* one name longer than a line: handed cut as any long line below (it wrote past
         * inih's buffer before; fuzz_config) */
        r->split = false;
    }
    size_t n = r->len - r->off;
    if (n > room + 1)
        n = room + 1; /* too long: inih sees a cut line and reports it */
    memcpy(str, r->line + r->off, n);
    r->off += n;
    if (r->off >= r->len && n <= room) /* room for the '\n' and the NUL (fuzz_config) */
        str[n++] = '\n';
    str[n] = 0;
    return str;
}

int gw_cfg_load(gw_cfg_t *c, const char *path)
{
    gw_cfg_defaults(c);
    snprintf(c->path, sizeof(c->path), "%s", path);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    parse_ctx_t p = {.c = c};
    map_lines(&p, f);
    rewind(f);
    line_reader_t lr = {.f = f};
    int rc = ini_parse_stream(read_line, &lr, on_kv, &p);
    free(lr.line);
    fclose(f);
    if (lr.bad_header) {
        cfg_error(c, lr.bad_header,
                  "section header without its closing ']' (write [name]); the keys below it "
                  "are ignored until the next [section]");
        free(p.lines);
        return TG_ECONFIG; /* the file's structure is unknown: no further checks */
    }
    if (rc > 0)
        cfg_error(c, rc,
                  "syntax error (expected [section], key = value or a comment; lines "
                  "are limited to the parser's maximum length)");
    else if (rc < 0)
        cfg_error(c, 0, "cannot parse (out of memory)");
    free(p.lines);
    validate(c);
    return c->n_errors ? TG_ECONFIG : 0;
}

void gw_cfg_free(gw_cfg_t *c)
{
    for (uint32_t i = 0; i < c->n_feeds; i++) {
        for (uint32_t j = 0; j < c->feeds[i].n_symbols; j++)
            free(c->feeds[i].symbols[j]);
        free(c->feeds[i].symbols);
    }
    free(c->feeds);
    for (uint32_t i = 0; i < c->n_errors; i++)
        free(c->errors[i]);
    c->feeds = NULL;
    c->n_feeds = 0;
    c->n_errors = 0;
}

bool gw_cfg_host_is_loopback(const char *host)
{
    if (!host || !*host)
        return false;
    if (!strcasecmp(host, "localhost"))
        return true;
    char h[64];
    size_t n = strlen(host);
    if (host[0] == '[' && n >= 2 && host[n - 1] == ']' && n - 2 < sizeof h) { /* [::1] */
        memcpy(h, host + 1, n - 2);
        h[n - 2] = 0;
        host = h;
    }
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

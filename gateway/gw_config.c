/* SPDX-License-Identifier: MIT */
/*
 * INI configuration (see gw_config.h). inih does the parsing; we keep our own map from
 * (section, key) to line number, since Debian's libinih is built without
 * INI_HANDLER_LINENO, so that every error can name its line.
 */
#include "gw_config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_err.h"
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

static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
        *out = 1;
    else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
             !strcasecmp(v, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap)
        return -1;
    memcpy(dst, v, n + 1);
    return 0;
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
    f->channels = FEED_CH_ALL;
    f->px_scale = f->sz_scale = -1;
    f->stale_ms = 30000;
    f->thread = c->n_feeds - 1;
    f->line = line_of(p, section, NULL);
    return f;
}

#define BAD(fmt, ...) (cfg_error(c, line, fmt, __VA_ARGS__), 1)

static int feed_key(parse_ctx_t *p, gw_feed_cfg_t *f, const char *k, const char *v, int line)
{
    gw_cfg_t *c = p->c;
    uint32_t u;
    if (!strcmp(k, "venue")) {
        f->venue_seen = 1;
        if (!feed_venue_find(v)) {
            char known[1024];
            return BAD("[feed %s] unknown venue '%s' (known: %s)", f->name, v,
                       feed_venue_list(known, sizeof(known)));
        }
        snprintf(f->venue, sizeof(f->venue), "%s", feed_venue_find(v)->name);
    } else if (!strcmp(k, "url")) {
        if (strncmp(v, "ws://", 5) && strncmp(v, "wss://", 6))
            return BAD("[feed %s] url must start with ws:// or wss://: '%s'", f->name, v);
        if (copy_str(f->url, sizeof(f->url), v))
            return BAD("[feed %s] url too long", f->name);
    } else if (!strcmp(k, "rest_url")) {
        if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
            return BAD("[feed %s] rest_url must start with http:// or https://", f->name);
        if (copy_str(f->rest_url, sizeof(f->rest_url), v))
            return BAD("[feed %s] rest_url too long", f->name);
    } else if (!strcmp(k, "ca_file")) {
        if (copy_str(f->ca_file, sizeof(f->ca_file), v))
            return BAD("[feed %s] ca_file too long", f->name);
    } else if (!strcmp(k, "symbols")) {
        if (add_symbols(f, v))
            return BAD("%s", "out of memory");
    } else if (!strcmp(k, "channels")) {
        f->channels = 0;
        if (strstr(v, "trades"))
            f->channels |= FEED_CH_TRADES;
        if (strstr(v, "book"))
            f->channels |= FEED_CH_BOOK;
        if (!f->channels)
            return BAD("[feed %s] channels must list trades and/or book: '%s'", f->name, v);
    } else if (!strcmp(k, "depth")) {
        if (parse_u32(v, &f->depth, 0, 100000))
            return BAD("[feed %s] depth must be 0..100000: '%s'", f->name, v);
    } else if (!strcmp(k, "px_scale") || !strcmp(k, "sz_scale")) {
        if (parse_u32(v, &u, 0, 18))
            return BAD("[feed %s] %s must be 0..18: '%s'", f->name, k, v);
        *(k[0] == 'p' ? &f->px_scale : &f->sz_scale) = (int)u;
    } else if (!strcmp(k, "stale_ms")) {
        if (parse_u32(v, &f->stale_ms, 100, 3600000))
            return BAD("[feed %s] stale_ms must be 100..3600000: '%s'", f->name, v);
    } else if (!strcmp(k, "thread")) {
        if (parse_u32(v, &f->thread, 0, 64))
            return BAD("[feed %s] thread must be 0..64: '%s'", f->name, v);
    } else if (!strcmp(k, "deflate")) {
        if (parse_bool(v, &f->deflate))
            return BAD("[feed %s] deflate must be a boolean: '%s'", f->name, v);
    } else {
        return BAD("[feed %s] unknown key '%s'", f->name, k);
    }
    return 1;
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
        if (o->cfg_set(p->c->sink_cfg[i], k, v, err, sizeof(err)) < 0)
            cfg_error(p->c, line, "[%s] %s", section, err);
        return true;
    }
    return false;
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
    uint32_t u;
    if (!strncmp(section, "feed ", 5) || !strcmp(section, "feed")) {
        gw_feed_cfg_t *f = feed_section(p, section);
        if (!f)
            return 0;
        return feed_key(p, f, k, v, line);
    }
    if (!strcmp(section, "gateway")) {
        if (!strcmp(k, "name")) {
            if (copy_str(c->name, sizeof(c->name), v))
                return BAD("%s", "[gateway] name too long");
        } else if (!strcmp(k, "log_level")) {
            const char *lv[] = {"error", "warn", "info", "debug"};
            c->log_level = -1;
            for (int i = 0; i < 4; i++)
                if (!strcasecmp(v, lv[i]))
                    c->log_level = i;
            if (c->log_level < 0) {
                c->log_level = 2;
                return BAD("[gateway] log_level must be error|warn|info|debug: '%s'", v);
            }
        } else if (!strcmp(k, "feed_threads")) {
            if (parse_u32(v, &c->feed_threads, 1, 64))
                return BAD("[gateway] feed_threads must be 1..64: '%s'", v);
        } else if (!strcmp(k, "feed_ring") || !strcmp(k, "sink_ring")) {
            if (parse_u32(v, &u, 64, 1u << 24) || (u & (u - 1)))
                return BAD("[gateway] %s must be a power of two in 64..16777216: '%s'", k, v);
            *(k[0] == 'f' ? &c->feed_ring : &c->sink_ring) = u;
        } else if (!strcmp(k, "book_depth")) {
            if (parse_u32(v, &c->book_depth, 1, 20))
                return BAD("[gateway] book_depth must be 1..20: '%s'", v);
        } else if (!strcmp(k, "snapshot_min_ms")) {
            if (parse_u32(v, &c->snapshot_min_ms, 0, 3600000))
                return BAD("[gateway] snapshot_min_ms must be 0..3600000: '%s'", v);
        } else if (!strcmp(k, "snapshot_interval_ms")) {
            if (parse_u32(v, &c->snapshot_interval_ms, 0, 86400000))
                return BAD("[gateway] snapshot_interval_ms must be 0..86400000: '%s'", v);
        } else if (!strcmp(k, "stop_timeout_ms")) {
            if (parse_u32(v, &c->stop_timeout_ms, 10, 600000))
                return BAD("[gateway] stop_timeout_ms must be 10..600000: '%s'", v);
        } else if (!strcmp(k, "candles")) {
            c->n_intervals = 0;
            char *tmp = strdup(v), *save = NULL;
            for (char *s = strtok_r(tmp, ", \t", &save); s; s = strtok_r(NULL, ", \t", &save)) {
                int64_t ns;
                if (gw_cfg_parse_duration(s, &ns) < 0)
                    cfg_error(c, line,
                              "[gateway] bad candle interval '%s' (use 1s, 1m, 5m, 1h, 1d)", s);
                else if (c->n_intervals == GW_CFG_INTERVALS_MAX)
                    cfg_error(c, line, "[gateway] at most %d candle intervals",
                              GW_CFG_INTERVALS_MAX);
                else
                    c->intervals_ns[c->n_intervals++] = ns;
            }
            free(tmp);
        } else {
            return BAD("[gateway] unknown key '%s'", k);
        }
    } else if (!strcmp(section, "record")) {
        if (!strcmp(k, "enabled")) {
            if (parse_bool(v, &c->rec_enabled))
                return BAD("[record] enabled must be a boolean: '%s'", v);
        } else if (!strcmp(k, "dir")) {
            if (copy_str(c->rec_dir, sizeof(c->rec_dir), v))
                return BAD("%s", "[record] dir too long");
        } else if (!strcmp(k, "rotate_mb")) {
            if (parse_u32(v, &u, 1, 1048576))
                return BAD("[record] rotate_mb must be 1..1048576: '%s'", v);
            c->rec_rotate_bytes = (uint64_t)u << 20;
        } else if (!strcmp(k, "rotate_s")) {
            if (parse_u32(v, &c->rec_rotate_s, 1, 86400 * 7))
                return BAD("[record] rotate_s must be 1..604800: '%s'", v);
        } else {
            return BAD("[record] unknown key '%s'", k);
        }
    } else if (!strcmp(section, "metrics")) {
        if (!strcmp(k, "enabled")) {
            if (parse_bool(v, &c->metrics_enabled))
                return BAD("[metrics] enabled must be a boolean: '%s'", v);
        } else if (!strcmp(k, "listen")) {
            const char *colon = strrchr(v, ':');
            if (!colon || parse_u32(colon + 1, &u, 0, 65535) ||
                (size_t)(colon - v) >= sizeof(c->metrics_host))
                return BAD("[metrics] listen must be HOST:PORT: '%s'", v);
            memcpy(c->metrics_host, v, (size_t)(colon - v));
            c->metrics_host[colon - v] = 0;
            c->metrics_port = (int)u;
        } else {
            return BAD("[metrics] unknown key '%s'", k);
        }
    } else if (sink_key(p, section, k, v, line)) {
        return 1;
    } else {
        return BAD("unknown section [%s]", section);
    }
    return 1;
}

void gw_cfg_defaults(gw_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "tickgate");
    c->log_level = 2;
    c->feed_threads = 1;
    c->feed_ring = 1u << 16;
    c->sink_ring = 1u << 14;
    c->book_depth = 10;
    c->snapshot_min_ms = 10;
    c->snapshot_interval_ms = 1000;
    c->intervals_ns[0] = 60LL * 1000000000LL;
    c->n_intervals = 1;
    c->stop_timeout_ms = 900;
    for (size_t i = 0; tg_sink_at(i) && i < TG_SINKS_MAX; i++)
        if (tg_sink_at(i)->cfg_size <= GW_SINK_CFG_MAX)
            tg_sink_at(i)->cfg_defaults(c->sink_cfg[i]);
    c->rec_rotate_bytes = 256ull << 20;
    c->rec_rotate_s = 3600;
    c->metrics_enabled = 1;
    snprintf(c->metrics_host, sizeof(c->metrics_host), "127.0.0.1");
    c->metrics_port = 9108;
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
} line_reader_t;

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
        while (r->len && (r->line[r->len - 1] == '\n' || r->line[r->len - 1] == '\r'))
            r->line[--r->len] = 0;
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
            if (e - i + n > room) {
                if (last == i) /* one name longer than a line: hand it as it is */
                    last = e;
                break;
            }
            last = e;
            end = e < r->len ? e + 1 : e;
        }
        memcpy(str + n, r->line + i, last - i);
        n += last - i;
        str[n++] = '\n';
        str[n] = 0;
        r->off = last < r->len ? last + 1 : r->len;
        return str;
    }
    size_t n = r->len - r->off;
    if (n > room + 1)
        n = room + 1; /* too long: inih sees a cut line and reports it */
    memcpy(str, r->line + r->off, n);
    r->off += n;
    if (r->off >= r->len)
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

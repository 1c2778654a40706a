/* SPDX-License-Identifier: MIT */
/* Venue handler fuzzing support (see fuzz_feed.h). */
#include "fuzz_feed.h"

#include <string.h>

const char *fz_feed_name;
static char fz_hdr[4608];
static size_t fz_hdr_len;

int fz_feed_select(const char *name)
{
    const char *syms = fz_venue_symbols(name);
    if (!feed_venue_find(name) || !syms)
        return -1;
    fz_feed_name = name;
    int n = snprintf(fz_hdr, sizeof(fz_hdr), "# tgrec 1\n# venue: %s\n# symbols: %s\n", name, syms);
    fz_hdr_len = (size_t)n;
    return 0;
}

void fz_feed_select_env(const char *dflt)
{
    const char *v = getenv("TG_FUZZ_VENUE");
    if (!v || !*v)
        v = dflt;
    if (fz_feed_select(v) < 0) {
        fprintf(stderr, "fuzz: unknown venue id '%s' (TG_FUZZ_VENUE)\n", v);
        exit(2);
    }
}

static int fz_sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    fz_sink_t *s = ctx;
    for (uint32_t i = 0; i < n; i++) {
        const tg_event_t *e = &ev[i];
        FZ_CHECK(e->kind >= TG_EV_TRADE && e->kind <= TG_EV_TRADE_GAP, "%s: event kind %u",
                 fz_feed_name, (unsigned)e->kind);
        FZ_CHECK(tg_instr_reg_get(s->reg, e->instr) != NULL, "%s: event for instrument %u",
                 fz_feed_name, (unsigned)e->instr);
        FZ_CHECK(e->flags & TG_EVF_SCALED, "%s: event kind %u not stamped", fz_feed_name,
                 (unsigned)e->kind);
        FZ_CHECK(e->px_scale <= 18 && e->sz_scale <= 18, "%s: scales %u/%u", fz_feed_name,
                 (unsigned)e->px_scale, (unsigned)e->sz_scale);
        s->events++;
        s->in_msg = (e->flags & TG_EVF_LAST) ? 0 : s->in_msg + 1;
    }
    return 0;
}

static int fz_send(void *tctx, const char *text, size_t len)
{
    return 0;
}

static int fz_rest_get(void *tctx, const char *path, uint64_t tag)
{
    fz_sink_t *s = tctx;
    FZ_CHECK(path && *path == '/', "%s: REST path '%s'", fz_feed_name, path ? path : "(null)");
    if (s->n_tags < FZ_MAX_REQS)
        s->tags[s->n_tags++] = tag;
    return 0;
}

static void fz_reconnect(void *tctx, const char *why)
{
}

static feed_offline_t *fz_o; /* the handler kept between inputs */

static void fz_hooks(feed_offline_t *o, fz_sink_t *s)
{
    s->reg = o->reg;
    o->h.out.flush = fz_sink;
    o->h.out.ctx = s;
    o->h.send = fz_send;
    o->h.rest_get = fz_rest_get;
    o->h.reconnect = fz_reconnect;
    o->h.tctx = s;
}

feed_offline_t *fz_feed_open(fz_sink_t *s)
{
    /* one registry for the process (immutable to handlers; several MB to clear, so not made
     * per input): the venue's symbols are added once, later opens find them */
    static tg_instr_reg_t *reg;
    if (!reg)
        FZ_CHECK(tg_instr_reg_create(&reg) == 0, "registry");
    memset(s, 0, sizeof(*s));
    int fresh = getenv("TG_FUZZ_FRESH") != NULL;
    if (fz_o && !fresh && fz_o->venue == feed_venue_find(fz_feed_name)) {
        /* a reconnect: the connection closes and opens again, all sync state void (feed.h);
         * much cheaper than a new handler (venue state of several MB for some venues) */
        fz_hooks(fz_o, s);
        if (fz_o->venue->on_close)
            fz_o->venue->on_close(&fz_o->h, 1, 1);
        feed_flush(&fz_o->h);
        memset(s, 0, sizeof(*s));
        fz_hooks(fz_o, s);
    } else {
        feed_offline_close(&fz_o);
        int rc = feed_offline_open_mem(&fz_o, fz_hdr, fz_hdr_len, NULL, reg, 0);
        FZ_CHECK(rc == 0, "%s: open: %d", fz_feed_name, rc);
        fz_hooks(fz_o, s);
    }
    /* on_open (again) with the hooks above: the REST requests of the connection are captured */
    if (fz_o->venue->on_open) {
        int rc = fz_o->venue->on_open(&fz_o->h);
        FZ_CHECK(rc >= 0, "%s: on_open: %d", fz_feed_name, rc);
    }
    return fz_o;
}

void fz_feed_done(void)
{
    if (getenv("TG_FUZZ_FRESH"))
        feed_offline_close(&fz_o);
}

static uint64_t fz_errors(const feed_stats_t *s)
{
    return TG_STAT_GET(s->err_json) + TG_STAT_GET(s->err_field) + TG_STAT_GET(s->err_symbol) +
           TG_STAT_GET(s->err_decimal) + TG_STAT_GET(s->err_venue);
}

int fz_feed_frame(feed_offline_t *o, fz_sink_t *s, const char *frame, size_t len, int64_t ts)
{
    char *b = malloc(len ? len : 1);
    memcpy(b, frame, len);
    const feed_stats_t *st = &o->stats;
    uint64_t frames = TG_STAT_GET(st->frames), errs = fz_errors(st);
    uint64_t acc = errs + TG_STAT_GET(st->unhandled) + TG_STAT_GET(st->handled);
    int rc = feed_frame(&o->h, b, len, ts, ts);
    feed_flush(&o->h);
    uint64_t errs2 = fz_errors(st);
    uint64_t acc2 = errs2 + TG_STAT_GET(st->unhandled) + TG_STAT_GET(st->handled);
    FZ_CHECK(TG_STAT_GET(st->frames) == frames + 1, "%s: frames counted %llu", fz_feed_name,
             (unsigned long long)(TG_STAT_GET(st->frames) - frames));
    FZ_CHECK(acc2 == acc + 1, "%s: frame accounted %llu times (rc %d)", fz_feed_name,
             (unsigned long long)(acc2 - acc), rc);
    FZ_CHECK(errs2 == errs + (rc < 0 ? 1 : 0), "%s: rc %d with %llu errors counted", fz_feed_name,
             rc, (unsigned long long)(errs2 - errs));
    FZ_CHECK(s->in_msg == 0, "%s: frame ended with %d events after the last TG_EVF_LAST",
             fz_feed_name, s->in_msg);
    free(b);
    return rc;
}

/* The connection closes and opens again inside one input (FZ_RECONNECT): what trade
 * backfill needs to ask for a range, so that its REST answer reaches the venue's parser. */
static void fz_reconnect_now(feed_offline_t *o, fz_sink_t *s, int64_t ts)
{
    if (o->venue->on_close)
        o->venue->on_close(&o->h, ts, ts);
    feed_flush(&o->h);
    FZ_CHECK(s->in_msg == 0, "%s: close ended with %d events after the last TG_EVF_LAST",
             fz_feed_name, s->in_msg);
    if (o->venue->on_open) {
        int rc = o->venue->on_open(&o->h);
        FZ_CHECK(rc >= 0, "%s: on_open: %d", fz_feed_name, rc);
    }
}

const char *fz_feed_lines(feed_offline_t *o, fz_sink_t *s, const char *p, const char *end,
                          int keep_last, int64_t *ts)
{
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl && keep_last)
            return p;
        size_t len = (size_t)((nl ? nl : end) - p);
        if (len == sizeof(FZ_RECONNECT) - 1 && !memcmp(p, FZ_RECONNECT, len))
            fz_reconnect_now(o, s, *ts);
        else
            fz_feed_frame(o, s, p, len, *ts);
        *ts += 100000000;
        p += len + 1;
    }
    return end;
}

void fz_feed_list(int (*keep)(const feed_venue_t *v))
{
    if (!getenv("TG_FUZZ_LIST"))
        return;
    for (size_t i = 0; feed_venue_at(i); i++) /* the one venue table (--list-venues) */
        if (!keep || keep(feed_venue_at(i)))
            printf("%s\n", feed_venue_at(i)->name);
    exit(0);
}

/* SPDX-License-Identifier: MIT */
/* Offline driver: recording -> venue handler -> sink, in-process (see feed_offline.h). */
#include "feeds/rec/feed_offline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_err.h"
#include "book/tg_own.h"

#define OFFLINE_BUF_EVENTS 4096

static int off_send(void *tctx, const char *text, size_t len)
{
    feed_offline_t *o = tctx;
    o->sent++;
    return 0;
}

struct feed_offline_req {
    char path[512];
    uint64_t tag;
};

static int off_rest_get(void *tctx, const char *path, uint64_t tag)
{
    feed_offline_t *o = tctx;
    o->rest_gets++;
    /* remembered for a capture's REST answer line (off_rest_answer); recordings answer
     * in-band instead and leave these unused */
    if (o->n_reqs == o->cap_reqs) {
        uint32_t cap = o->cap_reqs ? o->cap_reqs * 2 : 16;
        struct feed_offline_req *n = realloc(o->reqs, cap * sizeof(*n));
        if (!n)
            return -ENOMEM;
        o->reqs = n;
        o->cap_reqs = cap;
    }
    struct feed_offline_req *r = &o->reqs[o->n_reqs++];
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->tag = tag;
    return 0;
}

/*
 * A REST answer written by feed_capture: {"rest":"<path>","tag":N,"status":S,"generated":true,
 * "data":<body>}. Before this, such lines went to on_frame, which ignores them, so a capture of
 * a venue whose books start from a REST snapshot (binance, bitstamp) never had a valid book
 * offline (found by the end-to-end test). The answer goes to venue->on_rest with the tag of
 * this run's request whose path ends the captured one (the capture's path has the rest_url
 * prefix; its tag belongs to the live connection), else with the captured tag.
 * @return 1 handled, 0 not such a line.
 */
static int off_rest_answer(feed_offline_t *o, const char *f, size_t len, int64_t ts)
{
    static const char pfx[] = "{\"rest\":\"";
    if (len < sizeof(pfx) || memcmp(f, pfx, sizeof(pfx) - 1) != 0 || !o->venue->on_rest)
        return 0;
    const char *path = f + sizeof(pfx) - 1, *pe = memchr(path, '"', len - (sizeof(pfx) - 1));
    const char *tg = strstr(f, "\"tag\":"), *st = strstr(f, "\"status\":");
    const char *data = strstr(f, ",\"data\":");
    if (!pe || !tg || !st || !data || f[len - 1] != '}')
        return 0;
    uint64_t tag = strtoull(tg + 6, NULL, 10);
    int status = atoi(st + 9);
    const char *body = data + 8;
    size_t blen = (size_t)(f + len - 1 - body);
    if (blen == 4 && memcmp(body, "null", 4) == 0)
        blen = 0;
    size_t pl = (size_t)(pe - path);
    for (uint32_t i = 0; i < o->n_reqs; i++) {
        size_t rl = strlen(o->reqs[i].path);
        if (rl <= pl && memcmp(path + pl - rl, o->reqs[i].path, rl) == 0) {
            tag = o->reqs[i].tag;
            o->reqs[i] = o->reqs[--o->n_reqs];
            break;
        }
    }
    o->rest_answers++;
    feed_rest(&o->h, tag, status, blen ? body : "", blen, ts, ts);
    return 1;
}

static void off_reconnect(void *tctx, const char *why)
{
    feed_offline_t *o = tctx;
    o->reconnects++;
}

static int off_nosink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    return 0;
}

static uint32_t depth_from_sent(const feed_tgrec_t *r)
{
    for (size_t i = 0; i < r->n_sent; i++) {
        const char *p = strstr(r->sent[i], "\"depth\":");
        if (!p && (p = strstr(r->sent[i], "\"orderbook.")) != NULL) /* bybit topics */
            p += 3; /* so that the "+= 8" below lands on N */
        if (p) {
            p += 8;
            uint32_t d = 0;
            while (*p >= '0' && *p <= '9')
                d = d * 10 + (uint32_t)(*p++ - '0');
            if (d)
                return d;
        }
    }
    return 0;
}

static int offline_setup(feed_offline_t *o, const char *venue, tg_instr_reg_t *reg, uint32_t depth);

int feed_offline_open(feed_offline_t **out, const char *path, const char *venue,
                      tg_instr_reg_t *reg, uint32_t depth)
{
    feed_offline_t *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    int rc = feed_tgrec_open(&o->rec, path);
    if (rc < 0 || (rc = offline_setup(o, venue, reg, depth)) < 0) {
        feed_offline_close(&o);
        return rc;
    }
    *out = o;
    return 0;
}

int feed_offline_open_stream(feed_offline_t **out, const char *path, const char *venue,
                             tg_instr_reg_t *reg, uint32_t depth)
{
    feed_offline_t *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    int rc = feed_tgrec_open_stream(&o->rec, path, 0);
    if (rc < 0 || (rc = offline_setup(o, venue, reg, depth)) < 0) {
        feed_offline_close(&o);
        return rc;
    }
    *out = o;
    return 0;
}

int feed_offline_open_mem(feed_offline_t **out, const char *text, size_t len, const char *venue,
                          tg_instr_reg_t *reg, uint32_t depth)
{
    feed_offline_t *o = calloc(1, sizeof(*o));
    if (!o)
        return -ENOMEM;
    int rc = feed_tgrec_open_mem(&o->rec, text, len);
    if (rc < 0 || (rc = offline_setup(o, venue, reg, depth)) < 0) {
        feed_offline_close(&o);
        return rc;
    }
    *out = o;
    return 0;
}

static int offline_setup(feed_offline_t *o, const char *venue, tg_instr_reg_t *reg, uint32_t depth)
{
    int rc;
    o->venue = feed_venue_find(venue ? venue : o->rec->venue);
    if (!o->venue) {
        rc = TG_ECONFIG;
        goto fail;
    }
    if (!reg) {
        rc = tg_instr_reg_create(&o->reg);
        if (rc < 0)
            goto fail;
        o->own_reg = 1;
    } else {
        o->reg = reg;
    }
    if (depth == 0)
        depth = depth_from_sent(o->rec);
    o->buf = calloc(OFFLINE_BUF_EVENTS, sizeof(tg_event_t));
    uint32_t cap = 64;
    o->h.instr = calloc(cap, sizeof(uint32_t));
    if (!o->buf || !o->h.instr) {
        rc = -ENOMEM;
        goto fail;
    }
    /* symbols from the header, as the venue spells them */
    char syms[sizeof(o->rec->symbols)];
    memcpy(syms, o->rec->symbols, sizeof(syms));
    char *save = NULL;
    for (char *s = strtok_r(syms, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        while (*s == ' ')
            s++;
        if (!*s)
            continue;
        tg_instr_cfg_t cfg;
        feed_venue_instr_cfg(o->venue, s, depth, &cfg);
        uint32_t id;
        rc = tg_instr_reg_add(o->reg, o->venue->name, s, &cfg, &id);
        if (rc < 0)
            goto fail;
        if (o->h.n_instr == cap) {
            cap *= 2;
            uint32_t *ni = realloc(o->h.instr, cap * sizeof(uint32_t));
            if (!ni) {
                rc = -ENOMEM;
                goto fail;
            }
            o->h.instr = ni;
        }
        o->h.instr[o->h.n_instr++] = id;
    }
    o->h.venue = o->venue;
    o->h.reg = o->reg;
    o->h.venue_id = tg_instr_reg_venue_id(o->reg, o->venue->name);
    o->h.depth = depth;
    o->h.channels = FEED_CH_ALL;
    o->h.out.ev = o->buf;
    o->h.out.cap = OFFLINE_BUF_EVENTS;
    o->h.out.flush = off_nosink;
    o->h.stats = &o->stats;
    o->h.send = off_send;
    o->h.rest_get = off_rest_get;
    o->h.reconnect = off_reconnect;
    o->h.tctx = o;
    if ((rc = feed_handler_setup(&o->h)) < 0)
        goto fail;
    if (o->venue->on_open && (rc = o->venue->on_open(&o->h)) < 0)
        goto fail;
    return 0;
fail:
    return rc;
}

void feed_offline_set_log(feed_offline_t *o, void (*log)(void *lctx, int level, const char *msg),
                          void *lctx)
{
    o->h.log = log;
    o->h.lctx = lctx;
}

int feed_offline_run(feed_offline_t *o, int (*sink)(void *ctx, const tg_event_t *ev, uint32_t n),
                     void *ctx)
{
    o->h.out.flush = sink ? sink : off_nosink;
    o->h.out.ctx = ctx;
    int64_t ts;
    const char *frame;
    size_t len;
    int rc;
    while ((rc = feed_tgrec_next(o->rec, &ts, &frame, &len)) != 0) {
        if (rc == TG_EPROTO) {
            o->bad_lines++;
            continue;
        }
        if (rc < 0)
            return rc; /* read error, corrupt or truncated zstd (stream mode) */
        if (!off_rest_answer(o, frame, len, ts))
            feed_frame(&o->h, frame, len, ts, ts);
        rc = feed_flush(&o->h);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int feed_offline_rewind(feed_offline_t *o)
{
    int rc = feed_tgrec_rewind(o->rec);
    if (rc < 0)
        return rc;
    o->n_reqs = 0;
    feed_handler_teardown(&o->h);
    o->h.out.n = 0;
    rc = feed_handler_setup(&o->h);
    if (rc < 0)
        return rc;
    if (o->venue->on_open)
        rc = o->venue->on_open(&o->h);
    return rc;
}

void feed_offline_close(feed_offline_t **po)
{
    feed_offline_t *o = tg_own_take(po);
    if (!o)
        return;
    if (o->venue)
        feed_handler_teardown(&o->h);
    feed_tgrec_close(&o->rec);
    if (o->own_reg)
        tg_instr_reg_destroy(&o->reg);
    free(o->h.instr);
    free(o->buf);
    free(o->reqs);
    free(o);
}

/* SPDX-License-Identifier: MIT */
/* The venue base: venue-independent helpers of the handler contract (feed.h): handler
 * set-up, frame delivery with re-parse on a scale change, exact decimals at every scale,
 * message ends, flushing, logging. The venue table is venues/venues.c. */
#include "feeds/feed.h"

#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "book/tg_resync.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void feed_end_message(feed_handler_t *h, uint32_t instr, int64_t ts_exch, int64_t ts_recv,
                      int64_t ts_mono)
{
    feed_out_t *o = &h->out;
    if (o->n > 0 && o->ev[o->n - 1].instr == instr && !(o->ev[o->n - 1].flags & TG_EVF_LAST)) {
        o->ev[o->n - 1].flags |= TG_EVF_LAST;
        return;
    }
    tg_event_t ev =
        feed_event(TG_EV_END, instr, 0, 0, 0, 0, 0, ts_exch, ts_recv, ts_mono, TG_EVF_LAST);
    feed_emit(h, &ev);
}

int feed_flush(feed_handler_t *h)
{
    feed_out_t *o = &h->out;
    if (o->n == 0)
        return 0;
    int rc = o->flush(o->ctx, o->ev, o->n);
    o->n = 0;
    return rc;
}

static void feed_vlogf(feed_handler_t *h, int level, const char *fmt, va_list ap)
{
    if (!h->log)
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    h->log(h->lctx, level, msg);
}

void feed_logf(feed_handler_t *h, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    feed_vlogf(h, level, fmt, ap);
    va_end(ap);
}

void feed_logf_limited(feed_handler_t *h, feed_ratelim_t *rl, int64_t now_mono, int level,
                       const char *fmt, ...)
{
    if (feed_ratelim_expired(rl, now_mono)) {
        if (rl->suppressed)
            feed_logf(h, FEED_LOG_WARN, "%s: %llu log lines suppressed", h->venue->name,
                      (unsigned long long)rl->suppressed);
        rl->suppressed = 0;
    }
    uint64_t dropped;
    if (!feed_ratelim_ok(rl, now_mono, &dropped))
        return;
    va_list ap;
    va_start(ap, fmt);
    feed_vlogf(h, level, fmt, ap);
    va_end(ap);
}

void feed_log_frame(feed_handler_t *h, feed_ratelim_t *rl, int64_t now_mono, int level,
                    const char *what, int rc, const char *buf, size_t len)
{
    int n = len > 160 ? 160 : (int)len;
    feed_logf_limited(h, rl, now_mono, level, "%s: %s (%s): %.*s%s", h->venue->name, what,
                      rc ? tg_strerror(rc) : "-", n, buf ? buf : "", len > 160 ? "..." : "");
}

const char *feed_count_error(feed_stats_t *st, int rc)
{
    if (rc == TG_ERESCALE)
        return "scale raised"; /* not an error: the frame is parsed again and counted then */
    if (rc == TG_EJSON) {
        TG_STAT_INC(st->err_json);
        return "malformed frame";
    }
    if (rc == TG_ESYMBOL) {
        TG_STAT_INC(st->err_symbol);
        return "unknown symbol";
    }
    if (rc == TG_EPROTO) {
        TG_STAT_INC(st->err_venue);
        return "venue error";
    }
    if (rc <= TG_EDEC_SYNTAX && rc >= TG_EDEC_NEGATIVE) {
        TG_STAT_INC(st->err_decimal);
        return "bad decimal";
    }
    TG_STAT_INC(st->err_field);
    return "missing or bad field";
}

void *feed_vstate_new(feed_handler_t *h, size_t size)
{
    h->vstate = calloc(1, size);
    return h->vstate;
}

void feed_vstate_free(feed_handler_t *h)
{
    free(h->vstate);
    h->vstate = NULL;
}

uint32_t feed_resync_count(const feed_handler_t *h, uint32_t instr)
{
    return h->resync ? tg_resync_get(h->resync, instr) : 0;
}

bool feed_resync_asked(const feed_handler_t *h, uint32_t instr, uint32_t *seen)
{
    uint32_t v = feed_resync_count(h, instr);
    if (v == *seen)
        return false;
    *seen = v;
    return true;
}

uint16_t *feed_slots_new(const feed_handler_t *h)
{
    uint16_t *slot = calloc(TG_INSTR_MAX, sizeof(*slot));
    if (!slot)
        return NULL;
    for (uint32_t i = 0; i < h->n_instr; i++)
        if (h->instr[i] < TG_INSTR_MAX)
            slot[h->instr[i]] = (uint16_t)(i + 1);
    return slot;
}

bool feed_json_safe(const char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

uint64_t feed_hash_id(const char *s, size_t len)
{
    uint64_t x = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        x ^= (unsigned char)s[i];
        x *= 0x100000001b3ull;
    }
    return x;
}

/* Last venue error of a connection: written by feed:<venue>, read by any thread (health). */
struct feed_verr {
    pthread_mutex_t mu;
    char text[256];
    int64_t ts;
};

void feed_venue_error(feed_handler_t *h, const char *text, size_t len)
{
    TG_STAT_INC(h->stats->err_venue);
    int n = len > 200 ? 200 : (int)len;
    feed_logf(h, FEED_LOG_ERROR, "%s: the venue refused: %.*s", h->venue->name, n, text);
    if (!h->verr)
        return;
    pthread_mutex_lock(&h->verr->mu);
    snprintf(h->verr->text, sizeof(h->verr->text), "%.*s", n, text);
    h->verr->ts = tg_clock_realtime_ns();
    pthread_mutex_unlock(&h->verr->mu);
}

int64_t feed_venue_error_get(const feed_handler_t *h, char *buf, size_t cap)
{
    if (cap)
        buf[0] = 0;
    if (!h->verr || !cap)
        return 0;
    pthread_mutex_lock(&h->verr->mu);
    snprintf(buf, cap, "%s", h->verr->text);
    int64_t ts = h->verr->ts;
    pthread_mutex_unlock(&h->verr->mu);
    return ts;
}

int feed_handler_setup(feed_handler_t *h)
{
    uint32_t n = tg_instr_reg_count(h->reg);
    h->verr = calloc(1, sizeof(*h->verr));
    if (!h->verr)
        return -ENOMEM;
    pthread_mutex_init(&h->verr->mu, NULL);
    h->scl = calloc(n ? n : 1, sizeof(*h->scl));
    if (!h->scl) {
        feed_handler_teardown(h);
        return -ENOMEM;
    }
    h->n_scl = n;
    for (uint32_t i = 0; i < n; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, i);
        h->scl[i].px = (int8_t)in->px_scale;
        h->scl[i].sz = (int8_t)in->sz_scale;
    }
    int rc = 0;
    if (h->venue->init && (rc = h->venue->init(h)) < 0) {
        h->vstate = NULL;
        feed_handler_teardown(h);
    }
    return rc;
}

void feed_handler_teardown(feed_handler_t *h)
{
    if (h->venue && h->vstate && h->venue->deinit)
        h->venue->deinit(h);
    h->vstate = NULL;
    free(h->scl);
    h->scl = NULL;
    h->n_scl = 0;
    if (h->verr) {
        pthread_mutex_destroy(&h->verr->mu);
        free(h->verr);
        h->verr = NULL;
    }
}

#define FEED_RESCALE_TRIES 8

int feed_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono)
{
    TG_STAT_INC(h->stats->frames);
    TG_STAT_ADD(h->stats->bytes, len);
    for (int i = 0;; i++) {
        uint32_t n0 = h->out.n, f0 = h->frame_flushes;
        int rc = h->venue->on_frame(h, buf, len, ts_recv, ts_mono);
        if (rc != TG_ERESCALE)
            return rc;
        if (i == FEED_RESCALE_TRIES) {
            feed_count_error(h->stats, TG_EDEC_PRECISION);
            return TG_EDEC_PRECISION;
        }
        if (h->frame_flushes == f0)
            h->out.n = n0; /* drop what the abandoned attempt buffered */
    }
}

int feed_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
              int64_t ts_recv, int64_t ts_mono)
{
    if (!h->venue->on_rest)
        return 0;
    for (int i = 0;; i++) {
        uint32_t n0 = h->out.n, f0 = h->frame_flushes;
        int rc = h->venue->on_rest(h, tag, status, body, len, ts_recv, ts_mono);
        if (rc != TG_ERESCALE)
            return rc;
        if (i == FEED_RESCALE_TRIES) {
            feed_count_error(h->stats, TG_EDEC_PRECISION);
            return TG_EDEC_PRECISION;
        }
        if (h->frame_flushes == f0)
            h->out.n = n0;
    }
}

static const char *instr_name(const feed_handler_t *h, uint32_t instr)
{
    const tg_instr_t *in = tg_instr_reg_get(h->reg, instr);
    return in ? in->symbol : "?";
}

/* The value cannot be held: loud (log, counter) and the book to FAULT. */
static int dec_fault(feed_handler_t *h, uint32_t instr, unsigned how, const char *s, size_t n,
                     int rc)
{
    TG_STAT_INC(h->stats->unrepresentable);
    int k = n > 64 ? 64 : (int)n;
    feed_logf(h, FEED_LOG_ERROR,
              "%s: %s: %s '%.*s' cannot be held exactly (%s; int64 at %d places): book FAULT",
              h->venue->name, instr_name(h, instr), (how & FEED_DEC_SZ) ? "size" : "price", k, s,
              tg_strerror(rc), (how & FEED_DEC_SZ) ? feed_sz_scale(h, instr)
                                                   : feed_px_scale(h, instr));
    tg_event_t ev = feed_event(TG_EV_GAP, instr, 0, 0, 0, 0, 0, 0, 0, 0,
                               TG_EVF_FAULT | TG_EVF_LAST);
    feed_emit(h, &ev);
    return rc;
}

int feed_dec(feed_handler_t *h, uint32_t instr, unsigned how, const char *s, size_t n,
             int64_t *out)
{
    int8_t *cur = NULL;
    int scale = 8;
    if (instr < h->n_scl) {
        cur = (how & FEED_DEC_SZ) ? &h->scl[instr].sz : &h->scl[instr].px;
        scale = *cur;
    }
    int rc = (how & FEED_DEC_SIGNED) ? tg_dec_parse(s, n, scale, out)
                                     : tg_dec_parse_unsigned(s, n, scale, out);
    if (rc != TG_EDEC_PRECISION)
        return rc == TG_EDEC_RANGE ? dec_fault(h, instr, how, s, n, rc) : rc;
    int need = tg_dec_places(s, n);
    if (need < 0)
        return need;
    if (!cur || need > TG_DEC_SCALE_MAX)
        return dec_fault(h, instr, how, s, n, TG_EDEC_PRECISION);
    int64_t v;
    rc = (how & FEED_DEC_SIGNED) ? tg_dec_parse(s, n, need, &v)
                                 : tg_dec_parse_unsigned(s, n, need, &v);
    if (rc < 0)
        return dec_fault(h, instr, how, s, n, rc);
    int old_px = h->scl[instr].px, old_sz = h->scl[instr].sz;
    *cur = (int8_t)need;
    TG_STAT_INC(h->stats->rescales);
    int k = n > 64 ? 64 : (int)n;
    feed_logf(h, FEED_LOG_INFO, "%s: %s: %s scale %d -> %d places (value '%.*s')", h->venue->name,
              instr_name(h, instr), (how & FEED_DEC_SZ) ? "size" : "price", scale, need, k, s);
    if (h->venue->on_rescale)
        h->venue->on_rescale(h, instr, old_px, old_sz);
    return TG_ERESCALE;
}

static int key_put(const char *prefix, const char *v, size_t n, char *key, size_t cap)
{
    size_t p = strlen(prefix);
    if (n == 0 || p + n + 1 > cap)
        return -EINVAL;
    memcpy(key, prefix, p);
    for (size_t i = 0; i < n; i++)
        key[p + i] = (char)tolower((unsigned char)v[i]);
    key[p + n] = 0;
    return 0;
}

int feed_rest_key_query(const char *path, const char *route, const char *arg, const char *prefix,
                        char *key, size_t cap)
{
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    if (plen != strlen(route) || memcmp(path, route, plen) != 0)
        return -ENOENT;
    if (!q)
        return -EINVAL;
    size_t alen = strlen(arg);
    for (const char *a = q + 1; *a;) {
        const char *e = strchr(a, '&');
        size_t n = e ? (size_t)(e - a) : strlen(a);
        if (n > alen && a[alen] == '=' && memcmp(a, arg, alen) == 0)
            return key_put(prefix, a + alen + 1, n - alen - 1, key, cap);
        if (!e)
            break;
        a = e + 1;
    }
    return -EINVAL;
}

int feed_rest_key_tail(const char *path, const char *route, const char *prefix, char *key,
                       size_t cap)
{
    size_t r = strlen(route);
    if (strncmp(path, route, r) != 0)
        return -ENOENT;
    const char *v = path + r;
    return key_put(prefix, v, strcspn(v, "/?"), key, cap);
}

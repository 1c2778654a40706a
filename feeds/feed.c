/* SPDX-License-Identifier: MIT */
/* The venue base: venue-independent helpers of the handler contract (feed.h): handler
 * set-up, frame delivery with re-parse on a scale change, exact decimals at every scale,
 * message ends, flushing, logging. The venue table is venues/venues.c. */
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"

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

static const char *instr_name(const feed_handler_t *h, uint32_t instr);

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

void feed_resync_rebase(feed_handler_t *h)
{
    for (uint32_t i = 0; h->resync_seen && i < h->n_instr; i++)
        h->resync_seen[i] = feed_resync_count(h, h->instr[i]);
}

bool feed_resync_due(feed_handler_t *h, uint32_t i, int64_t now_mono)
{
    if (!h->resync_seen || i >= h->n_instr ||
        !feed_resync_asked(h, h->instr[i], &h->resync_seen[i]))
        return false;
    char msg[160];
    snprintf(msg, sizeof(msg), "%s: %s: builder asked for a resync (checksum or crossed book)",
             h->venue->name, instr_name(h, h->instr[i]));
    if (h->venue->state && h->venue->state->rl)
        feed_logf_limited(h, feed_vrl(h), now_mono, FEED_LOG_WARN, "%s", msg);
    else
        feed_logf(h, FEED_LOG_WARN, "%s", msg);
    return true;
}

bool feed_resync_next(feed_handler_t *h, uint32_t *i, int64_t now_mono)
{
    for (; *i < h->n_instr; (*i)++)
        if (feed_resync_due(h, *i, now_mono))
            return true;
    return false;
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

void feed_instr_defaults_plain(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    (void)symbol;
    (void)depth;
    cfg->px_scale = 8;
    cfg->sz_scale = 8;
    cfg->depth_limit = 0;
    cfg->checksum = NULL;
}

void feed_venue_instr_cfg(const feed_venue_t *v, const char *symbol, uint32_t depth,
                          tg_instr_cfg_t *cfg)
{
    tg_instr_cfg_defaults(cfg);
    if (v->instr_defaults)
        v->instr_defaults(cfg, symbol, depth);
    cfg->trade_ids_seq = v->trade_ids_seq;
}

void feed_emit_stale_all(feed_handler_t *h, uint16_t flags, int64_t ts_recv, int64_t ts_mono)
{
    for (uint32_t i = 0; i < h->n_instr; i++)
        feed_emit_make(h, TG_EV_STALE, h->instr[i], 0, 0, 0, 0, 0, 0, ts_recv, ts_mono,
                       flags | TG_EVF_LAST);
}

void feed_settle(feed_handler_t *h, feed_ratelim_t *rl, int rc, uint64_t before, const char *buf,
                 size_t len, int64_t ts_mono)
{
    if (rc < 0 && feed_stats_settled(h->stats) == before)
        feed_tally(h, rl, rc, buf, len, ts_mono); /* counts and logs it */
    feed_count_handled(h, before);
}

int feed_frame_settle(feed_handler_t *h, feed_ratelim_t *rl, feed_parse_fn parse, const char *buf,
                      size_t len, int64_t ts_recv, int64_t ts_mono)
{
    uint64_t before = feed_stats_settled(h->stats);
    int rc = parse(h, buf, len, ts_recv, ts_mono);
    if (rc != TG_ERESCALE)
        feed_settle(h, rl, rc, before, buf, len, ts_mono);
    return rc;
}

int feed_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono)
{
    return feed_frame_settle(h, feed_vrl(h), feed_vparser_run, buf, len, ts_recv, ts_mono);
}

int feed_on_frame_tally(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                        int64_t ts_mono)
{
    return feed_tally(h, feed_vrl(h), feed_vparser_run(h, buf, len, ts_recv, ts_mono), buf, len,
                      ts_mono);
}

int feed_tally(feed_handler_t *h, feed_ratelim_t *rl, int rc, const char *buf, size_t len,
               int64_t ts_mono)
{
    if (rc == TG_ERESCALE)
        return rc;
    if (rc < 0) {
        const char *what = feed_count_error(h->stats, rc);
        feed_log_frame(h, rl, ts_mono, rc == TG_EPROTO ? FEED_LOG_ERROR : FEED_LOG_WARN, what, rc,
                       buf, len);
        return rc;
    }
    if (rc == 0)
        TG_STAT_INC(h->stats->unhandled);
    else
        TG_STAT_INC(h->stats->handled);
    return 0;
}

int feed_deliver(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono,
                 tg_stat_t *handler_errors)
{
    uint64_t before = feed_stats_settled(h->stats);
    int rc = feed_frame(h, buf, len, ts_recv, ts_mono);
    if (rc < 0 && feed_stats_settled(h->stats) == before)
        TG_STAT_INC(*handler_errors);
    return rc;
}

int feed_deliver_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t ts_recv, int64_t ts_mono, tg_stat_t *handler_errors)
{
    uint64_t before = feed_stats_settled(h->stats);
    int rc = feed_rest(h, tag, status, body, len, ts_recv, ts_mono);
    if (rc < 0 && feed_stats_settled(h->stats) == before)
        TG_STAT_INC(*handler_errors);
    return rc;
}

/* The address of the field at off (FEED_VOFF) of the venue state. */
static void *vfield(void *st, size_t off)
{
    return (char *)st + off - 1;
}

static void vstate_free(feed_handler_t *h, const feed_vspec_t *sp)
{
    void *st = h->vstate;
    if (!st)
        return;
    if (sp->jt)
        feed_jtok_deinit(vfield(st, sp->jt));
    size_t ptrs[FEED_VBLOCKS + 2] = {sp->sym, sp->slot};
    for (size_t i = 0; i < FEED_VBLOCKS; i++)
        ptrs[i + 2] = sp->blocks[i].off;
    for (size_t i = 0; i < FEED_VBLOCKS + 2; i++)
        if (ptrs[i])
            free(*(void **)vfield(st, ptrs[i]));
    feed_vstate_free(h);
}

static int vstate_new(feed_handler_t *h, const feed_vspec_t *sp)
{
    char *st = feed_vstate_new(h, sp->size);
    if (!st)
        return -ENOMEM;
    h->vscratch_cap = 0; /* scratch blocks start empty */
    int rc = 0;
    if (sp->rl) {
        feed_ratelim_t *rl = vfield(st, sp->rl);
        rl->burst = sp->burst;
        rl->period = sp->period;
    }
    if (sp->sym) {
        char *sym = calloc(h->n_instr ? h->n_instr : 1, sp->sym_size);
        *(void **)vfield(st, sp->sym) = sym;
        for (uint32_t i = 0; sym && i < h->n_instr; i++)
            memcpy(sym + i * sp->sym_size, &h->instr[i], sizeof(uint32_t));
        rc |= sym ? 0 : -1;
    }
    if (sp->slot)
        rc |= (*(uint16_t **)vfield(st, sp->slot) = feed_slots_new(h)) ? 0 : -1;
    for (size_t i = 0; i < FEED_VBLOCKS; i++) {
        const feed_vblock_t *b = &sp->blocks[i];
        if (!b->off || !b->n)
            continue;
        rc |= (*(void **)vfield(st, b->off) = calloc(b->n, b->el)) ? 0 : -1;
    }
    if (sp->jt)
        rc |= feed_jtok_init(vfield(st, sp->jt), sp->tok_init, sp->tok_max);
    if (rc) {
        vstate_free(h, sp);
        return -ENOMEM;
    }
    return 0;
}

void *feed_vsym_at(const feed_handler_t *h, uint32_t i)
{
    const feed_vspec_t *sp = h->venue->state;
    return *(char **)vfield(h->vstate, sp->sym) + (size_t)i * sp->sym_size;
}

void *feed_vsym_find(const feed_handler_t *h, const char *s, size_t n)
{
    const feed_vspec_t *sp = h->venue->state;
    const uint16_t *slot = *(uint16_t **)vfield(h->vstate, sp->slot);
    int i = feed_slot_find(h, slot, s, n);
    return i < 0 ? NULL : feed_vsym_at(h, (uint32_t)i);
}

int feed_vsym_names(const feed_handler_t *h, void *sym, size_t size, size_t name_off,
                    bool json_safe)
{
    if (h->n_instr > 0xfff0)
        return -ENOMEM;
    for (uint32_t i = 0; i < h->n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
        if (!in || in->id >= TG_INSTR_MAX || (json_safe && !feed_json_safe(in->symbol)))
            return -ENOMEM;
        const char *name = in->symbol;
        memcpy((char *)sym + i * size + name_off, &name, sizeof(name));
    }
    return 0;
}

void feed_vreset(feed_handler_t *h)
{
    const feed_vspec_t *sp = h->venue->state;
    char *sym = *(char **)vfield(h->vstate, sp->sym);
    for (uint32_t i = 0; i < h->n_instr; i++) {
        for (size_t k = 0; k < FEED_VRESETS && sp->reset[k].off; k++) {
            const feed_vreset_t *r = &sp->reset[k];
            char *f = vfield(sym + i * sp->sym_size, r->off);
            if (r->size == 1)
                *(uint8_t *)f = (uint8_t)r->v;
            else if (r->size == 2)
                *(uint16_t *)f = (uint16_t)r->v;
            else if (r->size == 4)
                *(uint32_t *)f = (uint32_t)r->v;
            else
                *(int64_t *)f = r->v;
        }
    }
}

void feed_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    bool rest = h->venue->trade_history && (h->rest_get || h->venue->trade_snapshot);
    h->stale_or = (uint8_t)(TG_EVF_CLOSED | (rest ? TG_EVF_REST : 0));
    h->venue->on_close(h, ts_recv, ts_mono);
    h->stale_or = 0;
}

void feed_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    feed_emit_stale_all(h, 0, ts_recv, ts_mono);
    feed_vreset(h);
}

/* Grow the scratch blocks of the state to the token array. */
static int vscratch(feed_handler_t *h, const feed_vspec_t *sp)
{
    const feed_jtok_t *jt = vfield(h->vstate, sp->jt);
    if (jt->cap == h->vscratch_cap)
        return 0; /* the usual case: no frame bigger than before */
    for (size_t i = 0; i < FEED_VBLOCKS && sp->blocks[i].off; i++) {
        const feed_vblock_t *b = &sp->blocks[i];
        if (!b->per)
            continue;
        void **p = vfield(h->vstate, b->off);
        void *np = feed_jtok_scratch(*p, vfield(h->vstate, b->cap), jt, b->per, b->el);
        if (!np)
            return -ENOMEM;
        *p = np;
    }
    h->vscratch_cap = jt->cap;
    return 0;
}

int feed_vframe(feed_handler_t *h, const char *buf, size_t len, int64_t ts_mono, jsmntype_t root)
{
    const feed_vspec_t *sp = h->venue->state;
    int n = feed_jtok_frame(h, vfield(h->vstate, sp->jt), feed_vrl(h), buf, len, ts_mono, root);
    if (n < 0)
        return n; /* counted err_json */
    if (vscratch(h, sp) < 0) {
        feed_count_error(h->stats, TG_EJSON); /* no memory for a frame this big */
        return -ENOMEM;
    }
    return n;
}

int feed_vframe_pong(feed_handler_t *h, const char *buf, size_t len, int64_t ts_mono,
                     jsmntype_t root)
{
    if (len == 4 && memcmp(buf, "pong", 4) == 0) {
        TG_STAT_INC(h->stats->unhandled);
        return 0;
    }
    return feed_vframe(h, buf, len, ts_mono, root);
}

int feed_vparser_run(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                     int64_t ts_mono)
{
    const feed_vparser_t *p = h->venue->parser;
    int n;
    if (p->flags & FEED_VP_PONG)
        n = feed_vframe_pong(h, buf, len, ts_mono, p->root);
    else if (p->flags & FEED_VP_COUNT)
        n = feed_vframe(h, buf, len, ts_mono, p->root);
    else
        n = feed_vparse(h, buf, len, p->root);
    if (n <= 0)
        return n;
    if (p->flags & FEED_VP_SLOW)
        TG_STAT_INC(h->stats->slow_path);
    const feed_jtok_t *jt = vfield(h->vstate, h->venue->state->jt);
    return p->fn(h, buf, len, jt->t, n, ts_recv, ts_mono);
}

int feed_vparse(feed_handler_t *h, const char *buf, size_t len, jsmntype_t root)
{
    const feed_vspec_t *sp = h->venue->state;
    feed_jtok_t *jt = vfield(h->vstate, sp->jt);
    int n = feed_jtok_parse(jt, buf, len);
    if (n < 0 || (root != JSMN_UNDEFINED && jt->t[0].type != root))
        return TG_EJSON;
    return vscratch(h, sp) < 0 ? -ENOMEM : n;
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
    h->resync_seen = calloc(h->n_instr ? h->n_instr : 1, sizeof(*h->resync_seen));
    if (!h->resync_seen) {
        feed_handler_teardown(h);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, i);
        h->scl[i].px = (int8_t)in->px_scale;
        h->scl[i].sz = (int8_t)in->sz_scale;
    }
    int rc = 0;
    const feed_vspec_t *sp = h->venue->state;
    if (sp && (rc = vstate_new(h, sp)) < 0) {
        feed_handler_teardown(h);
        return rc;
    }
    if (h->venue->init && (rc = h->venue->init(h)) < 0) {
        if (sp)
            vstate_free(h, sp); /* init released only what it added */
        h->vstate = NULL;
        feed_handler_teardown(h);
    }
    return rc;
}

void feed_handler_teardown(feed_handler_t *h)
{
    if (h->venue && h->vstate && h->venue->deinit)
        h->venue->deinit(h);
    if (h->venue && h->venue->state)
        vstate_free(h, h->venue->state);
    h->vstate = NULL;
    free(h->scl);
    h->scl = NULL;
    free(h->resync_seen);
    h->resync_seen = NULL;
    h->n_scl = 0;
    if (h->verr) {
        pthread_mutex_destroy(&h->verr->mu);
        free(h->verr);
        h->verr = NULL;
    }
}

#define FEED_RESCALE_TRIES 8

/* One delivery of a frame (rest false) or REST answer (rest true) to the venue. */
typedef struct feed_call {
    bool rest;
    uint64_t tag;
    int status;
    const char *buf;
    size_t len;
    int64_t ts_recv, ts_mono;
} feed_call_t;

/* Deliver c until the venue parses it without raising a scale (TG_ERESCALE: parsed again, what
 * the abandoned attempt buffered and did not flush dropped), at most FEED_RESCALE_TRIES times
 * more (then it is TG_EDEC_PRECISION, counted). */
static int feed_call_retry(feed_handler_t *h, const feed_call_t *c)
{
    for (int i = 0;; i++) {
        uint32_t n0 = h->out.n, f0 = h->frame_flushes;
        int rc = c->rest ? h->venue->on_rest(h, c->tag, c->status, c->buf, c->len, c->ts_recv,
                                             c->ts_mono)
                         : h->venue->on_frame(h, c->buf, c->len, c->ts_recv, c->ts_mono);
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

int feed_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono)
{
    TG_STAT_INC(h->stats->frames);
    TG_STAT_ADD(h->stats->bytes, len);
    return feed_call_retry(h, &(feed_call_t){false, 0, 0, buf, len, ts_recv, ts_mono});
}

int feed_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
              int64_t ts_recv, int64_t ts_mono)
{
    if (!h->venue->on_rest)
        return 0;
    return feed_call_retry(h, &(feed_call_t){true, tag, status, body, len, ts_recv, ts_mono});
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
              tg_strerror(rc),
              (how & FEED_DEC_SZ) ? feed_sz_scale(h, instr) : feed_px_scale(h, instr));
    tg_event_t ev =
        feed_event(TG_EV_GAP, instr, 0, 0, 0, 0, 0, 0, 0, 0, TG_EVF_FAULT | TG_EVF_LAST);
    feed_emit(h, &ev);
    return rc;
}

int feed_dec(feed_handler_t *h, uint32_t instr, unsigned how, const char *s, size_t n, int64_t *out)
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

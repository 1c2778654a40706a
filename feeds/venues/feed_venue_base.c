/* SPDX-License-Identifier: MIT */
/*
 * Connection callbacks a family of venue handlers shares (feed_venue_base.h).
 */
#include "feed_venue_base.h"

#include <stdio.h>
#include <string.h>

static const feed_rsv_t *rsv_of(const feed_handler_t *h)
{
    return h->venue->family;
}

static feed_rsync_t *rsv_rs(const feed_handler_t *h)
{
    return (feed_rsync_t *)((char *)h->vstate + rsv_of(h)->rs - 1);
}

/* Send the subscribe messages not sent yet, as many as the venue's send limit allows. */
static int rsv_send_subs(feed_handler_t *h)
{
    const feed_rsv_t *f = rsv_of(h);
    char msg[FEED_RSV_SUB_MAX];
    return feed_send_paced(h, &rsv_rs(h)->sub_next, f->sub_msg, msg, f->sub_cap);
}

int feed_rsv_on_open(feed_handler_t *h)
{
    const feed_rsv_t *f = rsv_of(h);
    feed_rsync_open(h, rsv_rs(h), f->path);
    if (f->opened)
        f->opened(h);
    return rsv_send_subs(h);
}

void feed_rsv_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    feed_rsync_close(h, rsv_rs(h), ts_recv, ts_mono);
}

void feed_rsv_on_tick(feed_handler_t *h, int64_t now_mono)
{
    feed_rsync_t *rs = rsv_rs(h);
    rsv_send_subs(h);
    char msg[96];
    int m = rsv_of(h)->ping(h, now_mono - rs->last_ping, msg, sizeof(msg));
    if (m > 0 && feed_send(h, msg, (size_t)m) == 0)
        rs->last_ping = now_mono;
    feed_rsync_tick(h, rs, now_mono);
}

int feed_rsv_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                     int64_t ts_recv, int64_t ts_mono)
{
    return feed_rsync_rest(h, rsv_rs(h), tag, status, body, len, ts_recv, ts_mono, feed_rsv_snap);
}

int feed_rsv_snap(feed_handler_t *h, void *sym, const char *js, int n, int obj, int64_t ts_recv,
                  int64_t ts_mono)
{
    const feed_jtok_t *jt = (const feed_jtok_t *)((char *)h->vstate + h->venue->state->jt - 1);
    const jsmntok_t *t = jt->t;
    if (obj < 0 || t[obj].type != JSMN_OBJECT)
        return TG_EFIELD;
    return rsv_of(h)->snap(h, sym, js, t, n, obj, ts_recv, ts_mono);
}

int feed_rsv_snapshot(feed_handler_t *h, feed_rsym_t *s, uint64_t S, int64_t ts_exch, size_t nl,
                      bool skip_zero, uint8_t state, feed_rsv_replay_fn replay, int64_t ts_recv,
                      int64_t ts_mono)
{
    const feed_rsv_t *f = rsv_of(h);
    feed_rsync_t *rs = rsv_rs(h);
    const char *lv = *(char **)((char *)h->vstate + f->lv - 1);
    uint16_t slot = (uint16_t)(s - (feed_rsym_t *)feed_vsym_at(h, 0));
    if (!feed_rsync_snapshot_wanted(h, rs, slot, S, ts_mono))
        return 0;
    const uint16_t fl = TG_EVF_SNAPSHOT | TG_EVF_REST;
    feed_emit_make(h, TG_EV_BOOK_CLEAR, s->id, 0, 0, 0, S, 0, ts_exch, ts_recv, ts_mono, fl);
    for (size_t i = 0; i < nl; i++) {
        const feed_level_t *l = (const feed_level_t *)(lv + i * f->lv_el);
        if (!skip_zero || (l->px != 0 && l->sz != 0))
            feed_emit_make(h, TG_EV_LEVEL, s->id, l->side, l->px, l->sz, S, 0, ts_exch, ts_recv,
                           ts_mono, fl);
    }
    feed_end_message(h, s->id, ts_exch, ts_recv, ts_mono);
    TG_STAT_INC(h->stats->snapshots);
    s->state = state;
    s->last = S;
    for (uint32_t i = 0; i < rs->pb.n_m; i++) {
        const feed_pend_msg_t *p = &rs->pb.m[i];
        if (p->slot == slot && replay(h, s, p, &rs->pb.ev[p->at], ts_recv, ts_mono) < 0) {
            feed_rsync_gap(h, rs, slot, p->first, i, ts_recv, ts_mono);
            return 0;
        }
    }
    feed_pend_drop(&rs->pb, slot, rs->pb.n_m);
    return 0;
}

int feed_sub_list(feed_handler_t *h, char *msg, size_t cap, int m, uint32_t from, uint32_t per,
                  uint32_t n, bool (*ok)(const char *s), const char *q, size_t room,
                  const char *tail)
{
    uint32_t any = 0;
    for (uint32_t i = from; i < n && i < from + per; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
        if (!in || !ok(in->symbol) || (size_t)m + strlen(in->symbol) + room > cap)
            continue;
        m += snprintf(msg + m, cap - (size_t)m, "%s%s%s%s", any++ ? "," : "", q, in->symbol, q);
    }
    m += snprintf(msg + m, cap - (size_t)m, "%s", tail);
    return any ? m : 0;
}

static const feed_rsb_t *rsb_of(const feed_handler_t *h)
{
    return h->venue->family;
}

static feed_resub_t *rsb_rs(const feed_handler_t *h)
{
    return (feed_resub_t *)((char *)h->vstate + rsb_of(h)->rsb - 1);
}

void feed_rsb_want(feed_handler_t *h, uint32_t i)
{
    ((feed_rsb_sym_t *)feed_vsym_at(h, i))->live = 0;
    feed_resub_want(h, rsb_rs(h), i);
}

int feed_rsb_send(feed_handler_t *h, const char *op, int step)
{
    const feed_rsb_t *f = rsb_of(h);
    char head[96];
    snprintf(head, sizeof(head), "{\"type\":\"%s\",%s", op, f->list);
    return feed_resub_send_list(h, rsb_rs(h), head, f->tail, step);
}

int feed_rsb_init(feed_handler_t *h)
{
    *(uint32_t *)((char *)h->vstate + rsb_of(h)->n_sym - 1) = h->n_instr;
    int rc = feed_resub_init(h, rsb_rs(h));
    void *sym = *(void **)((char *)h->vstate + h->venue->state->sym - 1);
    return rc < 0
               ? rc
               : feed_vsym_names(h, sym, sizeof(feed_rsb_sym_t), offsetof(feed_rsb_sym_t, name), 0);
}

bool feed_rsb_open(feed_handler_t *h)
{
    feed_resync_rebase(h);
    feed_resub_reset(h, rsb_rs(h));
    feed_vreset(h);
    return h->n_instr != 0;
}

int feed_rsb_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                      int64_t ts_mono)
{
    const feed_rsb_t *f = rsb_of(h);
    feed_resub_t *r = rsb_rs(h);
    bool acted = false; /* a frame of several events may act on some and ignore others */
    uint64_t before = feed_resub_begin(h, r, ts_mono);
    int rc = f->parse(h, buf, len, ts_recv, ts_mono, &acted);
    return feed_resub_settle(h, r, feed_vrl(h), rc, rc == f->unhandled && !acted, before, buf, len,
                             ts_mono, feed_rsb_send);
}

void feed_rsb_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    const feed_rsb_t *f = rsb_of(h);
    feed_resub_close(h, rsb_rs(h), ts_recv, ts_mono);
    for (uint32_t i = 0; i < h->n_instr; i++)
        ((feed_rsb_sym_t *)feed_vsym_at(h, i))->live = 0;
    if (f->closed)
        f->closed(h);
}

void feed_rsb_on_tick(feed_handler_t *h, int64_t now_mono)
{
    for (uint32_t i = 0; feed_resync_next(h, &i, now_mono); i++)
        if (h->channels & FEED_CH_BOOK)
            feed_rsb_want(h, i);
    feed_resub_pump(h, rsb_rs(h), now_mono, feed_rsb_send);
}

/* SPDX-License-Identifier: MIT */
/* Book sync helpers of the REST-snapshot venues (feed_sync.h). */
#include "feeds/feed_sync.h"

#include "feeds/feed_jtok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_RETRY_NS (2 * 1000000000LL)
#define SNAP_TMO_NS   (10 * 1000000000LL)

void feed_pend_drop(feed_pend_t *p, uint16_t slot, uint32_t upto)
{
    uint32_t k = 0, ke = 0;
    for (uint32_t i = 0; i < p->n_m; i++) {
        feed_pend_msg_t m = p->m[i];
        if (m.slot == slot && i < upto)
            continue;
        if (ke != m.at)
            memmove(&p->ev[ke], &p->ev[m.at], m.n * sizeof(tg_event_t));
        m.at = ke;
        ke += m.n;
        p->m[k++] = m;
    }
    p->n_m = k;
    p->n_ev = ke;
}

/* Evict the oldest message (buffer full). */
static void pend_evict(feed_handler_t *h, feed_pend_t *p)
{
    uint32_t n = p->m[0].n;
    memmove(&p->ev[0], &p->ev[n], (p->n_ev - n) * sizeof(tg_event_t));
    memmove(&p->m[0], &p->m[1], (p->n_m - 1) * sizeof(feed_pend_msg_t));
    p->n_m--;
    p->n_ev -= n;
    for (uint32_t i = 0; i < p->n_m; i++)
        p->m[i].at -= n;
    TG_STAT_INC(h->stats->stale_dropped);
}

tg_event_t *feed_pend_add(feed_handler_t *h, feed_pend_t *p, uint16_t slot, uint64_t first,
                          uint64_t last, int64_t ts_exch, uint32_t n)
{
    if (n > FEED_PEND_EV) {
        TG_STAT_INC(h->stats->stale_dropped);
        return NULL;
    }
    while (p->n_m && (p->n_m == FEED_PEND_MSGS || p->n_ev + n > FEED_PEND_EV))
        pend_evict(h, p);
    p->m[p->n_m++] = (feed_pend_msg_t){first, last, ts_exch, p->n_ev, n, slot};
    tg_event_t *ev = &p->ev[p->n_ev];
    p->n_ev += n;
    TG_STAT_INC(h->stats->buffered);
    return ev;
}

bool feed_pend_has(const feed_pend_t *p, uint16_t slot)
{
    for (uint32_t k = 0; k < p->n_m; k++)
        if (p->m[k].slot == slot)
            return true;
    return false;
}

bool feed_pend_bridges(const feed_pend_t *p, uint16_t slot, uint64_t S)
{
    for (uint32_t i = 0; i < p->n_m; i++)
        if (p->m[i].slot == slot && p->m[i].last > S)
            return p->m[i].first <= S + 1;
    return true;
}

bool feed_snapreq_due(const feed_snapreq_t *r, int64_t now_mono)
{
    return r->out ? now_mono - r->mono > SNAP_TMO_NS : now_mono - r->mono > SNAP_RETRY_NS;
}

bool feed_rest_stale(feed_handler_t *h, uint64_t tag, uint32_t gen, size_t len)
{
    if ((uint32_t)(tag >> 32) == gen && (uint32_t)tag < h->n_instr)
        return false;
    TG_STAT_INC(h->stats->frames);
    TG_STAT_ADD(h->stats->bytes, len);
    TG_STAT_INC(h->stats->unhandled);
    return true;
}

void feed_rsync_open(feed_handler_t *h, feed_rsync_t *r, feed_rsync_path_fn path)
{
    r->path = path;
    feed_resync_rebase(h);
    r->gen++;
    r->pb.n_m = r->pb.n_ev = 0;
    r->sub_next = 0;
    r->last_ping = 0;
    feed_vreset(h);
}

void feed_rsync_close(feed_handler_t *h, feed_rsync_t *r, int64_t ts_recv, int64_t ts_mono)
{
    r->pb.n_m = r->pb.n_ev = 0;
    feed_on_close(h, ts_recv, ts_mono);
}

void feed_rsync_request(feed_handler_t *h, feed_rsync_t *r, uint32_t i, int64_t now_mono)
{
    feed_rsym_t *s = feed_vsym_at(h, i);
    const tg_instr_t *in = tg_instr_reg_get(h->reg, s->id);
    char path[256];
    if (!in || !h->rest_get || !r->path || r->path(h, in, path, sizeof(path)) < 0)
        return;
    s->req = (feed_snapreq_t){now_mono, 1};
    TG_STAT_INC(h->stats->resyncs);
    if (h->rest_get(h->tctx, path, feed_rest_tag(r->gen, i)) < 0)
        s->req.out = 0; /* retried on the tick */
}

void feed_rsync_gap(feed_handler_t *h, feed_rsync_t *r, uint32_t i, uint64_t got, uint32_t keep,
                    int64_t ts_recv, int64_t ts_mono)
{
    feed_rsym_t *s = feed_vsym_at(h, i);
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, s->last, got, 0, ts_recv, ts_mono, TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    s->state = FEED_RSYM_WAIT;
    feed_pend_drop(&r->pb, (uint16_t)i, keep);
    feed_rsync_request(h, r, i, ts_mono);
}

bool feed_rsync_snapshot_wanted(feed_handler_t *h, feed_rsync_t *r, uint32_t i, uint64_t S,
                                int64_t ts_mono)
{
    feed_rsym_t *s = feed_vsym_at(h, i);
    s->req.out = 0;
    if (s->state != FEED_RSYM_WAIT) {
        TG_STAT_INC(h->stats->unhandled); /* continuous already: a late duplicate */
        return false;
    }
    if (!feed_pend_bridges(&r->pb, (uint16_t)i, S)) {
        /* diffs between the snapshot and the buffer are missing: too old */
        feed_jtok_log(h, feed_vrl(h), ts_mono, FEED_LOG_WARN,
                      "snapshot older than the buffered diffs, requesting another", NULL, NULL);
        TG_STAT_INC(h->stats->stale_dropped);
        feed_rsync_request(h, r, i, ts_mono);
        return false;
    }
    return true;
}

void feed_rsync_tick(feed_handler_t *h, feed_rsync_t *r, int64_t now_mono)
{
    for (uint32_t i = 0; i < h->n_instr; i++) {
        feed_rsym_t *s = feed_vsym_at(h, i);
        if (feed_resync_due(h, i, now_mono) && s->state != FEED_RSYM_WAIT) {
            /* the builder saw a crossed book: start over from a new snapshot */
            s->state = FEED_RSYM_WAIT;
            s->req.out = 0;
            feed_pend_drop(&r->pb, (uint16_t)i, r->pb.n_m);
        }
        /* the first diff asks for the snapshot; a lost or failed request is repeated */
        if (s->state == FEED_RSYM_WAIT && feed_pend_has(&r->pb, (uint16_t)i) &&
            feed_snapreq_due(&s->req, now_mono))
            feed_rsync_request(h, r, i, now_mono);
    }
}

int feed_rsync_rest(feed_handler_t *h, const feed_rsync_t *r, uint64_t tag, int status,
                    const char *body, size_t len, int64_t ts_recv, int64_t ts_mono,
                    feed_rest_snap_fn snap)
{
    if (feed_rest_stale(h, tag, r->gen, len))
        return 0; /* an answer for an earlier connection */
    feed_rsym_t *sym = feed_vsym_at(h, (uint32_t)tag);
    uint64_t before = feed_stats_settled(h->stats);
    int rc;
    if (status != 200) {
        rc = TG_EPROTO;
    } else {
        int n = feed_vparse(h, body, len, JSMN_OBJECT);
        if (n < 0)
            rc = n;
        else
            rc = snap(h, sym, body, n, 0, ts_recv, ts_mono);
        if (rc == TG_ERESCALE)
            return rc;
    }
    if (rc < 0)
        sym->req = (feed_snapreq_t){ts_mono, 0};
    TG_STAT_INC(h->stats->frames);
    TG_STAT_ADD(h->stats->bytes, len);
    feed_settle(h, feed_vrl(h), rc, before, body, len, ts_mono);
    return rc;
}

int feed_send_paced(feed_handler_t *h, uint32_t *next, feed_sub_msg_fn fn, char *msg, size_t cap)
{
    uint32_t budget = h->venue->max_sends_per_s ? h->venue->max_sends_per_s : UINT32_MAX;
    while (budget > 0) {
        int m = fn(h, *next, msg, cap);
        if (m < 0)
            return 0;
        (*next)++;
        if (m == 0)
            continue;
        int rc = feed_send(h, msg, (size_t)m);
        if (rc < 0)
            return rc;
        budget--;
    }
    return 0;
}

int feed_resub_init(feed_handler_t *h, feed_resub_t *r)
{
    r->cap = 128 + (size_t)h->n_instr * (TG_SYMBOL_MAX + 3);
    r->buf = malloc(r->cap);
    r->rs = calloc(h->n_instr ? h->n_instr : 1, 1);
    for (uint32_t i = 0; r->buf && i < h->n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
        if (!in || !feed_json_safe(in->symbol))
            return -ENOMEM;
    }
    return r->buf && r->rs ? 0 : -ENOMEM;
}

int feed_resub_send_list(feed_handler_t *h, feed_resub_t *r, const char *head, const char *tail,
                         int step)
{
    size_t n = (size_t)snprintf(r->buf, r->cap, "%s", head);
    int k = 0;
    for (uint32_t i = 0; i < h->n_instr && n < r->cap; i++)
        if (step < 0 || r->rs[i] == step)
            n += (size_t)snprintf(r->buf + n, r->cap - n, "%s\"%s\"", k++ ? "," : "",
                                  tg_instr_reg_get(h->reg, h->instr[i])->symbol);
    if (n < r->cap)
        n += (size_t)snprintf(r->buf + n, r->cap - n, "%s", tail);
    if (n >= r->cap)
        return -ENOSPC;
    return feed_send(h, r->buf, n);
}

void feed_resub_close(feed_handler_t *h, feed_resub_t *r, int64_t ts_recv, int64_t ts_mono)
{
    feed_emit_stale_all(h, TG_EVF_RESYNC, ts_recv, ts_mono);
    memset(r->rs, FEED_RS_IDLE, h->n_instr);
    r->any = false;
}

void feed_resub_reset(feed_handler_t *h, feed_resub_t *r)
{
    memset(r->rs, FEED_RS_IDLE, h->n_instr);
    r->any = false;
    r->win_armed = false;
    r->win_used = 0;
}

void feed_resub_want(feed_handler_t *h, feed_resub_t *r, uint32_t i)
{
    if (r->rs[i] != FEED_RS_IDLE)
        return; /* one already under way */
    r->rs[i] = FEED_RS_UNSUB;
    r->any = true;
    TG_STAT_INC(h->stats->resyncs);
}

void feed_resub_window(feed_resub_t *r, int64_t now)
{
    if (!r->win_armed) {
        r->win_armed = true;
        r->win_start = now;
    } else if (now - r->win_start >= 1000000000LL || now < r->win_start) {
        r->win_start = now;
        r->win_used = 0;
    }
}

static bool resub_at(const feed_handler_t *h, const feed_resub_t *r, uint8_t step)
{
    for (uint32_t i = 0; i < h->n_instr; i++)
        if (r->rs[i] == step)
            return true;
    return false;
}

void feed_resub_pump(feed_handler_t *h, feed_resub_t *r, int64_t now, feed_resub_send_fn send)
{
    if (!r->any)
        return;
    feed_resub_window(r, now);
    static const struct {
        const char *op;
        uint8_t from, to;
    } steps[2] = {{"unsubscribe", FEED_RS_UNSUB, FEED_RS_SUB},
                  {"subscribe", FEED_RS_SUB, FEED_RS_IDLE}};
    uint32_t per_s = h->venue->max_sends_per_s ? h->venue->max_sends_per_s : UINT32_MAX;
    for (int k = 0; k < 2; k++) {
        if (!resub_at(h, r, steps[k].from) || r->win_used >= per_s)
            continue;
        r->win_used++;
        if (send(h, steps[k].op, steps[k].from) < 0) {
            memset(r->rs, FEED_RS_IDLE, h->n_instr);
            r->any = false;
            char why[96];
            snprintf(why, sizeof(why), "%s: resubscribe failed", h->venue->name);
            if (h->reconnect)
                h->reconnect(h->tctx, why);
            return;
        }
        for (uint32_t i = 0; i < h->n_instr; i++)
            if (r->rs[i] == steps[k].from)
                r->rs[i] = steps[k].to;
    }
    r->any = resub_at(h, r, FEED_RS_UNSUB) || resub_at(h, r, FEED_RS_SUB);
}

uint64_t feed_resub_begin(feed_handler_t *h, feed_resub_t *r, int64_t now_mono)
{
    uint64_t before = feed_stats_settled(h->stats);
    TG_STAT_INC(h->stats->slow_path);
    feed_resub_window(r, now_mono);
    return before;
}

int feed_resub_settle(feed_handler_t *h, feed_resub_t *r, feed_ratelim_t *rl, int rc,
                      bool unhandled, uint64_t before, const char *buf, size_t len,
                      int64_t now_mono, feed_resub_send_fn send)
{
    if (rc == TG_ERESCALE)
        return rc; /* feed_frame parses it again; counted then */
    if (unhandled) {
        TG_STAT_INC(h->stats->unhandled);
    } else if (rc < 0) {
        const char *what = feed_count_error(h->stats, rc);
        feed_log_frame(h, rl, now_mono, FEED_LOG_WARN, what, rc == TG_EPROTO ? 0 : rc, buf, len);
    }
    feed_count_handled(h, before);
    feed_resub_pump(h, r, now_mono, send);
    return rc < 0 ? rc : 0;
}

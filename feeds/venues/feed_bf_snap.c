/* SPDX-License-Identifier: MIT */
/*
 * Trade backfill from the venue's subscribe snapshot: the rule is in feed_bf_snap.h.
 * Thread: feed:<venue>.
 */
#include "feeds/venues/feed_bf_snap.h"

#include "book/tg_clock.h"
#include "book/tg_instr.h"

void feed_bfs_open(feed_handler_t *h, feed_bfs_sym_t *y, uint32_t instr, const char *name)
{
    y->fresh = true;
    const tg_instr_t *in = tg_instr_reg_get(h->reg, instr);
    if (y->last_ts || !in || in->resume_ts <= 0)
        return;
    /* start-up: from the newest stored trade's time on (inclusive: the trades at that time
       come again and are dropped by their ids) */
    char iso[48];
    y->last_ts = in->resume_ts;
    y->last_id = 0;
    feed_logf(h, FEED_LOG_INFO,
              "%s %s: resuming trades from the last stored time %s (trade snapshot)",
              h->venue->name, name, feed_bf_iso(y->last_ts, iso, sizeof(iso)));
}

/* Emit trade t of the snapshot (flags: TG_EVF_REST or 0). */
static void bfs_emit(feed_handler_t *h, uint32_t instr, const feed_bf_trade_t *t, uint8_t flags,
                     int64_t ts_recv, int64_t ts_mono)
{
    feed_emit_make(h, TG_EV_TRADE, instr, t->side, t->px, t->qty, t->seq, t->id, t->ts_ns, ts_recv,
                   ts_mono, flags);
}

uint32_t feed_bfs_snapshot(feed_handler_t *h, feed_bfs_sym_t *y, uint32_t instr, const char *name,
                           const feed_bf_trade_t *tr, uint32_t n, bool first_emit,
                           feed_bfs_take_fn take, void *ctx, int64_t ts_recv, int64_t ts_mono)
{
    y->fresh = false;
    uint32_t got = 0;
    int64_t lo = y->last_ts, ts_end = 0;
    if (!lo) { /* the first trades ever seen for it: the venue's choice */
        for (uint32_t i = 0; i < n; i++) {
            if (first_emit && (!take || take(ctx, tr[i].id))) {
                bfs_emit(h, instr, &tr[i], 0, ts_recv, ts_mono);
                ts_end = tr[i].ts_ns;
                got++;
            }
            feed_bfs_live(y, tr[i].id, tr[i].ts_ns);
        }
        if (got)
            feed_end_message(h, instr, ts_end, ts_recv, ts_mono);
        return got;
    }
    bool covered = n == 0 || tr[0].ts_ns < lo;
    for (uint32_t i = 0; i < n && !covered && y->last_id; i++)
        covered = tr[i].id == y->last_id;
    for (uint32_t i = 0; i < n; i++) {
        const feed_bf_trade_t *t = &tr[i];
        if (t->ts_ns < lo || (take && !take(ctx, t->id)))
            continue; /* older than the newest seen, or seen (at or after last_ts) */
        bfs_emit(h, instr, t, TG_EVF_REST, ts_recv, ts_mono);
        TG_STAT_INC(h->stats->backfill_trades);
        ts_end = t->ts_ns;
        got++;
    }
    if (!covered) { /* (last seen, oldest of the snapshot): published, not in the snapshot */
        char a[48], b[48];
        int64_t hi = tr[0].ts_ns;
        feed_bf_time_gap(h, instr, lo, hi, ts_recv, ts_mono, 0);
        TG_STAT_INC(h->stats->backfill_failures);
        feed_logf(h, FEED_LOG_WARN,
                  "%s %s: the subscribe snapshot does not reach back to the last trade seen: "
                  "trades at %s..%s lost (%u trades of %u emitted)",
                  h->venue->name, name, feed_bf_iso(lo, a, sizeof(a)),
                  feed_bf_iso(hi, b, sizeof(b)), got, n);
        ts_end = ts_end ? ts_end : hi;
    }
    for (uint32_t i = 0; i < n; i++)
        feed_bfs_live(y, tr[i].id, tr[i].ts_ns);
    if (got || !covered)
        feed_end_message(h, instr, ts_end, ts_recv, ts_mono);
    return got;
}

/* SPDX-License-Identifier: MIT */
/*
 * Trade backfill from the venue's own subscribe snapshot (issue 15, docs/feeds.md): for venues
 * that send their most recent trades again when a trade channel is subscribed (Crypto.com: the
 * first push of trade.<instr> holds the instrument's 100 newest trades), the venue-independent
 * part. Where a venue backfills over REST see feed_backfill.h; this one needs no request.
 *
 * DESIGN
 * - Each symbol remembers the newest trade it saw (feed_bfs_sym_t.last_ts / last_id, exchange
 *   ns, kept across reconnects; feed_bfs_live for every live trade).
 * - A connection opens (feed_bfs_open): every symbol waits for its snapshot (fresh). A symbol
 *   that saw no trade yet takes the instrument's start-up resume time (tg_instr_t.resume_ts,
 *   the newest trade time PostgreSQL holds; no id).
 * - The snapshot (feed_bfs_snapshot, its trades oldest first) after a reconnect or a resume:
 *   the trades newer than last_ts are emitted, and those at last_ts whose id the venue has not
 *   seen (its dedup, feed_bfs_take_fn; none: all of them, PostgreSQL's unique key and the
 *   builder's trade dedup drop repeats), as TG_EV_TRADE | TG_EVF_REST, one message, counted in
 *   backfill_trades. The hole is covered when the snapshot reaches back to the last trade seen:
 *   it holds last_id, or its oldest trade is older than last_ts. Otherwise the trades between
 *   are lost: a TG_EV_TRADE_GAP with the time bounds seq = last_ts, u.aux = the snapshot's
 *   oldest time (ns, inclusive, as feed_backfill.c's time mode; the builder writes a trade gap
 *   row with reason BOOK_GAP_TRADES_TIME), one WARN line (symbol, bounds, trades emitted) and
 *   backfill_failures. An empty snapshot shows nothing lost (the venue remembers no trade).
 * - The first snapshot of a symbol with neither a trade seen nor a resume time: the venue's
 *   choice (first_emit: emitted as live trades, deduped, no TG_EVF_REST; else only the last
 *   trade is noted).
 * - The venue sets feed_venue_t.trade_history and trade_history_ws (feed.h): its STALEs carry
 *   TG_EVF_REST without a REST client, so the builder leaves the hole to this code.
 * Thread: feed:<venue> (everything here belongs to one handler).
 */
#ifndef FEED_BF_SNAP_H
#define FEED_BF_SNAP_H

#include <stdbool.h>
#include <stdint.h>

#include "feeds/feed.h"
#include "feeds/venues/feed_backfill.h"

/** Per symbol, kept across reconnects (the venue's symbol state holds it, zeroed at init). */
typedef struct feed_bfs_sym {
    int64_t last_ts;  /* exchange ns of the newest trade seen (or the resume time), 0 = none */
    uint64_t last_id; /* its id; 0 with a resume time (no id known) */
    bool fresh;       /* this connection's snapshot not received yet */
} feed_bfs_sym_t;

/** The venue's dedup of trade id (ctx: the venue's symbol): true when the trade was not
 *  emitted yet, and from now on it is remembered as emitted. */
typedef bool (*feed_bfs_take_fn)(void *ctx, uint64_t id);

/** A connection opens: symbol y (instrument instr, name for log lines) waits for its
 *  snapshot; without a trade seen it takes the instrument's resume time, if any. */
void feed_bfs_open(feed_handler_t *h, feed_bfs_sym_t *y, uint32_t instr, const char *name);

/** A live trade of the symbol (not part of a snapshot), emitted by the venue. */
static inline void feed_bfs_live(feed_bfs_sym_t *y, uint64_t id, int64_t ts)
{
    if (ts >= y->last_ts) {
        y->last_ts = ts;
        y->last_id = id;
    }
}

/** The connection's snapshot for symbol y: tr[0..n) oldest first, decoded at the instrument's
 *  scales. Emits what the rule above says, the gap if any, and ends the message.
 *  take: the venue's dedup (NULL: none). @return the trades emitted. */
uint32_t feed_bfs_snapshot(feed_handler_t *h, feed_bfs_sym_t *y, uint32_t instr, const char *name,
                           const feed_bf_trade_t *tr, uint32_t n, bool first_emit,
                           feed_bfs_take_fn take, void *ctx, int64_t ts_recv, int64_t ts_mono);

#endif

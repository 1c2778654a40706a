/* SPDX-License-Identifier: MIT */
/*
 * Trade backfill over REST after a reconnect (issue 15): the venue-independent part.
 *
 * DESIGN
 * - Each symbol remembers the last trade id it saw (feed_bf_sym_t.last_tid, kept across
 *   reconnects) and the kind of that id (Binance: aggregate or trade ids).
 * - After a reconnect (feed_bf_open marks every symbol fresh), the first trade received with
 *   id M > last + 1 opens the hole [last + 1, M) (or [last + 1, M] when M is a trade the venue
 *   sends but the handler does not emit: Coinbase's last_match). A hole still being fetched
 *   when the next reconnect opens another is merged into one range [first from, newest end):
 *   the trades received in between come again, with the same ids (PostgreSQL's unique key and
 *   the builder's trade dedup drop them).
 * - The range is fetched in pages of at most FEED_BF_PAGE ids, the request written by the
 *   venue (feed_bf_ops_t.path), one request in flight per connection and at least
 *   FEED_BF_GAP_NS between requests. Each page (feed_bf_ops_t.parse, any order) is emitted in
 *   ascending id, only the trades inside the range, as ordinary TG_EV_TRADE events with
 *   TG_EVF_REST; the range ends when a page reaches its end, comes back empty or does not
 *   advance.
 * - Counters: backfill_trades, backfill_requests, backfill_failures (feed_stats_t, exported as
 *   tickgate_feed_backfill_*_total). One INFO line per finished range (ids, trades,
 *   requests); a failed request is retried (paced) up to FEED_BF_TRIES times, then the range
 *   is given up with an ERROR line naming the lost ids and a TG_EV_TRADE_GAP (a trade gap row
 *   in PostgreSQL: ids from - 1 .. to, exclusive). No REST client (offline): given up at once,
 *   logged and counted, no TG_EV_TRADE_GAP (the builder writes the hole from the closed
 *   connection).
 * - Answers carry the connection generation in their tag (the venue drops a previous
 *   connection's); stop needs nothing: no request blocks, the transport drops pending ones.
 * TIME MODE (feed_bf_ops_t.path_ts: BitMEX, Bybit; trades with an opaque unique id)
 * - Each symbol remembers the exchange time of the newest trade it saw (last_ts). The first
 *   live trade of a connection, at T, opens the range [last_ts, T] (a symbol without a trade
 *   yet, on a later connection: [the first trade time of any symbol, T]), inclusive both ends: the
 *   trades at a boundary time come again with their own ids (the handler's hash of the venue's
 *   id, the one its live trades carry) and are dropped by PostgreSQL's unique key and the
 *   builder's trade dedup. A range opened while another is fetched waits behind it (up to
 *   FEED_BF_QUEUE, then the last one widens): the trades received live between two ranges are
 *   never inside a gap given up.
 * - Paged venues (BitMEX): a page asks for [from_ts, to_ts] oldest first, at most page trades;
 *   a short page ends the range. A full one moves from_ts to its newest time, skipping the
 *   trades of that time it already has (skip_ok: the venue's offset); a full page all at
 *   from_ts moves the offset on (without an offset: the range ends with a gap, counted and
 *   logged, never a loop).
 * - last_n venues (Bybit: only the newest trades): one request; the trades inside the range are
 *   emitted; a full page whose oldest trade is newer than from_ts leaves [from_ts, oldest] as a
 *   hole: given up like a failed range.
 * - At start-up a symbol without a last time takes the instrument's resume time
 *   (tg_instr_t.resume_ts: the newest trade time PostgreSQL holds, [gateway]
 *   backfill_resume_s; the stored microsecond, never after the trade's own time), so the first
 *   live trade at T opens [resume_ts, T]: what was published while no gateway ran.
 * - A range given up (tries, no reach, no progress) is an ERROR line with ISO times and a
 *   TG_EV_TRADE_GAP with the time bounds: seq = from_ts, u.aux = to_ts (ns, inclusive), ts_exch
 *   = to_ts; the builder's tracker of a venue without consecutive ids (book_tgap.h) writes it as
 *   a trade gap row with those bounds. The STALE carries TG_EVF_REST (feed.c, trade_history),
 *   so the builder adds no generic "may be missing" gap when everything was fetched.
 * Thread: feed:<venue>.
 */
#include "feeds/venues/feed_backfill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/tg_clock.h"
#include "book/tg_instr.h"

void feed_bf_init(feed_bf_t *f, feed_handler_t *h, void *v, const feed_bf_ops_t *ops,
                  feed_bf_sym_t *sym0, size_t stride, uint32_t n_sym, feed_ratelim_t *log_rl)
{
    f->h = h;
    f->v = v;
    f->ops = ops;
    f->sym = (char *)sym0;
    f->stride = stride;
    f->n_sym = n_sym;
    f->log_rl = log_rl;
}

feed_bf_sym_t *feed_bf_sym(const feed_bf_t *f, uint32_t s)
{
    return (feed_bf_sym_t *)(void *)(f->sym + (size_t)s * f->stride);
}

static void bf_end(feed_bf_t *f, feed_bf_sym_t *y, bool lost)
{
    feed_handler_t *h = f->h;
    if (lost && h->rest_get) /* a trade gap row for history sinks: [from, to) is gone
                                (offline, the builder shows it from the closed connection) */
        feed_emit_make(h, TG_EV_TRADE_GAP, y->instr, 0, 0, 0, y->from - 1, y->to, 0,
                       tg_clock_realtime_ns(), tg_clock_mono_ns(), TG_EVF_LAST);
    if (lost)
        feed_logf(h, FEED_LOG_ERROR,
                  "%s %s: trade backfill given up: ids %llu..%llu lost (%llu trades fetched in "
                  "%u requests)",
                  h->venue->name, y->name, (unsigned long long)y->from,
                  (unsigned long long)(y->to - 1), (unsigned long long)y->got, y->reqs);
    else
        feed_logf(h, FEED_LOG_INFO,
                  "%s %s: trade backfill ids %llu..%llu: %llu trades in %u requests",
                  h->venue->name, y->name, (unsigned long long)y->first,
                  (unsigned long long)(y->to - 1), (unsigned long long)y->got, y->reqs);
    y->active = false;
    y->from = y->to = 0;
}

/* ns since the epoch as ISO 8601 with 9 decimals (log lines). */
const char *feed_bf_iso(int64_t ns, char *buf, size_t cap)
{
    time_t sec = (time_t)(ns / 1000000000);
    struct tm tm;
    if (ns < 0 || !gmtime_r(&sec, &tm)) {
        snprintf(buf, cap, "%lld ns", (long long)ns);
        return buf;
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)(ns % 1000000000));
    return buf;
}

/* Time mode: fetch [from, to] now. */
static void bf_start_ts(feed_bf_sym_t *y, int64_t from, int64_t to)
{
    y->first_ts = y->from_ts = from;
    y->to_ts = to;
    y->skip = 0;
    y->got = 0;
    y->reqs = 0;
    y->tries = 0;
    y->active = true;
}

/* Time mode: the range ends; lost: [from_ts, to_ts] given up (a trade gap with those bounds). */
static void bf_end_ts(feed_bf_t *f, feed_bf_sym_t *y, bool lost, const char *why)
{
    feed_handler_t *h = f->h;
    char a[48], b[48];
    if (lost && h->rest_get) /* offline: no TG_EVF_REST on the STALE, the builder reports it */
        feed_bf_time_gap(h, y->instr, y->from_ts, y->to_ts, tg_clock_realtime_ns(),
                         tg_clock_mono_ns(), TG_EVF_LAST);
    if (lost)
        feed_logf(h, FEED_LOG_ERROR,
                  "%s %s: trade backfill given up (%s): trades at %s..%s lost (%llu trades "
                  "fetched in %u requests)",
                  h->venue->name, y->name, why, feed_bf_iso(y->from_ts, a, sizeof(a)),
                  feed_bf_iso(y->to_ts, b, sizeof(b)), (unsigned long long)y->got, y->reqs);
    else
        feed_logf(h, FEED_LOG_INFO,
                  "%s %s: trade backfill times %s..%s: %llu trades in %u requests", h->venue->name,
                  y->name, feed_bf_iso(y->first_ts, a, sizeof(a)),
                  feed_bf_iso(y->to_ts, b, sizeof(b)), (unsigned long long)y->got, y->reqs);
    y->active = false;
    y->from_ts = y->to_ts = 0;
    y->skip = 0;
    if (y->n_q) { /* the next range waiting, from a later reconnect */
        bf_start_ts(y, y->q_from[0], y->q_to[0]);
        y->n_q--;
        memmove(y->q_from, y->q_from + 1, y->n_q * sizeof(y->q_from[0]));
        memmove(y->q_to, y->q_to + 1, y->n_q * sizeof(y->q_to[0]));
    }
}

/* Least time between two requests: the venue's share of its published REST budget, scaled
 * by the budget the feed was configured with (`rest_weight_per_min`: half the budget, twice
 * the gap); none when configured unpaced (a local test server). */
static int64_t bf_gap(const feed_bf_t *f)
{
    int64_t gap = f->ops->gap_ns ? f->ops->gap_ns : FEED_BF_GAP_NS;
    uint32_t cfg = f->h->rest_wpm_cfg, pub = f->h->venue->rest_weight_per_min;
    if (cfg == UINT32_MAX)
        return 0;
    if (cfg && pub && cfg != pub)
        gap = gap * (int64_t)pub / (int64_t)cfg;
    return gap;
}

/* Send the next page request if one is due. */
static void bf_pump(feed_bf_t *f, int64_t now)
{
    feed_handler_t *h = f->h;
    int64_t gap = bf_gap(f);
    if (f->inflight || (f->last_req && now - f->last_req < gap))
        return;
    for (uint32_t k = 0; k < f->n_sym; k++) {
        uint32_t s = (f->next + k) % f->n_sym;
        feed_bf_sym_t *y = feed_bf_sym(f, s);
        if (!y->active)
            continue;
        if (!h->rest_get) {
            TG_STAT_INC(h->stats->backfill_failures);
            if (f->ops->path_ts)
                bf_end_ts(f, y, true, "no REST client");
            else
                bf_end(f, y, true);
            continue;
        }
        char path[256];
        int pl;
        if (f->ops->path_ts) {
            pl = f->ops->path_ts(f->v, s, y->from_ts, y->to_ts, y->skip, f->ops->page, path,
                                 sizeof(path));
        } else {
            uint64_t n = y->to - y->from;
            pl = f->ops->path(f->v, s, y->from, n < FEED_BF_PAGE ? n : FEED_BF_PAGE, path,
                              sizeof(path));
        }
        if (pl < 0 || (size_t)pl >= sizeof(path) ||
            h->rest_get(h->tctx, path, ((uint64_t)f->gen << 32) | FEED_BF_TAG | s) < 0)
            return; /* queue full: the tick tries again */
        TG_STAT_INC(h->stats->backfill_requests);
        y->reqs++;
        f->inflight = true;
        f->last_req = now;
        f->next = (s + 1) % f->n_sym;
        return;
    }
}

void feed_bf_open(feed_bf_t *f, uint32_t gen, uint8_t resume_kind)
{
    f->gen = gen;
    f->inflight = false; /* the previous connection's answer is dropped by its tag */
    for (uint32_t i = 0; i < f->n_sym; i++) {
        feed_bf_sym_t *y = feed_bf_sym(f, i);
        y->fresh = true;
        const tg_instr_t *in = tg_instr_reg_get(f->h->reg, y->instr);
        if (!f->ops->path_ts && !y->last_tid && in &&
            in->resume_trade_id) { /* start-up: after the last stored */
            y->last_tid = in->resume_trade_id;
            y->kind = resume_kind; /* the id kind this venue's trade stream carries */
            feed_logf(f->h, FEED_LOG_INFO,
                      "%s %s: resuming trades after the last stored id %llu (trade backfill)",
                      f->h->venue->name, y->name, (unsigned long long)y->last_tid);
        }
        if (f->ops->path_ts && !y->last_ts && in && in->resume_ts > 0) {
            /* start-up: from the newest stored trade's time on (inclusive: the trades at that
               time come again and are dropped by their ids) */
            char iso[48];
            y->last_ts = in->resume_ts;
            feed_logf(f->h, FEED_LOG_INFO,
                      "%s %s: resuming trades from the last stored time %s (trade backfill)",
                      f->h->venue->name, y->name, feed_bf_iso(y->last_ts, iso, sizeof(iso)));
        }
    }
}

void feed_bf_trade(feed_bf_t *f, uint32_t s, uint64_t id, uint8_t kind, bool inclusive, int64_t now)
{
    feed_bf_sym_t *y = feed_bf_sym(f, s);
    if (y->fresh) {
        y->fresh = false;
        uint64_t to = inclusive ? id + 1 : id;
        if (y->last_tid && kind == y->kind && to > y->last_tid + 1) {
            uint64_t from = y->last_tid + 1;
            if (!y->active) {
                y->first = from;
                y->got = 0;
                y->reqs = 0;
            } else if (y->from < from) {
                from = y->from; /* merge with the range still being fetched */
            }
            y->from = from;
            y->to = to;
            y->tries = 0;
            y->active = true;
        }
    }
    if (kind != y->kind || id > y->last_tid) {
        y->last_tid = id;
        y->kind = kind;
    }
    if (y->active)
        bf_pump(f, now);
}

void feed_bf_trade_ts(feed_bf_t *f, uint32_t s, int64_t ts, int64_t now)
{
    feed_bf_sym_t *y = feed_bf_sym(f, s);
    if (y->fresh) {
        y->fresh = false;
        /* none seen yet: since the collection's first trade, on a later connection */
        int64_t lo = y->last_ts ? y->last_ts : f->gen > 1 ? f->t0_ts : 0;
        if (lo && ts >= lo && !y->active) {
            bf_start_ts(y, lo, ts);
        } else if (lo && ts >= lo && y->n_q < FEED_BF_QUEUE) { /* behind the one fetched */
            y->q_from[y->n_q] = lo;
            y->q_to[y->n_q++] = ts;
        } else if (lo && ts >= lo) { /* queue full: the last one widens (still covering) */
            y->q_to[y->n_q - 1] = ts;
        }
    }
    if (ts > y->last_ts)
        y->last_ts = ts;
    if (!f->t0_ts)
        f->t0_ts = ts;
    if (y->active)
        bf_pump(f, now);
}

void feed_bf_tick(feed_bf_t *f, int64_t now)
{
    bf_pump(f, now);
}

static int bf_cmp_id(const void *a, const void *b)
{
    uint64_t x = ((const feed_bf_trade_t *)a)->id, y = ((const feed_bf_trade_t *)b)->id;
    return (x > y) - (x < y);
}

static int bf_cmp_ts(const void *a, const void *b)
{
    const feed_bf_trade_t *x = a, *y = b;
    if (x->ts_ns != y->ts_ns)
        return (x->ts_ns > y->ts_ns) - (x->ts_ns < y->ts_ns);
    return (x->id > y->id) - (x->id < y->id);
}

/* Time mode: a page of n trades (parsed) for the range of y. */
static void bf_page_ts(feed_bf_t *f, feed_bf_sym_t *y, feed_bf_trade_t *tr, uint32_t n,
                       int64_t ts_recv, int64_t ts_mono)
{
    feed_handler_t *h = f->h;
    /* oldest first, as the live trades came; trades of one time in the venue's order (a page
       newest first is reversed), sorted only when neither order holds */
    bool asc = true, desc = true;
    for (uint32_t i = 1; i < n; i++) {
        asc &= tr[i - 1].ts_ns <= tr[i].ts_ns;
        desc &= tr[i - 1].ts_ns >= tr[i].ts_ns;
    }
    if (!asc && desc) {
        for (uint32_t i = 0; i < n / 2; i++) {
            feed_bf_trade_t x = tr[i];
            tr[i] = tr[n - 1 - i];
            tr[n - 1 - i] = x;
        }
    } else if (!asc) {
        qsort(tr, n, sizeof(tr[0]), bf_cmp_ts);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (tr[i].ts_ns < y->from_ts || tr[i].ts_ns > y->to_ts)
            continue;
        feed_emit_make(h, TG_EV_TRADE, y->instr, tr[i].side, tr[i].px, tr[i].qty, tr[i].seq,
                       tr[i].id, tr[i].ts_ns, ts_recv, ts_mono, TG_EVF_LAST | TG_EVF_REST);
        TG_STAT_INC(h->stats->backfill_trades);
        y->got++;
    }
    uint32_t page = f->ops->page;
    if (f->ops
            ->last_n) { /* the newest page trades: what is older than the oldest is out of reach */
        if (n >= page && tr[0].ts_ns > y->from_ts) {
            TG_STAT_INC(h->stats->backfill_failures);
            if (tr[0].ts_ns < y->to_ts)
                y->to_ts = tr[0].ts_ns;
            bf_end_ts(f, y, true, "older than the venue's newest trades");
        } else {
            bf_end_ts(f, y, false, NULL);
        }
        return;
    }
    int64_t top = n ? tr[n - 1].ts_ns : 0;
    if (n < page || top > y->to_ts) { /* short page: nothing more in the range */
        bf_end_ts(f, y, false, NULL);
        return;
    }
    if (top > y->from_ts) { /* next page from the newest time, its trades there left out */
        uint32_t at = 0;
        for (uint32_t i = n; i > 0 && tr[i - 1].ts_ns == top; i--)
            at++;
        y->from_ts = top;
        y->skip = f->ops->skip_ok ? at : 0;
    } else if (f->ops->skip_ok) { /* a full page at one time: the offset moves on */
        y->skip += n;
    } else { /* no progress possible: a counted, logged gap rather than a loop */
        TG_STAT_INC(h->stats->backfill_failures);
        bf_end_ts(f, y, true, "more trades at one time than a page");
    }
}

int feed_bf_rest(feed_bf_t *f, uint32_t s, int status, const char *body, size_t len,
                 int64_t ts_recv, int64_t ts_mono)
{
    feed_handler_t *h = f->h;
    feed_bf_sym_t *y = feed_bf_sym(f, s);
    feed_bf_trade_t tr[FEED_BF_PAGE];
    uint32_t n = 0;
    int rc = status == 200 ? f->ops->parse(f->v, s, body, len, tr, FEED_BF_PAGE, &n) : TG_EPROTO;
    if (rc == TG_ERESCALE)
        return rc; /* parsed again by the transport; nothing changed */
    f->inflight = false;
    TG_STAT_INC(h->stats->frames);
    TG_STAT_ADD(h->stats->bytes, len);
    if (rc < 0) {
        if (status != 200 && status)
            feed_venue_error(h, body, len); /* 429/418 rate limits, venue error codes, ... */
        else if (status != 200)
            TG_STAT_INC(h->stats->err_venue);
        else
            feed_count_error(h->stats, rc);
        TG_STAT_INC(h->stats->backfill_failures);
        feed_log_frame(h, f->log_rl, ts_mono, FEED_LOG_WARN, "trade backfill request failed", rc,
                       body, len);
        if (y->active && ++y->tries >= FEED_BF_TRIES) {
            if (f->ops->path_ts)
                bf_end_ts(f, y, true, "requests failed");
            else
                bf_end(f, y, true);
        }
        bf_pump(f, ts_mono);
        return rc;
    }
    TG_STAT_INC(h->stats->handled);
    if (!y->active)
        return 0;
    y->tries = 0;
    if (f->ops->path_ts) {
        bf_page_ts(f, y, tr, n, ts_recv, ts_mono);
        bf_pump(f, ts_mono);
        return 0;
    }
    qsort(tr, n, sizeof(tr[0]), bf_cmp_id); /* ascending: the builder narrows its hole in order */
    uint64_t top = n ? tr[n - 1].id : 0;
    for (uint32_t i = 0; i < n; i++) {
        if (tr[i].id < y->from || tr[i].id >= y->to)
            continue;
        feed_emit_make(h, TG_EV_TRADE, y->instr, tr[i].side, tr[i].px, tr[i].qty, tr[i].seq,
                       tr[i].id, tr[i].ts_ns, ts_recv, ts_mono, TG_EVF_LAST | TG_EVF_REST);
        TG_STAT_INC(h->stats->backfill_trades);
        y->got++;
    }
    if (n == 0 || top + 1 >= y->to || top < y->from)
        bf_end(f, y, false);
    else
        y->from = top + 1;
    bf_pump(f, ts_mono);
    return 0;
}

int feed_bf_on_rest(feed_bf_t *f, uint64_t tag, int status, const char *body, size_t len,
                    int64_t ts_recv, int64_t ts_mono)
{
    uint32_t lo = (uint32_t)tag, s = lo & ~FEED_BF_TAG;
    if ((uint32_t)(tag >> 32) != f->gen || !(lo & FEED_BF_TAG) || s >= f->n_sym)
        return 0;
    return feed_bf_rest(f, s, status, body, len, ts_recv, ts_mono);
}

/* SPDX-License-Identifier: MIT */
/*
 * The builder: events in, books and candles inside, output records out (see book_builder.h).
 *
 * DESIGN
 * Producers: one feed thread per input ring (tg_event_t). Consumer: the book thread, which
 * takes at most cfg.batch events from each ring in turn (round-robin, so a flooding venue
 * cannot starve the others) with zero-copy peek/release, applies them, then runs the timers.
 * When every ring is empty it sleeps on one tg_waiter attached to all of them, with a timeout
 * at the next timer due (rate-limited snapshot, interval snapshot, forming candle, candle
 * close), capped at 100 ms.
 *
 * Messages: the events of one exchange message are contiguous in one ring and the last one
 * carries TG_EVF_LAST. Each source (ring) keeps the list of instruments touched since its last
 * LAST; at LAST every one of them ends its message: truncate to depth_limit, verify the
 * checksum, detect a crossed book, update state/generation/seq, publish at most one BOOK
 * record. So a message touching several symbols (BitMEX) is handled too.
 *
 * Output: records go to every sink whose kinds match, in the order produced; per sink the
 * order is therefore exchange order per instrument. Full ring: a lossless sink waits (spin,
 * then 50 us sleeps; one stall counted per wait); a lossy sink drops book snapshots and
 * forming candles at once and other kinds after ~1 ms, counting each drop.
 *
 * Shutdown: stop() sets the worker's stop flag (tg_worker.h: WK_R1/WK_A1) and wakes the
 * thread; it drains every ring until empty (the producers have stopped), ends open messages,
 * flushes pending snapshots and forming candles. The thread is a tg_worker named "book";
 * the synchronous API asserts (debug builds) that its caller owns the builder: the creator
 * while stopped, the book thread while started.
 *
 * Invariants: a BOOK record with state VALID is produced only for a book whose last snapshot
 * and every message since passed the checksum and crossed checks. Nothing on the per-event
 * path allocates except the first event of an instrument (its book) and a book outgrowing
 * its largest depth so far.
 * Thread: book.
 */
#include "book_builder_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book_tgap.h"
#include "tg_clock.h"
#include "tg_dec.h"
#include "tg_log.h"
#include "tg_worker.h"

void book_builder_cfg_defaults(book_builder_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    book_candle_cfg_defaults(&c->candles);
    c->top_n = 10;
    c->book_min_gap_ns = 10 * TG_NS_PER_MS;
    c->book_interval_ns = TG_NS_PER_SEC;
    c->forming_min_gap_ns = 250 * TG_NS_PER_MS;
    c->candle_grace_ns = 2 * TG_NS_PER_SEC;
    c->candle_dedup_window = BOOK_CANDLE_DEDUP_DEFAULT;
    c->batch = 256;
    c->spin_ns = BB_SPIN_NS;
    c->measure_latency = true;
    c->wall_clock_candles = true;
}

int book_builder_create(book_builder_t **out, const book_builder_cfg_t *cfg)
{
    if (!out || !cfg || !cfg->reg || cfg->n_in > BOOK_BUILDER_IN_MAX ||
        cfg->n_sinks > BOOK_BUILDER_SINKS_MAX || cfg->top_n < 1 ||
        cfg->top_n > BOOK_OUT_DEPTH_MAX || cfg->candles.n_intervals > BOOK_CANDLE_IV_MAX)
        return -EINVAL;
    for (uint32_t i = 0; i < cfg->n_sinks; i++)
        if (!cfg->sinks[i].ring == !cfg->sinks[i].fn)
            return -EINVAL;
    for (uint32_t i = 0; i < cfg->n_in; i++)
        if (!cfg->in[i])
            return -EINVAL;
    /* calloc, not aligned_alloc + memset: the ~800 KB of per-instrument arrays come as fresh
       zero pages, touched only for the instruments used (an offline run of a small recording
       paid ~2 ms of page faults for them: docs/BENCHMARKS.md "Offline books, third pass") */
    void *mem = calloc(1, sizeof(book_builder_t) + 63);
    if (!mem)
        return -ENOMEM;
    book_builder_t *b = (book_builder_t *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    b->mem = mem;
    b->cfg = *cfg;
    if (!b->cfg.batch)
        b->cfg.batch = 256;
    b->next_due = INT64_MAX;
    b->now_mono = INT64_MIN;
    tg_waiter_init(&b->waiter);
    for (uint32_t i = 0; i < cfg->n_in; i++)
        tg_ring_set_waiter(cfg->in[i], &b->waiter);
    tg_worker_cfg_t wc = {
        .name = "book", .main = book_builder__main, .arg = b, .waiter = &b->waiter};
    int rc = tg_worker_init(&b->wk, &wc);
    if (rc < 0) {
        free(mem);
        return rc;
    }
    *out = b;
    return 0;
}

void book_builder_destroy(book_builder_t **pb)
{
    if (!pb || !*pb)
        return;
    book_builder_t *b = *pb;
    book_builder_stop(b);
    for (uint32_t i = 0; i < b->n_active; i++) {
        bb_instr_t *x = b->ins[b->active[i]];
        book_l2_destroy(&x->book);
        book_candle_dedup_deinit(&x->dedup);
        free(x->tgap.holes);
        free(x);
    }
    free(b->mem);
    *pb = NULL;
}

const book_l2_t *book_builder_book(const book_builder_t *b, uint32_t instr)
{
    return instr < TG_INSTR_MAX && b->ins[instr] ? b->ins[instr]->book : NULL;
}

const book_candles_t *book_builder_candles(const book_builder_t *b, uint32_t instr)
{
    return instr < TG_INSTR_MAX && b->ins[instr] ? &b->ins[instr]->candles : NULL;
}

const book_builder_stats_t *book_builder_stats(const book_builder_t *b)
{
    return &b->st;
}

/* ---- output ---------------------------------------------------------------------------- */

static void sleep_ns(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

static inline bool sink_try(const book_sink_cfg_t *s, const book_out_t *rec)
{
    return s->fn ? s->fn(s->ctx, rec) >= 0 : tg_ring_spsc_push(s->ring, rec);
}

/* Hand rec to every sink subscribed to `kind` (a BOOK_SINK_* bit). Stamps the hand-off time
 * (ts_out) and, in thread mode, records receive -> pushed by latency class. */
/* Push rec to every sink taking `kind`; with lossless_only, to the lossless ones only (a
 * re-delivered trade: PostgreSQL keeps one row per key, subscribers get each trade once). */
static void emit_to(book_builder_t *b, book_out_t *rec, uint32_t kind, bool lossless_only)
{
    if (b->in_timer)
        rec->flags |= BOOK_OUT_F_TIMER;
    rec->ts_out = b->live ? tg_clock_mono_ns() : rec->ts_mono;
    if (b->live && b->cfg.measure_latency && rec->ts_mono > 0)
        tg_hist_add(&b->st.lat_out[book_out_lat_kind(rec)], rec->ts_out - rec->ts_mono);
    for (uint32_t i = 0; i < b->cfg.n_sinks; i++) {
        const book_sink_cfg_t *s = &b->cfg.sinks[i];
        if (!(s->kinds & kind) || (lossless_only && !s->lossless))
            continue;
        if (sink_try(s, rec))
            continue;
        if (!s->lossless &&
            (kind & (BOOK_SINK_BOOK_CHANGE | BOOK_SINK_BOOK_INTERVAL | BOOK_SINK_CANDLE_FORMING))) {
            TG_STAT_INC(b->st.out_drops); /* superseded by the next snapshot anyway */
            continue;
        }
        /* wait: spin a little, then sleep in 50 us steps */
        TG_STAT_INC(b->st.out_stalls);
        int64_t t0 = tg_clock_mono_ns();
        bool ok = false;
        for (int spin = 0; spin < 2000 && !ok; spin++) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            ok = sink_try(s, rec);
        }
        for (int n = 0; !ok; n++) {
            if (!s->lossless && n >= 20) /* ~1 ms */
                break;
            sleep_ns(50000);
            ok = sink_try(s, rec);
        }
        TG_STAT_ADD(b->st.out_stall_ns, tg_clock_mono_ns() - t0);
        if (!ok)
            TG_STAT_INC(b->st.out_drops);
    }
}

static void emit(book_builder_t *b, book_out_t *rec, uint32_t kind)
{
    emit_to(b, rec, kind, false);
}

static void out_head(book_out_t *o, uint8_t kind, const bb_instr_t *x)
{
    o->kind = kind;
    o->px_scale = x->px;
    o->sz_scale = x->sz;
    o->flags = BOOK_OUT_F_SCALED;
    o->instr = x->in->id;
    o->ts_exch = x->msg_exch;
    o->ts_recv = x->msg_recv;
    o->ts_mono = x->msg_mono;
}

static void publish_book(book_builder_t *b, bb_instr_t *x, uint8_t reason)
{
    book_out_t o;
    out_head(&o, BOOK_OUT_BOOK, x);
    book_out_book_t *bk = &o.u.book;
    uint32_t n = b->cfg.top_n;
    bk->seq = book_l2_last_seq(x->book);
    bk->generation = book_l2_generation(x->book);
    bk->state = (uint8_t)book_l2_state(x->book);
    bk->reason = reason;
    bk->n_bids = (uint8_t)book_l2_top(x->book, TG_SIDE_BID, bk->bids, n);
    bk->n_asks = (uint8_t)book_l2_top(x->book, TG_SIDE_ASK, bk->asks, n);
    bk->depth_bids = (uint32_t)book_l2_depth(x->book, TG_SIDE_BID);
    bk->depth_asks = (uint32_t)book_l2_depth(x->book, TG_SIDE_ASK);
    bool same = bk->state == x->pub_state && bk->generation == x->pub_gen &&
                bk->n_bids == x->n_pub_bids && bk->n_asks == x->n_pub_asks &&
                !memcmp(bk->bids, x->pub_bids, sizeof(tg_level_t) * bk->n_bids) &&
                !memcmp(bk->asks, x->pub_asks, sizeof(tg_level_t) * bk->n_asks);
    /* The book changes only through messages: no message since the last INTERVAL/STATE record
       (what PostgreSQL receives) means this interval record would repeat that row. */
    bk->repeat = reason == BOOK_OUT_R_INTERVAL && x->msg_mono == x->store_msg_mono;
    if (reason == BOOK_OUT_R_CHANGE && same) {
        TG_STAT_INC(b->st.books_unchanged); /* a change below the top-N */
        x->pub_dirty = 0;
        return;
    }
    memset(bk->bids + bk->n_bids, 0, sizeof(tg_level_t) * (BOOK_OUT_DEPTH_MAX - bk->n_bids));
    memset(bk->asks + bk->n_asks, 0, sizeof(tg_level_t) * (BOOK_OUT_DEPTH_MAX - bk->n_asks));
    uint32_t kind = reason == BOOK_OUT_R_CHANGE     ? BOOK_SINK_BOOK_CHANGE
                    : reason == BOOK_OUT_R_INTERVAL ? BOOK_SINK_BOOK_INTERVAL
                                                    : BOOK_SINK_BOOK_STATE;
    emit(b, &o, kind);
    TG_STAT_INC(b->st.books_out);
    x->pub_state = bk->state;
    x->pub_gen = bk->generation;
    if (reason != BOOK_OUT_R_CHANGE)
        x->store_msg_mono = x->msg_mono;
    x->n_pub_bids = bk->n_bids;
    x->n_pub_asks = bk->n_asks;
    memcpy(x->pub_bids, bk->bids, sizeof(tg_level_t) * bk->n_bids);
    memcpy(x->pub_asks, bk->asks, sizeof(tg_level_t) * bk->n_asks);
    if (reason != BOOK_OUT_R_INTERVAL) {
        x->pub_dirty = 0;
        x->last_pub_mono = x->msg_mono;
        x->defer_since = 0;
    }
}

/* A gap record of x: at the current message's time unless ts_exch/ts_recv are given; cls:
 * BOOK_SINK_GAP, or BOOK_SINK_TRADE_GAP for trade gaps (history sinks only). */
static void gap_record(book_builder_t *b, bb_instr_t *x, uint8_t reason, uint64_t seq_last,
                       uint64_t seq_got, int64_t ts_exch, int64_t ts_recv, uint32_t cls)
{
    book_out_t o;
    out_head(&o, BOOK_OUT_GAP, x);
    if (ts_exch || ts_recv) {
        o.ts_exch = ts_exch;
        o.ts_recv = ts_recv;
    }
    memset(&o.u.gap, 0, sizeof(o.u.gap));
    o.u.gap.seq_last = seq_last;
    o.u.gap.seq_got = seq_got;
    o.u.gap.generation = book_l2_generation(x->book);
    o.u.gap.state = (uint8_t)book_l2_state(x->book);
    o.u.gap.reason = reason;
    emit(b, &o, cls);
    TG_STAT_INC(b->st.gaps);
}

static void publish_gap(book_builder_t *b, bb_instr_t *x, uint8_t reason, uint64_t seq_last,
                        uint64_t seq_got)
{
    gap_record(b, x, reason, seq_last, seq_got, 0, 0, BOOK_SINK_GAP);
}

/* A trade gap (book_tgap.h) of b->cur: for history sinks, never the book's state. Where the
 * venue's trade ids are not consecutive, bounds given (a feed's TG_EV_TRADE_GAP) are times:
 * BOOK_GAP_TRADES_TIME, so that no reader takes them for ids. */
static void publish_trade_gap(void *ctx, uint64_t last, uint64_t got, int64_t ts_exch,
                              int64_t ts_recv)
{
    book_builder_t *b = ctx;
    uint8_t reason =
        !b->cur->in->trade_ids_seq && (last || got) ? BOOK_GAP_TRADES_TIME : BOOK_GAP_TRADES;
    gap_record(b, b->cur, reason, last, got, ts_exch, ts_recv, BOOK_SINK_TRADE_GAP);
    TG_STAT_INC(b->st.trade_gaps);
}

/* Candle callback: a candle of b->cur closed. */
static void on_candle_closed(void *ctx, const book_out_candle_t *c)
{
    book_builder_t *b = ctx;
    book_out_t o;
    out_head(&o, BOOK_OUT_CANDLE, b->cur);
    o.u.candle = *c;
    emit(b, &o, BOOK_SINK_CANDLE_CLOSED);
    TG_STAT_INC(b->st.candles_closed);
    if (c->revision)
        TG_STAT_INC(b->st.candle_revisions);
}

static void publish_forming(book_builder_t *b, bb_instr_t *x, uint32_t i)
{
    book_out_t o;
    out_head(&o, BOOK_OUT_CANDLE, x);
    /* held back by forming_min_gap_ns (due after the trade that dirtied it): a deliberate
       delay, its own figure; else published in the round of that trade */
    int64_t since = x->forming_since[i];
    bool held = since && x->forming_pub_mono[i] + b->cfg.forming_min_gap_ns > since;
    if (held && b->live)
        tg_hist_add(&b->st.forming_defer, b->now_mono - since);
    x->forming_since[i] = 0;
    bool was_timer = b->in_timer;
    b->in_timer = held || (was_timer && !since); /* !since: a flush, not a trade */
    if (book_candles_forming(&x->candles, i, &o.u.candle)) {
        emit(b, &o, BOOK_SINK_CANDLE_FORMING);
        TG_STAT_INC(b->st.candles_forming);
    }
    b->in_timer = was_timer;
    x->candles.dirty &= ~(1u << i);
    x->forming_pub_mono[i] = b->now_mono;
}

static bool want_forming(const book_builder_t *b)
{
    for (uint32_t i = 0; i < b->cfg.n_sinks; i++)
        if (b->cfg.sinks[i].kinds & BOOK_SINK_CANDLE_FORMING)
            return true;
    return false;
}

/* ---- state changes --------------------------------------------------------------------- */

static void set_due(book_builder_t *b, int64_t t)
{
    if (t < b->next_due)
        b->next_due = t;
}

/* A fault found after a whole message: the book must not be published as valid. */
static void fault(book_builder_t *b, bb_instr_t *x, uint8_t reason)
{
    book_state_t was = book_l2_state(x->book);
    book_l2_set_state(x->book, BOOK_STATE_RESYNCING);
    publish_gap(b, x, reason, book_l2_last_seq(x->book), x->msg_seq);
    if (reason == BOOK_GAP_CHECKSUM || reason == BOOK_GAP_CROSSED || reason == BOOK_GAP_BADEVENT) {
        if (b->cfg.resync)
            tg_resync_request(b->cfg.resync, x->in->id);
        TG_STAT_INC(b->st.resyncs);
    }
    if (was != BOOK_STATE_RESYNCING || x->pub_state != BOOK_STATE_RESYNCING)
        publish_book(b, x, BOOK_OUT_R_STATE);
    tg_logf(b->cfg.log, b->cfg.lctx, TG_LOG_WARN,
            "book %s %s: fault %s at seq %llu (generation %llu)", x->in->venue, x->in->symbol,
            reason == BOOK_GAP_CHECKSUM  ? "checksum mismatch"
            : reason == BOOK_GAP_CROSSED ? "crossed book"
                                         : "bad event",
            (unsigned long long)x->msg_seq, (unsigned long long)book_l2_generation(x->book));
}

/* End of an exchange message for instrument x. */
static void end_message(book_builder_t *b, bb_instr_t *x)
{
    x->open = 0;
    TG_STAT_INC(b->st.messages);
    if (x->msg_exch > 0) { /* book times close candles only after the grace period */
        b->cur = x;
        book_candles_advance(&x->candles, x->msg_exch - b->cfg.candle_grace_ns, on_candle_closed,
                             b);
    }
    if (!x->touched && !x->ck_pending && !x->bad)
        return;
    book_l2_t *bk = x->book;
    book_state_t st = book_l2_state(bk);
    bool checkable = st == BOOK_STATE_VALID || x->snap;
    if (x->in->depth_limit)
        book_l2_truncate(bk, x->in->depth_limit);
    if (x->touched && x->msg_seq)
        book_l2_set_last_seq(bk, x->msg_seq);
    uint8_t why = 0;
    if (x->bad) {
        why = BOOK_GAP_BADEVENT;
    } else if (checkable && x->ck_pending && x->in->checksum) {
        uint32_t got = x->in->checksum(bk, &x->ck_in, &x->ck);
        if (got == (uint32_t)x->ck.u.checksum) {
            TG_STAT_INC(b->st.checksum_ok);
        } else {
            TG_STAT_INC(b->st.checksum_fail);
            why = BOOK_GAP_CHECKSUM;
        }
    } else if (x->ck_pending) {
        TG_STAT_INC(b->st.checksum_skipped);
    }
    if (!why && checkable && book_l2_crossed(bk)) {
        TG_STAT_INC(b->st.crossed);
        why = BOOK_GAP_CROSSED;
    }
    bool snap = x->snap;
    x->touched = x->snap = x->ck_pending = x->bad = 0;
    if (why) {
        fault(b, x, why);
        return;
    }
    if (snap) {
        book_l2_set_state(bk, BOOK_STATE_VALID);
        book_l2_bump_generation(bk);
        TG_STAT_INC(b->st.snapshots);
        publish_gap(b, x, BOOK_GAP_RESYNCED, book_l2_last_seq(bk), x->msg_seq);
        publish_book(b, x, BOOK_OUT_R_STATE);
        return;
    }
    if (st != BOOK_STATE_VALID)
        return; /* an invalid book is not published on change */
    x->pub_dirty = 1;
    int64_t due = x->last_pub_mono + b->cfg.book_min_gap_ns;
    if (x->msg_mono >= due || x->last_pub_mono == 0) {
        publish_book(b, x, BOOK_OUT_R_CHANGE);
    } else {
        if (!x->defer_since) /* a deliberate delay starts: measured as its own figure */
            x->defer_since = x->msg_mono;
        set_due(b, due);
    }
}

static void end_source(book_builder_t *b, bb_src_t *s)
{
    for (uint32_t i = 0; i < s->n_open; i++)
        end_message(b, b->ins[s->open[i]]);
    s->n_open = 0;
}

static bb_instr_t *instr_get(book_builder_t *b, uint32_t id)
{
    if (id < TG_INSTR_MAX && b->ins[id])
        return b->ins[id];
    const tg_instr_t *in = tg_instr_reg_get(b->cfg.reg, id);
    if (!in)
        return NULL;
    /* first event of an instrument: warm-up. Candles for the configured intervals only */
    bb_instr_t *x = calloc(1, bb_instr_size(b->cfg.candles.n_intervals));
    if (!x)
        return NULL;
    if (book_l2_create(&x->book, in->depth_limit ? in->depth_limit + 8 : 0) < 0) {
        free(x);
        return NULL;
    }
    x->in = in;
    x->px = (int8_t)in->px_scale;
    x->sz = (int8_t)in->sz_scale;
    x->ck_in = *in;
    x->pub_state = 0xff;
    book_tgap_init(&x->tgap, in->trade_ids_seq);
    book_candles_init(&x->candles, &b->cfg.candles);
    if (book_candle_dedup_init(&x->dedup, b->cfg.candle_dedup_window) < 0)
        tg_logf(b->cfg.log, b->cfg.lctx, TG_LOG_ERROR,
                "book %s %s: no memory for the trade dedup window: candles "
                "count re-delivered trades again",
                in->venue, in->symbol);
    b->ins[id] = x;
    b->active[b->n_active++] = id;
    if (b->cfg.book_interval_ns > 0)
        set_due(b, INT64_MIN + 1); /* schedule its interval snapshots */
    return x;
}

static void state_event(book_builder_t *b, bb_instr_t *x, const tg_event_t *ev)
{
    book_state_t was = book_l2_state(x->book);
    uint8_t reason;
    if (ev->kind == TG_EV_STALE) {
        book_l2_set_state(x->book, BOOK_STATE_STALE);
        reason = BOOK_GAP_STALE;
    } else if (ev->flags & TG_EVF_FAULT) {
        book_l2_set_state(x->book, BOOK_STATE_FAULT);
        reason = BOOK_GAP_FAULT;
        TG_STAT_INC(b->st.faults);
    } else {
        book_l2_set_state(x->book, BOOK_STATE_RESYNCING);
        reason = (ev->flags & TG_EVF_CKFAIL)   ? BOOK_GAP_CHECKSUM
                 : (ev->flags & TG_EVF_RESYNC) ? BOOK_GAP_RECONNECT
                                               : BOOK_GAP_SEQUENCE;
    }
    x->msg_exch = ev->ts_exch;
    x->msg_recv = ev->ts_recv;
    x->msg_mono = ev->ts_mono;
    publish_gap(b, x, reason, ev->kind == TG_EV_GAP ? ev->seq : book_l2_last_seq(x->book),
                ev->kind == TG_EV_GAP ? ev->u.aux : 0);
    if (was != book_l2_state(x->book))
        publish_book(b, x, BOOK_OUT_R_STATE);
}

/* ---- scales ----------------------------------------------------------------------------- */

/* A value that cannot be held at the book's scale: the book goes to FAULT (loud), its
 * instrument is asked to resync; the next snapshot that fits makes it VALID again. */
static void scale_fault(book_builder_t *b, bb_instr_t *x, const tg_event_t *e)
{
    TG_STAT_INC(b->st.faults);
    x->touched = x->snap = x->ck_pending = 0;
    book_state_t was = book_l2_state(x->book);
    book_l2_set_state(x->book, BOOK_STATE_FAULT);
    x->msg_exch = e->ts_exch;
    x->msg_recv = e->ts_recv;
    x->msg_mono = e->ts_mono;
    publish_gap(b, x, BOOK_GAP_FAULT, book_l2_last_seq(x->book), e->seq);
    if (was != BOOK_STATE_FAULT)
        publish_book(b, x, BOOK_OUT_R_STATE);
    /* No resync request: the same values would fault again (a reconnect loop that also cost
     * the connection's other books, found by the e2e test on HTX); the next snapshot whose
     * values fit makes the book VALID again. */
    if (was != BOOK_STATE_FAULT)
        tg_logf(
            b->cfg.log, b->cfg.lctx, TG_LOG_ERROR,
            "book %s %s: value %lld at %u/%u places does not fit the book's scales %d/%d: FAULT",
            x->in->venue, x->in->symbol, (long long)e->price, (unsigned)e->px_scale,
            (unsigned)e->sz_scale, x->px, x->sz);
}

/* Bring e's price and size to the instrument's scales, raising them (book, candles, the
 * published top) when e has more places. @return 0 or -ERANGE. */
static int to_book_scale(book_builder_t *b, bb_instr_t *x, const tg_event_t *e, int64_t *px,
                         int64_t *sz)
{
    int ep = (int)e->px_scale, es = (int)e->sz_scale;
    if (ep > TG_DEC_SCALE_MAX || es > TG_DEC_SCALE_MAX)
        return -ERANGE;
    int up_p = ep > x->px ? ep - x->px : 0, up_s = es > x->sz ? es - x->sz : 0;
    if (up_p || up_s) {
        if (book_l2_rescale(x->book, up_p, up_s) < 0)
            return -ERANGE;
        if (book_candles_rescale(&x->candles, up_p, up_s) < 0) {
            book_l2_rescale(x->book, 0, 0);
            return -ERANGE;
        }
        x->px = (int8_t)(x->px + up_p);
        x->sz = (int8_t)(x->sz + up_s);
        x->ck_in.px_scale = x->px;
        x->ck_in.sz_scale = x->sz;
        x->n_pub_bids = x->n_pub_asks = 0; /* the next top differs: publish it */
        TG_STAT_INC(b->st.rescales);
        tg_logf(b->cfg.log, b->cfg.lctx, TG_LOG_INFO, "book %s %s: scales raised to %d/%d places",
                x->in->venue, x->in->symbol, x->px, x->sz);
    }
    if (ep < x->px && tg_dec_rescale(*px, ep, x->px, px) < 0)
        return -ERANGE;
    if (es < x->sz && tg_dec_rescale(*sz, es, x->sz, sz) < 0)
        return -ERANGE;
    return 0;
}

/* ---- event path ------------------------------------------------------------------------ */

void book_builder__apply_events(book_builder_t *b, uint32_t si, const tg_event_t *ev, size_t n)
{
    bb_src_t *s = &b->src[si];
    for (size_t k = 0; k < n; k++) {
        const tg_event_t *e = &ev[k];
        bb_instr_t *x = instr_get(b, e->instr);
        TG_STAT_INC(b->st.events);
        if (!x) {
            TG_STAT_INC(b->st.bad_events);
            if (e->flags & TG_EVF_LAST)
                end_source(b, s);
            continue;
        }
        if (!x->open) {
            if (s->n_open == BB_OPEN_MAX)
                end_source(b, s); /* more instruments than any venue puts in one message */
            x->open = 1;
            x->msg_seq = 0;
            s->open[s->n_open++] = e->instr;
        }
        x->msg_exch = e->ts_exch;
        x->msg_recv = e->ts_recv;
        x->msg_mono = e->ts_mono;
        /* a trade older than the candle clock (re-delivered, backfilled) says nothing about
           the venue's time now: it does not move the wall clock's mapping back */
        if (e->ts_exch && (e->kind != TG_EV_TRADE || e->ts_exch >= x->candles.clock)) {
            x->clk_exch = e->ts_exch;
            x->clk_recv = e->ts_recv;
        }
        if (e->seq > x->msg_seq)
            x->msg_seq = e->seq;
        int64_t px = e->price, sz = e->size;
        bool own_scale = false; /* a trade kept at its own scales (it fits no common one) */
        if ((e->kind == TG_EV_LEVEL || e->kind == TG_EV_TRADE) && (e->flags & TG_EVF_SCALED) &&
            to_book_scale(b, x, e, &px, &sz) < 0) {
            if (e->kind == TG_EV_TRADE) {
                /* A trade is never lost to its book's scale: its record carries the event's own
                 * scales (exact); only the candles, which need one scale, skip it (counted). */
                px = e->price;
                sz = e->size;
                own_scale = true;
                TG_STAT_INC(b->st.faults);
            } else {
                scale_fault(b, x, e);
                if (e->flags & TG_EVF_LAST)
                    end_source(b, s);
                continue;
            }
        }
        switch (e->kind) {
        case TG_EV_LEVEL: {
            TG_STAT_INC(b->st.ev_level);
            int rc = book_l2_set(x->book, (tg_side_t)e->side, px, sz);
            x->touched = 1;
            if (rc == BOOK_L2_MISSING) {
                TG_STAT_INC(b->st.missing_deletes);
            } else if (rc < 0) {
                TG_STAT_INC(b->st.bad_events);
                x->bad = 1;
            }
            break;
        }
        case TG_EV_TRADE: {
            TG_STAT_INC(b->st.ev_trade);
            b->cur = x;
            book_tgap_trade(&x->tgap, e->u.trade_id, e->ts_exch, e->ts_recv, publish_trade_gap, b);
            int64_t ts = e->ts_exch ? e->ts_exch : e->ts_recv;
            if (ts >= x->candles.clock) { /* the candle clock's source, for the wall tick */
                x->clk_exch = ts;
                x->clk_recv = e->ts_recv;
            }
            uint32_t was_dirty = x->candles.dirty;
            /* candles take each unique trade once (PostgreSQL's key): a re-delivery is a
               trade record again for the lossless sinks (the table keeps one row), not for the
               lossy ones (Redis, shared memory: subscribers get each trade once) and not a
               second candle trade */
            int dk = book_candle_dedup_check(&x->dedup, e->u.trade_id, ts);
            if (dk == BOOK_DEDUP_DUP) {
                TG_STAT_INC(b->st.dup_trades);
            } else if (dk == BOOK_DEDUP_UNKNOWN) {
                TG_STAT_INC(b->st.dedup_unknown);
                if (!x->dedup_warned++)
                    tg_logf(b->cfg.log, b->cfg.lctx, TG_LOG_WARN,
                            "book %s %s: trade %llu at %lld is older than the dedup window "
                            "(%u trades): left out of the candles (counted in dedup_unknown)",
                            x->in->venue, x->in->symbol, (unsigned long long)e->u.trade_id,
                            (long long)ts, x->dedup.max);
            } else if (!own_scale &&
                       book_candles_trade(&x->candles, ts, px, sz, e->side, on_candle_closed, b)) {
                TG_STAT_INC(b->st.late_trades);
            }
            if (x->candles.rev_dirty)
                set_due(b, x->msg_mono); /* revised closed candles: emitted by the timers */
            for (uint32_t k = 0, nd = x->candles.dirty & ~was_dirty; nd; k++, nd >>= 1)
                if (nd & 1)
                    x->forming_since[k] = x->msg_mono;
            book_out_t o;
            out_head(&o, BOOK_OUT_TRADE, x);
            if (own_scale) {
                o.px_scale = (int8_t)e->px_scale;
                o.sz_scale = (int8_t)e->sz_scale;
            }
            memset(&o.u.trade, 0, sizeof(o.u.trade));
            o.u.trade.price = px;
            o.u.trade.size = sz;
            o.u.trade.trade_id = e->u.trade_id;
            o.u.trade.seq = e->seq;
            o.u.trade.side = e->side;
            emit_to(b, &o, BOOK_SINK_TRADE, dk == BOOK_DEDUP_DUP);
            TG_STAT_INC(b->st.trades_out);
            if (x->candles.dirty)
                set_due(b, x->msg_mono); /* forming candles: checked by the timers */
            break;
        }
        case TG_EV_BOOK_CLEAR:
            TG_STAT_INC(b->st.ev_clear);
            book_l2_clear(x->book);
            x->touched = 1;
            x->snap = 1;
            break;
        case TG_EV_CHECKSUM:
            TG_STAT_INC(b->st.ev_checksum);
            x->ck = *e;
            x->ck_pending = 1;
            break;
        case TG_EV_GAP:
            TG_STAT_INC(b->st.ev_gap);
            x->touched = x->snap = x->ck_pending = 0;
            state_event(b, x, e);
            break;
        case TG_EV_STALE:
            TG_STAT_INC(b->st.ev_stale);
            x->touched = x->snap = x->ck_pending = 0;
            if (e->flags & TG_EVF_CLOSED)
                book_tgap_closed(&x->tgap, (e->flags & TG_EVF_REST) != 0);
            state_event(b, x, e);
            break;
        case TG_EV_TRADE_GAP:
            b->cur = x;
            book_tgap_given_up(&x->tgap, e->seq, e->u.aux, publish_trade_gap, b);
            break;
        case TG_EV_END:
            TG_STAT_INC(b->st.ev_end);
            break;
        default:
            TG_STAT_INC(b->st.bad_events);
            break;
        }
        if (e->flags & TG_EVF_LAST) {
            if (e->ts_exch && x->in->venue_id < TG_VENUE_MAX)
                tg_hist_add(&b->st.exch_lat[x->in->venue_id], e->ts_recv - e->ts_exch);
            end_source(b, s);
            if (b->live && b->cfg.measure_latency)
                tg_hist_add(&b->st.lat_pop, b->pop_mono - e->ts_mono);
            if (b->cfg.measure_latency && b->n_lat < sizeof(b->lat_mono) / sizeof(int64_t))
                b->lat_mono[b->n_lat++] = e->ts_mono;
        }
    }
}

/* ---- timers ---------------------------------------------------------------------------- */

void book_builder__run_timers(book_builder_t *b, int64_t now, int64_t now_real, bool force)
{
    b->now_mono = now;
    if (!force && now < b->next_due && now_real <= 0)
        return;
    int64_t next = INT64_MAX;
    bool forming = want_forming(b);
    b->in_timer = true;
    uint64_t valid = 0, faulted = 0, levels = 0, bytes = 0;
    bool census = now_real > 0 || force; /* the wall tick (100 ms) counts levels and memory */
    for (uint32_t i = 0; i < b->n_active; i++) {
        bb_instr_t *x = b->ins[b->active[i]];
        valid += book_l2_state(x->book) == BOOK_STATE_VALID;
        faulted += book_l2_state(x->book) == BOOK_STATE_FAULT;
        if (census) {
            levels += book_l2_depth(x->book, TG_SIDE_BID) + book_l2_depth(x->book, TG_SIDE_ASK);
            bytes += book_l2_mem_bytes(x->book);
        }
        if (now_real > 0 && x->clk_exch) {
            /* The wall clock advances the instrument's exchange clock by the time elapsed since
             * its last timed message, not to its own value: with exchange times far from ours
             * (a replayed recording, a venue clock off by more than the grace) every candle was
             * closed right after its first trade, or a clock moved to today by a tick before
             * the first timed message (REST snapshot first) made every trade late (found by
             * the end-to-end test). Live, clk_exch - clk_recv is the small latency, so quiet
             * instruments still close on time. */
            int64_t t = x->clk_exch + (now_real - x->clk_recv);
            b->cur = x;
            book_candles_advance(&x->candles, t - b->cfg.candle_grace_ns, on_candle_closed, b);
        }
        if (x->candles.rev_dirty) { /* once per round, however many late trades it took */
            b->cur = x;
            book_candles_flush_revisions(&x->candles, on_candle_closed, b);
        }
        if (x->pub_dirty) {
            int64_t due = x->last_pub_mono + b->cfg.book_min_gap_ns;
            if (force || now >= due) {
                if (x->defer_since && b->live)
                    tg_hist_add(&b->st.book_defer, now - x->defer_since);
                if (book_l2_state(x->book) == BOOK_STATE_VALID)
                    publish_book(b, x, BOOK_OUT_R_CHANGE);
                x->pub_dirty = 0;
                x->defer_since = 0;
            } else if (due < next) {
                next = due;
            }
        }
        if (b->cfg.book_interval_ns > 0 && !force) {
            int64_t due = x->last_interval_mono + b->cfg.book_interval_ns;
            if (now >= due) {
                /* books that were never valid (trade-only instruments) have nothing to show */
                if (x->last_interval_mono && book_l2_generation(x->book) > 0)
                    publish_book(b, x, BOOK_OUT_R_INTERVAL);
                x->last_interval_mono = now;
                due = now + b->cfg.book_interval_ns;
            }
            if (due < next)
                next = due;
        }
        if (forming && x->candles.dirty) {
            for (uint32_t k = 0; k < x->candles.n; k++) {
                if (!(x->candles.dirty & (1u << k)))
                    continue;
                int64_t due = x->forming_pub_mono[k] + b->cfg.forming_min_gap_ns;
                if (force || now >= due)
                    publish_forming(b, x, k);
                else if (due < next)
                    next = due;
            }
        } else if (!forming) {
            x->candles.dirty = 0;
        }
    }
    b->in_timer = false;
    b->next_due = next;
    TG_STAT_SET(b->st.books_valid, valid);
    TG_STAT_SET(b->st.books_total, b->n_active);
    TG_STAT_SET(b->st.books_fault, faulted);
    if (census) {
        TG_STAT_SET(b->st.book_levels, levels);
        TG_STAT_SET(b->st.book_bytes, bytes);
    }
}

void book_builder_apply(book_builder_t *b, const tg_event_t *ev, size_t n)
{
    TG_ASSERT_OWNER(&b->wk);
    if (!n)
        return;
    book_builder__apply_events(b, BOOK_BUILDER_IN_MAX, ev, n);
    b->n_lat = 0; /* recorded times are not this process' clock */
    int64_t now = ev[n - 1].ts_mono > b->now_mono ? ev[n - 1].ts_mono : b->now_mono;
    book_builder__run_timers(b, now, 0, false);
}

void book_builder_tick(book_builder_t *b, int64_t now_mono, int64_t now_real)
{
    TG_ASSERT_OWNER(&b->wk);
    book_builder__run_timers(b, now_mono, now_real, false);
}

void book_builder_flush(book_builder_t *b)
{
    TG_ASSERT_OWNER(&b->wk);
    for (uint32_t i = 0; i <= BOOK_BUILDER_IN_MAX; i++)
        end_source(b, &b->src[i]);
    book_builder__run_timers(b, b->now_mono, 0, true);
}

void book_builder__finish_gaps(book_builder_t *b)
{
    b->now_mono = tg_clock_mono_ns();
    for (uint32_t k = 0; k < b->n_active; k++) {
        b->cur = b->ins[b->active[k]];
        book_tgap_finish(&b->cur->tgap, publish_trade_gap, b);
    }
}

bool book_builder_scales(const book_builder_t *b, uint32_t id, int *px, int *sz)
{
    if (id >= TG_INSTR_MAX || !b->ins[id])
        return false;
    *px = b->ins[id]->px;
    *sz = b->ins[id]->sz;
    return true;
}

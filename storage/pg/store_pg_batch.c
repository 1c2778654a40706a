/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL writer's batch (see store_pg.c for the DESIGN): book_out_t records encoded
 * straight into per-table COPY BINARY tuple buffers, the list of UTC days a batch touches, the
 * days whose partitions are known to exist, and the move of ring records into the filling
 * batch (store_pg__take), which the loop (store_pg.c) and the commit path's overlap
 * (store_pg_copy.c) both use, and the journal append both use. This file is the bottom of the
 * writer: it calls neither store_pg.c nor store_pg_copy.c (loop -> COPY/commit -> batch, loop ->
 * batch). Thread: writer:pg.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "storage/pg/store_pg_int.h"

void store_pg__set_err(store_pg_t *w, int err, const char *what, const char *text)
{
    w->err = err;
    snprintf(w->errstr, sizeof w->errstr, "%s: %s", what, text ? text : tg_strerror(err));
    size_t l = strlen(w->errstr);
    while (l && (w->errstr[l - 1] == '\n' || w->errstr[l - 1] == ' '))
        w->errstr[--l] = 0;
}

bool store_pg__known_day(const store_pg_t *w, int64_t d)
{
    for (uint32_t i = 0; i < w->nknown; i++)
        if (w->known[i] == d)
            return true;
    return false;
}

void store_pg__add_known(store_pg_t *w, int64_t d)
{
    if (store_pg__known_day(w, d))
        return;
    if (w->nknown == KNOWN_MAX)
        w->nknown = 0;
    w->known[w->nknown++] = d;
}

/* ---- encoding ---- */

void store_pg__batch_clear(pg_batch_t *b)
{
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        b->tb[t].len = 0;
        b->trows[t] = 0;
    }
    b->rows = 0;
    b->ndays = 0;
    b->last_day = INT64_MIN;
}

static void note_day(pg_batch_t *b, int64_t ns)
{
    int64_t d = store_pg_day_of_ns(ns);
    if (d == b->last_day)
        return;
    b->last_day = d;
    for (uint32_t i = 0; i < b->ndays; i++)
        if (b->days[i] == d)
            return;
    b->days[b->ndays++] = d;
}

/* book_interval_ms: store a book snapshot when it changes the state, or when the last stored
 * one of its instrument is at least book_interval_ms old and this one says something new (not
 * a repeat, or a repeat of a state thinned since). @return 1 store it, 0 skip it. */
static int thin_book(store_pg_t *w, const book_out_t *r)
{
    int64_t now = r->ts_mono ? r->ts_mono : r->ts_recv;
    int64_t *last = &w->book_last[r->instr];
    uint8_t *dirty = &w->book_dirty[r->instr];
    bool due = !*last || now - *last >= (int64_t)w->cfg.book_interval_ms * TG_NS_PER_MS;
    if (r->u.book.reason != BOOK_OUT_R_STATE && !due) {
        *dirty |= !r->u.book.repeat;
        TG_STAT_INC(w->st.books_thinned);
        TG_STAT_INC(w->st.recs_skipped);
        return 0;
    }
    if (r->u.book.repeat && !*dirty) {
        TG_STAT_INC(w->st.recs_skipped);
        return 0;
    }
    *last = now;
    *dirty = 0;
    return 1;
}

/* Encode one record. @return 1 row added, 0 skipped, -ENOMEM. */
/* The first columns of a trade, book or gap row: the column count, instrument id, exchange (or
 * receive) time and receive time. */
static void row_head(store_pg_buf_t *b, int16_t ncols, int64_t id, int64_t ts, int64_t ts_recv)
{
    store_pg_put_i16(b, ncols);
    store_pg_put_f_i64(b, id);
    store_pg_put_f_ts(b, ts);
    store_pg_put_f_ts(b, ts_recv);
}

int store_pg__encode(store_pg_t *w, const book_out_t *r)
{
    TG_STAT_INC(w->st.recs_in);
    /* forming candles are Redis-only; a repeated interval snapshot is a row we already have */
    if (r->kind == BOOK_OUT_CANDLE && !r->u.candle.closed) {
        TG_STAT_INC(w->st.recs_skipped);
        return 0;
    }
    if (r->kind == BOOK_OUT_BOOK && w->book_last && r->instr < w->nids) {
        int rc = thin_book(w, r);
        if (rc <= 0)
            return rc;
    } else if (r->kind == BOOK_OUT_BOOK && r->u.book.repeat) {
        TG_STAT_INC(w->st.recs_skipped);
        return 0;
    }
    const tg_instr_t *in = w->cfg.reg ? tg_instr_reg_get(w->cfg.reg, r->instr) : NULL;
    if (!in || r->instr >= w->nids || r->kind < BOOK_OUT_TRADE || r->kind > BOOK_OUT_GAP) {
        TG_STAT_INC(w->st.recs_bad);
        return 0;
    }
    int64_t id = w->ids[r->instr];
    int px = BOOK_OUT_PX_SCALE(r, in), sz = BOOK_OUT_SZ_SCALE(r, in); /* book_out.h */
    int64_t ts = r->ts_exch ? r->ts_exch : r->ts_recv;
    int t = r->kind - 1;
    pg_batch_t *bt = w->cur;
    store_pg_buf_t *b = &bt->tb[t];
    size_t need = r->kind == BOOK_OUT_BOOK ? 4096 : 512;
    if (store_pg_buf_reserve(b, need) < 0)
        return -ENOMEM;
    switch (r->kind) {
    case BOOK_OUT_TRADE: {
        const book_out_trade_t *x = &r->u.trade;
        row_head(b, 8, id, ts, r->ts_recv);
        store_pg_put_f_i64(b, (int64_t)x->trade_id);
        store_pg_put_f_i64(b, (int64_t)x->seq);
        store_pg_put_f_i16(b, (int16_t)x->side);
        store_pg_put_f_numeric(b, x->price, px);
        store_pg_put_f_numeric(b, x->size, sz);
        break;
    }
    case BOOK_OUT_BOOK: {
        const book_out_book_t *x = &r->u.book;
        size_t nb = x->n_bids > BOOK_OUT_DEPTH_MAX ? BOOK_OUT_DEPTH_MAX : x->n_bids;
        size_t na = x->n_asks > BOOK_OUT_DEPTH_MAX ? BOOK_OUT_DEPTH_MAX : x->n_asks;
        row_head(b, 13, id, ts, r->ts_recv);
        store_pg_put_f_i64(b, (int64_t)x->seq);
        store_pg_put_f_i64(b, (int64_t)x->generation);
        store_pg_put_f_i16(b, x->state);
        store_pg_put_f_i16(b, x->reason);
        store_pg_put_f_i32(b, (int32_t)x->depth_bids);
        store_pg_put_f_i32(b, (int32_t)x->depth_asks);
        store_pg_put_f_numeric_array(b, &x->bids[0].price, 2, nb, px);
        store_pg_put_f_numeric_array(b, &x->bids[0].size, 2, nb, sz);
        store_pg_put_f_numeric_array(b, &x->asks[0].price, 2, na, px);
        store_pg_put_f_numeric_array(b, &x->asks[0].size, 2, na, sz);
        break;
    }
    case BOOK_OUT_CANDLE: {
        const book_out_candle_t *x = &r->u.candle;
        ts = x->start_ns;
        store_pg_put_i16(b, 16);
        store_pg_put_f_i64(b, id);
        store_pg_put_f_interval(b, x->interval_ns);
        store_pg_put_f_ts(b, x->start_ns);
        store_pg_put_f_numeric(b, x->open, px);
        store_pg_put_f_numeric(b, x->high, px);
        store_pg_put_f_numeric(b, x->low, px);
        store_pg_put_f_numeric(b, x->close, px);
        store_pg_put_f_numeric(b, x->volume, sz);
        store_pg_put_f_numeric(b, x->buy_volume, sz);
        store_pg_put_f_numeric(b, x->sell_volume, sz);
        store_pg_put_f_numeric128(b, x->notional, px + sz);
        store_pg_put_f_numeric(b, x->vwap, px);
        store_pg_put_f_i32(b, (int32_t)x->trades);
        if (x->trades) {
            store_pg_put_f_ts(b, x->first_ts);
            store_pg_put_f_ts(b, x->last_ts);
        } else {
            store_pg_put_f_null(b);
            store_pg_put_f_null(b);
        }
        store_pg_put_f_ts(b, r->ts_recv);
        break;
    }
    default: { /* BOOK_OUT_GAP */
        const book_out_gap_t *x = &r->u.gap;
        row_head(b, 8, id, ts, r->ts_recv);
        store_pg_put_f_i64(b, (int64_t)x->seq_last);
        store_pg_put_f_i64(b, (int64_t)x->seq_got);
        store_pg_put_f_i64(b, (int64_t)x->generation);
        store_pg_put_f_i16(b, x->state);
        store_pg_put_f_i16(b, x->reason);
        break;
    }
    }
    note_day(bt, ts);
    if (bt->rows == 0)
        bt->t0 = tg_clock_mono_ns();
    bt->mono[bt->rows++] = r->ts_mono;
    bt->trows[t]++;
    return 1;
}

bool store_pg__batch_full(const store_pg_t *w)
{
    return w->cur->rows >= w->cfg.batch_rows || w->cur->ndays >= DAYS_MAX - 12;
}

void store_pg__batch_view(const pg_batch_t *b, batch_view_t *v)
{
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        v->t[t].p = b->tb[t].p;
        v->t[t].len = b->tb[t].len;
        v->t[t].rows = b->trows[t];
    }
    v->days = b->days;
    v->ndays = b->ndays;
    v->rows = b->rows;
}

void store_pg__account_latency(store_pg_t *w, const pg_batch_t *b)
{
    int64_t now = tg_clock_mono_ns();
    for (uint32_t i = 0; i < b->rows; i++)
        if (b->mono[i]) /* 0: the producer did not stamp it */
            tg_hist_add(&w->st.e2e_lat, now - b->mono[i]);
}

/* ---- ring -> batch ---- */

int store_pg_push(store_pg_t *w, const book_out_t *rec)
{
    TG_ASSERT_OWNER(&w->wk);
    int rc = store_pg__encode(w, rec);
    if (rc < 0)
        return rc;
    return store_pg__batch_full(w) ? 1 : 0;
}

/* Move records from the ring into w->cur until it is full or the ring is empty. */
uint32_t store_pg__take(store_pg_t *w, bool *full)
{
    tg_ring_t *ring = w->cfg.ring;
    uint32_t done = 0;
    *full = store_pg__batch_full(w);
    while (!*full) {
        uint32_t n;
        const book_out_t *p = tg_ring_spsc_peek(ring, &n);
        if (!n)
            break;
        uint32_t k = 0;
        while (k < n && !*full) {
            int rc = store_pg_push(w, &p[k]);
            if (rc < 0) { /* out of memory: keep the record, flush what we have */
                *full = true;
                break;
            }
            *full = rc > 0;
            k++;
        }
        tg_ring_spsc_release(ring, k);
        done += k;
    }
    return done;
}

/* ---- journal append, stop cutoff, idle hook ---- */

int store_pg__spill(store_pg_t *w, const batch_view_t *v)
{
    if (!w->spill)
        return -ENOSPC;
    uint32_t hdr[2 + 2 * STORE_PG_T_COUNT];
    hdr[0] = REC_FORMAT;
    hdr[1] = v->ndays;
    for (int t = 0; t < STORE_PG_T_COUNT; t++) {
        hdr[2 + t] = v->t[t].rows;
        hdr[2 + STORE_PG_T_COUNT + t] = (uint32_t)v->t[t].len;
    }
    struct iovec iov[2 + STORE_PG_T_COUNT];
    iov[0] = (struct iovec){hdr, sizeof hdr};
    iov[1] = (struct iovec){(void *)v->days, v->ndays * sizeof *v->days};
    for (int t = 0; t < STORE_PG_T_COUNT; t++)
        iov[2 + t] = (struct iovec){(void *)v->t[t].p, v->t[t].len};
    int rc = store_spill_append(w->spill, iov, 2 + STORE_PG_T_COUNT);
    const store_spill_stats_t *ss = store_spill_stats(w->spill);
    TG_STAT_SET(w->st.spill_pending_records, TG_STAT_GET(ss->pending_records));
    TG_STAT_SET(w->st.spill_pending_bytes, TG_STAT_GET(ss->pending_bytes));
    if (rc < 0) {
        if (rc == -ENOSPC)
            TG_STAT_INC(w->st.spill_full);
        store_pg__set_err(w, TG_ESPILL, "spill append", tg_strerror(rc));
        return rc;
    }
    size_t bytes = sizeof hdr + iov[1].iov_len;
    for (int t = 0; t < STORE_PG_T_COUNT; t++)
        bytes += v->t[t].len;
    TG_STAT_INC(w->st.spill_batches);
    TG_STAT_ADD(w->st.spill_rows, v->rows);
    TG_STAT_ADD(w->st.spill_bytes, bytes);
    return 0;
}

bool store_pg__past_cutoff(store_pg_t *w)
{
    if (!w->stop_at) {
        /* WK_A1 (tg_worker.h): pairs with WK_R1 in store_pg_stop() -> tg_worker_stop(). */
        if (w->sync || !tg_worker_stopping(&w->wk))
            return false;
        int64_t now = tg_clock_mono_ns(), t = (int64_t)w->cfg.stop_timeout_ms * TG_NS_PER_MS;
        w->stop_at = now + t;
        w->cutoff = now + t / 2;
    }
    return tg_clock_mono_ns() >= w->cutoff;
}

int store_pg__overlap(void *arg)
{
    store_pg_t *w = arg;
    if (w->sync || !w->cfg.ring || w->held)
        return 0;
    if (store_pg__past_cutoff(w))
        return -1;
    bool full;
    uint32_t n = store_pg__take(w, &full);
    /* The filling batch is full and the ring is filling up behind it: the server is slow or
     * hung, so the journal takes the backpressure, not the builder. (A healthy server that is
     * merely busy for a moment keeps the batch in memory: no journal round trip.) */
    if (full && tg_ring_count(w->cfg.ring) >= tg_ring_capacity(w->cfg.ring) / 2) {
        batch_view_t v;
        store_pg__batch_view(w->cur, &v);
        if (store_pg__spill(w, &v) == 0)
            store_pg__batch_clear(w->cur);
    }
    return n > 0;
}

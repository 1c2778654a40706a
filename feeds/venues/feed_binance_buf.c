/* SPDX-License-Identifier: MIT */
/*
 * Binance: the diffs a symbol receives while it waits for its REST snapshot (state WAIT,
 * feed_binance.c), kept until the snapshot comes and then replayed through the sync rules.
 *
 * DESIGN
 * One pool per connection (handler): bd_cap diff headers (bn_bufdiff_t) and bl_cap level
 * pairs, in arrival order (a symbol's diffs are in its exchange order). Memory is bounded by
 * the pool whatever the number of symbols or the flood: BN_BD_CAP * 64 B + BN_BL_CAP * 16 B
 * (feed_binance.c).
 *
 * Fair when full: a new diff that does not fit evicts the oldest diffs of the symbol that
 * holds the most levels (then the most diffs), not the pool's oldest. So a quiet symbol's
 * chain is never pushed out by a busy one: a symbol is evicted only while no other holds
 * more, and every waiting symbol keeps at least its share (pool / symbols waiting). One
 * eviction frees at least 1/32 of the pool (BN_EVICT_DIV), so the compaction (a memmove of
 * the pool) runs at most once per 1/32 of the pool pushed, not on every push.
 *
 * Never silent: an evicted diff is counted (stale_dropped) and its u is remembered in the
 * symbol's evicted_u. A snapshot that this hole makes unusable (spot evicted_u > L, futures
 * evicted_u >= L: the chain from L on lost a diff) is refused and a newer one requested
 * (feed_binance.c, bn_on_snapshot), exactly like a snapshot older than the first buffered
 * diff. Eviction only ever removes a symbol's oldest diffs, so what stays is a contiguous
 * tail of its chain and the U/u checks still see every hole.
 *
 * A diff whose U is not above the symbol's last buffered or evicted u means the update ids
 * started again (never on the venue; `tickgate-replay --loop` does it): what the symbol had
 * buffered and evicted belongs to the previous run of ids and is dropped (counted), so that a
 * snapshot of the new run is judged by the new run's diffs only.
 *
 * Memory: the pool is allocated whole at start (2.5 MiB) but only what a start-up or a resync
 * used is resident. When it empties (every waiting symbol synced, or a reconnect) the pages
 * used since the last time go back to the kernel (madvise MADV_DONTNEED: they read as zero
 * when used again), so a connection whose books are all synced holds no pool memory
 * (docs/scale.md: per connection <= 2 MB is the goal).
 *
 * Thread: feed:<venue> for everything.
 */
#include "feeds/venues/feed_binance.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define BN_EVICT_DIV   32u
#define BN_RELEASE_MIN (64u << 10) /* bytes used before an empty pool is given back */

/* Give the whole pages inside [p, p + len) back to the kernel. */
static void bn_pages_release(void *p, size_t len)
{
    const uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE); /* 4 KiB, 16 or 64 KiB on arm64 */
    uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1), e = ((uintptr_t)p + len) & ~(pg - 1);
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_DONTNEED); /* advice: a failure only costs RSS */
}

/* The pool is empty: the pages used since the last release go back (when worth a syscall). */
static void bn_buf_release(feed_bn_t *b)
{
    size_t d = sizeof(*b->bd) * (size_t)b->bd_hw, l = 16 * (size_t)b->bl_hw;
    if (d + l < BN_RELEASE_MIN)
        return;
    bn_pages_release(b->bd, d);
    bn_pages_release(b->bl, l);
    b->bd_hw = b->bl_hw = 0;
}

static void bn_buf_drop(feed_bn_t *b, uint32_t i)
{
    bn_bufdiff_t *d = &b->bd[i];
    bn_sym_t *y = &b->sym[d->sym];
    y->buf_diffs--;
    y->buf_levels -= d->n_bid + d->n_ask;
    d->sym = -1;
}

void feed_binance__buf_take(feed_bn_t *b, uint32_t i)
{
    bn_buf_drop(b, i);
}

void feed_binance__buf_compact(feed_bn_t *b)
{
    uint32_t w = 0, lw = 0;
    for (uint32_t i = 0; i < b->bd_n; i++) {
        bn_bufdiff_t d = b->bd[i];
        if (d.sym < 0)
            continue;
        uint32_t nl = d.n_bid + d.n_ask;
        if (d.off != lw)
            memmove(b->bl + 2 * (size_t)lw, b->bl + 2 * (size_t)d.off, 16 * (size_t)nl);
        d.off = lw;
        lw += nl;
        b->bd[w++] = d;
    }
    b->bd_n = w;
    b->bl_n = lw;
    if (!w)
        bn_buf_release(b);
}

void feed_binance__buf_clear(feed_bn_t *b)
{
    for (uint32_t i = 0; i < b->n_sym; i++) {
        b->sym[i].buf_diffs = b->sym[i].buf_levels = 0;
        b->sym[i].evicted_u = 0;
        b->sym[i].buf_last_u = 0;
    }
    b->bd_n = 0;
    b->bl_n = 0;
    bn_buf_release(b);
}

/* Evict diff i (an eviction, not a use): counted and remembered. */
static void bn_buf_evict(feed_bn_t *b, uint32_t i)
{
    bn_sym_t *y = &b->sym[b->bd[i].sym];
    if (b->bd[i].u > y->evicted_u)
        y->evicted_u = b->bd[i].u;
    bn_buf_drop(b, i);
    TG_STAT_INC(b->h->stats->stale_dropped);
}

/* The symbol holding the most levels (then diffs), and the most any other one holds. */
static int bn_buf_victim(const feed_bn_t *b, uint64_t *second)
{
    int v = -1;
    uint64_t best = 0;
    *second = 0;
    for (uint32_t i = 0; i < b->n_sym; i++) {
        const bn_sym_t *y = &b->sym[i];
        if (!y->buf_diffs)
            continue;
        uint64_t k = ((uint64_t)y->buf_levels << 32) | y->buf_diffs;
        if (v < 0 || k > best) {
            if (v >= 0)
                *second = best;
            v = (int)i;
            best = k;
        } else if (k > *second) {
            *second = k;
        }
    }
    return v;
}

/* Free room for a diff of nl levels (and at least 1/BN_EVICT_DIV of the pool), evicting
 * from the largest holder first. */
static void bn_buf_make_room(feed_bn_t *b, uint32_t nl)
{
    uint32_t want_lv = nl > b->bl_cap / BN_EVICT_DIV ? nl : b->bl_cap / BN_EVICT_DIV;
    uint32_t want_d = b->bd_cap / BN_EVICT_DIV ? b->bd_cap / BN_EVICT_DIV : 1;
    uint32_t free_lv = b->bl_cap - b->bl_n, free_d = b->bd_cap - b->bd_n;
    while (free_lv < want_lv || free_d < want_d) {
        uint64_t second;
        int v = bn_buf_victim(b, &second);
        if (v < 0)
            break;
        bn_sym_t *y = &b->sym[v];
        /* its oldest diffs, until enough is free or it no longer holds the most */
        for (uint32_t i = 0; i < b->bd_n; i++) {
            if (b->bd[i].sym != v)
                continue;
            free_lv += b->bd[i].n_bid + b->bd[i].n_ask;
            free_d++;
            bn_buf_evict(b, i);
            if ((free_lv >= want_lv && free_d >= want_d) ||
                (((uint64_t)y->buf_levels << 32) | y->buf_diffs) < second)
                break;
        }
    }
    feed_binance__buf_compact(b);
}

void feed_binance__buf_push(feed_bn_t *b, int s, const bn_msg_t *m, int64_t ts_recv,
                            int64_t ts_mono)
{
    feed_stats_t *st = b->h->stats;
    bn_sym_t *y = &b->sym[s];
    uint32_t nl = m->n_bid + m->n_ask;
    if ((y->buf_diffs && m->U <= y->buf_last_u) || (y->evicted_u && m->U <= y->evicted_u)) {
        /* the ids started again: the previous run's diffs and holes do not apply */
        bool any = false;
        for (uint32_t i = 0; i < b->bd_n; i++)
            if (b->bd[i].sym == s) {
                bn_buf_drop(b, i);
                TG_STAT_INC(st->stale_dropped);
                any = true;
            }
        if (any)
            feed_binance__buf_compact(b);
        y->evicted_u = 0;
    }
    y->buf_last_u = m->u;
    if (nl > b->bl_cap / 2) {
        /* larger than any fair share: dropped, and with it this symbol's older diffs (the
         * chain has a hole now); a snapshot older than it will be refused */
        for (uint32_t i = 0; i < b->bd_n; i++)
            if (b->bd[i].sym == s)
                bn_buf_evict(b, i);
        feed_binance__buf_compact(b);
        if (m->u > y->evicted_u)
            y->evicted_u = m->u;
        TG_STAT_INC(st->stale_dropped);
        return;
    }
    if (b->bd_n == b->bd_cap || b->bl_cap - b->bl_n < nl)
        bn_buf_make_room(b, nl);
    bn_bufdiff_t *d = &b->bd[b->bd_n++];
    d->sym = s;
    d->off = b->bl_n;
    d->n_bid = m->n_bid;
    d->n_ask = m->n_ask;
    d->U = m->U;
    d->u = m->u;
    d->pu = m->pu;
    d->ts_ms = m->ts_ms;
    /* the levels stay at the scales they were decoded at; events carry them (feed_stamp) */
    d->px_scale = (int8_t)feed_px_scale(b->h, y->instr);
    d->sz_scale = (int8_t)feed_sz_scale(b->h, y->instr);
    d->ts_recv = ts_recv;
    d->ts_mono = ts_mono;
    memcpy(b->bl + 2 * (size_t)b->bl_n, m->bid, 16 * (size_t)m->n_bid);
    memcpy(b->bl + 2 * ((size_t)b->bl_n + m->n_bid), m->ask, 16 * (size_t)m->n_ask);
    b->bl_n += nl;
    if (b->bl_n > b->bl_hw)
        b->bl_hw = b->bl_n;
    if (b->bd_n > b->bd_hw)
        b->bd_hw = b->bd_n;
    y->buf_diffs++;
    y->buf_levels += nl;
    TG_STAT_INC(st->buffered);
}

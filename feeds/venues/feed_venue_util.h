/* SPDX-License-Identifier: MIT */
/*
 * Parsing helpers several venue handlers share (feeds/venues/): ISO-8601 UTC timestamps
 * (Coinbase, Coinbase Advanced, BitMEX) and the [["price","size"],...] level arrays of a book
 * message (Bitstamp, Kraken, HTX, KuCoin). Pure functions of their input (no handler state
 * besides the scales feed_dec() may raise). Thread: feed:<venue>.
 */
#ifndef FEED_VENUE_UTIL_H
#define FEED_VENUE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeds/feed_jtok.h"

/** "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" (UTC, years 1970..2261) -> ns since the epoch in *out,
 *  exactly. empty_frac: a '.' with no digits after it ("...:18.Z") is accepted (BitMEX), else
 *  it is TG_EFIELD. @return 0 or TG_EFIELD. */
int feed_iso_ns(const char *s, size_t n, bool empty_frac, int64_t *out);

/** A level array being walked (feed_levels): the frame's tokens, the instrument and side of
 *  its levels, and the venue's own context. */
typedef struct feed_lvls {
    const char *js;
    const jsmntok_t *t;
    int n;
    uint32_t instr;
    uint8_t side;
    void *ctx;
} feed_lvls_t;

/** Store entry k of the array as the venue's level i (its side a->side). @return 0 or an
 *  error (*bad may name the failing token). */
typedef int (*feed_lvl_fn)(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, int *bad);

/** Walk the level array at token arr: each entry an array of at least min elements (min 0:
 *  an object) is handed to put as level *nl, which then counts up. *bad = the token of a
 *  failure. @return 0; TG_EFIELD (arr not an array, an entry of another shape, or more than
 *  cap levels) or put's error. */
static inline int feed_levels(feed_handler_t *h, const feed_lvls_t *a, int arr, int min, size_t cap,
                              size_t *nl, int *bad, feed_lvl_fn put);

/** feed_levels() of the bids array (TG_SIDE_BID), then the asks array (TG_SIDE_ASK); an
 *  index < 0 is an absent array (nothing to walk). @return 0 or the first error. */
static inline int feed_book_levels(feed_handler_t *h, const feed_lvls_t *a, int bids, int asks,
                                   int min, size_t cap, size_t *nl, int *bad, feed_lvl_fn put);

/** feed_book_levels() with the asks array walked first (OKX, Bitget: their checksums and
 *  scratch order). */
static inline int feed_book_levels_asks_first(feed_handler_t *h, const feed_lvls_t *a, int bids,
                                              int asks, int min, size_t cap, size_t *nl, int *bad,
                                              feed_lvl_fn put);

/** Message of a resubscribe step for instrument in (symbol sym of the venue's table): op is
 *  "unsubscribe", then "subscribe". @return its length (snprintf's). */
typedef int (*feed_resub_fmt_fn)(feed_handler_t *h, const void *sym, const tg_instr_t *in,
                                 const char *op, char *msg, size_t cap);

/** Unsubscribe, then subscribe again, the book of instrument instr (the venue answers with a
 *  new snapshot): the two messages fmt builds (at most 256 bytes) are sent; when a send fails
 *  the transport reconnects (why). Nothing for an unknown instrument or a name not fit for
 *  JSON.  Thread: feed:<venue>. */
void feed_resubscribe(feed_handler_t *h, const void *sym, uint32_t instr, feed_resub_fmt_fn fmt,
                      const char *why);

/** Resync of symbol sym of a venue's table (it starts with its uint32_t instrument id, as the
 *  entries of a feed_vspec_t symbol table do) by resubscribing its book: counted in resyncs,
 *  then feed_resubscribe(). The caller has set the symbol's sync state back.
 *  Thread: feed:<venue>. */
void feed_resync_resubscribe(feed_handler_t *h, const void *sym, feed_resub_fmt_fn fmt,
                             const char *why);

/** Resync of one symbol of a venue's table (sym: its entry) by resubscribing its book. */
typedef void (*feed_resub_sym_fn)(feed_handler_t *h, void *sym);

/** on_tick of a venue that subscribes under a per-second message budget (*sends_left) and
 *  resyncs a book by resubscribing it: the budget back to per_s; every symbol the builder asked
 *  to resync (feed_resync_next) goes through resub, two messages off the budget; then more()
 *  sends the subscribes still due, and if it fails the transport reconnects (why).
 *  Thread: feed:<venue>. */
void feed_resub_tick(feed_handler_t *h, uint32_t *sends_left, uint32_t per_s,
                     feed_resub_sym_fn resub, int (*more)(feed_handler_t *h), const char *why,
                     int64_t now_mono);

/** on_tick of a venue that resyncs a book by resubscribing it and pings every every_ns: every
 *  symbol the builder asked to resync (feed_resync_next) goes through resub; then, every_ns
 *  after *last_ping, the text ping is sent (*last_ping = now_mono, whether the send worked or
 *  not).  Thread: feed:<venue>. */
void feed_resync_ping_tick(feed_handler_t *h, feed_resub_sym_fn resub, int64_t *last_ping,
                           int64_t every_ns, const char *ping, int64_t now_mono);

/** The symbol of a table venue's connection named by string token name (feed_vsym_find), or
 *  NULL with *rc = feed_jtok_drop() of TG_ESYMBOL: counted, logged (WARN "unknown near
 *  '<name>'", through the spec's limiter).  Thread: feed:<venue>. */
void *feed_vsym_tok(feed_handler_t *h, int64_t now, const char *js, const jsmntok_t *name,
                    const char *unknown, int *rc);

/** The "action" member of a book message at object 0 of n tokens (OKX, Bitget) into *act (-1:
 *  none): 1 "snapshot", 0 "update", dflt when there is none, -1 anything else (str: only a JSON
 *  string names an action, else a primitive of the same text does too). */
int feed_book_action(const char *js, const jsmntok_t *t, int n, int dflt, bool str, int *act);

/** The index of the symbol of a table venue's connection named by string token t (the spec's
 *  slot table): TG_EFIELD when t is no string, TG_ESYMBOL when no symbol has that name. */
int feed_vsym_index(const feed_handler_t *h, const char *js, const jsmntok_t *t);

/** Decode entry k = ["price","size",...] (two strings) at instr's scales into *px and *sz.
 *  nonzero_px: a price of 0 is TG_EDEC_SYNTAX (not a level). *bad = the failing token.
 *  @return 0, TG_EFIELD (not two strings), TG_ERESCALE or feed_dec()'s error. */
static inline int feed_level_strs(feed_handler_t *h, const feed_lvls_t *a, int k, bool nonzero_px,
                                  int64_t *px, int64_t *sz, int *bad);

/** feed_level_strs() of entry k (a price of 0 is no level; side a->side into *side) for a
 *  venue whose checksum needs the decimals of the text (OKX, Bitget): places() counts those of
 *  the price and the size, kept in *px_dp and *sz_dp (a size of 0 leaves *sz_dp) when more
 *  than before (max), else when nonzero. */
static inline int feed_level_dp(feed_handler_t *h, const feed_lvls_t *a, int k,
                                int (*places)(const char *s, size_t n), bool max, int8_t *px_dp,
                                int8_t *sz_dp, int64_t *px, int64_t *sz, uint8_t *side, int *bad);

/** feed_level_strs() of the price and size at tokens k + off and k + off + 1 of entry k (Deribit:
 *  [action, price, amount] at off 2), both of JSON type type (JSMN_STRING, JSMN_PRIMITIVE). */
static inline int feed_level_at(feed_handler_t *h, const feed_lvls_t *a, int k, int off,
                                jsmntype_t type, bool nonzero_px, int64_t *px, int64_t *sz,
                                int *bad);

/** Entry k of a trade array being walked, the nl-th trade of a scratch array of cap: an object
 *  (k < n) with every member keys[0..nk) present, whose value tokens go to idx[0..nk)
 *  (feed_jtok_getv). @return 0, or TG_EFIELD (not an object, a member missing, no room). */
static inline int feed_trade_entry(const char *js, const jsmntok_t *t, int n, int k, size_t nl,
                                   size_t cap, const char *const *keys, int *idx, int nk);

/** The most keys a trade entry of feed_trades() may ask for. */
#define FEED_TRADE_KEYS 8

/** Store entry k of a trade array (an object whose members keys[] have their value tokens at
 *  f[]) as the venue's trade i. @return 0 or an error (*bad may name the failing token). */
typedef int (*feed_trade_fn)(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, const int *f,
                             int *bad);

/** Walk the trade array at token arr (an array: the caller checks): each entry
 *  (feed_trade_entry: an object with every member of keys[0..nk), nk <= FEED_TRADE_KEYS, and
 *  room for it below cap) is handed to put as trade *nl, which then counts up. *bad = the token
 *  of a failure. @return 0, TG_EFIELD or put's error. */
static inline int feed_trades(feed_handler_t *h, const feed_lvls_t *a, int arr,
                              const char *const *keys, int nk, size_t cap, size_t *nl, int *bad,
                              feed_trade_fn put);

/* ---- the walkers, inline: the venue's put callback becomes a direct call ------------- */

static inline int feed_levels(feed_handler_t *h, const feed_lvls_t *a, int arr, int min, size_t cap,
                              size_t *nl, int *bad, feed_lvl_fn put)
{
    const jsmntok_t *t = a->t;
    jsmntype_t type = min ? JSMN_ARRAY : JSMN_OBJECT;
    *bad = arr;
    if (t[arr].type != JSMN_ARRAY)
        return TG_EFIELD;
    int k = arr + 1;
    for (int m = 0; m < t[arr].size; m++) {
        *bad = k;
        if (k + min >= a->n || t[k].type != type || t[k].size < min || *nl >= cap)
            return TG_EFIELD;
        int rc = put(h, a, k, *nl, bad);
        if (rc < 0)
            return rc;
        (*nl)++;
        k = feed_jtok_next(t, a->n, k);
    }
    return 0;
}

/* feed_levels() of array first (side fs), then of array second (side ss); < 0: absent. */
static inline int feed_levels2_(feed_handler_t *h, const feed_lvls_t *a, int first, uint8_t fs,
                                int second, uint8_t ss, int min, size_t cap, size_t *nl, int *bad,
                                feed_lvl_fn put)
{
    feed_lvls_t side = *a;
    int rc = 0;
    side.side = fs;
    if (first >= 0 && (rc = feed_levels(h, &side, first, min, cap, nl, bad, put)) < 0)
        return rc;
    side.side = ss;
    if (second >= 0 && (rc = feed_levels(h, &side, second, min, cap, nl, bad, put)) < 0)
        return rc;
    return 0;
}

static inline int feed_book_levels(feed_handler_t *h, const feed_lvls_t *a, int bids, int asks,
                                   int min, size_t cap, size_t *nl, int *bad, feed_lvl_fn put)
{
    return feed_levels2_(h, a, bids, TG_SIDE_BID, asks, TG_SIDE_ASK, min, cap, nl, bad, put);
}

static inline int feed_book_levels_asks_first(feed_handler_t *h, const feed_lvls_t *a, int bids,
                                              int asks, int min, size_t cap, size_t *nl, int *bad,
                                              feed_lvl_fn put)
{
    return feed_levels2_(h, a, asks, TG_SIDE_ASK, bids, TG_SIDE_BID, min, cap, nl, bad, put);
}

static inline int feed_level_at(feed_handler_t *h, const feed_lvls_t *a, int k, int off,
                                jsmntype_t type, bool nonzero_px, int64_t *px, int64_t *sz,
                                int *bad)
{
    const jsmntok_t *p = &a->t[k + off], *v = &a->t[k + off + 1];
    if (p->type != type || v->type != type)
        return TG_EFIELD;
    *bad = k + off;
    int rc = feed_dec_px(h, a->instr, a->js + p->start, feed_jtok_len(p), px);
    if (rc < 0)
        return rc;
    if (nonzero_px && *px == 0)
        return TG_EDEC_SYNTAX;
    *bad = k + off + 1;
    return feed_dec_sz(h, a->instr, a->js + v->start, feed_jtok_len(v), sz);
}

static inline int feed_level_strs(feed_handler_t *h, const feed_lvls_t *a, int k, bool nonzero_px,
                                  int64_t *px, int64_t *sz, int *bad)
{
    return feed_level_at(h, a, k, 1, JSMN_STRING, nonzero_px, px, sz, bad);
}

static inline int feed_level_dp(feed_handler_t *h, const feed_lvls_t *a, int k,
                                int (*places)(const char *s, size_t n), bool max, int8_t *px_dp,
                                int8_t *sz_dp, int64_t *px, int64_t *sz, uint8_t *side, int *bad)
{
    int rc = feed_level_strs(h, a, k, true, px, sz, bad);
    if (rc < 0)
        return rc;
    const jsmntok_t *p = &a->t[k + 1], *v = &a->t[k + 2];
    int pd = places(a->js + p->start, feed_jtok_len(p));
    if (max ? pd > *px_dp : pd != 0)
        *px_dp = (int8_t)pd;
    int sd = places(a->js + v->start, feed_jtok_len(v));
    if (*sz != 0 && (max ? sd > *sz_dp : sd != 0))
        *sz_dp = (int8_t)sd;
    *side = a->side;
    return 0;
}

static inline int feed_trade_entry(const char *js, const jsmntok_t *t, int n, int k, size_t nl,
                                   size_t cap, const char *const *keys, int *idx, int nk)
{
    if (k >= n || t[k].type != JSMN_OBJECT || nl >= cap)
        return TG_EFIELD;
    feed_jtok_getv(js, t, n, k, keys, idx, nk);
    for (int i = 0; i < nk; i++)
        if (idx[i] < 0)
            return TG_EFIELD;
    return 0;
}

static inline int feed_trades(feed_handler_t *h, const feed_lvls_t *a, int arr,
                              const char *const *keys, int nk, size_t cap, size_t *nl, int *bad,
                              feed_trade_fn put)
{
    int k = arr + 1;
    for (int m = 0; m < a->t[arr].size; m++) {
        int f[FEED_TRADE_KEYS], rc;
        *bad = k;
        if ((rc = feed_trade_entry(a->js, a->t, a->n, k, *nl, cap, keys, f, nk)) < 0)
            return rc;
        if ((rc = put(h, a, k, *nl, f, bad)) < 0)
            return rc;
        (*nl)++;
        k = feed_jtok_next(a->t, a->n, k);
    }
    return 0;
}

#endif

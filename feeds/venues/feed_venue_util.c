/* SPDX-License-Identifier: MIT */
/*
 * Parsing helpers several venue handlers share (feed_venue_util.h).
 */
#include "feed_venue_util.h"

#include <stdio.h>

#include "book/tg_err.h"
#include "book/tg_event.h"

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int feed_iso_ns(const char *s, size_t n, bool empty_frac, int64_t *out)
{
    static const int pos[6] = {0, 5, 8, 11, 14, 17}, len[6] = {4, 2, 2, 2, 2, 2};
    static const char sep[6] = {'-', '-', 'T', ':', ':', 0};
    int v[6];
    if (n < 20)
        return TG_EFIELD;
    for (int i = 0; i < 6; i++) {
        int x = 0;
        for (int k = 0; k < len[i]; k++) {
            unsigned d = (unsigned)(unsigned char)s[pos[i] + k] - '0';
            if (d > 9)
                return TG_EFIELD;
            x = x * 10 + (int)d;
        }
        if (sep[i] && s[pos[i] + len[i]] != sep[i])
            return TG_EFIELD;
        v[i] = x;
    }
    /* int64 ns reach 2262-04-11 */
    if (v[0] < 1970 || v[0] > 2261 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
        v[4] > 59 || v[5] > 60)
        return TG_EFIELD;
    size_t i = 19;
    int64_t frac = 0;
    int digits = 0;
    if (s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (digits == 9)
                return TG_EFIELD;
            frac = frac * 10 + (s[i] - '0');
            digits++;
        }
        if (digits == 0 && !empty_frac)
            return TG_EFIELD;
    }
    if (i + 1 != n || s[i] != 'Z')
        return TG_EFIELD;
    for (; digits < 9; digits++)
        frac *= 10;
    int64_t days = days_from_civil(v[0], (unsigned)v[1], (unsigned)v[2]);
    *out = (((days * 24 + v[3]) * 60 + v[4]) * 60 + v[5]) * 1000000000LL + frac;
    return 0;
}

int feed_levels(feed_handler_t *h, const feed_lvls_t *a, int arr, int min, size_t cap, size_t *nl,
                int *bad, feed_lvl_fn put)
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

int feed_level_strs(feed_handler_t *h, const feed_lvls_t *a, int k, bool nonzero_px, int64_t *px,
                    int64_t *sz, int *bad)
{
    const jsmntok_t *p = &a->t[k + 1], *v = &a->t[k + 2];
    if (p->type != JSMN_STRING || v->type != JSMN_STRING)
        return TG_EFIELD;
    *bad = k + 1;
    int rc = feed_dec_px(h, a->instr, a->js + p->start, feed_jtok_len(p), px);
    if (rc < 0)
        return rc;
    if (nonzero_px && *px == 0)
        return TG_EDEC_SYNTAX;
    *bad = k + 2;
    return feed_dec_sz(h, a->instr, a->js + v->start, feed_jtok_len(v), sz);
}

int feed_book_levels(feed_handler_t *h, const feed_lvls_t *a, int bids, int asks, int min,
                     size_t cap, size_t *nl, int *bad, feed_lvl_fn put)
{
    feed_lvls_t side = *a;
    int rc = 0;
    side.side = TG_SIDE_BID;
    if (bids >= 0 && (rc = feed_levels(h, &side, bids, min, cap, nl, bad, put)) < 0)
        return rc;
    side.side = TG_SIDE_ASK;
    if (asks >= 0 && (rc = feed_levels(h, &side, asks, min, cap, nl, bad, put)) < 0)
        return rc;
    return 0;
}

void feed_resubscribe(feed_handler_t *h, const void *sym, uint32_t instr, feed_resub_fmt_fn fmt,
                      const char *why)
{
    const tg_instr_t *in = tg_instr_reg_get(h->reg, instr);
    if (!in || !feed_json_safe(in->symbol))
        return;
    char msg[256];
    int rc = 0;
    for (int k = 0; k < 2 && rc >= 0; k++) {
        int n = fmt(h, sym, in, k == 0 ? "unsubscribe" : "subscribe", msg, sizeof(msg));
        rc = feed_send(h, msg, (size_t)n);
    }
    if (rc < 0 && h->reconnect)
        h->reconnect(h->tctx, why);
}

void feed_resub_tick(feed_handler_t *h, uint32_t *sends_left, uint32_t per_s,
                     feed_resub_sym_fn resub, int (*more)(feed_handler_t *h), const char *why,
                     int64_t now_mono)
{
    *sends_left = per_s;
    for (uint32_t i = 0; feed_resync_next(h, &i, now_mono); i++) {
        resub(h, feed_vsym_at(h, i));
        *sends_left = *sends_left > 2 ? *sends_left - 2 : 0;
    }
    if (more(h) < 0 && h->reconnect)
        h->reconnect(h->tctx, why);
}

int feed_trade_entry(const char *js, const jsmntok_t *t, int n, int k, size_t nl, size_t cap,
                     const char *const *keys, int *idx, int nk)
{
    if (k >= n || t[k].type != JSMN_OBJECT || nl >= cap)
        return TG_EFIELD;
    feed_jtok_getv(js, t, n, k, keys, idx, nk);
    for (int i = 0; i < nk; i++)
        if (idx[i] < 0)
            return TG_EFIELD;
    return 0;
}

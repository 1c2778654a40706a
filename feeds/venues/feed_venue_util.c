/* SPDX-License-Identifier: MIT */
/*
 * Parsing helpers several venue handlers share (feed_venue_util.h).
 */
#include "feed_venue_util.h"

#include <stdio.h>
#include <string.h>

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

void feed_resync_resubscribe(feed_handler_t *h, const void *sym, feed_resub_fmt_fn fmt,
                             const char *why)
{
    TG_STAT_INC(h->stats->resyncs);
    feed_resubscribe(h, sym, *(const uint32_t *)sym, fmt, why);
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

void feed_resync_ping_tick(feed_handler_t *h, feed_resub_sym_fn resub, int64_t *last_ping,
                           int64_t every_ns, const char *ping, int64_t now_mono)
{
    for (uint32_t i = 0; feed_resync_next(h, &i, now_mono); i++)
        resub(h, feed_vsym_at(h, i));
    if (now_mono - *last_ping >= every_ns) {
        *last_ping = now_mono;
        feed_send(h, ping, strlen(ping));
    }
}

void *feed_vsym_tok(feed_handler_t *h, int64_t now, const char *js, const jsmntok_t *name,
                    const char *unknown, int *rc)
{
    void *s = feed_vsym_find(h, js + name->start, feed_jtok_len(name));
    if (!s)
        *rc = feed_jtok_drop(h, now, TG_ESYMBOL, unknown, js, name);
    return s;
}

int feed_book_action(const char *js, const jsmntok_t *t, int n, int dflt, bool str, int *act)
{
    int a = *act = feed_jtok_get(js, t, n, 0, "action");
    if (a < 0)
        return dflt;
    if (str ? feed_jtok_str_is(js, &t[a], "snapshot") : feed_jtok_eq(js, &t[a], "snapshot"))
        return 1;
    if (str ? feed_jtok_str_is(js, &t[a], "update") : feed_jtok_eq(js, &t[a], "update"))
        return 0;
    return -1;
}

int feed_vsym_index(const feed_handler_t *h, const char *js, const jsmntok_t *t)
{
    if (t->type != JSMN_STRING)
        return TG_EFIELD;
    const uint16_t *slot =
        *(uint16_t *const *)((const char *)h->vstate + h->venue->state->slot - 1);
    int i = feed_slot_find(h, slot, js + t->start, feed_jtok_len(t));
    return i < 0 ? TG_ESYMBOL : i;
}

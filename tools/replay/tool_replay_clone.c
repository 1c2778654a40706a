/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay serve --clone N: every instrument of a recording served as N instruments,
 * for load tests. Clone 0 keeps the recorded name, clone i >= 1 is named <symbol>_<i> in the
 * case the frame uses (BTCUSDT -> BTCUSDT_7, btcusdt@depth -> btcusdt_7@depth). Each frame is
 * sent once per clone the connection subscribed to, renamed, with the recorded ids untouched,
 * so every clone's update-id chain is the recorded one; REST snapshots of <symbol>_<i> are the
 * recorded snapshot of <symbol>. A connection's clones are the names it subscribes to: any
 * <symbol>[_<i>] followed by '@' (Binance stream names) in its URL or its messages.
 * Thread: main.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_replay_serve.h"

#define g tool_replay__srv

static bool tok_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* The recording's symbols, one at a time: *sym (cap bytes) gets the next from the comma
 * list at *p. @return false at the end. */
static bool next_symbol(const char **p, char *sym, size_t cap)
{
    while (**p == ',' || **p == ' ')
        (*p)++;
    if (!**p)
        return false;
    size_t n = 0;
    while (**p && **p != ',') {
        if (n + 1 < cap)
            sym[n++] = **p;
        (*p)++;
    }
    while (n && sym[n - 1] == ' ')
        n--;
    sym[n] = 0;
    return n > 0;
}

/* Is text[i..) the symbol (case-insensitive) as a whole token? */
static bool at_symbol(const char *text, size_t len, size_t i, const char *sym, size_t sl)
{
    if (i + sl > len || (i > 0 && tok_char(text[i - 1])))
        return false;
    return strncasecmp(text + i, sym, sl) == 0;
}

unsigned tool_replay__clone_scan(const tool_replay_rec_t *rec, const char *text, size_t len,
                                 uint8_t *want)
{
    unsigned added = 0;
    const char *p = rec->r->symbols;
    char sym[128];
    while (next_symbol(&p, sym, sizeof(sym))) {
        size_t sl = strlen(sym);
        for (size_t i = 0; i + sl <= len; i++) {
            if (!at_symbol(text, len, i, sym, sl))
                continue;
            size_t j = i + sl;
            unsigned long k = 0;
            if (j < len && text[j] == '_') {
                size_t d = ++j;
                while (j < len && isdigit((unsigned char)text[j]) && j - d < 9)
                    k = k * 10 + (unsigned long)(text[j++] - '0');
                if (j == d || k == 0)
                    continue;
            }
            if (j >= len || text[j] != '@' || k >= g.clones)
                continue;
            if (!want[k]) {
                want[k] = 1;
                added++;
            }
        }
    }
    return added;
}

size_t tool_replay__clone_frame(const tool_replay_rec_t *rec, unsigned clone, const char *in,
                                size_t len, const char **out)
{
    static char *buf;
    static size_t cap;
    *out = in;
    if (clone == 0)
        return len;
    char suf[16];
    int sn = snprintf(suf, sizeof(suf), "_%u", clone);
    size_t need = len + 1;
    /* worst case: every byte starts a symbol (one suffix per at least one byte) */
    if (cap < need + len * (size_t)sn) {
        size_t nc = need + len * (size_t)sn + 1024;
        char *nb = realloc(buf, nc);
        if (!nb)
            return 0;
        buf = nb, cap = nc;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        const char *p = rec->r->symbols;
        char sym[128];
        size_t hit = 0;
        bool start = isalnum((unsigned char)in[i]) && (i == 0 || !tok_char(in[i - 1]));
        while (start && !hit && next_symbol(&p, sym, sizeof(sym))) {
            size_t sl = strlen(sym);
            if (at_symbol(in, len, i, sym, sl) && (i + sl == len || !tok_char(in[i + sl])))
                hit = sl;
        }
        if (!hit) {
            buf[o++] = in[i++];
            continue;
        }
        memcpy(buf + o, in + i, hit);
        o += hit;
        i += hit;
        memcpy(buf + o, suf, (size_t)sn);
        o += (size_t)sn;
    }
    buf[o] = 0;
    *out = buf;
    return o;
}

void tool_replay__clone_base(char *key)
{
    if (g.clones < 2)
        return;
    char *u = strrchr(key, '_');
    if (!u || !u[1])
        return;
    unsigned long k = 0;
    for (const char *d = u + 1; *d; d++) {
        if (!isdigit((unsigned char)*d) || k > g.clones)
            return;
        k = k * 10 + (unsigned long)(*d - '0');
    }
    if (k >= 1 && k < g.clones)
        *u = 0;
}

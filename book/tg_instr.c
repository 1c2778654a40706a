/* SPDX-License-Identifier: MIT */
/*
 * Instrument registry (tg_instr.h): (venue, symbol) -> dense id, filled by the main thread
 * before the other threads start and read-only afterwards.
 *
 * DESIGN
 * Instruments live in one fixed array indexed by id. Two open-addressing hash tables
 * (linear probing, 2 * TG_INSTR_MAX slots, so the load factor stays <= 0.5) map a key to
 * id + 1 (0 = empty slot): one keyed by the exact symbol bytes, one by the ASCII-lower-cased
 * bytes for tg_instr_reg_find_nocase(). The venue id is mixed into both hashes. If two
 * symbols of one venue differ only by case, the case-insensitive table keeps the first one
 * registered. Lookups hash the probe bytes once and compare at most a few slots: no
 * allocation, no locks (the tables never change after start).
 *
 * Thread: main (create, add, destroy); any (lookups, after start).
 */
#include "tg_instr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tg_own.h"

#define REG_SLOTS (2 * TG_INSTR_MAX) /* power of two */

struct tg_instr_reg {
    uint32_t n_instr;
    uint32_t n_venue;
    char venue[TG_VENUE_MAX][TG_VENUE_NAME_MAX];
    uint32_t exact[REG_SLOTS];  /* id + 1, 0 = empty */
    uint32_t nocase[REG_SLOTS]; /* id + 1, 0 = empty */
    uint8_t sym_len[TG_INSTR_MAX];
    tg_instr_t instr[TG_INSTR_MAX];
};

static inline unsigned char reg_lower(unsigned char c)
{
    return (unsigned)(c - 'A') < 26u ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* FNV-1a over the venue id and the (optionally lower-cased) bytes, then a final mix so the
 * low bits used for the slot depend on every byte. */
static uint64_t reg_hash(int venue_id, const char *sym, size_t len, bool fold)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)(uint32_t)venue_id;
    h *= 0x100000001b3ULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)sym[i];
        h ^= fold ? reg_lower(c) : c;
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

static bool reg_eq_nocase(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (reg_lower((unsigned char)a[i]) != reg_lower((unsigned char)b[i]))
            return false;
    return true;
}

static int64_t reg_lookup(const tg_instr_reg_t *reg, const uint32_t *table, int venue_id,
                          const char *sym, size_t len, bool fold)
{
    if (!reg || venue_id < 0 || (uint32_t)venue_id >= reg->n_venue || !sym || len == 0 ||
        len >= TG_SYMBOL_MAX)
        return -1;
    size_t slot = (size_t)reg_hash(venue_id, sym, len, fold) & (REG_SLOTS - 1);
    for (;;) {
        uint32_t e = table[slot];
        if (e == 0)
            return -1;
        const tg_instr_t *in = &reg->instr[e - 1];
        if (in->venue_id == (uint16_t)venue_id && reg->sym_len[e - 1] == len &&
            (fold ? reg_eq_nocase(in->symbol, sym, len) : memcmp(in->symbol, sym, len) == 0))
            return (int64_t)(e - 1);
        slot = (slot + 1) & (REG_SLOTS - 1);
    }
}

static void reg_insert(uint32_t *table, uint64_t hash, uint32_t id)
{
    size_t slot = (size_t)hash & (REG_SLOTS - 1);
    while (table[slot] != 0)
        slot = (slot + 1) & (REG_SLOTS - 1);
    table[slot] = id + 1;
}

void tg_instr_cfg_defaults(tg_instr_cfg_t *c)
{
    if (!c)
        return;
    c->px_scale = 8;
    c->sz_scale = 8;
    c->depth_limit = 0;
    c->checksum = NULL;
    c->trade_ids_seq = false;
}

int tg_instr_reg_create(tg_instr_reg_t **out)
{
    if (!out)
        return -EINVAL;
    tg_instr_reg_t *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return -ENOMEM;
    *out = reg;
    return 0;
}

void tg_instr_reg_destroy(tg_instr_reg_t **reg)
{
    free(tg_own_take(reg));
}

int tg_instr_reg_venue_id(const tg_instr_reg_t *reg, const char *venue)
{
    if (!reg || !venue)
        return -1;
    for (uint32_t i = 0; i < reg->n_venue; i++)
        if (strcmp(reg->venue[i], venue) == 0)
            return (int)i;
    return -1;
}

int tg_instr_reg_add(tg_instr_reg_t *reg, const char *venue, const char *symbol,
                     const tg_instr_cfg_t *cfg, uint32_t *id_out)
{
    if (!reg || !venue || !symbol)
        return -EINVAL;
    size_t vlen = strlen(venue), slen = strlen(symbol);
    if (vlen == 0 || vlen >= TG_VENUE_NAME_MAX || slen == 0 || slen >= TG_SYMBOL_MAX)
        return -EINVAL;
    tg_instr_cfg_t def;
    if (!cfg) {
        tg_instr_cfg_defaults(&def);
        cfg = &def;
    }
    if (cfg->px_scale < 0 || cfg->px_scale > 18 || cfg->sz_scale < 0 || cfg->sz_scale > 18)
        return -EINVAL;

    int vid = tg_instr_reg_venue_id(reg, venue);
    if (vid >= 0) {
        int64_t id = reg_lookup(reg, reg->exact, vid, symbol, slen, false);
        if (id >= 0) {
            if (id_out)
                *id_out = (uint32_t)id;
            return 0;
        }
    } else if (reg->n_venue >= TG_VENUE_MAX) {
        return -ENOSPC;
    }
    if (reg->n_instr >= TG_INSTR_MAX)
        return -ENOSPC;
    if (vid < 0) {
        vid = (int)reg->n_venue++;
        memcpy(reg->venue[vid], venue, vlen + 1);
    }

    uint32_t id = reg->n_instr++;
    tg_instr_t *in = &reg->instr[id];
    memset(in, 0, sizeof(*in));
    in->id = id;
    in->venue_id = (uint16_t)vid;
    in->px_scale = (int8_t)cfg->px_scale;
    in->sz_scale = (int8_t)cfg->sz_scale;
    in->depth_limit = cfg->depth_limit;
    in->checksum = cfg->checksum;
    in->trade_ids_seq = cfg->trade_ids_seq;
    memcpy(in->venue, venue, vlen + 1);
    memcpy(in->symbol, symbol, slen + 1);
    reg->sym_len[id] = (uint8_t)slen;

    reg_insert(reg->exact, reg_hash(vid, symbol, slen, false), id);
    if (reg_lookup(reg, reg->nocase, vid, symbol, slen, true) < 0)
        reg_insert(reg->nocase, reg_hash(vid, symbol, slen, true), id);
    if (id_out)
        *id_out = id;
    return 0;
}

int64_t tg_instr_reg_find(const tg_instr_reg_t *reg, int venue_id, const char *sym, size_t len)
{
    return reg ? reg_lookup(reg, reg->exact, venue_id, sym, len, false) : -1;
}

int64_t tg_instr_reg_find_nocase(const tg_instr_reg_t *reg, int venue_id, const char *sym,
                                 size_t len)
{
    return reg ? reg_lookup(reg, reg->nocase, venue_id, sym, len, true) : -1;
}

const tg_instr_t *tg_instr_reg_get(const tg_instr_reg_t *reg, uint32_t id)
{
    if (!reg || id >= reg->n_instr)
        return NULL;
    return &reg->instr[id];
}

int tg_instr_reg_set_resume(tg_instr_reg_t *reg, uint32_t id, uint64_t trade_id)
{
    if (!reg || id >= reg->n_instr)
        return -EINVAL;
    reg->instr[id].resume_trade_id = trade_id;
    return 0;
}

int tg_instr_reg_set_resume_ts(tg_instr_reg_t *reg, uint32_t id, int64_t ts)
{
    if (!reg || id >= reg->n_instr || ts < 0)
        return -EINVAL;
    reg->instr[id].resume_ts = ts;
    return 0;
}

uint32_t tg_instr_reg_count(const tg_instr_reg_t *reg)
{
    return reg ? reg->n_instr : 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Instrument registry: (venue, symbol) -> small integer id, with per-instrument fixed-point
 * scales and the venue hooks the venue-agnostic builder needs (checksum function, depth limit).
 *
 * The registry is filled at start-up (from the config, or from a recording's header) and is
 * immutable once the threads start: then every thread may read it without locks.
 * Thread: main (add, before start); any (lookups, after start).
 */
#ifndef TG_INSTR_H
#define TG_INSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tg_event.h"

#define TG_INSTR_MAX                                                                               \
    65536 /* per process; arrays indexed by id are calloc'd (untouched pages cost nothing) */
#define TG_VENUE_MAX      32
#define TG_SYMBOL_MAX     48 /* bytes incl. NUL */
#define TG_VENUE_NAME_MAX 24

struct book_l2;
struct tg_instr;

/** Venue checksum over the book after a whole message was applied. `ck` is the TG_EV_CHECKSUM
 *  event the feed emitted (its price/size fields may carry venue formatting hints, e.g. the
 *  number of decimals the venue prints). Return the checksum to compare with ck->u.checksum.
 *  Thread: book. */
typedef uint32_t (*tg_checksum_fn)(const struct book_l2 *book, const struct tg_instr *in,
                                   const tg_event_t *ck);

/** One instrument. Immutable after start.  Thread: any (read-only after start). */
typedef struct tg_instr {
    uint32_t id;
    uint16_t venue_id;
    int8_t px_scale;         /* fractional digits of prices */
    int8_t sz_scale;         /* fractional digits of sizes */
    uint32_t depth_limit;    /* builder truncates each side to this many levels (0 = unlimited);
                                Kraken: the subscribed depth, before checksums */
    tg_checksum_fn checksum; /* NULL when the venue has none */
    char venue[TG_VENUE_NAME_MAX];
    char symbol[TG_SYMBOL_MAX]; /* as the venue spells it */
    uint64_t resume_trade_id;   /* last trade id already stored (a sink's, at start-up), 0: none;
                                   where the venue serves trade history, the feed backfills
                                   from the next id (tg_instr_reg_set_resume) */
    uint8_t trade_ids_seq;      /* 1: the venue's trade ids are consecutive per instrument (from
                                   feed_venue_t.trade_ids_seq): the builder tells a trade gap by
                                   id; 0: by time, with unknown id bounds (book_tgap.h) */
    int64_t resume_ts;          /* trade ids not consecutive (trade_ids_seq 0): the exchange time
                                   (ns) of the newest trade already stored (a sink's, at start-up),
                                   0: none; where the venue serves trade history by time, the
                                   feed backfills from that time on (tg_instr_reg_set_resume_ts) */
} tg_instr_t;

/** Per-instrument settings for tg_instr_reg_add(). */
typedef struct tg_instr_cfg {
    int px_scale;         /* default 8 */
    int sz_scale;         /* default 8 */
    uint32_t depth_limit; /* default 0 */
    tg_checksum_fn checksum;
    bool trade_ids_seq; /* default false (tg_instr_t.trade_ids_seq) */
} tg_instr_cfg_t;

void tg_instr_cfg_defaults(tg_instr_cfg_t *c);

typedef struct tg_instr_reg tg_instr_reg_t;

/** @return 0 or -ENOMEM.  Thread: main. */
int tg_instr_reg_create(tg_instr_reg_t **out);
void tg_instr_reg_destroy(tg_instr_reg_t **reg);

/**
 * Register (venue, symbol). Adding an existing pair returns its id and changes nothing.
 * @param id_out Written on success.
 * @return 0; -EINVAL (empty/too long names, bad scale); -ENOSPC (TG_INSTR_MAX or TG_VENUE_MAX
 *         reached).  Thread: main, before the threads start.
 */
int tg_instr_reg_add(tg_instr_reg_t *reg, const char *venue, const char *symbol,
                     const tg_instr_cfg_t *cfg, uint32_t *id_out);

/** Set an instrument's resume_trade_id (gateway start-up, from the PostgreSQL sink).
 *  @return 0 or -EINVAL.  Thread: main, before the threads start. */
int tg_instr_reg_set_resume(tg_instr_reg_t *reg, uint32_t id, uint64_t trade_id);

/** Set an instrument's resume_ts (exchange ns; gateway start-up, from the PostgreSQL sink).
 *  @return 0 or -EINVAL (no such instrument, ts < 0).  Thread: main, before the threads start. */
int tg_instr_reg_set_resume_ts(tg_instr_reg_t *reg, uint32_t id, int64_t ts);

/** Venue name -> venue id; -1 if unknown.  Thread: any. */
int tg_instr_reg_venue_id(const tg_instr_reg_t *reg, const char *venue);

/** Lookup by venue id and symbol bytes (not NUL-terminated). @return id or -1 (TG_ESYMBOL
 *  territory: the caller counts it). O(1) hash lookup, no allocation.  Thread: any. */
int64_t tg_instr_reg_find(const tg_instr_reg_t *reg, int venue_id, const char *sym, size_t len);

/** Same, but compares symbols case-insensitively (Binance stream names are lower case). */
int64_t tg_instr_reg_find_nocase(const tg_instr_reg_t *reg, int venue_id, const char *sym,
                                 size_t len);

/** Instrument by id; NULL if out of range.  Thread: any. */
const tg_instr_t *tg_instr_reg_get(const tg_instr_reg_t *reg, uint32_t id);

/** Number of instruments registered.  Thread: any. */
uint32_t tg_instr_reg_count(const tg_instr_reg_t *reg);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's tap on the builder's output: one more builder sink (a direct callback on the
 * book thread, book_sink_cfg_t.fn) that keeps, for the HTTP thread,
 *   - the latest published top-N snapshot of every book (a seqlock per instrument), for the
 *     ladder at /api/book and the list at /api/books;
 *   - gap records per feed and reason (single-writer counters, exported as
 *     tickgate_feed_book_gaps_total{feed,venue,reason}: they add up to tickgate_book_gaps_total);
 *   - the last exchange->receive offset per feed (tickgate_feed_exchange_offset_seconds);
 *   - the last 128 gap events (reason names, one per event), for /api/gaps.
 * It never refuses a record (the builder never waits or drops because of it) and costs the
 * book thread one copy of the record's book part per published snapshot.
 * Thread: main (create, register, destroy); book (gw_tap_on_record via the sink); metrics
 * (the JSON readers, and the registered gauges).
 */
#ifndef GW_TAP_H
#define GW_TAP_H

#include <stdint.h>

#include "book/book_builder.h"
#include "book/tg_instr.h"
#include "gw_config.h"
#include "gw_metrics.h"

typedef struct gw_tap gw_tap_t;

/** One feed as the tap names it.  Strings are borrowed: they must outlive the tap. */
typedef struct gw_tap_feed {
    const char *name, *venue;
    const char *const *symbols;
    uint32_t n_symbols;
} gw_tap_feed_t;

/** Create a tap over the registry (immutable from now on) and the feeds whose symbols map to
 *  its instruments. @param out Written only on success. @return 0, -EINVAL, -ENOMEM.
 *  Thread: main. */
int gw_tap_create(gw_tap_t **out, const tg_instr_reg_t *reg, const gw_tap_feed_t *feeds,
                  uint32_t n_feeds);
/** gw_tap_create() over the [feed] sections of a validated config (borrowed, must outlive
 *  the tap).  Thread: main. */
int gw_tap_create_cfg(gw_tap_t **out, const tg_instr_reg_t *reg, const gw_cfg_t *cfg);
/** Free; sets *t to NULL; NULL is a no-op. The builder must have stopped.  Thread: main. */
void gw_tap_destroy(gw_tap_t **t);

/** The builder sink that feeds the tap (fn, ctx, kinds: books and gaps; lossy).
 *  Thread: main. */
book_sink_cfg_t gw_tap_sink(gw_tap_t *t);

/** The sink callback: record one output record. @return 0 (never full).  Thread: book. */
int gw_tap_on_record(void *tap, const book_out_t *rec);

/** Register the tap's metrics (per feed: gaps by reason, exchange offset). @return 0 or
 *  -ENOMEM.  Thread: main, before the HTTP thread starts. */
int gw_tap_metrics(gw_tap_t *t, gw_metrics_t *m);

/**
 * Answer GET /api/<path>?<args> for the dashboard:
 *   books                       every instrument: feed, venue, symbol, state, best bid/ask,
 *                               age of the last snapshot;
 *   book?venue=V&symbol=S       the latest snapshot of one book (prices and sizes as exact
 *                               decimal strings);
 *   gaps                        the last gap events, newest first, with reason names.
 * @param out malloc'd JSON on success (caller frees).
 * @return its length; -ENOENT (unknown path or instrument), -EINVAL (bad args), -ENOMEM.
 * Thread: metrics (any thread but book).
 */
long gw_tap_api(const gw_tap_t *t, const char *path, const char *args, char **out);

/** Name of a BOOK_GAP_* reason ("sequence", "checksum", ... ; "other" if unknown).
 *  Thread: any. */
const char *gw_tap_gap_reason(unsigned reason);

/** Value of URL argument `name` in args ("a=1&b=x"), percent-decoded into buf.
 *  @return 1 if found, 0 if not.  Thread: any. */
int gw_tap_arg(const char *args, const char *name, char *buf, size_t cap);

#endif

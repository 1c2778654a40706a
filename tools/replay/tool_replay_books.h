/* SPDX-License-Identifier: MIT */
/*
 * `tickgate-replay books`: run a recording through its venue handler (feeds/feed_offline.h)
 * and the builder (book/book_builder.h) in-process, as fast as possible, and write the result
 * JSON in the shape of the peer oracle (../shared/peer/README.md "Result JSON"), with exact
 * decimal strings. The run API is also used by the golden tests and the benchmark.
 * Thread: the caller's.
 */
#ifndef TOOL_REPLAY_BOOKS_H
#define TOOL_REPLAY_BOOKS_H

#include <stdint.h>
#include <stdio.h>

#include "book/book_builder.h"
#include "feeds/rec/feed_offline.h"

/** Per instrument results collected from the builder's output. */
typedef struct trb_sym {
    uint64_t trades, buys, sells;
    __int128 amount;         /* sum of sizes, at sz */
    int px, sz;              /* scales of amount and bars: the builder's (book_builder_scales) */
    book_out_candle_t *bars; /* closed candles of the bar interval, in order */
    size_t n_bars, cap_bars;
    uint64_t gaps;
} trb_sym_t;

typedef struct trb_run {
    tg_instr_reg_t *reg;
    feed_offline_t *off;
    book_builder_t *bld;
    trb_sym_t *sym; /* indexed by instrument id */
    uint32_t n_sym;
    int64_t bar_ns;
    uint64_t gaps, resyncs_asked, oom;
    uint64_t faults; /* books that ended in FAULT (a value no scale could hold) */
    char file[512];
} trb_run_t;

/**
 * Run one recording to its end.
 * @param venue  NULL: from the file header.  @param bar_ns candle interval (e.g. 60 s).
 * @return 0 or a negative code (file, venue, memory); *out written only on success.
 */
int tool_replay_books_run(trb_run_t **out, const char *file, const char *venue, int64_t bar_ns);

/** Write the result JSON (top `depth` levels per side). @return 0 or -EIO. */
int tool_replay_books_write_json(const trb_run_t *r, FILE *f, uint32_t depth);

void tool_replay_books_free(trb_run_t **r);

/**
 * Is the venue known? `venue` when given, else the one named in FILE's header (only the
 * header is read). Prints "tickgate-replay: [FILE: ]unknown venue 'X' (known: a, b, ...)" to
 * stderr when not. A file that cannot be opened as tgrec passes (its reader reports it).
 * @return 0 (known, or not a tgrec file) or 2 (unknown: the exit status to use).
 * Thread: main.
 */
int tool_replay_venue_check(const char *file, const char *venue);

/** `books FILE [--depth N] [--bar 1m] [--venue V] --out result.json`; argv[0] is "books". */
int tool_replay_books_main(int argc, char **argv);

#endif

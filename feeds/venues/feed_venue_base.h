/* SPDX-License-Identifier: MIT */
/*
 * Connection callbacks that a family of venue handlers shares (feeds/venues/), driven by the
 * venue's family table (feed_venue_t.family): the venues that bridge REST snapshots with
 * buffered diffs (Gate.io, KuCoin; feeds/feed_sync.h's feed_rsync_t) subscribe, ping, resync
 * and take snapshot answers the same way and differ only in their messages.
 * Thread: feed:<venue>.
 */
#ifndef FEED_VENUE_BASE_H
#define FEED_VENUE_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feeds/feed_sync.h"

/** Bytes of the largest subscribe message of such a venue (feed_rsv_t.sub_cap). */
#define FEED_RSV_SUB_MAX 5120

/** A venue's snapshot of symbol s from the object at token obj of a body of n tokens t (the
 *  venue's token array). @return 0 or an error. */
typedef int (*feed_rsv_snap_fn)(feed_handler_t *h, feed_rsym_t *s, const char *js,
                                const jsmntok_t *t, int n, int obj, int64_t ts_recv,
                                int64_t ts_mono);

/** Replay one buffered diff message p (its events ev) of symbol s after its snapshot: >= 0
 *  (applied, or dropped as stale) or < 0 (a hole: p and the later ones stay buffered). */
typedef int (*feed_rsv_replay_fn)(feed_handler_t *h, feed_rsym_t *s, const feed_pend_msg_t *p,
                                  const tg_event_t *ev, int64_t ts_recv, int64_t ts_mono);

/** A venue that bridges REST snapshots (its feed_venue_t.family).  Thread: any (const). */
typedef struct feed_rsv {
    size_t rs;               /* FEED_VOFF of the feed_rsync_t in the venue state */
    size_t lv, lv_el;        /* FEED_VOFF of its level scratch, each entry's size (a */
                             /* struct starting with a feed_level_t) */
    feed_rsync_path_fn path; /* the REST path of a book snapshot */
    feed_rsv_snap_fn snap;   /* the parser of a snapshot (feed_rsv_snap) */
    feed_sub_msg_fn sub_msg; /* subscribe message k (feed_send_paced) */
    size_t sub_cap;          /* its buffer's size, at most FEED_RSV_SUB_MAX */
    /** Optional: on_open's step after feed_rsync_open(), before the subscribes. */
    void (*opened)(feed_handler_t *h);
    /** The application ping into msg when one is due, since_ns after the last one: its
     *  length, or 0 (none due). */
    int (*ping)(feed_handler_t *h, int64_t since_ns, char *msg, size_t cap);
} feed_rsv_t;

/** The feed_vspec_t initializer of such a venue's state type T: its jsmn tokens (tok_init up to
 *  tok_max), the feed_rsync_t field rs with its buffered diffs, the level scratch lv (one per 3
 *  tokens), the venue's other blocks (...) and a feed_rsym_t symbol table reset at open. */
#define FEED_RSV_SPEC(T, tok_init, tok_max, ...)                                                   \
    FEED_VSPEC(T, tok_init, tok_max),                                                              \
        .blocks = {FEED_PEND_BLOCKS(T, rs.pb), FEED_VSCRATCH(T, lv, 3), __VA_ARGS__},              \
        .reset = {FEED_RSYM_RESETS}

/** The state fields of a feed_rsv_t for the state type T (fields rs and lv). */
#define FEED_RSV_STATE(T)                                                                          \
    .rs = FEED_VOFF(T, rs), .lv = FEED_VOFF(T, lv), .lv_el = sizeof(*((T *)0)->lv)

/** The snapshot body at token obj (a REST answer or in-band data) for symbol sym of h's table:
 *  TG_EFIELD unless obj is an object, else the family's snap with the venue's tokens. */
int feed_rsv_snap(feed_handler_t *h, void *sym, const char *js, int n, int obj, int64_t ts_recv,
                  int64_t ts_mono);

/** A snapshot of symbol s at sequence S (exchange time ts_exch) parsed into the first nl
 *  entries of the level scratch, nothing changed yet. Unless feed_rsync_snapshot_wanted()
 *  says no, it is emitted (BOOK_CLEAR, the levels but, when skip_zero, those of price or size
 *  0, TG_EVF_SNAPSHOT | TG_EVF_REST, the end of the message; counted in snapshots), s goes to
 *  state at S, and its buffered diffs are replayed in arrival order through replay: at a hole
 *  feed_rsync_gap() keeps that one and the later ones, else they are dropped. @return 0. */
int feed_rsv_snapshot(feed_handler_t *h, feed_rsym_t *s, uint64_t S, int64_t ts_exch, size_t nl,
                      bool skip_zero, uint8_t state, feed_rsv_replay_fn replay, int64_t ts_recv,
                      int64_t ts_mono);

/** on_open: feed_rsync_open() with the family's path, opened(), then the subscribes due
 *  (feed_send_paced). @return 0 or feed_send's error. */
int feed_rsv_on_open(feed_handler_t *h);

/** on_close: feed_rsync_close(). */
void feed_rsv_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono);

/** on_tick: the subscribes still due, the ping when due (its time kept when it was sent), then
 *  feed_rsync_tick(). */
void feed_rsv_on_tick(feed_handler_t *h, int64_t now_mono);

/** on_rest: feed_rsync_rest() with the family's snapshot parser. */
int feed_rsv_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                     int64_t ts_recv, int64_t ts_mono);

/** The callbacks of such a venue whose parser is <p>_parser, family table <p>_rsv and state
 *  table <p>_spec (a feed_venue_t initializer). */
#define FEED_VENUE_RSV(p)                                                                          \
    .on_open = feed_rsv_on_open, .on_frame = feed_on_frame, .parser = &p##_parser,                 \
    .on_close = feed_rsv_on_close, .on_tick = feed_rsv_on_tick, .on_rest = feed_rsv_on_rest,       \
    .family = &p##_rsv, .state = &p##_spec

/** Append to msg (m bytes so far, cap in all) the names of symbols from, from + 1, ... (at most
 *  per of them, below n; h->instr) that ok accepts, each between q and q and separated by
 *  commas, skipping a name that would leave fewer than room bytes; then tail.
 *  @return the length, or 0 when no name went in. */
int feed_sub_list(feed_handler_t *h, char *msg, size_t cap, int m, uint32_t from, uint32_t per,
                  uint32_t n, bool (*ok)(const char *s), const char *q, size_t room,
                  const char *tail);

/* ---- venues that resync a book by resubscribing it (Coinbase Advanced, Gemini) ---- */

/** A symbol of such a venue (the entries of its feed_vspec_t symbol table). */
typedef struct feed_rsb_sym {
    uint32_t instr;
    uint8_t live; /* snapshot seen since (re)subscribe */
    uint8_t have_tid;
    uint64_t last_tid;
    const char *name;
} feed_rsb_sym_t;

/** Such a venue (its feed_venue_t.family): its paced resubscribes (feeds/feed_sync.h's
 *  feed_resub_t) and its frame parser.  Thread: any (const). */
typedef struct feed_rsb {
    size_t rsb;   /* FEED_VOFF of the feed_resub_t in the venue state */
    size_t n_sym; /* FEED_VOFF of the uint32_t symbol count (h->n_instr) */
    /* a resubscribe step: {"type":"<op>",<list> the quoted names of its symbols <tail> */
    const char *list, *tail;
    /** Frame parser: its result, unhandled when the frame was not ours (unless *acted). */
    int (*parse)(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono,
                 bool *acted);
    int unhandled;
    void (*closed)(feed_handler_t *h); /* optional: the rest of on_close */
} feed_rsb_t;

/** The state fields of a feed_rsb_t for the state type T (fields rsb and n_sym). */
#define FEED_RSB_STATE(T) .rsb = FEED_VOFF(T, rsb), .n_sym = FEED_VOFF(T, n_sym)

/** Queue a resubscribe of symbol i (not live until its new snapshot; feed_resub_want). */
void feed_rsb_want(feed_handler_t *h, uint32_t i);

/** Send one resubscribe step (op "unsubscribe" / "subscribe") for the symbols at step (every
 *  symbol: step < 0): the family's message (feed_resub_send_fn). */
int feed_rsb_send(feed_handler_t *h, const char *op, int step);

/** init: the symbol count, the resubscribe steps (feed_resub_init), the symbols' names. */
int feed_rsb_init(feed_handler_t *h);

/** on_open's first steps: resync requests rebased, no step pending, every symbol's reset fields
 *  back (feed_vreset). @return whether there are symbols to subscribe. */
bool feed_rsb_open(feed_handler_t *h);

/** on_frame: feed_resub_begin(), the parser, feed_resub_settle() through the spec's limiter. */
int feed_rsb_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                      int64_t ts_mono);

/** on_close: feed_resub_close(), no symbol live, then closed(). */
void feed_rsb_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono);

/** on_tick: each resync the builder asked for is queued (feed_rsb_want; books subscribed
 *  only), then the pending steps the window allows (feed_resub_pump). */
void feed_rsb_on_tick(feed_handler_t *h, int64_t now_mono);

/** The callbacks of such a venue whose on_open is <p>_on_open, family table <p>_rsb and state
 *  table <p>_spec, its instrument defaults d and its message budget: per_s messages a second
 *  (feed_resub_pump paces to it; a feed_venue_t initializer). */
#define FEED_VENUE_RSB(p, d, per_s)                                                                \
    .init = feed_rsb_init, .on_open = p##_on_open, .on_frame = feed_rsb_on_frame,                  \
    .on_close = feed_rsb_on_close, .on_tick = feed_rsb_on_tick, .state = &p##_spec,                \
    .family = &p##_rsb, .instr_defaults = (d), .max_sends_per_s = (per_s)

#endif

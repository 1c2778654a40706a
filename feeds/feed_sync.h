/* SPDX-License-Identifier: MIT */
/*
 * Book sync helpers. Venues that bridge a REST snapshot with a stream of diffs (Gate.io,
 * KuCoin): the bounded buffer of diffs waiting for a snapshot, the snapshot request timer,
 * answers of an earlier connection, and subscribe messages paced to the venue's send limit.
 * Venues that resync a book by resubscribing it (Coinbase Advanced, Gemini): the paced
 * unsubscribe/subscribe steps of every product waiting for a fresh snapshot.
 * Thread: feed:<venue> (a feed_pend_t belongs to one handler).
 */
#ifndef FEED_SYNC_H
#define FEED_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feeds/feed.h"

/** One buffered diff message: sequence range first..last, its events ev[at .. at + n). */
typedef struct feed_pend_msg {
    uint64_t first, last;
    int64_t ts_exch;
    uint32_t at, n;
    uint16_t slot; /* the symbol's index on the connection */
} feed_pend_msg_t;

/** Diffs waiting for a snapshot, in arrival order, shared by a connection's symbols (at most
 *  FEED_PEND_MSGS messages and FEED_PEND_EV events; m and ev are FEED_VBLOCKs of the venue
 *  state).  Thread: feed:<venue>. */
typedef struct feed_pend {
    feed_pend_msg_t *m;
    tg_event_t *ev;
    uint32_t n_m, n_ev;
} feed_pend_t;

#define FEED_PEND_MSGS 4096
#define FEED_PEND_EV   (1 << 17)

/** The vspec blocks of the feed_pend_t field f of state type T. */
#define FEED_PEND_BLOCKS(T, f)                                                                     \
    FEED_VBLOCK(T, f.m, FEED_PEND_MSGS), FEED_VBLOCK(T, f.ev, FEED_PEND_EV)

/** Drop slot's messages that come before index upto (all: p->n_m). */
void feed_pend_drop(feed_pend_t *p, uint16_t slot, uint32_t upto);

/** Room for the n events of a new message of slot (first..last), evicting the oldest messages
 *  while full (each counted in stale_dropped); counts `buffered`. @return the events to fill
 *  (stamped with feed_stamp, they are kept across frames), or NULL when n events can never
 *  fit (counted in stale_dropped: a later snapshot bridges). */
tg_event_t *feed_pend_add(feed_handler_t *h, feed_pend_t *p, uint16_t slot, uint64_t first,
                          uint64_t last, int64_t ts_exch, uint32_t n);

/** Has slot any buffered message? */
bool feed_pend_has(const feed_pend_t *p, uint16_t slot);

/** May a snapshot at sequence S start slot's buffered diffs: is the first one newer than S
 *  (last > S) starting at or before S + 1 (or is there none)? */
bool feed_pend_bridges(const feed_pend_t *p, uint16_t slot, uint64_t S);

/** Snapshot request of one symbol: outstanding or not, since when (mono ns). */
typedef struct feed_snapreq {
    int64_t mono;
    uint8_t out;
} feed_snapreq_t;

/** Is a new request due at now: 10 s after an unanswered one, 2 s after a failed one? */
bool feed_snapreq_due(const feed_snapreq_t *r, int64_t now_mono);

/** The REST path of the book snapshot of instrument in into path (cap bytes).
 *  @return 0, or < 0 when it cannot be asked for (a name unfit for the URL). */
typedef int (*feed_rsync_path_fn)(feed_handler_t *h, const tg_instr_t *in, char *path, size_t cap);

/** The connection state of a venue that bridges REST snapshots with buffered diffs (Gate.io,
 *  KuCoin): the diffs waiting, the generation that tags its REST requests, the next
 *  subscribe message (feed_send_paced), the last application ping (mono ns) and how the
 *  venue names a snapshot request (set by feed_rsync_open).
 *  Thread: feed:<venue>. */
typedef struct feed_rsync {
    feed_pend_t pb;
    uint32_t gen;
    uint32_t sub_next;
    int64_t last_ping;
    feed_rsync_path_fn path;
} feed_rsync_t;

/** A symbol of such a venue (the entries of its symbol table): its sync step
 *  (FEED_RSYM_WAIT: no book, its diffs buffered until a snapshot; then the venue's own steps),
 *  its snapshot request and the sequence its book is at.  Thread: feed:<venue>. */
typedef struct feed_rsym {
    uint32_t id;
    uint8_t state;
    feed_snapreq_t req; /* REST snapshot request */
    uint64_t last;
} feed_rsym_t;

enum { FEED_RSYM_WAIT = 0 };

/** The vspec .reset entries of a feed_rsym_t symbol table: WAIT, no request, no sequence. */
#define FEED_RSYM_RESETS                                                                           \
    FEED_VRESET(feed_rsym_t, state, FEED_RSYM_WAIT), FEED_VRESET(feed_rsym_t, req.out, 0),         \
        FEED_VRESET(feed_rsym_t, last, 0)

/** on_open of such a venue, before its subscribes: resync requests rebased
 *  (feed_resync_rebase), a new generation, no diff buffered, subscribes and pings from the
 *  start, every symbol's reset fields back (feed_vreset); path names its snapshot requests. */
void feed_rsync_open(feed_handler_t *h, feed_rsync_t *r, feed_rsync_path_fn path);

/** on_close of such a venue: the buffered diffs dropped, then feed_on_close(). */
void feed_rsync_close(feed_handler_t *h, feed_rsync_t *r, int64_t ts_recv, int64_t ts_mono);

/** Ask for the book snapshot of symbol i (a GET of r->path on the venue's rest_host, tagged
 *  with r->gen): counted as a resync, outstanding from now_mono; a request that cannot be sent
 *  is retried on the tick (feed_rsync_tick). Nothing when the symbol cannot be asked for.
 *  Thread: feed:<venue>. */
void feed_rsync_request(feed_handler_t *h, feed_rsync_t *r, uint32_t i, int64_t now_mono);

/** A sequence gap of symbol i (its book at sym->last, got arrived): a GAP event (last, got),
 *  counted; the symbol back to FEED_RSYM_WAIT, its buffered diffs before index keep dropped
 *  (the later ones wait for the next snapshot) and a snapshot requested.
 *  Thread: feed:<venue>. */
void feed_rsync_gap(feed_handler_t *h, feed_rsync_t *r, uint32_t i, uint64_t got, uint32_t keep,
                    int64_t ts_recv, int64_t ts_mono);

/** A snapshot of symbol i at sequence S has been parsed (nothing changed yet): is it the one to
 *  start the book from? No (false) when the symbol is not in FEED_RSYM_WAIT (a late duplicate,
 *  counted unhandled) or when the buffered diffs do not follow from S (too old: counted
 *  stale_dropped, logged through the spec's limiter, another requested). Either way its
 *  request is answered.  Thread: feed:<venue>. */
bool feed_rsync_snapshot_wanted(feed_handler_t *h, feed_rsync_t *r, uint32_t i, uint64_t S,
                                int64_t ts_mono);

/** on_tick's per-symbol work: a symbol the builder asked to resync (feed_resync_due) goes back
 *  to FEED_RSYM_WAIT without its buffered diffs; a waiting symbol with diffs buffered asks for
 *  its snapshot (the first diff asks; a lost or failed request is repeated when
 *  feed_snapreq_due).  Thread: feed:<venue>. */
void feed_rsync_tick(feed_handler_t *h, feed_rsync_t *r, int64_t now_mono);

/** Tag of a REST request of symbol index idx on connection generation gen. */
static inline uint64_t feed_rest_tag(uint32_t gen, uint32_t idx)
{
    return (uint64_t)gen << 32 | idx;
}

/** An answer to a request of an earlier connection (tag not of gen, or no such symbol) is
 *  counted (a frame, unhandled) and dropped: @return true. */
bool feed_rest_stale(feed_handler_t *h, uint64_t tag, uint32_t gen, size_t len);

/** A venue's snapshot of symbol sym (an entry of its symbol table) from a body of n tokens
 *  parsed into the venue's token array, at object token obj. @return 0 or an error. */
typedef int (*feed_rest_snap_fn)(feed_handler_t *h, void *sym, const char *body, int n, int obj,
                                 int64_t ts_recv, int64_t ts_mono);

/** on_rest of a venue that bridges REST snapshots (Gate.io, KuCoin): an answer of an earlier
 *  connection is dropped (feed_rest_stale against r->gen); else a 200 answer is parsed
 *  (feed_vparse, root object) and handed to snap (obj 0) for tag's symbol, another status is
 *  TG_EPROTO. On failure the symbol's request is marked failed (retried on the tick,
 *  feed_snapreq_due). The answer counts as a frame, settled as in feed_settle() through the
 *  spec's log limiter. @return 0 or the error (TG_ERESCALE uncounted: the answer is delivered
 *  again).  Thread: feed:<venue>. */
int feed_rsync_rest(feed_handler_t *h, const feed_rsync_t *r, uint64_t tag, int status,
                    const char *body, size_t len, int64_t ts_recv, int64_t ts_mono,
                    feed_rest_snap_fn snap);

/** Subscribe message k of a venue into msg: its length, 0 to skip it, -1 past the end. */
typedef int (*feed_sub_msg_fn)(feed_handler_t *h, uint32_t k, char *msg, size_t cap);

/** Send the messages *next, *next + 1, ... not sent yet, at most venue->max_sends_per_s of
 *  them (the rest on the next tick). @return 0 or feed_send's error. */
int feed_send_paced(feed_handler_t *h, uint32_t *next, feed_sub_msg_fn fn, char *msg, size_t cap);

/* ---- resync by resubscribing, paced to venue->max_sends_per_s ---- */

enum { FEED_RS_IDLE = 0, FEED_RS_UNSUB = 1, FEED_RS_SUB = 2 }; /* step pending per symbol */

/** Resubscribe steps of a connection's symbols (rs: a FEED_VBLOCK of n_instr entries) and the
 *  one-second send window. on_open has no clock: its subscribes count in the window that the
 *  first frame opens.  Thread: feed:<venue>. */
typedef struct feed_resub {
    uint8_t *rs;
    char *buf; /* one message listing every symbol (feed_resub_send_list) */
    size_t cap;
    bool any; /* some symbol has a step pending */
    bool win_armed;
    int64_t win_start; /* mono ns */
    uint32_t win_used;
} feed_resub_t;

/** The vspec blocks of the feed_resub_t field f of state type T (filled by feed_resub_init). */
#define FEED_RESUB_BLOCKS(T, f) FEED_VBLOCK(T, f.rs, 0), FEED_VBLOCK(T, f.buf, 0)

/** init: the steps and the message buffer of h's symbols, whose names must be fit for JSON.
 *  @return 0 or -ENOMEM. */
int feed_resub_init(feed_handler_t *h, feed_resub_t *r);

/** Send head, the quoted names of the symbols at step (every symbol: step < 0), tail.
 *  @return feed_send's result, or -ENOSPC. */
int feed_resub_send_list(feed_handler_t *h, feed_resub_t *r, const char *head, const char *tail,
                         int step);

/** on_close: every book STALE (TG_EVF_RESYNC), no step pending. */
void feed_resub_close(feed_handler_t *h, feed_resub_t *r, int64_t ts_recv, int64_t ts_mono);

/** Connection (re)opened or closed: no step pending, a new window. */
void feed_resub_reset(feed_handler_t *h, feed_resub_t *r);

/** Queue a resubscribe of symbol i (resyncs++) unless one is under way. */
void feed_resub_want(feed_handler_t *h, feed_resub_t *r, uint32_t i);

/** Start a new window when a second has passed (or the clock went back). */
void feed_resub_window(feed_resub_t *r, int64_t now_mono);

/** Send one step (op "unsubscribe" / "subscribe") for every symbol i with r->rs[i] == step. */
typedef int (*feed_resub_send_fn)(feed_handler_t *h, const char *op, int step);

/** Send the pending steps the window allows. A send that fails drops every step and asks for
 *  a reconnect (no transport to resubscribe through: start over on a new connection). */
void feed_resub_pump(feed_handler_t *h, feed_resub_t *r, int64_t now_mono, feed_resub_send_fn send);

/** on_frame of a resubscribing venue, before its parser: counts the frame in slow_path, moves
 *  the send window. @return feed_stats_settled() for feed_resub_settle(). */
uint64_t feed_resub_begin(feed_handler_t *h, feed_resub_t *r, int64_t now_mono);

/** ... and after it: rc is the parser's result, unhandled says the frame was not ours (counted
 *  unhandled); an error not counted yet is counted and logged (WARN, rl); the frame counts
 *  once; then the pending resubscribe steps are sent. @return rc when < 0, else 0 (TG_ERESCALE
 *  passes through uncounted). */
int feed_resub_settle(feed_handler_t *h, feed_resub_t *r, feed_ratelim_t *rl, int rc,
                      bool unhandled, uint64_t before, const char *buf, size_t len,
                      int64_t now_mono, feed_resub_send_fn send);

#endif

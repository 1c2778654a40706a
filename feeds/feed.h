/* SPDX-License-Identifier: MIT */
/*
 * Venue handlers: the contract between the transport (feed_conn.c over libwebsockets, or an
 * offline driver reading a recording) and one venue's parser/sequencer (feed_<venue>.c).
 *
 * A handler turns each received frame into normalized events (book/tg_event.h) written to its
 * feed_out_t buffer; the transport flushes that buffer into the connection's SPSC ring at the
 * end of each frame (and whenever it fills). The handler also owns book *sync* for its venue:
 * buffering deltas until a snapshot, dropping stale ones, detecting gaps, and emitting
 * TG_EV_GAP + asking the transport for a resync (REST snapshot or resubscribe).
 *
 * Thread: feed:<venue> (owner of a feed_handler_t and everything it points to, except the
 * registry, which is immutable, and the stats, which are single-writer counters any thread
 * may read).
 */
#ifndef FEED_H
#define FEED_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/tg_err.h"
#include "book/tg_event.h"
#include "book/tg_log.h"
#include "book/tg_instr.h"
#include "book/tg_stat.h"

/** Log levels for the report callback. Lower layers never print. */
/* The feeds name book/tg_log.h levels so: */
enum {
    FEED_LOG_ERROR = TG_LOG_ERROR,
    FEED_LOG_WARN = TG_LOG_WARN,
    FEED_LOG_INFO = TG_LOG_INFO,
    FEED_LOG_DEBUG = TG_LOG_DEBUG
};

/** Counters of one connection. Single writer: feed:<venue>. Readers: any (TG_STAT_GET). */
typedef struct feed_stats {
    tg_stat_t frames, bytes;          /* received websocket frames (+ in-band REST records) */
    tg_stat_t events, trades, levels; /* events emitted */
    tg_stat_t snapshots;              /* book snapshots emitted */
    tg_stat_t err_json;               /* malformed JSON / unexpected structure */
    tg_stat_t err_field;              /* missing field / wrong type */
    tg_stat_t err_symbol;             /* unknown symbol */
    tg_stat_t err_decimal;            /* price/size text rejected by tg_dec */
    tg_stat_t err_venue;              /* venue error / subscription error messages */
    tg_stat_t unhandled;              /* acks, heartbeats, tickers and channels we ignore */
    tg_stat_t gaps;                   /* sequence gaps detected */
    tg_stat_t checksum_msgs;          /* TG_EV_CHECKSUM events emitted */
    tg_stat_t resyncs;                /* resyncs requested */
    tg_stat_t stale_dropped;          /* deltas dropped as older than the snapshot */
    tg_stat_t buffered;               /* deltas buffered while waiting for a snapshot */
    tg_stat_t fast_path, slow_path;   /* frames parsed by a fast scanner vs generic parser */
    tg_stat_t reconnects, ring_full;  /* transport */
    tg_stat_t rescales;               /* instrument scales raised (feed_dec: more places seen) */
    tg_stat_t unrepresentable;        /* values no int64 scale holds: instrument -> FAULT */
    tg_stat_t backfill_trades;        /* trades fetched over REST after a reconnect (issue 15) */
    tg_stat_t backfill_requests;      /* trade-history requests sent */
    tg_stat_t backfill_failures;      /* failed requests, ranges given up (no REST client) */
    tg_stat_t handled; /* frames understood and acted on (events, buffering, stale drop). Every
                          frame counts exactly once in handled, unhandled or one err_* counter */
} feed_stats_t;

/** Event output buffer of one connection.  Thread: feed:<venue>. */
typedef struct feed_out {
    tg_event_t *ev;
    uint32_t n, cap;
    /** Drain ev[0..n) (the transport pushes into its ring; offline drivers apply directly).
     *  Returns 0 or a negative code (the events were lost: it counts and marks a gap). */
    int (*flush)(void *ctx, const tg_event_t *ev, uint32_t n);
    void *ctx;
} feed_out_t;

struct feed_handler;
typedef struct feed_handler feed_handler_t;

/** A venue's frame parser (an on_frame without the accounting). */
typedef int (*feed_parse_fn)(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                             int64_t ts_mono);

/** A venue: immutable table of functions.  Thread: any (const). */
typedef struct feed_venue {
    const char *name; /* venue id: "binance", "binance-futures", "coinbase", "kraken", ... */
    const char *default_url;
    const char *rest_host; /* host for REST snapshots ("api.binance.com"), NULL if none */
    int variant;           /* handler-defined: one handler serving several ids (spot/linear, ...) */
    unsigned wire;         /* FEED_WIRE_*: how the venue frames its messages */
    /* Published limits (docs/venues.md): symbols one connection may carry (0: no limit; the
     * gateway splits a feed's symbols into connections of at most this many) and messages a
     * client may send per second (0: no limit; on_open paces its subscribes to it). */
    uint32_t max_symbols_per_conn;
    uint32_t max_sends_per_s;
    /* The handler fetches the trades published while a connection was closed (trade backfill
     * over REST, docs/feeds.md): a closed connection is then no trade gap for the builder. */
    bool trade_history;
    /* ... over the websocket itself, from the recent trades the venue sends again on subscribe
     * (Kraken Futures: its trade_snapshot; Crypto.com: the first trade push,
     * feeds/venues/feed_bf_snap.h), so without a REST client too (offline, replay): feed_close
     * flags the STALE TG_EVF_REST for a trade_history venue when the handler has h->rest_get or
     * this is set. */
    bool trade_history_ws;
    /* The venue's trade ids (as the handler fills u.trade_id) are consecutive per instrument
     * and arrive in order (docs/RELIABILITY.md, "Trade gaps"): the builder tells the trades a
     * closed connection lost by id (tg_instr_t.trade_ids_seq, set at registration); otherwise
     * by time, a trade gap with unknown id bounds. */
    bool trade_ids_seq;
    /* Published REST limits (feeds/net/feed_rest_pace.h): weight budget per minute of one IP
     * (0: none known, not paced), weight of one snapshot GET (0: 1) and requests in flight
     * (0: no cap but the transport's 32 per connection). A 429/418 with Retry-After stops the
     * venue's requests for every venue. */
    uint32_t rest_weight_per_min;
    uint16_t rest_weight;
    uint16_t rest_max_inflight;
    /** Replay and offline: the in-band name of the answer to a REST request this handler makes
     *  with h->rest_get(path): the `<name>` of {"stream":"<name>@depthSnapshot",...} in a
     *  recording, lower case (e.g. "/api/v3/depth?symbol=BTCUSDT&limit=1000" -> "btcusdt").
     *  Return 0, or -ENOENT when the path is not one of the venue's snapshot requests.
     *  NULL: the venue takes no REST snapshots. Thread: any (pure). */
    int (*rest_key)(const char *path, char *key, size_t cap);
    /** Optional. An instrument's scale was raised by feed_dec() (the frame will be parsed
     *  again): values the handler keeps across frames at the old scale (buffered deltas as raw
     *  numbers, id -> price maps) must be rescaled or dropped here. Events kept as tg_event_t
     *  carry their own scale (feed_stamp) and need nothing. */
    void (*on_rescale)(feed_handler_t *h, uint32_t instr, int old_px, int old_sz);
    /** Optional connect step (KuCoin): before every websocket connect the transport POSTs
     *  connect_post (a path on the REST host, empty body) and hands the answer to
     *  on_connect_answer, which writes this attempt's websocket URL into url. Any failure
     *  (status, answer, URL) ends the attempt like a connect error (backoff, retry). */
    const char *connect_post;
    int (*on_connect_answer)(feed_handler_t *h, int status, const char *body, size_t len, char *url,
                             size_t cap);
    /** Fill per-instrument defaults (scales, depth limit, checksum fn) for a symbol. */
    void (*instr_defaults)(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth);
    /** Optional: the venue state as a table (feed_vspec_t): the base allocates h->vstate
     *  from it before init and frees it after deinit, so most venues need neither. */
    const struct feed_vspec *state;
    /** Optional: the table of a family of venues whose connection callbacks are shared
     *  (feeds/venues/feed_venue_base.h: a feed_rsv_t), read by those callbacks. */
    const void *family;
    /** Optional: more venue state for h (h->vstate); symbols are h->instr[0..h->n_instr).
     *  Without `state`, init allocates h->vstate itself and deinit frees it. */
    int (*init)(feed_handler_t *h);
    void (*deinit)(feed_handler_t *h);
    /** Connection (re)opened: reset sync state, send subscribes (h->send), request snapshots
     *  (h->rest_get). Everything learned before is void after a reconnect. */
    int (*on_open)(feed_handler_t *h);
    /** One received frame (text). ts_recv realtime ns, ts_mono monotonic ns. Malformed input:
     *  count it, log it (rate-limited), return a negative code; never crash. */
    int (*on_frame)(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                    int64_t ts_mono);
    /** Optional (a table venue): how the base tokenizes a frame for the venue's parser
     *  (feeds/feed_jtok.h): feed_vparser_run() is then the parse step, and on_frame =
     *  feed_on_frame settles the frame (feed_frame_settle through the spec's rl limiter). */
    const struct feed_vparser *parser;
    /** Response of a REST request made with h->rest_get(); status 0 = transport failure. */
    int (*on_rest)(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                   int64_t ts_recv, int64_t ts_mono);
    /** Connection lost: emit TG_EV_STALE (or GAP) for every book of this connection. */
    void (*on_close)(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono);
    /** Periodic tick (about 1 s): heartbeats / pings the venue requires. */
    void (*on_tick)(feed_handler_t *h, int64_t now_mono);
} feed_venue_t;

/** The four connection callbacks of a venue whose functions follow the naming convention
 *  <p>_on_open, <p>_on_frame, <p>_on_close, <p>_on_tick (a feed_venue_t initializer). */
#define FEED_VENUE_FNS(p)                                                                          \
    .on_open = p##_on_open, .on_frame = p##_on_frame, .on_close = p##_on_close,                    \
    .on_tick = p##_on_tick

/** The instrument defaults d, the state table <p>_spec and the init <p>_init of a venue (a
 *  feed_venue_t initializer). */
#define FEED_VENUE_STATE(p, d) .instr_defaults = (d), .state = &p##_spec, .init = p##_init

/** The four callbacks of a table venue whose parser is <p>_parser (feed_venue_t.parser, its
 *  frames settled by feed_on_frame) and whose other functions are <p>_on_open, <p>_on_close,
 *  <p>_on_tick. */
#define FEED_VENUE_PARSE(p)                                                                        \
    .on_open = p##_on_open, .on_frame = feed_on_frame, .parser = &p##_parser,                      \
    .on_close = p##_on_close, .on_tick = p##_on_tick

/** FEED_VENUE_PARSE for a parser that returns 1 (handled) or 0 (unhandled): feed_on_frame_tally
 *  settles its frames. */
#define FEED_VENUE_TALLY(p)                                                                        \
    .on_open = p##_on_open, .on_frame = feed_on_frame_tally, .parser = &p##_parser,                \
    .on_close = p##_on_close, .on_tick = p##_on_tick

/** The same with the venue base's on_close (feed_on_close). */
#define FEED_VENUE_TALLY_VCLOSE(p)                                                                 \
    .on_open = p##_on_open, .on_frame = feed_on_frame_tally, .parser = &p##_parser,                \
    .on_close = feed_on_close, .on_tick = p##_on_tick

/** The same with the venue base's on_close (feed_on_close). */
#define FEED_VENUE_PARSE_VCLOSE(p)                                                                 \
    .on_open = p##_on_open, .on_frame = feed_on_frame, .parser = &p##_parser,                      \
    .on_close = feed_on_close, .on_tick = p##_on_tick

/** The same with the venue base's on_close (feed_on_close: books STALE, the spec's reset). */
#define FEED_VENUE_FNS_VCLOSE(p)                                                                   \
    .on_open = p##_on_open, .on_frame = p##_on_frame, .on_close = feed_on_close,                   \
    .on_tick = p##_on_tick

/* feed_venue_t.wire */
#define FEED_WIRE_TEXT 0x0u /* text frames of JSON (default) */
#define FEED_WIRE_GZIP 0x1u /* binary frames, each one gzip stream of the JSON text (HTX) */

/** Current scales of one instrument on this connection.  Thread: feed:<venue>. */
typedef struct feed_scale {
    int8_t px, sz;
} feed_scale_t;

/** Per-connection handler.  Thread: feed:<venue> (owner). */
struct feed_handler {
    const feed_venue_t *venue;
    const tg_instr_reg_t *reg; /* immutable after start */
    int venue_id;
    uint32_t *instr; /* instrument ids of this connection's symbols */
    uint32_t n_instr;
    uint32_t depth;    /* subscribed book depth (venue meaning; 0 = venue default) */
    unsigned channels; /* FEED_CH_* */
    feed_out_t out;
    feed_stats_t *stats;
    void *vstate; /* venue private */

    /* transport services (set by the transport / offline driver) */
    int (*send)(void *tctx, const char *text, size_t len);       /* queue a text frame */
    int (*rest_get)(void *tctx, const char *path, uint64_t tag); /* GET rest_host path */
    /* the REST budget the feed was configured with (`rest_weight_per_min`): 0 the venue's
       published one, UINT32_MAX unpaced (a local test server); trade backfill scales its
       pacing by it (feed_backfill.c) */
    uint32_t rest_wpm_cfg;
    void (*reconnect)(void *tctx, const char *why); /* drop and reconnect (resync) */
    void *tctx;
    tg_log_fn log; /* TG_LOG_* levels */
    void *lctx;
    /** Resync requests from the builder (book/tg_resync.h: checksum mismatch, crossed book),
     *  polled by handlers in on_tick; NULL when nobody asks (offline). Set by the transport
     *  before on_open. Read-only here (atomic counters written by the book thread). */
    const struct tg_resync *resync;
    /** Current scales by instrument id (feed_handler_setup: from the registry's px_scale /
     *  sz_scale; raised by feed_dec, never lowered). n_scl = registry count at setup. */
    feed_scale_t *scl;
    uint32_t n_scl;
    struct feed_verr *verr; /* last venue error (feed_venue_error); locked, any thread reads */
    uint32_t *resync_seen;  /* builder resync requests acted on, per symbol (feed_resync_due) */
    int vscratch_cap;       /* token capacity the scratch blocks were last grown for */
    uint32_t frame_flushes; /* out.flush calls so far (feed_frame: may a retry roll back?) */
    uint8_t stale_or;       /* TG_EVF_* added to STALE events (feed_close: CLOSED, REST) */
};

#define FEED_CH_TRADES 0x1u
#define FEED_CH_BOOK   0x2u
#define FEED_CH_ALL    (FEED_CH_TRADES | FEED_CH_BOOK)

/** Append one event; flushes when the buffer is full. Returns false if the flush failed.
 *  Thread: feed:<venue>. No allocation. */
/** Give ev the instrument's current scales unless it has its own (TG_EVF_SCALED). A handler
 *  that keeps events across frames stamps them when it makes them.  Thread: feed:<venue>. */
static inline void feed_stamp(const feed_handler_t *h, tg_event_t *ev)
{
    if (ev->flags & TG_EVF_SCALED)
        return;
    ev->flags |= TG_EVF_SCALED;
    if (ev->instr < h->n_scl) {
        ev->px_scale = (unsigned)h->scl[ev->instr].px;
        ev->sz_scale = (unsigned)h->scl[ev->instr].sz;
    } else {
        ev->px_scale = 0;
        ev->sz_scale = 0;
    }
}

static inline bool feed_emit(feed_handler_t *h, const tg_event_t *ev)
{
    feed_out_t *o = &h->out;
    if (o->n == o->cap) {
        h->frame_flushes++;
        if (o->flush(o->ctx, o->ev, o->n) < 0) {
            o->n = 0;
            return false;
        }
        o->n = 0;
    }
    tg_event_t *e = &o->ev[o->n++];
    *e = *ev;
    feed_stamp(h, e);
    if (e->kind == TG_EV_STALE)
        e->flags |= h->stale_or;
    return true;
}

/** Count n emitted events of one kind: events, plus levels (TG_EV_LEVEL) or trades
 *  (TG_EV_TRADE).  Thread: feed:<venue>. */
static inline void feed_count_events(feed_handler_t *h, uint8_t kind, uint64_t n)
{
    TG_STAT_ADD(h->stats->events, n);
    if (kind == TG_EV_LEVEL)
        TG_STAT_ADD(h->stats->levels, n);
    else if (kind == TG_EV_TRADE)
        TG_STAT_ADD(h->stats->trades, n);
}

/** feed_emit() and count the event (feed_count_events). Returns what feed_emit returned.
 *  Thread: feed:<venue>. No allocation. */
static inline bool feed_emit_counted(feed_handler_t *h, const tg_event_t *ev)
{
    bool ok = feed_emit(h, ev);
    feed_count_events(h, ev->kind, 1);
    return ok;
}

/** An event from its fields (every byte of the 64 set). */
static inline tg_event_t feed_event(uint8_t kind, uint32_t instr, uint8_t side, int64_t px,
                                    int64_t sz, uint64_t seq, uint64_t aux, int64_t ts_exch,
                                    int64_t ts_recv, int64_t ts_mono, uint16_t flags)
{
    tg_event_t ev;
    ev.ts_exch = ts_exch;
    ev.ts_recv = ts_recv;
    ev.ts_mono = ts_mono;
    ev.price = px;
    ev.size = sz;
    ev.seq = seq;
    ev.u.aux = aux;
    ev.instr = instr;
    ev.kind = kind;
    ev.side = side;
    ev.flags = flags;
    ev.px_scale = 0; /* feed_emit stamps the instrument's current scales (TG_EVF_SCALED) */
    ev.sz_scale = 0;
    return ev;
}

/** feed_emit_counted() of feed_event(...). */
static inline bool feed_emit_make(feed_handler_t *h, uint8_t kind, uint32_t instr, uint8_t side,
                                  int64_t px, int64_t sz, uint64_t seq, uint64_t aux,
                                  int64_t ts_exch, int64_t ts_recv, int64_t ts_mono, uint16_t flags)
{
    tg_event_t ev =
        feed_event(kind, instr, side, px, sz, seq, aux, ts_exch, ts_recv, ts_mono, flags);
    return feed_emit_counted(h, &ev);
}

/** A snapshot of instr begins: TG_EV_BOOK_CLEAR flagged TG_EVF_SNAPSHOT (seq, ts_exch) is
 *  emitted and counted in snapshots. @return TG_EVF_SNAPSHOT, the flag of its levels. */
static inline uint16_t feed_emit_snapshot(feed_handler_t *h, uint32_t instr, uint64_t seq,
                                          int64_t ts_exch, int64_t ts_recv, int64_t ts_mono)
{
    feed_emit_make(h, TG_EV_BOOK_CLEAR, instr, 0, 0, 0, seq, 0, ts_exch, ts_recv, ts_mono,
                   TG_EVF_SNAPSHOT);
    TG_STAT_INC(h->stats->snapshots);
    return TG_EVF_SNAPSHOT;
}

/** Frames settled so far as not handled: unhandled plus every err_* counter. A frame that
 *  leaves this sum unchanged counts as handled (see feed_count_handled). */
static inline uint64_t feed_stats_settled(const feed_stats_t *s)
{
    return TG_STAT_GET(s->unhandled) + TG_STAT_GET(s->err_json) + TG_STAT_GET(s->err_field) +
           TG_STAT_GET(s->err_symbol) + TG_STAT_GET(s->err_decimal) + TG_STAT_GET(s->err_venue);
}

/** Count one frame as handled unless it was counted elsewhere since `before`
 *  (= feed_stats_settled() taken before parsing it): every frame counts exactly once. */
static inline void feed_count_handled(feed_handler_t *h, uint64_t before)
{
    if (feed_stats_settled(h->stats) == before)
        TG_STAT_INC(h->stats->handled);
}

/** Log rate limiter: at most `burst` lines per window of `period` ns of monotonic time
 *  (0 = 1 s). Zero-initialise, then set burst (and period).  Thread: feed:<venue>. */
typedef struct feed_ratelim {
    int64_t window; /* start of the current window (mono ns) */
    uint32_t used, burst;
    uint64_t suppressed; /* lines dropped since the last one let through */
    int64_t period;      /* window length in ns; 0 = 1 s */
} feed_ratelim_t;

/** Log lines per second of the jsmn venues (feed_jtok_log, feed_log_frame). */
#define FEED_JTOK_LOG_BURST 10

/** Window of the feed_logf_limited() users (Binance, Coinbase, Bybit): a new window starts
 *  once more than 10 s have passed. */
#define FEED_LOG_PERIOD_10S (10000000000LL + 1)

/** Has the current window ended (or the clock gone back)? */
static inline bool feed_ratelim_expired(const feed_ratelim_t *r, int64_t now_mono)
{
    int64_t period = r->period ? r->period : 1000000000;
    return now_mono - r->window >= period || now_mono < r->window;
}

/** May a line be logged now? On true, *dropped receives the number suppressed before it. */
static inline bool feed_ratelim_ok(feed_ratelim_t *r, int64_t now_mono, uint64_t *dropped)
{
    if (feed_ratelim_expired(r, now_mono)) {
        r->window = now_mono;
        r->used = 0;
    }
    if (r->used >= r->burst) {
        r->suppressed++;
        return false;
    }
    r->used++;
    *dropped = r->suppressed;
    r->suppressed = 0;
    return true;
}

/* ---- exact decimals at every scale (docs/design.md "Exact prices at every scale") ---- */

#define FEED_DEC_PX     0x0u /* a price (instrument px scale) */
#define FEED_DEC_SZ     0x1u /* a size or amount (instrument sz scale) */
#define FEED_DEC_SIGNED 0x2u /* accept a sign (default: negative values are TG_EDEC_NEGATIVE) */

/**
 * Parse decimal text (borrowed, not NUL-terminated) at instr's current price or size scale.
 * A value that needs more fractional places raises the scale (never lowers it), calls
 * venue->on_rescale and returns TG_ERESCALE: the handler must return that code from
 * on_frame/on_rest at once, and feed_frame()/feed_rest() parse the message again at the new
 * scale. So a handler parses every number of a message before it changes any state.
 * A value no scale holds (more than 18 places, or too large at the scale its instrument
 * needs) is TG_EDEC_RANGE/PRECISION, counted in `unrepresentable`, logged with venue,
 * symbol and value, and the instrument's book goes to FAULT (a GAP with TG_EVF_FAULT).
 * @return 0, TG_ERESCALE, or a tg_dec error.  Thread: feed:<venue>. No allocation.
 */
int feed_dec(feed_handler_t *h, uint32_t instr, unsigned how, const char *s, size_t n,
             int64_t *out);

static inline int feed_dec_px(feed_handler_t *h, uint32_t instr, const char *s, size_t n,
                              int64_t *out)
{
    return feed_dec(h, instr, FEED_DEC_PX, s, n, out);
}

static inline int feed_dec_sz(feed_handler_t *h, uint32_t instr, const char *s, size_t n,
                              int64_t *out)
{
    return feed_dec(h, instr, FEED_DEC_SZ, s, n, out);
}

/** Current price / size scale of instr on this connection. */
static inline int feed_px_scale(const feed_handler_t *h, uint32_t instr)
{
    return instr < h->n_scl ? h->scl[instr].px : 8;
}
static inline int feed_sz_scale(const feed_handler_t *h, uint32_t instr)
{
    return instr < h->n_scl ? h->scl[instr].sz : 8;
}

/** Is rc feed_dec()'s "cannot be held" (TG_EDEC_RANGE, TG_EDEC_PRECISION: it already emitted
 *  GAP|FAULT for the instrument; a fresh snapshot clears it)? */
static inline bool feed_dec_is_fault(int rc)
{
    return rc == TG_EDEC_RANGE || rc == TG_EDEC_PRECISION;
}

/** Set up h for its venue after the transport filled it (venue, reg, instr, out, stats,
 *  services): the scale table, then venue->init. @return 0 or init's error / -ENOMEM. */
int feed_handler_setup(feed_handler_t *h);

/** venue->deinit and free what feed_handler_setup allocated. Safe to call twice. */
void feed_handler_teardown(feed_handler_t *h);

/** Deliver one frame: venue->on_frame, parsed again (at most 8 times) while it returns
 *  TG_ERESCALE; events the abandoned attempt buffered are dropped when nothing was flushed
 *  yet (level sets already flushed are idempotent when repeated). Every transport and test
 *  delivers frames through this.  @return on_frame's result. */
int feed_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono);

/** Deliver a REST answer the same way (venue->on_rest). */
int feed_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
              int64_t ts_recv, int64_t ts_mono);

/** Mark the last buffered event as the end of the exchange message (TG_EVF_LAST), or emit a
 *  TG_EV_END marker if nothing was buffered in this message.  */
void feed_end_message(feed_handler_t *h, uint32_t instr, int64_t ts_exch, int64_t ts_recv,
                      int64_t ts_mono);

/** A book level as a venue handler parses it into its scratch array. */
typedef struct feed_level {
    int64_t px, sz; /* sz 0: the level is gone */
    uint8_t side;   /* TG_SIDE_* */
} feed_level_t;

/** One book message of instr at seq, its levels parsed into lv[0..n): for a snapshot (snap)
 *  its TG_EV_BOOK_CLEAR first (feed_emit_snapshot, the levels then flagged TG_EVF_SNAPSHOT),
 *  the levels as TG_EV_LEVEL events, then the message's end (feed_end_message).
 *  Thread: feed:<venue>. */
static inline void feed_emit_book(feed_handler_t *h, uint32_t instr, bool snap, uint64_t seq,
                                  const feed_level_t *lv, size_t n, int64_t ts_exch,
                                  int64_t ts_recv, int64_t ts_mono)
{
    uint16_t fl = snap ? feed_emit_snapshot(h, instr, seq, ts_exch, ts_recv, ts_mono) : 0;
    for (size_t i = 0; i < n; i++)
        feed_emit_make(h, TG_EV_LEVEL, instr, lv[i].side, lv[i].px, lv[i].sz, seq, 0, ts_exch,
                       ts_recv, ts_mono, fl);
    feed_end_message(h, instr, ts_exch, ts_recv, ts_mono);
}

/** Flush everything buffered (the transport calls this after each frame). */
int feed_flush(feed_handler_t *h);

/** Log through the handler's callback, printf-style (cold paths only). */
void feed_logf(feed_handler_t *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The venue refused something (a subscription, a request) and said why: counted in
 *  err_venue, logged (ERROR, rate-limited by the caller's frequency: cold) with the venue's own
 *  text, and kept as the connection's last venue error for /health.  Thread: feed:<venue>. */
void feed_venue_error(feed_handler_t *h, const char *text, size_t len);

/** The last venue error of h (empty string if none) into buf; @return its CLOCK_REALTIME ns
 *  (0 if none).  Thread: any. */
int64_t feed_venue_error_get(const feed_handler_t *h, char *buf, size_t cap);

/** Rate-limited feed_logf (cold paths): at most rl->burst lines per rl->period window; when a
 *  window ends with lines dropped, "<venue>: N log lines suppressed" is logged (WARN) first. */
void feed_logf_limited(feed_handler_t *h, feed_ratelim_t *rl, int64_t now_mono, int level,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/** feed_logf_limited() of "<venue>: what (error text or -): <first 160 bytes of buf>[...]". */
void feed_log_frame(feed_handler_t *h, feed_ratelim_t *rl, int64_t now_mono, int level,
                    const char *what, int rc, const char *buf, size_t len);

/** Count a frame rejected with rc in its err_* counter: TG_EJSON err_json, TG_ESYMBOL
 *  err_symbol, TG_EPROTO err_venue, tg_dec codes err_decimal, anything else err_field.
 *  @return a short description for the log line ("malformed frame", "unknown symbol", ...). */
const char *feed_count_error(feed_stats_t *st, int rc);

/* ---- venue state from a table (feed_venue_t.state) ---- */

/** Offset + 1 of field f in venue state type T (0: the spec has no such field). */
#define FEED_VOFF(T, f) (offsetof(T, f) + 1)

/** A heap block of the venue state: the pointer field at off (FEED_VOFF) gets n zeroed
 *  elements of el bytes at set-up (n 0: starts NULL, e.g. a scratch array grown later by
 *  feed_jtok_scratch), and is freed at tear-down whatever it points to then. */
typedef struct feed_vblock {
    size_t off, el;
    size_t n;
    size_t cap; /* scratch: FEED_VOFF of its size_t capacity, grown by feed_vframe() to */
    size_t per; /* one element per `per` tokens of the state's token array (+ 1) */
} feed_vblock_t;

/** feed_vblock_t of the pointer field f of state type T, n elements of *f. */
#define FEED_VBLOCK(T, f, n)                                                                       \
    {                                                                                              \
        FEED_VOFF(T, f), sizeof(*((T *)0)->f), (n), 0, 0                                           \
    }

/** A scratch block f (capacity in f##_cap) of one element per `per` tokens. */
#define FEED_VSCRATCH(T, f, per)                                                                   \
    {                                                                                              \
        FEED_VOFF(T, f), sizeof(*((T *)0)->f), 0, FEED_VOFF(T, f##_cap), (per)                     \
    }

#define FEED_VBLOCKS 8

/** A per-symbol field of the venue state set back to v when a connection opens or closes
 *  (feed_vreset): off = offset + 1 in the symbol struct, size 1, 2, 4 or 8 bytes. */
typedef struct feed_vreset {
    size_t off, size;
    int64_t v;
} feed_vreset_t;

/** feed_vreset_t of field f of symbol type S, set back to v. */
#define FEED_VRESET(S, f, v)                                                                       \
    {                                                                                              \
        offsetof(S, f) + 1, sizeof(((S *)0)->f), (v)                                               \
    }

#define FEED_VRESETS 4

/** A venue's state as a table.  Thread: any (const). */
typedef struct feed_vspec {
    size_t size;     /* sizeof the state (zeroed) */
    size_t sym;      /* FEED_VOFF of the symbol table pointer: h->n_instr entries of */
    size_t sym_size; /* sym_size bytes, each starting with its uint32_t instrument id */
    size_t slot;     /* FEED_VOFF of a uint16_t * slot table (feed_slots_new, feed_slot_find) */
    size_t jt;       /* FEED_VOFF of a feed_jtok_t (feeds/feed_jtok.h) of tok_init tokens, */
    int tok_init;    /* growing up to tok_max */
    int tok_max;     /* */
    size_t rl;       /* FEED_VOFF of the handler's feed_ratelim_t: burst, period */
    uint32_t burst;  /* lines per window */
    int64_t period;  /* window in ns (0: 1 s) */
    feed_vblock_t blocks[FEED_VBLOCKS]; /* other heap blocks */
    feed_vreset_t reset[FEED_VRESETS];  /* per-symbol sync state, back to start (feed_vreset) */
} feed_vspec_t;

/** The common part of a feed_vspec_t initializer for state type T with the fields named
 *  sym, slot, jt and rl (a jsmn venue: tok_init..tok_max tokens, FEED_JTOK_LOG_BURST lines). */
#define FEED_VSPEC(T, tok_init_, tok_max_)                                                         \
    FEED_VSPEC_RL(T, tok_init_, tok_max_, FEED_JTOK_LOG_BURST, 0)

/** FEED_VSPEC with its own log limiter: burst lines per period ns. */
#define FEED_VSPEC_RL(T, tok_init_, tok_max_, burst_, period_)                                     \
    FEED_VSPEC_BASE(T, rl, burst_, period_), .jt = FEED_VOFF(T, jt), .tok_init = (tok_init_),      \
                                             .tok_max = (tok_max_)

/** The symbol table (field sym), slot table (slot) and log limiter (field rl_, burst_ lines
 *  per period_ ns) of state type T, for a venue with its own tokenizer. */
#define FEED_VSPEC_BASE(T, rl_, burst_, period_)                                                   \
    .size = sizeof(T), .sym = FEED_VOFF(T, sym), .sym_size = sizeof(*((T *)0)->sym),               \
    .slot = FEED_VOFF(T, slot), .rl = FEED_VOFF(T, rl_), .burst = (burst_), .period = (period_)

/** Symbol i (< h->n_instr) of a table venue's symbol table (the spec's sym field).
 *  Thread: feed:<venue>. */
void *feed_vsym_at(const feed_handler_t *h, uint32_t i);

/** The symbol of h's connection named s[0..n) in a table venue's symbol table (the spec's
 *  sym and slot fields), or NULL.  Thread: feed:<venue>. No allocation. */
void *feed_vsym_find(const feed_handler_t *h, const char *s, size_t n);

/** Point the `const char *` at name_off of each of h->n_instr symbols of size bytes at sym to
 *  its registry name (init). json_safe: the name must also be fit to paste into JSON.
 *  @return 0, or -ENOMEM for an unknown or unusable instrument (more than 0xfff0 symbols,
 *  an id past TG_INSTR_MAX, a name not JSON-safe).  Thread: feed:<venue>. */
int feed_vsym_names(const feed_handler_t *h, void *sym, size_t size, size_t name_off,
                    bool json_safe);

/** Set every symbol's reset fields (feed_vspec_t.reset) back to their start values (on_open).
 *  Thread: feed:<venue>. */
void feed_vreset(feed_handler_t *h);

/** The transport's call when a connection closed: the venue's on_close, with TG_EVF_CLOSED
 *  (and TG_EVF_REST where the venue has trade_history and a REST client exists, or
 *  trade_history_ws: the backfill comes over the websocket) on every STALE
 *  event it emits, so the builder can tell a trade gap (book_builder.c).  Thread: feed:<venue>. */
void feed_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono);

/** on_close of a table venue: every book STALE (feed_emit_stale_all), then feed_vreset(). */
void feed_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono);

/** The log limiter of a table venue (the spec's rl field). */
static inline feed_ratelim_t *feed_vrl(const feed_handler_t *h)
{
    return (feed_ratelim_t *)((char *)h->vstate + h->venue->state->rl - 1);
}

/** Instrument defaults of a venue with no checksum and no depth limit: scales 8/8 (raised by
 *  feed_dec when a value needs more places).  Thread: any. */
void feed_instr_defaults_plain(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth);

/** The whole registration config of `symbol` on venue v: every field set (tg_instr_cfg_defaults,
 *  then v->instr_defaults, then v->trade_ids_seq). Callers override scales afterwards; never
 *  fill a tg_instr_cfg_t from v->instr_defaults alone (it sets only the venue's fields).
 *  Thread: any. */
void feed_venue_instr_cfg(const feed_venue_t *v, const char *symbol, uint32_t depth,
                          tg_instr_cfg_t *cfg);

/** Emit TG_EV_STALE (flags | TG_EVF_LAST) for every instrument of h (on_close).
 *  Thread: feed:<venue>. */
void feed_emit_stale_all(feed_handler_t *h, uint16_t flags, int64_t ts_recv, int64_t ts_mono);

/** on_frame of most venues: run parse, then settle the frame so that it counts exactly once:
 *  an error parse returned without counting it is counted (feed_count_error) and logged with
 *  the frame (feed_log_frame through rl, ERROR for TG_EPROTO, else WARN); a frame that
 *  changed no settled counter counts as handled. TG_ERESCALE passes through uncounted (the
 *  frame is parsed again). @return parse's result.  Thread: feed:<venue>. */
int feed_frame_settle(feed_handler_t *h, feed_ratelim_t *rl, feed_parse_fn parse, const char *buf,
                      size_t len, int64_t ts_recv, int64_t ts_mono);

/** on_frame of a table venue whose parser (feed_venue_t.parser) returns 1 (handled), 0
 *  (unhandled) or an error it did not count: feed_tally() of feed_vparser_run() through the
 *  spec's log limiter.  Thread: feed:<venue>. */
int feed_on_frame_tally(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv,
                        int64_t ts_mono);

/** on_frame of a table venue with a parser (feed_venue_t.parser): feed_frame_settle() of
 *  feed_vparser_run() through the spec's log limiter (feed_vrl).  Thread: feed:<venue>. */
int feed_on_frame(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono);

/** feed_frame_settle()'s accounting alone, for a result rc of a frame (or REST answer) whose
 *  parse started at before = feed_stats_settled().  Thread: feed:<venue>. */
void feed_settle(feed_handler_t *h, feed_ratelim_t *rl, int rc, uint64_t before, const char *buf,
                 size_t len, int64_t ts_mono);

/** on_frame's accounting for a parser that returns 1 (handled), 0 (unhandled) or an error it
 *  did not count: the error is counted and logged as in feed_settle(). @return 0, the error,
 *  or TG_ERESCALE (uncounted: the frame is parsed again).  Thread: feed:<venue>. */
int feed_tally(feed_handler_t *h, feed_ratelim_t *rl, int rc, const char *buf, size_t len,
               int64_t ts_mono);

/** The transport's delivery of a received frame: feed_frame(), and *handler_errors counts a
 *  failure that no err_* counter took (out of memory, a lost flush). A malformed frame is
 *  counted once: in its err_* counter. @return feed_frame()'s result.  Thread: feed:<venue>. */
int feed_deliver(feed_handler_t *h, const char *buf, size_t len, int64_t ts_recv, int64_t ts_mono,
                 tg_stat_t *handler_errors);

/** The same for a REST answer (feed_rest()). */
int feed_deliver_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t ts_recv, int64_t ts_mono, tg_stat_t *handler_errors);

/** Allocate zeroed venue state of size bytes as h->vstate (init). @return it, or NULL. */
void *feed_vstate_new(feed_handler_t *h, size_t size);

/** free(h->vstate) and clear it (last step of deinit). */
void feed_vstate_free(feed_handler_t *h);

/** Queue a text frame through the transport; -ENOTCONN when there is none. */
static inline int feed_send(feed_handler_t *h, const char *text, size_t len)
{
    return h->send ? h->send(h->tctx, text, len) : -ENOTCONN;
}

/** Builder resync requests for instr so far (book/tg_resync.h), 0 when nobody asks (offline):
 *  the baseline a handler stores at on_open. */
uint32_t feed_resync_count(const feed_handler_t *h, uint32_t instr);

/** Has the builder asked for a resync of instr since *seen? Updates *seen (cold: on_tick). */
bool feed_resync_asked(const feed_handler_t *h, uint32_t instr, uint32_t *seen);

/** on_open: every builder request so far is answered by the fresh connection (the baseline
 *  of feed_resync_due).  Thread: feed:<venue>. */
void feed_resync_rebase(feed_handler_t *h);

/** Has the builder asked for a resync of symbol i (h->instr[i]) since the last call or
 *  feed_resync_rebase()? A request is logged (WARN, through the venue's limiter when it has
 *  one) and consumed.  Thread: feed:<venue> (cold: on_tick). */
bool feed_resync_due(feed_handler_t *h, uint32_t i, int64_t now_mono);

/** Advance *i to the next symbol (from *i on) with a resync due (feed_resync_due): on_tick's
 *  `for (uint32_t i = 0; feed_resync_next(h, &i, now); i++)`. @return false past the end. */
bool feed_resync_next(feed_handler_t *h, uint32_t *i, int64_t now_mono);

/** Index of symbol s among h->instr on this connection, through slot (instrument id -> index
 *  + 1, 0: not ours; TG_INSTR_MAX entries, see feed_slots_new), or -1.  No allocation. */
static inline int feed_slot_find(const feed_handler_t *h, const uint16_t *slot, const char *s,
                                 size_t n)
{
    int64_t id = tg_instr_reg_find(h->reg, h->venue_id, s, n);
    if (id < 0 || id >= TG_INSTR_MAX || slot[id] == 0)
        return -1;
    return slot[id] - 1;
}

/** A slot table for h->instr (calloc'd, TG_INSTR_MAX entries, free() it); NULL if out of
 *  memory. Cold path. */
uint16_t *feed_slots_new(const feed_handler_t *h);

/** May s be pasted into JSON text as is (no '"', '\\' or control characters)? */
bool feed_json_safe(const char *s);

/** The i-th venue this build has a handler for (0-based); NULL past the end.  Thread: any. */
const feed_venue_t *feed_venue_at(size_t i);

/** Look a venue up by id ("binance", ...; "okx" is "okex"). NULL if unknown.  Thread: any. */
const feed_venue_t *feed_venue_find(const char *name);

/** "a, b, c" of every venue id, for "unknown venue 'X' (known: ...)" messages.
 *  @return buf.  Thread: any. */
const char *feed_venue_list(char *buf, size_t cap);

/** rest_key helper: when path (up to '?') equals route, write prefix + the lower-cased value
 *  of query argument arg ("symbol") to key. @return 0; -ENOENT (another route); -EINVAL
 *  (argument missing or too long).  Thread: any. */
int feed_rest_key_query(const char *path, const char *route, const char *arg, const char *prefix,
                        char *key, size_t cap);

/** rest_key helper: when path starts with route (".../order_book/"), write prefix + the
 *  lower-cased rest of the path (up to '?' or '/'). Same returns. */
int feed_rest_key_tail(const char *path, const char *route, const char *prefix, char *key,
                       size_t cap);

/** 64-bit FNV-1a of text, for venues whose trade ids are not numbers. */
uint64_t feed_hash_id(const char *s, size_t len);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Redis publisher formatting: key and channel names, the JSON documents of book snapshots, best
 * bid/offer, trades, candles and gaps, and the RESP encoding of SET ... PX and PUBLISH.
 *
 * Everything is written by hand into caller buffers: no allocation, no locale, no double;
 * prices and sizes go out as exact decimal strings (tg_dec_format). The documents are described
 * in docs/redis.md; the unit test parses them back with jsmn.
 *
 * Thread: any (pure functions over caller-owned buffers).
 */
#ifndef STORE_RDS_FMT_H
#define STORE_RDS_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "book/book_out.h"
#include "book/tg_instr.h"

/* Longest key or channel name (prefix up to 32 bytes + kind + interval + venue + symbol). */
#define STORE_RDS_NAME_MAX 160
/* Largest document: a 20-level book is ~2.3 KB with the longest decimals; keep slack. */
#define STORE_RDS_JSON_MAX 8192

/** Precomputed names of one instrument (built once at start).  Thread: any (immutable). */
typedef struct store_rds_names {
    uint16_t key_book_len, key_bbo_len, key_trade_len;
    uint16_t ch_book_len, ch_trades_len, ident_len;
    uint16_t candle_key_head_len, candle_ch_head_len;
    uint16_t st_book_len, st_trades_len, candle_st_head_len;
    char key_book[STORE_RDS_NAME_MAX];  /* {prefix}:book:{venue}:{symbol} */
    char key_bbo[STORE_RDS_NAME_MAX];   /* {prefix}:bbo:{venue}:{symbol} */
    char key_trade[STORE_RDS_NAME_MAX]; /* {prefix}:trade:{venue}:{symbol} */
    char ch_book[STORE_RDS_NAME_MAX];   /* {prefix}.book.{venue}.{symbol} */
    char ch_trades[STORE_RDS_NAME_MAX]; /* {prefix}.trades.{venue}.{symbol} */
    char ident[STORE_RDS_NAME_MAX];     /* "venue":"...","symbol":"..." (JSON-escaped) */
    char candle_key_head[24];           /* {prefix}:candle: */
    char candle_ch_head[24];            /* {prefix}.candles. */
    char st_book[STORE_RDS_NAME_MAX];   /* stream {prefix}:stream:book:{venue}:{symbol} */
    char st_trades[STORE_RDS_NAME_MAX]; /* stream {prefix}:stream:trades:{venue}:{symbol} */
    char candle_st_head[32];            /* {prefix}:stream:candles: */
    const tg_instr_t *in;
    bool cluster; /* names carry the hash tag {venue:symbol}; store_rds_fmt_cmd SPUBLISHes */
} store_rds_names_t;

/** Timestamps and sequence numbers every document carries. */
typedef struct store_rds_meta {
    uint64_t seq;   /* channel sequence number (the key carries its message's number) */
    uint64_t epoch; /* publisher start (realtime ns): a new epoch restarts seq at 1 */
    int64_t ts_exch;
    int64_t ts_recv;
    bool scaled;               /* px_scale/sz_scale are the record's (else the instrument's) */
    int8_t px_scale, sz_scale; /* book_out_t scales of the record being formatted */
} store_rds_meta_t;

/**
 * Build the names of one instrument.
 * @param prefix Key prefix ("tg"), 1..16 bytes of [A-Za-z0-9_-].
 * @return 0 or -ENAMETOOLONG (a name does not fit STORE_RDS_NAME_MAX), -EINVAL (bad prefix).
 * Thread: any.
 */
int store_rds_fmt_names(store_rds_names_t *n, const char *prefix, const tg_instr_t *in);

/**
 * As store_rds_fmt_names; cluster true gives the Redis Cluster names (docs/redis.md): the
 * instrument part is the hash tag {venue:symbol} in every key, channel and stream
 * (tg:book:{binance:BTCUSDT}, tg.book.{binance:BTCUSDT}, tg:candle:1m:{binance:BTCUSDT}), so
 * they share one slot, and store_rds_fmt_cmd writes SPUBLISH instead of PUBLISH.
 * @return as store_rds_fmt_names; -EINVAL also when cluster and the venue or symbol holds a
 * brace (the tag would be cut).  Thread: any.
 */
int store_rds_fmt_names_ex(store_rds_names_t *n, const char *prefix, const tg_instr_t *in,
                           bool cluster);

/** Interval text: "1s", "1m", "5m", "1h", "1d", "250ms", "7ns" (largest exact unit).
 *  @param buf At least 24 bytes. @return length.  Thread: any. */
size_t store_rds_fmt_interval(int64_t interval_ns, char *buf);

/** Candle key {prefix}:candle:{interval}:{venue}:{symbol} or channel
 *  {prefix}.candles.{interval}.{venue}.{symbol}. @param buf STORE_RDS_NAME_MAX bytes.
 *  @return length, 0 if it does not fit.  Thread: any. */
size_t store_rds_fmt_candle_key(const store_rds_names_t *n, int64_t interval_ns, char *buf);
size_t store_rds_fmt_candle_channel(const store_rds_names_t *n, int64_t interval_ns, char *buf);
/** Candle stream {prefix}:stream:candles:{interval}:{venue}:{symbol} (as above). */
size_t store_rds_fmt_candle_stream(const store_rds_names_t *n, int64_t interval_ns, char *buf);

/* JSON documents. Each returns the length written (no NUL), or 0 if cap is too small. */

/** Book snapshot: {"type":"book",venue,symbol,"seq","epoch","state","generation","exch_seq",
 *  "reason","ts_exch","ts_recv","depth_bids","depth_asks","bids":[[px,sz],...],"asks":[...]} */
size_t store_rds_fmt_book(char *buf, size_t cap, const store_rds_names_t *n,
                          const store_rds_meta_t *m, const book_out_book_t *b);

/** Best bid/offer of a book snapshot ("bid"/"ask" are [px,sz] or null). */
size_t store_rds_fmt_bbo(char *buf, size_t cap, const store_rds_names_t *n,
                         const store_rds_meta_t *m, const book_out_book_t *b);

/** Trade: {"type":"trade",...,"price","size","side":"buy"|"sell"|null,"trade_id","exch_seq"} */
size_t store_rds_fmt_trade(char *buf, size_t cap, const store_rds_names_t *n,
                           const store_rds_meta_t *m, const book_out_trade_t *t);

/** Candle (forming or closed) with exact OHLC, volumes, vwap and trade count. */
size_t store_rds_fmt_candle(char *buf, size_t cap, const store_rds_names_t *n,
                            const store_rds_meta_t *m, const book_out_candle_t *c);

/** Gap / state change of a book, published on the book channel; or (reason BOOK_GAP_TRADES)
 *  trades the venue published and nobody can fetch again, on the trades channel:
 *  {"type":"trade_gap",...,"reason":"trades","trade_id_last":X,"trade_id_next":Y} (X: the last
 *  trade id before the hole, Y: the first after it; docs/redis.md); reason BOOK_GAP_TRADES_TIME:
 *  both ids 0 and "lost_from_ts":A,"lost_to_ts":B (the hole's exchange times, ns, inclusive). */
size_t store_rds_fmt_gap(char *buf, size_t cap, const store_rds_names_t *n,
                         const store_rds_meta_t *m, const book_out_gap_t *g);

/** Book state name: "RESYNCING", "VALID", "STALE", or "UNKNOWN". */
const char *store_rds_fmt_state(unsigned state);

/* RESP commands. Each returns the length written, or 0 if cap is too small. */

/** SET key val PX ttl_ms (ttl_ms <= 0: no expiry). */
size_t store_rds_fmt_resp_set(char *buf, size_t cap, const char *key, size_t klen, const char *val,
                              size_t vlen, int64_t ttl_ms);

/** PUBLISH channel msg. */
size_t store_rds_fmt_resp_publish(char *buf, size_t cap, const char *ch, size_t chlen,
                                  const char *msg, size_t mlen);

/** PUBLISH, or with sharded SPUBLISH (Redis Cluster sharded pub/sub), channel msg. */
size_t store_rds_fmt_resp_publish_ex(char *buf, size_t cap, const char *ch, size_t chlen,
                                     const char *msg, size_t mlen, bool sharded);

/** XADD key MAXLEN ~ maxlen <id_ms>-<seq> seq <seq> doc <doc> (maxlen 0: no MAXLEN). The
 *  entry ID puts the channel number in its second part so XRANGE reads a sequence range
 *  (docs/redis.md, "Streams"). */
size_t store_rds_fmt_resp_xadd(char *buf, size_t cap, const char *key, size_t klen, uint32_t maxlen,
                               uint64_t id_ms, uint64_t seq, const char *doc, size_t dlen);

/* One call per command: a whole RESP SET or PUBLISH whose value is one JSON document. */

/** Which document a command carries (the `rec` of store_rds_fmt_cmd). */
typedef enum store_rds_doc {
    STORE_RDS_DOC_BOOK,   /* rec: const book_out_book_t * */
    STORE_RDS_DOC_BBO,    /* rec: const book_out_book_t * */
    STORE_RDS_DOC_TRADE,  /* rec: const book_out_trade_t * */
    STORE_RDS_DOC_CANDLE, /* rec: const book_out_candle_t * */
    STORE_RDS_DOC_GAP,    /* rec: const book_out_gap_t * */
} store_rds_doc_t;

/** The command around the document. */
typedef struct store_rds_cmd {
    const char *name; /* key (SET) or channel (PUBLISH) */
    size_t name_len;
    bool publish;   /* PUBLISH (SPUBLISH: cluster names) name doc; else SET name doc [PX] */
    int64_t ttl_ms; /* SET only: > 0 adds PX ttl_ms */
} store_rds_cmd_t;

/** Where the document lies inside a formatted command (to publish the same bytes again). */
typedef struct store_rds_span {
    size_t off, len;
} store_rds_span_t;

/**
 * Format one whole RESP command (SET key doc [PX ttl] or PUBLISH channel doc) with the JSON
 * document written in place: no intermediate JSON buffer, no second framing call.
 * @param doc If not NULL, receives the document's offset and length inside buf.
 * @return the command's length, or 0 if it does not fit cap (nothing usable in buf).
 * Thread: any.
 */
size_t store_rds_fmt_cmd(char *buf, size_t cap, const store_rds_cmd_t *c, store_rds_doc_t kind,
                         const store_rds_names_t *n, const store_rds_meta_t *m, const void *rec,
                         store_rds_span_t *doc);

#endif

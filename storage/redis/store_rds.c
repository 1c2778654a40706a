/* SPDX-License-Identifier: MIT */
/*
 * Redis publisher (writer:redis): turns the builder's book_out_t records into SET ... PX
 * snapshot keys and PUBLISH messages over one pipelined hiredis 0.14 connection, or on a Redis
 * Cluster ([redis] cluster) over one per primary with SPUBLISH, each instrument's commands to
 * its slot's primary. The pipelines, reply parsing and the slot map are in store_rds_pipe.c.
 *
 * DESIGN
 * Data flow: the builder pushes records into one SPSC ring; this thread is its only consumer.
 * Records are read in place (peek/release) in batches. Every record takes the next sequence
 * number of its channel (trades, book, candles per interval) the moment it is read, so a
 * message that is never sent leaves a hole in the numbers that subscribers see.
 *  - Trades, closed candles and gaps are messages: appended to the pipeline at once.
 *  - Book snapshots and forming candles go to a per-key slot (latest wins) and are sent when
 *    the batch ends (SET key + PUBLISH, plus the bbo key for books). When the publisher keeps
 *    up a batch holds one record per key and nothing coalesces; under pressure (backlog in the
 *    ring, or no connection) a newer record replaces an unsent one: `coalesced` counts it and
 *    its number is a gap on the channel. The last-trade key is coalesced the same way, but
 *    trade messages never are. Before a message is appended on a channel whose slot still
 *    holds an unsent record, that slot is sent first, so each channel's numbers only grow.
 *  - Replies are parsed with allocation-free reader callbacks (only error text is kept); a
 *    FIFO of receive stamps gives the receive -> acknowledged latency of each PUBLISH, and a
 *    FIFO of write marks the pipeline round trip.
 * Connection: blocking hiredis contexts with SO_SNDTIMEO/SO_RCVTIMEO = command timeout; any
 * I/O error or timeout drops the connection (commands in flight count as `lost`) and schedules
 * a reconnect with jittered exponential backoff. Cluster: the first connect opens every
 * primary; after that a node's failure closes its pipeline only, while the others publish on,
 * and store_rds__heal() reads the map again and reconnects it (store_rds_pipe.c, DESIGN). While
 * disconnected the ring keeps draining (messages count as `dropped`, snapshots coalesce). After a
 * connect every fresh snapshot slot is written again, so a restarted (empty) Redis has its keys
 * back at once. Shutdown: store_rds_stop() stops the worker (tg_worker.h: "writer:redis", stop flag
 * WK_R1/WK_A1, waiter woken); the thread drains the ring, sends all slots, waits for every
 * reply (one connect attempt if needed) and exits.
 * Thread: everything below runs on writer:redis except create/start/stop/destroy (main),
 * store_rds_probe (any) and the stats/last-error readers (any).
 */
#include "storage/redis/store_rds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/book_out.h"
#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_own.h"
#include "book/tg_rng.h"
#include "storage/redis/store_rds_impl.h"

void store_rds_cfg_defaults(store_rds_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->host = "127.0.0.1";
    c->port = 6379;
    c->password_env = "REDISCLI_AUTH";
    c->prefix = "tg";
    c->book_ttl_ms = 10000;
    c->bbo_ttl_ms = 60000;
    c->trade_ttl_ms = 60000;
    c->candle_ttl_margin_ms = 10000;
    c->pipeline_depth = 4096;
    c->batch = 256;
    c->connect_timeout_ms = 1000;
    c->command_timeout_ms = 2000;
    c->spin_ns = 10000;
    c->backoff_min_ms = 50;
    c->backoff_max_ms = 800;
    c->stream_backlog = 4u << 20;
}

/* ---- errors and logging ---------------------------------------------------------------- */

void store_rds__log(store_rds_t *p, int level, int err, const char *fmt, ...)
{
    char msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err) {
        pthread_mutex_lock(&p->err_mu);
        p->err = err;
        size_t n = strnlen(msg, sizeof(p->errstr) - 1);
        memcpy(p->errstr, msg, n);
        p->errstr[n] = '\0';
        pthread_mutex_unlock(&p->err_mu);
    }
    if (p->cfg.log)
        p->cfg.log(p->cfg.log_ud, level, msg);
}

int store_rds_last_error(store_rds_t *p, char *buf, size_t len)
{
    pthread_mutex_lock(&p->err_mu);
    int e = p->err;
    if (buf && len)
        snprintf(buf, len, "%s", p->errstr);
    pthread_mutex_unlock(&p->err_mu);
    return e;
}

const store_rds_stats_t *store_rds_stats(const store_rds_t *p)
{
    return &p->st;
}

/* ---- connection ------------------------------------------------------------------------ */

static uint64_t rds_rand(store_rds_t *p)
{
    return tg_rng_xorshift64(&p->rng);
}

int64_t store_rds__backoff(store_rds_t *p, int64_t now)
{
    int64_t b = p->backoff_ms;
    int64_t wait = b / 2 + (int64_t)(rds_rand(p) % (uint64_t)(b / 2 + 1)); /* [b/2, b] */
    p->next_try = now + wait * TG_NS_PER_MS;
    p->backoff_ms = b * 2 > p->cfg.backoff_max_ms ? p->cfg.backoff_max_ms : b * 2;
    return wait;
}

static void slot_mark(store_rds_t *p, uint32_t i, unsigned k);
static void flush_dirty(store_rds_t *p);
static void restore(store_rds_t *p, int node);

static void conn_try(store_rds_t *p)
{
    char errbuf[200];
    int err = store_rds__connect(p, errbuf, sizeof(errbuf));
    int64_t now = tg_clock_mono_ns();
    if (err) {
        TG_STAT_INC(p->st.errors);
        p->final_err = err;
        p->fails++;
        int64_t wait = store_rds__backoff(p, now);
        if (p->fails == 1 || p->fails % 20 == 0)
            store_rds__log(p, TG_LOG_ERROR, err, "redis %s: %s (attempt %u, retry in %lld ms)",
                           p->conn.where, errbuf, p->fails, (long long)wait);
        return;
    }
    p->backoff_ms = p->cfg.backoff_min_ms;
    p->fails = 0;
    p->final_err = 0;
    if (p->ever_connected)
        TG_STAT_INC(p->st.reconnects);
    uint64_t lost = TG_STAT_GET(p->st.lost), dropped = TG_STAT_GET(p->st.dropped);
    if (p->ever_connected)
        store_rds__log(p, TG_LOG_INFO, 0,
                       "redis %s: connected again; since the last connection %llu commands lost in "
                       "flight, %llu messages dropped while disconnected; re-sending %llu stream "
                       "entries",
                       p->conn.where, (unsigned long long)(lost - p->lost_mark),
                       (unsigned long long)(dropped - p->dropped_mark),
                       (unsigned long long)p->bl.records);
    else
        store_rds__log(p, TG_LOG_INFO, 0, "redis %s: connected (%d node%s)", p->conn.where,
                       p->n_pipe, p->n_pipe == 1 ? "" : "s");
    p->lost_mark = lost;
    p->dropped_mark = dropped;
    restore(p, -1);
}

/* Mark instrument i's fresh keys dirty (written again at the next flush). @return keys. */
static uint32_t restore_keys(store_rds_t *p, uint32_t i)
{
    rds_inst_t *I = &p->inst[i];
    uint32_t restored = 0;
    for (unsigned k = 0; k < SLOT_CANDLE0 + p->n_ivl; k++) {
        rds_slot_t *s = &I->slot[k];
        int64_t ttl = k == SLOT_BOOK    ? p->cfg.book_ttl_ms
                      : k == SLOT_TRADE ? p->cfg.trade_ttl_ms
                                        : p->ivl_ns[k - SLOT_CANDLE0] / TG_NS_PER_MS +
                                              p->cfg.candle_ttl_margin_ms;
        if (s->valid && !s->dirty && p->now - s->touched_mono < ttl * TG_NS_PER_MS) {
            slot_mark(p, i, k);
            restored++;
        }
    }
    return restored;
}

void store_rds__restore_inst(store_rds_t *p, uint32_t i)
{
    (void)restore_keys(p, i);
}

void store_rds__restore_node(store_rds_t *p, int node)
{
    restore(p, node);
}

/* After a connect (node -1: every pipeline; else that one): the stream backlog, the fresh
 * keys, then a hello on the control channel. */
static void restore(store_rds_t *p, int node)
{
    /* Stream entries first (lower numbers than anything sent from now on): those Redis holds
     * are refused by their IDs (stream_dups), the others fill the streams again. */
    uint64_t pos = p->bl.head;
    size_t len;
    p->now = tg_clock_mono_ns();
    if (node >= 0 && p->pipe[node].bl_safe > pos) /* what it surely holds is not sent again */
        pos = p->pipe[node].bl_safe;
    while (p->up && (len = store_rds_backlog_next(&p->bl, &pos, p->xadd, sizeof(p->xadd)))) {
        int n = store_rds__node_of_cmd(p, p->xadd, len);
        if ((node < 0 || n == node) && store_rds__push(p, n, p->xadd, len, 0, 0))
            TG_STAT_INC(p->st.stream_resent);
    }
    p->ever_connected = true;
    /* Restore every fresh key (Redis may have restarted empty); unsent messages follow. */
    uint32_t restored = 0;
    for (uint32_t i = 0; i < p->n_inst; i++)
        if (node < 0 || p->inst[i].node == (uint16_t)node)
            restored += restore_keys(p, i);
    flush_dirty(p);
    /* Then say so on the control channel: a client that re-joined a Redis still empty reads
     * its keys again on this (docs/redis.md, "Control channel"). */
    char doc[128], cmd[256], ch[40];
    int dl = snprintf(doc, sizeof(doc), "{\"type\":\"hello\",\"epoch\":%llu,\"keys\":%u}",
                      (unsigned long long)p->epoch, restored);
    int cl = snprintf(ch, sizeof(ch), "%s.control", p->prefix);
    len = store_rds_fmt_resp_publish_ex(cmd, sizeof(cmd), ch, (size_t)cl, doc, (size_t)dl,
                                        p->cluster);
    int cn = p->cluster ? rds_cluster_node_of(p->map, p->control_slot) : 0;
    if (p->up && len && cn >= 0 && store_rds__push(p, cn, cmd, len, 0, 0))
        TG_STAT_INC(p->st.hellos);
}

/* Format one whole command (one call: store_rds_fmt_cmd) into p->cmd and queue it; *doc
 * tells where its document lies in p->cmd. @return false if it did not fit (counted). */
static bool send_doc(store_rds_t *p, int node, const store_rds_cmd_t *c, store_rds_doc_t kind,
                     const store_rds_names_t *n, const store_rds_meta_t *m, const void *rec,
                     int64_t mono, int lk, store_rds_span_t *doc)
{
    size_t len = store_rds_fmt_cmd(p->cmd, sizeof(p->cmd), c, kind, n, m, rec, doc);
    if (!len) {
        TG_STAT_INC(p->st.bad_records);
        return false;
    }
    if (!c->publish) {
        if (store_rds__push(p, node, p->cmd, len, 0, 0))
            TG_STAT_INC(p->st.snapshots);
    } else if (store_rds__push(p, node, p->cmd, len, mono > 0 ? mono : 1, lk)) {
        TG_STAT_INC(p->st.messages);
    }
    return true;
}

/* PUBLISH the document of the command just queued from p->cmd again, on channel ch. */
static void send_pub_again(store_rds_t *p, int node, const char *ch, size_t chlen,
                           const store_rds_span_t *doc, int64_t mono, int lk)
{
    size_t len = store_rds_fmt_resp_publish_ex(p->json, sizeof(p->json), ch, chlen,
                                               p->cmd + doc->off, doc->len, p->cluster);
    if (!len) {
        TG_STAT_INC(p->st.bad_records);
        return;
    }
    if (store_rds__push(p, node, p->json, len, mono > 0 ? mono : 1, lk))
        TG_STAT_INC(p->st.messages);
}

/* XADD a message's document (already formatted) to its stream, entry ID <epoch_ms>-<seq>;
 * kept in the backlog too (re-sent after a reconnect). Disconnected: the backlog only. */
static void stream_add(store_rds_t *p, int node, uint32_t maxlen, const char *key, size_t klen,
                       uint64_t seq, const char *doc, size_t dlen)
{
    size_t len = store_rds_fmt_resp_xadd(p->xadd, sizeof(p->xadd), key, klen, maxlen, p->epoch_ms,
                                         seq, doc, dlen);
    if (!len) {
        TG_STAT_INC(p->st.bad_records);
        return;
    }
    uint64_t ev = p->bl.evicted;
    store_rds_backlog_put(&p->bl, p->xadd, len);
    /* cluster: not to a node that refused a write (CLUSTERDOWN) until its backlog is re-sent:
     * an entry after a refused one would make the refused one impossible to add */
    if (!p->up || node >= p->n_pipe || !p->pipe[node].ctx || p->pipe[node].restore)
        TG_STAT_ADD(p->st.stream_evicted, p->bl.evicted - ev);
    else if (store_rds__push(p, node, p->xadd, len, 0, 0))
        TG_STAT_INC(p->st.stream_adds);
}

/* ---- slots ----------------------------------------------------------------------------- */

static void slot_mark(store_rds_t *p, uint32_t i, unsigned k)
{
    rds_slot_t *s = &p->inst[i].slot[k];
    if (s->dirty)
        return;
    if (p->dlist_n == p->dlist_cap)
        flush_dirty(p);
    if (p->dlist_n == p->dlist_cap) /* disconnected and full: cannot happen (cap >= slots) */
        return;
    s->dirty = 1;
    p->dlist[p->dlist_n++] = i << 4 | k;
}

/* Send one dirty slot (SET, PUBLISH if unsent). Needs a connection. */
static void slot_send(store_rds_t *p, uint32_t i, unsigned k)
{
    rds_inst_t *I = &p->inst[i];
    rds_slot_t *s = &I->slot[k];
    const store_rds_names_t *n = &I->names;
    store_rds_span_t doc;
    if (!s->dirty || !store_rds__inst_up(p, I))
        return;
    if (k == SLOT_BOOK) {
        I->m_book.seq = s->seq;
        store_rds_cmd_t c = {n->key_book, n->key_book_len, false, p->cfg.book_ttl_ms};
        if (send_doc(p, I->node, &c, STORE_RDS_DOC_BOOK, n, &I->m_book, &I->book, 0, 0, &doc)) {
            if (s->pub)
                send_pub_again(p, I->node, n->ch_book, n->ch_book_len, &doc, I->mono_book,
                               I->lk_book);
            if (s->pub && p->cfg.stream_books)
                stream_add(p, I->node, p->cfg.stream_books, n->st_book, n->st_book_len, s->seq,
                           p->cmd + doc.off, doc.len);
            c = (store_rds_cmd_t){n->key_bbo, n->key_bbo_len, false, p->cfg.bbo_ttl_ms};
            send_doc(p, I->node, &c, STORE_RDS_DOC_BBO, n, &I->m_book, &I->book, 0, 0, NULL);
        }
    } else if (k == SLOT_TRADE) {
        I->m_trade.seq = s->seq;
        store_rds_cmd_t c = {n->key_trade, n->key_trade_len, false, p->cfg.trade_ttl_ms};
        send_doc(p, I->node, &c, STORE_RDS_DOC_TRADE, n, &I->m_trade, &I->trade, 0, 0, NULL);
    } else {
        unsigned c = k - SLOT_CANDLE0;
        const book_out_candle_t *cd = &I->candle[c];
        I->m_candle[c].seq = s->seq;
        size_t kl = store_rds_fmt_candle_key(n, cd->interval_ns, p->name);
        store_rds_cmd_t cm = {p->name, kl, false,
                              cd->interval_ns / TG_NS_PER_MS + p->cfg.candle_ttl_margin_ms};
        if (kl &&
            send_doc(p, I->node, &cm, STORE_RDS_DOC_CANDLE, n, &I->m_candle[c], cd, 0, 0, &doc)) {
            kl = store_rds_fmt_candle_channel(n, cd->interval_ns, p->name);
            if (kl && s->pub)
                send_pub_again(p, I->node, p->name, kl, &doc, I->mono_candle[c], I->lk_candle[c]);
            kl = p->cfg.stream_candles ? store_rds_fmt_candle_stream(n, cd->interval_ns, p->sname)
                                       : 0;
            if (kl && s->pub)
                stream_add(p, I->node, p->cfg.stream_candles, p->sname, kl, s->seq,
                           p->cmd + doc.off, doc.len);
        }
    }
    if (store_rds__inst_up(p, I)) /* still connected: the slot went out */
        s->dirty = s->pub = 0;
}

static void flush_dirty(store_rds_t *p)
{
    if (!p->up)
        return;
    uint32_t w = 0; /* slots whose pipeline is down (cluster) or dropped midway stay dirty */
    for (uint32_t k = 0; k < p->dlist_n; k++) {
        uint32_t e = p->dlist[k];
        slot_send(p, e >> 4, e & 15);
        if (p->inst[e >> 4].slot[e & 15].dirty)
            p->dlist[w++] = e;
    }
    p->dlist_n = w;
}

/* Store a record in its slot (latest wins); an unsent message it replaces is coalesced. */
static rds_slot_t *slot_take(store_rds_t *p, uint32_t i, unsigned k, uint64_t seq, bool pub)
{
    rds_slot_t *s = &p->inst[i].slot[k];
    if (s->dirty && s->pub)
        TG_STAT_INC(p->st.coalesced);
    s->seq = seq;
    s->valid = 1;
    s->pub = pub;
    s->touched_mono = p->now;
    slot_mark(p, i, k);
    return s;
}

static int ivl_index(store_rds_t *p, int64_t ns)
{
    for (uint32_t i = 0; i < p->n_ivl; i++)
        if (p->ivl_ns[i] == ns)
            return (int)i;
    if (p->n_ivl == RDS_IVL_MAX || ns <= 0)
        return -1;
    p->ivl_ns[p->n_ivl] = ns;
    return (int)p->n_ivl++;
}

static void meta_of(store_rds_t *p, store_rds_meta_t *m, const book_out_t *r)
{
    m->epoch = p->epoch;
    m->ts_exch = r->ts_exch;
    m->ts_recv = r->ts_recv;
    m->scaled = (r->flags & BOOK_OUT_F_SCALED) != 0;
    m->px_scale = r->px_scale;
    m->sz_scale = r->sz_scale;
}

/* A message not sent: a hole in its channel's numbers, or, on a standby, the leader's. */
static void count_unsent(store_rds_t *p)
{
    if (p->lease_on && !p->lease.leader)
        TG_STAT_INC(p->st.standby);
    else
        TG_STAT_INC(p->st.dropped);
}

/* A numbered message that is no key: a book's gap on its book channel, or trades lost at the
 * venue (BOOK_GAP_TRADES[_TIME]: a trade_gap on the trades channel, the last-trade key staying the
 * last trade). The pending snapshot of the channel's slot goes first, so its numbers stay in
 * order; the stream (when the channel kind has one) gets the message too, while Redis is down
 * only for trades (as trades do). */
static void ingest_gap(store_rds_t *p, uint32_t i, const book_out_t *r)
{
    rds_inst_t *I = &p->inst[i];
    const store_rds_names_t *n = &I->names;
    bool tg = r->u.gap.reason == BOOK_GAP_TRADES || r->u.gap.reason == BOOK_GAP_TRADES_TIME;
    uint64_t seq = tg ? ++I->seq_trades : ++I->seq_book;
    uint32_t maxlen = tg ? p->cfg.stream_trades : p->cfg.stream_books;
    slot_send(p, i, tg ? SLOT_TRADE : SLOT_BOOK);
    bool up = store_rds__inst_up(p, I);
    if (!up)
        count_unsent(p);
    if (!up && (!tg || !maxlen))
        return;
    store_rds_meta_t m;
    meta_of(p, &m, r);
    m.seq = seq;
    store_rds_cmd_t c = {tg ? n->ch_trades : n->ch_book, tg ? n->ch_trades_len : n->ch_book_len,
                         true, 0};
    store_rds_span_t doc;
    if (send_doc(p, I->node, &c, STORE_RDS_DOC_GAP, n, &m, &r->u.gap, r->ts_mono,
                 book_out_lat_kind(r), &doc) &&
        maxlen)
        stream_add(p, I->node, maxlen, tg ? n->st_trades : n->st_book,
                   tg ? n->st_trades_len : n->st_book_len, seq, p->cmd + doc.off, doc.len);
}

static void ingest(store_rds_t *p, const book_out_t *r)
{
    if (r->instr >= p->n_inst) {
        TG_STAT_INC(p->st.bad_records);
        return;
    }
    uint32_t i = r->instr;
    rds_inst_t *I = &p->inst[i];
    const store_rds_names_t *n = &I->names;
    switch (r->kind) {
    case BOOK_OUT_TRADE: {
        uint64_t seq = ++I->seq_trades;
        meta_of(p, &I->m_trade, r);
        I->m_trade.seq = seq;
        I->trade = r->u.trade;
        bool up = store_rds__inst_up(p, I);
        if (!up)
            count_unsent(p); /* the PUBLISH; a stream still gets the entry */
        if (up || p->cfg.stream_trades) {
            store_rds_cmd_t c = {n->ch_trades, n->ch_trades_len, true, 0};
            store_rds_span_t doc;
            if (send_doc(p, I->node, &c, STORE_RDS_DOC_TRADE, n, &I->m_trade, &I->trade, r->ts_mono,
                         book_out_lat_kind(r), &doc) &&
                p->cfg.stream_trades)
                stream_add(p, I->node, p->cfg.stream_trades, n->st_trades, n->st_trades_len, seq,
                           p->cmd + doc.off, doc.len);
        }
        slot_take(p, i, SLOT_TRADE, seq, false);
        break;
    }
    case BOOK_OUT_BOOK: {
        uint64_t seq = ++I->seq_book;
        slot_take(p, i, SLOT_BOOK, seq, true);
        meta_of(p, &I->m_book, r);
        I->mono_book = r->ts_mono;
        I->lk_book = (uint8_t)book_out_lat_kind(r);
        I->book = r->u.book;
        break;
    }
    case BOOK_OUT_GAP:
        ingest_gap(p, i, r);
        break;
    case BOOK_OUT_CANDLE: {
        int c = ivl_index(p, r->u.candle.interval_ns);
        if (c < 0) {
            TG_STAT_INC(p->st.bad_records);
            break;
        }
        uint64_t seq = ++I->seq_candle[c];
        unsigned k = SLOT_CANDLE0 + (unsigned)c;
        bool now = r->u.candle.closed && store_rds__inst_up(p, I);
        slot_take(p, i, k, seq, true);
        meta_of(p, &I->m_candle[c], r);
        I->mono_candle[c] = r->ts_mono;
        I->lk_candle[c] = (uint8_t)book_out_lat_kind(r);
        I->candle[c] = r->u.candle;
        if (now) /* a closed candle is a message: never coalesced when connected */
            slot_send(p, i, k);
        break;
    }
    default:
        TG_STAT_INC(p->st.bad_records);
        break;
    }
}

/* ---- thread ---------------------------------------------------------------------------- */

/* ---- redundant gateways (store_rds_lease.h) --------------------------------------------- */

static bool publishing(const store_rds_t *p)
{
    return !p->lease_on || p->lease.leader;
}

/* Won the lease: publish as a new epoch whose numbers start at 1 on every channel, beginning
 * with the books and candles this standby kept (subscribers re-join on the epoch change, as
 * after a restart). The last trade is forgotten: its key would carry the standby's numbers. */
static void promote(store_rds_t *p)
{
    p->epoch = (uint64_t)tg_clock_realtime_ns();
    p->epoch_ms = p->epoch / 1000000u;
    for (uint32_t k = 0; k < p->dlist_n; k++)
        p->inst[p->dlist[k] >> 4].slot[p->dlist[k] & 15].dirty = 0;
    p->dlist_n = 0;
    for (uint32_t i = 0; i < p->n_inst; i++) {
        rds_inst_t *I = &p->inst[i];
        I->seq_book = I->seq_trades = 0;
        I->m_book.epoch = I->m_trade.epoch = p->epoch;
        I->slot[SLOT_TRADE].valid = 0;
        if (I->slot[SLOT_BOOK].valid) {
            I->slot[SLOT_BOOK].seq = ++I->seq_book;
            I->slot[SLOT_BOOK].pub = 1;
            slot_mark(p, i, SLOT_BOOK);
        }
        for (uint32_t c = 0; c < p->n_ivl; c++) {
            rds_slot_t *s = &I->slot[SLOT_CANDLE0 + c];
            I->seq_candle[c] = 0;
            I->m_candle[c].epoch = p->epoch;
            if (s->valid) {
                s->seq = ++I->seq_candle[c];
                s->pub = 1;
                slot_mark(p, i, SLOT_CANDLE0 + c);
            }
        }
    }
    TG_STAT_INC(p->st.promotions);
    TG_STAT_SET(p->st.leader, 1);
    p->next_try = 0; /* connect at once */
    store_rds__log(p, TG_LOG_WARN, 0,
                   "redis %s: holds the lease %s (%u ms): publishing as epoch %llu, from the books "
                   "and candles kept while standby",
                   p->conn.where, p->lease.key, p->lease.lease_ms, (unsigned long long)p->epoch);
}

/* Lost the lease (taken, or not renewed in time): stop publishing at once; what is in flight
 * is already sent. */
static void demote(store_rds_t *p)
{
    if (p->up)
        store_rds__flush(p, 0);
    store_rds__close(p);
    TG_STAT_SET(p->st.leader, 0);
    TG_STAT_INC(p->st.demotions);
    store_rds__log(p, TG_LOG_WARN, 0, "redis %s: lost the lease %s (%s): standby, not publishing",
                   p->conn.where, p->lease.key, p->lease.err);
}

/* Where the lease key lives: the Redis, or on a cluster the primary of the key's slot. The
 * publisher's map serves while it publishes; a standby (no pipelines) reads the map itself
 * whenever the lease has no connection. NULL: no map could be read (the tick waits). */
static const store_rds_conn_t *lease_conn(store_rds_t *p, store_rds_conn_t *nc)
{
    if (!p->cluster)
        return &p->conn;
    char eb[200];
    if (!p->up && !p->lease.ctx && store_rds__cluster_map(p, eb, sizeof(eb)) < 0) {
        snprintf(p->lease.err, sizeof(p->lease.err), "%s", eb);
        return NULL;
    }
    int node =
        p->map->n_nodes
            ? rds_cluster_node_of(p->map, rds_cluster_keyslot(p->lease.key, strlen(p->lease.key)))
            : -1;
    if (node < 0)
        return NULL;
    store_rds__node_conn(nc, &p->conn, &p->map->nodes[node]);
    store_rds_lease_target(&p->lease, nc->host, nc->port);
    return nc;
}

static void lease_step(store_rds_t *p)
{
    store_rds_conn_t nc;
    const store_rds_conn_t *c = lease_conn(p, &nc);
    if (!c) {
        p->lease.next = tg_clock_mono_ns() + (int64_t)p->lease.lease_ms * 1000000 / 3;
        if (p->lease.leader && tg_clock_mono_ns() >= p->lease.until) {
            p->lease.leader = false; /* the lease ran out while no node could be asked */
            snprintf(p->lease.err, sizeof(p->lease.err), "no slot map to find the lease key");
            demote(p);
        }
        return;
    }
    int r = store_rds_lease_tick(&p->lease, c, tg_clock_mono_ns());
    if (p->cluster && p->up && !p->lease.ctx && !p->heal) { /* the key's primary failed? */
        p->heal = true;
        p->heal_at = tg_clock_mono_ns();
    }
    if (r == STORE_RDS_LEASE_WON)
        promote(p);
    else if (r == STORE_RDS_LEASE_LOST)
        demote(p);
}

/* Read one batch (up to RDS_WINDOW_MAX while disconnected). @return records read. */
static uint32_t drain(store_rds_t *p)
{
    uint32_t total = 0, rounds = 0;
    for (;;) {
        uint32_t n = 0;
        const book_out_t *recs = tg_ring_spsc_peek(p->ring, &n);
        if (n == 0)
            break;
        if (n > p->cfg.batch)
            n = p->cfg.batch;
        p->now = tg_clock_mono_ns();
        for (uint32_t k = 0; k < n; k++) {
            const book_out_t *r = &recs[k];
            int lk = book_out_lat_kind(r);
            if (r->ts_mono > 0)
                tg_hist_add(&p->st.lat_pop[lk], p->now - r->ts_mono);
            if (r->ts_out > 0)
                tg_hist_add(&p->st.lat_ring[lk], p->now - r->ts_out);
            ingest(p, r);
        }
        tg_ring_spsc_release(p->ring, n);
        total += n;
        TG_STAT_ADD(p->st.records, n);
        /* Connected: one batch per round, then send, so formatting overlaps the server's work.
         * Disconnected: read on (up to a window) so the ring never fills. */
        if (p->up || ++rounds >= RDS_WINDOW_MAX)
            break;
    }
    return total;
}

/* Busy-poll the ring for up to cfg.spin_ns before sleeping: a futex sleep/wake pair costs a
 * membarrier, two syscalls and the scheduler's wake-up latency (docs/latency.md).
 * @return true if a record arrived. */
static bool spin_ring(store_rds_t *p)
{
    return tg_ring_spin(p->ring, p->cfg.spin_ns); /* book/tg_ring.h */
}

static void rds_main(void *arg)
{
    store_rds_t *p = arg;
    for (;;) {
        /* WK_A1 (tg_worker.h): pairs with WK_R1 in store_rds_stop() -> tg_worker_stop(). */
        bool stopping = tg_worker_stopping(&p->wk);
        if (p->lease_on && !stopping)
            lease_step(p);
        if (!p->up && tg_clock_mono_ns() >= p->next_try && !stopping && publishing(p))
            conn_try(p);
        if (p->up && p->heal)
            store_rds__heal(p); /* cluster: a node down or a slot moved (paced) */
        uint32_t got = drain(p);
        if (p->up) {
            flush_dirty(p);
            store_rds__flush(p, got >= p->cfg.batch ? p->cfg.pipeline_depth : 0);
        }
        if (got)
            continue;
        if (stopping)
            break;
        if (spin_ring(p))
            continue;
        tg_waiter_prepare(&p->waiter);
        if (tg_ring_count(p->ring) || tg_worker_stopping(&p->wk)) {
            tg_waiter_cancel(&p->waiter);
            continue;
        }
        int64_t wait = TG_NS_PER_SEC;
        if (!p->up && publishing(p)) {
            wait = p->next_try - tg_clock_mono_ns();
            if (wait < 0)
                wait = 0;
        }
        if (p->up && p->heal && store_rds__heal_state(p) == RDS_HEAL_IDLE) {
            int64_t h = p->heal_at - tg_clock_mono_ns(); /* the next map read is due then */
            wait = h < 0 ? 0 : h < wait ? h : wait;
        } /* (being read: the heal thread wakes this one with the answer) */
        if (p->cluster && store_rds__any_slow(p) && wait > RDS_SLOW_POLL_NS)
            wait = RDS_SLOW_POLL_NS; /* read what a slow node answers, see when it times out */
        if (p->lease_on) {           /* the next acquire or renew is due then */
            int64_t l = p->lease.next - tg_clock_mono_ns();
            wait = l < 0 ? 0 : l < wait ? l : wait;
        }
        tg_waiter_wait(&p->waiter, wait);
    }
    /* Final flush: the ring is empty; one more connect if needed, then wait for replies. */
    if (!p->up && publishing(p))
        conn_try(p);
    if (p->up && p->heal) { /* one more try for a node down, within command_timeout_ms */
        p->heal_at = 0;
        store_rds__heal(p); /* asks (or takes an answer ready) */
        int64_t end = tg_clock_mono_ns() + (int64_t)p->conn.command_timeout_ms * TG_NS_PER_MS;
        while (store_rds__heal_state(p) == RDS_HEAL_ASKED && tg_clock_mono_ns() < end) {
            tg_waiter_prepare(&p->waiter);
            if (store_rds__heal_state(p) != RDS_HEAL_ASKED) {
                tg_waiter_cancel(&p->waiter);
                break;
            }
            tg_waiter_wait(&p->waiter, end - tg_clock_mono_ns());
        }
        store_rds__heal(p); /* takes it */
    }
    store_rds__heal_stop(p, false);
    if (p->up) {
        flush_dirty(p);
        store_rds__flush_wait(p, 0, RDS_FLUSH_ALL); /* every reply read, or the node dropped */
    }
    if (p->up)
        p->final_err = 0;
    if (p->dlist_n)
        TG_STAT_ADD(p->st.dropped, p->dlist_n);
    store_rds__close(p);
    if (p->lease_on) { /* let the other gateway take over now, not at the lease's end */
        store_rds_conn_t nc;
        const store_rds_conn_t *c = lease_conn(p, &nc);
        if (c)
            store_rds_lease_release(&p->lease, c);
        TG_STAT_SET(p->st.leader, 0);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static void rds_main(void *arg);

/* Cluster mode: what it does not support is refused here, naming the setting. */
static int cluster_check(const store_rds_cfg_t *cfg, const store_rds_conn_t *cc, char *why,
                         size_t len)
{
    if (cc->db != 0)
        snprintf(why, len, "[redis] db (or the URL's /db) must be 0 with [redis] cluster");
    else if (cc->unix_path[0])
        snprintf(why, len, "[redis] url: a unix socket cannot be used with [redis] cluster");
    else
        return 0;
    return -EINVAL;
}

static int cluster_init(store_rds_t *p, const store_rds_cfg_t *cfg)
{
    char why[200];
    int err = cluster_check(cfg, &p->conn, why, sizeof(why));
    p->seeds = calloc(16, sizeof(*p->seeds));
    p->map = calloc(1, sizeof(*p->map));
    if (!err && (!p->seeds || !p->map))
        return -ENOMEM;
    if (!err) {
        p->n_seeds = rds_cluster_parse_seeds(cfg->cluster, p->seeds, 16, why, sizeof(why));
        err = p->n_seeds < 0 ? p->n_seeds : 0;
    }
    if (err) {
        if (cfg->log)
            cfg->log(cfg->log_ud, TG_LOG_ERROR, why);
        return err;
    }
    p->cluster = true;
    snprintf(p->conn.where, sizeof(p->conn.where), "cluster %s:%d", p->seeds[0].host,
             p->seeds[0].port);
    char ch[40];
    int cl = snprintf(ch, sizeof(ch), "%s.control", cfg->prefix);
    p->control_slot = rds_cluster_keyslot(ch, (size_t)cl);
    return 0;
}

/* What create allocated (each part may be absent: create failed before it). */
static void rds_release(store_rds_t *p)
{
    store_rds_backlog_deinit(&p->bl);
    store_rds__pipes_deinit(p);
    free(p->inst);
    free(p->dlist);
    free(p->seeds);
    free(p->map);
    store_rds_conn_deinit(&p->conn);
}

int store_rds_create(store_rds_t **out, const store_rds_cfg_t *cfg)
{
    if (!out || !cfg || !cfg->ring || !cfg->reg || !cfg->prefix || cfg->batch == 0 ||
        cfg->pipeline_depth < 2 || cfg->book_ttl_ms < 0 || cfg->bbo_ttl_ms < 0 ||
        cfg->trade_ttl_ms < 0 || cfg->candle_ttl_margin_ms < 0 || cfg->backoff_min_ms <= 0 ||
        cfg->backoff_max_ms < cfg->backoff_min_ms || strlen(cfg->prefix) >= 24)
        return -EINVAL;
    store_rds_t *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    int err = store_rds_conn_init(&p->conn, cfg);
    if (err)
        goto fail;
    p->cfg = *cfg;
    strcpy(p->prefix, cfg->prefix);
    p->cfg.prefix = p->prefix;
    p->cfg.url = p->cfg.host = p->cfg.username = p->cfg.password = p->cfg.password_env = NULL;
    p->cfg.cluster = NULL;
    if (cfg->cluster && cfg->cluster[0] && (err = cluster_init(p, cfg)) < 0)
        goto fail;
    p->ring = cfg->ring;
    p->reg = cfg->reg;
    pthread_mutex_init(&p->err_mu, NULL);
    p->n_inst = tg_instr_reg_count(cfg->reg);
    err = -ENOMEM;
    p->inst = calloc(p->n_inst ? p->n_inst : 1, sizeof(*p->inst));
    p->dlist_cap = (p->n_inst ? p->n_inst : 1) * (SLOT_CANDLE0 + RDS_IVL_MAX);
    p->dlist = calloc(p->dlist_cap, sizeof(*p->dlist));
    if (!p->inst || !p->dlist || (err = store_rds__pipes_init(p)) < 0)
        goto fail;
    for (uint32_t i = 0; i < p->n_inst; i++) {
        const tg_instr_t *in = tg_instr_reg_get(cfg->reg, i);
        err = store_rds_fmt_names_ex(&p->inst[i].names, p->prefix, in, p->cluster);
        if (err)
            goto fail;
        char tag[STORE_RDS_NAME_MAX]; /* the hash tag of every name: venue:symbol */
        int tl = snprintf(tag, sizeof(tag), "%s:%s", in->venue, in->symbol);
        size_t n = tl < 0 ? 0 : (size_t)tl < sizeof(tag) ? (size_t)tl : sizeof(tag) - 1;
        p->inst[i].cslot = rds_cluster_keyslot(tag, n);
    }
    p->epoch = (uint64_t)tg_clock_realtime_ns();
    p->epoch_ms = p->epoch / 1000000u;
    if ((cfg->stream_trades || cfg->stream_books || cfg->stream_candles) &&
        (err = store_rds_backlog_init(&p->bl, cfg->stream_backlog)) < 0)
        goto fail;
    p->rng = p->epoch | 1;
    p->backoff_ms = cfg->backoff_min_ms;
    if (cfg->leader_group && cfg->leader_group[0]) {
        if ((err = store_rds_lease_init(&p->lease, p->prefix, cfg->leader_group, cfg->instance,
                                        p->epoch,
                                        cfg->leader_lease_ms ? cfg->leader_lease_ms : 2000)) < 0)
            goto fail;
        p->lease_on = true;
    } else {
        TG_STAT_SET(p->st.leader, 1);
    }
    p->cfg.leader_group = p->cfg.instance = NULL; /* copied into the lease */
    tg_waiter_init(&p->waiter);
    tg_ring_set_waiter(p->ring, &p->waiter);
    tg_worker_cfg_t wc = {.name = "writer:redis", .main = rds_main, .arg = p, .waiter = &p->waiter};
    if ((err = tg_worker_init(&p->wk, &wc)) < 0)
        goto fail;
    *out = p;
    return 0;
fail:
    rds_release(p);
    free(p);
    return err;
}

int store_rds_role(const store_rds_t *p)
{
    if (!p->lease_on) /* immutable after create */
        return 0;
    return TG_STAT_GET(p->st.leader) ? 1 : 2;
}

int store_rds_start(store_rds_t *p)
{
    TG_CHECK_ARG(p, -EINVAL);
    return tg_worker_start(&p->wk);
}

int store_rds_stop(store_rds_t *p)
{
    if (!p || !tg_worker_running(&p->wk))
        return 0;
    tg_worker_stop(&p->wk); /* WK_R1: the stop request; rds_main sees it at WK_A1 */
    return p->final_err;
}

void store_rds_destroy(store_rds_t **pp)
{
    store_rds_t *p = tg_own_take(pp);
    if (!p)
        return;
    store_rds_stop(p);
    tg_ring_set_waiter(p->ring, NULL);
    rds_release(p);
    pthread_mutex_destroy(&p->err_mu);
    free(p);
}

int store_rds_probe(const store_rds_cfg_t *cfg, char *errbuf, size_t len)
{
    store_rds_conn_t cc;
    char tmp[200];
    int err = store_rds_conn_init(&cc, cfg);
    if (err) {
        if (errbuf && len)
            snprintf(errbuf, len, "redis: invalid configuration (url/host/port/db)");
        return err;
    }
    if (cfg->cluster && cfg->cluster[0]) { /* the slot map, then every primary's handshake */
        err = cluster_check(cfg, &cc, tmp, sizeof(tmp));
        if (!err)
            err = store_rds__cluster_probe(cfg, &cc, tmp, sizeof(tmp));
    } else {
        redisContext *c = store_rds_conn_open(&cc, &err, tmp, sizeof(tmp));
        redisFree(c);
    }
    if (err && errbuf && len)
        snprintf(errbuf, len, "%s", tmp);
    store_rds_conn_deinit(&cc);
    return err;
}

/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client: connections, channels, the join, holes, recovery and events.
 *
 * DESIGN
 * Two Redis connections. `sub` carries SUBSCRIBE/PSUBSCRIBE; hiredis opens it (connect, AUTH,
 * SELECT) and then only its fd is used: frames are read into one fixed buffer (cfg.read_buffer)
 * and parsed in place by a small RESP reader, documents by jsmn with tokens on the stack, so a
 * message costs no allocation. `cmd` (plain hiredis, blocking with timeouts) does the GET/SCAN
 * of joins and recoveries; those allocate (hiredis replies), steady state does not.
 *
 * Join (docs/redis.md): send every SUBSCRIBE/PSUBSCRIBE, wait for all confirmations while
 * leaving the messages that arrive meanwhile in the buffer (a scan cursor walks past them),
 * then SCAN the key space for pattern subscriptions, GET every channel's key, apply the keys,
 * then the buffered and new messages. One rule applies every document, key or message
 * (chan_apply): a different epoch is a publisher restart; seq <= last is already covered; a
 * jump is a hole of seq - last - 1 messages, reported before the document that showed it.
 * Book and candle documents are full snapshots, so their holes recover at once; a book hole
 * shown by a gap document (no levels) re-reads the book key at once; trade holes are lost
 * trades (recovered = 0) unless the channel's Redis Stream holds them: stream_fill() XRANGEs
 * the missing numbers, reports the hole with `filled`, and the entries are delivered one per
 * step (from_key = 2) before the document that showed the hole is applied again (its frame or
 * key reply is kept). A lost connection: DISCONNECTED, reconnect with jittered backoff (a
 * timerfd in the client's epoll set), then the same join, whose key reads report what the
 * outage cost (hole.disconnected = 1). A restarted Redis gets its keys back only when the
 * publisher has reconnected; it then publishes a hello on {prefix}.control (subscribed by every
 * join) and SCAN and GET run again on it (docs/redis.md, "Control channel"). The connection
 * and join commands are in tg_client_join.c, the shared state in tg_client_priv.h.
 *
 * Events are queued (a small ring) because one document can yield several (EPOCH, HOLE, BOOK);
 * the parser only runs when the queue is empty, so pointers into the read buffer stay valid
 * until the owner's next call.
 *
 * Thread: owner (one thread at a time); no locks, no atomics.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "book/tg_own.h"
#include "client/tg_client_int.h"
#include "client/tg_client_shm.h"

#include "client/tg_client_priv.h"

int64_t tgc__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tgc__set_err(tg_client_t *c, const char *what, const char *detail)
{
    snprintf(c->errstr, sizeof(c->errstr), "%s%s%s", what, detail ? ": " : "",
             detail ? detail : "");
}

void tg_client_cfg_defaults(tg_client_cfg_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->version = TG_CLIENT_VERSION;
    cfg->url = "redis://127.0.0.1:6379";
    cfg->prefix = "tg";
    cfg->password_env = "REDISCLI_AUTH";
    cfg->connect_timeout_ms = 1000;
    cfg->command_timeout_ms = 2000;
    cfg->backoff_min_ms = 50;
    cfg->backoff_max_ms = 800;
    cfg->read_buffer = 1u << 20;
    cfg->max_channels = 4096;
}

static bool name_ok(const char *s, bool allow_glob)
{
    size_t n = strlen(s);
    if (n == 0 || n >= 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch == 0x7f || ch == ':' || ch == '"' || ch == '\\')
            return false;
        if (!allow_glob && (ch == '*' || ch == '?' || ch == '['))
            return false;
    }
    return true;
}

int tg_client_create(tg_client_t **out, const tg_client_cfg_t *cfg)
{
    if (!out || !cfg)
        return -EINVAL;
    if ((cfg->version >> 16) != TG_CLIENT_VERSION_MAJOR)
        return -EPROTO;
    const char *prefix = cfg->prefix ? cfg->prefix : "tg";
    if (!name_ok(prefix, false) || strchr(prefix, '.') || cfg->read_buffer < 4096 ||
        cfg->max_channels == 0 || cfg->max_channels > (1u << 24))
        return -EINVAL;
    if (tgc_shm_url(cfg->url)) { /* shared memory: tg_client_shm.c does the work */
        tg_client_t *c = calloc(1, sizeof(*c));
        int rc = c ? tgc_shm_create(&c->shm, cfg) : -ENOMEM;
        if (rc < 0) {
            free(c);
            return rc;
        }
        c->epfd = c->tfd = -1;
        *out = c;
        return 0;
    }
    tgc_url_t u;
    if (tgc_url_parse(cfg->url, &u))
        return -EINVAL;
    tg_client_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->cfg = *cfg;
    c->u = u;
    c->epfd = c->tfd = -1;
    uint32_t hcap = 16;
    while (hcap < 2 * cfg->max_channels)
        hcap <<= 1;
    c->hash_mask = hcap - 1;
    c->url = strdup(cfg->url ? cfg->url : "redis://127.0.0.1:6379");
    c->prefix = strdup(prefix);
    c->chans = calloc(cfg->max_channels, sizeof(*c->chans));
    c->hash = calloc(hcap, sizeof(*c->hash));
    c->nodes = calloc(u.cluster ? RDS_CLUSTER_MAX_NODES : 1, sizeof(*c->nodes));
    if (c->nodes && (c->nodes[0].buf = malloc(cfg->read_buffer)))
        c->n_bufs = 1;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!c->url || !c->prefix || !c->chans || !c->hash || !c->n_bufs || c->epfd < 0 || c->tfd < 0)
        goto fail;
    if (u.cluster) { /* redis-cluster://seeds: the map is read at every connect */
        char err[128];
        c->cluster = true;
        c->n_seeds = rds_cluster_parse_seeds(u.seeds, c->seeds, 16, err, sizeof(err));
        if (c->n_seeds < 1) {
            tg_client_destroy(&c);
            return -EINVAL;
        }
        if (!(c->map = calloc(1, sizeof(*c->map))))
            goto fail;
    }
    c->cfg.url = c->url;
    c->cfg.prefix = c->prefix;
    c->control_len = (size_t)snprintf(c->control, sizeof(c->control), "%s.control", c->prefix);
    c->cfg.password_env = NULL;
    if (!u.password[0] && cfg->password_env) {
        const char *pw = getenv(cfg->password_env);
        if (pw)
            snprintf(c->u.password, sizeof(c->u.password), "%s", pw);
    }
    struct epoll_event ee = {.events = EPOLLIN, .data.fd = c->tfd};
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->tfd, &ee))
        goto fail;
    c->backoff_ms = cfg->backoff_min_ms;
    *out = c;
    return 0;
fail:
    tg_client_destroy(&c);
    return -ENOMEM;
}

void tgc__join_free(tg_client_t *c)
{
    if (c->join_replies) {
        for (uint32_t i = c->join_i; i < c->join_n; i++)
            freeReplyObject(c->join_replies[i]);
        free(c->join_replies);
        c->join_replies = NULL;
    }
    c->join_i = c->join_n = 0;
}

static void conn_close(tg_client_t *c)
{
    for (int i = 0; i < c->n_nodes; i++) {
        tgc_node_t *n = &c->nodes[i];
        if (n->sub) {
            epoll_ctl(c->epfd, EPOLL_CTL_DEL, n->sub->fd, NULL);
            redisFree(n->sub);
            n->sub = NULL;
        }
        if (n->cmd) {
            redisFree(n->cmd);
            n->cmd = NULL;
        }
        n->rpos = n->wpos = 0;
    }
    c->n_nodes = 0;
    tgc__join_free(c);
    if (c->rec_reply) {
        freeReplyObject(c->rec_reply);
        c->rec_reply = NULL;
    }
}

void tg_client_destroy(tg_client_t **pc)
{
    tg_client_t *c = tg_own_take(pc);
    if (!c)
        return;
    tgc_shm_destroy(&c->shm);
    conn_close(c);
    if (c->held_reply)
        freeReplyObject(c->held_reply);
    if (c->chans)
        for (uint32_t i = 0; i < c->n_chans; i++)
            free(c->chans[i]);
    free(c->chans);
    free(c->hash);
    for (int i = 0; i < c->n_bufs; i++)
        free(c->nodes[i].buf);
    free(c->nodes);
    free(c->map);
    free(c->url);
    free(c->prefix);
    tg_own_close(&c->epfd);
    tg_own_close(&c->tfd);
    free(c);
}

int tg_client_subscribe(tg_client_t *c, const char *venue, const char *symbol, unsigned kinds,
                        const char *interval)
{
    if (!c || !venue || !symbol || !(kinds & TG_CLIENT_SUB_ALL) || kinds & ~TG_CLIENT_SUB_ALL)
        return -EINVAL;
    if (c->state != ST_IDLE)
        return -EBUSY;
    if (c->n_subs == TGC_SUBS_MAX)
        return -ENOSPC;
    if (!name_ok(venue, true) || !name_ok(symbol, true) || strchr(venue, '.'))
        return -EINVAL;
    if (c->cluster && (strpbrk(venue, "{}") || strpbrk(symbol, "{}")))
        return -EINVAL; /* the hash tag {venue:symbol} would be cut */
    if ((kinds & TG_CLIENT_SUB_CANDLES) &&
        (!interval || !name_ok(interval, true) || strlen(interval) >= 16 || strchr(interval, '.')))
        return -EINVAL;
    if (c->shm)
        return tgc_shm_subscribe(c->shm, venue, symbol, kinds);
    tgc_sub_t *s = &c->subs[c->n_subs++];
    snprintf(s->venue, sizeof(s->venue), "%s", venue);
    snprintf(s->symbol, sizeof(s->symbol), "%s", symbol);
    snprintf(s->interval, sizeof(s->interval), "%s", interval ? interval : "");
    s->kinds = kinds;
    s->pattern = strpbrk(venue, "*?[") || strpbrk(symbol, "*?[") ||
                 ((kinds & TG_CLIENT_SUB_CANDLES) && strpbrk(s->interval, "*?["));
    return 0;
}

int tg_client_fd(const tg_client_t *c)
{
    if (c && c->shm)
        return -EOPNOTSUPP; /* a futex cannot be polled: tg_client_next() sleeps on it */
    return c ? c->epfd : -EINVAL;
}

const char *tg_client_errstr(const tg_client_t *c)
{
    if (c && c->shm)
        return tgc_shm_errstr(c->shm);
    return c ? c->errstr : "";
}

void tg_client_counters(const tg_client_t *c, tg_client_counters_t *out)
{
    if (c->shm) {
        tgc_shm_counters(c->shm, out);
        return;
    }
    *out = c->ctr;
    out->channels = c->n_chans;
}

/* ---- channels ---------------------------------------------------------------------------- */

static uint32_t fnv(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* "{p}{sep}{kind}{sep}[{ivl}{sep}]{venue}{sep}{symbol}", or with the instrument as the hash tag
 * "{venue:symbol}" on a cluster (docs/redis.md, "Names on a Redis Cluster"). */
static int name_fmt(const tg_client_t *c, char *buf, size_t cap, char sep, const char *kind,
                    const char *ivl, const char *venue, const char *symbol)
{
    char iv[24] = "";
    if (ivl)
        snprintf(iv, sizeof(iv), "%s%c", ivl, sep);
    if (c->cluster)
        return snprintf(buf, cap, "%s%c%s%c%s{%s:%s}", c->prefix, sep, kind, sep, iv, venue,
                        symbol);
    return snprintf(buf, cap, "%s%c%s%c%s%s%c%s", c->prefix, sep, kind, sep, iv, venue, sep,
                    symbol);
}

int tgc__name(const tg_client_t *c, char *buf, size_t cap, bool key, unsigned k, const char *ivl,
              const char *venue, const char *symbol)
{
    static const char *const words[2][3] = {{"book", "trades", "candles"},
                                            {"book", "trade", "candle"}};
    int w = k == TG_CLIENT_SUB_BOOK ? 0 : k == TG_CLIENT_SUB_TRADES ? 1 : 2;
    return name_fmt(c, buf, cap, key ? ':' : '.', words[key][w], w == 2 ? ivl : NULL, venue,
                    symbol);
}

int tg_client_name(const tg_client_t *c, unsigned kind, const char *interval, const char *venue,
                   const char *symbol, int key, char *buf, size_t cap)
{
    if (!c || !buf || !cap || !venue || !symbol || !*venue || !*symbol ||
        (kind != TG_CLIENT_SUB_BOOK && kind != TG_CLIENT_SUB_TRADES &&
         kind != TG_CLIENT_SUB_CANDLES) ||
        (kind == TG_CLIENT_SUB_CANDLES && (!interval || !*interval || strlen(interval) > 16)))
        return -EINVAL;
    int n = tgc__name(c, buf, cap, key != 0, kind, interval, venue, symbol);
    return n >= 0 && (size_t)n < cap ? 0 : -ENOSPC;
}

static tgc_chan_t *chan_find(tg_client_t *c, const char *name, size_t n)
{
    for (uint32_t h = fnv(name, n) & c->hash_mask;; h = (h + 1) & c->hash_mask) {
        uint32_t i = c->hash[h];
        if (!i)
            return NULL;
        tgc_chan_t *ch = c->chans[i - 1];
        if (strlen(ch->name) == n && memcmp(ch->name, name, n) == 0)
            return ch;
    }
}

/* Create the state of a channel "{prefix}.{kind}.[{interval}.]{venue}.{symbol}" (allocates:
 * once per channel, never per message). NULL if the name is not one of ours or full. */
tgc_chan_t *tgc__chan_add(tg_client_t *c, const char *name, size_t n)
{
    tgc_chan_t *ch = chan_find(c, name, n);
    if (ch)
        return ch;
    size_t pl = strlen(c->prefix);
    if (c->n_chans == c->cfg.max_channels || n >= TGC_NAME_MAX || n <= pl + 1 ||
        memcmp(name, c->prefix, pl) != 0 || name[pl] != '.')
        return NULL;
    char tmp[TGC_NAME_MAX];
    memcpy(tmp, name + pl + 1, n - pl - 1);
    tmp[n - pl - 1] = '\0';
    char *kind = tmp, *ivl = NULL, *venue, *symbol;
    char *dot = strchr(kind, '.');
    if (!dot)
        return NULL;
    *dot = '\0';
    tg_client_chan_kind_t k = strcmp(kind, "book") == 0      ? TG_CLIENT_CH_BOOK
                              : strcmp(kind, "trades") == 0  ? TG_CLIENT_CH_TRADES
                              : strcmp(kind, "candles") == 0 ? TG_CLIENT_CH_CANDLES
                                                             : TG_CLIENT_CH_NONE;
    if (k == TG_CLIENT_CH_NONE)
        return NULL;
    venue = dot + 1;
    if (k == TG_CLIENT_CH_CANDLES) {
        ivl = venue;
        dot = strchr(ivl, '.');
        if (!dot)
            return NULL;
        *dot = '\0';
        venue = dot + 1;
    }
    if (c->cluster) { /* "{venue:symbol}" */
        size_t vl = strlen(venue);
        dot = strchr(venue, ':');
        if (venue[0] != '{' || vl < 5 || venue[vl - 1] != '}' || !dot || dot == venue + 1 ||
            dot[1] == '}')
            return NULL;
        venue[vl - 1] = '\0';
        *dot = '\0';
        symbol = dot + 1;
        venue++;
    } else {
        dot = strchr(venue, '.');
        if (!dot || !dot[1])
            return NULL;
        *dot = '\0';
        symbol = dot + 1;
    }
    ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    memcpy(ch->name, name, n);
    ch->name[n] = '\0';
    ch->kind = k;
    snprintf(ch->venue, sizeof(ch->venue), "%s", venue);
    snprintf(ch->symbol, sizeof(ch->symbol), "%s", symbol);
    unsigned sk = k == TG_CLIENT_CH_BOOK     ? TG_CLIENT_SUB_BOOK
                  : k == TG_CLIENT_CH_TRADES ? TG_CLIENT_SUB_TRADES
                                             : TG_CLIENT_SUB_CANDLES;
    tgc__name(c, ch->key, sizeof(ch->key), true, sk, ivl, venue, symbol);
    name_fmt(c, ch->stream, sizeof(ch->stream), ':',
             sk == TG_CLIENT_SUB_BOOK     ? "stream:book"
             : sk == TG_CLIENT_SUB_TRADES ? "stream:trades"
                                          : "stream:candles",
             ivl, venue, symbol);
    ch->slot = rds_cluster_keyslot(ch->key, strlen(ch->key));
    ch->node = !c->cluster ? 0 : c->n_nodes ? rds_cluster_node_of(c->map, ch->slot) : -1;
    c->chans[c->n_chans++] = ch;
    uint32_t h = fnv(ch->name, n) & c->hash_mask;
    while (c->hash[h])
        h = (h + 1) & c->hash_mask;
    c->hash[h] = c->n_chans;
    return ch;
}

const tg_client_book_t *tg_client_book(tg_client_t *c, const char *venue, const char *symbol)
{
    if (c->shm)
        return tgc_shm_book(c->shm, venue, symbol);
    char name[TGC_NAME_MAX];
    tgc__name(c, name, sizeof(name), false, TG_CLIENT_SUB_BOOK, NULL, venue, symbol);
    tgc_chan_t *ch = chan_find(c, name, strlen(name));
    return ch && ch->joined ? &ch->book : NULL;
}

/* ---- events ------------------------------------------------------------------------------ */

static tg_client_event_t *ev_push(tg_client_t *c, tg_client_ev_kind_t kind, const tgc_chan_t *ch)
{
    tg_client_event_t *e = &c->q[c->q_tail++ & (TGC_EVQ - 1)];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->channel = ch ? ch->name : "";
    e->venue = ch ? ch->venue : "";
    e->symbol = ch ? ch->symbol : "";
    e->chan_kind = ch ? ch->kind : TG_CLIENT_CH_NONE;
    e->text = "";
    return e;
}

static void ev_bad(tg_client_t *c, const tgc_chan_t *ch, const char *why, const char *doc,
                   size_t len)
{
    c->ctr.bad++;
    snprintf(c->why, sizeof(c->why), "%s", why);
    tg_client_event_t *e = ev_push(c, TG_CLIENT_EV_BAD, ch);
    e->text = c->why;
    e->doc = doc;
    e->doc_len = len;
}

static int book_recover_from_key(tg_client_t *c, tgc_chan_t *ch);

/* Copy a parsed book document's levels into the held book (state from the newer document). */
static void book_take(tgc_chan_t *ch, const tgc_doc_t *d)
{
    ch->book = d->book;
    ch->book_seq = d->seq;
}

_Static_assert(sizeof(tg_client_hole_t) <= sizeof(tg_client_trade_t),
               "the event union must not grow (ABI 1.x)");

/* Entry [id, [field, value, ...]] of an XRANGE reply: its number (the ID's second part) and
 * its "doc" value. NULL if it is not one of the publisher's entries. */
static const redisReply *entry_doc(const redisReply *e, uint64_t *seq)
{
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const char *dash = strchr(e->element[0]->str, '-');
    if (!dash)
        return NULL;
    *seq = strtoull(dash + 1, NULL, 10);
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (f->element[i]->type == REDIS_REPLY_STRING && strcmp(f->element[i]->str, "doc") == 0 &&
            f->element[i + 1]->type == REDIS_REPLY_STRING)
            return f->element[i + 1];
    return NULL;
}

/* Queue the HOLE event of `missing` messages between after and d->seq (counted). */
static tg_client_event_t *hole_push(tg_client_t *c, const tgc_chan_t *ch, const tgc_doc_t *d,
                                    uint64_t after, uint64_t missing, bool from_key,
                                    bool after_loss)
{
    tg_client_event_t *h = ev_push(c, TG_CLIENT_EV_HOLE, ch);
    h->seq = d->seq;
    h->epoch = d->epoch;
    h->from_key = from_key;
    h->u.hole.missing = missing;
    h->u.hole.seq_after = after;
    h->u.hole.seq_got = d->seq;
    h->u.hole.disconnected = after_loss;
    c->ctr.holes++;
    c->ctr.missing += missing;
    return h;
}

/* A trade hole (after, d->seq): XRANGE the channel's stream for the missing numbers (entry IDs
 * <epoch_ms>-<seq>, docs/redis.md "Streams") and report the hole with how many it holds (a
 * contiguous run from after + 1). @return true when entries follow: they are delivered one per
 * step and the document that showed the hole is applied again after them. Allocates (hiredis
 * reply): recovery only. */
static bool stream_fill(tg_client_t *c, tgc_chan_t *ch, const tgc_doc_t *d, uint64_t after,
                        uint64_t missing, bool from_key, bool after_loss)
{
    unsigned long long ems = (unsigned long long)(d->epoch / 1000000u);
    redisContext *cmd = tgc__cmd_of(c, ch);
    redisReply *r =
        cmd ? redisCommand(cmd, "XRANGE %s %llu-%llu %llu-%llu", ch->stream, ems,
                           (unsigned long long)after + 1, ems, (unsigned long long)d->seq - 1)
            : NULL;
    size_t k = 0;
    uint64_t sq = 0;
    if (r && r->type == REDIS_REPLY_ARRAY)
        while (k < r->elements && entry_doc(r->element[k], &sq) && sq == after + 1 + k)
            k++;
    tg_client_event_t *h = hole_push(c, ch, d, after, missing, from_key, after_loss);
    h->u.hole.filled = k;
    h->u.hole.recovered = k == missing;
    h->u.hole.source = k ? TG_CLIENT_SRC_STREAM : TG_CLIENT_SRC_NONE;
    if (k != missing)
        c->ctr.unrecovered++;
    ch->hole_seq = d->seq;
    if (!k) {
        freeReplyObject(r);
        return false;
    }
    c->rec_reply = r;
    c->rec_i = 0;
    c->rec_n = k;
    c->rec_ch = ch;
    return true;
}

/* The one rule for every document of a channel, from a key (from = 1), a message (0) or a
 * stream entry filling a hole (2). @return true if the document must be applied again (after
 * the stream entries of its hole). */
static bool chan_apply(tg_client_t *c, tgc_chan_t *ch, const char *js, size_t len, int from,
                       bool after_loss)
{
    tgc_doc_t *d = &c->doc;
    const char *why = "";
    bool from_key = from == 1;
    if (tgc_doc_parse(js, len, d, &why)) {
        ev_bad(c, ch, why, js, len);
        return false;
    }
    bool ok =
        (ch->kind == TG_CLIENT_CH_BOOK && (d->type == TGC_DOC_BOOK || d->type == TGC_DOC_GAP)) ||
        (ch->kind == TG_CLIENT_CH_TRADES &&
         (d->type == TGC_DOC_TRADE || d->type == TGC_DOC_TRADE_GAP)) ||
        (ch->kind == TG_CLIENT_CH_CANDLES && d->type == TGC_DOC_CANDLE);
    if (!ok || d->seq == 0) {
        ev_bad(c, ch, "document type does not match its channel", js, len);
        return false;
    }
    if (from_key && d->seq != ch->hole_seq) /* not counted again when applied again */
        c->ctr.keys++;
    if (!ch->joined && after_loss && c->epoch_seen && d->epoch == c->epoch_seen) {
        /* A channel first seen when re-joining after a lost connection, in the epoch the client
         * was already following: its earlier numbers were published while this client was
         * subscribed to its pattern (or its key would have been found at the first join), so
         * the ones not seen were lost in the outage. (Over-reports only for an instrument
         * whose key had expired before the first join.) */
        ch->joined = true;
        ch->epoch = d->epoch;
        ch->last = 0;
    }
    uint64_t missing = 0, after = ch->last;
    bool new_epoch = ch->joined && d->epoch != ch->epoch;
    if (new_epoch) {
        tg_client_event_t *e = ev_push(c, TG_CLIENT_EV_EPOCH, ch);
        e->u.epoch_old = ch->epoch;
        e->epoch = d->epoch;
        e->seq = d->seq;
        c->ctr.epochs++;
        ch->last = after = 0; /* numbers restart at 1 */
        ch->book_seq = 0;
        missing = d->seq - 1;
    } else if (ch->joined) {
        if (d->seq <= ch->last) {
            c->ctr.skipped++;
            return false;
        }
        missing = d->seq - ch->last - 1;
    }
    if (missing && !new_epoch && ch->kind == TG_CLIENT_CH_TRADES && from != 2 &&
        d->seq != ch->hole_seq && stream_fill(c, ch, d, after, missing, from_key, after_loss))
        return true;
    if (!from_key)
        c->ctr.messages++;
    ch->epoch = c->epoch_seen = d->epoch;
    ch->last = d->seq;
    bool first = !ch->joined;
    ch->joined = true;
    if (missing && d->seq != ch->hole_seq) { /* else stream_fill() reported it */
        tg_client_event_t *h = hole_push(c, ch, d, after, missing, from_key, after_loss);
        if (ch->kind == TG_CLIENT_CH_TRADES) {
            c->ctr.unrecovered++;
        } else if (d->type == TGC_DOC_GAP) {
            /* a gap document carries no levels: the book key holds the newest levels */
            ch->book.state = d->status.state;
            ch->book.generation = d->status.generation;
            if (book_recover_from_key(c, ch) == 1) {
                h->u.hole.recovered = 1;
                h->u.hole.source = TG_CLIENT_SRC_KEY;
            } else {
                ch->pending = true;
                c->ctr.unrecovered++;
            }
        } else {
            h->u.hole.recovered = 1;
            h->u.hole.source = from_key ? TG_CLIENT_SRC_KEY : TG_CLIENT_SRC_MESSAGE;
        }
    }
    (void)first;
    tg_client_event_t *e = NULL;
    switch (d->type) {
    case TGC_DOC_BOOK:
        book_take(ch, d);
        e = ev_push(c, TG_CLIENT_EV_BOOK, ch);
        e->u.book = &ch->book;
        break;
    case TGC_DOC_GAP:
        ch->book.state = d->status.state;
        ch->book.generation = d->status.generation;
        ch->book.seq = d->seq;
        ch->book.epoch = d->epoch;
        e = ev_push(c, TG_CLIENT_EV_STATUS, ch);
        e->u.status = d->status;
        break;
    case TGC_DOC_TRADE:
        e = ev_push(c, TG_CLIENT_EV_TRADE, ch);
        e->u.trade = d->trade;
        break;
    case TGC_DOC_TRADE_GAP: /* trades lost at the venue: numbered like a trade */
        e = ev_push(c, TG_CLIENT_EV_TRADE_GAP, ch);
        e->u.status = d->status;
        break;
    case TGC_DOC_CANDLE:
        ch->candle = d->candle;
        e = ev_push(c, TG_CLIENT_EV_CANDLE, ch);
        e->u.candle = &ch->candle;
        break;
    default:
        return false;
    }
    e->seq = d->seq;
    e->epoch = d->epoch;
    e->from_key = from;
    e->doc = js;
    e->doc_len = len;
    if (ch->pending && d->type != TGC_DOC_GAP) {
        ch->pending = false;
        ev_push(c, TG_CLIENT_EV_RECOVERED, ch)->seq = d->seq;
    }
    return false;
}

/* GET the book key at once (a hole shown by a gap document). 1: levels restored (or already
 * current), 0: no key, <0: connection error. Allocates (hiredis reply): recovery only. */
static int book_recover_from_key(tg_client_t *c, tgc_chan_t *ch)
{
    redisContext *cmd = tgc__cmd_of(c, ch);
    if (!cmd)
        return -ENOTCONN;
    redisReply *r = redisCommand(cmd, "GET %s", ch->key);
    if (!r)
        return -EIO;
    int rc = 0;
    tgc_doc_t tmp; /* the gap document is still in c->doc */
    const char *why;
    if (r->type == REDIS_REPLY_STRING && tgc_doc_parse(r->str, r->len, &tmp, &why) == 0 &&
        tmp.type == TGC_DOC_BOOK && tmp.epoch == ch->epoch) {
        if (tmp.seq > ch->book_seq) {
            tg_client_state_t st = ch->book.state;
            uint64_t gen = ch->book.generation;
            book_take(ch, &tmp);
            if (tmp.seq < c->doc.seq) { /* the gap document is newer: its state wins */
                ch->book.state = st;
                ch->book.generation = gen;
            }
        }
        c->ctr.keys++;
        rc = 1;
    }
    freeReplyObject(r);
    return rc;
}

/* Open the nodes: one on a single Redis; on a cluster the slot map first, then every
 * primary (each channel's node from its slot). */
static int nodes_open(tg_client_t *c)
{
    int rc = 0, n = 1;
    if (c->cluster) {
        if ((rc = tgc__cluster_map(c)))
            return rc;
        n = c->map->n_nodes;
        for (; c->n_bufs < n; c->n_bufs++)
            if (!(c->nodes[c->n_bufs].buf = malloc(c->cfg.read_buffer)))
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
            snprintf(c->nodes[i].host, sizeof(c->nodes[i].host), "%s", c->map->nodes[i].host);
            c->nodes[i].port = c->map->nodes[i].port;
        }
        for (uint32_t i = 0; i < c->n_chans; i++)
            c->chans[i]->node = rds_cluster_node_of(c->map, c->chans[i]->slot);
    }
    c->n_nodes = n; /* conn_close() closes what opened */
    for (int i = 0; i < n; i++) {
        tgc_node_t *nd = &c->nodes[i];
        if (!(nd->sub = tgc__conn_open(c, nd, &rc)) || !(nd->cmd = tgc__conn_open(c, nd, &rc)))
            return rc;
        int fl = fcntl(nd->sub->fd, F_GETFL);
        fcntl(nd->sub->fd, F_SETFL, fl | O_NONBLOCK);
        struct epoll_event ee = {.events = EPOLLIN, .data.fd = nd->sub->fd};
        epoll_ctl(c->epfd, EPOLL_CTL_ADD, nd->sub->fd, &ee);
    }
    c->cur = c->idle = 0;
    c->burst = 0;
    return 0;
}

static int connect_all(tg_client_t *c)
{
    conn_close(c);
    int rc = nodes_open(c);
    if (rc)
        goto fail;
    /* a cluster has no pattern subscriptions: the patterns' channels are found by SCAN first
     * and subscribed one by one (docs/clients.md, "Redis Cluster") */
    if (c->cluster ? (rc = tgc__join_scan(c)) || (rc = tgc__join_subscribe(c))
                   : (rc = tgc__join_subscribe(c)) || (rc = tgc__join_scan(c)))
        goto fail;
    if ((rc = tgc__join_get(c)))
        goto fail;
    c->state = ST_JOINING;
    c->backoff_ms = c->cfg.backoff_min_ms;
    return 0;
fail:
    conn_close(c);
    return rc;
}

int tg_client_connect(tg_client_t *c)
{
    if (c && c->shm)
        return tgc_shm_connect(c->shm);
    if (!c || c->n_subs == 0)
        return -EINVAL;
    if (c->state != ST_IDLE)
        return -EBUSY;
    c->join_after_loss = false;
    return connect_all(c);
}

static void arm_timer(tg_client_t *c, int ms)
{
    struct itimerspec its = {{0, 0}, {ms / 1000, (long)(ms % 1000) * 1000000L + 1}};
    timerfd_settime(c->tfd, 0, &its, NULL);
}

static void lost(tg_client_t *c)
{
    conn_close(c);
    c->rechecking = false;
    c->state = ST_DOWN;
    c->ctr.disconnects++;
    snprintf(c->why, sizeof(c->why), "%s", c->errstr);
    ev_push(c, TG_CLIENT_EV_DISCONNECTED, NULL)->text = c->why;
    int b = c->backoff_ms;
    b = b / 2 + (int)((unsigned)rand() % (unsigned)(b / 2 + 1)); /* jitter to [b/2, b] */
    arm_timer(c, b);
    c->backoff_ms =
        c->backoff_ms * 2 > c->cfg.backoff_max_ms ? c->cfg.backoff_max_ms : c->backoff_ms * 2;
}

/* One frame of a subscriber connection. @return true if it must be read again (its document
 * is applied again after the stream entries of its hole). */
static bool take_frame(tg_client_t *c, const tgc_frame_t *f)
{
    const char *name, *msg;
    size_t nl, ml;
    if ((tgc_frame_is(f, 0, "message") || tgc_frame_is(f, 0, "smessage")) && f->n == 3) {
        name = f->s[1], nl = f->len[1], msg = f->s[2], ml = f->len[2];
    } else if (tgc_frame_is(f, 0, "pmessage") && f->n == 4) {
        name = f->s[2], nl = f->len[2], msg = f->s[3], ml = f->len[3];
    } else if (tgc_frame_is(f, 0, "sunsubscribe")) {
        /* we never unsubscribe: the cluster moved the channel's slot (failover, resharding) */
        tgc__set_err(c, "the cluster moved a channel's slot (sunsubscribe)", NULL);
        lost(c);
        return false;
    } else {
        return false; /* confirmations of the join, pongs */
    }
    if (nl == c->control_len && !memcmp(name, c->control, nl)) {
        /* hello: the publisher (re)connected and restored its keys; a Redis that was empty at
         * our join has them now, and they show what the outage cost */
        static const char hello[] = "{\"type\":\"hello\"";
        if (ml < sizeof(hello) - 1 || memcmp(msg, hello, sizeof(hello) - 1) != 0)
            return false; /* a later control document: not ours to read */
        uint32_t before = c->n_chans;
        if (tgc__join_scan(c) || (c->cluster && tgc__subscribe_new(c, before)) ||
            tgc__join_get(c)) { /* a command connection failed */
            lost(c);
            return false;
        }
        c->state = ST_JOINING;
        c->rechecking = true;
        return false;
    }
    tgc_chan_t *ch = chan_find(c, name, nl);
    if (!ch)
        ch = tgc__chan_add(c, name, nl); /* a pattern's new instrument (allocates once) */
    if (!ch) {
        ev_bad(c, NULL, "a channel this client cannot follow (name or max_channels)", msg, ml);
        return false;
    }
    return chan_apply(c, ch, msg, ml, 0, false);
}

/* One step of work: queue events. 1: progress, 0: must wait for the fd, <0: error. */
static int step(tg_client_t *c)
{
    if (c->rec_reply) { /* stream entries of a hole, then its document again */
        if (c->rec_i < c->rec_n) {
            uint64_t sq;
            const redisReply *dv = entry_doc(c->rec_reply->element[c->rec_i++], &sq);
            chan_apply(c, c->rec_ch, dv->str, dv->len, 2, false);
        } else {
            c->held_reply = c->rec_reply; /* the last entry's event points into it */
            c->rec_reply = NULL;
        }
        return 1;
    }
    switch (c->state) {
    case ST_JOINING:
        if (c->join_i < c->join_n) {
            tgc_chan_t *ch = c->chans[c->join_i];
            redisReply *r = c->join_replies[c->join_i];
            c->join_replies[c->join_i++] = NULL;
            if (r->type == REDIS_REPLY_STRING) {
                c->held_reply = r;
                if (chan_apply(c, ch, r->str, r->len, 1, c->join_after_loss)) {
                    c->held_reply = NULL; /* applied again after the stream entries */
                    c->join_replies[--c->join_i] = r;
                }
            } else {
                freeReplyObject(r);
            }
            return 1;
        }
        tgc__join_free(c);
        c->state = ST_UP;
        if (c->rechecking) {
            c->rechecking = false;
            return 1;
        }
        if (c->join_after_loss)
            c->ctr.reconnects++;
        ev_push(c, TG_CLIENT_EV_CONNECTED, NULL);
        return 1;
    case ST_UP: {
        tgc_node_t *n = &c->nodes[c->cur];
        tgc_frame_t f;
        long k = tgc_resp_frame(n->buf + n->rpos, n->wpos - n->rpos, &f);
        if (k < 0) {
            tgc__set_err(c, "protocol error on the subscriber connection", NULL);
            lost(c);
            return 1;
        }
        if (k > 0) {
            c->idle = 0;
            n->rpos += (size_t)k;
            bool again = take_frame(c, &f);
            if (again)
                n->rpos -= (size_t)k; /* applied again after the stream entries */
            else if (c->state == ST_UP && ++c->burst >= 64) { /* fair to the other nodes */
                c->burst = 0;
                c->cur = (c->cur + 1) % c->n_nodes;
            }
            return 1;
        }
        int rc = tgc__sub_read(c, n);
        if (rc < 0) {
            lost(c);
            return 1;
        }
        if (rc > 0) {
            c->idle = 0;
            return 1;
        }
        c->burst = 0; /* nothing more here: the next node; wait when every node was idle */
        c->cur = (c->cur + 1) % c->n_nodes;
        if (++c->idle < c->n_nodes)
            return 1;
        c->idle = 0;
        return 0;
    }
    case ST_DOWN: {
        uint64_t exp;
        if (read(c->tfd, &exp, sizeof(exp)) != (ssize_t)sizeof(exp))
            return 0; /* not yet */
        c->join_after_loss = true;
        if (connect_all(c) == 0)
            return 1;
        c->state = ST_DOWN;
        int b = c->backoff_ms;
        arm_timer(c, b / 2 + (int)((unsigned)rand() % (unsigned)(b / 2 + 1)));
        c->backoff_ms = b * 2 > c->cfg.backoff_max_ms ? c->cfg.backoff_max_ms : b * 2;
        return 0;
    }
    default:
        return -ENOTCONN;
    }
}

int tg_client_next(tg_client_t *c, tg_client_event_t *ev, int timeout_ms)
{
    if (c && c->shm)
        return tgc_shm_next(c->shm, ev, timeout_ms);
    if (!c || !ev)
        return -EINVAL;
    if (c->state == ST_IDLE)
        return -ENOTCONN;
    if (c->q_head == c->q_tail && c->held_reply) {
        freeReplyObject(c->held_reply);
        c->held_reply = NULL;
    }
    int64_t deadline = timeout_ms > 0 ? tgc__now_ms() + timeout_ms : 0;
    for (;;) {
        if (c->q_head != c->q_tail) {
            *ev = c->q[c->q_head++ & (TGC_EVQ - 1)];
            return 1;
        }
        if (c->held_reply) {
            freeReplyObject(c->held_reply);
            c->held_reply = NULL;
        }
        int rc = step(c);
        if (rc < 0)
            return rc;
        if (rc > 0)
            continue;
        int left = timeout_ms < 0 ? -1 : timeout_ms == 0 ? 0 : (int)(deadline - tgc__now_ms());
        if (timeout_ms >= 0 && left <= 0)
            return 0;
        struct pollfd pf = {c->epfd, POLLIN, 0};
        poll(&pf, 1, left);
    }
}

int tg_client_dispatch(tg_client_t *c, int timeout_ms, tg_client_cb_t cb, void *ud)
{
    if (!cb)
        return -EINVAL;
    tg_client_event_t ev;
    int n = 0, rc;
    while ((rc = tg_client_next(c, &ev, n ? 0 : timeout_ms)) == 1) {
        cb(ud, &ev);
        n++;
    }
    return rc < 0 ? rc : n;
}

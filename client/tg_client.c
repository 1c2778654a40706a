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
 * trades (recovered = 0). A lost connection: DISCONNECTED, reconnect with jittered backoff
 * (a timerfd in the client's epoll set), then the same join, whose key reads report what the
 * outage cost (hole.disconnected = 1).
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

#include "client/tg_client_int.h"

#define TGC_SUBS_MAX 64
#define TGC_EVQ      16 /* power of two */

typedef struct tgc_sub {
    char venue[64], symbol[64], interval[16];
    unsigned kinds;
    bool pattern;
} tgc_sub_t;

typedef struct tgc_chan {
    char name[TGC_NAME_MAX]; /* channel */
    char key[TGC_NAME_MAX];  /* snapshot key */
    char venue[64], symbol[64];
    tg_client_chan_kind_t kind;
    uint64_t last, epoch; /* highest number applied, its epoch */
    uint64_t book_seq;    /* number of the document the held levels came from */
    bool joined;          /* has a baseline */
    bool pending;         /* a hole left the state incomplete: RECOVERED follows */
    tg_client_book_t book;
    tg_client_candle_t candle;
} tgc_chan_t;

typedef enum { ST_IDLE, ST_JOINING, ST_UP, ST_DOWN } tgc_state_t;

struct tg_client {
    tg_client_cfg_t cfg;
    char *url, *prefix;
    tgc_url_t u;
    tgc_sub_t subs[TGC_SUBS_MAX];
    int n_subs;

    tgc_chan_t **chans; /* max_channels */
    uint32_t n_chans;
    uint32_t *hash; /* index + 1; 0 empty; open addressing */
    uint32_t hash_mask;

    redisContext *sub, *cmd;
    int epfd, tfd;
    tgc_state_t state;
    int backoff_ms;
    char *buf;
    size_t rpos, wpos;

    /* join in progress: channels whose key replies are to be applied */
    uint32_t join_i, join_n;
    redisReply **join_replies;
    bool join_after_loss;
    redisReply *held_reply; /* reply an event points into (freed on the next call) */

    tg_client_event_t q[TGC_EVQ];
    unsigned q_head, q_tail;
    tgc_doc_t doc;
    uint64_t epoch_seen; /* publisher epoch of the last document applied */
    tg_client_counters_t ctr;
    char errstr[256];
    char why[256];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_err(tg_client_t *c, const char *what, const char *detail)
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
    c->buf = malloc(cfg->read_buffer);
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (!c->url || !c->prefix || !c->chans || !c->hash || !c->buf || c->epfd < 0 || c->tfd < 0)
        goto fail;
    c->cfg.url = c->url;
    c->cfg.prefix = c->prefix;
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

static void join_free(tg_client_t *c)
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
    if (c->sub) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->sub->fd, NULL);
        redisFree(c->sub);
        c->sub = NULL;
    }
    if (c->cmd) {
        redisFree(c->cmd);
        c->cmd = NULL;
    }
    join_free(c);
    c->rpos = c->wpos = 0;
}

void tg_client_destroy(tg_client_t **pc)
{
    if (!pc || !*pc)
        return;
    tg_client_t *c = *pc;
    conn_close(c);
    if (c->held_reply)
        freeReplyObject(c->held_reply);
    if (c->chans)
        for (uint32_t i = 0; i < c->n_chans; i++)
            free(c->chans[i]);
    free(c->chans);
    free(c->hash);
    free(c->buf);
    free(c->url);
    free(c->prefix);
    if (c->epfd >= 0)
        close(c->epfd);
    if (c->tfd >= 0)
        close(c->tfd);
    free(c);
    *pc = NULL;
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
    if ((kinds & TG_CLIENT_SUB_CANDLES) &&
        (!interval || !name_ok(interval, true) || strlen(interval) >= 16 || strchr(interval, '.')))
        return -EINVAL;
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
    return c ? c->epfd : -EINVAL;
}

const char *tg_client_errstr(const tg_client_t *c)
{
    return c ? c->errstr : "";
}

void tg_client_counters(const tg_client_t *c, tg_client_counters_t *out)
{
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
static tgc_chan_t *chan_add(tg_client_t *c, const char *name, size_t n)
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
    dot = strchr(venue, '.');
    if (!dot || !dot[1])
        return NULL;
    *dot = '\0';
    symbol = dot + 1;
    ch = calloc(1, sizeof(*ch));
    if (!ch)
        return NULL;
    memcpy(ch->name, name, n);
    ch->name[n] = '\0';
    ch->kind = k;
    snprintf(ch->venue, sizeof(ch->venue), "%s", venue);
    snprintf(ch->symbol, sizeof(ch->symbol), "%s", symbol);
    if (k == TG_CLIENT_CH_BOOK)
        snprintf(ch->key, sizeof(ch->key), "%s:book:%s:%s", c->prefix, venue, symbol);
    else if (k == TG_CLIENT_CH_TRADES)
        snprintf(ch->key, sizeof(ch->key), "%s:trade:%s:%s", c->prefix, venue, symbol);
    else
        snprintf(ch->key, sizeof(ch->key), "%s:candle:%s:%s:%s", c->prefix, ivl, venue, symbol);
    c->chans[c->n_chans++] = ch;
    uint32_t h = fnv(ch->name, n) & c->hash_mask;
    while (c->hash[h])
        h = (h + 1) & c->hash_mask;
    c->hash[h] = c->n_chans;
    return ch;
}

const tg_client_book_t *tg_client_book(tg_client_t *c, const char *venue, const char *symbol)
{
    char name[TGC_NAME_MAX];
    int n = snprintf(name, sizeof(name), "%s.book.%s.%s", c->prefix, venue, symbol);
    if (n <= 0 || n >= (int)sizeof(name))
        return NULL;
    tgc_chan_t *ch = chan_find(c, name, (size_t)n);
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

/* The one rule for every document of a channel, from a key or a message. */
static void chan_apply(tg_client_t *c, tgc_chan_t *ch, const char *js, size_t len, bool from_key,
                       bool after_loss)
{
    tgc_doc_t *d = &c->doc;
    const char *why = "";
    if (tgc_doc_parse(js, len, d, &why)) {
        ev_bad(c, ch, why, js, len);
        return;
    }
    bool ok =
        (ch->kind == TG_CLIENT_CH_BOOK && (d->type == TGC_DOC_BOOK || d->type == TGC_DOC_GAP)) ||
        (ch->kind == TG_CLIENT_CH_TRADES && d->type == TGC_DOC_TRADE) ||
        (ch->kind == TG_CLIENT_CH_CANDLES && d->type == TGC_DOC_CANDLE);
    if (!ok || d->seq == 0) {
        ev_bad(c, ch, "document type does not match its channel", js, len);
        return;
    }
    if (from_key)
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
    if (ch->joined && d->epoch != ch->epoch) {
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
            return;
        }
        missing = d->seq - ch->last - 1;
    }
    if (!from_key)
        c->ctr.messages++;
    ch->epoch = c->epoch_seen = d->epoch;
    ch->last = d->seq;
    bool first = !ch->joined;
    ch->joined = true;
    if (missing) {
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
    case TGC_DOC_CANDLE:
        ch->candle = d->candle;
        e = ev_push(c, TG_CLIENT_EV_CANDLE, ch);
        e->u.candle = &ch->candle;
        break;
    default:
        return;
    }
    e->seq = d->seq;
    e->epoch = d->epoch;
    e->from_key = from_key;
    e->doc = js;
    e->doc_len = len;
    if (ch->pending && d->type != TGC_DOC_GAP) {
        ch->pending = false;
        ev_push(c, TG_CLIENT_EV_RECOVERED, ch)->seq = d->seq;
    }
}

/* GET the book key at once (a hole shown by a gap document). 1: levels restored (or already
 * current), 0: no key, <0: connection error. Allocates (hiredis reply): recovery only. */
static int book_recover_from_key(tg_client_t *c, tgc_chan_t *ch)
{
    if (!c->cmd)
        return -ENOTCONN;
    redisReply *r = redisCommand(c->cmd, "GET %s", ch->key);
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

/* ---- connections and the join -------------------------------------------------------------- */

static redisContext *conn_open(tg_client_t *c, int *rc)
{
    struct timeval tv = {c->cfg.connect_timeout_ms / 1000,
                         (c->cfg.connect_timeout_ms % 1000) * 1000};
    redisContext *r = c->u.path[0] ? redisConnectUnixWithTimeout(c->u.path, tv)
                                   : redisConnectWithTimeout(c->u.host, c->u.port, tv);
    if (!r || r->err) {
        set_err(c, "connect", r ? r->errstr : "out of memory");
        *rc = r && r->err == REDIS_ERR_IO && errno == ECONNREFUSED ? -ECONNREFUSED
              : r && r->err == REDIS_ERR_IO && (errno == EAGAIN || errno == ETIMEDOUT) ? -ETIMEDOUT
                                                                                       : -EIO;
        redisFree(r);
        return NULL;
    }
    struct timeval ctv = {c->cfg.command_timeout_ms / 1000,
                          (c->cfg.command_timeout_ms % 1000) * 1000};
    redisSetTimeout(r, ctv);
    redisReply *rep = NULL;
    if (c->u.password[0]) {
        rep = c->u.user[0] ? redisCommand(r, "AUTH %s %s", c->u.user, c->u.password)
                           : redisCommand(r, "AUTH %s", c->u.password);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            set_err(c, "AUTH", rep ? rep->str : r->errstr); /* server text, never the password */
            *rc = -EACCES;
            goto fail;
        }
        freeReplyObject(rep);
    }
    if (c->u.db) {
        rep = redisCommand(r, "SELECT %d", c->u.db);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            set_err(c, "SELECT", rep ? rep->str : r->errstr);
            *rc = -EIO;
            goto fail;
        }
        freeReplyObject(rep);
    }
    return r;
fail:
    freeReplyObject(rep);
    redisFree(r);
    return NULL;
}

/* Write all of buf to the (non-blocking) sub socket within the command timeout. */
static int sub_write(tg_client_t *c, const char *buf, size_t n)
{
    int64_t deadline = now_ms() + c->cfg.command_timeout_ms;
    while (n) {
        ssize_t w = write(c->sub->fd, buf, n);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -EIO;
        int left = (int)(deadline - now_ms());
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pf = {c->sub->fd, POLLOUT, 0};
        poll(&pf, 1, left);
    }
    return 0;
}

/* Read more bytes into the buffer (compacting first). >0 read, 0 EAGAIN, <0 closed/error. */
static int sub_read(tg_client_t *c)
{
    if (c->rpos > 0 && (c->rpos == c->wpos || c->rpos > c->cfg.read_buffer / 2)) {
        memmove(c->buf, c->buf + c->rpos, c->wpos - c->rpos);
        c->wpos -= c->rpos;
        c->rpos = 0;
    }
    if (c->wpos == c->cfg.read_buffer) {
        set_err(c, "a message is larger than read_buffer", NULL);
        return -EMSGSIZE;
    }
    ssize_t r = read(c->sub->fd, c->buf + c->wpos, c->cfg.read_buffer - c->wpos);
    if (r > 0) {
        c->wpos += (size_t)r;
        c->ctr.bytes += (uint64_t)r;
        return 1;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    set_err(c, r == 0 ? "connection closed by the server" : "read",
            r == 0 ? NULL : strerror(errno));
    return -EIO;
}

static const char *kind_word(unsigned k)
{
    return k == TG_CLIENT_SUB_BOOK ? "book" : k == TG_CLIENT_SUB_TRADES ? "trades" : "candles";
}

/* Subscribe everything; wait for every confirmation, leaving messages in the buffer. */
static int join_subscribe(tg_client_t *c)
{
    char cmd[512], name[TGC_NAME_MAX];
    int expect = 0;
    for (int i = 0; i < c->n_subs; i++) {
        const tgc_sub_t *s = &c->subs[i];
        for (unsigned k = 1; k <= TG_CLIENT_SUB_CANDLES; k <<= 1) {
            if (!(s->kinds & k))
                continue;
            if (k == TG_CLIENT_SUB_CANDLES)
                snprintf(name, sizeof(name), "%s.candles.%s.%s.%s", c->prefix, s->interval,
                         s->venue, s->symbol);
            else
                snprintf(name, sizeof(name), "%s.%s.%s.%s", c->prefix, kind_word(k), s->venue,
                         s->symbol);
            if (!s->pattern && !chan_add(c, name, strlen(name))) {
                set_err(c, "too many channels", NULL);
                return -ENOSPC;
            }
            size_t n =
                tgc_resp_cmd(cmd, sizeof(cmd), s->pattern ? "PSUBSCRIBE" : "SUBSCRIBE", name);
            int rc = sub_write(c, cmd, n);
            if (rc)
                return rc;
            expect++;
        }
    }
    int64_t deadline = now_ms() + c->cfg.command_timeout_ms;
    size_t scan = c->rpos;
    while (expect > 0) {
        tgc_frame_t f;
        long k = tgc_resp_frame(c->buf + scan, c->wpos - scan, &f);
        if (k < 0 || (k > 0 && f.n < 0)) {
            set_err(c, "SUBSCRIBE refused", k > 0 ? f.s[0] : "bad reply");
            return -EIO;
        }
        if (k > 0) {
            if (tgc_frame_is(&f, 0, "subscribe") || tgc_frame_is(&f, 0, "psubscribe"))
                expect--;
            scan += (size_t)k;
            continue;
        }
        size_t keep = scan - c->rpos;
        int rc = sub_read(c);
        scan = c->rpos + keep;
        if (rc < 0)
            return rc;
        if (rc == 0) {
            int left = (int)(deadline - now_ms());
            if (left <= 0) {
                set_err(c, "SUBSCRIBE", "no confirmation in time");
                return -ETIMEDOUT;
            }
            struct pollfd pf = {c->sub->fd, POLLIN, 0};
            poll(&pf, 1, left);
        }
    }
    return 0;
}

/* SCAN the keys of pattern subscriptions; creates the channels they mirror. */
static int join_scan(tg_client_t *c)
{
    char pat[TGC_NAME_MAX], ch[TGC_NAME_MAX];
    for (int i = 0; i < c->n_subs; i++) {
        const tgc_sub_t *s = &c->subs[i];
        if (!s->pattern)
            continue;
        for (unsigned k = 1; k <= TG_CLIENT_SUB_CANDLES; k <<= 1) {
            if (!(s->kinds & k))
                continue;
            if (k == TG_CLIENT_SUB_CANDLES)
                snprintf(pat, sizeof(pat), "%s:candle:%s:%s:%s", c->prefix, s->interval, s->venue,
                         s->symbol);
            else
                snprintf(pat, sizeof(pat), "%s:%s:%s:%s", c->prefix,
                         k == TG_CLIENT_SUB_BOOK ? "book" : "trade", s->venue, s->symbol);
            char cursor[32] = "0";
            do {
                redisReply *r = redisCommand(c->cmd, "SCAN %s MATCH %s COUNT 1000", cursor, pat);
                if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
                    set_err(c, "SCAN", r && r->type == REDIS_REPLY_ERROR ? r->str : c->cmd->errstr);
                    freeReplyObject(r);
                    return -EIO;
                }
                snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
                for (size_t j = 0; j < r->element[1]->elements; j++) {
                    const char *key = r->element[1]->element[j]->str;
                    /* key {p}:{kind}:... -> channel {p}.{kind}s?.... (':' -> '.') */
                    const char *rest = key + strlen(c->prefix) + 1;
                    const char *colon = strchr(rest, ':');
                    if (!colon)
                        continue;
                    size_t kl = (size_t)(colon - rest);
                    const char *kw = kl == 4 && !memcmp(rest, "book", 4)     ? "book"
                                     : kl == 5 && !memcmp(rest, "trade", 5)  ? "trades"
                                     : kl == 6 && !memcmp(rest, "candle", 6) ? "candles"
                                                                             : NULL;
                    if (!kw)
                        continue;
                    int n = snprintf(ch, sizeof(ch), "%s.%s.%s", c->prefix, kw, colon + 1);
                    if (n <= 0 || n >= (int)sizeof(ch))
                        continue;
                    for (char *p = ch + strlen(c->prefix) + strlen(kw) + 2; *p; p++)
                        if (*p == ':')
                            *p = '.';
                    chan_add(c, ch, (size_t)n);
                }
                freeReplyObject(r);
            } while (strcmp(cursor, "0") != 0);
        }
    }
    return 0;
}

/* Pipeline a GET of every channel's key; the replies are applied one by one from next(). */
static int join_get(tg_client_t *c)
{
    join_free(c);
    if (!c->n_chans)
        return 0;
    c->join_replies = calloc(c->n_chans, sizeof(*c->join_replies));
    if (!c->join_replies)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->n_chans; i++)
        redisAppendCommand(c->cmd, "GET %s", c->chans[i]->key);
    for (uint32_t i = 0; i < c->n_chans; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c->cmd, (void **)&r) != REDIS_OK || !r) {
            set_err(c, "GET", c->cmd->errstr);
            c->join_n = i;
            return -EIO;
        }
        c->join_replies[i] = r;
    }
    c->join_n = c->n_chans;
    c->join_i = 0;
    return 0;
}

static int connect_all(tg_client_t *c)
{
    int rc = 0;
    conn_close(c);
    c->sub = conn_open(c, &rc);
    if (!c->sub)
        return rc;
    c->cmd = conn_open(c, &rc);
    if (!c->cmd)
        goto fail;
    int fl = fcntl(c->sub->fd, F_GETFL);
    fcntl(c->sub->fd, F_SETFL, fl | O_NONBLOCK);
    struct epoll_event ee = {.events = EPOLLIN, .data.fd = c->sub->fd};
    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->sub->fd, &ee);
    if ((rc = join_subscribe(c)) || (rc = join_scan(c)) || (rc = join_get(c)))
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

/* One step of work: queue events. 1: progress, 0: must wait for the fd, <0: error. */
static int step(tg_client_t *c)
{
    switch (c->state) {
    case ST_JOINING:
        if (c->join_i < c->join_n) {
            tgc_chan_t *ch = c->chans[c->join_i];
            redisReply *r = c->join_replies[c->join_i];
            c->join_replies[c->join_i++] = NULL;
            if (r->type == REDIS_REPLY_STRING) {
                c->held_reply = r;
                chan_apply(c, ch, r->str, r->len, true, c->join_after_loss);
            } else {
                freeReplyObject(r);
            }
            return 1;
        }
        join_free(c);
        c->state = ST_UP;
        if (c->join_after_loss)
            c->ctr.reconnects++;
        ev_push(c, TG_CLIENT_EV_CONNECTED, NULL);
        return 1;
    case ST_UP: {
        tgc_frame_t f;
        long k = tgc_resp_frame(c->buf + c->rpos, c->wpos - c->rpos, &f);
        if (k < 0) {
            set_err(c, "protocol error on the subscriber connection", NULL);
            lost(c);
            return 1;
        }
        if (k > 0) {
            c->rpos += (size_t)k;
            const char *name, *msg;
            size_t nl, ml;
            if (tgc_frame_is(&f, 0, "message") && f.n == 3) {
                name = f.s[1], nl = f.len[1], msg = f.s[2], ml = f.len[2];
            } else if (tgc_frame_is(&f, 0, "pmessage") && f.n == 4) {
                name = f.s[2], nl = f.len[2], msg = f.s[3], ml = f.len[3];
            } else {
                return 1; /* confirmations of the join, pongs */
            }
            tgc_chan_t *ch = chan_find(c, name, nl);
            if (!ch)
                ch = chan_add(c, name, nl); /* a pattern's new instrument (allocates once) */
            if (!ch) {
                ev_bad(c, NULL, "a channel this client cannot follow (name or max_channels)", msg,
                       ml);
                return 1;
            }
            chan_apply(c, ch, msg, ml, false, false);
            return 1;
        }
        int rc = sub_read(c);
        if (rc < 0) {
            lost(c);
            return 1;
        }
        return rc;
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
    if (!c || !ev)
        return -EINVAL;
    if (c->state == ST_IDLE)
        return -ENOTCONN;
    if (c->q_head == c->q_tail && c->held_reply) {
        freeReplyObject(c->held_reply);
        c->held_reply = NULL;
    }
    int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
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
        int left = timeout_ms < 0 ? -1 : timeout_ms == 0 ? 0 : (int)(deadline - now_ms());
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

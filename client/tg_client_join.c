/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client: the connections and the join's commands (tg_client_priv.h). The rule
 * and the state machine are tg_client.c's; see its DESIGN paragraph.
 * Thread: owner of the tg_client_t.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/tg_client_priv.h"

/* ---- connections and the join -------------------------------------------------------------- */

redisContext *tgc__conn_open(tg_client_t *c, int *rc)
{
    struct timeval tv = {c->cfg.connect_timeout_ms / 1000,
                         (c->cfg.connect_timeout_ms % 1000) * 1000};
    redisContext *r = c->u.path[0] ? redisConnectUnixWithTimeout(c->u.path, tv)
                                   : redisConnectWithTimeout(c->u.host, c->u.port, tv);
    if (!r || r->err) {
        tgc__set_err(c, "connect", r ? r->errstr : "out of memory");
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
            tgc__set_err(c, "AUTH",
                         rep ? rep->str : r->errstr); /* server text, never the password */
            *rc = -EACCES;
            goto fail;
        }
        freeReplyObject(rep);
    }
    if (c->u.db) {
        rep = redisCommand(r, "SELECT %d", c->u.db);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
            tgc__set_err(c, "SELECT", rep ? rep->str : r->errstr);
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
static int tgc__sub_write(tg_client_t *c, const char *buf, size_t n)
{
    int64_t deadline = tgc__now_ms() + c->cfg.command_timeout_ms;
    while (n) {
        ssize_t w = write(c->sub->fd, buf, n);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -EIO;
        int left = (int)(deadline - tgc__now_ms());
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pf = {c->sub->fd, POLLOUT, 0};
        poll(&pf, 1, left);
    }
    return 0;
}

/* Read more bytes into the buffer (compacting first). >0 read, 0 EAGAIN, <0 closed/error. */
int tgc__sub_read(tg_client_t *c)
{
    if (c->rpos > 0 && (c->rpos == c->wpos || c->rpos > c->cfg.read_buffer / 2)) {
        memmove(c->buf, c->buf + c->rpos, c->wpos - c->rpos);
        c->wpos -= c->rpos;
        c->rpos = 0;
    }
    if (c->wpos == c->cfg.read_buffer) {
        tgc__set_err(c, "a message is larger than read_buffer", NULL);
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
    tgc__set_err(c, r == 0 ? "connection closed by the server" : "read",
                 r == 0 ? NULL : strerror(errno));
    return -EIO;
}

static const char *kind_word(unsigned k)
{
    return k == TG_CLIENT_SUB_BOOK ? "book" : k == TG_CLIENT_SUB_TRADES ? "trades" : "candles";
}

/* Subscribe everything; wait for every confirmation, leaving messages in the buffer. */
int tgc__join_subscribe(tg_client_t *c)
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
            if (!s->pattern && !tgc__chan_add(c, name, strlen(name))) {
                tgc__set_err(c, "too many channels", NULL);
                return -ENOSPC;
            }
            size_t n =
                tgc_resp_cmd(cmd, sizeof(cmd), s->pattern ? "PSUBSCRIBE" : "SUBSCRIBE", name);
            int rc = tgc__sub_write(c, cmd, n);
            if (rc)
                return rc;
            expect++;
        }
    }
    /* the publisher's hello after each of its connects: keys restored, read them again */
    snprintf(name, sizeof(name), "%s.control", c->prefix);
    size_t cn = tgc_resp_cmd(cmd, sizeof(cmd), "SUBSCRIBE", name);
    int crc = tgc__sub_write(c, cmd, cn);
    if (crc)
        return crc;
    expect++;
    int64_t deadline = tgc__now_ms() + c->cfg.command_timeout_ms;
    size_t scan = c->rpos;
    while (expect > 0) {
        tgc_frame_t f;
        long k = tgc_resp_frame(c->buf + scan, c->wpos - scan, &f);
        if (k < 0 || (k > 0 && f.n < 0)) {
            tgc__set_err(c, "SUBSCRIBE refused", k > 0 ? f.s[0] : "bad reply");
            return -EIO;
        }
        if (k > 0) {
            if (tgc_frame_is(&f, 0, "subscribe") || tgc_frame_is(&f, 0, "psubscribe"))
                expect--;
            scan += (size_t)k;
            continue;
        }
        size_t keep = scan - c->rpos;
        int rc = tgc__sub_read(c);
        scan = c->rpos + keep;
        if (rc < 0)
            return rc;
        if (rc == 0) {
            int left = (int)(deadline - tgc__now_ms());
            if (left <= 0) {
                tgc__set_err(c, "SUBSCRIBE", "no confirmation in time");
                return -ETIMEDOUT;
            }
            struct pollfd pf = {c->sub->fd, POLLIN, 0};
            poll(&pf, 1, left);
        }
    }
    return 0;
}

/* SCAN the keys of pattern subscriptions; creates the channels they mirror. */
int tgc__join_scan(tg_client_t *c)
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
                    tgc__set_err(c, "SCAN",
                                 r && r->type == REDIS_REPLY_ERROR ? r->str : c->cmd->errstr);
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
                    tgc__chan_add(c, ch, (size_t)n);
                }
                freeReplyObject(r);
            } while (strcmp(cursor, "0") != 0);
        }
    }
    return 0;
}

/* Pipeline a GET of every channel's key; the replies are applied one by one from next(). */
int tgc__join_get(tg_client_t *c)
{
    tgc__join_free(c);
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
            tgc__set_err(c, "GET", c->cmd->errstr);
            c->join_n = i;
            return -EIO;
        }
        c->join_replies[i] = r;
    }
    c->join_n = c->n_chans;
    c->join_i = 0;
    return 0;
}

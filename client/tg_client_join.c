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

redisContext *tgc__conn_open(tg_client_t *c, const tgc_node_t *n, int *rc)
{
    struct timeval tv = {c->cfg.connect_timeout_ms / 1000,
                         (c->cfg.connect_timeout_ms % 1000) * 1000};
    redisContext *r = c->cluster     ? redisConnectWithTimeout(n->host, n->port, tv)
                      : c->u.path[0] ? redisConnectUnixWithTimeout(c->u.path, tv)
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

/* Cluster: the slot map from the first seed (then a primary of the last map) that answers
 * with every slot served. A map with holes (a primary failed, its replica not promoted yet) is
 * not used: the reconnect backoff asks again. */
int tgc__cluster_map(tg_client_t *c)
{
    rds_cluster_node_t cand[16 + RDS_CLUSTER_MAX_NODES];
    int n = 0, rc = -EAGAIN;
    for (int i = 0; i < c->n_seeds; i++)
        cand[n++] = c->seeds[i];
    for (int i = 0; i < c->map->n_nodes && n < (int)(sizeof(cand) / sizeof(cand[0])); i++)
        cand[n++] = c->map->nodes[i];
    char err[160] = "no seed answered";
    for (int i = 0; i < n; i++) {
        tgc_node_t at = {.port = cand[i].port};
        /* the precision bounds what -O3 -Wformat-truncation assumes of the source */
        snprintf(at.host, sizeof(at.host), "%.*s", (int)sizeof(at.host) - 1, cand[i].host);
        redisContext *r = tgc__conn_open(c, &at, &rc);
        if (!r)
            continue;
        redisReply *rep = redisCommand(r, "CLUSTER SHARDS");
        int prc = rep && rep->type == REDIS_REPLY_ARRAY
                      ? rds_cluster_map_from_shards(c->map, rep, err, sizeof(err))
                      : -EPROTO;
        if (prc) {
            freeReplyObject(rep);
            rep = redisCommand(r, "CLUSTER SLOTS"); /* servers before 7.0 */
            prc = rep && rep->type == REDIS_REPLY_ARRAY
                      ? rds_cluster_map_from_slots(c->map, rep, err, sizeof(err))
                      : -EPROTO;
        }
        freeReplyObject(rep);
        redisFree(r);
        if (prc == 0 && c->map->n_unassigned == 0 && c->map->n_nodes > 0)
            return 0;
        if (prc == 0)
            snprintf(err, sizeof(err), "%u slots without a primary", c->map->n_unassigned);
        rc = -EAGAIN;
    }
    tgc__set_err(c, "cluster map", err);
    return rc;
}

/* Write all of buf to node n's (non-blocking) sub socket within the command timeout. */
static int tgc__sub_write(tg_client_t *c, tgc_node_t *n, const char *buf, size_t len)
{
    int64_t deadline = tgc__now_ms() + c->cfg.command_timeout_ms;
    while (len) {
        ssize_t w = write(n->sub->fd, buf, len);
        if (w > 0) {
            buf += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -EIO;
        int left = (int)(deadline - tgc__now_ms());
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd pf = {n->sub->fd, POLLOUT, 0};
        poll(&pf, 1, left);
    }
    return 0;
}

/* Read more bytes into node n's buffer (compacting first). >0 read, 0 EAGAIN, <0 closed. */
int tgc__sub_read(tg_client_t *c, tgc_node_t *n)
{
    if (n->rpos > 0 && (n->rpos == n->wpos || n->rpos > c->cfg.read_buffer / 2)) {
        memmove(n->buf, n->buf + n->rpos, n->wpos - n->rpos);
        n->wpos -= n->rpos;
        n->rpos = 0;
    }
    if (n->wpos == c->cfg.read_buffer) {
        tgc__set_err(c, "a message is larger than read_buffer", NULL);
        return -EMSGSIZE;
    }
    ssize_t r = read(n->sub->fd, n->buf + n->wpos, c->cfg.read_buffer - n->wpos);
    if (r > 0) {
        n->wpos += (size_t)r;
        c->ctr.bytes += (uint64_t)r;
        return 1;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    tgc__set_err(c, r == 0 ? "connection closed by the server" : "read",
                 r == 0 ? NULL : strerror(errno));
    return -EIO;
}

/* Node of a name on the cluster (0 on a single Redis); -1 when no primary serves its slot. */
static int node_of_name(const tg_client_t *c, const char *name)
{
    return c->cluster ? rds_cluster_node_of(c->map, rds_cluster_keyslot(name, strlen(name))) : 0;
}

/* Write one (P|S)SUBSCRIBE to the node of `name`; counts the confirmation to wait for. */
static int sub_send(tg_client_t *c, const char *verb, const char *name, int *expect)
{
    char cmd[512];
    int ni = node_of_name(c, name);
    if (ni < 0 || ni >= c->n_nodes) {
        tgc__set_err(c, "no primary serves the slot of", name);
        return -EAGAIN;
    }
    size_t n = tgc_resp_cmd(cmd, sizeof(cmd), verb, name);
    int rc = tgc__sub_write(c, &c->nodes[ni], cmd, n);
    if (!rc && expect)
        expect[ni]++;
    return rc;
}

int tgc__subscribe_new(tg_client_t *c, uint32_t from)
{
    for (uint32_t i = from; i < c->n_chans; i++) {
        int rc = sub_send(c, "SSUBSCRIBE", c->chans[i]->name, NULL);
        if (rc)
            return rc;
    }
    return 0;
}

/* Subscribe everything; wait for every confirmation, leaving messages in the buffers. On a
 * single Redis: SUBSCRIBE each channel, PSUBSCRIBE each pattern. On a cluster (sharded pub/sub
 * has no patterns): SSUBSCRIBE every channel at the primary of its slot, the patterns' ones
 * having been found by tgc__join_scan() before. */
int tgc__join_subscribe(tg_client_t *c)
{
    char name[TGC_NAME_MAX];
    int expect[RDS_CLUSTER_MAX_NODES] = {0}, rc;
    for (int i = 0; i < c->n_subs; i++) {
        const tgc_sub_t *s = &c->subs[i];
        for (unsigned k = 1; k <= TG_CLIENT_SUB_CANDLES; k <<= 1) {
            if (!(s->kinds & k))
                continue;
            tgc__name(c, name, sizeof(name), false, k, s->interval, s->venue, s->symbol);
            if (!s->pattern && !tgc__chan_add(c, name, strlen(name))) {
                tgc__set_err(c, "too many channels", NULL);
                return -ENOSPC;
            }
            if (!c->cluster &&
                (rc = sub_send(c, s->pattern ? "PSUBSCRIBE" : "SUBSCRIBE", name, expect)))
                return rc;
        }
    }
    for (uint32_t i = 0; c->cluster && i < c->n_chans; i++)
        if ((rc = sub_send(c, "SSUBSCRIBE", c->chans[i]->name, expect)))
            return rc;
    /* the publisher's hello after each of its connects: keys restored, read them again */
    if ((rc = sub_send(c, c->cluster ? "SSUBSCRIBE" : "SUBSCRIBE", c->control, expect)))
        return rc;
    int64_t deadline = tgc__now_ms() + c->cfg.command_timeout_ms;
    for (int ni = 0; ni < c->n_nodes; ni++) {
        tgc_node_t *n = &c->nodes[ni];
        size_t scan = n->rpos;
        while (expect[ni] > 0) {
            tgc_frame_t f;
            long k = tgc_resp_frame(n->buf + scan, n->wpos - scan, &f);
            if (k < 0 || (k > 0 && f.n < 0)) {
                tgc__set_err(c, "SUBSCRIBE refused", k > 0 ? f.s[0] : "bad reply");
                return -EIO;
            }
            if (k > 0) {
                if (tgc_frame_is(&f, 0, "subscribe") || tgc_frame_is(&f, 0, "psubscribe") ||
                    tgc_frame_is(&f, 0, "ssubscribe"))
                    expect[ni]--;
                scan += (size_t)k;
                continue;
            }
            size_t keep = scan - n->rpos;
            rc = tgc__sub_read(c, n);
            scan = n->rpos + keep;
            if (rc < 0)
                return rc;
            if (rc == 0) {
                int left = (int)(deadline - tgc__now_ms());
                if (left <= 0) {
                    tgc__set_err(c, "SUBSCRIBE", "no confirmation in time");
                    return -ETIMEDOUT;
                }
                struct pollfd pf = {n->sub->fd, POLLIN, 0};
                poll(&pf, 1, left);
            }
        }
    }
    return 0;
}

/* A key {p}:{kind}:... as its channel {p}.{kind}s?....: ':' -> '.' up to the hash tag (a
 * cluster's "{venue:symbol}" keeps its ':'). Adds the channel; false if not one of ours. */
static bool chan_of_key(tg_client_t *c, const char *key)
{
    char ch[TGC_NAME_MAX];
    const char *rest = key + strlen(c->prefix) + 1;
    const char *colon = strchr(rest, ':');
    if (!colon)
        return false;
    size_t kl = (size_t)(colon - rest);
    const char *kw = kl == 4 && !memcmp(rest, "book", 4)     ? "book"
                     : kl == 5 && !memcmp(rest, "trade", 5)  ? "trades"
                     : kl == 6 && !memcmp(rest, "candle", 6) ? "candles"
                                                             : NULL;
    if (!kw)
        return false;
    int n = snprintf(ch, sizeof(ch), "%s.%s.%s", c->prefix, kw, colon + 1);
    if (n <= 0 || n >= (int)sizeof(ch))
        return false;
    for (char *p = ch + strlen(c->prefix) + strlen(kw) + 2; *p && *p != '{'; p++)
        if (*p == ':')
            *p = '.';
    return tgc__chan_add(c, ch, (size_t)n) != NULL;
}

/* SCAN one node for the keys matching pat (creates the channels they mirror). */
static int scan_node(tg_client_t *c, tgc_node_t *n, const char *pat)
{
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(n->cmd, "SCAN %s MATCH %s COUNT 1000", cursor, pat);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            tgc__set_err(c, "SCAN", r && r->type == REDIS_REPLY_ERROR ? r->str : n->cmd->errstr);
            freeReplyObject(r);
            return -EIO;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t j = 0; j < r->element[1]->elements; j++)
            chan_of_key(c, r->element[1]->element[j]->str);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

/* SCAN the keys of pattern subscriptions, on every node (a cluster spreads them over its
 * primaries); creates the channels they mirror. */
int tgc__join_scan(tg_client_t *c)
{
    char pat[TGC_NAME_MAX];
    for (int i = 0; i < c->n_subs; i++) {
        const tgc_sub_t *s = &c->subs[i];
        if (!s->pattern)
            continue;
        for (unsigned k = 1; k <= TG_CLIENT_SUB_CANDLES; k <<= 1) {
            if (!(s->kinds & k))
                continue;
            tgc__name(c, pat, sizeof(pat), true, k, s->interval, s->venue, s->symbol);
            for (int ni = 0; ni < c->n_nodes; ni++) {
                int rc = scan_node(c, &c->nodes[ni], pat);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

/* Pipeline a GET of every channel's key at its node; the replies are applied one by one from
 * next(). On a cluster an error reply (MOVED: the map changed meanwhile) fails the join, so
 * the reconnect reads the map again; a key is never skipped in silence. */
int tgc__join_get(tg_client_t *c)
{
    tgc__join_free(c);
    if (!c->n_chans)
        return 0;
    c->join_replies = calloc(c->n_chans, sizeof(*c->join_replies));
    if (!c->join_replies)
        return -ENOMEM;
    for (uint32_t i = 0; i < c->n_chans; i++) {
        redisContext *cmd = tgc__cmd_of(c, c->chans[i]);
        if (!cmd) {
            tgc__set_err(c, "no primary serves the slot of", c->chans[i]->key);
            return -EAGAIN;
        }
        redisAppendCommand(cmd, "GET %s", c->chans[i]->key);
    }
    for (uint32_t i = 0; i < c->n_chans; i++) {
        redisContext *cmd = tgc__cmd_of(c, c->chans[i]);
        redisReply *r = NULL;
        if (redisGetReply(cmd, (void **)&r) != REDIS_OK || !r) {
            tgc__set_err(c, "GET", cmd->errstr);
            c->join_n = i;
            return -EIO;
        }
        c->join_replies[i] = r;
        c->join_n = i + 1;
        if (c->cluster && r->type == REDIS_REPLY_ERROR) {
            tgc__set_err(c, "GET", r->str);
            return -EAGAIN;
        }
    }
    c->join_i = 0;
    return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * Redis publisher pipelines (writer:redis): the pipelined blocking hiredis connections of
 * store_rds.c, their allocation-free reply parsing, and on a Redis Cluster the slot map and
 * the routing of every instrument to the pipeline of its slot's primary.
 *
 * DESIGN
 * One rds_pipe_t per Redis the publisher writes to: one for a single Redis, one per primary on
 * a cluster (docs/redis.md, "Publisher on a Redis Cluster"). Each keeps its own FIFO of receive
 * stamps (receive -> acknowledged latency of each PUBLISH) and write marks (round trip), and
 * its own sent/acked counts. The pipelines are up or down together: any I/O error, timeout, or
 * on a cluster any MOVED/ASK/CLUSTERDOWN/TRYAGAIN reply drops them all (commands in flight
 * and redirected commands count as `lost`), and the next connect reads the slot map again
 * from the seeds and the primaries known, routes every instrument by its slot and opens one
 * connection per primary. store_rds.c then restores the keys and says hello, as after any
 * reconnect. Why so blunt: a redirection means the map is wrong for at least one slot, a
 * command sent to the wrong node is lost anyway, and a full reconnect reuses the one path
 * (restore + hello) that clients already know how to follow; failovers are rare.
 * Thread: writer:redis, except pipes_init/deinit (main) and the probe (any).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "storage/redis/store_rds_impl.h"

/* ---- reply parsing without allocation ------------------------------------------------- */

static _Thread_local store_rds_t *rds_self; /* the publisher whose context is being read */
static char rds_reply_token;                /* every reply is this token */

static bool starts(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && memcmp(s, w, n) == 0;
}

/* A cluster's "not here" replies: the command was not executed (lost), the map is stale. */
static bool cluster_reply(store_rds_t *p, const char *s, size_t len)
{
    bool red = starts(s, len, "MOVED ") || starts(s, len, "ASK ");
    if (!p->cluster || (!red && !starts(s, len, "CLUSTERDOWN") && !starts(s, len, "TRYAGAIN")))
        return false;
    TG_STAT_INC(p->st.lost);
    if (red)
        TG_STAT_INC(p->st.cluster_redirects);
    else
        TG_STAT_INC(p->st.errors);
    rds_cluster_redirect_t rd;
    if (starts(s, len, "MOVED ") && rds_cluster_parse_redirect(s, len, &rd) == 1 &&
        rd.node.host[0]) {
        p->moved_to = rd.node;
        p->have_moved = true;
    }
    if (p->redirected++ == 0)
        store_rds__log(p, TG_LOG_WARN, 0, "redis %s: %.*s: reading the slot map again",
                       p->conn.where, (int)(len > 120 ? 120 : len), s);
    return true;
}

static void *rds_r_string(const redisReadTask *t, char *s, size_t len)
{
    store_rds_t *p = rds_self;
    static const char dup[] = "ERR The ID specified in XADD is equal or smaller";
    if (t->type == REDIS_REPLY_ERROR && p && len >= sizeof(dup) - 1 &&
        memcmp(s, dup, sizeof(dup) - 1) == 0) {
        TG_STAT_INC(p->st.stream_dups); /* a re-sent entry the stream already holds */
        return &rds_reply_token;
    }
    if (t->type == REDIS_REPLY_ERROR && p && cluster_reply(p, s, len))
        return &rds_reply_token;
    if (t->type == REDIS_REPLY_ERROR && p) {
        TG_STAT_INC(p->st.reply_errors);
        TG_STAT_INC(p->st.errors);
        uint64_t n = TG_STAT_GET(p->st.reply_errors);
        if (p->reply_errs_logged < 5 || (n & (n - 1)) == 0) { /* first ones, then 2^k-th */
            p->reply_errs_logged++;
            store_rds__log(p, TG_LOG_ERROR, TG_EREDIS, "redis: error reply #%llu: %.*s",
                           (unsigned long long)n, (int)(len > 200 ? 200 : len), s);
        }
    }
    return &rds_reply_token;
}

static void *rds_r_array(const redisReadTask *t, int n)
{
    return &rds_reply_token;
}

static void *rds_r_integer(const redisReadTask *t, long long v)
{
    return &rds_reply_token;
}

static void *rds_r_nil(const redisReadTask *t)
{
    return &rds_reply_token;
}

static void rds_r_free(void *o)
{
}

static redisReplyObjectFunctions rds_reply_fns = {rds_r_string, rds_r_array, rds_r_integer,
                                                  rds_r_nil, rds_r_free};

/* ---- pipelines ------------------------------------------------------------------------- */

static int pipe_alloc(store_rds_t *p, rds_pipe_t *q)
{
    if (q->fl_mono)
        return 0;
    q->fl_mono = calloc((size_t)p->fl_mask + 1, sizeof(*q->fl_mono));
    q->fl_kind = calloc((size_t)p->fl_mask + 1, sizeof(*q->fl_kind));
    return q->fl_mono && q->fl_kind ? 0 : -ENOMEM;
}

int store_rds__pipes_init(store_rds_t *p)
{
    uint32_t fl = 1;
    while (fl < p->cfg.pipeline_depth * 2u)
        fl <<= 1;
    p->fl_mask = fl - 1;
    p->n_pipe_max = p->cluster ? RDS_CLUSTER_MAX_NODES : 1;
    p->pipe = calloc((size_t)p->n_pipe_max, sizeof(*p->pipe));
    if (!p->pipe)
        return -ENOMEM;
    p->n_pipe = 1;
    snprintf(p->pipe[0].where, sizeof(p->pipe[0].where), "%.79s", p->conn.where);
    return pipe_alloc(p, &p->pipe[0]); /* the others when their primary is known */
}

void store_rds__pipes_deinit(store_rds_t *p)
{
    for (int i = 0; p->pipe && i < p->n_pipe_max; i++) {
        redisFree(p->pipe[i].ctx);
        free(p->pipe[i].fl_mono);
        free(p->pipe[i].fl_kind);
    }
    free(p->pipe);
    p->pipe = NULL;
}

static void pipe_reset(rds_pipe_t *q)
{
    redisFree(q->ctx);
    q->ctx = NULL;
    q->sent = q->acked = q->written = 0;
    q->mark_n = 0;
}

void store_rds__close(store_rds_t *p)
{
    for (int i = 0; i < p->n_pipe; i++)
        pipe_reset(&p->pipe[i]);
    p->up = false;
    p->redirected = 0;
    TG_STAT_SET(p->st.connected, 0);
    TG_STAT_SET(p->st.cluster_nodes, 0);
}

void store_rds__drop(store_rds_t *p, int err, const char *what)
{
    uint64_t inflight = 0;
    char why[160] = "";
    const char *where = p->conn.where;
    for (int i = 0; i < p->n_pipe; i++) {
        rds_pipe_t *q = &p->pipe[i];
        inflight += q->sent - q->acked;
        if (!why[0] && q->ctx && q->ctx->err) {
            snprintf(why, sizeof(why), "%s", q->ctx->errstr);
            where = q->where;
        }
    }
    if (!why[0])
        snprintf(why, sizeof(why), "%s", tg_strerror(err));
    TG_STAT_ADD(p->st.lost, inflight);
    TG_STAT_INC(p->st.errors);
    store_rds__close(p);
    p->final_err = err;
    store_rds__log(p, TG_LOG_WARN, err, "redis %s: %s: %s (%llu commands in flight lost)", where,
                   what, why, (unsigned long long)inflight);
    p->next_try = tg_clock_mono_ns(); /* first retry at once, then back off */
}

static int pipe_write(store_rds_t *p, rds_pipe_t *q)
{
    if (!q->ctx || q->written == q->sent)
        return 0;
    int done = 0;
    while (!done) {
        if (redisBufferWrite(q->ctx, &done) != REDIS_OK) {
            int e = errno == EAGAIN ? -ETIMEDOUT : -EIO;
            store_rds__drop(p, e, "write");
            return e;
        }
    }
    int64_t now = tg_clock_mono_ns();
    for (uint64_t i = q->written; i != q->sent; i++) { /* receive -> PUBLISH written */
        int64_t ts = q->fl_mono[i & p->fl_mask];
        if (ts > 1)
            tg_hist_add(&p->st.lat_written[q->fl_kind[i & p->fl_mask]], now - ts);
    }
    if (q->mark_n == RDS_MARKS) { /* merge into the newest mark */
        q->marks[(q->mark_head + q->mark_n - 1) % RDS_MARKS].end = q->sent;
    } else {
        q->marks[(q->mark_head + q->mark_n) % RDS_MARKS] = (rds_mark_t){q->sent, now};
        q->mark_n++;
    }
    q->written = q->sent;
    return 0;
}

/* Read replies: blocking until at most `target` commands are in flight, then whatever has
 * already arrived (so acknowledgements, and the latency figures, are not read late). */
static int pipe_reap(store_rds_t *p, rds_pipe_t *q, uint64_t target)
{
    int64_t now = tg_clock_mono_ns();
    rds_self = p;
    while (q->ctx && q->sent > q->acked) {
        void *rep = NULL;
        if (redisGetReplyFromReader(q->ctx, &rep) != REDIS_OK) {
            store_rds__drop(p, TG_EPROTO, "reply");
            return TG_EPROTO;
        }
        if (!rep) {
            if (q->sent - q->acked <= target) {
                struct pollfd pfd = {.fd = q->ctx->fd, .events = POLLIN};
                if (q->written == q->acked || poll(&pfd, 1, 0) <= 0)
                    break; /* nothing more without waiting */
            }
            if (q->written == q->acked) { /* nothing written is pending: write first */
                int e = pipe_write(p, q);
                if (e)
                    return e;
            }
            if (redisBufferRead(q->ctx) != REDIS_OK) {
                int e = q->ctx->err == REDIS_ERR_EOF ? -ECONNRESET
                        : errno == EAGAIN            ? -ETIMEDOUT
                                                     : -EIO;
                store_rds__drop(p, e, "read");
                return e;
            }
            now = tg_clock_mono_ns(); /* one stamp per read: replies of one read share it */
            continue;
        }
        int64_t ts = q->fl_mono[q->acked & p->fl_mask];
        if (ts > 0)
            tg_hist_add(&p->st.pub_lat, now - ts);
        if (ts > 1)
            tg_hist_add(&p->st.lat_acked[q->fl_kind[q->acked & p->fl_mask]], now - ts);
        q->acked++;
        TG_STAT_INC(p->st.commands);
        while (q->mark_n && q->marks[q->mark_head].end <= q->acked) {
            tg_hist_add(&p->st.rtt_lat, now - q->marks[q->mark_head].t);
            q->mark_head = (q->mark_head + 1) % RDS_MARKS;
            q->mark_n--;
        }
    }
    return 0;
}

int store_rds__flush(store_rds_t *p, uint64_t target)
{
    for (int i = 0; p->up && i < p->n_pipe; i++) {
        int e = pipe_write(p, &p->pipe[i]);
        if (e)
            return e;
    }
    for (int i = 0; p->up && i < p->n_pipe; i++) {
        int e = pipe_reap(p, &p->pipe[i], target);
        if (e)
            return e;
    }
    if (p->up && p->redirected) {
        char what[96];
        snprintf(what, sizeof(what), "%u replies MOVED/ASK/CLUSTERDOWN/TRYAGAIN", p->redirected);
        store_rds__drop(p, TG_EREDIS, what);
        /* not at once: the seeds may not know the new map yet (gossip), and CLUSTERDOWN
         * needs time; a successful connect resets the backoff */
        store_rds__backoff(p, tg_clock_mono_ns());
        return TG_EREDIS;
    }
    return 0;
}

bool store_rds__push(store_rds_t *p, int node, const char *cmd, size_t len, int64_t ts_mono, int lk)
{
    if (!p->up)
        return false;
    rds_pipe_t *q = &p->pipe[node];
    if (q->sent - q->acked > p->fl_mask) { /* FIFO full: make room */
        if (pipe_write(p, q) || pipe_reap(p, q, p->cfg.pipeline_depth / 2))
            return false;
    }
    if (redisAppendFormattedCommand(q->ctx, cmd, len) != REDIS_OK) {
        store_rds__drop(p, -ENOMEM, "append");
        return false;
    }
    q->fl_mono[q->sent & p->fl_mask] = ts_mono;
    q->fl_kind[q->sent & p->fl_mask] = (uint8_t)lk;
    q->sent++;
    TG_STAT_ADD(p->st.bytes, len);
    return true;
}

/* ---- cluster map ----------------------------------------------------------------------- */

/* The connection settings of one node: the publisher's credentials, the node's address. */
void store_rds__node_conn(store_rds_conn_t *nc, const store_rds_conn_t *base,
                          const rds_cluster_node_t *n)
{
    *nc = *base;
    snprintf(nc->host, sizeof(nc->host), "%s", n->host);
    nc->port = n->port;
    nc->unix_path[0] = '\0';
    snprintf(nc->where, sizeof(nc->where), "%s:%d", n->host, n->port);
}

/* Read the slot map from the first candidate that serves a complete one (CLUSTER SHARDS,
 * else CLUSTER SLOTS for servers before 7.0). @return 0, or the last failure's code. */
static int map_read(const store_rds_conn_t *base, const rds_cluster_node_t *cand, int n,
                    rds_cluster_map_t *m, char *errbuf, size_t len)
{
    int err = -ENOENT;
    snprintf(errbuf, len, "no seed");
    for (int i = 0; i < n; i++) {
        store_rds_conn_t nc;
        store_rds__node_conn(&nc, base, &cand[i]);
        int e = 0;
        redisContext *c = store_rds_conn_open(&nc, &e, errbuf, len);
        store_rds_conn_deinit(&nc);
        if (!c) {
            err = e;
            continue;
        }
        char why[160] = "";
        redisReply *r = redisCommand(c, "CLUSTER SHARDS");
        int rc = r && r->type == REDIS_REPLY_ARRAY
                     ? rds_cluster_map_from_shards(m, r, why, sizeof(why))
                     : -EPROTO;
        if (r && r->type == REDIS_REPLY_ERROR) { /* before 7.0 */
            freeReplyObject(r);
            r = redisCommand(c, "CLUSTER SLOTS");
            rc = r && r->type == REDIS_REPLY_ARRAY
                     ? rds_cluster_map_from_slots(m, r, why, sizeof(why))
                     : -EPROTO;
        }
        if (!r)
            snprintf(why, sizeof(why), "%s", c->errstr);
        else if (r->type == REDIS_REPLY_ERROR)
            snprintf(why, sizeof(why), "%.150s", r->str);
        freeReplyObject(r);
        redisFree(c);
        if (rc == 0 && m->n_unassigned == 0 && m->n_nodes > 0)
            return 0;
        err = rc ? rc : -EAGAIN;
        if (rc == 0)
            snprintf(why, sizeof(why), "%u slots without a primary", m->n_unassigned);
        snprintf(errbuf, len, "redis cluster %s:%d: slot map: %s", cand[i].host, cand[i].port, why);
    }
    return err;
}

int store_rds__cluster_map(store_rds_t *p, char *errbuf, size_t len)
{
    /* candidates: the seeds, then the primaries of the last map (a node may have left the
     * seed list's reach while the cluster lives on) */
    rds_cluster_node_t cand[17 + RDS_CLUSTER_MAX_NODES];
    int n = 0;
    if (p->have_moved) /* the new owner of a slot knows the map that made it so */
        cand[n++] = p->moved_to;
    p->have_moved = false;
    for (int i = 0; i < p->n_seeds && i < 16; i++)
        cand[n++] = p->seeds[i];
    for (int i = 0; i < p->map->n_nodes; i++)
        cand[n++] = p->map->nodes[i];
    int err = map_read(&p->conn, cand, n, p->map, errbuf, len);
    if (!err)
        TG_STAT_INC(p->st.cluster_refreshes);
    return err;
}

static int cluster_connect(store_rds_t *p, char *errbuf, size_t len)
{
    int err = store_rds__cluster_map(p, errbuf, len);
    if (err)
        return err;
    for (uint32_t i = 0; i < p->n_inst; i++)
        p->inst[i].node = (uint16_t)rds_cluster_node_of(p->map, p->inst[i].cslot);
    p->n_pipe = p->map->n_nodes;
    for (int i = 0; i < p->n_pipe; i++) {
        rds_pipe_t *q = &p->pipe[i];
        snprintf(q->where, sizeof(q->where), "%s:%d", p->map->nodes[i].host, p->map->nodes[i].port);
        if ((err = pipe_alloc(p, q)) < 0) {
            snprintf(errbuf, len, "redis cluster: out of memory");
            return err;
        }
        store_rds_conn_t nc;
        store_rds__node_conn(&nc, &p->conn, &p->map->nodes[i]);
        q->ctx = store_rds_conn_open(&nc, &err, errbuf, len);
        store_rds_conn_deinit(&nc);
        if (!q->ctx)
            return err;
    }
    return 0;
}

int store_rds__connect(store_rds_t *p, char *errbuf, size_t len)
{
    int err = 0;
    if (p->cluster) {
        err = cluster_connect(p, errbuf, len);
    } else {
        p->pipe[0].ctx = store_rds_conn_open(&p->conn, &err, errbuf, len);
    }
    if (err) {
        for (int i = 0; i < p->n_pipe; i++)
            pipe_reset(&p->pipe[i]);
        return err;
    }
    for (int i = 0; i < p->n_pipe; i++)
        p->pipe[i].ctx->reader->fn = &rds_reply_fns;
    p->up = true;
    p->redirected = 0;
    TG_STAT_SET(p->st.connected, 1);
    TG_STAT_SET(p->st.cluster_nodes, p->cluster ? (uint64_t)p->n_pipe : 0);
    return 0;
}

/* RESP "*N\r\n$L\r\nNAME\r\n$K\r\nKEY\r\n...": the key (argument 1). */
int store_rds__node_of_cmd(const store_rds_t *p, const char *cmd, size_t len)
{
    if (!p->cluster)
        return 0;
    const char *s = cmd, *end = cmd + len;
    for (int line = 0; line < 3; line++) { /* skip "*N", "$L", "NAME" */
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl)
            return 0;
        s = nl + 1;
    }
    if (s >= end || *s != '$')
        return 0;
    char *after;
    unsigned long kl = strtoul(s + 1, &after, 10);
    const char *key = after + 2;
    if (key + kl > end)
        return 0;
    int n = rds_cluster_node_of(p->map, rds_cluster_keyslot(key, kl));
    return n < 0 ? 0 : n;
}

int store_rds__cluster_probe(const store_rds_cfg_t *cfg, const store_rds_conn_t *cc, char *errbuf,
                             size_t len)
{
    rds_cluster_node_t seeds[16];
    char tmp[200];
    int n = rds_cluster_parse_seeds(cfg->cluster, seeds, 16, tmp, sizeof(tmp));
    if (n < 0) {
        snprintf(errbuf, len, "redis: cluster: %s", tmp);
        return n;
    }
    rds_cluster_map_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    int err = map_read(cc, seeds, n, m, tmp, sizeof(tmp));
    if (err)
        snprintf(errbuf, len, "%s", tmp);
    for (int i = 0; !err && i < m->n_nodes; i++) { /* every primary must take our handshake */
        store_rds_conn_t nc;
        store_rds__node_conn(&nc, cc, &m->nodes[i]);
        redisContext *c = store_rds_conn_open(&nc, &err, tmp, sizeof(tmp));
        store_rds_conn_deinit(&nc);
        redisFree(c);
        if (err)
            snprintf(errbuf, len, "%s", tmp);
    }
    free(m);
    return err;
}

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
 * its own sent/acked counts. A single Redis: any I/O error or timeout drops the connection
 * (commands in flight count as `lost`) and store_rds.c reconnects, restores the keys and says
 * hello. A cluster: the first connect reads the slot map and opens every primary; after that
 * each pipeline fails alone and the others keep publishing:
 *  - an I/O error or timeout on a node closes its pipeline only (its commands in flight are
 *    `lost`; records for its slots count as dropped/coalesced while it is down) and sets
 *    `heal`: store_rds__heal() reads the map again in the background (paced by a jittered
 *    backoff), re-routes every instrument whose slot has a new primary, connects the
 *    pipelines down and restores their keys, stream backlog and hello (store_rds.c);
 *  - MOVED: the slot's owner is updated at once (only that slot), its instruments re-routed,
 *    the command sent again to the new owner, and the whole map read again in the background;
 *  - ASK: ASKING + the command to the target, for that command only (the map is unchanged);
 *  - CLUSTERDOWN/TRYAGAIN: the command is lost; the pipeline stays (while the cluster state
 *    is "fail" every node refuses writes but still serves SPUBLISH), and once the map is whole
 *    again the node's keys and stream backlog are written again.
 * Commands are sent again from a copy of the bytes in flight (rb, the last RDS_REPLAY_MAX
 * bytes per pipeline): a command older than that, or redirected a second time, is `lost`.
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
static _Thread_local rds_pipe_t *rds_cur;   /* and its pipeline */
static char rds_reply_token;                /* every reply is this token */

static bool starts(const char *s, size_t len, const char *w)
{
    size_t n = strlen(w);
    return len >= n && memcmp(s, w, n) == 0;
}

/* Keep the command being answered (index q->acked) to send it again to rd's node.
 * @return false when it cannot be (redirected before, out of the copy, no room). */
static bool redo_keep(store_rds_t *p, rds_pipe_t *q, const rds_cluster_redirect_t *rd)
{
    uint64_t i = q->acked;
    if (!q->rb || i >= q->sent || (q->fl_kind[i & p->fl_mask] & RDS_FL_REDO))
        return false;
    uint64_t off = q->fl_off[i & p->fl_mask];
    uint64_t end = i + 1 < q->sent ? q->fl_off[(i + 1) & p->fl_mask] : q->rb_pos;
    size_t len = (size_t)(end - off);
    if (q->rb_pos - off > RDS_REPLAY_MAX || !len)
        return false;
    if (!p->redo && !(p->redo = malloc(RDS_REPLAY_MAX)))
        return false;
    if (p->redo_len + sizeof(rds_redo_t) + len > RDS_REPLAY_MAX)
        return false;
    rds_redo_t h = {rd->node, (uint32_t)len, rd->slot, (uint8_t)rd->ask,
                    q->fl_kind[i & p->fl_mask]};
    if (!h.node.host[0]) /* "MOVED 3999 :6381": the host of the node that answered */
        snprintf(h.node.host, sizeof(h.node.host), "%s", p->map->nodes[q - p->pipe].host);
    memcpy(p->redo + p->redo_len, &h, sizeof(h));
    for (size_t k = 0; k < len; k++) /* out of the ring, which may wrap */
        p->redo[p->redo_len + sizeof(h) + k] = q->rb[(off + k) & (RDS_REPLAY_MAX - 1)];
    p->redo_len += sizeof(h) + len;
    return true;
}

/* A cluster's "not here" replies. MOVED/ASK: the command is sent again (redo_keep) or lost;
 * CLUSTERDOWN/TRYAGAIN: lost, and the node's keys written again once the map is whole. */
static bool cluster_reply(store_rds_t *p, const char *s, size_t len)
{
    bool red = starts(s, len, "MOVED ") || starts(s, len, "ASK ");
    if (!p->cluster || (!red && !starts(s, len, "CLUSTERDOWN") && !starts(s, len, "TRYAGAIN")))
        return false;
    p->heal = true;
    rds_cluster_redirect_t rd;
    if (red && rds_cluster_parse_redirect(s, len, &rd) == 1) {
        TG_STAT_INC(p->st.cluster_redirects);
        if (!rd.ask && rd.node.host[0]) {
            p->moved_to = rd.node;
            p->have_moved = true;
        }
        if (rds_cur && redo_keep(p, rds_cur, &rd))
            return true;
    } else if (!red) {
        TG_STAT_INC(p->st.errors);
        if (rds_cur)
            rds_cur->restore = true;
    }
    TG_STAT_INC(p->st.lost);
    if (p->redirected++ == 0)
        store_rds__log(p, TG_LOG_WARN, 0, "redis %s: %.*s: reading the slot map again",
                       rds_cur ? rds_cur->where : p->conn.where, (int)(len > 120 ? 120 : len), s);
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
    if (p->cluster) { /* the bytes in flight, to send a redirected command again */
        q->fl_off = calloc((size_t)p->fl_mask + 1, sizeof(*q->fl_off));
        q->rb = malloc(RDS_REPLAY_MAX);
        if (!q->fl_off || !q->rb)
            return -ENOMEM;
    }
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
        free(p->pipe[i].fl_off);
        free(p->pipe[i].rb);
    }
    free(p->pipe);
    p->pipe = NULL;
    free(p->redo);
    p->redo = NULL;
    store_rds__heal_stop(p, true);
}

static void pipe_reset(rds_pipe_t *q)
{
    redisFree(q->ctx);
    q->ctx = NULL;
    q->sent = q->acked = q->written = 0;
    q->mark_n = 0;
    q->rb_pos = 0;
    q->restore = false;
    q->slow = false;
    q->bl_safe = 0;
}

/* Cluster gauges: primaries connected; `connected` while every slot's primary is. */
static void gauges(store_rds_t *p)
{
    bool serving[RDS_CLUSTER_MAX_NODES] = {false};
    for (uint32_t s = 0; s < RDS_CLUSTER_SLOTS; s++)
        if (p->map->slot_node[s] != RDS_CLUSTER_NO_NODE)
            serving[p->map->slot_node[s]] = true;
    uint64_t n = 0;
    bool all = p->up && p->map->n_unassigned == 0;
    for (int i = 0; i < p->n_pipe; i++) {
        n += p->pipe[i].ctx != NULL;
        all = all && (!serving[i] || p->pipe[i].ctx);
    }
    TG_STAT_SET(p->st.connected, all ? 1 : 0);
    TG_STAT_SET(p->st.cluster_nodes, n);
}

/* Cluster: node i failed; close its pipeline only (in flight: `lost`) and heal. */
static void pipe_lose(store_rds_t *p, int i, int err, const char *what)
{
    rds_pipe_t *q = &p->pipe[i];
    uint64_t inflight = q->sent - q->acked;
    char why[160];
    snprintf(why, sizeof(why), "%s",
             q->ctx && q->ctx->err ? q->ctx->errstr
             : err                 ? tg_strerror(err)
                                   : "closed");
    TG_STAT_ADD(p->st.lost, inflight);
    TG_STAT_INC(p->st.errors);
    pipe_reset(q);
    if (!p->heal)
        p->heal_at = tg_clock_mono_ns(); /* the first map read at once, then paced */
    p->heal = true;
    gauges(p);
    store_rds__log(p, TG_LOG_WARN, err,
                   "redis %s: %s: %s (%llu commands in flight lost); the other primaries go on, "
                   "reading the slot map again",
                   q->where, what, why, (unsigned long long)inflight);
}

/* A failure on pipeline q: on a cluster (once up) that pipeline alone, else everything. */
static void pipe_fail(store_rds_t *p, rds_pipe_t *q, int err, const char *what)
{
    if (p->cluster && p->up)
        pipe_lose(p, (int)(q - p->pipe), err, what);
    else
        store_rds__drop(p, err, what);
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
            pipe_fail(p, q, e, "write");
            return e;
        }
    }
    int64_t now = tg_clock_mono_ns();
    for (uint64_t i = q->written; i != q->sent; i++) { /* receive -> PUBLISH written */
        int64_t ts = q->fl_mono[i & p->fl_mask];
        if (ts > 1)
            tg_hist_add(&p->st.lat_written[q->fl_kind[i & p->fl_mask] & ~RDS_FL_REDO], now - ts);
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

/* Cluster: wait for q's socket to have something to read, until `until` (monotonic ns). The
 * oldest command written and not answered may be command_timeout_ms old at most: past that the
 * node is hung (a stopped process, a partition: the kernel still accepts), its pipeline fails.
 * @return true when readable; false when `until` passed first, or q failed (q->ctx NULL). */
static bool pipe_wait(store_rds_t *p, rds_pipe_t *q, int64_t until)
{
    int64_t limit = (int64_t)p->conn.command_timeout_ms * TG_NS_PER_MS;
    for (;;) {
        int64_t now = tg_clock_mono_ns();
        int64_t due = q->mark_n ? q->marks[q->mark_head].t + limit : INT64_MAX;
        if (now >= due) {
            char what[64];
            snprintf(what, sizeof(what), "no reply within %d ms", p->conn.command_timeout_ms);
            pipe_fail(p, q, -ETIMEDOUT, what);
            return false;
        }
        int64_t end = until < due ? until : due;
        int ms = now >= end ? 0 : (int)((end - now + TG_NS_PER_MS - 1) / TG_NS_PER_MS);
        struct pollfd pfd = {.fd = q->ctx->fd, .events = POLLIN};
        int r = poll(&pfd, 1, ms);
        if (r != 0)
            return r > 0 || errno != EINTR; /* an error: the read says which */
        if (tg_clock_mono_ns() >= until && until < due)
            return false;
    }
}

/* Read replies: until at most `target` commands are in flight, then whatever has already
 * arrived (so acknowledgements, and the latency figures, are not read late). A single Redis
 * blocks (the socket's timeout is the deadline); on a cluster one node never holds up the
 * others: it is waited for until `until` at most (@return RDS_WAIT then). */
static int pipe_reap(store_rds_t *p, rds_pipe_t *q, uint64_t target, int64_t until)
{
    int64_t now = tg_clock_mono_ns();
    rds_self = p;
    rds_cur = q;
    while (q->ctx && q->sent > q->acked) {
        void *rep = NULL;
        if (redisGetReplyFromReader(q->ctx, &rep) != REDIS_OK) {
            pipe_fail(p, q, TG_EPROTO, "reply");
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
            if (p->cluster && p->up && !pipe_wait(p, q, until))
                return q->ctx ? RDS_WAIT : -ETIMEDOUT;
            if (redisBufferRead(q->ctx) != REDIS_OK) {
                int e = q->ctx->err == REDIS_ERR_EOF ? -ECONNRESET
                        : errno == EAGAIN            ? -ETIMEDOUT
                                                     : -EIO;
                pipe_fail(p, q, e, "read");
                return e;
            }
            now = tg_clock_mono_ns(); /* one stamp per read: replies of one read share it */
            continue;
        }
        int64_t ts = q->fl_mono[q->acked & p->fl_mask];
        if (ts > 0)
            tg_hist_add(&p->st.pub_lat, now - ts);
        if (ts > 1)
            tg_hist_add(&p->st.lat_acked[q->fl_kind[q->acked & p->fl_mask] & ~RDS_FL_REDO],
                        now - ts);
        q->acked++;
        TG_STAT_INC(p->st.commands);
        while (q->mark_n && q->marks[q->mark_head].end <= q->acked) {
            tg_hist_add(&p->st.rtt_lat, now - q->marks[q->mark_head].t);
            q->mark_head = (q->mark_head + 1) % RDS_MARKS;
            q->mark_n--;
        }
    }
    if (q->ctx && q->sent == q->acked && !q->restore)
        q->bl_safe = p->bl.tail; /* every XADD sent here so far is in (or was already) */
    return 0;
}

/* Cluster: reap q waiting until `until` at most; a node that makes a flush wait that long is
 * slow: later flushes read what it has answered without waiting, until it catches up (or its
 * oldest command passes command_timeout_ms and it fails). */
static int pipe_reap_slow(store_rds_t *p, rds_pipe_t *q, uint64_t target, int64_t until, bool force)
{
    int e = pipe_reap(p, q, target, q->slow && !force ? 0 : until);
    if (e == RDS_WAIT && !q->slow) {
        /* a node hovering around the limit under load would log twice per episode: the
         * first episode and every 20th are logged, the metric counts them all */
        uint64_t k = TG_STAT_GET(p->st.cluster_slow);
        TG_STAT_INC(p->st.cluster_slow);
        q->slow = true;
        q->slow_told = k % 20 == 0;
        if (q->slow_told)
            store_rds__log(p, TG_LOG_WARN, 0,
                           "redis %s: no reply within %d ms (%llu commands in flight; slow "
                           "episode %llu): the other primaries go on without waiting for it",
                           q->where, RDS_SLOW_MS, (unsigned long long)(q->sent - q->acked),
                           (unsigned long long)k + 1);
    } else if (e == 0 && q->slow) {
        q->slow = false;
        if (q->slow_told)
            store_rds__log(p, TG_LOG_INFO, 0, "redis %s: answering again", q->where);
    }
    return e == RDS_WAIT ? 0 : e;
}

static void redo_send(store_rds_t *p);

int store_rds__flush(store_rds_t *p, uint64_t target)
{
    return store_rds__flush_wait(p, target, (int64_t)RDS_SLOW_MS * TG_NS_PER_MS);
}

int store_rds__flush_wait(store_rds_t *p, uint64_t target, int64_t wait_ns)
{
    int err = 0;
    for (int i = 0; p->up && i < p->n_pipe; i++) {
        int e = pipe_write(p, &p->pipe[i]);
        if (e && !p->cluster)
            return e;
        err = err ? err : e;
    }
    /* one wait for all the nodes together; RDS_FLUSH_ALL: every reply, slow nodes too (each
     * node fails at command_timeout_ms of its oldest command) */
    bool all = wait_ns == RDS_FLUSH_ALL;
    int64_t full = (int64_t)p->conn.command_timeout_ms * TG_NS_PER_MS;
    int64_t until = tg_clock_mono_ns() + (all ? full : wait_ns);
    for (int i = 0; p->up && i < p->n_pipe; i++) {
        int e = p->cluster ? pipe_reap_slow(p, &p->pipe[i], target, until, all)
                           : pipe_reap(p, &p->pipe[i], target, 0);
        if (e && !p->cluster)
            return e;
        err = err ? err : e;
    }
    if (p->up && p->redo_len) {
        /* every reply first, from slow nodes too: a command still in flight that is
         * redirected too must be sent again before anything newer goes to its slot's new
         * owner (stream IDs only grow; a node paused by a manual failover answers late) */
        until = tg_clock_mono_ns() + full;
        for (int i = 0; p->up && i < p->n_pipe; i++)
            if (pipe_write(p, &p->pipe[i]) == 0)
                (void)pipe_reap_slow(p, &p->pipe[i], 0, until, true);
        redo_send(p);
    }
    if (p->redirected)
        TG_STAT_SET(p->st.connected, 0); /* until the map is read again (heal) */
    return err;
}

bool store_rds__push(store_rds_t *p, int node, const char *cmd, size_t len, int64_t ts_mono, int lk)
{
    if (!p->up || node < 0 || node >= p->n_pipe || !p->pipe[node].ctx)
        return false;
    rds_pipe_t *q = &p->pipe[node];
    if (q->sent - q->acked > p->fl_mask) {
        /* FIFO full: make room. A cluster node marked slow takes nothing more (its records
         * count as dropped); another one is waited for as a single Redis is (a burst such as
         * a restore's keys goes to a node that answers) */
        int64_t until =
            q->slow ? 0 : tg_clock_mono_ns() + (int64_t)p->conn.command_timeout_ms * TG_NS_PER_MS;
        if (pipe_write(p, q) || !q->ctx ||
            (p->cluster ? pipe_reap_slow(p, q, p->cfg.pipeline_depth / 2, until, false)
                        : pipe_reap(p, q, p->cfg.pipeline_depth / 2, 0)) ||
            !q->ctx || q->sent - q->acked > p->fl_mask)
            return false;
    }
    if (redisAppendFormattedCommand(q->ctx, cmd, len) != REDIS_OK) {
        pipe_fail(p, q, -ENOMEM, "append");
        return false;
    }
    q->fl_mono[q->sent & p->fl_mask] = ts_mono;
    q->fl_kind[q->sent & p->fl_mask] = (uint8_t)lk;
    if (q->rb) { /* cluster: a copy, in case a MOVED/ASK asks for it again */
        q->fl_off[q->sent & p->fl_mask] = q->rb_pos;
        size_t at = (size_t)(q->rb_pos & (RDS_REPLAY_MAX - 1)), n = len;
        if (n > RDS_REPLAY_MAX) { /* only the tail fits: the command cannot be sent again */
            cmd += n - RDS_REPLAY_MAX;
            q->rb_pos += n - RDS_REPLAY_MAX;
            at = (size_t)(q->rb_pos & (RDS_REPLAY_MAX - 1));
            n = RDS_REPLAY_MAX;
        }
        size_t first = n < RDS_REPLAY_MAX - at ? n : RDS_REPLAY_MAX - at;
        memcpy(q->rb + at, cmd, first);
        memcpy(q->rb, cmd + first, n - first);
        q->rb_pos += n;
    }
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

int store_rds__map_read(const store_rds_conn_t *base, const rds_cluster_node_t *cand, int n,
                        rds_cluster_map_t *m, bool partial, char *errbuf, size_t len,
                        tg_worker_t *wk)
{
    int err = -ENOENT;
    snprintf(errbuf, len, "no seed");
    for (int i = 0; i < n; i++) {
        if (wk && tg_worker_stopping(wk)) /* WK_A1 (tg_worker.h) */
            return -ECANCELED;
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
        if (rc == 0 && m->n_nodes > 0 && (partial || m->n_unassigned == 0))
            return 0; /* partial: a failed primary's slots stay unserved until the next read */
        err = rc ? rc : -EAGAIN;
        if (rc == 0)
            snprintf(why, sizeof(why), "%u slots without a primary", m->n_unassigned);
        snprintf(errbuf, len, "redis cluster %s:%d: slot map: %s", cand[i].host, cand[i].port, why);
    }
    return err;
}

int store_rds__map_cands(store_rds_t *p, rds_cluster_node_t *cand)
{
    /* the seeds, then the primaries of the last map (a node may have left the seed list's
     * reach while the cluster lives on) */
    int n = 0;
    if (p->have_moved) /* the new owner of a slot knows the map that made it so */
        cand[n++] = p->moved_to;
    p->have_moved = false;
    for (int i = 0; i < p->n_seeds && i < 16; i++)
        cand[n++] = p->seeds[i];
    for (int i = 0; i < p->map->n_nodes; i++)
        if (p->map->nodes[i].host[0]) /* not a place kept free (map_adopt) */
            cand[n++] = p->map->nodes[i];
    return n;
}

int store_rds__cluster_map(store_rds_t *p, char *errbuf, size_t len)
{
    rds_cluster_node_t cand[RDS_CANDS_MAX];
    int n = store_rds__map_cands(p, cand);
    int err = store_rds__map_read(&p->conn, cand, n, p->map, false, errbuf, len, NULL);
    if (!err)
        TG_STAT_INC(p->st.cluster_refreshes);
    return err;
}

/* Pipeline i (map node i) takes the connection c. @return 0 or -ENOMEM (c is freed). */
static int pipe_attach(store_rds_t *p, int i, redisContext *c)
{
    rds_pipe_t *q = &p->pipe[i];
    if (pipe_alloc(p, q) < 0) {
        redisFree(c);
        return -ENOMEM;
    }
    snprintf(q->where, sizeof(q->where), "%s:%d", p->map->nodes[i].host, p->map->nodes[i].port);
    q->ctx = c;
    q->ctx->reader->fn = &rds_reply_fns;
    return 0;
}

redisContext *store_rds__node_open(const store_rds_conn_t *base, const rds_cluster_node_t *n,
                                   int *err, char *errbuf, size_t len)
{
    store_rds_conn_t nc;
    store_rds__node_conn(&nc, base, n);
    redisContext *c = store_rds_conn_open(&nc, err, errbuf, len);
    store_rds_conn_deinit(&nc);
    return c;
}

/* Open pipeline i to map node i. @return 0 or the error (logged by the caller). */
static int pipe_connect(store_rds_t *p, int i, char *errbuf, size_t len)
{
    int err = 0;
    redisContext *c = store_rds__node_open(&p->conn, &p->map->nodes[i], &err, errbuf, len);
    if (!c)
        return err;
    if ((err = pipe_attach(p, i, c)) < 0)
        snprintf(errbuf, len, "redis cluster: out of memory");
    return err;
}

static int cluster_connect(store_rds_t *p, char *errbuf, size_t len)
{
    int err = store_rds__cluster_map(p, errbuf, len);
    if (err)
        return err;
    p->heal = false;
    p->redo_len = 0;
    p->heal_backoff_ms = p->cfg.backoff_min_ms;
    for (uint32_t i = 0; i < p->n_inst; i++)
        p->inst[i].node = (uint16_t)rds_cluster_node_of(p->map, p->inst[i].cslot);
    p->n_pipe = p->map->n_nodes;
    for (int i = 0; i < p->n_pipe; i++)
        if ((err = pipe_connect(p, i, errbuf, len)) < 0)
            return err;
    return 0;
}

/* ---- cluster: one node at a time --------------------------------------------------------- */

static bool same_node(const rds_cluster_node_t *a, const rds_cluster_node_t *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Instrument i's slot is served by `node` now (RDS_NO_NODE: by none). */
static void inst_route(store_rds_t *p, uint32_t i, int node)
{
    uint16_t n = node < 0 ? RDS_NO_NODE : (uint16_t)node, was = p->inst[i].node;
    if (was == n)
        return;
    /* its stream entries sent to a node that failed are in the backlog only: the new node
     * takes no XADD before that backlog (store_rds.c, stream_add) */
    if (n != RDS_NO_NODE && p->pipe[n].ctx && (was >= p->n_pipe || !p->pipe[was].ctx)) {
        p->pipe[n].restore = true;
        p->pipe[n].bl_safe = 0; /* the whole backlog: those entries went elsewhere */
    }
    p->inst[i].node = n;
    if (n != RDS_NO_NODE)
        store_rds__restore_inst(p, i);
}

/* Take the map nm read in the background: the primaries still there keep their pipeline (and
 * index), the ones gone are closed, new ones take free places; then every instrument is
 * routed by its slot again. */
static void map_adopt(store_rds_t *p, const rds_cluster_map_t *nm)
{
    rds_cluster_map_t *m = p->map;
    int to[RDS_CLUSTER_MAX_NODES];
    bool kept[RDS_CLUSTER_MAX_NODES] = {false};
    for (int j = 0; j < nm->n_nodes; j++) {
        to[j] = -1;
        for (int i = 0; i < m->n_nodes && to[j] < 0; i++)
            if (!kept[i] && m->nodes[i].host[0] && same_node(&m->nodes[i], &nm->nodes[j])) {
                to[j] = i;
                kept[i] = true;
            }
    }
    for (int i = 0; i < m->n_nodes; i++) {
        if (kept[i])
            continue;
        if (i < p->n_pipe && p->pipe[i].ctx)
            pipe_lose(p, i, 0, "no longer a primary");
        m->nodes[i].host[0] = '\0'; /* a free place */
        m->nodes[i].port = 0;
    }
    int next = 0;
    for (int j = 0; j < nm->n_nodes; j++) {
        if (to[j] < 0) {
            while (next < m->n_nodes && kept[next])
                next++;
            if (next == m->n_nodes)
                m->n_nodes++;
            to[j] = next;
            kept[next] = true;
        }
        m->nodes[to[j]] = nm->nodes[j];
    }
    for (uint32_t s = 0; s < RDS_CLUSTER_SLOTS; s++)
        m->slot_node[s] = nm->slot_node[s] == RDS_CLUSTER_NO_NODE ? RDS_CLUSTER_NO_NODE
                                                                  : (uint16_t)to[nm->slot_node[s]];
    m->n_unassigned = nm->n_unassigned;
    if (p->n_pipe < m->n_nodes)
        p->n_pipe = m->n_nodes;
    for (uint32_t i = 0; i < p->n_inst; i++)
        inst_route(p, i, rds_cluster_node_of(m, p->inst[i].cslot));
}

/* Send the redirected commands again: MOVED to the slot's new owner (recorded at once, its
 * instruments re-routed), ASK as ASKING + the command to the target. */
static void redo_send(store_rds_t *p)
{
    static const char asking[] = "*1\r\n$6\r\nASKING\r\n";
    char eb[200];
    size_t at = 0, end = p->redo_len;
    p->redo_len = 0;
    while (at < end) {
        rds_redo_t h;
        memcpy(&h, p->redo + at, sizeof(h));
        const char *cmd = p->redo + at + sizeof(h);
        at += sizeof(h) + h.len;
        int n = rds_cluster_map_find(p->map, h.node.host, h.node.port);
        if (!h.ask) {
            int was = rds_cluster_node_of(p->map, h.slot);
            n = rds_cluster_map_move(p->map, h.slot, &h.node);
            if (n >= 0 && p->n_pipe < p->map->n_nodes)
                p->n_pipe = p->map->n_nodes;
            if (n >= 0 && n != was)
                for (uint32_t i = 0; i < p->n_inst; i++)
                    if (p->inst[i].cslot == h.slot)
                        inst_route(p, i, n);
        }
        if (n >= 0 && !p->pipe[n].ctx && pipe_connect(p, n, eb, sizeof(eb)) == 0)
            gauges(p);
        bool ok = n >= 0 && p->pipe[n].ctx &&
                  (!h.ask || store_rds__push(p, n, asking, sizeof(asking) - 1, 0, RDS_FL_REDO)) &&
                  store_rds__push(p, n, cmd, h.len, 0, h.kind | RDS_FL_REDO);
        if (ok)
            TG_STAT_INC(p->st.cluster_resent);
        else
            TG_STAT_INC(p->st.lost);
    }
}

/* Ask the heal thread for a map and the connections of the primaries down. */
static void heal_ask(store_rds_t *p)
{
    store_rds__flush(p, 0); /* what has arrived (the map is adopted after every reply) */
    rds_heal_ask_t *a = store_rds__heal_question(p);
    if (!a)
        return; /* no thread (out of memory, logged): tried again when due */
    a->n_cand = store_rds__map_cands(p, a->cand);
    a->n_have = 0;
    for (int i = 0; i < p->n_pipe; i++)
        if (p->pipe[i].ctx)
            a->have[a->n_have++] = p->map->nodes[i];
    store_rds__heal_send(p);
}

void store_rds__heal(store_rds_t *p)
{
    int64_t now = tg_clock_mono_ns();
    if (!p->cluster || !p->up || !p->heal)
        return;
    int state = store_rds__heal_state(p);
    if (state == RDS_HEAL_IDLE && now >= p->heal_at)
        heal_ask(p);
    if (state != RDS_HEAL_DONE)
        return; /* not due, or being read (the writer goes on meanwhile) */
    /* every reply (and redirection) in before anything is re-routed, from slow nodes too:
     * a command answered MOVED after its instrument moved would be sent again after newer
     * ones (a hung node fails at command_timeout_ms and its commands are lost instead) */
    store_rds__flush_wait(p, 0, RDS_FLUSH_ALL);
    if (!p->up) { /* everything dropped meanwhile: the answer is stale, the next connect reads */
        store_rds__heal_clear(p);
        return;
    }
    char eb[200] = "";
    const char *why = NULL;
    const rds_cluster_map_t *nm = store_rds__heal_map(p, &why);
    int err = nm ? 0 : -EAGAIN;
    if (nm) {
        TG_STAT_INC(p->st.cluster_refreshes);
        map_adopt(p, nm);
    } else {
        snprintf(eb, sizeof(eb), "%s", why);
    }
    bool serving[RDS_CLUSTER_MAX_NODES] = {false};
    for (uint32_t s = 0; s < RDS_CLUSTER_SLOTS; s++)
        if (p->map->slot_node[s] != RDS_CLUSTER_NO_NODE)
            serving[p->map->slot_node[s]] = true;
    bool whole = !err && p->map->n_unassigned == 0;
    for (int i = 0; i < p->n_pipe; i++) {
        if (!serving[i] || p->pipe[i].ctx)
            continue;
        redisContext *c = store_rds__heal_take(p, &p->map->nodes[i], &why);
        if (c && pipe_attach(p, i, c) == 0) {
            store_rds__log(p, TG_LOG_INFO, 0, "redis %s: connected again", p->pipe[i].where);
            store_rds__restore_node(p, i);
        } else {
            whole = false;
            if (!err)
                snprintf(eb, sizeof(eb), "%s", c ? "out of memory" : why);
        }
    }
    store_rds__heal_clear(p); /* connections not taken are closed */
    if (whole && !err && p->map->n_unassigned)
        snprintf(eb, sizeof(eb), "%u slots without a primary", p->map->n_unassigned);
    for (int i = 0; whole && i < p->n_pipe; i++)
        if (p->pipe[i].ctx && p->pipe[i].restore) { /* writes refused while the cluster was down */
            p->pipe[i].restore = false;
            store_rds__restore_node(p, i);
        }
    gauges(p);
    if (whole) {
        if (p->redirected || p->heal_fails)
            store_rds__log(p, TG_LOG_INFO, 0,
                           "redis %s: every slot served again (%u redirected or refused "
                           "replies meanwhile)",
                           p->conn.where, p->redirected);
        p->redirected = 0;
        p->heal_fails = 0;
        p->heal = false;
        p->heal_backoff_ms = p->cfg.backoff_min_ms;
        p->heal_at = now + p->heal_backoff_ms * TG_NS_PER_MS; /* the next one not before */
        return;
    }
    int64_t b = p->heal_backoff_ms > 0 ? p->heal_backoff_ms : p->cfg.backoff_min_ms;
    p->heal_at = now + (b / 2 + (int64_t)(now % (b / 2 + 1))) * TG_NS_PER_MS; /* [b/2, b] */
    p->heal_backoff_ms = b * 2 > RDS_HEAL_MAX_MS ? RDS_HEAL_MAX_MS : b * 2;
    if (eb[0] && p->heal_fails++ % 20 == 0)
        store_rds__log(p, TG_LOG_WARN, 0, "redis %s: not every slot served yet: %s", p->conn.where,
                       eb);
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
    return rds_cluster_node_of(p->map, rds_cluster_keyslot(key, kl)); /* -1: unserved */
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
    int err = store_rds__map_read(cc, seeds, n, m, false, tmp, sizeof(tmp), NULL);
    if (err)
        snprintf(errbuf, len, "%s", tmp);
    for (int i = 0; !err && i < m->n_nodes; i++) { /* every primary must take our handshake */
        redisFree(store_rds__node_open(cc, &m->nodes[i], &err, tmp, sizeof(tmp)));
        if (err)
            snprintf(errbuf, len, "%s", tmp);
    }
    free(m);
    return err;
}

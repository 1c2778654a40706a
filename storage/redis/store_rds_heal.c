/* SPDX-License-Identifier: MIT */
/*
 * The cluster publisher's heal thread ("redis:heal"): reading the slot map and connecting the
 * primaries that are down, off writer:redis.
 *
 * DESIGN
 * Both are blocking hiredis calls bounded by connect_timeout_ms and command_timeout_ms. A node
 * that hangs instead of refusing (a stopped process, a partition: the kernel still completes
 * the TCP handshake) makes each of them wait the whole timeout. Made on writer:redis they
 * silenced every healthy shard for that long at each try, until the cluster had failed the
 * node over (seconds with Redis's default cluster-node-timeout of 15 s). Here writer:redis
 * asks and goes on publishing; the answer (a map, the connections opened) is taken on its
 * next round (store_rds__heal, store_rds_pipe.c).
 *
 * One question at a time, handed over by `state` (no lock):
 *   IDLE  -> ASKED  writer:redis, after writing `ask`      (HJ_R1, release; HJ_A1 acquire)
 *   ASKED -> DONE   the heal thread, after writing the answer (HJ_R2; HJ_A2)
 *   DONE  -> IDLE   writer:redis, after reading the answer  (HJ_R3; the next HJ_R1 orders it)
 * Whoever does not own a state touches neither the question nor the answer. The thread reads
 * the publisher's connection settings (p->conn: read-only after create) and nothing else of p.
 * Thread: the struct belongs to writer:redis (state machine above); the thread is started by
 * writer:redis on first use and stopped by it at its end (or by main at destroy).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_ring.h"
#include "storage/redis/store_rds_impl.h"

struct rds_heal {
    tg_worker_t wk;        /* "redis:heal" */
    tg_waiter_t waiter;    /* the thread sleeps here between questions */
    bool started;          /* writer:redis */
    atomic_int state;      /* RDS_HEAL_*: see DESIGN */
    store_rds_t *p;        /* p->conn (read-only after create) and p->waiter only */
    rds_heal_ask_t ask;    /* the question */
    rds_cluster_map_t map; /* the answer: the map (valid when !err) */
    int err;
    char why[200];
    redisContext *ctx[RDS_CLUSTER_MAX_NODES]; /* by map.nodes index: opened for the writer */
    char cwhy[RDS_CLUSTER_MAX_NODES][160];    /* or why not */
};

static bool same(const rds_cluster_node_t *a, const rds_cluster_node_t *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* Answer the question: the map, then a connection to each primary serving slots that the
 * writer does not have. */
static void answer(struct rds_heal *h)
{
    const store_rds_conn_t *base = &h->p->conn;
    h->err = store_rds__map_read(base, h->ask.cand, h->ask.n_cand, &h->map, true, h->why,
                                 sizeof(h->why), &h->wk);
    if (h->err)
        return;
    bool serving[RDS_CLUSTER_MAX_NODES] = {false};
    for (uint32_t s = 0; s < RDS_CLUSTER_SLOTS; s++)
        if (h->map.slot_node[s] != RDS_CLUSTER_NO_NODE)
            serving[h->map.slot_node[s]] = true;
    for (int j = 0; j < h->map.n_nodes; j++) {
        bool have = false;
        for (int k = 0; k < h->ask.n_have && !have; k++)
            have = same(&h->ask.have[k], &h->map.nodes[j]);
        snprintf(h->cwhy[j], sizeof(h->cwhy[j]), "redis %s:%d: not connected", h->map.nodes[j].host,
                 h->map.nodes[j].port);
        if (!serving[j] || have || tg_worker_stopping(&h->wk)) /* WK_A1 (tg_worker.h) */
            continue;
        int e = 0;
        h->ctx[j] =
            store_rds__node_open(base, &h->map.nodes[j], &e, h->cwhy[j], sizeof(h->cwhy[j]));
    }
}

static void heal_main(void *arg)
{
    struct rds_heal *h = arg;
    for (;;) {
        /* HJ_A1: pairs with HJ_R1 in store_rds__heal_send(): the question is written. */
        if (atomic_load_explicit(&h->state, memory_order_acquire) == RDS_HEAL_ASKED) {
            answer(h);
            /* HJ_R2: the answer is written before the writer can see DONE (HJ_A2). */
            atomic_store_explicit(&h->state, RDS_HEAL_DONE, memory_order_release);
            tg_waiter_wake(&h->p->waiter); /* Thread: any */
            continue;
        }
        if (tg_worker_stopping(&h->wk)) /* WK_A1 (tg_worker.h) */
            return;
        tg_waiter_prepare(&h->waiter);
        /* HJ_A1 again (a question sent after the check above) */
        if (atomic_load_explicit(&h->state, memory_order_acquire) == RDS_HEAL_ASKED ||
            tg_worker_stopping(&h->wk)) {
            tg_waiter_cancel(&h->waiter);
            continue;
        }
        tg_waiter_wait(&h->waiter, -1);
    }
}

int store_rds__heal_state(store_rds_t *p)
{
    /* HJ_A2: pairs with HJ_R2 in heal_main(): a DONE seen here has its answer written. */
    return p->hj ? atomic_load_explicit(&p->hj->state, memory_order_acquire) : RDS_HEAL_IDLE;
}

rds_heal_ask_t *store_rds__heal_question(store_rds_t *p)
{
    struct rds_heal *h = p->hj;
    if (!h) {
        if (!(h = calloc(1, sizeof(*h)))) {
            store_rds__log(p, TG_LOG_ERROR, -ENOMEM, "redis cluster: heal thread: out of memory");
            return NULL;
        }
        h->p = p;
        atomic_init(&h->state, RDS_HEAL_IDLE);
        tg_waiter_init(&h->waiter);
        tg_worker_cfg_t wc = {
            .name = "redis:heal", .main = heal_main, .arg = h, .waiter = &h->waiter};
        int err = tg_worker_init(&h->wk, &wc);
        if (err < 0) {
            free(h);
            store_rds__log(p, TG_LOG_ERROR, err, "redis cluster: heal thread");
            return NULL;
        }
        p->hj = h;
    }
    if (!h->started) {
        int err = tg_worker_start(&h->wk);
        if (err < 0) {
            store_rds__log(p, TG_LOG_ERROR, err, "redis cluster: heal thread: start");
            return NULL;
        }
        h->started = true;
    }
    return &h->ask;
}

void store_rds__heal_send(store_rds_t *p)
{
    /* HJ_R1: the question is written before the thread can see ASKED (HJ_A1). */
    atomic_store_explicit(&p->hj->state, RDS_HEAL_ASKED, memory_order_release);
    tg_waiter_wake(&p->hj->waiter);
}

const rds_cluster_map_t *store_rds__heal_map(store_rds_t *p, const char **why)
{
    *why = p->hj->why;
    return p->hj->err ? NULL : &p->hj->map;
}

redisContext *store_rds__heal_take(store_rds_t *p, const rds_cluster_node_t *n, const char **why)
{
    struct rds_heal *h = p->hj;
    *why = h->err ? h->why : "not in the map read";
    for (int j = 0; !h->err && j < h->map.n_nodes; j++) {
        if (!same(&h->map.nodes[j], n))
            continue;
        redisContext *c = h->ctx[j];
        h->ctx[j] = NULL;
        *why = h->cwhy[j];
        return c;
    }
    return NULL;
}

void store_rds__heal_clear(store_rds_t *p)
{
    struct rds_heal *h = p->hj;
    for (int j = 0; j < RDS_CLUSTER_MAX_NODES; j++) {
        redisFree(h->ctx[j]);
        h->ctx[j] = NULL;
    }
    /* HJ_R3: the answer is read and freed before the thread can be asked again; the thread
     * only reads state until then (HJ_A1 sees ASKED only after a later HJ_R1). */
    atomic_store_explicit(&h->state, RDS_HEAL_IDLE, memory_order_release);
}

void store_rds__heal_stop(store_rds_t *p, bool free_all)
{
    struct rds_heal *h = p->hj;
    if (!h)
        return;
    if (h->started)
        (void)tg_worker_stop(&h->wk); /* joins; 0 when not running */
    h->started = false;
    if (!free_all)
        return;
    for (int j = 0; j < RDS_CLUSTER_MAX_NODES; j++)
        redisFree(h->ctx[j]);
    free(h);
    p->hj = NULL;
}

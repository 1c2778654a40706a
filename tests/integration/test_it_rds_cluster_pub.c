/* SPDX-License-Identifier: MIT */
/*
 * The Redis publisher in cluster mode (store_rds_cfg_t.cluster, docs/redis.md "Publisher on a
 * Redis Cluster") against a real 6-node cluster (tests/fixtures/redis_cluster.sh: 3 primaries,
 * 3 replicas on loopback). A subscriber thread SSUBSCRIBEs every channel at the node of its
 * shard and checks what a user would see.
 *  - routing: 60 instruments over 3 primaries, 20 trades and 20 books each: every message
 *    arrives at the SSUBSCRIBE-r of its slot's shard with numbers 1..20, nothing lost or
 *    coalesced; every book/trade key is on its slot's primary (another primary answers MOVED)
 *    and holds the last record; one hello on {prefix}.control.
 *  - failover: CLUSTER FAILOVER of the primary of instrument 0's shard while the publisher
 *    streams (then, on the new topology, a SIGKILL of that shard's primary): it reads the map
 *    again and keeps publishing to the new primary; the holes the subscriber sees are at most
 *    what the counters say could be missing (lost + dropped + coalesced); the last message of
 *    every channel arrives, every key equals the last record and every trade stream holds
 *    every entry; the other shards keep every trade and are never silent 2 s (a node's
 *    failure closes its pipeline only). Prints the failover time, the silences, the holes.
 *  - redundant publishers (A/B lease) on the cluster: of two with the same group exactly one
 *    publishes, the lease key lives on its slot's primary; its primary fails over (CLUSTER
 *    FAILOVER) and never both publish; when the leader stops the other takes over (prints
 *    the time).
 *  - slot migration: ASK answered with ASKING + the command, then MOVED re-routes the slot;
 *    nothing lost, no reconnect.
 *  - create refuses what cluster mode does not support (db, unix socket, bad seeds).
 * In the routing and failover cases libtickgate-client follows too (redis-cluster:// URL,
 * tests/fixtures/it_client_follow.h): every instrument's book reaches the last number, every
 * trade is delivered once or reported missing, nothing is unreadable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/book_out.h"
#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "storage/redis/rds_cluster.h"
#include "storage/redis/store_rds.h"
#include "storage/redis/store_rds_fmt.h"
#include "tests/fixtures/it_client_follow.h"
#include "tests/fixtures/it_rds_cluster_util.h"
#include "tests/fixtures/it_pipeline.h"
#include "tests/fixtures/it_rds_synth.h"
#include "tests/fixtures/test_rds_json.h"
#include "tests/fixtures/tu_main.h"

#define N_INST 60
#define N_NODE 3

static const char *g_list;
static rds_cluster_node_t seeds[16];

enum { K_TRADE = 0, K_BOOK = 1 };

typedef struct subs {
    redisContext *c[N_NODE]; /* c[k]: a node of shard k (map index k) */
    int shard_of[N_INST];
    store_rds_names_t nm[N_INST];
    char control[32];
    pthread_t th;
    atomic_int stop;
    /* written by the subscriber thread, read after the join */
    uint64_t last[N_INST][2], count[N_INST][2], holes[N_INST][2];
    uint64_t wrong_node, bad_order, bad_doc, hellos, sunsub;
    int64_t t_prev[N_NODE], gap_max[N_NODE];
} subs_t;

typedef struct fx {
    tg_instr_reg_t *reg;
    tg_ring_t *ring;
    store_rds_t *pub;
    store_rds_cfg_t cfg;
    rds_cluster_map_t map;
    subs_t s;
} fx_t;

static void log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    (void)level;
    fprintf(stderr, "  [publisher] %s\n", msg);
}

static void load_map(rds_cluster_map_t *m)
{
    for (int t = 0; t < 100; t++) { /* after a failover, until every node agrees */
        struct timeval tv = {2, 0}; /* a node may be down (killed): try the next */
        redisContext *c = redisConnectWithTimeout(seeds[t % 6].host, seeds[t % 6].port, tv);
        redisReply *r = c && !c->err ? redisCommand(c, "CLUSTER SHARDS") : NULL;
        char err[160] = "";
        int rc = r ? rds_cluster_map_from_shards(m, r, err, sizeof(err)) : -1;
        freeReplyObject(r);
        redisFree(c);
        if (rc == 0 && m->n_nodes == N_NODE && m->n_unassigned == 0)
            return;
        usleep(50000);
    }
    fail_msg("no complete slot map");
}

static int setup(void **state)
{
    g_list = getenv("TG_TEST_REDIS_CLUSTER");
    char err[128];
    if (!g_list || rds_cluster_parse_seeds(g_list, seeds, 16, err, sizeof(err)) != 6)
        return -1;
    fx_t *f = calloc(1, sizeof(*f));
    tg_instr_cfg_t ic = it_rds_synth_instr();
    if (tg_instr_reg_create(&f->reg))
        return -1;
    const char *venues[] = {"binance", "okx", "bybit"};
    for (int i = 0; i < N_INST; i++) {
        char sym[32];
        uint32_t id;
        snprintf(sym, sizeof(sym), "S%dUSDT", i);
        if (tg_instr_reg_add(f->reg, venues[i % 3], sym, &ic, &id) || id != (uint32_t)i)
            return -1;
    }
    if (it_rds_fx_open(&f->ring, &f->cfg, NULL, f->reg, log_cb, NULL))
        return -1;
    f->cfg.cluster = g_list;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    it_rds_fx_close(&f->pub, &f->ring, &f->reg);
    for (int k = 0; k < N_NODE; k++)
        if (f->s.c[k])
            redisFree(f->s.c[k]);
    free(f);
    return 0;
}

static void push(fx_t *f, const book_out_t *r)
{
    while (!tg_ring_spsc_push(f->ring, r))
        usleep(100);
}

/* One trade and one book per instrument, numbered i (the channel's seq when nothing is lost). */
static void push_round(fx_t *f, uint64_t i)
{
    for (uint32_t k = 0; k < N_INST; k++) {
        book_out_t t = it_rds_trade_rec(k, i), b = it_rds_book_rec(k, i);
        push(f, &t);
        push(f, &b);
    }
}

/* ---- the subscriber --------------------------------------------------------------------- */

static void on_message(subs_t *s, int k, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    const char *type = r->element[0]->str;
    if (strcmp(type, "sunsubscribe") == 0) {
        s->sunsub++;
        return;
    }
    if (strcmp(type, "smessage") != 0)
        return;
    int64_t now = tg_clock_mono_ns();
    if (s->t_prev[k] && now - s->t_prev[k] > s->gap_max[k])
        s->gap_max[k] = now - s->t_prev[k];
    s->t_prev[k] = now;
    const redisReply *ch = r->element[1], *doc = r->element[2];
    if (strcmp(ch->str, s->control) == 0) {
        s->hellos += strstr(doc->str, "\"type\":\"hello\"") != NULL;
        return;
    }
    for (int i = 0; i < N_INST; i++) {
        int kind = strcmp(ch->str, s->nm[i].ch_trades) == 0 ? K_TRADE
                   : strcmp(ch->str, s->nm[i].ch_book) == 0 ? K_BOOK
                                                            : -1;
        if (kind < 0)
            continue;
        if (s->shard_of[i] != k)
            s->wrong_node++;
        static test_json_t j;
        if (test_json_parse(&j, doc->str, doc->len) <= 0) {
            s->bad_doc++;
            return;
        }
        uint64_t seq = test_json_u64(&j, "seq");
        s->count[i][kind]++;
        if (seq <= s->last[i][kind]) {
            /* late: after a newer one. A hung node runs its buffered commands when it resumes;
             * around a failover a sharded message crossing the shard over the cluster bus can
             * come after newer ones published on the new primary. One below the last fills
             * the hole counted when the newer one came. */
            s->bad_order++;
            if (seq < s->last[i][kind] && s->holes[i][kind])
                s->holes[i][kind]--;
            return;
        }
        s->holes[i][kind] += seq - s->last[i][kind] - 1;
        s->last[i][kind] = seq;
        return;
    }
    s->bad_doc++; /* a channel of no instrument */
}

static void *sub_main(void *arg)
{
    subs_t *s = arg;
    int idle = 0;
    while (!atomic_load_explicit(&s->stop, memory_order_acquire) || idle < 10) {
        struct pollfd pf[N_NODE];
        for (int k = 0; k < N_NODE; k++)
            pf[k] = (struct pollfd){.fd = s->c[k]->fd, .events = POLLIN};
        int got = poll(pf, N_NODE, 50) > 0;
        idle = got ? 0 : idle + 1;
        for (int k = 0; k < N_NODE; k++) {
            if ((pf[k].revents & POLLIN) && redisBufferRead(s->c[k]) != REDIS_OK)
                return NULL; /* the caller's checks fail on the missing messages */
            void *rep = NULL;
            while (redisGetReplyFromReader(s->c[k], &rep) == REDIS_OK && rep) {
                on_message(s, k, rep);
                freeReplyObject(rep);
                rep = NULL;
            }
        }
    }
    return NULL;
}

static void ssubscribe(redisContext *c, const char *ch)
{
    redisReply *r = redisCommand(c, "SSUBSCRIBE %s", ch);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
}

/* Subscribe every channel at `at[k]` (a node of shard k) and start the thread. */
static void subs_start(fx_t *f, const char *prefix, const rds_cluster_node_t *at)
{
    subs_t *s = &f->s;
    snprintf(s->control, sizeof(s->control), "%s.control", prefix);
    for (int k = 0; k < N_NODE; k++)
        s->c[k] = it_cluster_conn(&at[k]);
    for (int i = 0; i < N_INST; i++) {
        const tg_instr_t *in = tg_instr_reg_get(f->reg, (uint32_t)i);
        assert_int_equal(store_rds_fmt_names_ex(&s->nm[i], prefix, in, true), 0);
        s->shard_of[i] = rds_cluster_node_of(
            &f->map, rds_cluster_keyslot(s->nm[i].ch_trades, s->nm[i].ch_trades_len));
        assert_true(s->shard_of[i] >= 0);
        ssubscribe(s->c[s->shard_of[i]], s->nm[i].ch_trades);
        ssubscribe(s->c[s->shard_of[i]], s->nm[i].ch_book);
    }
    int ck = rds_cluster_node_of(&f->map, rds_cluster_keyslot(s->control, strlen(s->control)));
    ssubscribe(s->c[ck], s->control);
    assert_int_equal(pthread_create(&s->th, NULL, sub_main, s), 0);
}

static void subs_stop(subs_t *s)
{
    atomic_store_explicit(&s->stop, 1, memory_order_release);
    pthread_join(s->th, NULL);
}

static void start_pub(fx_t *f, const char *prefix)
{
    f->cfg.prefix = prefix;
    assert_int_equal(store_rds_create(&f->pub, &f->cfg), 0);
    assert_int_equal(store_rds_start(f->pub), 0);
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    for (int t = 0; t < 500 && !TG_STAT_GET(st->connected); t++)
        usleep(10000);
    assert_int_equal(TG_STAT_GET(st->connected), 1);
    assert_int_equal(TG_STAT_GET(st->cluster_nodes), N_NODE);
}

/* GET key at its slot's primary (fresh map): the document's seq; another primary: MOVED. */
static uint64_t key_seq(fx_t *f, const char *key, size_t len, int64_t *price)
{
    int owner = rds_cluster_node_of(&f->map, rds_cluster_keyslot(key, len));
    redisContext *c = it_cluster_conn(&f->map.nodes[owner]),
                 *o = it_cluster_conn(&f->map.nodes[(owner + 1) % N_NODE]);
    redisReply *r = redisCommand(o, "GET %b", key, len);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ERROR);
    assert_int_equal(strncmp(r->str, "MOVED ", 6), 0);
    freeReplyObject(r);
    r = redisCommand(c, "GET %b", key, len);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING)
        fail_msg("key %s missing on its primary %s:%d", key, f->map.nodes[owner].host,
                 f->map.nodes[owner].port);
    static test_json_t j;
    assert_true(test_json_parse(&j, r->str, r->len) > 0);
    uint64_t seq = test_json_u64(&j, "seq");
    if (price) { /* "1000.2" -> 100020 at px_scale 2; "1006" (a round of 600) -> 100600 */
        char b[32];
        test_json_str(&j, "price", b, sizeof(b));
        assert_int_equal(tg_dec_parse(b, strlen(b), 2, price), 0);
    }
    freeReplyObject(r);
    redisFree(c);
    redisFree(o);
    return seq;
}

/* Every instrument's trade stream on its slot's primary holds exactly the entries 1..last:
 * those refused by MOVED or dropped while disconnected were re-sent from the backlog. */
static void check_streams(fx_t *f, uint64_t last)
{
    for (int i = 0; i < N_INST; i++) {
        store_rds_names_t nk;
        const tg_instr_t *in = tg_instr_reg_get(f->reg, (uint32_t)i);
        assert_int_equal(store_rds_fmt_names_ex(&nk, f->cfg.prefix, in, true), 0);
        int owner =
            rds_cluster_node_of(&f->map, rds_cluster_keyslot(nk.st_trades, nk.st_trades_len));
        redisContext *c = it_cluster_conn(&f->map.nodes[owner]);
        redisReply *r = redisCommand(c, "XLEN %b", nk.st_trades, (size_t)nk.st_trades_len);
        assert_non_null(r);
        if (r->type != REDIS_REPLY_INTEGER || r->integer != (long long)last)
            fail_msg("%s: XLEN %lld, want %llu", nk.st_trades, r->integer,
                     (unsigned long long)last);
        freeReplyObject(r);
        r = redisCommand(c, "XREVRANGE %b + - COUNT 1", nk.st_trades, (size_t)nk.st_trades_len);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 1);
        const char *id = r->element[0]->element[0]->str, *dash = strchr(id, '-');
        assert_non_null(dash);
        assert_int_equal(strtoull(dash + 1, NULL, 10), last);
        freeReplyObject(r);
        redisFree(c);
    }
}

static void check_keys(fx_t *f, uint64_t last)
{
    for (int i = 0; i < N_INST; i++) {
        int64_t px = 0;
        store_rds_names_t nk;
        assert_int_equal(
            store_rds_fmt_names_ex(&nk, f->cfg.prefix, tg_instr_reg_get(f->reg, (uint32_t)i), true),
            0);
        assert_int_equal(key_seq(f, nk.key_trade, nk.key_trade_len, &px), last);
        assert_int_equal(px, 100000 + (int64_t)last);
        assert_int_equal(key_seq(f, nk.key_book, nk.key_book_len, NULL), last);
        assert_int_equal(key_seq(f, nk.key_bbo, nk.key_bbo_len, NULL), last);
    }
}

static void wait_ring_empty(fx_t *f)
{
    while (tg_ring_count(f->ring))
        usleep(200);
}

/* The C client joins once round 1 is in the keys (its pattern finds instruments by SCAN). */
static void follow_start(fx_t *f, it_follow_t *fl, const char *prefix)
{
    char url[600];
    wait_ring_empty(f);
    usleep(50000);
    snprintf(url, sizeof(url), "redis-cluster://%s", g_list);
    assert_int_equal(it_follow_start(fl, url, prefix, N_INST), 0);
}

/* After the last round r: the client saw every book reach r and every trade once or as a
 * reported hole, nothing unreadable. */
static void follow_check(it_follow_t *fl, uint64_t r, const char *what)
{
    it_follow_done(fl, r);
    uint64_t unfilled = 0;
    for (int i = 0; i < N_INST; i++) {
        if (fl->dup[i] || fl->trades[i] + fl->unfilled[i] != r || fl->book_last[i] != r)
            fail_msg("client, instrument %d: %llu trades + %llu reported missing (want %llu), "
                     "%llu out of order, book at %llu",
                     i, (unsigned long long)fl->trades[i], (unsigned long long)fl->unfilled[i],
                     (unsigned long long)r, (unsigned long long)fl->dup[i],
                     (unsigned long long)fl->book_last[i]);
        unfilled += fl->unfilled[i];
    }
    assert_true(fl->reached);
    assert_int_equal(fl->n_ev[TG_CLIENT_EV_BAD], 0);
    printf("%s: the C client (redis-cluster://) followed %d instruments to number %llu: %llu "
           "holes (%llu trades filled from the streams, %llu not), %llu disconnections, %llu "
           "joins, %llu keys read\n",
           what, N_INST, (unsigned long long)r, (unsigned long long)fl->n_ev[TG_CLIENT_EV_HOLE],
           (unsigned long long)fl->filled, (unsigned long long)unfilled,
           (unsigned long long)fl->n_ev[TG_CLIENT_EV_DISCONNECTED],
           (unsigned long long)fl->n_ev[TG_CLIENT_EV_CONNECTED], (unsigned long long)fl->ctr.keys);
    tg_client_destroy(&fl->c);
}

static void test_every_instrument_goes_to_its_shard(void **state)
{
    fx_t *f = *state;
    const uint64_t R = 20;
    load_map(&f->map);
    subs_start(f, "ta", f->map.nodes);
    start_pub(f, "ta");
    it_follow_t fl;
    for (uint64_t r = 1; r <= R; r++) {
        push_round(f, r);
        wait_ring_empty(f); /* one record per key per batch: nothing coalesces */
        usleep(2000);
        if (r == 1)
            follow_start(f, &fl, "ta");
    }
    follow_check(&fl, R, "routing");
    assert_int_equal(fl.n_ev[TG_CLIENT_EV_HOLE], 0);
    assert_int_equal(fl.n_ev[TG_CLIENT_EV_DISCONNECTED], 0);
    assert_int_equal(store_rds_stop(f->pub), 0);
    subs_stop(&f->s);
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    int per[N_NODE] = {0};
    for (int i = 0; i < N_INST; i++) {
        per[f->s.shard_of[i]]++;
        for (int k = 0; k < 2; k++) {
            assert_int_equal(f->s.count[i][k], R);
            assert_int_equal(f->s.last[i][k], R);
            assert_int_equal(f->s.holes[i][k], 0);
        }
    }
    assert_int_equal(f->s.wrong_node, 0);
    assert_int_equal(f->s.bad_order, 0);
    assert_int_equal(f->s.bad_doc, 0);
    assert_int_equal(f->s.sunsub, 0);
    assert_int_equal(f->s.hellos, 1);
    assert_int_equal(TG_STAT_GET(st->messages), 2 * R * N_INST);
    assert_int_equal(TG_STAT_GET(st->lost), 0);
    assert_int_equal(TG_STAT_GET(st->dropped), 0);
    assert_int_equal(TG_STAT_GET(st->coalesced), 0);
    assert_int_equal(TG_STAT_GET(st->errors), 0);
    assert_int_equal(TG_STAT_GET(st->cluster_refreshes), 1);
    assert_int_equal(TG_STAT_GET(st->cluster_redirects), 0);
    for (int k = 0; k < N_NODE; k++)
        assert_true(per[k] > 0);
    check_keys(f, R);
    printf("cluster publisher: %d instruments over %d primaries (%d/%d/%d), %llu messages "
           "each at its shard's subscriber, numbers 1..%llu on all %d channels, keys on their "
           "primaries\n",
           N_INST, N_NODE, per[0], per[1], per[2], (unsigned long long)(2 * R * N_INST),
           (unsigned long long)R, 2 * N_INST);
}

/* A command the test needs to succeed. */
static void ok_cmd(redisContext *c, const char *what, redisReply *r)
{
    if (!r || r->type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", what, r ? r->str : c->errstr);
    freeReplyObject(r);
}

/* Rounds r+1..r+n, each sent before the next (nothing coalesces). */
static uint64_t rounds(fx_t *f, uint64_t r, int n)
{
    for (int k = 0; k < n; k++) {
        push_round(f, ++r);
        wait_ring_empty(f);
        usleep(2000);
    }
    usleep(50000); /* the replies */
    return r;
}

/* Slot migration (docs/redis.md, "Failures"): instrument 0's slot MIGRATING at its primary,
 * IMPORTING at another, its keys moved there: the publisher's writes to it get ASK and are
 * sent as ASKING + the command to the target; then the slot is given to the target (SETSLOT
 * NODE): MOVED, the slot re-routed, the map read again. Nothing is lost or reconnected, every
 * key and stream ends complete on the slot's new primary, every other channel has no hole. */
static void test_a_migrating_slot_asks_then_moves(void **state)
{
    fx_t *f = *state;
    const char *prefix = "tm";
    load_map(&f->map);
    store_rds_names_t n0;
    assert_int_equal(store_rds_fmt_names_ex(&n0, prefix, tg_instr_reg_get(f->reg, 0), true), 0);
    int S = rds_cluster_keyslot(n0.ch_trades, n0.ch_trades_len);
    int src = rds_cluster_node_of(&f->map, (uint16_t)S), dst = (src + 1) % N_NODE;
    rds_cluster_node_t at[N_NODE], nsrc = f->map.nodes[src], ndst = f->map.nodes[dst];
    memcpy(at, f->map.nodes, sizeof(at));
    subs_start(f, prefix, at);
    f->cfg.stream_trades = 100000;
    start_pub(f, prefix);
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    uint64_t r = rounds(f, 0, 10);
    redisContext *cs = it_cluster_conn(&nsrc), *cd = it_cluster_conn(&ndst);
    ok_cmd(cd, "IMPORTING", redisCommand(cd, "CLUSTER SETSLOT %d IMPORTING %s", S, nsrc.id));
    ok_cmd(cs, "MIGRATING", redisCommand(cs, "CLUSTER SETSLOT %d MIGRATING %s", S, ndst.id));
    redisReply *keys = redisCommand(cs, "CLUSTER GETKEYSINSLOT %d 100", S);
    assert_non_null(keys);
    assert_int_equal(keys->type, REDIS_REPLY_ARRAY);
    assert_true(keys->elements >= 3); /* the trade, book and bbo keys, the stream */
    for (size_t k = 0; k < keys->elements; k++)
        ok_cmd(cs, "MIGRATE",
               redisCommand(cs, "MIGRATE %s %d %b 0 5000", ndst.host, ndst.port,
                            keys->element[k]->str, (size_t)keys->element[k]->len));
    freeReplyObject(keys);
    r = rounds(f, r, 10); /* ASK */
    uint64_t asked = TG_STAT_GET(st->cluster_resent);
    for (int k = 0; k < N_NODE; k++) { /* the slot is dst's now */
        redisContext *c = it_cluster_conn(&f->map.nodes[k]);
        ok_cmd(c, "SETSLOT NODE", redisCommand(c, "CLUSTER SETSLOT %d NODE %s", S, ndst.id));
        redisFree(c);
    }
    r = rounds(f, r, 10); /* MOVED */
    assert_int_equal(store_rds_stop(f->pub), 0);
    subs_stop(&f->s);
    redisFree(cs);
    redisFree(cd);
    uint64_t holes = 0;
    for (int i = 0; i < N_INST; i++)
        for (int k = 0; k < 2; k++)
            if (rds_cluster_keyslot(f->s.nm[i].ch_trades, f->s.nm[i].ch_trades_len) != S)
                holes += f->s.holes[i][k] + (f->s.last[i][k] != r);
    printf("slot migration: %llu commands redirected by ASK sent again (ASKING + command), "
           "%llu in all with the MOVED ones (redirects %llu); lost %llu, reconnects %llu, maps "
           "read %llu; instrument 0's channels at the old primary's subscriber: trades %llu/%llu, "
           "books %llu/%llu (last/count)\n",
           (unsigned long long)asked, (unsigned long long)TG_STAT_GET(st->cluster_resent),
           (unsigned long long)TG_STAT_GET(st->cluster_redirects),
           (unsigned long long)TG_STAT_GET(st->lost),
           (unsigned long long)TG_STAT_GET(st->reconnects),
           (unsigned long long)TG_STAT_GET(st->cluster_refreshes),
           (unsigned long long)f->s.last[0][K_TRADE], (unsigned long long)f->s.count[0][K_TRADE],
           (unsigned long long)f->s.last[0][K_BOOK], (unsigned long long)f->s.count[0][K_BOOK]);
    assert_true(asked > 0);
    assert_true(TG_STAT_GET(st->cluster_resent) > asked);
    assert_int_equal(TG_STAT_GET(st->lost), 0);
    assert_int_equal(TG_STAT_GET(st->dropped), 0);
    assert_int_equal(TG_STAT_GET(st->reconnects), 0);
    assert_true(TG_STAT_GET(st->cluster_refreshes) >= 2);
    assert_int_equal(holes, 0);     /* the other channels, untouched */
    for (int t = 0; t < 100; t++) { /* until the nodes agree that the slot is dst's */
        load_map(&f->map);
        int now = rds_cluster_node_of(&f->map, (uint16_t)S);
        if (f->map.nodes[now].port == ndst.port && strcmp(f->map.nodes[now].host, ndst.host) == 0)
            break;
        usleep(20000);
    }
    check_keys(f, r);
    check_streams(f, r);
}

/* Send sig to the node at host:port (its pid file in the fixture's directory). */
static void kill_node(const rds_cluster_node_t *n, int sig)
{
    const char *dir = getenv("TG_TEST_REDIS_CLUSTER_DIR");
    assert_non_null(dir);
    for (int i = 1; i <= 6; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/n%d/port", dir, i);
        FILE *fp = fopen(path, "r");
        int port = 0;
        if (!fp)
            continue;
        if (fscanf(fp, "%d", &port) != 1)
            port = 0;
        fclose(fp);
        if (port != n->port)
            continue;
        snprintf(path, sizeof(path), "%s/n%d/redis.pid", dir, i);
        assert_non_null(fp = fopen(path, "r"));
        int pid = 0;
        assert_int_equal(fscanf(fp, "%d", &pid), 1);
        fclose(fp);
        assert_int_equal(kill(pid, sig), 0);
        return;
    }
    fail_msg("no fixture node on port %d", n->port);
}

/* The primary of instrument 0's shard goes away mid-stream: a manual failover (hard = 0), a
 * SIGKILL (1) or a SIGSTOP (2: a node that hangs instead of dying, its socket still accepting;
 * resumed at the end). The replica takes over after the cluster's node timeout (2 s in the
 * fixture) in the last two. */
static void run_failover(fx_t *f, const char *prefix, int hard)
{
    const char *how = hard == 2   ? "SIGSTOP of the primary"
                      : hard == 1 ? "SIGKILL of the primary"
                                  : "CLUSTER FAILOVER";
    load_map(&f->map);
    /* instrument 0's shard; the hang takes another one (the failover and the SIGKILL before
     * it left instrument 0's shard without a replica) */
    store_rds_names_t n0;
    int F = -1, F0 = -1;
    for (uint32_t i = 0; i < N_INST && F < 0; i++) {
        assert_int_equal(store_rds_fmt_names_ex(&n0, prefix, tg_instr_reg_get(f->reg, i), true), 0);
        int k = rds_cluster_node_of(&f->map, rds_cluster_keyslot(n0.ch_trades, n0.ch_trades_len));
        F0 = F0 < 0 ? k : F0;
        if (hard != 2 || k != F0)
            F = k;
    }
    assert_true(F >= 0);
    rds_cluster_node_t at[N_NODE], rep;
    it_cluster_replica_of(&f->map.nodes[F], &rep);
    rds_cluster_node_t hung = f->map.nodes[F];
    for (int k = 0; k < N_NODE; k++)
        at[k] = k == F ? rep : f->map.nodes[k]; /* shard F: the node that will be its primary */
    subs_start(f, prefix, at);
    f->cfg.stream_trades = 100000;     /* XADD routing and the backlog re-sent after the failover */
    f->cfg.stream_backlog = 64u << 20; /* the whole outage (a SIGKILL takes seconds) */
    start_pub(f, prefix);
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    uint64_t r = 0, r_failover = 100, r_after = 0;
    int64_t t0 = 0, t1 = 0;
    it_follow_t fl;
    while (r < 3000) {
        push_round(f, ++r);
        if (r == 1)
            follow_start(f, &fl, prefix);
        usleep(10000);
        if (r == r_failover) {
            t0 = tg_clock_mono_ns();
            if (hard)
                kill_node(&f->map.nodes[F], hard == 2 ? SIGSTOP : SIGKILL);
            else
                it_cluster_failover_to(&rep);
        }
        if (t0 && !t1 && TG_STAT_GET(st->cluster_refreshes) >= 2 && TG_STAT_GET(st->connected)) {
            t1 = tg_clock_mono_ns();
            r_after = r + 100; /* a second more on the new primary */
        }
        if (r_after && r >= r_after)
            break;
    }
    if (!t1)
        fail_msg("the publisher did not reconnect after the %s (%llu rounds)", how,
                 (unsigned long long)r);
    wait_ring_empty(f);
    usleep(100000);
    if (hard == 2)
        kill_node(&hung, SIGCONT);
    follow_check(&fl, r, how);
    assert_int_equal(store_rds_stop(f->pub), 0);
    subs_stop(&f->s);
    uint64_t holes[2] = {0, 0}, healthy[2] = {0, 0}; /* healthy: shards that did not fail */
    for (int i = 0; i < N_INST; i++)
        for (int k = 0; k < 2; k++) {
            holes[k] += f->s.holes[i][k];
            if (f->s.shard_of[i] != F)
                healthy[k] += f->s.holes[i][k];
            if (f->s.last[i][k] != r) /* the last message of every channel arrived */
                fail_msg("instrument %d %s: last seq %llu, want %llu", i, k ? "book" : "trades",
                         (unsigned long long)f->s.last[i][k], (unsigned long long)r);
        }
    uint64_t lost = TG_STAT_GET(st->lost), dropped = TG_STAT_GET(st->dropped),
             coal = TG_STAT_GET(st->coalesced);
    printf("failover: %s -> publisher on the new primary %.0f ms later "
           "(refreshes %llu, redirects %llu); longest silence at the subscribers of the shard "
           "that failed over %.0f ms, of the others %.0f/%.0f ms; %llu rounds\n",
           how, (double)(t1 - t0) / 1e6, (unsigned long long)TG_STAT_GET(st->cluster_refreshes),
           (unsigned long long)TG_STAT_GET(st->cluster_redirects), (double)f->s.gap_max[F] / 1e6,
           (double)f->s.gap_max[(F + 1) % N_NODE] / 1e6,
           (double)f->s.gap_max[(F + 2) % N_NODE] / 1e6, (unsigned long long)r);
    printf(
        "failover (%s): holes seen by the subscribers: %llu trades + %llu books = %llu; counters: "
        "lost %llu (commands in flight or redirected), dropped %llu, coalesced %llu; hellos "
        "%llu received, %llu sent\n",
        how, (unsigned long long)holes[0], (unsigned long long)holes[1],
        (unsigned long long)(holes[0] + holes[1]), (unsigned long long)lost,
        (unsigned long long)dropped, (unsigned long long)coal, (unsigned long long)f->s.hellos,
        (unsigned long long)TG_STAT_GET(st->hellos));
    printf("failover (%s): holes on the shards that did not fail: %llu trades + %llu books "
           "(books coalesce under load)\n",
           how, (unsigned long long)healthy[0], (unsigned long long)healthy[1]);
    /* Only the failed shard stops (docs/redis.md, "Failures"): the others keep every trade
     * and keep receiving; SIGKILL: the failed shard is silent for about the node timeout
     * (2 s), the others far less (before each node failed alone, they were silent as long).
     * SIGSTOP: the same; before the heal thread and the slow-node rule the others were silent
     * ~4 s (the reply wait, then a PING to the hung node at each heal, on writer:redis). */
    assert_int_equal(healthy[0], 0);
    assert_int_equal(TG_STAT_GET(st->reconnects), 0); /* no full reconnect */
    for (int k = 0; k < N_NODE; k++)
        if (k != F && f->s.gap_max[k] > 2000 * (int64_t)1000000)
            fail_msg("shard %d (healthy) silent for %.0f ms during the %s of shard %d", k,
                     (double)f->s.gap_max[k] / 1e6, how, F);
    /* trades are never coalesced: a trade hole is a trade dropped or lost; a book hole a book
     * coalesced or lost */
    assert_true(holes[0] <= dropped + lost);
    assert_true(holes[1] <= coal + lost);
    assert_true(holes[0] + holes[1] <= lost + dropped + coal);
    assert_int_equal(f->s.wrong_node, 0);
    /* late messages (on_message): a resumed hung primary's buffered commands (counted lost),
     * or, around a failover, messages of the shard crossing it late; never more than the
     * commands lost or redirected */
    uint64_t redirects = TG_STAT_GET(st->cluster_redirects);
    printf("failover (%s): %llu messages arrived late (older than one already received)\n", how,
           (unsigned long long)f->s.bad_order);
    assert_true(f->s.bad_order <= lost + redirects);
    assert_int_equal(f->s.bad_doc, 0);
    assert_int_equal(f->s.sunsub, 0);
    assert_true(TG_STAT_GET(st->cluster_refreshes) >= 2);
    assert_int_equal(f->s.hellos, TG_STAT_GET(st->hellos));
    /* the shard's primary is the former replica now, and every key is the last record */
    load_map(&f->map);
    assert_int_equal(
        rds_cluster_map_find(&f->map, rep.host, rep.port),
        rds_cluster_node_of(&f->map, rds_cluster_keyslot(n0.ch_trades, n0.ch_trades_len)));
    check_keys(f, r);
    check_streams(f, r);
    printf("failover (%s): trade streams complete (%llu entries each; %llu re-sent from the "
           "backlog, %llu already held)\n",
           how, (unsigned long long)r, (unsigned long long)TG_STAT_GET(st->stream_resent),
           (unsigned long long)TG_STAT_GET(st->stream_dups));
}

static void test_failover_the_publisher_follows(void **state)
{
    run_failover(*state, "tf", 0);
}

static void test_killed_primary_the_publisher_follows(void **state)
{
    run_failover(*state, "tk", 1);
}

static void test_hung_primary_the_publisher_follows(void **state)
{
    run_failover(*state, "th", 2);
}

static char g_log[1024];

static void log_keep(void *ud, int level, const char *msg)
{
    (void)ud;
    (void)level;
    snprintf(g_log, sizeof(g_log), "%s", msg);
}

/* The lease key's value at its slot's primary ("" if none); another primary answers MOVED. */
static void lease_value(fx_t *f, const char *key, char *out, size_t cap)
{
    load_map(&f->map);
    int owner = rds_cluster_node_of(&f->map, rds_cluster_keyslot(key, strlen(key)));
    redisContext *c = it_cluster_conn(&f->map.nodes[owner]),
                 *o = it_cluster_conn(&f->map.nodes[(owner + 1) % N_NODE]);
    redisReply *r = redisCommand(o, "GET %s", key);
    assert_true(r && r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "MOVED ", 6));
    freeReplyObject(r);
    r = redisCommand(c, "GET %s", key);
    assert_non_null(r);
    snprintf(out, cap, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    redisFree(c);
    redisFree(o);
}

/* Which of the two publishes (0 or 1), once exactly one does for 10 checks in a row; -1 if
 * that does not happen within 10 s. */
static int one_leader(store_rds_t *const pub[2])
{
    int same = 0, who = -1;
    for (int t = 0; t < 1000 && same < 10; t++, usleep(10000)) {
        uint64_t l0 = TG_STAT_GET(store_rds_stats(pub[0])->leader),
                 l1 = pub[1] ? TG_STAT_GET(store_rds_stats(pub[1])->leader) : 0;
        int w = l0 + l1 == 1 ? (l0 ? 0 : 1) : -1;
        same = w >= 0 && w == who ? same + 1 : 0;
        who = w;
    }
    return same >= 10 ? who : -1;
}

static void test_a_lease_on_the_cluster_one_of_two_publishes(void **state)
{
    fx_t *f = *state;
    tg_ring_t *ring2 = NULL;
    assert_int_equal(tg_ring_create(&ring2, 4096, sizeof(book_out_t)), 0);
    store_rds_t *pub[2] = {NULL, NULL};
    const char *names[2] = {"a", "b"};
    for (int k = 0; k < 2; k++) {
        store_rds_cfg_t c = f->cfg;
        c.prefix = "tl";
        c.ring = k ? ring2 : f->ring;
        c.leader_group = "ab";
        c.leader_lease_ms = 600;
        c.instance = names[k];
        assert_int_equal(store_rds_create(&pub[k], &c), 0);
        assert_int_equal(store_rds_start(pub[k]), 0);
    }
    int L = one_leader(pub);
    assert_true(L >= 0);
    char v[160];
    lease_value(f, "tl:leader:ab", v, sizeof(v));
    if (strncmp(v, names[L], 1) != 0 || v[1] != ':')
        fail_msg("the lease key holds '%s', the leader is %s", v, names[L]);
    /* the lease key's primary fails over (CLUSTER FAILOVER): the leader renews at the new
     * primary and keeps the lease, the standby waits; never two publishers meanwhile */
    load_map(&f->map);
    int kp = rds_cluster_node_of(&f->map, rds_cluster_keyslot("tl:leader:ab", 12));
    rds_cluster_node_t krep;
    it_cluster_replica_of(&f->map.nodes[kp], &krep);
    it_cluster_failover_to(&krep);
    int both = 0, none = 0;
    for (int t = 0; t < 800; t++, usleep(1000)) { /* 0.8 s: > one lease */
        uint64_t l0 = TG_STAT_GET(store_rds_stats(pub[0])->leader),
                 l1 = TG_STAT_GET(store_rds_stats(pub[1])->leader);
        both += l0 && l1;
        none += !l0 && !l1;
    }
    assert_int_equal(both, 0);
    int L2 = one_leader(pub);
    assert_true(L2 >= 0);
    printf("lease on the cluster: the key's primary failed over (CLUSTER FAILOVER): %s leads "
           "after it (%s before); samples with two leaders 0, with none %d of 800 (1 ms)\n",
           names[L2], names[L], none);
    L = L2;
    /* the leader stops (and gives the lease up): the other publishes */
    int64_t t0 = tg_clock_mono_ns();
    assert_int_equal(store_rds_stop(pub[L]), 0);
    store_rds_destroy(&pub[L]);
    const store_rds_stats_t *st = store_rds_stats(pub[1 - L]);
    for (int t = 0; t < 1000 && !TG_STAT_GET(st->leader); t++)
        usleep(1000);
    double ms = (double)(tg_clock_mono_ns() - t0) / 1e6; /* stop called -> the other publishes */
    store_rds_t *rest[2] = {pub[1 - L], NULL};
    assert_int_equal(one_leader(rest), 0); /* and stays the only one */
    lease_value(f, "tl:leader:ab", v, sizeof(v));
    if (strncmp(v, names[1 - L], 1) != 0 || v[1] != ':')
        fail_msg("after the stop the lease key holds '%s', want %s", v, names[1 - L]);
    printf("lease on the cluster: %s published, %s stood by; %s stopped, %s publishing %.0f ms "
           "later (lease 600 ms); the key %s on its slot's primary\n",
           names[L], names[1 - L], names[L], names[1 - L], ms, v);
    assert_int_equal(store_rds_stop(pub[1 - L]), 0);
    store_rds_destroy(&pub[1 - L]);
    tg_ring_destroy(&ring2);
}

/* What cluster mode does not support is refused at create, and the log names the setting. */
static void test_create_refuses_what_cluster_mode_does_not_support(void **state)
{
    fx_t *f = *state;
    static const struct {
        const char *url, *cluster, *want;
    } cases[] = {
        {"redis://127.0.0.1:6379/2", NULL, "[redis] db (or the URL's /db) must be 0"},
        {"unix:///tmp/x.sock", NULL, "[redis] url: a unix socket cannot be used"},
        {NULL, "127.0.0.1:70000", "70000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        store_rds_cfg_t c = f->cfg;
        c.prefix = "tr";
        c.url = cases[i].url;
        c.cluster = cases[i].cluster ? cases[i].cluster : g_list;
        c.log = log_keep;
        g_log[0] = '\0';
        store_rds_t *p = NULL;
        assert_int_equal(store_rds_create(&p, &c), -EINVAL);
        assert_null(p);
        if (!strstr(g_log, cases[i].want))
            fail_msg("case %zu: log '%s' does not say '%s'", i, g_log, cases[i].want);
        char why[256] = "";
        assert_int_equal(store_rds_probe(&c, why, sizeof(why)), -EINVAL);
    }
}

int main(void)
{
    if (tu_skip_without("TG_TEST_REDIS_CLUSTER", "run under tests/fixtures/redis_cluster.sh"))
        return TU_SKIPPED;
    TU_RETURN_GROUP_EACH(setup, teardown, cmocka_unit_test(test_every_instrument_goes_to_its_shard),
                         cmocka_unit_test(test_a_migrating_slot_asks_then_moves),
                         cmocka_unit_test(test_create_refuses_what_cluster_mode_does_not_support),
                         cmocka_unit_test(test_a_lease_on_the_cluster_one_of_two_publishes),
                         cmocka_unit_test(test_failover_the_publisher_follows),
                         cmocka_unit_test(test_killed_primary_the_publisher_follows),
                         cmocka_unit_test(test_hung_primary_the_publisher_follows));
}

/* SPDX-License-Identifier: MIT */
/*
 * The Redis Cluster routing module (storage/redis/rds_cluster.h) against a real 6-node cluster
 * (tests/fixtures/redis_cluster.sh: 3 primaries, 3 replicas on loopback):
 *  - the slot map from CLUSTER SHARDS covers every slot; the key slot we compute equals the
 *    server's CLUSTER KEYSLOT for 3 000 keys of tickgate's shapes; a SET sent where the map
 *    says is accepted, the same SET at another primary gets a MOVED that parses to the map's node;
 *  - sharded pub/sub: SSUBSCRIBE at the channel's primary receives an SPUBLISH sent there;
 *  - the publisher's cluster names and commands (store_rds_fmt_names_ex cluster=true): for 60
 *    instruments the server puts every key, channel and stream name of one instrument in one
 *    slot; the formatted SET and SPUBLISH sent to that slot's primary are accepted, the key
 *    holds the document and an SSUBSCRIBE there receives the same document;
 *  - CLUSTER FAILOVER of a replica: the old map's node answers MOVED for its slots, the MOVED
 *    names the new primary, and a refreshed map agrees.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/tg_instr.h"
#include "storage/redis/rds_cluster.h"
#include "storage/redis/store_rds_fmt.h"
#include "tests/fixtures/it_rds_cluster_util.h"
#include "tests/fixtures/tu_main.h"

static rds_cluster_node_t seeds[16];
static int n_seeds;

static void load_map(rds_cluster_map_t *m)
{
    redisContext *c = it_cluster_conn(&seeds[0]);
    redisReply *r = redisCommand(c, "CLUSTER SHARDS");
    assert_non_null(r);
    char err[160] = "";
    int rc = rds_cluster_map_from_shards(m, r, err, sizeof(err));
    if (rc != 0)
        fail_msg("map: %s", err);
    freeReplyObject(r);
    redisFree(c);
}

static int setup(void **state)
{
    (void)state;
    const char *list = getenv("TG_TEST_REDIS_CLUSTER");
    if (!list) {
        fprintf(stderr,
                "TG_TEST_REDIS_CLUSTER not set: run under tests/fixtures/redis_cluster.sh\n");
        return -1;
    }
    char err[128];
    n_seeds = rds_cluster_parse_seeds(list, seeds, 16, err, sizeof(err));
    return n_seeds == 6 ? 0 : -1;
}

static void test_keyslots_and_routing(void **state)
{
    (void)state;
    static rds_cluster_map_t m;
    load_map(&m);
    assert_int_equal(m.n_nodes, 3);
    assert_int_equal(m.n_unassigned, 0);
    redisContext *any = it_cluster_conn(&seeds[1]);
    redisContext *node[3];
    for (int i = 0; i < 3; i++)
        node[i] = it_cluster_conn(&m.nodes[i]);
    char key[96];
    int moved_checked = 0;
    srand(7);
    for (int i = 0; i < 3000; i++) {
        int n = snprintf(key, sizeof(key), i % 3 ? "tg:book:{venue%d:SYM%d}" : "tg:trade:v%d:S-%d",
                         rand() % 30, rand());
        uint16_t slot = rds_cluster_keyslot(key, (size_t)n);
        redisReply *r = redisCommand(any, "CLUSTER KEYSLOT %b", key, (size_t)n);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_int_equal(r->integer, slot);
        freeReplyObject(r);
        if (i % 10)
            continue;
        int owner = rds_cluster_node_of(&m, slot);
        assert_true(owner >= 0);
        r = redisCommand(node[owner], "SET %b 1", key, (size_t)n);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_STATUS);
        freeReplyObject(r);
        int other = (owner + 1) % 3;
        r = redisCommand(node[other], "SET %b 1", key, (size_t)n);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ERROR);
        rds_cluster_redirect_t red;
        assert_int_equal(rds_cluster_parse_redirect(r->str, r->len, &red), 1);
        assert_int_equal(red.ask, 0);
        assert_int_equal(red.slot, slot);
        assert_int_equal(red.node.port, m.nodes[owner].port);
        freeReplyObject(r);
        moved_checked++;
    }
    assert_int_equal(moved_checked, 300);
    for (int i = 0; i < 3; i++)
        redisFree(node[i]);
    redisFree(any);
}

/* The next message on a shard subscriber: channel ch, payload data. */
static void expect_smessage(redisContext *sub, const char *ch, const char *data, size_t len)
{
    void *msg = NULL;
    assert_int_equal(redisGetReply(sub, &msg), REDIS_OK);
    redisReply *r = msg;
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "smessage");
    assert_string_equal(r->element[1]->str, ch);
    assert_int_equal(r->element[2]->len, len);
    assert_memory_equal(r->element[2]->str, data, len);
    freeReplyObject(r);
}

static void test_sharded_pubsub(void **state)
{
    (void)state;
    static rds_cluster_map_t m;
    load_map(&m);
    const char *ch = "tg:{binance:BTCUSDT}:trade";
    int owner = rds_cluster_node_of(&m, rds_cluster_keyslot(ch, strlen(ch)));
    redisContext *sub = it_cluster_conn(&m.nodes[owner]), *pub = it_cluster_conn(&m.nodes[owner]);
    redisReply *r = redisCommand(sub, "SSUBSCRIBE %s", ch);
    assert_non_null(r);
    freeReplyObject(r);
    r = redisCommand(pub, "SPUBLISH %s %s", ch, "hello");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    expect_smessage(sub, ch, "hello", 5);
    redisFree(sub);
    redisFree(pub);
}

/* One instrument's cluster names and formatted commands against the slot's primary. */
static void check_instrument(const rds_cluster_map_t *m, redisContext *any, const tg_instr_t *in,
                             const book_out_book_t *b)
{
    store_rds_names_t nm;
    assert_int_equal(store_rds_fmt_names_ex(&nm, "tg", in, true), 0);
    char cand[STORE_RDS_NAME_MAX];
    size_t cl = store_rds_fmt_candle_channel(&nm, 60000000000LL, cand);
    const char *names[] = {nm.key_book,  nm.key_bbo, nm.key_trade, nm.ch_book,
                           nm.ch_trades, nm.st_book, nm.st_trades, cand};
    const size_t lens[] = {nm.key_book_len,  nm.key_bbo_len, nm.key_trade_len, nm.ch_book_len,
                           nm.ch_trades_len, nm.st_book_len, nm.st_trades_len, cl};
    long long slot = -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        redisReply *r = redisCommand(any, "CLUSTER KEYSLOT %b", names[i], lens[i]);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        if (slot < 0)
            slot = r->integer;
        assert_int_equal(r->integer, slot); /* the server's slot: one per instrument */
        freeReplyObject(r);
    }
    int owner = rds_cluster_node_of(m, (uint16_t)slot);
    assert_true(owner >= 0);
    redisContext *sub = it_cluster_conn(&m->nodes[owner]), *pub = it_cluster_conn(&m->nodes[owner]);
    redisReply *r = redisCommand(sub, "SSUBSCRIBE %b", nm.ch_book, (size_t)nm.ch_book_len);
    assert_non_null(r);
    freeReplyObject(r);
    store_rds_meta_t meta = {5, 1700000000123456789ULL, 1700000000000000001LL, 7, false, 0, 0};
    static char cmd[STORE_RDS_JSON_MAX + 512], doc[STORE_RDS_JSON_MAX];
    size_t dl = store_rds_fmt_book(doc, sizeof(doc), &nm, &meta, b);
    assert_true(dl > 0);
    const store_rds_cmd_t cmds[] = {{nm.key_book, nm.key_book_len, false, 60000},
                                    {nm.ch_book, nm.ch_book_len, true, 0}};
    for (size_t i = 0; i < 2; i++) {
        size_t n =
            store_rds_fmt_cmd(cmd, sizeof(cmd), &cmds[i], STORE_RDS_DOC_BOOK, &nm, &meta, b, NULL);
        assert_true(n > 0);
        assert_int_equal(redisAppendFormattedCommand(pub, cmd, n), REDIS_OK);
        void *rep = NULL;
        assert_int_equal(redisGetReply(pub, &rep), REDIS_OK);
        r = rep;
        if (r->type == REDIS_REPLY_ERROR)
            fail_msg("%s: %s", cmds[i].name, r->str);
        if (cmds[i].publish) {
            assert_int_equal(r->type, REDIS_REPLY_INTEGER);
            assert_int_equal(r->integer, 1); /* our one shard subscriber */
        } else {
            assert_int_equal(r->type, REDIS_REPLY_STATUS);
        }
        freeReplyObject(r);
    }
    r = redisCommand(pub, "GET %b", nm.key_book, (size_t)nm.key_book_len);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, dl);
    assert_memory_equal(r->str, doc, dl);
    freeReplyObject(r);
    expect_smessage(sub, nm.ch_book, doc, dl);
    redisFree(sub);
    redisFree(pub);
}

static void test_publisher_cluster_names_and_commands(void **state)
{
    (void)state;
    static rds_cluster_map_t m;
    load_map(&m);
    assert_int_equal(m.n_unassigned, 0);
    tg_instr_reg_t *reg = NULL;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    ic.px_scale = 2;
    ic.sz_scale = 8;
    const char *venues[] = {"binance", "okx", "bybit"};
    book_out_book_t b;
    memset(&b, 0, sizeof(b));
    b.seq = 99;
    b.state = BOOK_STATE_VALID;
    b.n_bids = b.n_asks = 1;
    b.bids[0] = (tg_level_t){6183763, 150000000};
    b.asks[0] = (tg_level_t){6183764, 1};
    redisContext *any = it_cluster_conn(&seeds[2]);
    int owners[3] = {0, 0, 0};
    for (int i = 0; i < 60; i++) {
        char sym[32];
        snprintf(sym, sizeof(sym), "S%dUSDT", i);
        uint32_t id;
        assert_int_equal(tg_instr_reg_add(reg, venues[i % 3], sym, &ic, &id), 0);
        const tg_instr_t *in = tg_instr_reg_get(reg, id);
        check_instrument(&m, any, in, &b);
        char tag[64];
        int tl = snprintf(tag, sizeof(tag), "%s:%s", in->venue, in->symbol);
        owners[rds_cluster_node_of(&m, rds_cluster_keyslot(tag, (size_t)tl))]++;
    }
    /* 60 instruments spread over the 3 primaries */
    for (int i = 0; i < 3; i++)
        assert_true(owners[i] > 0);
    redisFree(any);
    tg_instr_reg_destroy(&reg);
}

static void test_failover_moved(void **state)
{
    (void)state;
    static rds_cluster_map_t before, after;
    load_map(&before);
    /* a replica of the primary serving slot 0 takes over */
    int p0 = rds_cluster_node_of(&before, 0);
    rds_cluster_node_t rep;
    it_cluster_replica_of(&before.nodes[p0], &rep);
    redisContext *c = it_cluster_conn(&before.nodes[p0]);
    it_cluster_failover_to(&rep);
    redisReply *r;
    /* the old primary now redirects slot 0's keys to the new one */
    char k[64]; /* a key the old primary served */
    int n = 0;
    for (int i = 0;; i++) {
        n = snprintf(k, sizeof(k), "tg:key:%d", i);
        if (rds_cluster_node_of(&before, rds_cluster_keyslot(k, (size_t)n)) == p0)
            break;
    }
    int redirected = 0;
    for (int t = 0; t < 300 && !redirected; t++) {
        r = redisCommand(c, "SET %b 1", k, (size_t)n);
        if (!r) { /* the old primary pauses writers while it hands over: reconnect */
            redisFree(c);
            c = it_cluster_conn(&before.nodes[p0]);
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            rds_cluster_redirect_t red;
            if (rds_cluster_parse_redirect(r->str, r->len, &red) == 1) {
                assert_int_equal(red.node.port, rep.port);
                assert_int_equal(rds_cluster_map_move(&before, red.slot, &red.node) >= 0, 1);
                redirected = 1;
            }
        }
        freeReplyObject(r);
        if (!redirected)
            usleep(50000);
    }
    assert_true(redirected);
    /* a refreshed map agrees with the MOVED */
    int agreed = 0;
    for (int t = 0; t < 300 && !agreed; t++) {
        load_map(&after);
        int p = rds_cluster_node_of(&after, rds_cluster_keyslot(k, (size_t)n));
        agreed = p >= 0 && after.nodes[p].port == rep.port && after.n_unassigned == 0;
        if (!agreed)
            usleep(50000);
    }
    assert_true(agreed);
    redisFree(c);
}

TU_MAIN(setup, NULL, cmocka_unit_test(test_keyslots_and_routing),
        cmocka_unit_test(test_sharded_pubsub),
        cmocka_unit_test(test_publisher_cluster_names_and_commands),
        cmocka_unit_test(test_failover_moved))

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Redis Cluster routing module (storage/redis/rds_cluster.h): CRC16 and hash
 * tags against the cluster specification's examples, seed lists, MOVED/ASK parsing, and slot
 * maps built from CLUSTER SHARDS / CLUSTER SLOTS replies decoded by hiredis' own reader.
 * (The same functions are checked against a live 6-node cluster in test_it_rds_cluster.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "storage/redis/rds_cluster.h"

static uint16_t slot_of(const char *k)
{
    return rds_cluster_keyslot(k, strlen(k));
}

static void test_crc16_and_tags(void **state)
{
    (void)state;
    /* the cluster specification's check value for CRC16-CCITT (XMODEM) */
    assert_int_equal(rds_cluster_crc16("123456789", 9), 0x31C3);
    assert_int_equal(rds_cluster_crc16("", 0), 0);
    /* hash tags (specification examples) */
    assert_int_equal(slot_of("{user1000}.following"), slot_of("{user1000}.followers"));
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    assert_int_equal(slot_of("foo{}{bar}"), rds_cluster_crc16("foo{}{bar}", 10) & 16383);
    assert_int_equal(slot_of("foo{{bar}}zap"), slot_of("{bar"));
    assert_int_equal(slot_of("foo{bar}{zap}"), slot_of("bar"));
    assert_int_equal(slot_of("{}"), rds_cluster_crc16("{}", 2) & 16383);
    assert_int_equal(slot_of("a{b"), rds_cluster_crc16("a{b", 3) & 16383);
    /* every slot is in range */
    char k[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(k, sizeof(k), "tg:book:%d", i);
        assert_true(rds_cluster_keyslot(k, (size_t)n) < RDS_CLUSTER_SLOTS);
    }
}

static void test_seeds(void **state)
{
    (void)state;
    rds_cluster_node_t n[4];
    char err[128];
    assert_int_equal(
        rds_cluster_parse_seeds(" 127.0.0.1:7000 ,h2:7001,[::1]:7002", n, 4, err, sizeof(err)), 3);
    assert_string_equal(n[0].host, "127.0.0.1");
    assert_int_equal(n[0].port, 7000);
    assert_string_equal(n[1].host, "h2");
    assert_string_equal(n[2].host, "::1");
    assert_int_equal(n[2].port, 7002);
    assert_int_equal(rds_cluster_parse_seeds("h:0", n, 4, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "h:0"));
    assert_int_equal(rds_cluster_parse_seeds("h:70000", n, 4, err, sizeof(err)), -EINVAL);
    assert_int_equal(rds_cluster_parse_seeds("nohost", n, 4, err, sizeof(err)), -EINVAL);
    assert_int_equal(rds_cluster_parse_seeds(" , ", n, 4, err, sizeof(err)), -EINVAL);
    assert_int_equal(rds_cluster_parse_seeds("a:1,b:2,c:3,d:4,e:5", n, 4, err, sizeof(err)),
                     -EINVAL);
}

static void test_redirect(void **state)
{
    (void)state;
    rds_cluster_redirect_t r;
    const char *m = "MOVED 3999 127.0.0.1:6381";
    assert_int_equal(rds_cluster_parse_redirect(m, strlen(m), &r), 1);
    assert_int_equal(r.ask, 0);
    assert_int_equal(r.slot, 3999);
    assert_string_equal(r.node.host, "127.0.0.1");
    assert_int_equal(r.node.port, 6381);
    const char *a = "ASK 16383 [::1]:7000";
    assert_int_equal(rds_cluster_parse_redirect(a, strlen(a), &r), 1);
    assert_int_equal(r.ask, 1);
    assert_int_equal(r.slot, 16383);
    assert_string_equal(r.node.host, "::1");
    const char *e = "MOVED 12 :7001"; /* host omitted: the answering node's */
    assert_int_equal(rds_cluster_parse_redirect(e, strlen(e), &r), 1);
    assert_string_equal(r.node.host, "");
    assert_int_equal(r.node.port, 7001);
    const char *other = "ERR unknown command";
    assert_int_equal(rds_cluster_parse_redirect(other, strlen(other), &r), 0);
    const char *bad[] = {"MOVED 16384 h:1", "MOVED x h:1", "ASK 12", "MOVED 12 h:", "MOVED 12 h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rds_cluster_parse_redirect(bad[i], strlen(bad[i]), &r), -EPROTO);
}

/* Decode one RESP reply with hiredis' reader. */
static redisReply *decode(const char *resp)
{
    redisReader *rd = redisReaderCreate();
    assert_non_null(rd);
    assert_int_equal(redisReaderFeed(rd, resp, strlen(resp)), REDIS_OK);
    void *reply = NULL;
    assert_int_equal(redisReaderGetReply(rd, &reply), REDIS_OK);
    assert_non_null(reply);
    redisReaderFree(rd);
    return reply;
}

#define BS(s) "$" #s "\r\n"
/* A node of CLUSTER SHARDS: id, port, ip, role, health. */
#define NODE(id, port, role, health)                                                               \
    "*10\r\n$2\r\nid\r\n$" id "\r\n$4\r\nport\r\n:" port "\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"     \
    "$4\r\nrole\r\n" role "$6\r\nhealth\r\n" health

static void test_map_from_shards(void **state)
{
    (void)state;
    /* shard A: slots 0-99 and 200-16383, primary 7000 (+ replica 7003); shard B: 100-199,
     * replica listed first, primary 7001 */
    const char *resp =
        "*2\r\n"
        "*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:99\r\n:200\r\n:16383\r\n$5\r\nnodes\r\n*2\r\n" NODE(
            "1\r\na", "7000", "$6\r\nmaster\r\n", "$6\r\nonline\r\n")
            NODE("1\r\nb", "7003", "$7\r\nreplica\r\n",
                 "$6\r\nonline\r\n") "*4\r\n$5\r\nslots\r\n*2\r\n:100\r\n:199\r\n$5\r\nnodes\r\n*"
                                     "2\r\n" NODE("1\r\nc", "7004", "$7\r\nreplica\r\n",
                                                  "$6\r\nonline\r\n")
                                         NODE("1\r\nd", "7001", "$6\r\nmaster\r\n",
                                              "$6\r\nonline\r\n");
    redisReply *r = decode(resp);
    static rds_cluster_map_t m;
    char err[128] = "";
    assert_int_equal(rds_cluster_map_from_shards(&m, r, err, sizeof(err)), 0);
    assert_int_equal(m.n_nodes, 2);
    assert_int_equal(m.n_unassigned, 0);
    int a = rds_cluster_node_of(&m, 0), b = rds_cluster_node_of(&m, 150);
    assert_int_equal(m.nodes[a].port, 7000);
    assert_string_equal(m.nodes[a].id, "a");
    assert_int_equal(m.nodes[b].port, 7001);
    assert_int_equal(rds_cluster_node_of(&m, 99), a);
    assert_int_equal(rds_cluster_node_of(&m, 100), b);
    assert_int_equal(rds_cluster_node_of(&m, 199), b);
    assert_int_equal(rds_cluster_node_of(&m, 200), a);
    assert_int_equal(rds_cluster_node_of(&m, 16383), a);
    /* a MOVED for slot 5 to a new node */
    rds_cluster_node_t nn = {.host = "127.0.0.1", .port = 7009};
    int i = rds_cluster_map_move(&m, 5, &nn);
    assert_int_equal(i, 2);
    assert_int_equal(rds_cluster_node_of(&m, 5), 2);
    assert_int_equal(rds_cluster_map_find(&m, "127.0.0.1", 7009), 2);
    freeReplyObject(r);

    /* a failed primary's slots stay unassigned */
    const char *failed = "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:9\r\n$5\r\nnodes\r\n*1\r\n" NODE(
        "1\r\nz", "7000", "$6\r\nmaster\r\n", "$4\r\nfail\r\n");
    r = decode(failed);
    assert_int_equal(rds_cluster_map_from_shards(&m, r, err, sizeof(err)), 0);
    assert_int_equal(m.n_unassigned, RDS_CLUSTER_SLOTS);
    assert_int_equal(rds_cluster_node_of(&m, 0), -1);
    freeReplyObject(r);

    /* malformed shapes are refused with a reason */
    const char *bad[] = {
        ":1\r\n", "*1\r\n*2\r\n$5\r\nslots\r\n*1\r\n:0\r\n",
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16384\r\n$5\r\nnodes\r\n*1\r\n" NODE(
            "1\r\nz", "7000", "$6\r\nmaster\r\n", "$6\r\nonline\r\n")};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        r = decode(bad[k]);
        err[0] = '\0';
        assert_int_equal(rds_cluster_map_from_shards(&m, r, err, sizeof(err)), -EPROTO);
        assert_non_null(strstr(err, "CLUSTER SHARDS"));
        freeReplyObject(r);
    }
}

static void test_map_from_slots(void **state)
{
    (void)state;
    const char *resp = "*2\r\n"
                       "*3\r\n:0\r\n:8191\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$1\r\na\r\n"
                       "*4\r\n:8192\r\n:16383\r\n*2\r\n$9\r\n127.0.0.1\r\n:7001\r\n"
                       "*2\r\n$9\r\n127.0.0.1\r\n:7004\r\n";
    redisReply *r = decode(resp);
    static rds_cluster_map_t m;
    char err[128];
    assert_int_equal(rds_cluster_map_from_slots(&m, r, err, sizeof(err)), 0);
    assert_int_equal(m.n_nodes, 2);
    assert_int_equal(m.n_unassigned, 0);
    assert_int_equal(m.nodes[rds_cluster_node_of(&m, 8191)].port, 7000);
    assert_int_equal(m.nodes[rds_cluster_node_of(&m, 8192)].port, 7001);
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc16_and_tags), cmocka_unit_test(test_seeds),
        cmocka_unit_test(test_redirect),       cmocka_unit_test(test_map_from_shards),
        cmocka_unit_test(test_map_from_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

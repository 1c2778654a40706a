/* SPDX-License-Identifier: MIT */
/* Leader lease for redundant gateways (see store_rds_lease.h). */
#include "storage/redis/store_rds_lease.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/tg_clock.h"

/* Extend / delete the key only while it holds our value (one atomic script each). */
static const char renew_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
static const char release_lua[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                                  "return redis.call('DEL', KEYS[1]) else return 0 end";

int store_rds_lease_init(store_rds_lease_t *l, const char *prefix, const char *group,
                         const char *instance, uint64_t epoch, uint32_t lease_ms)
{
    memset(l, 0, sizeof(*l));
    int a = snprintf(l->key, sizeof(l->key), "%s:leader:%s", prefix, group);
    int b = snprintf(l->val, sizeof(l->val), "%s:%llu",
                     instance && *instance ? instance : "tickgate", (unsigned long long)epoch);
    if (a < 0 || (size_t)a >= sizeof(l->key) || b < 0 || (size_t)b >= sizeof(l->val))
        return -ENAMETOOLONG;
    l->lease_ms = lease_ms;
    return 0;
}

static void drop(store_rds_lease_t *l, const char *why)
{
    snprintf(l->err, sizeof(l->err), "%s", why);
    redisFree(l->ctx);
    l->ctx = NULL;
}

/* One command on the lease connection. @return the reply (caller frees) or NULL. */
static redisReply *cmd(store_rds_lease_t *l, const store_rds_conn_t *conn, int argc,
                       const char **argv)
{
    if (!l->ctx) {
        int err = 0;
        char eb[160];
        if (!(l->ctx = store_rds_conn_open(conn, &err, eb, sizeof(eb)))) {
            snprintf(l->err, sizeof(l->err), "%s", eb);
            return NULL;
        }
    }
    redisReply *r = redisCommandArgv(l->ctx, argc, argv, NULL);
    if (!r) {
        drop(l, l->ctx->errstr[0] ? l->ctx->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* on a cluster the key's slot moved (or its shard is down): ask where it is now */
        if (!strncmp(r->str, "MOVED ", 6) || !strncmp(r->str, "ASK ", 4) ||
            !strncmp(r->str, "CLUSTERDOWN", 11) || !strncmp(r->str, "TRYAGAIN", 8))
            drop(l, r->str);
        else
            snprintf(l->err, sizeof(l->err), "%s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

void store_rds_lease_target(store_rds_lease_t *l, const char *host, int port)
{
    if (l->ctx && (l->ctx->connection_type != REDIS_CONN_TCP || !l->ctx->tcp.host ||
                   strcmp(l->ctx->tcp.host, host) != 0 || l->ctx->tcp.port != port))
        drop(l, "the lease key's slot is served by another node");
    if (l->at_port == port && strcmp(l->at_host, host) == 0)
        return;
    if (l->at_port && !l->leader) { /* a new primary: hold off one lease (see the header) */
        int64_t hold = tg_clock_mono_ns() + (int64_t)l->lease_ms * TG_NS_PER_MS;
        if (l->next < hold)
            l->next = hold;
    }
    if (l->at_port)
        l->moves++;
    snprintf(l->at_host, sizeof(l->at_host), "%s", host);
    l->at_port = port;
}

int store_rds_lease_tick(store_rds_lease_t *l, const store_rds_conn_t *conn, int64_t now)
{
    int64_t lease = (int64_t)l->lease_ms * TG_NS_PER_MS;
    if (now < l->next) {
        if (l->leader && now >= l->until) { /* renewals failed until the lease ran out */
            l->leader = false;
            return STORE_RDS_LEASE_LOST;
        }
        return STORE_RDS_LEASE_SAME;
    }
    l->next = now + lease / 3;
    char ms[16];
    snprintf(ms, sizeof(ms), "%u", l->lease_ms);
    int64_t sent = tg_clock_mono_ns(); /* the lease runs from before Redis saw the command */
    if (l->leader) {
        const char *argv[] = {"EVAL", renew_lua, "1", l->key, l->val, ms};
        redisReply *r = cmd(l, conn, 6, argv);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 1) {
            l->until = sent + lease;
            freeReplyObject(r);
            return STORE_RDS_LEASE_SAME;
        }
        bool taken = r != NULL; /* answered 0: the key is gone or someone else's */
        if (r)
            freeReplyObject(r);
        if (taken || tg_clock_mono_ns() >= l->until) {
            if (taken)
                snprintf(l->err, sizeof(l->err), "the lease key %s is no longer ours", l->key);
            l->leader = false;
            return STORE_RDS_LEASE_LOST;
        }
        return STORE_RDS_LEASE_SAME; /* retry at the next tick, still within the lease */
    }
    const char *argv[] = {"SET", l->key, l->val, "NX", "PX", ms};
    redisReply *r = cmd(l, conn, 6, argv);
    bool won = r && r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");
    if (r)
        freeReplyObject(r);
    if (!won)
        return STORE_RDS_LEASE_SAME;
    l->leader = true;
    l->until = sent + lease;
    return STORE_RDS_LEASE_WON;
}

void store_rds_lease_release(store_rds_lease_t *l, const store_rds_conn_t *conn)
{
    if (l->leader) {
        const char *argv[] = {"EVAL", release_lua, "1", l->key, l->val};
        redisReply *r = cmd(l, conn, 5, argv);
        if (r)
            freeReplyObject(r);
        l->leader = false;
    }
    redisFree(l->ctx);
    l->ctx = NULL;
}

/* SPDX-License-Identifier: MIT */
/* Redis Cluster routing (rds_cluster.h): hash slots, the slot map, seeds and redirections. */
#include "storage/redis/rds_cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint16_t rds_cluster_crc16(const void *buf, size_t len)
{
    /* Bitwise: keys are short and callers cache the slot per instrument. */
    const unsigned char *p = buf;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

uint16_t rds_cluster_keyslot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close && close > open + 1)
            return rds_cluster_crc16(open + 1, (size_t)(close - open - 1)) &
                   (RDS_CLUSTER_SLOTS - 1);
    }
    return rds_cluster_crc16(key, len) & (RDS_CLUSTER_SLOTS - 1);
}

static void set_err(char *err, size_t errlen, const char *fmt, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, what);
}

/* "host:port" or "[v6]:port" of n bytes into node. */
static int parse_hostport(const char *s, size_t n, rds_cluster_node_t *node)
{
    const char *colon, *host = s;
    size_t hlen;
    if (n && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb || (size_t)(rb - s) + 1 >= n || rb[1] != ':')
            return -EINVAL;
        host = s + 1;
        hlen = (size_t)(rb - s) - 1;
        colon = rb + 1;
    } else {
        colon = NULL;
        for (size_t i = n; i > 0; i--)
            if (s[i - 1] == ':') {
                colon = s + i - 1;
                break;
            }
        if (!colon)
            return -EINVAL;
        hlen = (size_t)(colon - s);
    }
    if (hlen >= sizeof(node->host))
        return -EINVAL;
    size_t plen = n - (size_t)(colon - s) - 1;
    if (plen == 0 || plen > 5)
        return -EINVAL;
    int port = 0;
    for (size_t i = 0; i < plen; i++) {
        char c = colon[1 + i];
        if (c < '0' || c > '9')
            return -EINVAL;
        port = port * 10 + (c - '0');
    }
    if (port < 1 || port > 65535)
        return -EINVAL;
    memcpy(node->host, host, hlen);
    node->host[hlen] = '\0';
    node->port = port;
    node->id[0] = '\0';
    return 0;
}

int rds_cluster_parse_seeds(const char *list, rds_cluster_node_t *out, int max, char *err,
                            size_t errlen)
{
    int n = 0;
    const char *p = list ? list : "";
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len) {
            char entry[128];
            snprintf(entry, sizeof(entry), "%.*s", (int)(len > 100 ? 100 : len), p);
            if (n >= max) {
                set_err(err, errlen, "too many cluster nodes at '%s'", entry);
                return -EINVAL;
            }
            if (parse_hostport(p, len, &out[n]) != 0) {
                set_err(err, errlen, "bad cluster node '%s' (want host:port)", entry);
                return -EINVAL;
            }
            n++;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (n == 0) {
        set_err(err, errlen, "%s", "empty cluster node list");
        return -EINVAL;
    }
    return n;
}

int rds_cluster_map_find(const rds_cluster_map_t *m, const char *host, int port)
{
    for (int i = 0; i < m->n_nodes; i++)
        if (m->nodes[i].port == port && strcmp(m->nodes[i].host, host) == 0)
            return i;
    return -1;
}

static int map_add(rds_cluster_map_t *m, const rds_cluster_node_t *node)
{
    int i = rds_cluster_map_find(m, node->host, node->port);
    if (i >= 0)
        return i;
    if (m->n_nodes >= RDS_CLUSTER_MAX_NODES)
        return -ENOSPC;
    m->nodes[m->n_nodes] = *node;
    return m->n_nodes++;
}

static void map_reset(rds_cluster_map_t *m)
{
    memset(m->slot_node, 0xff, sizeof(m->slot_node));
    m->n_nodes = 0;
    m->n_unassigned = 0;
}

static void map_count_unassigned(rds_cluster_map_t *m)
{
    m->n_unassigned = 0;
    for (size_t s = 0; s < RDS_CLUSTER_SLOTS; s++)
        m->n_unassigned += m->slot_node[s] == RDS_CLUSTER_NO_NODE;
}

static int assign(rds_cluster_map_t *m, long long lo, long long hi, int node)
{
    if (lo < 0 || hi >= RDS_CLUSTER_SLOTS || lo > hi)
        return -EPROTO;
    for (long long s = lo; s <= hi; s++)
        m->slot_node[s] = (uint16_t)node;
    return 0;
}

/* A string (or status) element equal to s. */
static int is_str(const redisReply *e, const char *s)
{
    return e && (e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS) &&
           e->len == strlen(s) && memcmp(e->str, s, e->len) == 0;
}

/* Value of key in a flat [k, v, k, v...] array; NULL if absent. */
static const redisReply *field(const redisReply *kv, const char *key)
{
    if (!kv || kv->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (is_str(kv->element[i], key))
            return kv->element[i + 1];
    return NULL;
}

static int copy_str(char *dst, size_t cap, const redisReply *e)
{
    if (!e || (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS) || e->len >= cap)
        return -EPROTO;
    memcpy(dst, e->str, e->len);
    dst[e->len] = '\0';
    return 0;
}

/* One node of a shard: its address (ip, else endpoint) and id. */
static int shard_node(const redisReply *nd, rds_cluster_node_t *out)
{
    const redisReply *ip = field(nd, "ip"), *port = field(nd, "port"), *id = field(nd, "id");
    if (!ip || (ip->type == REDIS_REPLY_STRING && ip->len == 0))
        ip = field(nd, "endpoint");
    if (copy_str(out->host, sizeof(out->host), ip) != 0 || !port ||
        port->type != REDIS_REPLY_INTEGER || port->integer < 1 || port->integer > 65535)
        return -EPROTO;
    out->port = (int)port->integer;
    if (id)
        (void)copy_str(out->id, sizeof(out->id), id);
    else
        out->id[0] = '\0';
    return 0;
}

/* One element of a CLUSTER SHARDS reply: its primary (if it has a healthy one) and its slot
 * ranges. @return 0, or < 0 with *why. */
static int shard_entry(rds_cluster_map_t *m, const redisReply *sh, const char **why)
{
    const redisReply *slots = field(sh, "slots"), *nodes = field(sh, "nodes");
    if (!slots || slots->type != REDIS_REPLY_ARRAY || slots->elements % 2 || !nodes ||
        nodes->type != REDIS_REPLY_ARRAY) {
        *why = "shard without slots/nodes";
        return -EPROTO;
    }
    int primary = -1;
    for (size_t j = 0; j < nodes->elements; j++) {
        const redisReply *nd = nodes->element[j];
        if (!is_str(field(nd, "role"), "master"))
            continue;
        if (is_str(field(nd, "health"), "fail") || is_str(field(nd, "health"), "failed"))
            continue;
        rds_cluster_node_t node;
        if (shard_node(nd, &node) != 0) {
            *why = "node without ip/port";
            return -EPROTO;
        }
        primary = map_add(m, &node);
        if (primary < 0) {
            *why = "too many primaries";
            return -ENOSPC;
        }
        break;
    }
    if (primary < 0)
        return 0; /* a shard whose primary failed: its slots stay unassigned */
    for (size_t k = 0; k < slots->elements; k += 2) {
        const redisReply *lo = slots->element[k], *hi = slots->element[k + 1];
        if (lo->type != REDIS_REPLY_INTEGER || hi->type != REDIS_REPLY_INTEGER ||
            assign(m, lo->integer, hi->integer, primary) != 0) {
            *why = "bad slot range";
            return -EPROTO;
        }
    }
    return 0;
}

/* One element of a CLUSTER SLOTS reply: [start, end, [ip, port, id, ...] primary, replicas...].
 * @return 0, or < 0 with *why. */
static int slots_entry(rds_cluster_map_t *m, const redisReply *e, const char **why)
{
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
        e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER ||
        e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
        e->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
        *why = "unexpected entry";
        return -EPROTO;
    }
    const redisReply *p = e->element[2];
    rds_cluster_node_t node = {0};
    long long port = p->element[1]->integer;
    if (copy_str(node.host, sizeof(node.host), p->element[0]) != 0 || port < 1 || port > 65535) {
        *why = "bad primary address";
        return -EPROTO;
    }
    node.port = (int)port;
    if (p->elements > 2)
        (void)copy_str(node.id, sizeof(node.id), p->element[2]);
    int idx = map_add(m, &node);
    if (idx < 0) {
        *why = "too many primaries";
        return -ENOSPC;
    }
    if (assign(m, e->element[0]->integer, e->element[1]->integer, idx) != 0) {
        *why = "bad slot range";
        return -EPROTO;
    }
    return 0;
}

/* m from the reply r of cmd: an array whose every element entry() adds to m.
 * @return 0, or < 0 with err ("CLUSTER SLOTS: bad slot range"). */
static int map_from(rds_cluster_map_t *m, const redisReply *r, const char *cmd,
                    int (*entry)(rds_cluster_map_t *m, const redisReply *e, const char **why),
                    char *err, size_t errlen)
{
    map_reset(m);
    const char *why = "not an array";
    int rc = -EPROTO;
    if (r && r->type == REDIS_REPLY_ARRAY) {
        rc = 0;
        for (size_t i = 0; i < r->elements && rc == 0; i++)
            rc = entry(m, r->element[i], &why);
    }
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", cmd, why);
        return rc;
    }
    map_count_unassigned(m);
    return 0;
}

int rds_cluster_map_from_shards(rds_cluster_map_t *m, const redisReply *r, char *err, size_t errlen)
{
    return map_from(m, r, "CLUSTER SHARDS", shard_entry, err, errlen);
}

int rds_cluster_map_from_slots(rds_cluster_map_t *m, const redisReply *r, char *err, size_t errlen)
{
    return map_from(m, r, "CLUSTER SLOTS", slots_entry, err, errlen);
}

int rds_cluster_parse_redirect(const char *err, size_t len, rds_cluster_redirect_t *out)
{
    size_t skip;
    if (len >= 6 && memcmp(err, "MOVED ", 6) == 0) {
        out->ask = 0;
        skip = 6;
    } else if (len >= 4 && memcmp(err, "ASK ", 4) == 0) {
        out->ask = 1;
        skip = 4;
    } else {
        return 0;
    }
    const char *p = err + skip, *end = err + len;
    long slot = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 6) {
        slot = slot * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || slot >= RDS_CLUSTER_SLOTS || p >= end || *p != ' ')
        return -EPROTO;
    p++;
    size_t n = (size_t)(end - p);
    while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
        n--;
    if (n && p[0] == ':') { /* ":port": the answering node's host */
        char tmp[16];
        if (n >= sizeof(tmp) - 1)
            return -EPROTO;
        tmp[0] = 'x';
        memcpy(tmp + 1, p, n);
        if (parse_hostport(tmp, n + 1, &out->node) != 0)
            return -EPROTO;
        out->node.host[0] = '\0';
    } else if (parse_hostport(p, n, &out->node) != 0) {
        return -EPROTO;
    }
    out->slot = (uint16_t)slot;
    return 1;
}

int rds_cluster_map_move(rds_cluster_map_t *m, uint16_t slot, const rds_cluster_node_t *node)
{
    int i = map_add(m, node);
    if (i < 0)
        return i;
    if (m->slot_node[slot & (RDS_CLUSTER_SLOTS - 1)] == RDS_CLUSTER_NO_NODE && m->n_unassigned)
        m->n_unassigned--;
    m->slot_node[slot & (RDS_CLUSTER_SLOTS - 1)] = (uint16_t)i;
    return i;
}

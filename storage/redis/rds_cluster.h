/* SPDX-License-Identifier: MIT */
/*
 * Redis Cluster routing: key -> hash slot (CRC16 with hash tags), the slot -> primary map read
 * from CLUSTER SHARDS (CLUSTER SLOTS for servers older than 7.0), seed lists and MOVED/ASK
 * redirections. No I/O: callers own their hiredis connections (one pipeline per node) and feed
 * the replies here. Debian's hiredis 0.14 has no cluster support and Debian packages no cluster
 * client for C, hence this small module (docs/redis.md, "Redis Cluster").
 *
 * The publisher (storage/redis) and libtickgate-client (client/) both compile this file: it
 * depends on hiredis' reply type only.
 *
 * Thread: any; a map is owned by one thread (the publisher's writer:redis, or the client's
 * caller) and is not shared.
 */
#ifndef RDS_CLUSTER_H
#define RDS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#define RDS_CLUSTER_SLOTS     16384
#define RDS_CLUSTER_MAX_NODES 64 /* primaries in one map */
#define RDS_CLUSTER_HOST_MAX  64
#define RDS_CLUSTER_NO_NODE   0xffffu

typedef struct rds_cluster_node {
    char host[RDS_CLUSTER_HOST_MAX];
    int port;
    char id[48]; /* node id (40 hex), empty when read from a seed list */
} rds_cluster_node_t;

/** Slot -> primary. Thread: its owner's. */
typedef struct rds_cluster_map {
    uint16_t slot_node[RDS_CLUSTER_SLOTS]; /* index into nodes[], RDS_CLUSTER_NO_NODE if unset */
    int n_nodes;
    rds_cluster_node_t nodes[RDS_CLUSTER_MAX_NODES];
    uint32_t n_unassigned; /* slots no healthy primary serves */
} rds_cluster_map_t;

/** CRC16-CCITT (XMODEM: poly 0x1021, init 0), the cluster's key hash. */
uint16_t rds_cluster_crc16(const void *buf, size_t len);

/** The hash slot of a key: CRC16 of the hash tag (the bytes between the first '{' and the
 *  next '}', when not empty) else of the whole key, mod 16384. */
uint16_t rds_cluster_keyslot(const char *key, size_t len);

/**
 * Parse "host:port, host:port, ..." (spaces allowed, IPv6 as [addr]:port).
 * @return number of nodes (>= 1) or -EINVAL (empty list, bad port, host too long, more than
 *         max); err names the bad entry.
 */
int rds_cluster_parse_seeds(const char *list, rds_cluster_node_t *out, int max, char *err,
                            size_t errlen);

/**
 * Fill m from a CLUSTER SHARDS reply (Redis >= 7.0): the primary ("role" master) of each shard
 * serves its "slots" ranges; a primary whose health is "failed" serves none.
 * @return 0, or -EPROTO (unexpected reply shape; err says where), -ENOSPC (more primaries than
 *         RDS_CLUSTER_MAX_NODES).
 */
int rds_cluster_map_from_shards(rds_cluster_map_t *m, const redisReply *r, char *err,
                                size_t errlen);

/** Same from a CLUSTER SLOTS reply (servers before 7.0). */
int rds_cluster_map_from_slots(rds_cluster_map_t *m, const redisReply *r, char *err, size_t errlen);

/** Index of the primary serving slot, or -1 when unassigned. */
static inline int rds_cluster_node_of(const rds_cluster_map_t *m, uint16_t slot)
{
    uint16_t n = m->slot_node[slot & (RDS_CLUSTER_SLOTS - 1)];
    return n == RDS_CLUSTER_NO_NODE ? -1 : (int)n;
}

typedef struct rds_cluster_redirect {
    int ask; /* 1: ASK (one command, prefixed by ASKING), 0: MOVED (the slot moved for good) */
    uint16_t slot;
    rds_cluster_node_t node;
} rds_cluster_redirect_t;

/**
 * Parse an error reply "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381" (an empty
 * host means the host of the node that answered: the caller fills it).
 * @return 1 when it was a redirection, 0 for any other error text, -EPROTO when it starts like one
 *         but is malformed.
 */
int rds_cluster_parse_redirect(const char *err, size_t len, rds_cluster_redirect_t *out);

/** Record a MOVED: slot -> node (added to the map if new). @return the node's index or -ENOSPC. */
int rds_cluster_map_move(rds_cluster_map_t *m, uint16_t slot, const rds_cluster_node_t *node);

/** Index of host:port in m, or -1. */
int rds_cluster_map_find(const rds_cluster_map_t *m, const char *host, int port);

#endif

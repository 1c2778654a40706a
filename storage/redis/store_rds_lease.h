/* SPDX-License-Identifier: MIT */
/*
 * Leader lease for redundant gateways (A/B; docs/scale.md "Redundant gateways"): of the
 * gateways configured with the same `[redis] leader = GROUP`, one holds the key
 * `{prefix}:leader:{GROUP}` (SET NX PX lease_ms, value "instance:epoch") and publishes; the
 * others keep their books and candles up to date but send nothing to Redis, and try to take the
 * key every lease_ms / 3. The holder renews it every lease_ms / 3 (a script that extends the
 * key only while it still holds our value) and steps down by itself when a renewal has not
 * succeeded before its lease, counted from before the renewal was sent, runs out: by then
 * Redis has let it go or is about to. A leader that stops deletes the key (same check), so the
 * other takes over within lease_ms / 3.
 *
 * The lease talks over a connection of its own (blocking, command_timeout_ms) so the
 * publisher's pipeline and its reply reader stay as they are.
 *
 * Thread: writer:redis (the publisher's thread) owns a store_rds_lease_t.
 */
#ifndef STORE_RDS_LEASE_H
#define STORE_RDS_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "storage/redis/store_rds_conn.h"

typedef struct store_rds_lease {
    char key[160];
    char val[160];
    uint32_t lease_ms;
    redisContext *ctx;
    bool leader;
    int64_t next;     /* monotonic ns of the next acquire or renew */
    int64_t until;    /* monotonic ns until which our lease surely holds (leader) */
    char err[200];    /* the last failure, for the log */
    char at_host[64]; /* cluster: the primary the key was last asked at (store_rds_lease_target) */
    int at_port;
    uint32_t moves; /* times the key's primary changed */
} store_rds_lease_t;

/** What a tick changed. */
enum { STORE_RDS_LEASE_SAME = 0, STORE_RDS_LEASE_WON = 1, STORE_RDS_LEASE_LOST = -1 };

/** Set up (no I/O): key "{prefix}:leader:{group}", value "{instance}:{epoch}".
 *  @return 0 or -ENAMETOOLONG.  Thread: main, before the publisher starts. */
int store_rds_lease_init(store_rds_lease_t *l, const char *prefix, const char *group,
                         const char *instance, uint64_t epoch, uint32_t lease_ms);

/** Acquire (standby) or renew (leader) when due. Blocking, bounded by the connection's
 *  timeouts. @return STORE_RDS_LEASE_WON, _LOST or _SAME.  Thread: owner. */
int store_rds_lease_tick(store_rds_lease_t *l, const store_rds_conn_t *conn, int64_t now);

/** Redis Cluster: the lease key lives on the primary host:port (the slot map's); a connection
 *  to another node is closed, so the next tick or release connects there. A MOVED, ASK,
 *  CLUSTERDOWN or TRYAGAIN reply closes it too. When the primary changes (a failover) a
 *  standby waits one whole lease before it tries to take the key: the new primary may have
 *  lost the leader's last renewals (asynchronous replication), and by then a leader that
 *  cannot renew there has stepped down (never two publishers). */
void store_rds_lease_target(store_rds_lease_t *l, const char *host, int port);

/** Leader: delete the key if it still holds our value (graceful stop); close the connection.
 *  Thread: owner. */
void store_rds_lease_release(store_rds_lease_t *l, const store_rds_conn_t *conn);

#endif

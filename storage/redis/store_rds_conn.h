/* SPDX-License-Identifier: MIT */
/*
 * Redis connection settings and the blocking hiredis handshake used by the publisher and its
 * probe: URL parsing (redis://, unix://), password from the config or the environment,
 * connect with timeout, socket timeouts, keepalive, AUTH and SELECT.
 *
 * Thread: any; a store_rds_conn_t is owned by one thread at a time (the publisher's belongs to
 * writer:redis once it starts). The password lives only in `pass` and is never printed.
 */
#ifndef STORE_RDS_CONN_H
#define STORE_RDS_CONN_H

#include <hiredis/hiredis.h>

#include "storage/redis/store_rds.h"

typedef struct store_rds_conn {
    char host[256];
    char unix_path[108];
    int port;
    int db;
    char user[128];
    char pass[256];
    int connect_timeout_ms;
    int command_timeout_ms;
    char where[300]; /* "127.0.0.1:6379/0" for messages (no credentials) */
} store_rds_conn_t;

/**
 * Resolve cfg (url, else host/port/db; password, else getenv(password_env)) into c.
 * @return 0 or -EINVAL (bad URL, port, db, or a field too long).  Thread: any.
 */
int store_rds_conn_init(store_rds_conn_t *c, const store_rds_cfg_t *cfg);

/** Wipe the stored password.  Thread: owner. */
void store_rds_conn_deinit(store_rds_conn_t *c);

/**
 * Connect (connect_timeout_ms), set send/receive timeouts (command_timeout_ms), enable TCP
 * keepalive, AUTH when a password is set, SELECT when db != 0.
 * @param err    Set on failure: -ECONNREFUSED, -ETIMEDOUT, ... (socket), TG_EREDIS (AUTH or
 *               SELECT refused), -ENOMEM.
 * @param errbuf One-line reason on failure ("redis 127.0.0.1:1: connect: Connection refused").
 * @return A context the caller frees with redisFree(), or NULL.  Thread: the caller's.
 */
redisContext *store_rds_conn_open(const store_rds_conn_t *c, int *err, char *errbuf, size_t len);

#endif

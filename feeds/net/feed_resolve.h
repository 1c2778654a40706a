/* SPDX-License-Identifier: MIT */
/*
 * Transport helpers of feed_conn: URL parsing (ws, wss, http, https) and a resolver thread
 * that runs getaddrinfo() off the lws service thread (libwebsockets 4.1 has no async DNS; a
 * hostname given to lws_client_connect_via_info() would block every connection of the loop).
 *
 * Thread: feed_url_parse() any. A resolver is created/destroyed by its owner thread
 * (main or the feed thread); feed_resolve_submit()/feed_resolve_poll() belong to the owner
 * (feed:<loop>); the worker thread only touches the job queue under the resolver's mutex.
 */
#ifndef FEED_RESOLVE_H
#define FEED_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

#define FEED_HOST_MAX 256
#define FEED_PATH_MAX 1024
#define FEED_ADDR_MAX 64 /* numeric IPv4/IPv6 text */

/** A parsed URL. */
typedef struct feed_url {
    bool tls;                 /* wss:// or https:// */
    bool ws;                  /* ws:// or wss:// (else http/https) */
    int port;                 /* explicit or scheme default */
    char host[FEED_HOST_MAX]; /* without brackets for IPv6 literals */
    char path[FEED_PATH_MAX]; /* starts with '/', includes the query */
} feed_url_t;

/**
 * Parse "scheme://host[:port][/path]".
 * @return 0, or TG_ECONFIG (unknown scheme, empty host, bad port, too long).  Thread: any.
 */
int feed_url_parse(feed_url_t *u, const char *url);

/** Is the host a numeric IPv4/IPv6 address (no lookup needed)?  Thread: any. */
bool feed_host_is_numeric(const char *host);

typedef struct feed_resolver feed_resolver_t;

/** Called from the resolver's worker thread after each finished job (e.g. to wake the lws
 *  service with lws_cancel_service()). Must be thread-safe. */
typedef void (*feed_resolve_wake_fn)(void *ctx);

/** @return 0, -ENOMEM, or -errno from pthread_create.  Thread: owner. */
int feed_resolver_create(feed_resolver_t **out, feed_resolve_wake_fn wake, void *wake_ctx);
/** Stop and release: returns at once, even during a hanging lookup (the detached worker
 *  frees the rest when that lookup ends); no wake callback runs after it returns. NULL-safe. */
void feed_resolver_destroy(feed_resolver_t **r);

/**
 * Queue a lookup of host; the answer comes back through feed_resolve_poll() with the same key.
 * @return 0 or -EAGAIN (queue full; try again later).  Thread: owner.
 */
int feed_resolve_submit(feed_resolver_t *r, uint64_t key, const char *host);

/**
 * Take one finished lookup.
 * @param addr  Receives the numeric address (IPv4 preferred) when *err == 0.
 * @param err   0 or a negative code (-EHOSTUNREACH for a failed lookup).
 * @return true if a result was taken.  Thread: owner.
 */
bool feed_resolve_poll(feed_resolver_t *r, uint64_t *key, char addr[FEED_ADDR_MAX], int *err);

#endif

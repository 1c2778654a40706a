/* SPDX-License-Identifier: MIT */
/*
 * KuCoin connect step (feeds/venues/feed_kucoin.c): KuCoin's websocket URL is not fixed. A
 * client first POSTs https://api.kucoin.com/api/v1/bullet-public, which answers
 *   {"code":"200000","data":{"token":"...","instanceServers":[{"endpoint":"wss://...",
 *    "encrypt":true,"protocol":"websocket","pingInterval":18000,"pingTimeout":10000}]}}
 * and then connects to <endpoint>?token=<token>&connectId=<id>. These functions parse that
 * answer and build the URL; the transport calls feed_kucoin_on_bullet() before each connect
 * (docs/venues/kucoin.md, "Connect").
 * Thread: any for the pure functions; feed:kucoin for feed_kucoin_on_bullet().
 */
#ifndef FEED_KUCOIN_H
#define FEED_KUCOIN_H

#include <stddef.h>
#include <stdint.h>

#include "feeds/feed.h"

/** REST path of the public token request (POST, empty body). */
#define FEED_KUCOIN_BULLET_PATH "/api/v1/bullet-public"

/** What a bullet-public answer says (first instance server). */
typedef struct feed_kucoin_bullet {
    char token[1024];
    char endpoint[512];
    uint32_t ping_ms;         /* pingInterval: send {"type":"ping"} at least this often */
    uint32_t ping_timeout_ms; /* pingTimeout */
} feed_kucoin_bullet_t;

/**
 * Parse a bullet-public answer body (borrowed, not NUL-terminated).
 * @return 0; TG_EJSON (not JSON); TG_EPROTO (code other than "200000"); TG_EFIELD (token,
 *         endpoint or instanceServers missing, an endpoint that is not ws:// or wss://,
 *         text too long or with characters that cannot go into a URL).  Thread: any.
 */
int feed_kucoin_bullet_parse(const char *body, size_t len, feed_kucoin_bullet_t *out);

/**
 * The websocket URL "<endpoint>?token=<token>&connectId=<connect_id>" (a '&' instead of '?'
 * when the endpoint already has a query). @return 0 or -ENOSPC.  Thread: any.
 */
int feed_kucoin_connect_url(const feed_kucoin_bullet_t *b, const char *connect_id, char *url,
                            size_t cap);

/**
 * Pre-connect hook: the answer (status, body) to POST FEED_KUCOIN_BULLET_PATH on the venue's
 * REST host. Parses it, keeps the ping interval for on_tick, and writes the websocket URL to
 * connect to into url (cap bytes). Counts nothing in the frame counters (it is not a frame).
 * @return 0; TG_EPROTO (status != 200 or venue error); TG_EJSON/TG_EFIELD (bad answer);
 *         -ENOSPC.  Thread: feed:kucoin.
 */
int feed_kucoin_on_bullet(feed_handler_t *h, int status, const char *body, size_t len, char *url,
                          size_t cap);

#endif

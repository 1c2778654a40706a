/* SPDX-License-Identifier: MIT */
/*
 * REST pacing of one venue (one REST host): a token bucket of request weight and a cap on
 * requests in flight, shared by every connection of every feed loop that uses that host, and
 * the venue's own "slow down" (HTTP 429/418 with Retry-After), which stops the whole venue
 * until the time it gave.
 *
 * The venue's limit is a weight budget per minute (Binance: REQUEST_WEIGHT 6000/min on spot,
 * 2400/min on USD-M futures). To stay under it in any window of a minute, fixed or rolling,
 * the bucket refills at 90 % of the budget and holds at most 10 % of it: at most
 * 0.1 + 0.9 = 1.0 budget can be spent in any 60 s.
 *
 * Thread: any. A pacer from feed_rest_pace_get() lives until the process ends; every call
 * takes its mutex (REST requests are rare: a few per second at most).
 */
#ifndef FEED_REST_PACE_H
#define FEED_REST_PACE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "book/tg_stat.h"

#define FEED_REST_RETRY_DEFAULT_S 60 /* a 429/418 without a usable Retry-After: wait this */

typedef struct feed_rest_pace {
    pthread_mutex_t mu;
    char key[300];           /* venue name + REST host:port (immutable) */
    uint32_t weight_per_min; /* 0: no rate limit */
    uint32_t max_inflight;   /* 0: no limit */
    int64_t cap_mw;          /* bucket size, milli-weight */
    int64_t tokens_mw;       /* available now, milli-weight */
    int64_t refill_mono;     /* last refill (CLOCK_MONOTONIC ns) */
    int64_t blocked_until;   /* Retry-After: nothing is sent before (mono ns) */
    uint32_t inflight;
    /* counters (written under mu, read by anyone) */
    tg_stat_t sent, throttled, retry_waits;
} feed_rest_pace_t;

/** Set up a pacer (tests use one on the stack; the transport uses feed_rest_pace_get()).
 *  The bucket starts full. Thread: the caller's, before sharing it. */
void feed_rest_pace_init(feed_rest_pace_t *p, uint32_t weight_per_min, uint32_t max_inflight,
                         int64_t now_mono);

/**
 * May a request of this weight go now? Yes: its weight is taken and it counts in flight
 * until feed_rest_pace_done(). No: *wait_ns (if not NULL) says how long until it could
 * (0 when only the in-flight cap holds it: the next done() frees it).
 * A weight above the bucket size is charged the whole bucket (it waits for a full one).
 * @return true when it may be sent.
 */
bool feed_rest_pace_take(feed_rest_pace_t *p, uint32_t weight, int64_t now_mono, int64_t *wait_ns);

/** A request taken with feed_rest_pace_take() ended (any outcome). */
void feed_rest_pace_done(feed_rest_pace_t *p);

/** The venue said 429/418: nothing more before now + retry_after_s; the bucket empties.
 *  @return true when this moved the end of the wait (a new or longer wait). */
bool feed_rest_pace_retry_after(feed_rest_pace_t *p, uint32_t retry_after_s, int64_t now_mono);

/** Retry-After value (delay in seconds; an HTTP-date or garbage gives
 *  FEED_REST_RETRY_DEFAULT_S), capped at one hour. NULL or empty: the default. */
uint32_t feed_rest_pace_parse_retry_after(const char *v);

/**
 * The process-wide pacer of (venue, REST host:port): created on first use with these limits;
 * later callers get the same one (their limits are ignored). NULL when the table (64
 * entries) is full: the caller then sends unpaced.
 */
feed_rest_pace_t *feed_rest_pace_get(const char *venue, const char *hostport,
                                     uint32_t weight_per_min, uint32_t max_inflight);

#endif

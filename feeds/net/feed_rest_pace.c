/* SPDX-License-Identifier: MIT */
/* REST pacing per venue (feed_rest_pace.h). */
#include "feeds/net/feed_rest_pace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"

#define PACE_TABLE 64
#define MW_PER_W   1000 /* milli-weight per weight unit */

void feed_rest_pace_init(feed_rest_pace_t *p, uint32_t weight_per_min, uint32_t max_inflight,
                         int64_t now_mono)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    p->weight_per_min = weight_per_min;
    p->max_inflight = max_inflight;
    p->cap_mw = (int64_t)weight_per_min * MW_PER_W / 10; /* 10 % of the minute's budget */
    p->tokens_mw = p->cap_mw;
    p->refill_mono = now_mono;
    p->blocked_until = 0;
    p->inflight = 0;
}

/* Refill at 90 % of the budget: weight_per_min * 0.9 / 60 weight per second. */
static void refill(feed_rest_pace_t *p, int64_t now)
{
    if (now <= p->refill_mono)
        return;
    int64_t dt = now - p->refill_mono;
    int64_t add =
        (int64_t)((__int128)dt * p->weight_per_min * MW_PER_W * 9 / (10 * 60 * TG_NS_PER_SEC));
    if (add <= 0)
        return; /* keep refill_mono: the fraction accrues */
    p->tokens_mw += add;
    if (p->tokens_mw > p->cap_mw)
        p->tokens_mw = p->cap_mw;
    p->refill_mono = now;
}

bool feed_rest_pace_take(feed_rest_pace_t *p, uint32_t weight, int64_t now, int64_t *wait_ns)
{
    bool ok = false;
    int64_t wait = 0;
    pthread_mutex_lock(&p->mu);
    if (now < p->blocked_until) {
        wait = p->blocked_until - now;
    } else if (p->max_inflight && p->inflight >= p->max_inflight) {
        wait = 0;
    } else if (!p->weight_per_min) {
        ok = true;
    } else {
        refill(p, now);
        int64_t need = (int64_t)weight * MW_PER_W;
        if (need > p->cap_mw)
            need = p->cap_mw;
        if (p->tokens_mw >= need) {
            p->tokens_mw -= need;
            ok = true;
        } else {
            int64_t rate = (int64_t)p->weight_per_min * MW_PER_W * 9; /* mw per 600 s */
            wait = (int64_t)((__int128)(need - p->tokens_mw) * 600 * TG_NS_PER_SEC / rate) + 1;
        }
    }
    if (ok) {
        p->inflight++;
        TG_STAT_INC(p->sent);
    }
    pthread_mutex_unlock(&p->mu);
    if (wait_ns)
        *wait_ns = wait;
    return ok;
}

void feed_rest_pace_done(feed_rest_pace_t *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->inflight)
        p->inflight--;
    pthread_mutex_unlock(&p->mu);
}

bool feed_rest_pace_retry_after(feed_rest_pace_t *p, uint32_t retry_after_s, int64_t now)
{
    pthread_mutex_lock(&p->mu);
    int64_t until = now + (int64_t)retry_after_s * TG_NS_PER_SEC;
    bool moved = until > p->blocked_until;
    if (moved) {
        p->blocked_until = until;
        TG_STAT_INC(p->retry_waits);
    }
    TG_STAT_INC(p->throttled);
    p->tokens_mw = 0;
    if (p->refill_mono < p->blocked_until)
        p->refill_mono = p->blocked_until;
    pthread_mutex_unlock(&p->mu);
    return moved;
}

uint32_t feed_rest_pace_parse_retry_after(const char *v)
{
    if (!v || !*v)
        return FEED_REST_RETRY_DEFAULT_S;
    while (*v == ' ' || *v == '\t')
        v++;
    uint64_t s = 0;
    const char *d = v;
    for (; *d >= '0' && *d <= '9'; d++)
        if (s <= 3600)
            s = s * 10 + (uint64_t)(*d - '0');
    while (*d == ' ' || *d == '\t')
        d++;
    if (d == v || *d) /* not digits only: an HTTP-date or garbage */
        return FEED_REST_RETRY_DEFAULT_S;
    return s > 3600 ? 3600 : (uint32_t)s;
}

static feed_rest_pace_t g_pace[PACE_TABLE];
static size_t g_npace;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

feed_rest_pace_t *feed_rest_pace_get(const char *venue, const char *hostport,
                                     uint32_t weight_per_min, uint32_t max_inflight)
{
    char key[sizeof(g_pace[0].key)];
    snprintf(key, sizeof(key), "%s %s", venue ? venue : "", hostport ? hostport : "");
    feed_rest_pace_t *p = NULL;
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < g_npace && !p; i++)
        if (!strcmp(g_pace[i].key, key))
            p = &g_pace[i];
    if (!p && g_npace < PACE_TABLE) {
        p = &g_pace[g_npace++];
        feed_rest_pace_init(p, weight_per_min, max_inflight, tg_clock_mono_ns());
        memcpy(p->key, key, sizeof(key)); /* after init, which clears the struct */
    }
    pthread_mutex_unlock(&g_mu);
    return p;
}

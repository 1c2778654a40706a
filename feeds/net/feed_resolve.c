/* SPDX-License-Identifier: MIT */
/*
 * URL parsing and off-thread name resolution for feed_conn.
 *
 * DESIGN: one worker thread per resolver (one resolver per feed loop). The owner (the feed
 * thread) submits (key, host) jobs into a fixed queue under a mutex and signals a condition
 * variable; the worker runs getaddrinfo() without holding the mutex, stores the answer in the
 * job, and calls the wake callback (lws_cancel_service) so the service loop polls the answers.
 * The owner never waits on the worker. Shutdown never waits either (a lookup can hang for
 * the resolver's whole timeout): destroy sets `stop` under the mutex and drops its reference;
 * the detached worker drops the other one when it sees `stop` (after an in-flight lookup) and
 * the last one frees. The wake callback runs under the mutex, so once destroy has returned no
 * wake is running or will run (the lws context may then go).
 */
#include "feeds/net/feed_resolve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "book/tg_err.h"

int feed_url_parse(feed_url_t *u, const char *url)
{
    memset(u, 0, sizeof(*u));
    if (!url)
        return TG_ECONFIG;
    const char *p;
    if (strncmp(url, "wss://", 6) == 0) {
        u->tls = u->ws = true, u->port = 443, p = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        u->ws = true, u->port = 80, p = url + 5;
    } else if (strncmp(url, "https://", 8) == 0) {
        u->tls = true, u->port = 443, p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        u->port = 80, p = url + 7;
    } else {
        return TG_ECONFIG;
    }
    const char *hs = p, *he;
    if (*p == '[') { /* IPv6 literal */
        hs = p + 1;
        he = strchr(hs, ']');
        if (!he)
            return TG_ECONFIG;
        p = he + 1;
    } else {
        he = p + strcspn(p, ":/?");
        p = he;
    }
    size_t hl = (size_t)(he - hs);
    if (hl == 0 || hl >= sizeof(u->host))
        return TG_ECONFIG;
    memcpy(u->host, hs, hl);
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port <= 0 || port > 65535)
            return TG_ECONFIG;
        u->port = (int)port;
        p = end;
    }
    if (*p && *p != '/' && *p != '?')
        return TG_ECONFIG;
    int n = snprintf(u->path, sizeof(u->path), "%s%s", *p == '/' ? "" : "/", p);
    if (n < 0 || (size_t)n >= sizeof(u->path))
        return TG_ECONFIG;
    return 0;
}

bool feed_host_is_numeric(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

#define RESOLVE_JOBS 64

typedef struct rjob {
    uint64_t key;
    int state; /* 0 free, 1 queued, 2 running, 3 done */
    int err;
    char host[FEED_HOST_MAX];
    char addr[FEED_ADDR_MAX];
} rjob_t;

struct feed_resolver {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool stop;
    int refs; /* owner + worker; the last to leave frees */
    feed_resolve_wake_fn wake;
    void *wake_ctx;
    rjob_t jobs[RESOLVE_JOBS];
};

static int lookup(const char *host, char addr[FEED_ADDR_MAX])
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    if (!pick)
        pick = res;
    int rc = 0;
    const void *src = pick->ai_family == AF_INET
                          ? (const void *)&((const struct sockaddr_in *)pick->ai_addr)->sin_addr
                          : (const void *)&((const struct sockaddr_in6 *)pick->ai_addr)->sin6_addr;
    if (!inet_ntop(pick->ai_family, src, addr, FEED_ADDR_MAX))
        rc = -EHOSTUNREACH;
    freeaddrinfo(res);
    return rc;
}

static void resolver_free(feed_resolver_t *r)
{
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void *resolver_main(void *arg)
{
    feed_resolver_t *r = arg;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        rjob_t *j = NULL;
        while (!r->stop) {
            for (int i = 0; i < RESOLVE_JOBS && !j; i++)
                if (r->jobs[i].state == 1)
                    j = &r->jobs[i];
            if (j)
                break;
            pthread_cond_wait(&r->cv, &r->mu);
        }
        if (r->stop)
            break;
        char host[FEED_HOST_MAX], addr[FEED_ADDR_MAX] = {0};
        memcpy(host, j->host, sizeof(host));
        j->state = 2;
        pthread_mutex_unlock(&r->mu);
        int err = lookup(host, addr);
        pthread_mutex_lock(&r->mu);
        memcpy(j->addr, addr, sizeof(addr));
        j->err = err;
        j->state = 3;
        if (r->wake && !r->stop)
            r->wake(r->wake_ctx); /* under the mutex: see DESIGN */
    }
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last)
        resolver_free(r);
    return NULL;
}

int feed_resolver_create(feed_resolver_t **out, feed_resolve_wake_fn wake, void *wake_ctx)
{
    feed_resolver_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->wake = wake;
    r->wake_ctx = wake_ctx;
    r->refs = 2;
    int rc = pthread_create(&r->th, NULL, resolver_main, r);
    if (rc != 0) {
        resolver_free(r);
        return -rc;
    }
    pthread_detach(r->th);
    *out = r;
    return 0;
}

void feed_resolver_destroy(feed_resolver_t **rp)
{
    if (!rp || !*rp)
        return;
    feed_resolver_t *r = *rp;
    *rp = NULL;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_signal(&r->cv);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (last)
        resolver_free(r);
}

int feed_resolve_submit(feed_resolver_t *r, uint64_t key, const char *host)
{
    if (strlen(host) >= FEED_HOST_MAX)
        return -EINVAL;
    int rc = -EAGAIN;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < RESOLVE_JOBS; i++) {
        rjob_t *j = &r->jobs[i];
        if (j->state != 0)
            continue;
        j->key = key;
        j->err = 0;
        j->addr[0] = 0;
        snprintf(j->host, sizeof(j->host), "%s", host);
        j->state = 1;
        pthread_cond_signal(&r->cv);
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

bool feed_resolve_poll(feed_resolver_t *r, uint64_t *key, char addr[FEED_ADDR_MAX], int *err)
{
    bool got = false;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < RESOLVE_JOBS; i++) {
        rjob_t *j = &r->jobs[i];
        if (j->state != 3)
            continue;
        *key = j->key;
        *err = j->err;
        memcpy(addr, j->addr, FEED_ADDR_MAX);
        j->state = 0;
        got = true;
        break;
    }
    pthread_mutex_unlock(&r->mu);
    return got;
}

/* SPDX-License-Identifier: MIT */
/*
 * tickgate-sub: example subscriber for the Redis side of tickgate (docs/redis.md).
 *
 * It joins an instrument's streams consistently and reports every loss:
 *   1. SUBSCRIBE to the channels first (messages start queueing on that connection);
 *   2. GET the snapshot keys on a second connection and print them; each carries the sequence
 *      number of the message it mirrors;
 *   3. read the messages, skipping those numbered at or below what the snapshot already
 *      covered, and report any jump in the numbers as a gap (publisher coalescing under
 *      pressure, an outage, or this client falling behind).
 * Subscribing before the GET (rather than GET then SUBSCRIBE) closes the window in which a
 * message could be published between the two and silently missed.
 * A new "epoch" (publisher restart) resets the expected numbers and is reported.
 *
 * Usage: tickgate-sub [-u URL] [-p PREFIX] [-i INTERVAL]... [-n COUNT] [-q] VENUE SYMBOL
 * Thread: main only.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#include <jsmn.h>

#include "storage/redis/store_rds.h"
#include "storage/redis/store_rds_conn.h"

#define SUB_CH_MAX 8

typedef struct sub_chan {
    char channel[256];
    char key[256]; /* snapshot key mirroring this channel ("" if none) */
    uint64_t last; /* highest number applied */
    uint64_t epoch;
    uint64_t msgs, skipped, gaps, missing;
} sub_chan_t;

static volatile sig_atomic_t sub_stop;

static void on_signal(int s)
{
    (void)s;
    sub_stop = 1;
}

/* Value of a top-level numeric field, 0 if absent. */
static uint64_t json_u64(const char *js, size_t len, const char *key)
{
    jsmn_parser p;
    jsmntok_t t[512];
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, t, 512);
    size_t kl = strlen(key);
    for (int i = 1; i + 1 < n; i++) {
        if (t[i].type == JSMN_STRING && t[i].size == 1 && (size_t)(t[i].end - t[i].start) == kl &&
            memcmp(js + t[i].start, key, kl) == 0 && t[i + 1].type == JSMN_PRIMITIVE)
            return strtoull(js + t[i + 1].start, NULL, 10);
    }
    return 0;
}

/* Apply one numbered document to a channel's state; returns 1 to print, 0 to skip. */
static int sub_apply(sub_chan_t *c, const char *js, size_t len, int from_key)
{
    uint64_t seq = json_u64(js, len, "seq"), epoch = json_u64(js, len, "epoch");
    if (epoch != c->epoch) {
        if (c->epoch)
            fprintf(stderr, "# %s: publisher restarted (epoch %llu -> %llu): numbering resets\n",
                    c->channel, (unsigned long long)c->epoch, (unsigned long long)epoch);
        c->epoch = epoch;
        c->last = from_key ? seq : seq - 1;
        if (from_key)
            return 1;
    }
    if (from_key) {
        c->last = seq;
        return 1;
    }
    if (seq <= c->last) { /* already covered by the snapshot */
        c->skipped++;
        return 0;
    }
    if (seq != c->last + 1) {
        uint64_t miss = seq - c->last - 1;
        c->gaps++;
        c->missing += miss;
        fprintf(stderr, "# GAP %s: %llu message(s) missing (after %llu, got %llu)\n", c->channel,
                (unsigned long long)miss, (unsigned long long)c->last, (unsigned long long)seq);
    }
    c->last = seq;
    c->msgs++;
    return 1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: tickgate-sub [-u redis://[:password@]host:port[/db]] [-p PREFIX]\n"
            "                    [-i INTERVAL]... [-n COUNT] [-q] VENUE SYMBOL\n"
            "  joins the book, trades (and candle INTERVAL, e.g. 1m) streams of one instrument,\n"
            "  prints snapshots and messages, reports gaps in the sequence numbers.\n"
            "  The password may also come from REDISCLI_AUTH.\n");
}

int main(int argc, char **argv)
{
    const char *url = "redis://127.0.0.1:6379", *prefix = "tg";
    const char *ivl[SUB_CH_MAX];
    int n_ivl = 0, quiet = 0;
    long long count = -1;
    int opt;
    while ((opt = getopt(argc, argv, "u:p:i:n:qh")) != -1) {
        switch (opt) {
        case 'u':
            url = optarg;
            break;
        case 'p':
            prefix = optarg;
            break;
        case 'i':
            if (n_ivl < SUB_CH_MAX - 2)
                ivl[n_ivl++] = optarg;
            break;
        case 'n':
            count = atoll(optarg);
            break;
        case 'q':
            quiet = 1;
            break;
        default:
            usage();
            return opt == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 2) {
        usage();
        return 2;
    }
    const char *venue = argv[optind], *symbol = argv[optind + 1];

    sub_chan_t ch[SUB_CH_MAX];
    int n_ch = 0;
    memset(ch, 0, sizeof(ch));
    snprintf(ch[n_ch].channel, 256, "%s.book.%s.%s", prefix, venue, symbol);
    snprintf(ch[n_ch++].key, 256, "%s:book:%s:%s", prefix, venue, symbol);
    snprintf(ch[n_ch].channel, 256, "%s.trades.%s.%s", prefix, venue, symbol);
    snprintf(ch[n_ch++].key, 256, "%s:trade:%s:%s", prefix, venue, symbol);
    for (int i = 0; i < n_ivl; i++) {
        snprintf(ch[n_ch].channel, 256, "%s.candles.%s.%s.%s", prefix, ivl[i], venue, symbol);
        snprintf(ch[n_ch++].key, 256, "%s:candle:%s:%s:%s", prefix, ivl[i], venue, symbol);
    }

    store_rds_cfg_t cfg;
    store_rds_cfg_defaults(&cfg);
    cfg.url = url;
    store_rds_conn_t cc;
    char err[256];
    int rc = store_rds_conn_init(&cc, &cfg);
    if (rc) {
        fprintf(stderr, "tickgate-sub: bad URL %s\n", url);
        return 2;
    }
    redisContext *sub = store_rds_conn_open(&cc, &rc, err, sizeof(err));
    redisContext *get = sub ? store_rds_conn_open(&cc, &rc, err, sizeof(err)) : NULL;
    store_rds_conn_deinit(&cc);
    if (!sub || !get) {
        fprintf(stderr, "tickgate-sub: %s\n", err);
        redisFree(sub);
        return 1;
    }
    struct timeval forever = {0, 0};
    redisSetTimeout(sub, forever);

    /* 1. subscribe first */
    for (int i = 0; i < n_ch; i++)
        redisAppendCommand(sub, "SUBSCRIBE %s", ch[i].channel);
    for (int i = 0; i < n_ch; i++) {
        redisReply *r = NULL;
        if (redisGetReply(sub, (void **)&r) != REDIS_OK || !r || r->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "tickgate-sub: SUBSCRIBE failed: %s\n",
                    r && r->type == REDIS_REPLY_ERROR ? r->str : sub->errstr);
            freeReplyObject(r);
            return 1;
        }
        freeReplyObject(r);
    }
    /* 2. then the snapshots */
    for (int i = 0; i < n_ch; i++) {
        redisReply *r = redisCommand(get, "GET %s", ch[i].key);
        if (r && r->type == REDIS_REPLY_STRING) {
            sub_apply(&ch[i], r->str, r->len, 1);
            if (!quiet)
                printf("snapshot %s seq=%llu %s\n", ch[i].key, (unsigned long long)ch[i].last,
                       r->str);
        } else if (!quiet) {
            printf("snapshot %s: none (expired or never written)\n", ch[i].key);
        }
        freeReplyObject(r);
    }
    redisFree(get);
    fflush(stdout);

    /* 3. then the messages */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    long long seen = 0;
    while (!sub_stop && (count < 0 || seen < count)) {
        redisReply *r = NULL;
        if (redisGetReply(sub, (void **)&r) != REDIS_OK || !r) {
            if (!sub_stop)
                fprintf(stderr, "tickgate-sub: connection lost: %s\n", sub->errstr);
            break;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->str &&
            strcmp(r->element[0]->str, "message") == 0) {
            for (int i = 0; i < n_ch; i++) {
                if (strcmp(r->element[1]->str, ch[i].channel) != 0)
                    continue;
                if (sub_apply(&ch[i], r->element[2]->str, r->element[2]->len, 0) && !quiet)
                    printf("%s seq=%llu %s\n", ch[i].channel, (unsigned long long)ch[i].last,
                           r->element[2]->str);
                seen++;
                break;
            }
            if (!quiet)
                fflush(stdout);
        }
        freeReplyObject(r);
    }
    redisFree(sub);
    int lossy = 0;
    for (int i = 0; i < n_ch; i++) {
        fprintf(stderr,
                "# %s: %llu messages, %llu covered by the snapshot, %llu gaps, %llu missing\n",
                ch[i].channel, (unsigned long long)ch[i].msgs, (unsigned long long)ch[i].skipped,
                (unsigned long long)ch[i].gaps, (unsigned long long)ch[i].missing);
        lossy |= ch[i].gaps != 0;
    }
    return lossy ? 3 : 0;
}

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
 * All of that is libtickgate-client's (client/, docs/clients.md); this program only prints its
 * events, and since the library reconnects by itself a lost connection is reported and
 * followed by a re-join (the outage shows as gaps) instead of ending the program.
 *
 * Usage: tickgate-sub [-u URL] [-p PREFIX] [-i INTERVAL]... [-n COUNT] [-q] VENUE SYMBOL
 * Thread: main only.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tickgate/client.h>

#include "tools/common/tool_cli.h"

#define SUB_CH_MAX 8

/* What this program prints per channel; the join, holes and recovery are the library's. */
typedef struct sub_chan {
    char channel[256];
    char key[256];
    int key_seen; /* 1: its snapshot line was printed */
    uint64_t msgs, gaps, missing;
    uint64_t outage; /* holes found when re-joining after a lost connection (not exit 3) */
    uint64_t filled; /* messages recovered from the channel's Redis Stream */
    uint64_t lossy;  /* holes neither from an outage nor fully filled from the stream */
} sub_chan_t;

static volatile sig_atomic_t sub_stop;

static void on_signal(int s)
{
    (void)s;
    sub_stop = 1;
}

/* Print "none" for channels before `upto` whose key did not exist (the join's order). */
static void sub_print_missing_keys(sub_chan_t *ch, int upto, int quiet)
{
    for (int i = 0; i < upto; i++) {
        if (!ch[i].key_seen && !quiet)
            printf("snapshot %s: none (expired or never written)\n", ch[i].key);
        ch[i].key_seen = 1;
    }
}

#ifndef TICKGATE_VERSION
#define TICKGATE_VERSION "0.1.0"
#endif

static void usage(FILE *o)
{
    fprintf(o, "usage: tickgate-sub [-u redis://[:password@]host:port[/db]] [-p PREFIX]\n"
               "                    [-i INTERVAL]... [-n COUNT] [-q] VENUE SYMBOL\n"
               "       tickgate-sub --help | --version\n"
               "\n"
               "Joins the book, trades (and candle INTERVAL, e.g. 1m) streams of one instrument,\n"
               "prints snapshots and messages, reports gaps in the sequence numbers.\n"
               "\n"
               "  -u, --url URL          Redis server (default redis://127.0.0.1:6379), or a\n"
               "                         Redis Cluster: redis-cluster://host:port,host:port; the\n"
               "                         password may also come from REDISCLI_AUTH\n"
               "  -p, --prefix PREFIX    key and channel prefix of the gateway (default tg)\n"
               "  -i, --interval IVL     also follow candles of this interval (repeatable)\n"
               "  -n, --count N          stop after N messages\n"
               "  -q, --quiet            print only gaps and the summary\n"
               "  -V, --version          print the version\n"
               "  -h, --help             this text\n"
               "\n"
               "A lost connection (a Redis restart) is reported and re-joined with backoff.\n"
               "Exit codes: 0 ok, 1 connection failure at start, 2 usage error, 3 gaps seen\n"
               "(not counting those of a lost connection or filled from a stream).\n");
}

int main(int argc, char **argv)
{
    const char *url = "redis://127.0.0.1:6379", *prefix = "tg";
    const char *ivl[SUB_CH_MAX];
    int n_ivl = 0, quiet = 0;
    long long count = -1;
    int opt;
    static const struct option lopts[] = {
        {"url", required_argument, NULL, 'u'},      {"prefix", required_argument, NULL, 'p'},
        {"interval", required_argument, NULL, 'i'}, {"count", required_argument, NULL, 'n'},
        {"quiet", no_argument, NULL, 'q'},          {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    while ((opt = getopt_long(argc, argv, "u:p:i:n:qVh", lopts, NULL)) != -1) {
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
            return tool_cli_other(opt, "tickgate-sub", TICKGATE_VERSION, usage);
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    const char *venue = argv[optind], *symbol = argv[optind + 1];

    tg_client_cfg_t cfg;
    tg_client_cfg_defaults(&cfg);
    cfg.url = url;
    cfg.prefix = prefix;
    tg_client_t *cl = NULL;
    int rc = tg_client_create(&cl, &cfg);
    if (rc) {
        fprintf(stderr, "tickgate-sub: bad URL or prefix %s %s\n", url, prefix);
        return 2;
    }
    /* the names this program prints per channel: the library's (tagged on a Redis Cluster) */
    sub_chan_t ch[SUB_CH_MAX];
    int n_ch = 0;
    memset(ch, 0, sizeof(ch));
    for (int i = -2; i < n_ivl && rc == 0; i++, n_ch++) {
        unsigned k = i == -2   ? TG_CLIENT_SUB_BOOK
                     : i == -1 ? TG_CLIENT_SUB_TRADES
                               : TG_CLIENT_SUB_CANDLES;
        const char *iv = i >= 0 ? ivl[i] : NULL;
        rc =
            tg_client_name(cl, k, iv, venue, symbol, 0, ch[n_ch].channel, sizeof(ch[n_ch].channel));
        if (rc == 0)
            rc = tg_client_name(cl, k, iv, venue, symbol, 1, ch[n_ch].key, sizeof(ch[n_ch].key));
    }
    if (rc == 0)
        rc =
            tg_client_subscribe(cl, venue, symbol, TG_CLIENT_SUB_BOOK | TG_CLIENT_SUB_TRADES, NULL);
    for (int i = 0; i < n_ivl && rc == 0; i++)
        rc = tg_client_subscribe(cl, venue, symbol, TG_CLIENT_SUB_CANDLES, ivl[i]);
    if (rc) {
        fprintf(stderr, "tickgate-sub: bad venue, symbol or interval\n");
        tg_client_destroy(&cl);
        return 2;
    }
    /* 1. subscribe, 2. GET the snapshots, 3. the messages: all in the library */
    rc = tg_client_connect(cl);
    if (rc) {
        fprintf(stderr, "tickgate-sub: %s\n", tg_client_errstr(cl));
        tg_client_destroy(&cl);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    long long seen = 0;
    tg_client_event_t ev;
    while (!sub_stop && (count < 0 || seen < count)) {
        rc = tg_client_next(cl, &ev, 200);
        if (rc < 0) {
            fprintf(stderr, "tickgate-sub: %s\n", tg_client_errstr(cl));
            break;
        }
        if (rc == 0)
            continue;
        int i = 0;
        /* n_ch <= SUB_CH_MAX always; the second bound says so to GCC -O3, whose
         * -Wstringop-overread cannot see it through the option loop */
        while (i < n_ch && i < SUB_CH_MAX && strcmp(ch[i].channel, ev.channel) != 0)
            i++;
        sub_chan_t *c = i < n_ch ? &ch[i] : NULL;
        switch (ev.kind) {
        case TG_CLIENT_EV_HOLE:
            if (c) {
                c->gaps++;
                c->missing += ev.u.hole.missing;
                c->filled += ev.u.hole.filled;
                if (ev.u.hole.disconnected)
                    c->outage++;
                else if (ev.u.hole.source != TG_CLIENT_SRC_STREAM || !ev.u.hole.recovered)
                    c->lossy++;
            }
            fprintf(stderr, "# GAP %s: %llu message(s) missing (after %llu, got %llu)%s%s\n",
                    ev.channel, (unsigned long long)ev.u.hole.missing,
                    (unsigned long long)ev.u.hole.seq_after, (unsigned long long)ev.u.hole.seq_got,
                    ev.u.hole.source == TG_CLIENT_SRC_STREAM ? " filled from the stream" : "",
                    ev.u.hole.recovered ? "" : " (not recovered)");
            break;
        case TG_CLIENT_EV_EPOCH:
            fprintf(stderr, "# %s: publisher restarted (epoch %llu -> %llu): numbering resets\n",
                    ev.channel, (unsigned long long)ev.u.epoch_old, (unsigned long long)ev.epoch);
            break;
        case TG_CLIENT_EV_DISCONNECTED:
            fprintf(stderr, "# connection lost: %s; reconnecting\n", ev.text);
            break;
        case TG_CLIENT_EV_CONNECTED:
            sub_print_missing_keys(ch, n_ch, quiet);
            break;
        case TG_CLIENT_EV_BAD:
            fprintf(stderr, "# BAD %s: %s\n", ev.channel, ev.text);
            break;
        case TG_CLIENT_EV_TRADE_GAP: /* numbered on the channel, but no trade */
            fprintf(stderr,
                    "# TRADE GAP %s seq=%llu: the trades between ids %llu and %llu were "
                    "lost at the venue\n",
                    ev.channel, (unsigned long long)ev.seq,
                    (unsigned long long)ev.u.status.seq_last,
                    (unsigned long long)ev.u.status.seq_got);
            break;
        case TG_CLIENT_EV_BOOK:
        case TG_CLIENT_EV_TRADE:
        case TG_CLIENT_EV_CANDLE:
        case TG_CLIENT_EV_STATUS:
            if (!c)
                break;
            if (ev.from_key == 1) {
                sub_print_missing_keys(ch, i, quiet);
                c->key_seen = 1;
                if (!quiet)
                    printf("snapshot %s seq=%llu %.*s\n", c->key, (unsigned long long)ev.seq,
                           (int)ev.doc_len, ev.doc);
            } else {
                c->msgs++;
                seen++;
                if (!quiet)
                    printf("%s seq=%llu %.*s\n", c->channel, (unsigned long long)ev.seq,
                           (int)ev.doc_len, ev.doc);
            }
            break;
        default:
            break;
        }
        if (!quiet)
            fflush(stdout);
    }
    tg_client_counters_t ctr;
    tg_client_counters(cl, &ctr);
    tg_client_destroy(&cl);
    int lossy = 0;
    for (int i = 0; i < n_ch; i++) {
        fprintf(stderr,
                "# %s: %llu messages, %llu gaps, %llu missing, %llu filled from the stream, "
                "%llu gaps from connection losses\n",
                ch[i].channel, (unsigned long long)ch[i].msgs, (unsigned long long)ch[i].gaps,
                (unsigned long long)ch[i].missing, (unsigned long long)ch[i].filled,
                (unsigned long long)ch[i].outage);
        lossy |= ch[i].lossy != 0; /* a lost connection (the library re-joined) is not exit 3 */
    }
    fprintf(stderr, "# %llu message(s) covered by a snapshot, %llu reconnect(s)\n",
            (unsigned long long)ctr.skipped, (unsigned long long)ctr.reconnects);
    return lossy ? 3 : 0;
}

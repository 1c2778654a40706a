/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the REST answers a venue handler parses (venue->on_rest: book snapshots of
 * binance*, bitstamp, gate-io*, kucoin; trade-history pages of the trade backfill: binance*,
 * coinbase, okex, bitmex, bybit*; venue->on_connect_answer: KuCoin's bullet-public answer).
 * TG_FUZZ_VENUE=<id> (or the corpus subdirectory) selects the venue; TG_FUZZ_LIST=1 prints the ids
 * that take REST answers and exits.
 *
 * Input: lines; every line but the last is a websocket frame delivered first (so deltas are
 * buffered and snapshot requests made, as on a live connection), or FZ_RECONNECT (the
 * connection drops and opens again: trades before and after it make the handler ask for the
 * trades in between, corpus/rest/<venue>/backfill-*); the last line is the REST
 * body, delivered with status 200 to every request the handler made (on_open and the frames),
 * or to tag 0 when it made none, then as the connect answer where the venue has one.
 * Checked besides ASan/UBSan: frames as in fuzz_venue; after each answer the handler's events
 * end their message (TG_EVF_LAST) and are well-formed; a connect answer accepted writes a
 * NUL-terminated URL inside its buffer.
 */
#include <string.h>

#include "fuzz_feed.h"

static int takes_rest(const feed_venue_t *v)
{
    return v->on_rest != NULL || v->on_connect_answer != NULL;
}

int fz_subdir(const char *name)
{
    if (fz_feed_select(name) < 0 || !takes_rest(feed_venue_find(name)))
        return -1;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fz_feed_list(takes_rest);
    fz_feed_select_env("binance");
    if (!takes_rest(feed_venue_find(fz_feed_name))) {
        fprintf(stderr, "fuzz_rest: venue %s takes no REST answers\n", fz_feed_name);
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_sink_t s;
    feed_offline_t *o = fz_feed_open(&s);
    const char *end = (const char *)data + size;
    int64_t ts = 1700000000000000000;
    const char *p = fz_feed_lines(o, &s, (const char *)data, end, 1, &ts);
    size_t blen = (size_t)(end - p);
    char *body = malloc(blen ? blen : 1);
    memcpy(body, p, blen);
    if (o->venue->on_rest) {
        int n = s.n_tags ? s.n_tags : 1;
        uint64_t tags[FZ_MAX_REQS];
        memcpy(tags, s.tags, sizeof(tags));
        for (int i = 0; i < n; i++) {
            feed_rest(&o->h, s.n_tags ? tags[i] : 0, 200, body, blen, ts, ts);
            feed_flush(&o->h);
            FZ_CHECK(s.in_msg == 0, "%s: REST answer ended with %d events after the last LAST",
                     fz_feed_name, s.in_msg);
        }
    }
    if (o->venue->on_connect_answer) {
        char url[512];
        memset(url, 'x', sizeof(url));
        int rc = o->venue->on_connect_answer(&o->h, 200, body, blen, url, sizeof(url));
        if (rc >= 0)
            FZ_CHECK(memchr(url, 0, sizeof(url)) != NULL, "%s: connect URL not terminated",
                     fz_feed_name);
    }
    free(body);
    fz_feed_done();
    return 0;
}

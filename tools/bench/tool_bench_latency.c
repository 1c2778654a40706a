/* SPDX-License-Identifier: MIT */
/*
 * tickgate-bench-latency: the reference of the latency benchmark (docs/latency.md,
 * tools/bench/bench-latency.sh). The shortest honest path from a websocket frame to a Redis
 * acknowledgement on the same machine: one thread, one libwebsockets client context, one
 * blocking hiredis connection. Every received frame is PUBLISHed as it is (no parsing) with
 * pipelined hiredis: frames delivered by one lws service round are appended, written with one
 * write, and their replies read before the thread goes back to poll.
 *
 * It records, with the same clock and the same log-linear histograms as tickgate
 * (book/tg_hist.h), receive -> PUBLISH written and receive -> acknowledged, and prints
 * p50/p99/p99.9 in us as `ref <stage> <n> <p50> <p99> <p999>` lines.
 *
 * usage: tickgate-bench-latency --url ws[s]://127.0.0.1:PORT/PATH --redis-port P
 *            [--seconds S (10)] [--skip N (frames not measured at the start, 100)]
 *            [--channel NAME (bench.ref)] [--send TEXT (first message, "{}")]
 * Thread: main (single-threaded by design).
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_hist.h"
#include "tools/common/tool_lws.h"

#define MAX_INFLIGHT 65536

typedef struct ref {
    redisContext *rc;
    const char *channel;
    const char *send;
    bool sent, closed, err;
    char *msg;
    size_t len, cap;
    uint64_t frames, skip, published, acked;
    int64_t stamp[MAX_INFLIGHT]; /* receive stamp per PUBLISH in flight (0: not measured) */
    tg_hist_t written, ack;
} ref_t;

static ref_t g;
static volatile sig_atomic_t g_stop;

static void on_signal(int s)
{
    (void)s;
    g_stop = 1;
}

/* One complete frame: PUBLISH it (appended; written after the service round). */
static int on_frame(const char *buf, size_t len)
{
    int64_t t = tg_clock_mono_ns();
    g.frames++;
    if (g.published - g.acked >= MAX_INFLIGHT)
        return -1; /* cannot happen: replies are read every round */
    redisAppendCommand(g.rc, "PUBLISH %s %b", g.channel, buf, len);
    g.stamp[g.published % MAX_INFLIGHT] = g.frames > g.skip ? t : 0;
    g.published++;
    return 0;
}

/* Write what was appended, then read every reply (blocking; replies of one read share a
 * stamp, as in tickgate's publisher). */
static int flush_and_reap(void)
{
    if (g.published == g.acked)
        return 0;
    int done = 0;
    while (!done)
        if (redisBufferWrite(g.rc, &done) != REDIS_OK)
            return -EIO;
    int64_t tw = tg_clock_mono_ns();
    for (uint64_t i = g.acked; i < g.published; i++)
        if (g.stamp[i % MAX_INFLIGHT])
            tg_hist_add(&g.written, tw - g.stamp[i % MAX_INFLIGHT]);
    while (g.acked < g.published) {
        void *rep = NULL;
        if (redisGetReplyFromReader(g.rc, &rep) != REDIS_OK)
            return -EPROTO;
        if (!rep) {
            if (redisBufferRead(g.rc) != REDIS_OK)
                return -EIO;
            continue;
        }
        int64_t ta = tg_clock_mono_ns();
        freeReplyObject(rep);
        int64_t ts = g.stamp[g.acked % MAX_INFLIGHT];
        if (ts)
            tg_hist_add(&g.ack, ta - ts);
        g.acked++;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (g.sent)
            return 0;
        size_t n = strlen(g.send);
        unsigned char buf[LWS_PRE + 512];
        if (n > 512)
            n = 512;
        memcpy(buf + LWS_PRE, g.send, n);
        g.sent = true;
        return lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT) < 0 ? -1 : 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        bool first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi);
        if (first && last)
            return on_frame(in, len);
        if (first)
            g.len = 0;
        if (g.len + len > g.cap) {
            size_t cap = (g.len + len) * 2;
            char *nb = realloc(g.msg, cap);
            if (!nb)
                return -1;
            g.msg = nb;
            g.cap = cap;
        }
        memcpy(g.msg + g.len, in, len);
        g.len += len;
        return last ? on_frame(g.msg, g.len) : 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        fprintf(stderr, "bench-latency: connection error: %s\n", in ? (char *)in : "?");
        g.err = g.closed = true;
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        g.closed = true;
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"bench-latency", callback, 0, 1 << 16, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static lws_sorted_usec_list_t g_tick;
static struct lws_context *g_ctx;

/* Wakes the service loop every 100 ms so the run ends on time even without frames. */
static void on_tick(lws_sorted_usec_list_t *sul)
{
    lws_sul_schedule(g_ctx, 0, sul, on_tick, 100 * LWS_US_PER_MS);
}

static void print_hist(const char *stage, const tg_hist_t *h)
{
    printf("ref %s %llu %.1f %.1f %.1f\n", stage, (unsigned long long)TG_STAT_GET(h->count),
           (double)tg_hist_quantile_ns(h, 0.5) / 1e3, (double)tg_hist_quantile_ns(h, 0.99) / 1e3,
           (double)tg_hist_quantile_ns(h, 0.999) / 1e3);
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    int rport = 6379;
    double seconds = 10;
    g.skip = 100;
    g.channel = "bench.ref";
    g.send = "{}";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench-latency: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--url"))
            url = v;
        else if (!strcmp(a, "--redis-port"))
            rport = atoi(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--skip"))
            g.skip = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--channel"))
            g.channel = v;
        else if (!strcmp(a, "--send"))
            g.send = v;
        else {
            fprintf(stderr, "bench-latency: unknown option %s\n", a);
            return 2;
        }
        i++;
    }
    if (!url || seconds <= 0) {
        fprintf(stderr, "usage: tickgate-bench-latency --url ws[s]://127.0.0.1:PORT/PATH "
                        "--redis-port P [--seconds S] [--skip N] [--channel C] [--send TEXT]\n");
        return 2;
    }
    char ubuf[1024];
    snprintf(ubuf, sizeof(ubuf), "%s", url);
    const char *proto, *addr, *path;
    int port;
    if (lws_parse_uri(ubuf, &proto, &addr, &port, &path)) {
        fprintf(stderr, "bench-latency: bad url %s\n", url);
        return 2;
    }
    bool tls = !strcmp(proto, "wss");
    char pbuf[1024];
    snprintf(pbuf, sizeof(pbuf), "/%s", path);

    g.rc = redisConnect("127.0.0.1", rport);
    if (!g.rc || g.rc->err) {
        fprintf(stderr, "bench-latency: redis: %s\n", g.rc ? g.rc->errstr : "oom");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct lws_context *ctx = tool_lws_client_context(protocols, NULL, tls);
    if (!ctx)
        return 1;
    if (!tool_lws_connect(ctx, addr, port, pbuf, tls ? TOOL_LWS_TLS_LOOSE : 0, NULL)) {
        fprintf(stderr, "bench-latency: cannot connect to %s\n", url);
        return 1;
    }
    g_ctx = ctx;
    lws_sul_schedule(ctx, 0, &g_tick, on_tick, 100 * LWS_US_PER_MS);
    int64_t end = tg_clock_mono_ns() + (int64_t)(seconds * 1e9);
    int rc = 0;
    while (!g_stop && !g.closed && tg_clock_mono_ns() < end) {
        if (lws_service(ctx, 0) < 0)
            break;
        if ((rc = flush_and_reap()) < 0) {
            fprintf(stderr, "bench-latency: redis I/O failed: %s\n", g.rc->errstr);
            break;
        }
    }
    lws_sul_cancel(&g_tick);
    lws_context_destroy(ctx);
    printf("ref frames %llu\n", (unsigned long long)g.frames);
    print_hist("written", &g.written);
    print_hist("acked", &g.ack);
    redisFree(g.rc);
    free(g.msg);
    return rc < 0 || g.err ? 1 : 0;
}

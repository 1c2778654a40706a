/* SPDX-License-Identifier: MIT */
/*
 * Minimal lws websocket client used by the tickgate-replay tests and benchmark: n connections
 * in one context, each with its result struct as the wsi user data. Messages are reassembled
 * from fragments; the per-message cost when not collecting is a length update.
 * Thread: the caller's.
 */
#include "tool_replay_client.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/tg_grow.h"
#include "tools/common/tool_lws.h"

typedef struct run {
    const tool_replay_client_cfg_t *cfg;
    size_t open; /* connections not yet done */
    lws_sorted_usec_list_t tick;
    struct lws_context *ctx;
} run_t;

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void finish(run_t *run, tool_replay_client_res_t *r)
{
    if (r && !r->done) {
        r->done = true;
        run->open--;
    }
}

static int keep(tool_replay_client_res_t *r, const char *p, size_t len, int64_t t)
{
    if (tg_grow(&r->msgs, &r->cap_msgs, r->n_msgs + 1, sizeof(*r->msgs), 1024) < 0)
        return -ENOMEM;
    char *d = malloc(len + 1);
    if (!d)
        return -ENOMEM;
    memcpy(d, p, len);
    d[len] = 0;
    r->msgs[r->n_msgs++] = (tool_replay_client_msg_t){d, len, t};
    return 0;
}

static int on_receive(run_t *run, struct lws *wsi, tool_replay_client_res_t *r, const char *in,
                      size_t len)
{
    bool first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi);
    const char *msg = in;
    size_t mlen = len;
    if (!(first && last)) { /* fragmented: reassemble */
        if (first)
            r->cur_len = 0;
        if (tg_grow(&r->cur, &r->cur_cap, r->cur_len + len, 1, 4096) < 0)
            return -1;
        memcpy(r->cur + r->cur_len, in, len);
        r->cur_len += len;
        if (!last)
            return 0;
        msg = r->cur;
        mlen = r->cur_len;
    }
    int64_t t = now_us();
    if (!r->frames)
        r->t_first_us = t;
    r->t_last_us = t;
    r->frames++;
    r->bytes += mlen;
    if (r->n_sent == 0 && run->cfg->n_send > 0)
        r->frames_before_send++;
    if (run->cfg->collect && keep(r, msg, mlen, t) < 0)
        return -1;
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    run_t *run = lws_context_user(lws_get_context(wsi));
    tool_replay_client_res_t *r = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        r->connected = true;
        r->t_connect_us = now_us();
        if (run->cfg->n_send) {
            if (run->cfg->send_delay_ms > 0) {
                lws_set_timer_usecs(wsi, (lws_usec_t)run->cfg->send_delay_ms * 1000);
            } else {
                r->send_ready = true;
                lws_callback_on_writable(wsi);
            }
        }
        return 0;
    case LWS_CALLBACK_TIMER:
        r->send_ready = true;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        if (!r->send_ready || r->n_sent >= run->cfg->n_send)
            return 0;
        const char *m = run->cfg->send[r->n_sent];
        size_t n = strlen(m);
        unsigned char *b = malloc(LWS_PRE + n + 1);
        if (!b)
            return -1;
        memcpy(b + LWS_PRE, m, n);
        int w = lws_write(wsi, b + LWS_PRE, n, LWS_WRITE_TEXT);
        free(b);
        if (w < 0)
            return -1;
        if (++r->n_sent < run->cfg->n_send)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(run, wsi, r, in, len);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (r)
            r->close_status =
                len >= 2 ? (((const unsigned char *)in)[0] << 8) | ((const unsigned char *)in)[1]
                         : 1005;
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (r)
            r->conn_error = true;
        finish(run, r);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        finish(run, r);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"replay-client", callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_tick(lws_sorted_usec_list_t *sul)
{
    run_t *run = lws_container_of(sul, run_t, tick);
    lws_sul_schedule(run->ctx, 0, &run->tick, on_tick, 50 * LWS_US_PER_MS);
}

int tool_replay_client_run(const tool_replay_client_cfg_t *cfg, tool_replay_client_res_t *res,
                           size_t n)
{
    run_t run = {.cfg = cfg, .open = n};
    memset(res, 0, n * sizeof(*res));
    run.ctx = tool_lws_client_context(protocols, &run, cfg->tls);
    if (!run.ctx)
        return -EIO;
    for (size_t i = 0; i < n; i++) {
        res[i].close_status = -1;
        int ssl = cfg->tls ? TOOL_LWS_TLS_LOOSE | LCCSCF_ALLOW_INSECURE : 0;
        if (!tool_lws_connect(run.ctx, "127.0.0.1", cfg->port, cfg->path ? cfg->path : "/", ssl,
                              &res[i])) {
            res[i].conn_error = true;
            finish(&run, &res[i]);
        }
    }
    int64_t deadline = now_us() + (int64_t)(cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000) * 1000;
    lws_sul_schedule(run.ctx, 0, &run.tick, on_tick, 50 * LWS_US_PER_MS);
    while (run.open > 0 && now_us() < deadline)
        if (lws_service(run.ctx, 0) < 0)
            break;
    for (size_t i = 0; i < n; i++)
        if (!res[i].done)
            res[i].timed_out = true;
    lws_sul_cancel(&run.tick);
    lws_context_destroy(run.ctx);
    return 0;
}

void tool_replay_client_res_free(tool_replay_client_res_t *res)
{
    for (size_t i = 0; i < res->n_msgs; i++)
        free(res->msgs[i].data);
    free(res->msgs);
    free(res->cur);
    res->msgs = NULL;
    res->cur = NULL;
    res->n_msgs = res->cap_msgs = 0;
}

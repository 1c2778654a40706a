/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay serve internals shared by tool_replay_serve.c (websocket side, main loop)
 * and tool_replay_http.c (REST snapshots): server state and the per-connection session.
 * Thread: main.
 */
#ifndef TOOL_REPLAY_SERVE_H
#define TOOL_REPLAY_SERVE_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "tool_replay.h"

#define TOOL_REPLAY_RX_MAX (256 * 1024) /* largest client message accepted while gating */

typedef enum { SESS_NONE, SESS_WS, SESS_HTTP } sess_kind_t;
typedef enum { SS_NONE, SS_WAIT_SUB, SS_STREAM, SS_DONE } sess_state_t;

/** Per-connection state (lws per-session data). Thread: main. */
typedef struct sess {
    sess_kind_t kind;
    sess_state_t st;
    tool_replay_rec_t *rec;
    uint64_t id;  /* websocket connection number, from 1 */
    size_t n_sub; /* subscribe messages received */
    char *rx;     /* message being received while gating */
    size_t rx_len, rx_cap;
    size_t pos;    /* next frame index */
    size_t first;  /* frame index this pass started at (--resume: not 0 on the first pass) */
    unsigned pass; /* completed passes (--loop) */
    uint64_t sent; /* recorded frames sent (fault numbering) */
    int64_t pass_start_us, hold_until_us;
    uint32_t oversize_done; /* bit per fault index */
    /* --clone: the clones this connection subscribed to (want[N]), in order (wl), and the
       clone of the current frame sent next (ci) */
    uint8_t *want;
    unsigned *wl, n_wl, ci;
    /* --resume: frames sent before the recording's ('\n'-separated; Coinbase: a last_match
       per product, tool_replay_trades_cb_last) and how far they are sent */
    char *lead;
    size_t lead_len, lead_off;
    /* HTTP */
    const char *body;
    size_t body_len, body_off;
    char *owned; /* body allocated for this answer (trade history), freed when written */
} sess_t;

/** Server state. Thread: main. */
typedef struct tool_replay_srv {
    tool_replay_rec_t *recs;
    size_t n_recs;
    int port;
    bool tls, max, hold, progress, no_gate;
    int verbose;
    const char *cert, *key;
    double speed;
    double rate;   /* --rate: frames/s per connection; 0 = off */
    bool resume;   /* --resume: connections continue the recording where the last one stopped */
    bool no_lead;  /* --no-lead: no lead frames at a --resume reconnect (a venue without that
                      history) */
    uint64_t away; /* --resume N: frames published while nobody was connected (not sent) */
    unsigned loops, sub_timeout_ms, sub_settle_ms;
    unsigned clones;     /* --clone N (0: off) */
    unsigned trade_snap; /* --trade-snapshot N: Crypto.com's subscribe push at a reconnect */
    bool live_snapshots; /* --live-snapshots (tool_replay_live.c) */
    unsigned rest_429_left, rest_429_after_s; /* --rest-429 K:S: 429 + Retry-After for K GETs */
    tool_replay_fault_t faults[TOOL_REPLAY_FAULT_MAX];
    size_t n_faults;
    struct lws_context *ctx;
    unsigned char *buf, *junk; /* LWS_PRE + frame; LWS_PRE + oversize junk */
    size_t buf_cap;
    unsigned clients;
    uint64_t conns_total, frames, bytes, http_requests, faults_applied;
    int64_t start_us, last_us;
    uint64_t last_frames, last_bytes;
    lws_sorted_usec_list_t sul_progress;
} tool_replay_srv_t;

extern tool_replay_srv_t tool_replay__srv;

int64_t tool_replay__now_us(void);
/** Recording for a path (/rec/<name>...; any path with one recording). *rest = path after it. */
tool_replay_rec_t *tool_replay__route(const char *uri, const char **rest);
int tool_replay__http_request(struct lws *wsi, sess_t *s, const char *uri);
int tool_replay__http_writeable(struct lws *wsi, sess_t *s);
/* tool_replay_clone.c (--clone N) */
unsigned tool_replay__clone_scan(const tool_replay_rec_t *rec, const char *text, size_t len,
                                 uint8_t *want);
size_t tool_replay__clone_frame(const tool_replay_rec_t *rec, unsigned clone, const char *in,
                                size_t len, const char **out);
void tool_replay__clone_base(char *key);
/** A websocket connection's first frame index: 0, or with --resume where the last connection
 *  to rec stopped plus --resume's frames published while away (marked published). */
size_t tool_replay__resume_pos(tool_replay_rec_t *rec);

#endif

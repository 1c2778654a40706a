/* SPDX-License-Identifier: MIT */
/*
 * A minimal libwebsockets client for testing and benchmarking tickgate-replay: connects one or
 * more websockets to 127.0.0.1, optionally sends some text messages (subscribes) after a delay,
 * then counts (and optionally keeps) every message until the server closes, the connection
 * drops, or a timeout. Test/bench helper, not a feed client (that is feeds/feed_conn).
 * Thread: the caller's (runs its own lws context and service loop to completion).
 */
#ifndef TOOL_REPLAY_CLIENT_H
#define TOOL_REPLAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tool_replay_client_cfg {
    int port;
    const char *path;        /* e.g. "/rec/name"; NULL = "/" */
    bool tls;                /* wss, any certificate accepted */
    const char *const *send; /* texts to send once connected, in order */
    size_t n_send;
    int send_delay_ms; /* wait this long after connecting before sending */
    bool collect;      /* keep a copy of every message (else only count) */
    int timeout_ms;    /* give up after this long (default 30000) */
} tool_replay_client_cfg_t;

typedef struct tool_replay_client_msg {
    char *data; /* NUL-terminated copy */
    size_t len;
    int64_t t_us; /* arrival, CLOCK_MONOTONIC */
} tool_replay_client_msg_t;

typedef struct tool_replay_client_res {
    bool connected;
    bool conn_error;
    bool timed_out;
    int close_status;          /* from the server's close frame; -1: none (connection dropped) */
    size_t frames;             /* complete messages */
    uint64_t bytes;            /* payload bytes */
    size_t frames_before_send; /* messages that arrived before the first send */
    tool_replay_client_msg_t *msgs; /* if collect */
    size_t n_msgs, cap_msgs;
    int64_t t_connect_us, t_first_us, t_last_us;
    /* private */
    char *cur;
    size_t cur_len, cur_cap;
    size_t n_sent;
    bool done, send_ready;
} tool_replay_client_res_t;

/**
 * Run n connections at once with the same configuration, to completion.
 * @param res array of n results (zeroed by this call); free with tool_replay_client_res_free.
 * @return 0 (see each res for what happened), -ENOMEM, -EIO (no lws context).
 */
int tool_replay_client_run(const tool_replay_client_cfg_t *cfg, tool_replay_client_res_t *res,
                           size_t n);
void tool_replay_client_res_free(tool_replay_client_res_t *res);

#endif

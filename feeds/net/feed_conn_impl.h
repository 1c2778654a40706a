/* SPDX-License-Identifier: MIT */
/* Do not include directly: private to feed_conn.c / feed_loop.c /
 * feed_rest_client.c. Connection and loop state of
 * the websocket transport (see the DESIGN note in feed_conn.c) and the functions the two
 * files share.  Thread: feed:<loop> for everything unless a field says otherwise. */
#ifndef FEED_CONN_IMPL_H
#define FEED_CONN_IMPL_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>

#include "book/tg_worker.h"
#include "feeds/net/feed_conn.h"
#include "feeds/net/feed_resolve.h"

#define KIND_WS       0x57534b31u
#define KIND_REST     0x52534b31u
#define TXQ_MAX       256
#define REST_MAX      32
#define STABLE_NS     (10 * TG_NS_PER_SEC) /* open this long -> backoff exponent resets */
#define TICK_NS       TG_NS_PER_SEC
#define OVF_RETRY_US  1000                 /* overflow held: push it into the ring this often */
#define OVF_LINGER_NS TG_NS_PER_SEC        /* overflow empty this long: unmapped (episode ends) */
#define OVF_FINAL_NS  (500 * TG_NS_PER_MS) /* stop: held events wait this long for the ring */

enum { REST_FREE = 0, REST_INFLIGHT, REST_FAIL_PENDING };

struct feed_rest_pace;

/* A GET waiting for its turn (feed_rest_client.c): the venue's pacing, a free slot, the REST
 * host's address. */
typedef struct rest_pend {
    char *path; /* base path + the handler's path (malloc) */
    uint64_t tag;
    uint32_t gen;
} rest_pend_t;

typedef struct txmsg {
    unsigned char *buf; /* LWS_PRE bytes of headroom, then the payload */
    size_t len;
    bool ping;
} txmsg_t;

typedef struct rest_req {
    uint32_t kind; /* KIND_REST: first field, lws opaque user data */
    struct feed_conn *c;
    struct lws *wsi;
    int state;
    uint32_t gen;
    uint64_t tag;
    int status;
    bool done, overflow;
    bool pre;         /* the venue's connect step (POST connect_post) of generation gen */
    bool paced;       /* counted in flight by c->pace */
    uint32_t retry_s; /* Retry-After of a 429/418 answer */
    char *body;
    size_t len, cap;
    char path[FEED_PATH_MAX];
} rest_req_t;

struct feed_conn {
    uint32_t kind; /* KIND_WS: first field, lws opaque user data */
    feed_loop_t *loop;
    size_t idx;
    char name[64];
    const feed_venue_t *venue;
    feed_conn_cfg_t cfg; /* string fields point into the copies below */
    char *url_s, *rest_s, *ca_s, *symbols_csv;
    feed_url_t url, rurl;
    bool has_rest;
    char ws_addr[FEED_ADDR_MAX], rest_addr[FEED_ADDR_MAX];
    int resolving; /* answers outstanding for this generation */
    bool rest_addr_ok;
    struct lws_vhost *vh;
    struct lws *wsi;
    feed_handler_t h;
    feed_stats_t stats;
    feed_conn_tstats_t ts;
    uint32_t *instr;
    uint32_t *resync_seen; /* per instrument: builder request count already acted on */
    tg_event_t *evbuf;
    /* receive */
    char *rx;
    size_t rx_len, rx_cap;
    bool rx_skip, in_rx;
    /* send */
    txmsg_t txq[TXQ_MAX];
    uint32_t tx_head, tx_n;
    /* state (loop thread) */
    uint32_t gen, attempt;
    bool opened, want_close, got_frame;
    int64_t deadline, open_mono, last_frame_mono, last_rx_mono, ping_mono, next_tick;
    bool ping_out;
    bool gap_pending;
    bool gap_resync; /* events of a newer connection were dropped while gap_pending */
    uint32_t gap_next;
    uint32_t gap_gen; /* connection generation whose events overflowed */
    feed_ovf_t ovf;   /* events a full ring could not take yet (feed_ovf.h) */
    uint64_t rng;
    int64_t log_window;
    uint32_t log_count, log_suppressed;
    /* published for other threads */
    _Atomic int state;
    _Atomic int64_t since_ns, last_frame_ns;
    _Atomic uint32_t attempt_pub;
    rest_req_t rest[REST_MAX];
    /* REST queue (FIFO ring) and the venue's pacer (shared with other connections) */
    rest_pend_t *pend;
    uint32_t pend_head, pend_n, pend_cap;
    bool rest_pumping;
    struct feed_rest_pace *pace; /* NULL: unpaced (no REST host, or the pacer table full) */
    uint32_t rest_weight;        /* weight of one GET (venue->rest_weight, at least 1) */
};

struct feed_loop {
    feed_loop_cfg_t cfg;
    char name[32];
    feed_conn_t **conns;
    size_t n, cap;
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    const struct lws_extension *exts_deflate;
    feed_resolver_t *res;
    lws_sorted_usec_list_t sul;
    lws_sorted_usec_list_t osul; /* overflow retry, every OVF_RETRY_US while one is held */
    bool ovf_armed;              /* osul scheduled */
    tg_worker_t wk;              /* the "feed:<name>" thread (tg_worker.h) */
    bool started, joined, stopping;
};

int feed_conn__proto_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                              void *in, size_t len);
void feed_conn__loop_tick(lws_sorted_usec_list_t *sul);
int feed_conn__flush(void *ctx, const tg_event_t *ev, uint32_t n);
int feed_conn__send(void *tctx, const char *text, size_t len);
int feed_conn__rest_get(void *tctx, const char *path, uint64_t tag);
void feed_conn__reconnect(void *tctx, const char *why);
void feed_conn__hlog(void *ctx, int level, const char *msg);
void feed_conn__log(feed_conn_t *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void feed_conn__set_state(feed_conn_t *c, feed_conn_state_t s);
feed_conn_state_t feed_conn__get_state(const feed_conn_t *c);
bool feed_conn__push_gaps(feed_conn_t *c);
/* Shutdown: push the held overflow into the ring until deadline (mono ns), drop the rest
 * (counted in ev_dropped, logged). */
void feed_conn__ovf_final(feed_conn_t *c, int64_t deadline);
void feed_conn__tx_clear(feed_conn_t *c);
const char *feed_conn__host_header(char *buf, size_t cap, const feed_url_t *u);
/* lws client connect info of c to url u at the resolved address addr and path; hp (cap bytes,
 * FEED_HOST_MAX + 8) holds the Host header; user and pwsi: the wsi's user data and slot; TLS
 * (and tls_insecure's relaxations) as u and c->cfg say. */
void feed_conn__client_info(const feed_conn_t *c, struct lws_client_connect_info *ci,
                            const feed_url_t *u, const char *addr, const char *path, char *hp,
                            size_t cap, void *user, struct lws **pwsi);
void feed_conn__pre_answer(feed_conn_t *c, int status, const char *body, size_t len);

/* feed_rest_client.c: the REST client (snapshot GETs, the venue's connect step). */
int feed_rest__pre_start(feed_conn_t *c);
void feed_rest__finish(rest_req_t *r, int status);
int feed_rest__callback(rest_req_t *r, struct lws *wsi, enum lws_callback_reasons reason, void *in,
                        size_t len);
void feed_rest__pump(feed_conn_t *c);
void feed_rest__housekeep(feed_conn_t *c);
void feed_rest__setup(feed_conn_t *c);
void feed_rest__free(feed_conn_t *c);

#endif

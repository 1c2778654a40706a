/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client private state, shared by tg_client.c (channels, the rule, events, the
 * state machine) and tg_client_join.c (connections, SUBSCRIBE, SCAN, GET). Not installed.
 * Thread: owner of the tg_client_t.
 */
#ifndef TG_CLIENT_PRIV_H
#define TG_CLIENT_PRIV_H

#include <hiredis/hiredis.h>

#include "client/tg_client_int.h"
#include "client/tg_client_shm.h"
#include "storage/redis/rds_cluster.h"

#define TGC_SUBS_MAX 64
#define TGC_EVQ      16 /* power of two */

typedef struct tgc_sub {
    char venue[64], symbol[64], interval[16];
    unsigned kinds;
    bool pattern;
} tgc_sub_t;

typedef struct tgc_chan {
    char name[TGC_NAME_MAX];   /* channel */
    char key[TGC_NAME_MAX];    /* snapshot key */
    char stream[TGC_NAME_MAX]; /* {prefix}:stream:{kind}:[{interval}:]{venue}:{symbol} */
    char venue[64], symbol[64];
    tg_client_chan_kind_t kind;
    uint16_t slot;        /* cluster: hash slot of {venue:symbol} */
    int node;             /* index in nodes[] that serves it (0 on a single Redis; -1 unassigned) */
    uint64_t last, epoch; /* highest number applied, its epoch */
    uint64_t book_seq;    /* number of the document the held levels came from */
    bool joined;          /* has a baseline */
    bool pending;         /* a hole left the state incomplete: RECOVERED follows */
    uint64_t hole_seq;    /* number of the document whose hole was reported (stream recovery:
                             the document is applied again after the entries) */
    tg_client_book_t book;
    tg_client_candle_t candle;
} tgc_chan_t;

typedef enum { ST_IDLE, ST_JOINING, ST_UP, ST_DOWN } tgc_state_t;

/** One Redis server: the subscriber connection (its fd in the epoll set, read into buf) and
 *  the command connection. A single Redis is node 0; a cluster has one node per primary. */
typedef struct tgc_node {
    redisContext *sub, *cmd;
    char *buf; /* cfg.read_buffer bytes */
    size_t rpos, wpos;
    char host[RDS_CLUSTER_HOST_MAX]; /* cluster: the primary's address from the map */
    int port;
} tgc_node_t;

struct tg_client {
    tg_client_cfg_t cfg;
    char *url, *prefix;
    char control[TGC_NAME_MAX]; /* {prefix}.control: the publisher's hello */
    size_t control_len;
    tgc_url_t u;
    tgc_sub_t subs[TGC_SUBS_MAX];
    int n_subs;

    tgc_chan_t **chans; /* max_channels */
    uint32_t n_chans;
    uint32_t *hash; /* index + 1; 0 empty; open addressing */
    uint32_t hash_mask;

    tgc_node_t *nodes; /* RDS_CLUSTER_MAX_NODES (cluster) or 1; buffers allocated once */
    int n_nodes;       /* connected now */
    int n_bufs;        /* nodes with a buffer */
    int cur, idle;     /* ST_UP: node being read, nodes found idle in a row */
    unsigned burst;    /* frames taken from nodes[cur] in a row */
    bool cluster;
    rds_cluster_node_t seeds[16];
    int n_seeds;
    rds_cluster_map_t *map; /* cluster: slot -> primary, read at every connect */
    int epfd, tfd;
    tgc_state_t state;
    int backoff_ms;

    /* join in progress: channels whose key replies are to be applied */
    uint32_t join_i, join_n;
    redisReply **join_replies;
    bool join_after_loss;
    bool rechecking;        /* the join in progress is a key re-read on a hello (no CONNECTED) */
    redisReply *held_reply; /* reply an event points into (freed on the next call) */

    /* stream recovery in progress: XRANGE entries delivered one per step, then the document
     * that showed the hole is applied again (its frame or key reply was kept) */
    redisReply *rec_reply;
    size_t rec_i, rec_n;
    tgc_chan_t *rec_ch;

    tg_client_event_t q[TGC_EVQ];
    unsigned q_head, q_tail;
    tgc_doc_t doc;
    uint64_t epoch_seen; /* publisher epoch of the last document applied */
    tg_client_counters_t ctr;
    char errstr[256];
    char why[256];
    tgc_shm_t *shm; /* shm:// URL: every public call forwards to tg_client_shm.c */
};

/* tg_client.c */
int64_t tgc__now_ms(void);
void tgc__set_err(tg_client_t *c, const char *what, const char *detail);
/** Name of kind k (TG_CLIENT_SUB_*): the channel "{p}.book.{venue}.{symbol}" or (key) the
 *  snapshot key "{p}:book:{venue}:{symbol}"; on a cluster the instrument is the hash tag
 *  "{venue:symbol}" in both (docs/redis.md, "Names on a Redis Cluster"). */
int tgc__name(const tg_client_t *c, char *buf, size_t cap, bool key, unsigned k, const char *ivl,
              const char *venue, const char *symbol);
/** Channel state of a channel name (allocates once per channel); NULL if not ours or full. */
tgc_chan_t *tgc__chan_add(tg_client_t *c, const char *name, size_t n);
void tgc__join_free(tg_client_t *c);

/** The node serving a channel's commands (GET, XRANGE), or NULL while not connected. */
static inline redisContext *tgc__cmd_of(const tg_client_t *c, const tgc_chan_t *ch)
{
    return ch->node >= 0 && ch->node < c->n_nodes ? c->nodes[ch->node].cmd : NULL;
}

/* tg_client_join.c: each returns 0 or a negative errno (text in c->errstr) */
/** Connect, AUTH, SELECT with the configured timeouts (node n's address in cluster mode).
 *  NULL and *rc on failure. */
redisContext *tgc__conn_open(tg_client_t *c, const tgc_node_t *n, int *rc);
/** Cluster: read the slot map from a seed (or a primary of the last map). */
int tgc__cluster_map(tg_client_t *c);
/** Read more bytes of node n's subscriber connection: >0 read, 0 EAGAIN, <0 closed/error. */
int tgc__sub_read(tg_client_t *c, tgc_node_t *n);
/** Cluster: SSUBSCRIBE channels [from, n_chans) without waiting (their confirmations are
 *  skipped by the reader). */
int tgc__subscribe_new(tg_client_t *c, uint32_t from);
/** SUBSCRIBE/PSUBSCRIBE everything; wait for the confirmations (messages stay buffered). */
int tgc__join_subscribe(tg_client_t *c);
/** SCAN the keys of pattern subscriptions (creates their channels). */
int tgc__join_scan(tg_client_t *c);
/** Pipelined GET of every channel's key into c->join_replies. */
int tgc__join_get(tg_client_t *c);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Private to storage/redis/store_rds*.c: do not include from elsewhere. The publisher's state
 * (struct store_rds) and the functions its files share: store_rds.c (records, slots, the
 * thread, the lifecycle) and store_rds_pipe.c (pipelines, connections, the cluster map).
 *
 * A publisher has one pipeline (rds_pipe_t) per Redis it writes to: one for a single Redis,
 * one per primary on a Redis Cluster (docs/redis.md, "Publisher on a Redis Cluster"). Every
 * instrument's commands go to one pipeline (rds_inst_t.node), so each channel's messages stay
 * in order. A single Redis: one failure drops the connection. A cluster: `up` once every
 * primary was connected; then each pipeline fails and heals on its own (store_rds_pipe.c).
 *
 * Thread: writer:redis for everything here, except where a field says otherwise.
 */
#ifndef STORE_RDS_IMPL_H
#define STORE_RDS_IMPL_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "book/tg_worker.h"
#include "storage/redis/rds_cluster.h"
#include "storage/redis/store_rds_conn.h"
#include "storage/redis/store_rds.h"
#include "storage/redis/store_rds_backlog.h"
#include "storage/redis/store_rds_conn.h"
#include "storage/redis/store_rds_fmt.h"
#include "storage/redis/store_rds_lease.h"

#define RDS_IVL_MAX      6 /* distinct candle intervals */
#define RDS_CMD_MAX      (STORE_RDS_JSON_MAX + 3 * STORE_RDS_NAME_MAX)
#define RDS_MARKS        64         /* write marks for the round-trip histogram */
#define RDS_WINDOW_MAX   16         /* batches read per round while disconnected */
#define RDS_NO_NODE      0xffffu    /* rds_inst_t.node of a slot no primary serves */
#define RDS_REPLAY_MAX   (1u << 20) /* cluster: bytes of commands in flight kept per pipeline */
#define RDS_FL_REDO      0x80u      /* fl_kind: already sent again after a redirection */
#define RDS_HEAL_MAX_MS  400        /* cluster: longest wait between two map reads while healing */
#define RDS_SLOW_MS      200 /* cluster: a flush waits this long for a node, then goes on without */
#define RDS_FULL_SPARE   16  /* cluster: FIFO places kept for one record's commands (inst_up) */
#define RDS_WAIT         1   /* pipe_reap: replies still due, the wait allowed ran out */
#define RDS_FLUSH_ALL    (-1) /* store_rds__flush_wait: every reply, slow nodes too */
#define RDS_SLOW_POLL_NS (10 * 1000 * 1000LL) /* cluster: idle wake-up while a node is slow */

enum { SLOT_BOOK = 0, SLOT_TRADE = 1, SLOT_CANDLE0 = 2 };

typedef struct rds_slot {
    uint64_t seq;         /* channel number of the record held */
    int64_t touched_mono; /* local time of the last update */
    uint8_t valid;        /* holds a record */
    uint8_t dirty;        /* key not yet written */
    uint8_t pub;          /* message not yet published */
} rds_slot_t;

typedef struct rds_inst {
    store_rds_names_t names;
    uint16_t cslot; /* cluster hash slot of {venue:symbol} (every name of the instrument) */
    uint16_t node;  /* pipeline its commands go to (0 on a single Redis) */
    uint64_t seq_book, seq_trades, seq_candle[RDS_IVL_MAX];
    rds_slot_t slot[SLOT_CANDLE0 + RDS_IVL_MAX];
    store_rds_meta_t m_book, m_trade, m_candle[RDS_IVL_MAX]; /* seq filled when formatting */
    int64_t mono_book, mono_candle[RDS_IVL_MAX];             /* receive stamps (latency) */
    uint8_t lk_book, lk_candle[RDS_IVL_MAX];                 /* their BOOK_LAT_* classes */
    book_out_book_t book;
    book_out_trade_t trade;
    book_out_candle_t candle[RDS_IVL_MAX];
} rds_inst_t;

typedef struct rds_mark {
    uint64_t end; /* sent count when written */
    int64_t t;
} rds_mark_t;

/* One pipelined connection. */
typedef struct rds_pipe {
    redisContext *ctx;
    uint64_t sent, acked; /* commands appended / replied on this connection */
    uint64_t written;     /* sent count at the last write */
    int64_t *fl_mono;     /* receive stamp per command in flight (0: not a PUBLISH) */
    uint8_t *fl_kind;     /* BOOK_LAT_* class per command in flight (| RDS_FL_REDO) */
    uint64_t *fl_off;     /* cluster: position of each command in flight in rb */
    char *rb;             /* cluster: the last RDS_REPLAY_MAX bytes of commands (ring) */
    uint64_t rb_pos;      /* bytes appended to rb */
    bool restore;         /* cluster: a command refused (CLUSTERDOWN): restore when healed */
    bool slow;            /* cluster: replies late past RDS_SLOW_MS: flushes do not wait for it */
    bool slow_told;       /* cluster: this slow episode was logged (so is its end) */
    uint64_t bl_safe;     /* cluster: backlog position before which its XADDs all got in */
    rds_mark_t marks[RDS_MARKS];
    uint32_t mark_head, mark_n;
    char where[RDS_CLUSTER_HOST_MAX + 16]; /* "host:port" for messages (cluster mode) */
} rds_pipe_t;

struct store_rds {
    store_rds_cfg_t cfg; /* strings point into conn / prefix below */
    store_rds_conn_t conn;
    char prefix[24];
    tg_ring_t *ring;
    const tg_instr_reg_t *reg;
    tg_waiter_t waiter;
    tg_worker_t wk; /* the "writer:redis" thread; wk.owner: the thread that owns p now */
    store_rds_stats_t st;

    /* error text: written by writer:redis (or main before start), read by any */
    pthread_mutex_t err_mu;
    int err;
    char errstr[256];

    /* writer:redis only */
    uint64_t epoch;
    int64_t now; /* monotonic stamp of the current drain round */
    uint32_t n_inst;
    rds_inst_t *inst;
    int64_t ivl_ns[RDS_IVL_MAX];
    uint32_t n_ivl;
    uint32_t *dlist; /* dirty slots: instr << 4 | slot */
    uint32_t dlist_n, dlist_cap;
    bool up;          /* connected (cluster: every primary was; each pipe[i].ctx may fail) */
    rds_pipe_t *pipe; /* n_pipe_max of them; the first n_pipe are in use */
    int n_pipe, n_pipe_max;
    uint32_t fl_mask; /* FIFO size - 1 (per pipeline) */
    int64_t next_try, backoff_ms;
    uint64_t rng;
    uint32_t fails; /* consecutive failed connects */
    uint32_t reply_errs_logged;
    bool ever_connected;
    int final_err;
    char cmd[RDS_CMD_MAX];  /* the command being queued (store_rds_fmt_cmd) */
    char json[RDS_CMD_MAX]; /* a second command re-publishing the document in cmd */
    char name[STORE_RDS_NAME_MAX];
    /* streams (docs/redis.md, "Streams") */
    store_rds_backlog_t bl;           /* recent XADDs, re-sent after a reconnect */
    uint64_t epoch_ms;                /* first part of every entry ID: <epoch_ms>-<seq> */
    uint64_t lost_mark, dropped_mark; /* counters at the last connect (logged at the next) */
    char xadd[RDS_CMD_MAX + 256];
    char sname[STORE_RDS_NAME_MAX];
    /* redundant gateways: publish only while holding the lease (store_rds_lease.h) */
    bool lease_on;
    store_rds_lease_t lease;
    /* Redis Cluster (cfg.cluster set): seeds, the slot map, a refresh wanted */
    bool cluster;
    rds_cluster_node_t *seeds;
    int n_seeds;
    rds_cluster_map_t *map; /* nodes[i] is served by pipe[i] */
    uint16_t control_slot;  /* slot of {prefix}.control */
    uint32_t redirected;    /* MOVED/ASK/CLUSTERDOWN/TRYAGAIN replies since the last check */
    bool have_moved;        /* moved_to: the node a MOVED named, asked first for the map */
    rds_cluster_node_t moved_to;
    struct rds_heal *hj; /* the heal thread and its question/answer (store_rds_heal.c) */
    bool heal;           /* a pipeline down, a slot unserved or a MOVED: read the map again */
    int64_t heal_at, heal_backoff_ms;
    uint32_t heal_fails;
    char *redo; /* redirected commands to send again: rds_redo_t + bytes each */
    size_t redo_len;
};

/* A redirected command kept to be sent again (store_rds_pipe.c). */
typedef struct rds_redo {
    rds_cluster_node_t node; /* where: the MOVED/ASK target */
    uint32_t len;
    uint16_t slot;
    uint8_t ask, kind;
} rds_redo_t;

/* store_rds.c */
void store_rds__log(store_rds_t *p, int level, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Schedule the next connect after a jittered wait in [b/2, b] (b: the current backoff, then
 *  doubled up to backoff_max_ms). @return the wait in ms. */
int64_t store_rds__backoff(store_rds_t *p, int64_t now);

/** Instrument i moved to another pipeline: write its fresh keys there. */
void store_rds__restore_inst(store_rds_t *p, uint32_t i);
/** Pipeline `node` connected again: its instruments' fresh keys, its streams' backlog, a
 *  hello on the control channel. */
void store_rds__restore_node(store_rds_t *p, int node);

/* store_rds_pipe.c */

/** Allocate the pipelines (one, or RDS_CLUSTER_MAX_NODES in cluster mode). @return 0 or
 *  -ENOMEM.  Thread: main (create). */
int store_rds__pipes_init(store_rds_t *p);
void store_rds__pipes_deinit(store_rds_t *p);

/** Connect every pipeline (cluster: read the slot map first and route every instrument).
 *  @return 0 (up), or the error of the first failure (errbuf says why; nothing is open). */
int store_rds__connect(store_rds_t *p, char *errbuf, size_t len);
/** Cluster: read the slot map into p->map (from a MOVED's node, the seeds, the last map's
 *  primaries) without connecting the pipelines. @return 0 or a negative code (errbuf says). */
int store_rds__cluster_map(store_rds_t *p, char *errbuf, size_t len);
/** The connection settings of node n: the publisher's credentials, the node's address. */
void store_rds__node_conn(store_rds_conn_t *nc, const store_rds_conn_t *base,
                          const rds_cluster_node_t *n);

/** Drop every pipeline after a failure: commands in flight count as `lost`; the next
 *  connect is due at once. */
void store_rds__drop(store_rds_t *p, int err, const char *what);

/** Whether instrument I's pipeline is connected (its commands can be sent now). */
static inline bool store_rds__inst_up(const store_rds_t *p, const rds_inst_t *I)
{
    if (!p->up || I->node >= p->n_pipe || !p->pipe[I->node].ctx)
        return false;
    /* a slow node whose FIFO is (nearly) full takes nothing more: its records count as
     * dropped or coalesced, as while it is down, instead of the writer waiting for it */
    const rds_pipe_t *q = &p->pipe[I->node];
    return !q->slow || q->sent - q->acked + RDS_FULL_SPARE <= p->fl_mask;
}

/* store_rds_heal.c: map reads and connects off writer:redis */

#define RDS_CANDS_MAX (17 + RDS_CLUSTER_MAX_NODES) /* a MOVED's node, 16 seeds, the map's */

enum { RDS_HEAL_IDLE = 0, RDS_HEAL_ASKED = 1, RDS_HEAL_DONE = 2 };

/** A question for the heal thread: where to read the map, the primaries already connected. */
typedef struct rds_heal_ask {
    rds_cluster_node_t cand[RDS_CANDS_MAX];
    int n_cand;
    rds_cluster_node_t have[RDS_CLUSTER_MAX_NODES];
    int n_have;
} rds_heal_ask_t;

/** RDS_HEAL_IDLE (nothing asked, or no thread yet), _ASKED (being answered), _DONE (answer
 *  ready). Thread: writer:redis (all the store_rds__heal_* calls). */
int store_rds__heal_state(store_rds_t *p);
/** The question to fill (starts the heal thread on first use). @return NULL if it cannot be
 *  started (logged). State: IDLE. */
rds_heal_ask_t *store_rds__heal_question(store_rds_t *p);
/** Hand the question over: IDLE -> ASKED; the thread reads the map from the first candidate
 *  that serves one, then opens a connection to every primary of it serving slots and not in
 *  `have`, then DONE (and wakes writer:redis). */
void store_rds__heal_send(store_rds_t *p);
/** State DONE: the map read (NULL: none; *why says why). */
const rds_cluster_map_t *store_rds__heal_map(store_rds_t *p, const char **why);
/** State DONE: the connection opened to node n (the caller owns it now), or NULL (*why). */
redisContext *store_rds__heal_take(store_rds_t *p, const rds_cluster_node_t *n, const char **why);
/** State DONE -> IDLE: the connections not taken are closed. */
void store_rds__heal_clear(store_rds_t *p);
/** Stop and join the heal thread (an answer being made is cut short between two servers; one
 *  ready stays to be read), then, with free_all, release everything. Thread: writer:redis at
 *  its end, or main after it was joined. */
void store_rds__heal_stop(store_rds_t *p, bool free_all);

/* store_rds_pipe.c, for the heal thread too */

/** Candidates for a map read: a MOVED's node, the seeds, the last map's primaries. */
int store_rds__map_cands(store_rds_t *p, rds_cluster_node_t *cand);
/** Read the slot map from the first of cand that serves a complete one (partial: or one with
 *  slots unserved); wk: stop between two candidates when it is stopping. @return 0 or the
 *  last failure (errbuf says why). Thread: any (base is read-only after create). */
int store_rds__map_read(const store_rds_conn_t *base, const rds_cluster_node_t *cand, int n,
                        rds_cluster_map_t *m, bool partial, char *errbuf, size_t len,
                        tg_worker_t *wk);
/** A connection to node n with the publisher's settings. Thread: any. */
redisContext *store_rds__node_open(const store_rds_conn_t *base, const rds_cluster_node_t *n,
                                   int *err, char *errbuf, size_t len);
/** Cluster: a pipeline marked slow (store_rds_pipe.c). */
static inline bool store_rds__any_slow(const store_rds_t *p)
{
    for (int i = 0; i < p->n_pipe; i++)
        if (p->pipe[i].slow)
            return true;
    return false;
}
/** Flush as store_rds__flush, waiting up to wait_ns (cluster: for all the nodes together), or
 *  with RDS_FLUSH_ALL for every reply (each node at most command_timeout_ms). */
int store_rds__flush_wait(store_rds_t *p, uint64_t target, int64_t wait_ns);

/** Cluster, while up and p->heal is set, when due (paced): read the map again, re-route the
 *  instruments whose slot moved (store_rds__restore_inst), connect the pipelines down
 *  (store_rds__restore_node), then, when every slot is served, clear p->heal. */
void store_rds__heal(store_rds_t *p);

/** Free every pipeline without counting anything (after its replies were read). */
void store_rds__close(store_rds_t *p);

/** Append one formatted command to pipeline `node`. ts_mono > 0 marks a PUBLISH for the
 *  latency histogram. @return false when there is (no longer) a connection. */
bool store_rds__push(store_rds_t *p, int node, const char *cmd, size_t len, int64_t ts_mono,
                     int lk);

/** Write every pipeline, then read replies until at most `target` commands are in flight on
 *  each (then whatever has already arrived). Cluster: a node that fails is closed alone, and
 *  redirected commands are sent again (every reply read first). @return 0 or the error of
 *  the (first) connection that failed. */
int store_rds__flush(store_rds_t *p, uint64_t target);

/** Pipeline of a command already formatted in RESP (its first key: the XADD backlog); on a
 *  cluster -1 while its slot has no primary.  */
int store_rds__node_of_cmd(const store_rds_t *p, const char *cmd, size_t len);

/** Seed list -> slot map, for --check-config (store_rds_probe in cluster mode). */
int store_rds__cluster_probe(const store_rds_cfg_t *cfg, const store_rds_conn_t *cc, char *errbuf,
                             size_t len);

#endif

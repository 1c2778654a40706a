/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory publisher (store_shm.h): the [shm] sink's writer.
 *
 * DESIGN
 * Producer: the builder pushes book_out_t records into this sink's SPSC ring. Consumer: the
 * writer:shm thread (a tg_worker) peeks a batch, writes each record into the segment and
 * publishes it at once (release stores, no system call), then bumps wake_seq once per batch
 * and makes a FUTEX_WAKE only if a reader announced it sleeps (shm_layout.h tg_shm_wake).
 *  - BOOK record: the instrument's slot under its seqlock (lock odd, SHM_R2 fence, relaxed
 *    word stores, lock even with SHM_R3), then a BOOK notice in the ring naming the version.
 *  - GAP record: state, reason and generation in the slot (same seqlock), and a STATUS notice
 *    with the gap's numbers.
 *  - TRADE record: the instrument's trade count in its slot (relaxed, SHM_R4 orders it), then
 *    a TRADE entry.
 *  - CANDLE records are not taken (the sink's `takes` leaves them out); any that come are
 *    counted as skipped.
 * Ring entry at position pos: lock 2*pos+1, SHM_R5 fence, words, lock 2*pos+2 (SHM_R6), then
 * head = pos + 1 (SHM_R7). Readers never write the segment except the sleepers flag, so no
 * reader state can make the writer wait: the ring overwrites, readers detect it.
 * Ordering: the idle loop spins spin_ns on the ring, then sleeps on its tg_waiter (1 s
 * timeout: the heartbeat). Shutdown: tg_worker_stop -> the body drains the ring to empty and
 * returns; stop then marks the segment CLOSED (SHM_R8) and wakes every reader.
 *
 * Thread: main (create, start, stop, destroy); writer:shm (the body, owns the segment's
 * stores while running); any (stats).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "book/tg_clock.h"
#include "book/tg_own.h"
#include "book/tg_worker.h"
#include "storage/shm/shm_layout.h"
#include "storage/shm/store_shm.h"

struct store_shm {
    store_shm_cfg_t cfg;
    char name[256];
    tg_worker_t wk;
    tg_waiter_t waiter;
    tg_ring_t *ring;
    tg_shm_hdr_t *h; /* the mapping (read-write) */
    uint64_t size;
    uint32_t n_instr;
    uint64_t head;    /* writer's copy of h->head */
    uint64_t *trades; /* per instrument: trades written (writer's copies) */
    bool bad_logged;
    store_shm_stats_t st;
};

void store_shm_cfg_defaults(store_shm_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->name = "/tickgate";
    c->depth = 20;
    c->ring_entries = 65536;
    c->mode = 0640;
    c->unlink = true;
    c->spin_ns = 10000;
    c->batch = 256;
}

/* book_state_t (book_l2.h: RESYNCING 0, VALID 1, STALE 2, FAULT 3) -> TG_SHM_BOOK_* */
static uint64_t shm_state(uint8_t s)
{
    static const uint8_t map[] = {TG_SHM_BOOK_RESYNCING, TG_SHM_BOOK_VALID, TG_SHM_BOOK_STALE,
                                  TG_SHM_BOOK_FAULT};
    return s < sizeof(map) ? map[s] : 0;
}

/* ---- slot and entry writes (writer:shm, or the owner in synchronous use) --------------- */

static inline void wr(_Atomic uint64_t *w, uint64_t v)
{
    atomic_store_explicit(w, v, memory_order_relaxed);
}

/* Open a slot write: lock odd. @return the even lock value it had. */
static inline uint64_t slot_begin(tg_shm_slot_t *s)
{
    /* Relaxed: only the writer stores the lock. */
    uint64_t l = atomic_load_explicit(&s->lock, memory_order_relaxed);
    atomic_store_explicit(&s->lock, l + 1, memory_order_relaxed);
    /* SHM_R2: the odd lock is ordered before the word stores below; pairs with SHM_A3 in
     * tg_shm_slot_read() (a reader that saw any new word sees the lock changed). */
    atomic_thread_fence(memory_order_release);
    return l;
}

static inline void slot_end(tg_shm_slot_t *s, uint64_t l)
{
    /* SHM_R3: publishes the words; pairs with SHM_A2 in tg_shm_slot_read(). */
    atomic_store_explicit(&s->lock, l + 2, memory_order_release);
}

static inline uint64_t meta_of(uint64_t state, uint64_t reason, int8_t px, int8_t sz, uint64_t nb,
                               uint64_t na)
{
    return state | reason << 8 | (uint64_t)(uint8_t)px << 16 | (uint64_t)(uint8_t)sz << 24 |
           nb << 32 | na << 48;
}

/* Write ring entry `head` (w[0..TG_SHM_ENTRY_W)) and publish it. Every entry carries r's
 * three times and the publish time in w[5..8]: set here. */
static void entry_put(store_shm_t *p, uint64_t *w, const book_out_t *r, int64_t now)
{
    w[5] = (uint64_t)r->ts_exch;
    w[6] = (uint64_t)r->ts_recv;
    w[7] = (uint64_t)r->ts_mono;
    w[8] = (uint64_t)now;
    uint64_t pos = p->head;
    tg_shm_entry_t *e = tg_shm_entry(p->h, pos);
    atomic_store_explicit(&e->lock, 2 * pos + 1, memory_order_relaxed);
    /* SHM_R5: the odd lock before the words; pairs with SHM_A5 in tg_shm_entry_read(). */
    atomic_thread_fence(memory_order_release);
    for (unsigned k = 0; k < TG_SHM_ENTRY_W; k++)
        wr(&e->w[k], w[k]);
    /* SHM_R6: the entry is complete; pairs with SHM_A4 in tg_shm_entry_read(). */
    atomic_store_explicit(&e->lock, 2 * pos + 2, memory_order_release);
    p->head = pos + 1;
    /* SHM_R7: the entry (and a trade's count, SHM_R4) before the head; pairs with the
     * readers' acquire loads of head (SHM_A6 in client/tg_client_shm.c). */
    atomic_store_explicit(&p->h->head, p->head, memory_order_release);
}

/* A slot's three record times and its publish time (between slot_begin and slot_end). */
static void slot_times(tg_shm_slot_t *s, const book_out_t *r, int64_t now)
{
    wr(&s->w[TG_SHM_W_TEXCH], (uint64_t)r->ts_exch);
    wr(&s->w[TG_SHM_W_TRECV], (uint64_t)r->ts_recv);
    wr(&s->w[TG_SHM_W_TMONO], (uint64_t)r->ts_mono);
    wr(&s->w[TG_SHM_W_TPUB], (uint64_t)now);
}

static uint64_t entry_w0(unsigned kind, unsigned side, const book_out_t *r, const tg_instr_t *in)
{
    int8_t px = (int8_t)BOOK_OUT_PX_SCALE(r, in), sz = (int8_t)BOOK_OUT_SZ_SCALE(r, in);
    return kind | (uint64_t)(side & 0xffu) << 8 | (uint64_t)(uint8_t)px << 16 |
           (uint64_t)(uint8_t)sz << 24 | (uint64_t)r->instr << 32;
}

static void put_book(store_shm_t *p, const book_out_t *r, const tg_instr_t *in, int64_t now)
{
    const book_out_book_t *b = &r->u.book;
    tg_shm_slot_t *s = tg_shm_slot(p->h, r->instr);
    uint32_t depth = p->h->depth;
    uint64_t nb = b->n_bids < depth ? b->n_bids : depth, na = b->n_asks < depth ? b->n_asks : depth;
    if (nb > BOOK_OUT_DEPTH_MAX)
        nb = BOOK_OUT_DEPTH_MAX;
    if (na > BOOK_OUT_DEPTH_MAX)
        na = BOOK_OUT_DEPTH_MAX;
    uint64_t l = slot_begin(s);
    wr(&s->w[TG_SHM_W_GEN], b->generation);
    wr(&s->w[TG_SHM_W_XSEQ], b->seq);
    slot_times(s, r, now);
    wr(&s->w[TG_SHM_W_META], meta_of(shm_state(b->state), b->reason, BOOK_OUT_PX_SCALE(r, in),
                                     BOOK_OUT_SZ_SCALE(r, in), nb, na));
    wr(&s->w[TG_SHM_W_DEPTH], (uint64_t)b->depth_bids | (uint64_t)b->depth_asks << 32);
    _Atomic uint64_t *bw = &s->w[TG_SHM_SLOT_HDR_W], *aw = bw + 2u * depth;
    for (uint64_t k = 0; k < nb; k++) {
        wr(&bw[2 * k], (uint64_t)b->bids[k].price);
        wr(&bw[2 * k + 1], (uint64_t)b->bids[k].size);
    }
    for (uint64_t k = 0; k < na; k++) {
        wr(&aw[2 * k], (uint64_t)b->asks[k].price);
        wr(&aw[2 * k + 1], (uint64_t)b->asks[k].size);
    }
    slot_end(s, l);
    uint64_t w[TG_SHM_ENTRY_W] = {0};
    w[0] = entry_w0(TG_SHM_E_BOOK, 0, r, in);
    w[3] = b->generation;
    w[4] = (l + 2) / 2;
    entry_put(p, w, r, now);
    TG_STAT_INC(p->st.books);
}

static void put_gap(store_shm_t *p, const book_out_t *r, const tg_instr_t *in, int64_t now)
{
    const book_out_gap_t *g = &r->u.gap;
    tg_shm_slot_t *s = tg_shm_slot(p->h, r->instr);
    uint64_t state = shm_state(g->state), reason = 0x80u | g->reason;
    /* Relaxed: the writer reads its own last stores. */
    uint64_t meta = atomic_load_explicit(&s->w[TG_SHM_W_META], memory_order_relaxed);
    if (atomic_load_explicit(&s->lock, memory_order_relaxed) == 0) /* no book yet: its scales */
        meta = meta_of(0, 0, BOOK_OUT_PX_SCALE(r, in), BOOK_OUT_SZ_SCALE(r, in), 0, 0);
    meta = (meta & ~(uint64_t)0xffffu) | state | reason << 8;
    uint64_t l = slot_begin(s);
    wr(&s->w[TG_SHM_W_GEN], g->generation);
    slot_times(s, r, now);
    wr(&s->w[TG_SHM_W_META], meta);
    slot_end(s, l);
    uint64_t w[TG_SHM_ENTRY_W] = {0};
    w[0] = entry_w0(TG_SHM_E_STATUS, 0, r, in);
    w[1] = g->seq_last;
    w[2] = g->seq_got;
    w[3] = g->generation;
    w[4] = (l + 2) / 2;
    w[TG_SHM_E_W_N] = state | reason << 8;
    entry_put(p, w, r, now);
    TG_STAT_INC(p->st.statuses);
}

static void put_trade(store_shm_t *p, const book_out_t *r, const tg_instr_t *in, int64_t now)
{
    const book_out_trade_t *t = &r->u.trade;
    uint64_t n = ++p->trades[r->instr];
    /* SHM_R4: relaxed; the head's release (SHM_R7) after the entry orders it for readers
     * that join by loading head, then the counts (client/tg_client_shm.c join). */
    wr(&tg_shm_slot(p->h, r->instr)->trades, n);
    uint64_t w[TG_SHM_ENTRY_W] = {0};
    w[0] = entry_w0(TG_SHM_E_TRADE, t->side, r, in);
    w[1] = (uint64_t)t->price;
    w[2] = (uint64_t)t->size;
    w[3] = t->trade_id;
    w[4] = t->seq;
    w[TG_SHM_E_W_N] = n;
    entry_put(p, w, r, now);
    TG_STAT_INC(p->st.trades);
}

/* A record that cannot be published (its instrument or its kind unknown): counted, the
 * first one logged. */
static void drop_bad(store_shm_t *p, const book_out_t *r, bool bad_kind)
{
    TG_STAT_INC(p->st.bad_records);
    if (!p->bad_logged && bad_kind)
        tg_logf(p->cfg.log, p->cfg.log_ud, TG_LOG_ERROR,
                "record of unknown kind %u (instrument %u) not published", r->kind, r->instr);
    else if (!p->bad_logged)
        tg_logf(p->cfg.log, p->cfg.log_ud, TG_LOG_ERROR,
                "record for unknown instrument %u (kind %u) not published", r->instr, r->kind);
    p->bad_logged = true;
}

static void put(store_shm_t *p, const book_out_t *r, int64_t now)
{
    const tg_instr_t *in = r->instr < p->n_instr ? tg_instr_reg_get(p->cfg.reg, r->instr) : NULL;
    if (!in) {
        drop_bad(p, r, false);
        return;
    }
    switch (r->kind) {
    case BOOK_OUT_BOOK:
        put_book(p, r, in, now);
        break;
    case BOOK_OUT_GAP:
        put_gap(p, r, in, now);
        break;
    case BOOK_OUT_TRADE:
        put_trade(p, r, in, now);
        break;
    case BOOK_OUT_CANDLE:
        TG_STAT_INC(p->st.skipped);
        return;
    default:
        drop_bad(p, r, true);
        return;
    }
    int64_t vis = tg_clock_mono_ns();
    if (r->ts_mono > 0)
        tg_hist_add(&p->st.pub_lat, vis - r->ts_mono);
    if (r->ts_out > 0)
        tg_hist_add(&p->st.ring_lat, vis - r->ts_out);
}

/* After a batch: heartbeat, one wake_seq bump, a futex wake only for sleeping readers. */
static void batch_done(store_shm_t *p)
{
    atomic_store_explicit(&p->h->heartbeat_ns, tg_clock_mono_ns(), memory_order_relaxed);
    TG_STAT_INC(p->st.batches);
    int woke = tg_shm_wake(p->h);
    TG_STAT_SET(p->st.readers_sleeping, woke);
    if (woke)
        TG_STAT_INC(p->st.wakes);
}

void store_shm_push(store_shm_t *p, const book_out_t *recs, size_t n)
{
    TG_ASSERT_OWNER(&p->wk);
    int64_t now = tg_clock_mono_ns();
    for (size_t i = 0; i < n; i++)
        put(p, &recs[i], now);
    TG_STAT_ADD(p->st.records, n);
    batch_done(p);
}

/* ---- thread ---------------------------------------------------------------------------- */

static uint32_t drain(store_shm_t *p)
{
    uint32_t n = 0;
    const book_out_t *recs = tg_ring_spsc_peek(p->ring, &n);
    if (n == 0)
        return 0;
    if (n > p->cfg.batch)
        n = p->cfg.batch;
    int64_t now = tg_clock_mono_ns();
    for (uint32_t k = 0; k < n; k++)
        put(p, &recs[k], now);
    tg_ring_spsc_release(p->ring, n);
    TG_STAT_ADD(p->st.records, n);
    batch_done(p);
    return n;
}

static void shm_main(void *arg)
{
    store_shm_t *p = arg;
    for (;;) {
        /* WK_A1 (tg_worker.h): pairs with WK_R1 in store_shm_stop() -> tg_worker_stop(). */
        bool stopping = tg_worker_stopping(&p->wk);
        if (drain(p))
            continue;
        if (stopping)
            break; /* the ring is empty and stop was asked before it was found empty */
        if (tg_ring_spin(p->ring, p->cfg.spin_ns))
            continue;
        tg_waiter_prepare(&p->waiter);
        if (tg_ring_count(p->ring) || tg_worker_stopping(&p->wk)) {
            tg_waiter_cancel(&p->waiter);
            continue;
        }
        tg_waiter_wait(&p->waiter, TG_NS_PER_SEC);
        atomic_store_explicit(&p->h->heartbeat_ns, tg_clock_mono_ns(), memory_order_relaxed);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    return len >= 2 && len < 200 && n[0] == '/' && !strchr(n + 1, '/');
}

static void seterr(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* Map a new segment and write everything but the magic. @return 0 or -errno. */
static int seg_create(store_shm_t *p, char *err, size_t cap)
{
    const store_shm_cfg_t *c = &p->cfg;
    uint64_t dir_off = TG_SHM_CTL_SIZE;
    uint64_t slot_off = (dir_off + (uint64_t)p->n_instr * sizeof(tg_shm_dir_t) + 4095) & ~4095ull;
    uint32_t slot_size = tg_shm_slot_size(c->depth);
    uint64_t ring_off = (slot_off + (uint64_t)p->n_instr * slot_size + 4095) & ~4095ull;
    p->size = ring_off + (uint64_t)c->ring_entries * sizeof(tg_shm_entry_t);
    if (shm_unlink(p->name) == 0) /* a segment a previous run left: its readers keep theirs */
        tg_logf(p->cfg.log, p->cfg.log_ud, TG_LOG_INFO, "removed the stale segment %s", p->name);
    int fd = shm_open(p->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)c->mode);
    if (fd < 0) {
        int e = errno;
        seterr(err, cap, "shm_open %s: %s", p->name, strerror(e));
        return -e;
    }
    fchmod(fd, (mode_t)c->mode); /* the umask may have narrowed it */
    if (ftruncate(fd, (off_t)p->size) != 0) {
        int e = errno;
        seterr(err, cap, "ftruncate %s to %llu bytes: %s", p->name, (unsigned long long)p->size,
               strerror(e));
        close(fd);
        shm_unlink(p->name);
        return -e;
    }
    void *m = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED) {
        seterr(err, cap, "mmap %s: %s", p->name, strerror(e));
        shm_unlink(p->name);
        return -e;
    }
    p->h = m; /* ftruncate zero-filled it: every lock 0, head 0 */
    tg_shm_hdr_t *h = p->h;
    h->version = TG_SHM_VERSION;
    h->hdr_size = sizeof(tg_shm_hdr_t);
    h->dir_entry_size = sizeof(tg_shm_dir_t);
    h->slot_size = slot_size;
    h->entry_size = sizeof(tg_shm_entry_t);
    h->depth = c->depth;
    h->n_instr = p->n_instr;
    h->ring_cap = c->ring_entries;
    h->dir_off = dir_off;
    h->slot_off = slot_off;
    h->ring_off = ring_off;
    h->total_size = p->size;
    h->epoch = (uint64_t)tg_clock_realtime_ns();
    h->writer_pid = (int32_t)getpid();
    for (uint32_t i = 0; i < p->n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(c->reg, i);
        tg_shm_dir_t *d = tg_shm_dir(h, i);
        snprintf(d->venue, sizeof(d->venue), "%s", in->venue);
        snprintf(d->symbol, sizeof(d->symbol), "%s", in->symbol);
        d->instr = i;
        d->slot = i;
    }
    atomic_store_explicit(&h->heartbeat_ns, tg_clock_mono_ns(), memory_order_relaxed);
    atomic_store_explicit(&h->state, TG_SHM_ST_LIVE, memory_order_relaxed);
    /* SHM_R1: publishes the identity and the directory; pairs with SHM_A1 in tg_shm_check(). */
    atomic_store_explicit(&h->magic, TG_SHM_MAGIC, memory_order_release);
    return 0;
}

int store_shm_create(store_shm_t **out, const store_shm_cfg_t *cfg, char *err, size_t cap)
{
    if (!out || !cfg || !cfg->reg || !cfg->name || cfg->depth == 0 ||
        cfg->depth > TG_SHM_DEPTH_MAX || cfg->depth > BOOK_OUT_DEPTH_MAX ||
        cfg->ring_entries < TG_SHM_RING_MIN || cfg->ring_entries > TG_SHM_RING_MAX ||
        (cfg->ring_entries & (cfg->ring_entries - 1)) || cfg->batch == 0 || cfg->mode > 0777) {
        seterr(err, cap, "invalid settings (name, depth 1..20, ring_entries a power of two)");
        return -EINVAL;
    }
    if (strlen(cfg->name) >= 200) {
        seterr(err, cap, "name too long: %.40s...", cfg->name);
        return -ENAMETOOLONG;
    }
    if (!name_ok(cfg->name)) {
        seterr(err, cap, "name must be '/word' (one slash, at the start): '%s'", cfg->name);
        return -EINVAL;
    }
    uint32_t n = tg_instr_reg_count(cfg->reg);
    if (n > TG_SHM_MAX_INSTR) {
        seterr(err, cap, "%u instruments: the layout holds %u", n, TG_SHM_MAX_INSTR);
        return -E2BIG;
    }
    store_shm_t *p = calloc(1, sizeof(*p));
    if (!p) {
        seterr(err, cap, "out of memory");
        return -ENOMEM;
    }
    p->cfg = *cfg;
    snprintf(p->name, sizeof(p->name), "%s", cfg->name);
    p->cfg.name = p->name;
    p->ring = cfg->ring;
    p->n_instr = n;
    p->trades = calloc(n ? n : 1, sizeof(uint64_t));
    int rc = -ENOMEM;
    if (!p->trades) {
        seterr(err, cap, "out of memory");
        goto fail;
    }
    if ((rc = seg_create(p, err, cap)) < 0)
        goto fail;
    tg_waiter_init(&p->waiter);
    if (p->ring)
        tg_ring_set_waiter(p->ring, &p->waiter);
    tg_worker_cfg_t wc = {.name = "writer:shm", .main = shm_main, .arg = p, .waiter = &p->waiter};
    if ((rc = tg_worker_init(&p->wk, &wc)) < 0) {
        seterr(err, cap, "worker: %s", strerror(-rc));
        goto fail;
    }
    tg_logf(p->cfg.log, p->cfg.log_ud, TG_LOG_INFO,
            "segment %s: %u instruments, depth %u, %u ring entries, %llu bytes", p->name, n,
            cfg->depth, cfg->ring_entries, (unsigned long long)p->size);
    *out = p;
    return 0;
fail:
    if (p->h) {
        munmap(p->h, p->size);
        shm_unlink(p->name);
    }
    if (p->ring)
        tg_ring_set_waiter(p->ring, NULL);
    free(p->trades);
    free(p);
    return rc;
}

int store_shm_start(store_shm_t *p)
{
    TG_CHECK_ARG(p, -EINVAL);
    if (!p->ring)
        return -EINVAL;
    return tg_worker_start(&p->wk);
}

int store_shm_stop(store_shm_t *p)
{
    if (!p)
        return 0;
    tg_worker_stop(&p->wk); /* WK_R1: the stop request; shm_main sees it at WK_A1 */
    if (atomic_load_explicit(&p->h->state, memory_order_relaxed) != TG_SHM_ST_CLOSED) {
        /* SHM_R8: CLOSED after the last entry; readers load state with acquire (SHM_A7). */
        atomic_store_explicit(&p->h->state, TG_SHM_ST_CLOSED, memory_order_release);
        batch_done(p); /* wakes readers asleep on wake_seq so they see CLOSED */
    }
    return 0;
}

void store_shm_destroy(store_shm_t **pp)
{
    store_shm_t *p = tg_own_take(pp);
    if (!p)
        return;
    store_shm_stop(p);
    if (p->ring)
        tg_ring_set_waiter(p->ring, NULL);
    munmap(p->h, p->size);
    if (p->cfg.unlink)
        shm_unlink(p->name);
    free(p->trades);
    free(p);
}

const store_shm_stats_t *store_shm_stats(const store_shm_t *p)
{
    return &p->st;
}

uint64_t store_shm_size(const store_shm_t *p)
{
    return p->size;
}

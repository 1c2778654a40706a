/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client's shared-memory source: reads the segment a co-located gateway's [shm]
 * sink writes (layout and protocol: storage/shm/shm_layout.h, docs/shm.md) and delivers the
 * same events as the Redis source: books with state and generation, trades, status notices,
 * holes, publisher restarts (EPOCH), DISCONNECTED/CONNECTED.
 *
 * DESIGN
 * Mapping: the segment is mapped read-only, then its first page (the control page) is made
 * writable, because a reader that wants to sleep sets the `sleepers` flag there; nothing else
 * is ever written. Without write permission on the object it is mapped read-only and
 * blocking calls poll (50 us .. 1 ms naps) instead of sleeping on the futex.
 * Channels: at connect, every directory entry a subscription matches (fnmatch, the glob Redis
 * uses) becomes one channel per kind: book and trades, named as the Redis channels
 * ("<prefix>.book.<venue>.<symbol>"). They live in one array indexed by instrument id.
 * Join (and rejoin after an overrun): load head first (SHM_A6), then each channel's slot and
 * trade count. Trades counted then are "before the join" (an overrun: a hole of count - last
 * trades); every trade with a larger number is at a ring position >= that head, because the
 * writer stores the count before the head (SHM_R4 -> SHM_R7). Books read then are delivered
 * as from_key = 1 (a full snapshot); later BOOK notices with versions at or below it are
 * skipped. The join walks the channels a few per call so the event queue never overflows.
 * Ring: position pos < head is read under the entry's lock; a lock other than 2*pos+2, or
 * head - pos > capacity, is an overrun: the reader rejoins (books come back whole, holes
 * report the lost trades exactly). A BOOK notice makes the reader copy the slot (the newest
 * version: a reader that is behind skips straight to the latest book). Trade numbers are per
 * instrument, so a hole is reported on the channel it hit.
 * Liveness: when idle (at most every 200 ms) the reader checks the segment's state (CLOSED at
 * the gateway's stop, SHM_A7), the writer's pid and whether the name now names another
 * segment (a restarted gateway): then DISCONNECTED, and reopen with backoff; a new epoch is an
 * EPOCH event, then the join's books and CONNECTED.
 * Steady state allocates nothing: events point into the channel array.
 *
 * Thread: owner (one thread at a time); the only shared state is the segment.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/tg_client_shm.h"
#include "storage/shm/shm_layout.h"

#define SHM_SUBS_MAX 64
#define SHM_EVQ      16  /* power of two */
#define SHM_BATCH    256 /* ring entries read per call at most */

typedef struct shm_sub {
    char venue[64], symbol[64];
    unsigned kinds;
} shm_sub_t;

typedef struct shm_chan {
    unsigned kinds; /* TG_CLIENT_SUB_BOOK | TG_CLIENT_SUB_TRADES */
    char venue[TG_SHM_VENUE_MAX], symbol[TG_SHM_SYMBOL_MAX];
    char book_name[192], trades_name[192];
    uint32_t slot;
    uint64_t last_v; /* book: last slot version delivered */
    uint64_t last_n; /* trades: last trade number delivered (or covered by a hole) */
    bool has_book;
    tg_client_book_t book;
} shm_chan_t;

typedef enum { SS_IDLE, SS_UP, SS_DOWN } shm_state_t;

struct tgc_shm {
    char name[256], path[300], prefix[64];
    int connect_timeout_ms, backoff_min_ms, backoff_max_ms, backoff_ms;
    shm_sub_t subs[SHM_SUBS_MAX];
    int n_subs;
    shm_state_t state;

    tg_shm_hdr_t *h;
    uint64_t size;
    bool writable; /* control page writable: futex sleeps possible */
    ino_t ino;
    dev_t dev;
    uint64_t epoch, prev_epoch;
    int32_t pid;

    shm_chan_t *ch; /* n_instr, by instrument id; kinds == 0: not followed */
    uint32_t n_instr, n_followed;
    uint64_t pos;

    bool joining, join_hole, join_connected;
    uint32_t join_i;
    uint64_t join_head;

    int64_t next_check_ns, next_try_ns;
    tg_client_event_t q[SHM_EVQ];
    unsigned q_head, q_tail;
    tg_shm_book_t scratch;
    tg_client_counters_t ctr;
    char errstr[256], why[256];
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void set_err(tgc_shm_t *s, const char *fmt, const char *a, const char *b)
{
    snprintf(s->errstr, sizeof(s->errstr), fmt, a, b ? b : "");
}

bool tgc_shm_url(const char *url)
{
    return url && strncmp(url, "shm://", 6) == 0;
}

int tgc_shm_create(tgc_shm_t **out, const tg_client_cfg_t *cfg)
{
    const char *n = cfg->url + 6; /* "shm:///name" or "shm://name" */
    while (*n == '/')
        n++;
    if (!*n || strchr(n, '/') || strlen(n) > 200)
        return -EINVAL;
    tgc_shm_t *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    snprintf(s->name, sizeof(s->name), "/%s", n);
    snprintf(s->path, sizeof(s->path), "/dev/shm/%s", n);
    snprintf(s->prefix, sizeof(s->prefix), "%s", cfg->prefix ? cfg->prefix : "tg");
    s->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 1000;
    s->backoff_min_ms = cfg->backoff_min_ms > 0 ? cfg->backoff_min_ms : 50;
    s->backoff_max_ms =
        cfg->backoff_max_ms >= s->backoff_min_ms ? cfg->backoff_max_ms : s->backoff_min_ms;
    s->backoff_ms = s->backoff_min_ms;
    *out = s;
    return 0;
}

/* Unmap the segment; the channels (and their held books) stay until the next join. */
static void unmap(tgc_shm_t *s)
{
    if (s->h)
        munmap(s->h, s->size);
    s->h = NULL;
    s->joining = false;
}

void tgc_shm_destroy(tgc_shm_t **ps)
{
    if (!ps || !*ps)
        return;
    unmap(*ps);
    free((*ps)->ch);
    free(*ps);
    *ps = NULL;
}

int tgc_shm_subscribe(tgc_shm_t *s, const char *venue, const char *symbol, unsigned kinds)
{
    if (s->state != SS_IDLE)
        return -EBUSY;
    if (s->n_subs == SHM_SUBS_MAX)
        return -ENOSPC;
    shm_sub_t *u = &s->subs[s->n_subs++];
    snprintf(u->venue, sizeof(u->venue), "%s", venue);
    snprintf(u->symbol, sizeof(u->symbol), "%s", symbol);
    u->kinds = kinds & (TG_CLIENT_SUB_BOOK | TG_CLIENT_SUB_TRADES);
    return 0;
}

/* ---- mapping --------------------------------------------------------------------------- */

/* Open and check the segment once. @return 0, -ENOENT, -EAGAIN (being created), -EPROTO,
 * -EACCES, or another -errno. */
static int map_once(tgc_shm_t *s)
{
    bool writable = true;
    int fd = shm_open(s->name, O_RDWR | O_CLOEXEC, 0);
    if (fd < 0 && errno == EACCES) {
        writable = false;
        fd = shm_open(s->name, O_RDONLY | O_CLOEXEC, 0);
    }
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if ((uint64_t)st.st_size < TG_SHM_CTL_SIZE) {
        close(fd);
        return -EAGAIN; /* created, not yet sized */
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return -e;
    if (writable && mprotect(m, TG_SHM_CTL_SIZE, PROT_READ | PROT_WRITE) != 0)
        writable = false;
    int rc = tg_shm_check(m, (uint64_t)st.st_size);
    if (rc < 0) {
        munmap(m, (size_t)st.st_size);
        return rc;
    }
    s->h = m;
    s->size = (uint64_t)st.st_size;
    s->writable = writable;
    s->ino = st.st_ino;
    s->dev = st.st_dev;
    s->epoch = s->h->epoch;
    s->pid = s->h->writer_pid;
    return 0;
}

/* The old channel of venue/symbol (a previous segment's), NULL if none. */
static const shm_chan_t *old_chan(const shm_chan_t *old, uint32_t n, const shm_chan_t *c)
{
    for (uint32_t i = 0; i < n; i++)
        if (old[i].has_book && !strcmp(old[i].venue, c->venue) && !strcmp(old[i].symbol, c->symbol))
            return &old[i];
    return NULL;
}

/* Build the channels of the mapped segment from the subscriptions; held books of a previous
 * segment are kept (numbers restart in a new segment). @return 0 or -ENOMEM. */
static int build_chans(tgc_shm_t *s)
{
    uint32_t n = s->h->n_instr;
    shm_chan_t *old = s->ch;
    uint32_t n_old = s->n_instr;
    s->ch = calloc(n ? n : 1, sizeof(*s->ch));
    if (!s->ch) {
        s->ch = old;
        return -ENOMEM;
    }
    s->n_instr = n;
    s->n_followed = 0;
    for (uint32_t i = 0; i < n; i++) {
        const tg_shm_dir_t *d = tg_shm_dir(s->h, i);
        if (d->instr >= n || d->slot >= n)
            continue;
        shm_chan_t *c = &s->ch[d->instr];
        memcpy(c->venue, d->venue, sizeof(c->venue));
        memcpy(c->symbol, d->symbol, sizeof(c->symbol));
        c->venue[sizeof(c->venue) - 1] = c->symbol[sizeof(c->symbol) - 1] = 0;
        c->slot = d->slot;
        for (int k = 0; k < s->n_subs; k++)
            if (fnmatch(s->subs[k].venue, c->venue, 0) == 0 &&
                fnmatch(s->subs[k].symbol, c->symbol, 0) == 0)
                c->kinds |= s->subs[k].kinds;
        if (!c->kinds)
            continue;
        snprintf(c->book_name, sizeof(c->book_name), "%s.book.%s.%s", s->prefix, c->venue,
                 c->symbol);
        snprintf(c->trades_name, sizeof(c->trades_name), "%s.trades.%s.%s", s->prefix, c->venue,
                 c->symbol);
        s->n_followed +=
            (c->kinds & TG_CLIENT_SUB_BOOK ? 1 : 0) + (c->kinds & TG_CLIENT_SUB_TRADES ? 1 : 0);
        const shm_chan_t *o = old_chan(old, n_old, c);
        if (o) {
            c->book = o->book;
            c->has_book = true;
        }
    }
    free(old);
    return 0;
}

/* ---- events ---------------------------------------------------------------------------- */

static unsigned q_free(const tgc_shm_t *s)
{
    return SHM_EVQ - (s->q_tail - s->q_head);
}

static tg_client_event_t *ev_push(tgc_shm_t *s, tg_client_ev_kind_t kind, const shm_chan_t *c,
                                  tg_client_chan_kind_t ck)
{
    tg_client_event_t *e = &s->q[s->q_tail++ & (SHM_EVQ - 1)];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->chan_kind = c ? ck : TG_CLIENT_CH_NONE;
    e->channel = !c ? "" : ck == TG_CLIENT_CH_BOOK ? c->book_name : c->trades_name;
    e->venue = c ? c->venue : "";
    e->symbol = c ? c->symbol : "";
    e->epoch = c ? s->epoch : 0;
    e->text = "";
    return e;
}

static const char *reason_text(unsigned r)
{
    static const char *const gap[] = {"other", "sequence", "checksum",  "crossed", "reconnect",
                                      "stale", "resynced", "bad_event", "fault"};
    static const char *const book[] = {"other", "change", "interval", "state"};
    if (r & 0x80u)
        return (r & 0x7fu) < sizeof(gap) / sizeof(gap[0]) ? gap[r & 0x7fu] : "other";
    return r < sizeof(book) / sizeof(book[0]) ? book[r] : "other";
}

/* The reason's name into a 16-byte field (every name is shorter). */
static void reason_copy(char dst[16], unsigned r)
{
    const char *t = reason_text(r);
    size_t n = strlen(t);
    memcpy(dst, t, n + 1);
}

/* Slot copy -> the channel's held book. */
static void take_book(tgc_shm_t *s, shm_chan_t *c, const tg_shm_book_t *b)
{
    tg_client_book_t *k = &c->book;
    uint64_t meta = b->w[TG_SHM_W_META];
    int32_t px = (int8_t)(meta >> 16), sz = (int8_t)(meta >> 24);
    k->seq = b->version;
    k->epoch = s->epoch;
    k->state = (tg_client_state_t)(meta & 0xffu);
    k->generation = b->w[TG_SHM_W_GEN];
    k->exch_seq = b->w[TG_SHM_W_XSEQ];
    k->ts_exch = (int64_t)b->w[TG_SHM_W_TEXCH];
    k->ts_recv = (int64_t)b->w[TG_SHM_W_TRECV];
    k->depth_bids = (uint32_t)b->w[TG_SHM_W_DEPTH];
    k->depth_asks = (uint32_t)(b->w[TG_SHM_W_DEPTH] >> 32);
    k->n_bids = b->n_bids;
    k->n_asks = b->n_asks;
    for (uint32_t i = 0; i < b->n_bids; i++)
        k->bids[i] = (tg_client_level_t){{b->bids[i][0], px}, {b->bids[i][1], sz}};
    for (uint32_t i = 0; i < b->n_asks; i++)
        k->asks[i] = (tg_client_level_t){{b->asks[i][0], px}, {b->asks[i][1], sz}};
    reason_copy(k->reason, (unsigned)(meta >> 8) & 0xffu);
    c->last_v = b->version;
    c->has_book = true;
}

/* Read channel c's slot; deliver it when newer than what was delivered. hole: report the
 * versions skipped (a rejoin after an overrun). */
static void book_from_slot(tgc_shm_t *s, shm_chan_t *c, bool from_join, bool hole)
{
    const tg_shm_slot_t *slot = tg_shm_slot(s->h, c->slot);
    int r = tg_shm_slot_read(s->h, slot, TG_CLIENT_DEPTH_MAX, &s->scratch, 1000);
    /* still odd: the writer was preempted inside its write (yield to it), or died there
       (give up after 1 s) */
    for (int64_t end = 0; r < 0;) {
        int64_t now = mono_ns();
        if (!end)
            end = now + 1000000000;
        if (now >= end)
            break;
        sched_yield();
        r = tg_shm_slot_read(s->h, slot, TG_CLIENT_DEPTH_MAX, &s->scratch, 1000);
    }
    if (r == 0)
        return;
    if (r < 0) { /* a writer that died inside a slot write */
        s->ctr.bad++;
        tg_client_event_t *e = ev_push(s, TG_CLIENT_EV_BAD, c, TG_CLIENT_CH_BOOK);
        e->text = "slot still changing after 1 s";
        return;
    }
    if (s->scratch.version <= c->last_v)
        return;
    if (hole && c->has_book && s->scratch.version > c->last_v + 1) {
        tg_client_event_t *e = ev_push(s, TG_CLIENT_EV_HOLE, c, TG_CLIENT_CH_BOOK);
        e->seq = s->scratch.version;
        e->u.hole = (tg_client_hole_t){.missing = s->scratch.version - c->last_v - 1,
                                       .seq_after = c->last_v,
                                       .seq_got = s->scratch.version,
                                       .recovered = 1,
                                       .source = TG_CLIENT_SRC_SHM};
        s->ctr.holes++;
        s->ctr.missing += e->u.hole.missing;
    }
    take_book(s, c, &s->scratch);
    tg_client_event_t *e = ev_push(s, TG_CLIENT_EV_BOOK, c, TG_CLIENT_CH_BOOK);
    e->seq = c->last_v;
    e->from_key = from_join;
    e->u.book = &c->book;
    if (from_join)
        s->ctr.keys++;
    else
        s->ctr.messages++;
}

/* Start a join (hole = false) or a rejoin after an overrun (hole = true). */
static void join_start(tgc_shm_t *s, bool hole)
{
    /* SHM_A6: pairs with SHM_R7 (store_shm.c): every trade counted in a slot after this load
     * is either counted below or at a position >= join_head. */
    s->join_head = atomic_load_explicit(&s->h->head, memory_order_acquire);
    s->join_i = 0;
    s->joining = true;
    s->join_hole = hole;
}

/* Walk the join a few channels per call (the queue holds at most 3 events per channel). */
static void join_step(tgc_shm_t *s)
{
    while (s->join_i < s->n_instr && q_free(s) >= 3) {
        shm_chan_t *c = &s->ch[s->join_i++];
        if (c->kinds & TG_CLIENT_SUB_TRADES) {
            /* Relaxed: ordered after the head load by SHM_A6 (see join_start). */
            uint64_t n =
                atomic_load_explicit(&tg_shm_slot(s->h, c->slot)->trades, memory_order_relaxed);
            if (s->join_hole && n > c->last_n) {
                tg_client_event_t *e = ev_push(s, TG_CLIENT_EV_HOLE, c, TG_CLIENT_CH_TRADES);
                e->seq = n;
                e->u.hole = (tg_client_hole_t){
                    .missing = n - c->last_n, .seq_after = c->last_n, .seq_got = n};
                s->ctr.holes++;
                s->ctr.unrecovered++;
                s->ctr.missing += n - c->last_n;
            }
            if (n > c->last_n)
                c->last_n = n;
        }
        if (c->kinds & TG_CLIENT_SUB_BOOK)
            book_from_slot(s, c, true, s->join_hole);
    }
    if (s->join_i < s->n_instr || q_free(s) < 1)
        return;
    s->joining = false;
    s->pos = s->join_head;
    if (s->join_connected) {
        s->join_connected = false;
        ev_push(s, TG_CLIENT_EV_CONNECTED, NULL, TG_CLIENT_CH_NONE);
    }
}

/* One ring entry (already copied out). */
static void on_entry(tgc_shm_t *s, const uint64_t *w)
{
    unsigned kind = (unsigned)(w[0] & 0xffu);
    uint32_t instr = (uint32_t)(w[0] >> 32);
    if (instr >= s->n_instr || kind < TG_SHM_E_TRADE || kind > TG_SHM_E_STATUS) {
        s->ctr.bad++;
        ev_push(s, TG_CLIENT_EV_BAD, NULL, TG_CLIENT_CH_NONE)->text = "unknown ring entry";
        return;
    }
    shm_chan_t *c = &s->ch[instr];
    int32_t px = (int8_t)(w[0] >> 16), sz = (int8_t)(w[0] >> 24);
    if (kind == TG_SHM_E_TRADE) {
        uint64_t n = w[TG_SHM_E_W_N];
        if (!(c->kinds & TG_CLIENT_SUB_TRADES) || n <= c->last_n)
            return;
        if (n > c->last_n + 1) {
            tg_client_event_t *e = ev_push(s, TG_CLIENT_EV_HOLE, c, TG_CLIENT_CH_TRADES);
            e->seq = n;
            e->u.hole = (tg_client_hole_t){
                .missing = n - c->last_n - 1, .seq_after = c->last_n, .seq_got = n};
            s->ctr.holes++;
            s->ctr.unrecovered++;
            s->ctr.missing += e->u.hole.missing;
        }
        c->last_n = n;
        tg_client_event_t *e = ev_push(s, TG_CLIENT_EV_TRADE, c, TG_CLIENT_CH_TRADES);
        unsigned side = (unsigned)(w[0] >> 8) & 0xffu;
        e->seq = n;
        e->u.trade = (tg_client_trade_t){.price = {(int64_t)w[1], px},
                                         .size = {(int64_t)w[2], sz},
                                         .side = side == 1   ? TG_CLIENT_SIDE_BUY
                                                 : side == 2 ? TG_CLIENT_SIDE_SELL
                                                             : TG_CLIENT_SIDE_UNKNOWN,
                                         .trade_id = w[3],
                                         .exch_seq = w[4],
                                         .ts_exch = (int64_t)w[5],
                                         .ts_recv = (int64_t)w[6]};
        s->ctr.messages++;
        return;
    }
    if (!(c->kinds & TG_CLIENT_SUB_BOOK))
        return;
    if (kind == TG_SHM_E_BOOK) {
        if (w[4] > c->last_v)
            book_from_slot(s, c, false, false);
        return;
    }
    /* STATUS: always a notice; the held book takes the state when the version is new */
    unsigned st = (unsigned)(w[TG_SHM_E_W_N] & 0xffu), reason = (unsigned)(w[TG_SHM_E_W_N] >> 8);
    if (w[4] > c->last_v) {
        c->book.state = (tg_client_state_t)st;
        c->book.generation = w[3];
        c->book.seq = w[4];
        c->last_v = w[4];
    }
    tg_client_event_t *e = ev_push(s, TG_CLIENT_EV_STATUS, c, TG_CLIENT_CH_BOOK);
    e->seq = w[4];
    e->u.status = (tg_client_status_t){.state = (tg_client_state_t)st,
                                       .generation = w[3],
                                       .seq_last = w[1],
                                       .seq_got = w[2],
                                       .ts_exch = (int64_t)w[5],
                                       .ts_recv = (int64_t)w[6]};
    reason_copy(e->u.status.reason, reason);
    s->ctr.messages++;
}

/* Read ring entries until an event is queued or the ring is drained. @return true if it
 * consumed anything or started a rejoin (progress: call again before sleeping). */
static bool read_ring(tgc_shm_t *s)
{
    /* SHM_A6: pairs with SHM_R7: entries below head are complete (or being overwritten,
     * which their lock shows). */
    uint64_t head = atomic_load_explicit(&s->h->head, memory_order_acquire);
    uint64_t w[TG_SHM_ENTRY_W];
    bool progress = false;
    for (int k = 0; k < SHM_BATCH && s->pos < head && q_free(s) >= 2; k++) {
        if (head - s->pos > s->h->ring_cap || tg_shm_entry_read(s->h, s->pos, w) < 0) {
            join_start(s, true); /* overrun: lapped by the writer */
            return true;
        }
        s->pos++;
        progress = true;
        s->ctr.bytes += sizeof(tg_shm_entry_t);
        on_entry(s, w);
        if (s->q_tail != s->q_head)
            break;
    }
    return progress;
}

/* ---- connection ------------------------------------------------------------------------ */

static void lost(tgc_shm_t *s, const char *why)
{
    snprintf(s->why, sizeof(s->why), "%s", why);
    snprintf(s->errstr, sizeof(s->errstr), "%s", why);
    s->prev_epoch = s->epoch;
    unmap(s);
    s->state = SS_DOWN;
    s->ctr.disconnects++;
    ev_push(s, TG_CLIENT_EV_DISCONNECTED, NULL, TG_CLIENT_CH_NONE)->text = s->why;
    s->backoff_ms = s->backoff_min_ms;
    s->next_try_ns = mono_ns() + (int64_t)s->backoff_ms * 1000000;
}

/* Is the segment still the live one? Called when idle, at most every 200 ms. */
static void check_alive(tgc_shm_t *s, int64_t now)
{
    if (now < s->next_check_ns)
        return;
    s->next_check_ns = now + 200 * 1000000LL;
    /* SHM_A7: pairs with SHM_R8 in store_shm_stop(): every entry is below head by now. */
    if (atomic_load_explicit(&s->h->state, memory_order_acquire) == TG_SHM_ST_CLOSED) {
        uint64_t head = atomic_load_explicit(&s->h->head, memory_order_acquire);
        if (s->pos >= head && !s->joining)
            lost(s, "the gateway closed the segment");
        return;
    }
    struct stat st;
    if (stat(s->path, &st) == 0 && (st.st_ino != s->ino || st.st_dev != s->dev)) {
        lost(s, "the segment was replaced (gateway restarted)");
        return;
    }
    if (s->pid > 0 && kill(s->pid, 0) != 0 && errno == ESRCH)
        lost(s, "the gateway process is gone");
}

static int open_and_join(tgc_shm_t *s, bool reconnect)
{
    int rc = map_once(s);
    if (rc < 0)
        return rc;
    if ((rc = build_chans(s)) < 0) {
        unmap(s);
        return rc;
    }
    s->state = SS_UP;
    s->next_check_ns = mono_ns() + 200 * 1000000LL;
    if (reconnect) {
        s->ctr.reconnects++;
        if (s->prev_epoch && s->prev_epoch != s->epoch) {
            s->ctr.epochs++;
            tg_client_event_t *e = ev_push(s, TG_CLIENT_EV_EPOCH, NULL, TG_CLIENT_CH_NONE);
            e->u.epoch_old = s->prev_epoch;
            e->epoch = s->epoch;
        }
    }
    s->join_connected = true;
    join_start(s, false);
    return 0;
}

int tgc_shm_connect(tgc_shm_t *s)
{
    if (s->n_subs == 0)
        return -EINVAL;
    if (s->state != SS_IDLE)
        return -EBUSY;
    int64_t end = mono_ns() + (int64_t)s->connect_timeout_ms * 1000000;
    for (;;) {
        int rc = open_and_join(s, false);
        if (rc == 0)
            return 0;
        if (rc != -EAGAIN || mono_ns() >= end) {
            set_err(s, "shm %.200s: %s", s->name,
                    rc == -EAGAIN   ? "still being created"
                    : rc == -EPROTO ? "a layout this library does not know"
                                    : strerror(-rc));
            return rc == -ENOENT ? -ECONNREFUSED : rc == -EAGAIN ? -ETIMEDOUT : rc;
        }
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
}

/* ---- next ------------------------------------------------------------------------------ */

/* @return true on progress (call again before waiting). */
static bool produce(tgc_shm_t *s)
{
    if (s->state == SS_DOWN) {
        int64_t now = mono_ns();
        if (now < s->next_try_ns)
            return false;
        int rc = open_and_join(s, true);
        if (rc < 0) {
            s->backoff_ms =
                s->backoff_ms * 2 > s->backoff_max_ms ? s->backoff_max_ms : s->backoff_ms * 2;
            s->next_try_ns = now + (int64_t)s->backoff_ms * 1000000;
            return false;
        }
    }
    if (s->joining) {
        join_step(s);
        return true;
    }
    return read_ring(s);
}

int tgc_shm_next(tgc_shm_t *s, tg_client_event_t *ev, int timeout_ms)
{
    if (!ev)
        return -EINVAL;
    if (s->state == SS_IDLE)
        return -ENOTCONN;
    int64_t end = -1, nap = 50000; /* the clock is read only when there is nothing to read */
    for (;;) {
        if (s->q_head != s->q_tail) {
            *ev = s->q[s->q_head++ & (SHM_EVQ - 1)];
            return 1;
        }
        uint32_t seen = 0;
        if (s->state == SS_UP)
            /* SHM_A8: pairs with SHM_S2's release side: a batch announced after this value
             * is either seen by read_ring below or changes wake_seq before the sleep. */
            seen = atomic_load_explicit(&s->h->wake_seq, memory_order_acquire);
        if (produce(s) || s->q_head != s->q_tail)
            continue;
        int64_t now = mono_ns();
        if (end < 0)
            end = timeout_ms < 0 ? INT64_MAX : now + (int64_t)timeout_ms * 1000000;
        if (s->state == SS_UP && !s->joining)
            check_alive(s, now);
        if (s->q_head != s->q_tail)
            continue;
        if (now >= end)
            return 0;
        int64_t left = end - now;
        if (s->state == SS_DOWN) {
            int64_t d = s->next_try_ns - now;
            d = d < left ? d : left;
            if (d > 0)
                nanosleep(&(struct timespec){d / 1000000000, (long)(d % 1000000000)}, NULL);
        } else if (s->writable) {
            int64_t d = left < 200000000 ? left : 200000000; /* liveness checks */
            tg_shm_wait(s->h, seen, d);
        } else {
            int64_t d = nap < left ? nap : left;
            nanosleep(&(struct timespec){0, (long)d}, NULL);
            nap = nap * 2 > 1000000 ? 1000000 : nap * 2;
        }
    }
}

const tg_client_book_t *tgc_shm_book(tgc_shm_t *s, const char *venue, const char *symbol)
{
    for (uint32_t i = 0; i < s->n_instr; i++) {
        const shm_chan_t *c = &s->ch[i];
        if (c->has_book && !strcmp(c->venue, venue) && !strcmp(c->symbol, symbol))
            return &c->book;
    }
    return NULL;
}

void tgc_shm_counters(const tgc_shm_t *s, tg_client_counters_t *out)
{
    *out = s->ctr;
    out->channels = s->n_followed;
}

const char *tgc_shm_errstr(const tgc_shm_t *s)
{
    return s->errstr;
}

/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's tap on the builder's output (see gw_tap.h).
 *
 * DESIGN
 * Writer: the book thread, through gw_tap_on_record() (a direct builder sink). Readers: the
 * metrics thread (JSON answers and gauges). No locks: the writer never waits for a reader.
 *  - Latest book per instrument: a seqlock. The writer makes seq odd, stores the record's
 *    words with relaxed atomic stores, makes seq even again; a reader copies the words with
 *    relaxed loads and keeps the copy only if seq was even and unchanged around it (retries
 *    up to 1024 times, yielding every 16, then reports the book as not published). Every word is an
 * atomic, so there is no data race for the C memory model or ThreadSanitizer.
 *  - Gap events: a ring of TAP_EVENTS slots, each a seqlock of its own, and a free-running
 *    write index (release on publish). Readers walk back from the index.
 *  - Gap counters per feed and reason: tg_stat_t, single writer.
 * The instrument -> feed map is built at create (the registry is immutable afterwards).
 */
#include "gw_tap.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_own.h"
#include "gw_json.h"

#define TAP_REASONS 9 /* 0 = other, BOOK_GAP_SEQUENCE .. BOOK_GAP_FAULT */
#define TAP_EVENTS  128
/* the part of a book_out_t a BOOK record uses, in 8-byte words */
#define TAP_BOOK_BYTES (offsetof(book_out_t, u) + sizeof(book_out_book_t))
#define TAP_WORDS      ((TAP_BOOK_BYTES + 7) / 8)
#define TAP_MAX_WORDS  ((sizeof(book_out_t) + 7) / 8) /* a whole record (gap events) */

/* One book's latest snapshot.  Thread: book writes, metrics reads (seqlock). */
typedef struct tap_slot {
    _Atomic uint32_t seq; /* odd while the book thread writes */
    _Atomic uint64_t w[TAP_WORDS];
} tap_slot_t;

/* One gap event.  Thread: book writes, metrics reads (seqlock). */
typedef struct tap_event {
    _Atomic uint32_t seq;
    _Atomic uint64_t w[TAP_MAX_WORDS];
} tap_event_t;

/* Per feed.  Thread: book writes (single writer), metrics reads. */
typedef struct tap_feed {
    const char *name, *venue;
    tg_stat_t gaps[TAP_REASONS];
    _Atomic int64_t offset_ns; /* ts_recv - ts_exch of its last record with an exchange time */
    _Atomic int have_offset;
} tap_feed_t;

struct gw_tap {
    const tg_instr_reg_t *reg;
    uint32_t n_instr, n_feeds;
    int32_t *feed_of; /* instrument id -> feed index, -1 if none */
    tap_slot_t *slots;
    tap_feed_t *feeds;
    tap_event_t ev[TAP_EVENTS];
    _Atomic uint64_t ev_next; /* events written so far (free-running) */
};

static const char *const reason_names[TAP_REASONS] = {
    "other", "sequence", "checksum",  "crossed", "reconnect",
    "stale", "resynced", "bad_event", "fault",
};

static const char *const state_names[] = {"RESYNCING", "VALID", "STALE", "FAULT"};

const char *gw_tap_gap_reason(unsigned reason)
{
    return reason < TAP_REASONS ? reason_names[reason] : reason_names[0];
}

static const char *state_name(unsigned st)
{
    return st < sizeof(state_names) / sizeof(state_names[0]) ? state_names[st] : "UNKNOWN";
}

int gw_tap_create(gw_tap_t **out, const tg_instr_reg_t *reg, const gw_tap_feed_t *feeds,
                  uint32_t n_feeds)
{
    if (!out || !reg || (n_feeds && !feeds))
        return -EINVAL;
    gw_tap_t *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->reg = reg;
    t->n_instr = tg_instr_reg_count(reg);
    t->n_feeds = n_feeds;
    t->feed_of = malloc((t->n_instr + 1) * sizeof(int32_t));
    t->slots = calloc(t->n_instr + 1, sizeof(tap_slot_t));
    t->feeds = calloc(n_feeds + 1, sizeof(tap_feed_t));
    if (!t->feed_of || !t->slots || !t->feeds) {
        gw_tap_destroy(&t);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < t->n_instr; i++)
        t->feed_of[i] = -1;
    for (uint32_t f = 0; f < n_feeds; f++) {
        t->feeds[f].name = feeds[f].name;
        t->feeds[f].venue = feeds[f].venue;
        int vid = tg_instr_reg_venue_id(reg, feeds[f].venue);
        for (uint32_t s = 0; vid >= 0 && s < feeds[f].n_symbols; s++) {
            const char *sym = feeds[f].symbols[s];
            int64_t id = tg_instr_reg_find(reg, vid, sym, strlen(sym));
            if (id >= 0 && (uint64_t)id < t->n_instr && t->feed_of[id] < 0)
                t->feed_of[id] = (int32_t)f;
        }
    }
    *out = t;
    return 0;
}

int gw_tap_create_cfg(gw_tap_t **out, const tg_instr_reg_t *reg, const gw_cfg_t *cfg)
{
    gw_tap_feed_t *f = calloc(cfg->n_feeds + 1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    for (uint32_t i = 0; i < cfg->n_feeds; i++)
        f[i] = (gw_tap_feed_t){.name = cfg->feeds[i].name,
                               .venue = cfg->feeds[i].venue,
                               .symbols = (const char *const *)cfg->feeds[i].symbols,
                               .n_symbols = cfg->feeds[i].n_symbols};
    int rc = gw_tap_create(out, reg, f, cfg->n_feeds);
    free(f);
    return rc;
}

void gw_tap_destroy(gw_tap_t **pt)
{
    gw_tap_t *t = tg_own_take(pt);
    if (!t)
        return;
    free(t->feed_of);
    free(t->slots);
    free(t->feeds);
    free(t);
}

book_sink_cfg_t gw_tap_sink(gw_tap_t *t)
{
    return (book_sink_cfg_t){.name = "dashboard",
                             .fn = gw_tap_on_record,
                             .ctx = t,
                             .kinds = BOOK_SINK_BOOK_CHANGE | BOOK_SINK_BOOK_INTERVAL |
                                      BOOK_SINK_BOOK_STATE | BOOK_SINK_GAP,
                             .lossless = false};
}

/* Seqlock write of n words.  Thread: book (the only writer). */
static void seq_write(_Atomic uint32_t *seq, _Atomic uint64_t *w, const void *src, size_t n)
{
    uint64_t tmp[TAP_MAX_WORDS];
    memcpy(tmp, src, n * 8);
    /* Relaxed: the book thread is the only writer of seq. */
    uint32_t s = atomic_load_explicit(seq, memory_order_relaxed);
    atomic_store_explicit(seq, s + 1, memory_order_relaxed);
    /* TP_R1: the odd seq is ordered before the word stores; pairs with TP_A2 in seq_read(). */
    atomic_thread_fence(memory_order_release);
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&w[i], tmp[i], memory_order_relaxed);
    /* TP_R2: publishes the words; pairs with TP_A1 in seq_read(). */
    atomic_store_explicit(seq, s + 2, memory_order_release);
}

/* Seqlock read of n words into dst. @return 1 with a consistent copy, 0 if never written or
 * still busy after a few tries.  Thread: any but book. */
static int seq_read(const _Atomic uint32_t *seq, const _Atomic uint64_t *w, void *dst, size_t n)
{
    uint64_t tmp[TAP_MAX_WORDS];
    for (int tries = 0; tries < 1024; tries++) {
        if (tries && tries % 16 == 0)
            sched_yield(); /* a busy writer: let it finish */
        /* TP_A1: pairs with TP_R2; the words below are at least as new as s1. */
        uint32_t s1 = atomic_load_explicit(seq, memory_order_acquire);
        if (s1 == 0)
            return 0;
        if (s1 & 1)
            continue;
        for (size_t i = 0; i < n; i++)
            tmp[i] = atomic_load_explicit(&w[i], memory_order_relaxed);
        /* TP_A2: pairs with TP_R1; a writer that started during the copy changed seq. */
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(seq, memory_order_relaxed) == s1) {
            memcpy(dst, tmp, n * 8);
            return 1;
        }
    }
    return 0;
}

int gw_tap_on_record(void *ctx, const book_out_t *rec)
{
    gw_tap_t *t = ctx;
    if (rec->instr >= t->n_instr)
        return 0;
    int32_t f = t->feed_of[rec->instr];
    if (f >= 0 && rec->ts_exch > 0) {
        /* Relaxed: a gauge; readers need no ordering with anything else. */
        atomic_store_explicit(&t->feeds[f].offset_ns, rec->ts_recv - rec->ts_exch,
                              memory_order_relaxed);
        atomic_store_explicit(&t->feeds[f].have_offset, 1, memory_order_relaxed);
    }
    if (rec->kind == BOOK_OUT_BOOK) {
        tap_slot_t *s = &t->slots[rec->instr];
        seq_write(&s->seq, s->w, rec, TAP_WORDS);
    } else if (rec->kind == BOOK_OUT_GAP) {
        if (f >= 0)
            TG_STAT_INC(t->feeds[f].gaps[rec->u.gap.reason < TAP_REASONS ? rec->u.gap.reason : 0]);
        /* Relaxed: the book thread is the only writer of ev_next. */
        uint64_t k = atomic_load_explicit(&t->ev_next, memory_order_relaxed);
        tap_event_t *e = &t->ev[k % TAP_EVENTS];
        seq_write(&e->seq, e->w, rec, sizeof(*rec) / 8);
        /* TP_R3: the slot is written before readers see the new count; pairs with TP_A3. */
        atomic_store_explicit(&t->ev_next, k + 1, memory_order_release);
    }
    return 0;
}

/* --- metrics ------------------------------------------------------------------------- */

static double offset_s(void *ud)
{
    const tap_feed_t *f = ud;
    /* Relaxed: a gauge (see gw_tap_on_record). */
    if (!atomic_load_explicit(&f->have_offset, memory_order_relaxed))
        return 0;
    return (double)atomic_load_explicit(&f->offset_ns, memory_order_relaxed) / 1e9;
}

int gw_tap_metrics(gw_tap_t *t, gw_metrics_t *m)
{
    int rc = 0;
    for (uint32_t f = 0; f < t->n_feeds && rc == 0; f++) {
        tap_feed_t *x = &t->feeds[f];
        char lb[256];
        for (unsigned r = 0; r < TAP_REASONS && rc == 0; r++) {
            snprintf(lb, sizeof(lb), "feed=\"%s\",venue=\"%s\",reason=\"%s\"", x->name, x->venue,
                     reason_names[r]);
            rc = gw_metrics_counter(m, "tickgate_feed_book_gaps_total", lb,
                                    "Gap records of the feed's books by reason (they add up to "
                                    "tickgate_book_gaps_total).",
                                    &x->gaps[r]);
        }
        snprintf(lb, sizeof(lb), "feed=\"%s\",venue=\"%s\"", x->name, x->venue);
        if (rc == 0)
            rc = gw_metrics_gauge_fn(m, "tickgate_feed_exchange_offset_seconds", lb,
                                     "Receive time minus exchange time of the feed's last "
                                     "published record: clock offsets plus network delay, or "
                                     "the age of replayed data.",
                                     offset_s, x);
    }
    return rc;
}

/* --- JSON answers -------------------------------------------------------------------- */

int gw_tap_arg(const char *args, const char *name, char *buf, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = args; p && *p;) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
            size_t o = 0;
            for (size_t i = nl + 1; i < len && o + 1 < cap; i++) {
                char c = p[i];
                if (c == '+')
                    c = ' ';
                else if (c == '%' && i + 2 < len) {
                    char hx[3] = {p[i + 1], p[i + 2], 0};
                    char *e;
                    long v = strtol(hx, &e, 16);
                    if (*e == 0) {
                        c = (char)v;
                        i += 2;
                    }
                }
                buf[o++] = c;
            }
            buf[o] = 0;
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static void put_level(gw_json_t *j, const tg_level_t *l, int px, int sz)
{
    char a[TG_DEC_STR_MAX], b[TG_DEC_STR_MAX];
    tg_dec_format(l->price, px, a);
    tg_dec_format(l->size, sz, b);
    gw_json_printf(j, "[\"%s\",\"%s\"]", a, b);
}

static void put_book_head(const gw_tap_t *t, gw_json_t *j, uint32_t id, const book_out_t *r,
                          int64_t now)
{
    const tg_instr_t *in = tg_instr_reg_get(t->reg, id);
    int32_t f = t->feed_of[id];
    gw_json_printf(j, "\"venue\":");
    gw_json_str(j, in->venue);
    gw_json_printf(j, ",\"symbol\":");
    gw_json_str(j, in->symbol);
    gw_json_printf(j, ",\"feed\":");
    gw_json_str(j, f >= 0 ? t->feeds[f].name : "");
    if (!r) {
        gw_json_printf(j, ",\"state\":null");
        return;
    }
    gw_json_printf(j, ",\"state\":\"%s\",\"seq\":%llu,\"generation\":%llu,\"age_ms\":%lld",
                   state_name(r->u.book.state), (unsigned long long)r->u.book.seq,
                   (unsigned long long)r->u.book.generation,
                   (long long)((now - r->ts_recv) / 1000000));
}

static long api_books(const gw_tap_t *t, char **out)
{
    gw_json_t j;
    gw_json_init(&j, 4096);
    int64_t now = tg_clock_realtime_ns();
    gw_json_printf(&j, "{\"books\":[");
    for (uint32_t id = 0; id < t->n_instr; id++) {
        book_out_t r;
        memset(&r, 0, sizeof(r));
        int have = seq_read(&t->slots[id].seq, t->slots[id].w, &r, TAP_WORDS);
        gw_json_printf(&j, "%s{", id ? "," : "");
        put_book_head(t, &j, id, have ? &r : NULL, now);
        if (have) {
            gw_json_printf(&j, ",\"bid\":");
            if (r.u.book.n_bids)
                put_level(&j, &r.u.book.bids[0], r.px_scale, r.sz_scale);
            else
                gw_json_printf(&j, "null");
            gw_json_printf(&j, ",\"ask\":");
            if (r.u.book.n_asks)
                put_level(&j, &r.u.book.asks[0], r.px_scale, r.sz_scale);
            else
                gw_json_printf(&j, "null");
        }
        gw_json_printf(&j, "}");
    }
    gw_json_printf(&j, "]}");
    return gw_json_done(&j, out);
}

static long api_book(const gw_tap_t *t, const char *args, char **out)
{
    char venue[64], sym[128];
    if (!gw_tap_arg(args, "venue", venue, sizeof(venue)) ||
        !gw_tap_arg(args, "symbol", sym, sizeof(sym)))
        return -EINVAL;
    int vid = tg_instr_reg_venue_id(t->reg, venue);
    int64_t id = vid >= 0 ? tg_instr_reg_find(t->reg, vid, sym, strlen(sym)) : -1;
    if (id < 0 || (uint64_t)id >= t->n_instr)
        return -ENOENT;
    book_out_t r;
    memset(&r, 0, sizeof(r));
    int have = seq_read(&t->slots[id].seq, t->slots[id].w, &r, TAP_WORDS);
    gw_json_t j;
    gw_json_init(&j, 4096);
    gw_json_printf(&j, "{");
    put_book_head(t, &j, (uint32_t)id, have ? &r : NULL, tg_clock_realtime_ns());
    if (have) {
        gw_json_printf(&j,
                       ",\"exch_ts_ns\":%lld,\"recv_ts_ns\":%lld,\"depth_bids\":%u,"
                       "\"depth_asks\":%u,\"bids\":[",
                       (long long)r.ts_exch, (long long)r.ts_recv, r.u.book.depth_bids,
                       r.u.book.depth_asks);
        for (unsigned i = 0; i < r.u.book.n_bids && i < BOOK_OUT_DEPTH_MAX; i++) {
            gw_json_printf(&j, "%s", i ? "," : "");
            put_level(&j, &r.u.book.bids[i], r.px_scale, r.sz_scale);
        }
        gw_json_printf(&j, "],\"asks\":[");
        for (unsigned i = 0; i < r.u.book.n_asks && i < BOOK_OUT_DEPTH_MAX; i++) {
            gw_json_printf(&j, "%s", i ? "," : "");
            put_level(&j, &r.u.book.asks[i], r.px_scale, r.sz_scale);
        }
        gw_json_printf(&j, "]");
    }
    gw_json_printf(&j, "}");
    return gw_json_done(&j, out);
}

static long api_gaps(const gw_tap_t *t, char **out)
{
    gw_json_t j;
    gw_json_init(&j, 8192);
    /* TP_A3: pairs with TP_R3; events below this count are written. */
    uint64_t n = atomic_load_explicit(&t->ev_next, memory_order_acquire);
    gw_json_printf(&j, "{\"total\":%llu,\"events\":[", (unsigned long long)n);
    int first = 1;
    for (uint64_t k = n; k > 0 && n - k < TAP_EVENTS; k--) {
        const tap_event_t *e = &t->ev[(k - 1) % TAP_EVENTS];
        book_out_t r;
        if (!seq_read(&e->seq, e->w, &r, sizeof(r) / 8))
            continue;
        if (r.instr >= t->n_instr)
            continue;
        const tg_instr_t *in = tg_instr_reg_get(t->reg, r.instr);
        int32_t f = t->feed_of[r.instr];
        gw_json_printf(&j, "%s{\"recv_ts_ns\":%lld,\"feed\":", first ? "" : ",",
                       (long long)r.ts_recv);
        gw_json_str(&j, f >= 0 ? t->feeds[f].name : "");
        gw_json_printf(&j, ",\"venue\":");
        gw_json_str(&j, in->venue);
        gw_json_printf(&j, ",\"symbol\":");
        gw_json_str(&j, in->symbol);
        gw_json_printf(&j,
                       ",\"reason\":\"%s\",\"state\":\"%s\",\"seq_last\":%llu,\"seq_got\":%llu}",
                       gw_tap_gap_reason(r.u.gap.reason), state_name(r.u.gap.state),
                       (unsigned long long)r.u.gap.seq_last, (unsigned long long)r.u.gap.seq_got);
        first = 0;
    }
    gw_json_printf(&j, "]}");
    return gw_json_done(&j, out);
}

long gw_tap_api(const gw_tap_t *t, const char *path, const char *args, char **out)
{
    if (!strcmp(path, "books"))
        return api_books(t, out);
    if (!strcmp(path, "book"))
        return api_book(t, args ? args : "", out);
    if (!strcmp(path, "gaps"))
        return api_gaps(t, out);
    return -ENOENT;
}

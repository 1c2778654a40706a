/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay serve --live-snapshots (issue 13): a Binance REST depth request (spot
 * /api/v3/depth, USD-M /fapi/v1/depth, COIN-M /dapi/v1/depth) is answered with the book as of
 * the frames already sent, as a venue answers with its book as of now, instead of the one
 * snapshot recorded in-band. Without it a connection whose snapshot answer comes late (--clone
 * 10000: thousands of GETs queued) can never sync: its buffered diffs no longer reach back to
 * the recorded lastUpdateId.
 *
 * DESIGN
 * - Position: the newest websocket connection (highest id) of the recording that serves the
 *   requested symbol (with --clone: that subscribed to the clone) has been sent frames
 *   [0, pos) plus frame pos for the clones before ci in its list; no such connection: the
 *   furthest position published (rec->published). --loop restarts pos at 0, so answers (and
 *   their ids) restart with the recording; every clone shares its symbol's book.
 * - Book: the recorded snapshot (lastUpdateId L) advanced by every depthUpdate of that symbol
 *   ("s") with u > L in frames before the position, in frame order; a quantity that is zero
 *   ("0.00000000") removes its level. lastUpdateId is the last applied diff's u; with futures'
 *   "E"/"T" in the recorded body, those of that diff. No diff applied yet: the recorded body.
 * - Exact text: levels are views of the venue's own price and size strings (in the recording's
 *   memory), ordered by comparing the decimal strings numerically (no double, no scale).
 * - Speed: built once at start, per symbol, the frame index and u of every applied diff, and a
 *   checkpoint copy of the book every TOOL_REPLAY_LIVE_K diffs. An answer copies the nearest
 *   checkpoint at or before the position and re-applies at most K - 1 diffs.
 * - limit=N (1..5000): the best N levels per side; absent or bad: as many as the recorded
 *   snapshot has (the recorded answer's own limit).
 * Thread: main.
 */
#include "tool_replay_live.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_grow.h"
#include "feeds/feed.h"

#define g                  tool_replay__srv
#define TOOL_REPLAY_LIVE_K 64   /* diffs between checkpoints */
#define LIVE_LIMIT_MAX     5000 /* Binance's largest depth limit */

/* One price level: views of the venue's strings. */
typedef struct lv {
    const char *p, *q;
    uint32_t pl, ql;
} lv_t;

/* A book: side 0 bids (best = highest first), side 1 asks (lowest first). */
typedef struct lbook {
    lv_t *v[2];
    size_t n[2], cap[2];
} lbook_t;

typedef struct ldiff {
    size_t frame; /* index in rec->frames */
    uint64_t u;
} ldiff_t;

typedef struct lsym {
    const tool_replay_snap_t *snap;
    uint64_t last_id;  /* the recorded lastUpdateId */
    size_t rec_levels; /* most levels on one side of the recorded snapshot */
    size_t hdr_len;    /* body bytes before "bids" (lastUpdateId, E, T, symbol, pair) */
    ldiff_t *d;        /* applied diffs, in frame order */
    size_t nd, dcap;
    lbook_t *cp; /* cp[i]: the book after i * K diffs */
    size_t ncp, cpcap;
    lbook_t work;
} lsym_t;

typedef struct lrec {
    const tool_replay_rec_t *rec;
    lsym_t *sym;
    size_t n;
} lrec_t;

static lrec_t *lrecs;
static size_t n_lrecs;
static sess_t **sessions;
static size_t n_sessions, cap_sessions;
static lbook_t scratch;

/* ---- exact decimals ---- */

/* Compare two non-negative decimal strings ("61837.63000000", "0.5", "100") by value. */
static int dec_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t ai = 0, bi = 0;
    while (ai < al && a[ai] == '0')
        ai++;
    while (bi < bl && b[bi] == '0')
        bi++;
    const char *ad = memchr(a + ai, '.', al - ai), *bd = memchr(b + bi, '.', bl - bi);
    size_t an = ad ? (size_t)(ad - a) - ai : al - ai, bn = bd ? (size_t)(bd - b) - bi : bl - bi;
    if (an != bn)
        return an < bn ? -1 : 1;
    int c = memcmp(a + ai, b + bi, an);
    if (c)
        return c < 0 ? -1 : 1;
    const char *af = ad ? ad + 1 : a + al, *bf = bd ? bd + 1 : b + bl;
    size_t afl = (size_t)(a + al - af), bfl = (size_t)(b + bl - bf);
    for (size_t i = 0; i < afl || i < bfl; i++) {
        char x = i < afl ? af[i] : '0', y = i < bfl ? bf[i] : '0';
        if (x != y)
            return x < y ? -1 : 1;
    }
    return 0;
}

static bool dec_zero(const char *q, size_t ql)
{
    for (size_t i = 0; i < ql; i++)
        if (q[i] != '0' && q[i] != '.')
            return false;
    return true;
}

/* ---- books ---- */

static void book_free(lbook_t *b)
{
    free(b->v[0]);
    free(b->v[1]);
    memset(b, 0, sizeof(*b));
}

static int book_copy(lbook_t *dst, const lbook_t *src)
{
    for (int s = 0; s < 2; s++) {
        if (tg_grow(&dst->v[s], &dst->cap[s], src->n[s] + 1, sizeof(lv_t), 256) < 0)
            return -ENOMEM;
        if (src->n[s])
            memcpy(dst->v[s], src->v[s], src->n[s] * sizeof(lv_t));
        dst->n[s] = src->n[s];
    }
    return 0;
}

/* Set (or with a zero quantity remove) the level at price p. @return 0, -ENOMEM. */
static int book_set(lbook_t *b, int side, const char *p, size_t pl, const char *q, size_t ql)
{
    lv_t *v = b->v[side];
    size_t lo = 0, hi = b->n[side];
    while (lo < hi) { /* first level not better than p */
        size_t mid = lo + (hi - lo) / 2;
        int c = dec_cmp(v[mid].p, v[mid].pl, p, pl);
        if (side == 0 ? c > 0 : c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    bool found = lo < b->n[side] && dec_cmp(v[lo].p, v[lo].pl, p, pl) == 0;
    if (dec_zero(q, ql)) {
        if (found) {
            memmove(v + lo, v + lo + 1, (b->n[side] - lo - 1) * sizeof(*v));
            b->n[side]--;
        }
        return 0;
    }
    if (!found) {
        if (tg_grow(&b->v[side], &b->cap[side], b->n[side] + 1, sizeof(lv_t), 256) < 0)
            return -ENOMEM;
        v = b->v[side];
        memmove(v + lo + 1, v + lo, (b->n[side] - lo) * sizeof(*v));
        b->n[side]++;
    }
    v[lo] = (lv_t){p, q, (uint32_t)pl, (uint32_t)ql};
    return 0;
}

/* Apply the levels array at s ('[' of [["p","q"],...]) to one side. @return 0, -EINVAL,
 * -ENOMEM. */
static int apply_levels(lbook_t *b, int side, const char *s, const char *end)
{
    if (s >= end || *s != '[')
        return -EINVAL;
    s++;
    while (s < end) {
        while (s < end && (*s == ',' || *s == ' '))
            s++;
        if (s < end && *s == ']')
            return 0;
        if (s >= end || *s++ != '[')
            return -EINVAL;
        const char *str[2];
        size_t sl[2];
        for (int k = 0; k < 2; k++) {
            while (s < end && (*s == ',' || *s == ' '))
                s++;
            if (s >= end || *s++ != '"')
                return -EINVAL;
            const char *e = memchr(s, '"', (size_t)(end - s));
            if (!e)
                return -EINVAL;
            str[k] = s;
            sl[k] = (size_t)(e - s);
            s = e + 1;
        }
        while (s < end && *s != ']') /* any further element */
            s++;
        if (s >= end)
            return -EINVAL;
        s++;
        int rc = book_set(b, side, str[0], sl[0], str[1], sl[1]);
        if (rc < 0)
            return rc;
    }
    return -EINVAL;
}

/* The value text of "key": in [s, s + len), or NULL. */
static const char *field(const char *s, size_t len, const char *key)
{
    const char *f = memmem(s, len, key, strlen(key));
    return f ? f + strlen(key) : NULL;
}

static bool field_u64(const char *s, size_t len, const char *key, uint64_t *out)
{
    const char *f = field(s, len, key);
    if (!f || !isdigit((unsigned char)*f))
        return false;
    *out = strtoull(f, NULL, 10);
    return true;
}

/* Apply the "b" and "a" arrays of a depthUpdate frame. */
static int apply_diff(lbook_t *b, const tool_replay_frame_t *fr)
{
    const char *end = fr->data + fr->len;
    const char *bb = field(fr->data, fr->len, "\"b\":"), *aa = field(fr->data, fr->len, "\"a\":");
    int rc = bb ? apply_levels(b, 0, bb, end) : 0;
    if (rc == 0 && aa)
        rc = apply_levels(b, 1, aa, end);
    return rc;
}

/* ---- index ---- */

static lsym_t *sym_of(lrec_t *lr, const char *s, size_t n)
{
    for (size_t i = 0; i < lr->n; i++)
        if (strlen(lr->sym[i].snap->key) == n && strncasecmp(lr->sym[i].snap->key, s, n) == 0)
            return &lr->sym[i];
    return NULL;
}

static int sym_init(lsym_t *ls, const tool_replay_snap_t *snap)
{
    ls->snap = snap;
    const char *end = snap->body + snap->len;
    const char *bids = field(snap->body, snap->len, "\"bids\":");
    const char *asks = field(snap->body, snap->len, "\"asks\":");
    if (!field_u64(snap->body, snap->len, "\"lastUpdateId\":", &ls->last_id) || !bids || !asks)
        return -EINVAL;
    ls->hdr_len = (size_t)(bids - strlen("\"bids\":") - snap->body);
    int rc = apply_levels(&ls->work, 0, bids, end);
    if (rc == 0)
        rc = apply_levels(&ls->work, 1, asks, end);
    if (rc < 0)
        return rc;
    ls->rec_levels = ls->work.n[0] > ls->work.n[1] ? ls->work.n[0] : ls->work.n[1];
    return 0;
}

static int checkpoint(lsym_t *ls)
{
    if (tg_grow(&ls->cp, &ls->cpcap, ls->ncp + 1, sizeof(lbook_t), 16) < 0)
        return -ENOMEM;
    memset(&ls->cp[ls->ncp], 0, sizeof(lbook_t));
    if (book_copy(&ls->cp[ls->ncp], &ls->work) < 0)
        return -ENOMEM;
    ls->ncp++;
    return 0;
}

static int rec_build(lrec_t *lr, const tool_replay_rec_t *rec)
{
    lr->rec = rec;
    lr->sym = calloc(rec->n_snaps ? rec->n_snaps : 1, sizeof(*lr->sym));
    if (!lr->sym)
        return -ENOMEM;
    for (size_t i = 0; i < rec->n_snaps; i++) {
        const tool_replay_snap_t *sn = &rec->snaps[i];
        if (tool_replay_rec_snapshot(rec, sn->key) != sn) /* served: the first per name */
            continue;
        lsym_t *ls = &lr->sym[lr->n];
        int rc = sym_init(ls, sn);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0) { /* not a Binance depth body: served as recorded */
            book_free(&ls->work);
            memset(ls, 0, sizeof(*ls));
            continue;
        }
        lr->n++;
        if (checkpoint(ls) < 0)
            return -ENOMEM;
    }
    for (size_t f = 0; f < rec->n_frames && lr->n; f++) {
        const tool_replay_frame_t *fr = &rec->frames[f];
        if (!memmem(fr->data, fr->len, "\"e\":\"depthUpdate\"", 17))
            continue;
        const char *s = field(fr->data, fr->len, "\"s\":\"");
        const char *se = s ? memchr(s, '"', (size_t)(fr->data + fr->len - s)) : NULL;
        uint64_t u;
        lsym_t *ls = se ? sym_of(lr, s, (size_t)(se - s)) : NULL;
        if (!ls || !field_u64(fr->data, fr->len, "\"u\":", &u) || u <= ls->last_id)
            continue;
        int rc = apply_diff(&ls->work, fr);
        if (rc == -ENOMEM)
            return rc;
        if (tg_grow(&ls->d, &ls->dcap, ls->nd + 1, sizeof(ldiff_t), 256) < 0)
            return -ENOMEM;
        ls->d[ls->nd++] = (ldiff_t){f, u};
        if (ls->nd % TOOL_REPLAY_LIVE_K == 0 && checkpoint(ls) < 0)
            return -ENOMEM;
    }
    for (size_t i = 0; i < lr->n; i++)
        book_free(&lr->sym[i].work);
    return 0;
}

int tool_replay__live_build(void)
{
    lrecs = calloc(g.n_recs ? g.n_recs : 1, sizeof(*lrecs));
    if (!lrecs)
        return -ENOMEM;
    for (size_t i = 0; i < g.n_recs; i++) {
        const feed_venue_t *v = feed_venue_find(g.recs[i].r->venue);
        if (!v || strncmp(v->name, "binance", 7) != 0)
            continue;
        int rc = rec_build(&lrecs[n_lrecs++], &g.recs[i]);
        if (rc < 0)
            return rc;
        const lrec_t *lr = &lrecs[n_lrecs - 1];
        size_t nd = 0, ncp = 0;
        for (size_t k = 0; k < lr->n; k++)
            nd += lr->sym[k].nd, ncp += lr->sym[k].ncp;
        if (g.verbose)
            fprintf(stderr,
                    "tickgate-replay: %s: live snapshots for %zu symbols (%zu diffs, %zu "
                    "checkpoints)\n",
                    lr->rec->name, lr->n, nd, ncp);
    }
    return 0;
}

void tool_replay__live_free(void)
{
    for (size_t i = 0; i < n_lrecs; i++) {
        for (size_t k = 0; k < lrecs[i].n; k++) {
            lsym_t *ls = &lrecs[i].sym[k];
            for (size_t c = 0; c < ls->ncp; c++)
                book_free(&ls->cp[c]);
            free(ls->cp);
            free(ls->d);
            book_free(&ls->work);
        }
        free(lrecs[i].sym);
    }
    free(lrecs);
    lrecs = NULL;
    n_lrecs = 0;
    free(sessions);
    sessions = NULL;
    n_sessions = cap_sessions = 0;
    book_free(&scratch);
}

/* ---- sessions ---- */

void tool_replay__live_track(sess_t *s)
{
    if (!g.live_snapshots ||
        tg_grow(&sessions, &cap_sessions, n_sessions + 1, sizeof(*sessions), 64) < 0)
        return; /* out of memory: answered from the published position */
    sessions[n_sessions++] = s;
}

void tool_replay__live_untrack(sess_t *s)
{
    for (size_t i = 0; i < n_sessions; i++)
        if (sessions[i] == s) {
            sessions[i] = sessions[--n_sessions];
            return;
        }
}

/* Frames of rec already sent for clone k (see DESIGN). */
static size_t position(const tool_replay_rec_t *rec, unsigned k)
{
    const sess_t *best = NULL;
    for (size_t i = 0; i < n_sessions; i++) {
        const sess_t *s = sessions[i];
        if (s->rec != rec || (g.clones && (!s->want || k >= g.clones || !s->want[k])))
            continue;
        if (!best || s->id > best->id)
            best = s;
    }
    if (!best)
        return rec->published;
    size_t p = best->pos;
    for (unsigned j = 0; g.clones && best->wl && j < best->ci; j++)
        if (best->wl[j] == k)
            return p + 1;
    return p;
}

/* ---- the answer ---- */

typedef struct out {
    char *b;
    size_t n, cap;
    bool oom;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->oom || tg_grow(&o->b, &o->cap, o->n + n + 1, 1, 4096) < 0) {
        o->oom = true;
        return;
    }
    memcpy(o->b + o->n, s, n);
    o->n += n;
    o->b[o->n] = 0;
}

static void puts_(out_t *o, const char *s)
{
    put(o, s, strlen(s));
}

/* The recorded header fields (after lastUpdateId, before "bids"), with "E" and "T" taken from
 * the diff frame fr when it has them. */
static void put_header(out_t *o, const lsym_t *ls, const tool_replay_frame_t *fr)
{
    const char *s = ls->snap->body, *end = s + ls->hdr_len;
    while (s < end) {
        const char *k = memchr(s, '"', (size_t)(end - s));
        if (!k)
            return;
        const char *ke = memchr(k + 1, '"', (size_t)(end - k - 1));
        if (!ke)
            return;
        const char *v = ke + 2, *ve = v; /* after ": */
        bool str = false;
        while (ve < end && (str || *ve != ',')) {
            if (*ve == '"')
                str = !str;
            ve++;
        }
        s = ve + 1;
        size_t kl = (size_t)(ke - k - 1);
        if (kl == 12 && memcmp(k + 1, "lastUpdateId", 12) == 0)
            continue;
        char key[8];
        const char *dv = NULL;
        if (kl == 1 && (k[1] == 'E' || k[1] == 'T')) {
            snprintf(key, sizeof(key), "\"%c\":", k[1]);
            dv = field(fr->data, fr->len, key);
        }
        puts_(o, ",");
        put(o, k, (size_t)(ke + 2 - k));
        if (dv && isdigit((unsigned char)*dv)) {
            size_t dl = 0;
            while (isdigit((unsigned char)dv[dl]))
                dl++;
            put(o, dv, dl);
        } else {
            put(o, v, (size_t)(ve - v));
        }
    }
}

static unsigned arg_limit(const char *args)
{
    for (const char *p = args; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncmp(p, "limit=", 6) == 0) {
            char *e;
            unsigned long n = strtoul(p + 6, &e, 10);
            return (*e == 0 || *e == '&') && n >= 1 && n <= LIVE_LIMIT_MAX ? (unsigned)n : 0;
        }
    return 0;
}

int tool_replay__live_body(const tool_replay_rec_t *rec, const tool_replay_snap_t *snap,
                           const char *sym, const char *args, char **body, size_t *len)
{
    lsym_t *ls = NULL;
    for (size_t i = 0; i < n_lrecs && !ls; i++)
        for (size_t k = 0; lrecs[i].rec == rec && k < lrecs[i].n; k++)
            if (lrecs[i].sym[k].snap == snap)
                ls = &lrecs[i].sym[k];
    if (!ls)
        return 1;
    size_t kl = strlen(snap->key);
    unsigned clone = strlen(sym) > kl + 1 && sym[kl] == '_' ? (unsigned)atoi(sym + kl + 1) : 0;
    size_t pos = position(rec, clone);
    size_t lo = 0, hi = ls->nd; /* n: diffs in frames before pos */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ls->d[mid].frame < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = lo;
    if (n == 0)
        return 1;
    size_t c = n / TOOL_REPLAY_LIVE_K;
    if (c >= ls->ncp)
        c = ls->ncp - 1;
    if (book_copy(&scratch, &ls->cp[c]) < 0)
        return -ENOMEM;
    for (size_t i = c * TOOL_REPLAY_LIVE_K; i < n; i++)
        if (apply_diff(&scratch, &rec->frames[ls->d[i].frame]) == -ENOMEM)
            return -ENOMEM;
    const tool_replay_frame_t *last = &rec->frames[ls->d[n - 1].frame];
    unsigned limit = arg_limit(args);
    size_t lim = limit ? limit : ls->rec_levels;
    out_t o = {0};
    char num[32];
    snprintf(num, sizeof(num), "%" PRIu64, ls->d[n - 1].u);
    puts_(&o, "{\"lastUpdateId\":");
    puts_(&o, num);
    put_header(&o, ls, last);
    for (int side = 0; side < 2; side++) {
        puts_(&o, side == 0 ? ",\"bids\":[" : "],\"asks\":[");
        for (size_t i = 0; i < scratch.n[side] && i < lim; i++) {
            const lv_t *v = &scratch.v[side][i];
            puts_(&o, i ? ",[\"" : "[\"");
            put(&o, v->p, v->pl);
            puts_(&o, "\",\"");
            put(&o, v->q, v->ql);
            puts_(&o, "\"]");
        }
    }
    puts_(&o, "]}");
    if (o.oom) {
        free(o.b);
        return -ENOMEM;
    }
    *body = o.b;
    *len = o.n;
    return 0;
}

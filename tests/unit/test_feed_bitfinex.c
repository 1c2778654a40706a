/* SPDX-License-Identifier: MIT */
/*
 * Bitfinex v2 handler (feeds/venues/feed_bitfinex.c): the recording
 * (../shared/recordings/bitfinex) against both oracles (the recordings' checker, exact strings,
 * and tardis-dev, which spells the symbols without Bitfinex's "t"), its sequence numbers chained
 * without a gap, a deleted frame caught as a gap (GAP for every book + reconnect), the "cs"
 * checksum computed independently here (own CRC-32, the venue's own strings) on synthetic books,
 * checksum frames through the handler, conf/flags handling (all flags, TIMESTAMP only, none),
 * trades (te counted once), info events, bad input counted, a fuzz loop, and exact values at
 * extreme scales.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/tu_main.h"
#include "tests/fixtures/venue_harness.h"
#include "book/tg_dec.h"
#include "book/tg_resync.h"
#include "feeds/venues/venues.h"

#define BF_REC  "bitfinex/cryptofeed_ce58c2a0_BITFINEX.ws.11.tgrec"
#define BF_NAME "cryptofeed_ce58c2a0_BITFINEX.ws.11.tgrec.result.json"

/* ---- independent helpers ---------------------------------------------------------------- */

static uint32_t crc32_bitwise(const char *s, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= (unsigned char)s[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* ---- a handler on synthetic frames ------------------------------------------------------ */

typedef vh_ev_t bx_t;

static void bx_open(bx_t *b, const char *symbols, tg_instr_reg_t *reg)
{
    vh_ev_open(b, "bitfinex", symbols, reg);
}

/* A handler on tBTCUSD alone. @return its instrument id */
static uint32_t bx_open_btc(bx_t *b)
{
    bx_open(b, "tBTCUSD", NULL);
    return vh_ev_id(b, "tBTCUSD");
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_bitfinex_is_a_usable_venue(void **state)
{
    (void)state;
    vh_assert_venue("bitfinex", &feed_venue_bitfinex, NULL, -1);
    assert_true(feed_venue_bitfinex.max_symbols_per_conn > 0);
}

static void test_bitfinex_open_sends_conf_with_all_flags_before_subscribing(void **state)
{
    (void)state;
    bx_t b;
    bx_open(&b, "tBTCUSD,tETHUSD", NULL);
    b.o->h.depth = 100;
    vh_n_sent = 0;
    assert_int_equal(b.o->venue->on_open(&b.o->h), 0);
    assert_int_equal(vh_n_sent, 5);
    assert_string_equal(vh_sent[0],
                        "{\"event\":\"conf\",\"flags\":229376}"); /* 131072|65536|32768 */
    assert_non_null(strstr(vh_sent[1],
                           "\"channel\":\"book\",\"symbol\":\"tBTCUSD\",\"prec\":\"P0\","
                           "\"freq\":\"F0\",\"len\":\"25\"")); /* len fixed at init */
    assert_non_null(strstr(vh_sent[2], "\"channel\":\"trades\",\"symbol\":\"tBTCUSD\""));
    assert_non_null(strstr(vh_sent[3], "\"symbol\":\"tETHUSD\""));
    vh_ev_close(&b);
}

/* frames of the recording carrying the connection's sequence number (all channel frames) */
static long count_channel_frames(const char *text)
{
    long n = 0;
    for (const char *p = text; (p = strchr(p, '\n')) != NULL;) {
        p++;
        const char *sp = strchr(p, ' ');
        if (*p != '#' && sp && sp[1] == '[')
            n++;
    }
    return n;
}

static void test_bitfinex_recording_books_equal_the_reference_and_sequence_chains(void **state)
{
    (void)state;
    vrun_t *v = calloc(1, sizeof(*v));
    feed_offline_t *o = NULL;
    assert_int_equal(vrun_file(vh_rec(BF_REC), v, &o), 0);
    vrun_assert_all_read(o);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(o->reconnects, 0);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 7);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 0);
    assert_int_equal(TG_STAT_GET(o->stats.trades), 0); /* no "te" in 30 s; snapshots are history */
    /* handled: conf + 21 subscribed + 1600 book messages; unhandled: greeting, 42 heartbeats,
       21 ticker frames, 7 trade histories */
    assert_int_equal(TG_STAT_GET(o->stats.handled), 1622);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 71);
    size_t tlen;
    char *text = vrun_slurp(vh_rec(BF_REC), &tlen);
    assert_non_null(text);
    assert_non_null(strstr(text, "{\"event\":\"conf\",\"status\":\"OK\",\"flags\":65536}"));
    assert_int_equal(count_channel_frames(text), 1670); /* numbered 1..1670 */

    for (int pass = 0; pass < 2; pass++) {
        oracle_t orc;
        vh_oracle_pass(pass, BF_NAME, &orc);
        assert_int_equal(orc.n_syms, (int)o->h.n_instr);
        int diffs = 0;
        for (uint32_t i = 0; i < o->h.n_instr; i++) {
            const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[i]);
            /* tardis writes BTCUSD for tBTCUSD */
            const oracle_sym_t *os = oracle_find(&orc, pass == 0 ? in->symbol : in->symbol + 1);
            assert_non_null(os);
            diffs += vrun_cmp_book(v, in, os, 10);
            vh_assert_depth(&v->book[in->id], os);
            assert_int_equal(v->trades[in->id], os->trades);
            assert_true(os->n_bids > 0);
            if (pass == 1)
                assert_int_equal(v->book_msgs[in->id], os->book_changes);
        }
        assert_int_equal(diffs, 0);
        if (pass == 1)
            assert_int_equal(vrun_book_msgs(v), 1600);
        oracle_free(&orc);
    }
    free(text);
    vrun_close(&o, v);
}

static void test_bitfinex_a_lost_frame_is_a_gap_on_every_book_and_a_reconnect(void **state)
{
    (void)state;
    size_t len = 0;
    char *text = vrun_slurp(vh_rec(BF_REC), &len);
    assert_non_null(text);
    /* delete the frame numbered 500 (a book update) */
    char *p = strstr(text, ",500]\n");
    assert_non_null(p);
    char *bol = p;
    while (bol[-1] != '\n')
        bol--;
    char *eol = strchr(p, '\n') + 1;
    memmove(bol, eol, (size_t)(text + len - eol) + 1);
    len -= (size_t)(eol - bol);
    feed_offline_t *o = NULL;
    vrun_t *v = vh_run_mem(text, len, &o);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(o->reconnects, 1);
    long gap_events = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        assert_int_equal(v->gaps[o->h.instr[i]], 1);
        gap_events += v->gaps[o->h.instr[i]];
    }
    assert_int_equal(gap_events, 7);
    assert_int_equal(v->last_gap.u.aux, 501);
    /* after the gap no book update is applied until the reconnect (which offline never comes) */
    assert_true(TG_STAT_GET(o->stats.stale_dropped) > 0);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(vrun_accounted(&o->stats), o->rec->data_lines);
    vrun_close(&o, v);
    free(text);
}

/* Build the checksum text from the venue's own strings: bids[i] "px:amt", asks[i] "px:-amt". */
static uint32_t ck_from_strings(const char *const (*bids)[2], int nb, const char *const (*asks)[2],
                                int na)
{
    char text[8192];
    size_t n = vh_ck_text(bids, (size_t)nb, asks, (size_t)na, text, sizeof(text));
    return crc32_bitwise(text, n);
}

static void test_bitfinex_checksum_function_matches_an_independent_crc(void **state)
{
    (void)state;
    tg_instr_cfg_t cfg;
    feed_venue_instr_cfg(&feed_venue_bitfinex, "tXYZUSD", 25, &cfg);
    assert_non_null(cfg.checksum);
    /* 30 bids (only 25 count) and 3 asks, Bitfinex's JavaScript number strings */
    static char bpx[30][32], bsz[30][32];
    const char *bids[30][2],
        *asks[3][2] = {{"0.0000012", "-3"}, {"0.0000013", "-0.5"}, {"0.00000135", "-2e-8"}};
    for (int i = 0; i < 30; i++) {
        /* 9.991e-7, 9.981e-7, ... (exponent form below 1e-6) and varied amounts */
        snprintf(bpx[i], sizeof(bpx[i]), "%d.%02d1e-7", 9 - i / 10, 99 - i);
        snprintf(bsz[i], sizeof(bsz[i]), i % 3 == 0 ? "%d" : "%d.%d5", 100 + i, i);
        bids[i][0] = bpx[i];
        bids[i][1] = bsz[i];
    }
    ref_book_t rb = {0};
    tg_event_t ev = feed_event(TG_EV_LEVEL, 0, TG_SIDE_BID, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int i = 0; i < 30; i++) {
        ev.side = TG_SIDE_BID;
        assert_int_equal(tg_dec_parse(bids[i][0], strlen(bids[i][0]), 8 + 2, &ev.price), 0);
        assert_int_equal(tg_dec_parse(bids[i][1], strlen(bids[i][1]), 8, &ev.size), 0);
        ref_book_apply(&rb, &ev);
    }
    for (int i = 0; i < 3; i++) {
        ev.side = TG_SIDE_ASK;
        assert_int_equal(tg_dec_parse(asks[i][0], strlen(asks[i][0]), 8 + 2, &ev.price), 0);
        assert_int_equal(tg_dec_parse(asks[i][1] + 1, strlen(asks[i][1]) - 1, 8, &ev.size), 0);
        ref_book_apply(&rb, &ev);
    }
    tg_instr_t in = {.px_scale = 10, .sz_scale = 8, .checksum = cfg.checksum};
    struct book_l2 bl = {&rb};
    tg_event_t ck = feed_event(TG_EV_CHECKSUM, 0, 0, 0, 0, 0, 0, 0, 0, 0, TG_EVF_LAST);
    uint32_t want =
        ck_from_strings((const char *const(*)[2])bids, 30, (const char *const(*)[2])asks, 3);
    assert_int_equal(cfg.checksum(&bl, &in, &ck), want);
    /* the text starts "9.991e-7:100:0.0000012:-3:9.981e-7:101.15:..." */
    assert_string_equal(bpx[0], "9.991e-7");
    /* one amount off by 1e-8 changes it */
    ev.side = TG_SIDE_BID;
    tg_dec_parse(bpx[0], strlen(bpx[0]), 10, &ev.price);
    tg_dec_parse("100.00000001", 12, 8, &ev.size);
    ref_book_apply(&rb, &ev);
    assert_int_not_equal(cfg.checksum(&bl, &in, &ck), want);
    /* an empty book: CRC of "" */
    ref_book_t empty = {0};
    struct book_l2 be = {&empty};
    assert_int_equal(cfg.checksum(&be, &in, &ck), crc32_bitwise("", 0));
    ref_book_free(&rb);
}

#define CONF_ALL "{\"event\":\"conf\",\"status\":\"OK\",\"flags\":229376}"
#define SUB_BOOK(id, sym)                                                                          \
    "{\"event\":\"subscribed\",\"channel\":\"book\",\"chanId\":" #id ",\"symbol\":\"" sym          \
    "\",\"prec\":\"P0\",\"freq\":\"F0\",\"len\":\"25\",\"pair\":\"X\"}"
#define SUB_TRADES(id, sym)                                                                        \
    "{\"event\":\"subscribed\",\"channel\":\"trades\",\"chanId\":" #id ",\"symbol\":\"" sym "\"}"

/* tBTCUSD with every flag confirmed (CONF_ALL) and its book subscribed on channel 17. */
static uint32_t bx_open_btc_book17(bx_t *b)
{
    uint32_t id = bx_open_btc(b);
    assert_int_equal(vh_ev_frame(b, CONF_ALL), 0);
    assert_int_equal(vh_ev_frame(b, SUB_BOOK(17, "tBTCUSD")), 0);
    return id;
}

static void test_bitfinex_checksum_frames_verify_through_the_handler(void **state)
{
    (void)state;
    bx_t b;
    uint32_t id = bx_open_btc_book17(&b);
    assert_int_equal(vh_ev_frame(&b, "[17,[[30000,1,1.5],[29999.5,2,0.25],[30001,1,-2],[30002.5,3,"
                                     "-1e-8]],1,1700000000000]"),
                     0);
    const char *const bids1[][2] = {{"30000", "1.5"}, {"29999.5", "0.25"}};
    const char *const asks1[][2] = {{"30001", "-2"}, {"30002.5", "-1e-8"}};
    char f[256];
    snprintf(f, sizeof(f), "[17,\"cs\",%d,2,1700000000001]",
             (int32_t)ck_from_strings(bids1, 2, asks1, 2));
    assert_int_equal(vh_ev_frame(&b, f), 0);
    assert_int_equal(b.v->ck_ok, 1);
    assert_int_equal(b.v->ck_not_last, 0);
    /* update: 30000 deleted, new ask 30001 amount changed */
    assert_int_equal(vh_ev_frame(&b, "[17,[30000,0,1],3,1700000000002]"), 0);
    assert_int_equal(vh_ev_frame(&b, "[17,[30001,2,-0.75],4,1700000000003]"), 0);
    const char *const bids2[][2] = {{"29999.5", "0.25"}};
    const char *const asks2[][2] = {{"30001", "-0.75"}, {"30002.5", "-1e-8"}};
    snprintf(f, sizeof(f), "[17,\"cs\",%d,5,1700000000004]",
             (int32_t)ck_from_strings(bids2, 1, asks2, 2));
    assert_int_equal(vh_ev_frame(&b, f), 0);
    assert_int_equal(b.v->ck_ok, 2);
    /* a wrong checksum is a mismatch (the builder turns it into a GAP + resync request) */
    assert_int_equal(vh_ev_frame(&b, "[17,\"cs\",12345,6,1700000000005]"), 0);
    assert_int_equal(b.v->ck_bad_instr[id], 1);
    assert_int_equal(TG_STAT_GET(b.o->stats.checksum_msgs), 3);
    /* exchange times in ns from the TIMESTAMP element, seq from SEQ_ALL */
    const tg_event_t *last = &b.ev[b.n_ev - 1];
    assert_int_equal(last->kind, TG_EV_CHECKSUM);
    assert_int_equal(last->ts_exch, 1700000000005LL * 1000000);
    assert_int_equal(last->seq, 6);
    assert_int_equal((uint32_t)last->u.checksum, 12345u);
    assert_int_equal(TG_STAT_GET(b.o->stats.gaps), 0);
    vh_ev_close(&b);
}

/* ---- the recording with "cs" frames ------------------------------------------------------ */

typedef struct ck_lvl {
    char px[128], amt[128];
    int64_t key;
} ck_lvl_t;

typedef struct ck_book {
    long long chan;
    ck_lvl_t lv[2][512]; /* bids, asks */
    int n[2];
} ck_book_t;

static int ck_cmp_desc(const void *a, const void *b)
{
    const ck_lvl_t *x = a, *y = b;
    return x->key < y->key ? 1 : x->key > y->key ? -1 : 0;
}

static int ck_cmp_asc(const void *a, const void *b)
{
    return -ck_cmp_desc(a, b);
}

/* The venue's checksum of one book, from the strings it sent (sorted by value). */
static int32_t ck_book_crc(ck_book_t *b)
{
    static ck_lvl_t s[2][512];
    memcpy(s[0], b->lv[0], (size_t)b->n[0] * sizeof(ck_lvl_t));
    memcpy(s[1], b->lv[1], (size_t)b->n[1] * sizeof(ck_lvl_t));
    qsort(s[0], (size_t)b->n[0], sizeof(ck_lvl_t), ck_cmp_desc);
    qsort(s[1], (size_t)b->n[1], sizeof(ck_lvl_t), ck_cmp_asc);
    char text[8192];
    size_t n = 0;
    for (int i = 0; i < 25; i++)
        for (int side = 0; side < 2; side++)
            if (i < b->n[side])
                n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s:%s", n ? ":" : "",
                                      s[side][i].px, s[side][i].amt);
    return (int32_t)crc32_bitwise(text, n);
}

/* Apply the [price,count,amount] entries of a book frame body (the venue's strings). */
static void ck_apply(ck_book_t *b, const char *body, size_t len)
{
    if (len > 1 && body[0] == '[' && body[1] == '[')
        b->n[0] = b->n[1] = 0;
    for (size_t i = 0; i < len; i++) {
        if (body[i] != '[' || body[i + 1] == '[')
            continue;
        const char *e = memchr(body + i, ']', len - i);
        char ent[128];
        snprintf(ent, sizeof(ent), "%.*s", (int)(e - body - i - 1), body + i + 1);
        char *c1 = strchr(ent, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        assert_non_null(c2);
        *c1 = *c2 = 0;
        const char *px = ent, *cnt = c1 + 1, *amt = c2 + 1;
        int side = amt[0] == '-';
        int k = 0;
        while (k < b->n[side] && strcmp(b->lv[side][k].px, px) != 0)
            k++;
        if (strcmp(cnt, "0") == 0) {
            if (k < b->n[side])
                b->lv[side][k] = b->lv[side][--b->n[side]];
        } else {
            if (k == b->n[side]) {
                assert_true(k < 512);
                b->n[side]++;
                snprintf(b->lv[side][k].px, sizeof(b->lv[side][k].px), "%s", px);
                assert_int_equal(tg_dec_parse(px, strlen(px), 12, &b->lv[side][k].key), 0);
            }
            snprintf(b->lv[side][k].amt, sizeof(b->lv[side][k].amt), "%s", amt);
        }
        i = (size_t)(e - body);
    }
}

/* The recording as if it had enabled OB_CHECKSUM too: after every book message a
 * [chanId,"cs",CRC] frame computed here from the venue's strings; sequence renumbered. */
static char *with_checksums(const char *text, size_t len, size_t *out_len, long *n_cs)
{
    size_t cap = len * 2 + 65536, n = 0;
    char *out = malloc(cap);
    static ck_book_t books[16];
    int nb = 0;
    long seq = 0;
    *n_cs = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);
        char line[65536];
        assert_true(ll < sizeof(line));
        memcpy(line, p, ll);
        line[ll] = 0;
        p += ll + 1;
        char *fl = strstr(line, "\"flags\":65536"); /* header and the conf answer */
        if (fl) {                                   /* SEQ_ALL -> SEQ_ALL | OB_CHECKSUM */
            char tail[256];
            snprintf(tail, sizeof(tail), "%s", fl + 13);
            snprintf(fl, sizeof(line) - (size_t)(fl - line), "\"flags\":196608%s", tail);
        }
        const char *sp = line[0] == '#' ? NULL : strchr(line, ' ');
        if (!sp || sp[1] != '[') {
            const char *sub = strstr(line, "\"channel\":\"book\",\"chanId\":");
            if (sub) {
                assert_true(nb < 16);
                memset(&books[nb], 0, sizeof(books[nb]));
                books[nb++].chan = atoll(sub + 26);
            }
            n += (size_t)snprintf(out + n, cap - n, "%s\n", line);
            continue;
        }
        long long chan = atoll(sp + 2);
        char *c1 = strchr(sp, ',');
        char *last = strrchr(line, ',');
        assert_true(c1 && last && last > c1);
        *last = 0;
        n += (size_t)snprintf(out + n, cap - n, "%.*s %s,%ld]\n", (int)(sp - line), line, sp + 1,
                              ++seq);
        const char *body = c1 + 1;
        int b = 0;
        while (b < nb && books[b].chan != chan)
            b++;
        if (b == nb || strcmp(body, "\"hb\"") == 0)
            continue;
        ck_apply(&books[b], body, strlen(body));
        n += (size_t)snprintf(out + n, cap - n, "%.*s [%lld,\"cs\",%d,%ld]\n", (int)(sp - line),
                              line, chan, ck_book_crc(&books[b]), ++seq);
        (*n_cs)++;
        assert_true(n < cap - 65536);
    }
    *out_len = n;
    return out;
}

static void test_bitfinex_recording_with_venue_checksums_verifies_every_message(void **state)
{
    (void)state;
    size_t len = 0, clen = 0;
    long n_cs;
    char *text = vrun_slurp(vh_rec(BF_REC), &len);
    assert_non_null(text);
    char *ck = with_checksums(text, len, &clen, &n_cs);
    assert_int_equal(n_cs, 1600); /* 7 snapshots + 1593 updates */
    assert_non_null(strstr(ck, "{\"event\":\"conf\",\"status\":\"OK\",\"flags\":196608}"));
    feed_offline_t *o = NULL;
    vrun_t *v = vh_run_mem(ck, clen, &o);
    assert_int_equal(v->ck_ok, 1600);
    assert_int_equal(v->ck_bad, 0);
    assert_int_equal(v->ck_not_last, 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(vrun_errors(&o->stats), 0);
    vrun_close(&o, v);
    free(ck);
    free(text);
}

static tg_resync_t resync_req;

static void test_bitfinex_builder_resync_resubscribes_the_book_and_drops_until_snapshot(void **st)
{
    (void)st;
    bx_t b;
    bx_open(&b, "tBTCUSD", NULL);
    b.o->h.resync = &resync_req;
    assert_int_equal(b.o->venue->on_open(&b.o->h), 0);
    uint32_t id = vh_ev_id(&b, "tBTCUSD");
    assert_int_equal(vh_ev_frame(&b, CONF_ALL), 0);
    assert_int_equal(vh_ev_frame(&b, SUB_BOOK(17, "tBTCUSD")), 0);
    assert_int_equal(vh_ev_frame(&b, "[17,[[30000,1,1.5],[30001,1,-2]],1,1]"), 0);
    vh_n_sent = 0;
    b.o->venue->on_tick(&b.o->h, 1);
    assert_int_equal(vh_n_sent, 0);
    tg_resync_request(&resync_req, id);
    b.o->venue->on_tick(&b.o->h, 2);
    assert_int_equal(vh_n_sent, 2);
    assert_string_equal(vh_sent[0], "{\"event\":\"unsubscribe\",\"chanId\":17}");
    assert_non_null(strstr(vh_sent[1], "\"event\":\"subscribe\",\"channel\":\"book\""));
    b.o->venue->on_tick(&b.o->h, 3);
    assert_int_equal(vh_n_sent, 2);
    /* late updates on the old channel are dropped */
    assert_int_equal(vh_ev_frame(&b, "[17,[30000,1,1.75],2,2]"), 0);
    assert_int_equal(TG_STAT_GET(b.o->stats.stale_dropped), 1);
    assert_int_equal(
        vh_ev_frame(&b, "{\"event\":\"unsubscribed\",\"status\":\"OK\",\"chanId\":17}"), 0);
    assert_int_equal(vh_ev_frame(&b, SUB_BOOK(18, "tBTCUSD")), 0);
    assert_int_equal(vh_ev_frame(&b, "[18,[30000,1,1.75],3,3]"), 0); /* before the snapshot */
    assert_int_equal(TG_STAT_GET(b.o->stats.stale_dropped), 2);
    assert_int_equal(vh_ev_frame(&b, "[18,[[30000,1,1.25]],4,4]"), 0);
    assert_int_equal(b.v->snapshots[id], 2);
    assert_int_equal(vh_ev_frame(&b, "[18,[29000,1,3],5,5]"), 0);
    assert_int_equal(b.v->book[id].bid.n, 2);
    assert_int_equal(b.v->book[id].ask.n, 0);
    assert_int_equal(TG_STAT_GET(b.o->stats.resyncs), 1);
    assert_int_equal(vrun_errors(&b.o->stats), 0);
    vh_ev_close(&b);
}

static void test_bitfinex_runs_with_timestamp_only_and_with_no_flags(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        bx_t b;
        bx_open(&b, "tETHUSD", NULL);
        uint32_t id = vh_ev_id(&b, "tETHUSD");
        if (mode == 0)
            assert_int_equal(
                vh_ev_frame(&b, "{\"event\":\"conf\",\"status\":\"OK\",\"flags\":32768}"), 0);
        assert_int_equal(vh_ev_frame(&b, SUB_BOOK(5, "tETHUSD")), 0);
        assert_int_equal(vh_ev_frame(&b, SUB_TRADES(6, "tETHUSD")), 0);
        if (mode == 0) {
            assert_int_equal(vh_ev_frame(&b, "[5,[[2000,1,1],[2001,1,-1]],1700000000000]"), 0);
            assert_int_equal(vh_ev_frame(&b, "[5,[2000.5,1,4],1700000000007]"), 0);
            assert_int_equal(vh_ev_frame(&b, "[5,\"hb\",1700000000008]"), 0);
            assert_int_equal(
                vh_ev_frame(&b, "[6,\"te\",[99,1700000000009,-0.5,2000],1700000000010]"), 0);
            assert_int_equal(b.ev[b.n_ev - 1].ts_exch, 1700000000009LL * 1000000);
        } else {
            assert_int_equal(vh_ev_frame(&b, "[5,[[2000,1,1],[2001,1,-1]]]"), 0);
            assert_int_equal(vh_ev_frame(&b, "[5,[2000.5,1,4]]"), 0);
            assert_int_equal(vh_ev_frame(&b, "[5,\"hb\"]"), 0);
            assert_int_equal(vh_ev_frame(&b, "[6,\"te\",[99,1700000000009,-0.5,2000]]"), 0);
        }
        assert_int_equal(b.v->book[id].bid.n, 2);
        assert_int_equal(b.v->book[id].ask.n, 1);
        assert_int_equal(b.v->trades[id], 1);
        assert_int_equal(b.v->sells[id], 1);
        assert_int_equal(TG_STAT_GET(b.o->stats.gaps), 0);
        assert_int_equal(vrun_errors(&b.o->stats), 0);
        /* the level event carried the time only with TIMESTAMP */
        int64_t want = mode == 0 ? 1700000000007LL * 1000000 : 0;
        int found = 0;
        for (size_t i = 0; i < b.n_ev; i++)
            if (b.ev[i].kind == TG_EV_LEVEL && !(b.ev[i].flags & TG_EVF_SNAPSHOT)) {
                assert_int_equal(b.ev[i].ts_exch, want);
                found++;
            }
        assert_int_equal(found, 1);
        vh_ev_close(&b);
    }
}

static void test_bitfinex_te_is_counted_once_and_tu_and_history_are_not(void **state)
{
    (void)state;
    bx_t b;
    uint32_t id = bx_open_btc(&b);
    static const char *const frames[] = {
        "{\"event\":\"conf\",\"status\":\"OK\",\"flags\":65536}",
        SUB_TRADES(9, "tBTCUSD"),
        "[9,[[5,1618665870435,0.1,60000],[4,1618665870000,-0.2,60001]],1]",
        "[9,\"te\",[401,1618677600123,0.25,60010.5],2]",
        "[9,\"tu\",[401,1618677600123,0.25,60010.5],3]",
        "[9,\"te\",[402,1618677600200,-1.5,60009],4]",
        "[9,\"tu\",[402,1618677600200,-1.5,60009],5]",
    };
    vh_frames_ok(b.o, 1, frames, sizeof(frames) / sizeof(frames[0]));
    assert_int_equal(b.v->trades[id], 2);
    assert_int_equal(b.v->buys[id], 1);
    assert_int_equal(b.v->sells[id], 1);
    const tg_event_t *tr[2];
    int k = 0;
    for (size_t i = 0; i < b.n_ev; i++)
        if (b.ev[i].kind == TG_EV_TRADE)
            tr[k++] = &b.ev[i];
    assert_int_equal(tr[0]->u.trade_id, 401);
    assert_int_equal(tr[0]->side, TG_SIDE_BUY);
    assert_int_equal(tr[0]->ts_exch, 1618677600123LL * 1000000);
    assert_true(tr[0]->flags & TG_EVF_LAST);
    vh_assert_dec_eq(tr[0]->price, tr[0]->px_scale, "60010.5");
    vh_assert_dec_eq(tr[0]->size, tr[0]->sz_scale, "0.25");
    assert_int_equal(tr[1]->side, TG_SIDE_SELL);
    vh_assert_dec_eq(tr[1]->size, tr[1]->sz_scale, "1.5");
    assert_int_equal(TG_STAT_GET(b.o->stats.unhandled), 3); /* history, tu, tu */
    vh_ev_close(&b);
}

static void test_bitfinex_updates_before_the_snapshot_are_dropped(void **state)
{
    (void)state;
    bx_t b;
    uint32_t id = bx_open_btc(&b);
    assert_int_equal(vh_ev_frame(&b, SUB_BOOK(3, "tBTCUSD")), 0);
    assert_int_equal(vh_ev_frame(&b, "[3,[100,1,1]]"), 0);
    assert_int_equal(TG_STAT_GET(b.o->stats.stale_dropped), 1);
    assert_int_equal(b.v->book_msgs[id], 0);
    assert_int_equal(vh_ev_frame(&b, "[3,[]]"), 0); /* an empty snapshot: synced, empty book */
    assert_int_equal(b.v->snapshots[id], 1);
    assert_int_equal(vh_ev_frame(&b, "[3,[100,1,1]]"), 0);
    assert_int_equal(b.v->book[id].bid.n, 1);
    /* count 0 deletes: amount 1 bid, -1 ask */
    assert_int_equal(vh_ev_frame(&b, "[3,[101,2,-3]]"), 0);
    assert_int_equal(vh_ev_frame(&b, "[3,[101,0,-1]]"), 0);
    assert_int_equal(vh_ev_frame(&b, "[3,[100,0,1]]"), 0);
    assert_int_equal(b.v->book[id].bid.n + b.v->book[id].ask.n, 0);
    vh_ev_close(&b);
}

static void test_bitfinex_info_events_reconnect_or_mark_books_stale(void **state)
{
    (void)state;
    bx_t b;
    bx_open(&b, "tBTCUSD,tETHUSD", NULL);
    assert_int_equal(
        vh_ev_frame(&b, "{\"event\":\"info\",\"code\":20051,\"msg\":\"Stopping. Please try to "
                        "reconnect\"}"),
        0);
    assert_int_equal(b.o->reconnects, 1);
    assert_int_equal(vh_ev_frame(&b, "{\"event\":\"info\",\"code\":20060,\"msg\":\"Entering "
                                     "Maintenance mode\"}"),
                     0);
    assert_int_equal(b.v->stale[vh_ev_id(&b, "tBTCUSD")], 1);
    assert_int_equal(b.v->stale[vh_ev_id(&b, "tETHUSD")], 1);
    assert_int_equal(vh_ev_frame(&b, "{\"event\":\"info\",\"code\":20061,\"msg\":\"Maintenance "
                                     "ended\"}"),
                     0);
    assert_int_equal(b.o->reconnects, 2);
    assert_int_equal(TG_STAT_GET(b.o->stats.handled), 3);
    assert_int_equal(
        vh_ev_frame(&b, "{\"event\":\"info\",\"version\":2,\"platform\":{\"status\":1}}"), 0);
    assert_int_equal(TG_STAT_GET(b.o->stats.unhandled), 1);
    vh_ev_close(&b);
}

static void test_bitfinex_bad_input_is_counted_and_a_bad_level_resyncs(void **state)
{
    (void)state;
    bx_t b;
    uint32_t id = bx_open_btc_book17(&b);
    assert_int_equal(vh_ev_frame(&b, "[17,[[30000,1,1.5]],1,1]"), 0);
    assert_int_equal(vh_ev_frame(&b, "[17,[30000,1,\"x\"],2,1]"), TG_EFIELD); /* string amount */
    assert_int_equal(b.v->gaps[id], 1);                                   /* GAP + resubscribe */
    assert_int_equal(vh_ev_frame(&b, "[17,[30000,1,1.5],3,1"), TG_EJSON); /* not JSON */
    assert_int_equal(vh_ev_frame(&b, "[17,[30000,1,1.5]]"),
                     TG_EFIELD); /* sequence number missing */
    assert_int_equal(vh_ev_frame(&b, "{\"event\":\"error\",\"msg\":\"x\",\"code\":10300}"),
                     TG_EPROTO);
    assert_int_equal(vh_ev_frame(&b, "{\"x\":1}"), TG_EFIELD);
    assert_int_equal(vh_ev_frame(&b, "42"), TG_EJSON);
    assert_int_equal(vh_ev_frame(&b, "[\"a\",\"hb\",5,1]"), TG_EFIELD);
    assert_int_equal(vh_ev_frame(&b, "[17,[1,1],5,1]"), 0); /* dead channel after resubscribe */
    const feed_stats_t *s = &b.o->stats;
    assert_int_equal(TG_STAT_GET(s->err_field), 4);
    assert_int_equal(TG_STAT_GET(s->err_json), 2);
    assert_int_equal(TG_STAT_GET(s->err_venue), 1);
    assert_int_equal(vrun_accounted(s), TG_STAT_GET(s->frames));
    vh_ev_close(&b);
}

/* the recorded frames (the first 2048), a fresh connection every 1000 */
static void test_bitfinex_fuzzed_frames_are_counted_and_never_crash(void **state)
{
    (void)state;
    /* seed, frames (max, min), iters, cap, keep, grow_below, runs, open_every, replay */
    static const vh_rec_fuzz_t p = {
        0x9E3779B97F4A7C15ull, 2048, 1000, 30000, 1 << 16, 1, 60000, 5, 1000, 150, 0};
    vh_rec_fuzz_run(vh_rec(BF_REC), &p);
}

/* Extreme scales: every emitted price/size equals the input text exactly. */
static void test_bitfinex_extreme_scales_are_exact(void **state)
{
    (void)state;
    bx_t b;
    /* start at 0 places: every value raises the scale */
    tg_instr_reg_t *reg = vh_ev_open_at_scale_0(&b, &feed_venue_bitfinex, 25, "tTINY,tHUGE,tBIGSZ");
    assert_int_equal(vh_ev_frame(&b, "{\"event\":\"conf\",\"status\":\"OK\",\"flags\":0}"), 0);
    assert_int_equal(vh_ev_frame(&b, SUB_BOOK(1, "tTINY")), 0);
    assert_int_equal(vh_ev_frame(&b, SUB_BOOK(2, "tHUGE")), 0);
    assert_int_equal(vh_ev_frame(&b, SUB_BOOK(3, "tBIGSZ")), 0);
    assert_int_equal(vh_ev_frame(&b, SUB_TRADES(4, "tBIGSZ")), 0);
    /* tiny prices (1e-12 and up, exponent and plain forms), sizes down to 1e-8 */
    size_t from = b.n_ev;
    assert_int_equal(vh_ev_frame(&b,
                                 "[1,[[1e-12,1,1e-8],[0.00000000002,1,0.5],[3.5e-11,2,"
                                 "12345.12345678],[0.000001,1,-7],[1.234567e-7,1,-0.00000001]]]"),
                     0);
    const char *const tiny[][2] = {{"1e-12", "1e-8"},
                                   {"0.00000000002", "0.5"},
                                   {"3.5e-11", "12345.12345678"},
                                   {"0.000001", "7"},
                                   {"1.234567e-7", "0.00000001"}};
    vh_ev_assert_values(&b, from, vh_ev_id(&b, "tTINY"), tiny, 5);
    /* one message: 2 places first, 11 places later; prices up to 1e7 */
    vh_ev_assert_xs_huge(&b,
                         "[2,[[10000000.25,1,3],[9999999.12345678901,1,0.1],"
                         "[10000001,1,-2.5E+2]]]",
                         "tHUGE");
    /* sizes up to 1e12 */
    from = b.n_ev;
    assert_int_equal(vh_ev_frame(&b, "[3,[[2.5,1,1000000000000],[2.4,1,123456789012.123456],"
                                     "[2.6,1,-1e12]]]"),
                     0);
    assert_int_equal(vh_ev_frame(&b, "[4,\"te\",[7,1700000000000,-999999999999.5,0.00000000015]]"),
                     0);
    vh_ev_assert_values(&b, from, vh_ev_id(&b, "tBIGSZ"), vh_xs_big, 4);
    /* a value no int64 scale holds: counted, the book goes to FAULT, nothing else emitted */
    vh_ev_xs_fault_close(&b, &reg, "[2,[10000000.5,1,1e-19]]");
}

TU_MAIN_NEEDS(
    "TG_RECORDINGS", "the bitfinex recording is needed",
    cmocka_unit_test(test_bitfinex_is_a_usable_venue),
    cmocka_unit_test(test_bitfinex_open_sends_conf_with_all_flags_before_subscribing),
    cmocka_unit_test(test_bitfinex_recording_books_equal_the_reference_and_sequence_chains),
    cmocka_unit_test(test_bitfinex_a_lost_frame_is_a_gap_on_every_book_and_a_reconnect),
    cmocka_unit_test(test_bitfinex_checksum_function_matches_an_independent_crc),
    cmocka_unit_test(test_bitfinex_checksum_frames_verify_through_the_handler),
    cmocka_unit_test(test_bitfinex_recording_with_venue_checksums_verifies_every_message),
    cmocka_unit_test(test_bitfinex_builder_resync_resubscribes_the_book_and_drops_until_snapshot),
    cmocka_unit_test(test_bitfinex_runs_with_timestamp_only_and_with_no_flags),
    cmocka_unit_test(test_bitfinex_te_is_counted_once_and_tu_and_history_are_not),
    cmocka_unit_test(test_bitfinex_updates_before_the_snapshot_are_dropped),
    cmocka_unit_test(test_bitfinex_info_events_reconnect_or_mark_books_stale),
    cmocka_unit_test(test_bitfinex_bad_input_is_counted_and_a_bad_level_resyncs),
    cmocka_unit_test(test_bitfinex_fuzzed_frames_are_counted_and_never_crash),
    cmocka_unit_test(test_bitfinex_extreme_scales_are_exact))

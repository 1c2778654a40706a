/* SPDX-License-Identifier: MIT */
/*
 * OKX v5 handler (feeds/feed_okex.c) against the two recorded sessions in
 * ../shared/recordings/okex and the tardis-dev oracle: every checksum verified on our book,
 * final top-10 books, trade counts and amounts equal to the oracle, a corrupted level caught by
 * the checksum, a dropped update caught by seqId chaining (gap + resubscribe), bad input
 * counted, and thousands of mutated frames handled without a crash or leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fixtures/venue_run.h"
#include "feeds/feed_checksum.h"

#define OK_2021 "okex/cryptofeed_9a4a9b9d_OKEX.ws.1.tgrec"
#define OK_2022 "okex/cryptofeed_ce58c2a0_OKX.ws.1.tgrec"

extern const feed_venue_t feed_venue_okex;

static char pbuf[1024];
static const char *rec(const char *rel)
{
    return vrun_path(pbuf, sizeof(pbuf), "TG_RECORDINGS", rel);
}

static void test_okex_is_found_as_okex_and_okx(void **state)
{
    assert_ptr_equal(feed_venue_find("okex"), &feed_venue_okex);
    assert_ptr_equal(feed_venue_find("okx"), &feed_venue_okex);
}

static void check_all_checksums(const char *rel, long want)
{
    vrun_t *v = calloc(1, sizeof(*v));
    feed_offline_t *o = NULL;
    assert_int_equal(vrun_file(rec(rel), v, &o), 0);
    assert_int_equal(v->ck_bad, 0);
    assert_int_equal(v->ck_ok, want);
    assert_int_equal(v->ck_not_last, 0);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(TG_STAT_GET(o->stats.frames), o->rec->data_lines);
    assert_int_equal(vrun_accounted(&o->stats), o->rec->data_lines);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

/* README of the recordings: 1504/1504 and 290/290 messages verified */
static void test_okex_2021_every_recorded_checksum_matches_our_book(void **state)
{
    check_all_checksums(OK_2021, 1504);
}

static void test_okex_2022_every_recorded_checksum_matches_our_book(void **state)
{
    check_all_checksums(OK_2022, 290);
}

/* Book messages per instrument whose asks and bids are both empty (checksum-only updates). */
static long empty_updates(const char *text, const char *inst)
{
    long n = 0;
    char key[96];
    snprintf(key, sizeof(key), "\"instId\":\"%s\"},\"action\":\"update\"", inst);
    for (const char *p = text; (p = strstr(p, key)) != NULL; p++) {
        const char *eol = strchr(p, '\n');
        const char *e = strstr(p, "\"asks\":[],\"bids\":[]");
        if (e && (!eol || e < eol))
            n++;
    }
    return n;
}

static void check_oracle(const char *rel, const char *oracle_name)
{
    char opath[1024];
    oracle_t orc;
    assert_int_equal(
        oracle_load(vrun_path(opath, sizeof(opath), "TG_PEER_EXPECTED", oracle_name), &orc), 0);
    size_t tlen = 0;
    char *text = vrun_slurp(rec(rel), &tlen);
    assert_non_null(text);
    vrun_t *v = calloc(1, sizeof(*v));
    feed_offline_t *o = NULL;
    assert_int_equal(vrun_file(rec(rel), v, &o), 0);
    assert_int_equal(orc.n_syms, (int)o->h.n_instr);
    int diffs = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[i]);
        const oracle_sym_t *os = oracle_find(&orc, in->symbol);
        assert_non_null(os);
        char what[96];
        snprintf(what, sizeof(what), "%s bids", in->symbol);
        diffs += vrun_cmp_side(&v->book[in->id].bid, os->bids, os->n_bids, 10, in->px_scale,
                               in->sz_scale, what);
        snprintf(what, sizeof(what), "%s asks", in->symbol);
        diffs += vrun_cmp_side(&v->book[in->id].ask, os->asks, os->n_asks, 10, in->px_scale,
                               in->sz_scale, what);
        /* whole book: level counts per side equal tardis' */
        assert_int_equal((long)v->book[in->id].bid.n, os->levels_bids);
        assert_int_equal((long)v->book[in->id].ask.n, os->levels_asks);
        assert_int_equal(v->trades[in->id], os->trades);
        assert_int_equal(v->buys[in->id], os->buy_trades);
        assert_int_equal(v->sells[in->id], os->sell_trades);
        /* tardis sums amounts in float64 (e.g. 1.2249539999999999): round to our scale */
        int64_t amount;
        assert_int_equal(oracle_dec(os->trade_amount, in->sz_scale, &amount, NULL), 0);
        assert_int_equal(v->trade_sz[in->id], amount);
        assert_int_equal(v->snapshots[in->id], os->snapshots);
        /* tardis emits no book change for an update with no levels; we emit its checksum */
        assert_int_equal(v->book_msgs[in->id], os->book_changes + empty_updates(text, in->symbol));
    }
    assert_int_equal(diffs, 0);
    free(text);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
    oracle_free(&orc);
}

static void test_okex_2021_books_and_trades_equal_the_oracle(void **state)
{
    check_oracle(OK_2021, "cryptofeed_9a4a9b9d_OKEX.ws.1.tgrec.result.json");
}

static void test_okex_2022_books_and_trades_equal_the_oracle(void **state)
{
    check_oracle(OK_2022, "cryptofeed_ce58c2a0_OKX.ws.1.tgrec.result.json");
}

/* Run text (tgrec) through an opened driver's handler into v. */
static void run_text(feed_offline_t *o, const char *text, size_t len, vrun_t *v)
{
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open_mem(&r, text, len), 0);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    int64_t ts;
    const char *f;
    size_t n;
    int rc;
    while ((rc = feed_tgrec_next(r, &ts, &f, &n)) != 0) {
        if (rc < 0)
            continue;
        feed_frame(&o->h, f, n, ts, ts);
        feed_flush(&o->h);
    }
    feed_tgrec_close(&r);
}

static void test_okex_corrupted_snapshot_level_fails_the_next_checksum(void **state)
{
    size_t len = 0;
    char *text = vrun_slurp(rec(OK_2022), &len);
    assert_non_null(text);
    /* BTC-USDT snapshot: best ask 30243.5 x 1.44679 -> 1.44678 */
    char *p = strstr(text, "\"instId\":\"BTC-USDT\"},\"action\":\"snapshot\"");
    assert_non_null(p);
    p = strstr(p, "[\"30243.5\",\"1.44679\"");
    assert_non_null(p);
    p[18] = '8';
    feed_offline_t *o = NULL;
    assert_int_equal(feed_offline_open(&o, rec(OK_2022), NULL, NULL, 0), 0);
    vrun_t *v = calloc(1, sizeof(*v));
    vrun_init(v, o->reg);
    run_text(o, text, len, v);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-USDT", 8);
    assert_true(v->ck_bad_instr[id] > 0);
    assert_int_equal(v->ck_bad, v->ck_bad_instr[id]);
    assert_int_equal(v->ck_ok + v->ck_bad, 290);
    free(text);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

/* The 2022 recording predates seqId: give every books message a chained seqId/prevSeqId per
 * instrument (as OKX sends today), drop update number `drop_nth` of drop_inst. */
static char *with_seq_ids(const char *text, size_t len, const char *drop_inst, int drop_nth,
                          size_t *out_len, long *dropped_prev)
{
    char *out = malloc(len * 2 + 4096);
    size_t n = 0;
    const char *insts[3] = {"BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT"};
    long seq[3] = {0, 0, 0};
    int upd[3] = {0, 0, 0};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t ll = eol ? (size_t)(eol - p) + 1 : (size_t)(end - p);
        const char *d = NULL;
        int which = -1;
        const char *c = strstr(p, "\"channel\":\"books\"");
        if (p[0] != '#' && c && c < p + ll && (d = strstr(p, "\"data\":[{")) != NULL &&
            d < p + ll) {
            for (int i = 0; i < 3; i++) {
                char key[64];
                snprintf(key, sizeof(key), "\"instId\":\"%s\"}", insts[i]);
                const char *k = strstr(p, key);
                if (k && k < d)
                    which = i;
            }
        }
        if (which < 0) {
            memcpy(out + n, p, ll);
            n += ll;
            p += ll;
            continue;
        }
        const char *a = strstr(p, "\"action\":\"snapshot\"");
        int snap = a != NULL && a < d;
        long prev = snap ? -1 : seq[which];
        long s = seq[which] + 7; /* OKX ids are not contiguous */
        seq[which] = s;
        if (!snap && strcmp(insts[which], drop_inst) == 0 && ++upd[which] == drop_nth) {
            *dropped_prev = prev;
            p += ll; /* the lost message */
            continue;
        }
        size_t head = (size_t)(d - p) + 9;
        memcpy(out + n, p, head);
        n += head;
        n += (size_t)sprintf(out + n, "\"prevSeqId\":%ld,\"seqId\":%ld,", prev, s);
        memcpy(out + n, p + head, ll - head);
        n += ll - head;
        p += ll;
    }
    *out_len = n;
    return out;
}

static void test_okex_dropped_update_breaks_seqid_chain_and_resubscribes(void **state)
{
    size_t len = 0, n2 = 0;
    char *text = vrun_slurp(rec(OK_2022), &len);
    assert_non_null(text);
    long dropped_prev = 0;
    /* first: all messages chained -> no gap, every checksum still verifies */
    char *chained = with_seq_ids(text, len, "", 0, &n2, &dropped_prev);
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(OK_2022), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    run_text(o, chained, n2, v);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(v->ck_ok, 290);
    feed_offline_close(&o);
    vrun_free(v);
    free(chained);
    /* then: update 10 of BTC-USDT lost */
    char *lossy = with_seq_ids(text, len, "BTC-USDT", 10, &n2, &dropped_prev);
    assert_int_equal(feed_offline_open(&o, rec(OK_2022), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    uint64_t sent = o->sent;
    run_text(o, lossy, n2, v);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-USDT", 8);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(v->gaps[id], 1);
    assert_int_equal(v->last_gap.kind, TG_EV_GAP);
    assert_int_equal(v->last_gap.seq, (uint64_t)dropped_prev);       /* last good seqId */
    assert_int_equal(v->last_gap.u.aux, (uint64_t)dropped_prev + 7); /* prevSeqId received */
    assert_int_equal(o->sent, sent + 2);                             /* unsubscribe + subscribe */
    assert_int_equal(v->ck_bad, 0); /* nothing applied on a broken chain */
    assert_true(TG_STAT_GET(o->stats.stale_dropped) > 0);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
    free(lossy);
    free(text);
}

static int feed1(feed_offline_t *o, const char *s)
{
    int rc = feed_frame(&o->h, s, strlen(s), 1000, 1000);
    feed_flush(&o->h);
    return rc;
}

static void test_okex_seqid_rules_allow_no_change_and_reset_messages(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(OK_2022), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    const char *pre = "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},\"action\":";
    char f[512];
    snprintf(f, sizeof(f),
             "%s\"snapshot\",\"data\":[{\"asks\":[[\"2\",\"1\",\"0\",\"1\"]],\"bids\":[[\"1\","
             "\"1\",\"0\",\"1\"]],\"ts\":\"1\",\"checksum\":0,\"prevSeqId\":-1,\"seqId\":100}]}",
             pre);
    assert_int_equal(feed1(o, f), 0);
    /* no-change message: seqId == prevSeqId */
    snprintf(f, sizeof(f),
             "%s\"update\",\"data\":[{\"asks\":[],\"bids\":[],\"ts\":\"2\",\"checksum\":0,"
             "\"prevSeqId\":100,\"seqId\":100}]}",
             pre);
    assert_int_equal(feed1(o, f), 0);
    /* sequence reset after maintenance: seqId < prevSeqId, still chained by prevSeqId */
    snprintf(f, sizeof(f),
             "%s\"update\",\"data\":[{\"asks\":[[\"3\",\"1\",\"0\",\"1\"]],\"bids\":[],\"ts\":"
             "\"3\",\"checksum\":0,\"prevSeqId\":100,\"seqId\":5}]}",
             pre);
    assert_int_equal(feed1(o, f), 0);
    snprintf(f, sizeof(f),
             "%s\"update\",\"data\":[{\"asks\":[[\"3\",\"0\",\"0\",\"0\"]],\"bids\":[],\"ts\":"
             "\"4\",\"checksum\":0,\"prevSeqId\":5,\"seqId\":9}]}",
             pre);
    assert_int_equal(feed1(o, f), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(TG_STAT_GET(o->stats.checksum_msgs), 0); /* checksum 0 = none (2026) */
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-USDT", 8);
    assert_int_equal(v->book[id].ask.n, 1);
    assert_int_equal(v->book[id].ask.px[0], 20000000000);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static void test_okex_books5_messages_are_full_snapshots(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(OK_2022), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    const char *f1 = "{\"arg\":{\"channel\":\"books5\",\"instId\":\"BTC-USDT\"},\"data\":[{"
                     "\"asks\":[[\"30243.5\",\"1\",\"0\",\"1\"],[\"30244\",\"2\",\"0\",\"1\"]],"
                     "\"bids\":[[\"30240\",\"3\",\"0\",\"1\"]],\"instId\":\"BTC-USDT\","
                     "\"ts\":\"1652459225464\"}]}";
    const char *f2 = "{\"arg\":{\"channel\":\"books5\",\"instId\":\"BTC-USDT\"},\"data\":[{"
                     "\"asks\":[[\"30250\",\"1\",\"0\",\"1\"]],\"bids\":[[\"30241\",\"3\",\"0\","
                     "\"1\"]],\"instId\":\"BTC-USDT\",\"ts\":\"1652459225564\"}]}";
    assert_int_equal(feed1(o, f1), 0);
    assert_int_equal(feed1(o, f2), 0);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-USDT", 8);
    assert_int_equal(v->snapshots[id], 2);
    assert_int_equal(v->book[id].ask.n, 1); /* replaced, not merged */
    assert_int_equal(v->book[id].ask.px[0], 302500000000000);
    assert_int_equal(v->book[id].bid.px[0], 302410000000000);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static void test_okex_bad_input_is_counted_and_a_bad_level_resyncs(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(OK_2022), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    const char *snap = "{\"arg\":{\"channel\":\"books\",\"instId\":\"UNI-USD-SWAP\"},\"action\":"
                       "\"snapshot\",\"data\":[{\"asks\":[[\"5.148\",\"60\",\"0\",\"1\"]],"
                       "\"bids\":[[\"5.14\",\"3\",\"0\",\"1\"]],\"ts\":\"1652459225464\"}]}";
    assert_int_equal(feed1(o, snap), 0);
    assert_int_equal(feed1(o, "pong"), 0);
    assert_int_equal(feed1(o, "{\"event\":\"subscribe\",\"arg\":{\"channel\":\"books\"}}"), 0);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 2);
    assert_int_equal(
        feed1(o, "{\"event\":\"error\",\"code\":\"60018\",\"msg\":\"Wrong URL or channel\"}"),
        TG_EPROTO);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(feed1(o, "{\"arg\":{\"channel\":\"books\",\"instId\":\"UNI-USD-SWAP\"},"),
                     TG_EJSON);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1);
    assert_int_equal(
        feed1(o, "{\"arg\":{\"channel\":\"books\",\"instId\":\"ETH-USDT\"},\"action\":\"update\","
                 "\"data\":[{\"asks\":[],\"bids\":[]}]}"),
        TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    uint64_t sent = o->sent;
    assert_int_equal(
        feed1(o, "{\"arg\":{\"channel\":\"books\",\"instId\":\"UNI-USD-SWAP\"},\"action\":"
                 "\"update\",\"data\":[{\"asks\":[[\"1e400\",\"1\",\"0\",\"1\"]],\"bids\":[]}]}"),
        TG_EDEC_SYNTAX);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "UNI-USD-SWAP", 12);
    assert_int_equal(v->gaps[id], 1);
    assert_int_equal(o->sent, sent + 2);
    assert_int_equal(feed1(o, snap), 0);
    assert_int_equal(
        feed1(o, "{\"arg\":{\"channel\":\"books\",\"instId\":\"UNI-USD-SWAP\"},\"action\":"
                 "\"update\",\"data\":[{\"asks\":[[\"5.1\",{},\"0\",\"1\"]],\"bids\":[]}]}"),
        TG_EFIELD);
    assert_int_equal(TG_STAT_GET(o->stats.err_field), 1);
    assert_int_equal(v->gaps[id], 2);
    /* trades: a bad side drops the frame, nothing emitted */
    long tr = v->trades[id];
    assert_int_equal(
        feed1(o, "{\"arg\":{\"channel\":\"trades\",\"instId\":\"UNI-USD-SWAP\"},\"data\":[{"
                 "\"instId\":\"UNI-USD-SWAP\",\"tradeId\":\"1\",\"px\":\"5.1\",\"sz\":\"1\","
                 "\"side\":\"up\",\"ts\":\"1652459215150\"}]}"),
        TG_EFIELD);
    assert_int_equal(v->trades[id], tr);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
/* TG_FUZZ_SEED=<n> picks another sequence of mutations; TG_FUZZ_ITERS=<n> runs longer. */
static int fuzz_iters(int dflt)
{
    const char *e = getenv("TG_FUZZ_SEED");
    if (e && strtoull(e, NULL, 0))
        rng = strtoull(e, NULL, 0);
    e = getenv("TG_FUZZ_ITERS");
    return e && atoi(e) > 0 ? atoi(e) : dflt;
}

static uint64_t xrand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void fuzz_file(const char *rel, int iters)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(rel), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    size_t nf = o->rec->data_lines, k = 0;
    const char **fr = calloc(nf, sizeof(*fr));
    size_t *fl = calloc(nf, sizeof(*fl));
    int64_t ts;
    while (k < nf && feed_tgrec_next(o->rec, &ts, &fr[k], &fl[k]) == 1)
        k++;
    nf = k;
    for (int it = 0; it < iters; it++) {
        size_t i = xrand() % nf;
        size_t len = fl[i];
        char *b = malloc(len + 1);
        memcpy(b, fr[i], len);
        switch (xrand() % 5) {
        case 0:
            for (int j = 0; j < 1 + (int)(xrand() % 4); j++)
                b[xrand() % len] = (char)(xrand() & 0xff);
            break;
        case 1:
            len = xrand() % len;
            break;
        case 2:
            for (size_t j = 0; j < len; j++)
                if (strchr("[]{}\",:", b[j]) && xrand() % 8 == 0) {
                    b[j] = "[]{}\",:x"[xrand() % 8];
                    break;
                }
            break;
        case 3:
            for (size_t j = 0; j < len; j++)
                if (b[j] >= '0' && b[j] <= '9' && xrand() % 16 == 0)
                    b[j] = '9';
            break;
        default:
            break;
        }
        char *exact = malloc(len ? len : 1);
        memcpy(exact, b, len);
        uint64_t frames = TG_STAT_GET(o->stats.frames), errs = vrun_errors(&o->stats);
        uint64_t acc = vrun_accounted(&o->stats);
        int rc = feed_frame(&o->h, exact, len, 1, 1);
        feed_flush(&o->h);
        assert_int_equal(TG_STAT_GET(o->stats.frames), frames + 1);
        assert_int_equal(vrun_errors(&o->stats), errs + (rc < 0 ? 1 : 0));
        assert_int_equal(vrun_accounted(&o->stats), acc + 1);
        assert_int_equal(v->in_msg, 0);
        free(exact);
        free(b);
    }
    assert_true(vrun_errors(&o->stats) > 0);
    free(fr);
    free(fl);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static void test_okex_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    fuzz_file(OK_2021, fuzz_iters(10000));
    fuzz_file(OK_2022, fuzz_iters(10000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_okex_is_found_as_okex_and_okx),
        cmocka_unit_test(test_okex_2021_every_recorded_checksum_matches_our_book),
        cmocka_unit_test(test_okex_2022_every_recorded_checksum_matches_our_book),
        cmocka_unit_test(test_okex_2021_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_okex_2022_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_okex_corrupted_snapshot_level_fails_the_next_checksum),
        cmocka_unit_test(test_okex_dropped_update_breaks_seqid_chain_and_resubscribes),
        cmocka_unit_test(test_okex_seqid_rules_allow_no_change_and_reset_messages),
        cmocka_unit_test(test_okex_books5_messages_are_full_snapshots),
        cmocka_unit_test(test_okex_bad_input_is_counted_and_a_bad_level_resyncs),
        cmocka_unit_test(test_okex_mutated_frames_never_crash_and_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

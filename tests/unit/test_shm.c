/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the shared-memory sink (storage/shm/store_shm.h, layout shm_layout.h) and the
 * client's shm:// source (client/tg_client_shm.c), on real POSIX shared memory:
 *  - the layout is checked: a segment being created is "again", another version or size is
 *    refused (-EPROTO), by tg_shm_check and by tg_client_connect;
 *  - books (levels, scales, state, generation), trades and status notices written by the
 *    sink arrive through the client's usual event API;
 *  - a reader lapped by the ring reports trade holes that, with the trades it got, account for
 *    every trade exactly, and gets every book back whole;
 *  - a reader blocked in tg_client_next() sleeps on the futex and is woken by a publish (the
 *    writer's wake counter proves it slept);
 *  - a closed segment is reported (DISCONNECTED) and a new one joined (EPOCH, CONNECTED);
 *  - stress (also in the tsan suite): the real writer thread publishes TG_SHM_STRESS_N book
 *    records whose exchange sequence is a checksum of the levels, while one thread hammers
 *    the slots through its own mapping (tg_shm_slot_read) and another follows the client API:
 *    no torn book is ever accepted.
 * Thread: the stress test runs the writer:shm thread, a raw reader and a client reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tickgate/client.h>

#include "book/tg_clock.h"
#include "book/tg_instr.h"
#include "storage/shm/shm_layout.h"
#include "storage/shm/store_shm.h"
#include "tests/fixtures/out_rec.h"

#define N_INSTR 3

typedef struct fx {
    char name[64], url[80];
    tg_instr_reg_t *reg;
    store_shm_t *w;
    tg_client_t *cl;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    static int n;
    snprintf(f->name, sizeof(f->name), "/tg-test-shm-%d-%d", (int)getpid(), ++n);
    snprintf(f->url, sizeof(f->url), "shm://%s", f->name);
    if (tg_instr_reg_create(&f->reg))
        return -1;
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    static const char *const syms[N_INSTR] = {"BTCUSDT", "ETHUSDT", "XBT/USD"};
    for (int i = 0; i < N_INSTR; i++) {
        uint32_t id;
        if (tg_instr_reg_add(f->reg, i < 2 ? "binance" : "kraken", syms[i], &ic, &id))
            return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    tg_client_destroy(&f->cl);
    store_shm_destroy(&f->w);
    tg_instr_reg_destroy(&f->reg);
    shm_unlink(f->name);
    free(f);
    return 0;
}

static void writer_open(fx_t *f, uint32_t ring, tg_ring_t *in)
{
    store_shm_cfg_t c;
    store_shm_cfg_defaults(&c);
    c.name = f->name;
    c.reg = f->reg;
    c.ring_entries = ring;
    c.ring = in;
    c.mode = 0600;
    char err[256] = "";
    int rc = store_shm_create(&f->w, &c, err, sizeof(err));
    if (rc)
        fail_msg("store_shm_create: %d %s", rc, err);
}

static void client_open(fx_t *f, unsigned kinds)
{
    tg_client_cfg_t cc;
    tg_client_cfg_defaults(&cc);
    cc.url = f->url;
    assert_int_equal(tg_client_create(&f->cl, &cc), 0);
    assert_int_equal(tg_client_subscribe(f->cl, "*", "*", kinds, "*"), 0);
    assert_int_equal(tg_client_connect(f->cl), 0);
}

/* Next event within 2 s (fails otherwise). */
static tg_client_event_t next_ev(fx_t *f)
{
    tg_client_event_t ev;
    int rc = tg_client_next(f->cl, &ev, 2000);
    if (rc != 1)
        fail_msg("tg_client_next: %d", rc);
    return ev;
}

/* A book record whose exchange sequence is a checksum of everything else. */
static uint64_t book_sum(uint64_t gen, const int64_t (*b)[2], unsigned nb, const int64_t (*a)[2],
                         unsigned na)
{
    uint64_t h = 1469598103934665603ull ^ gen;
    for (unsigned i = 0; i < nb; i++)
        h = (h ^ (uint64_t)b[i][0] ^ ((uint64_t)b[i][1] << 1)) * 1099511628211ull;
    h = (h ^ nb ^ ((uint64_t)na << 8)) * 1099511628211ull;
    for (unsigned i = 0; i < na; i++)
        h = (h ^ (uint64_t)a[i][0] ^ ((uint64_t)a[i][1] << 1)) * 1099511628211ull;
    return h;
}

/* A record of this kind for instr, scaled at 2/8, the rest zero. */
static book_out_t rec_of(int kind, uint32_t instr)
{
    return tu_out_rec(kind, instr, BOOK_OUT_F_SCALED, 2, 8);
}

static book_out_t book_rec(uint32_t instr, uint64_t k)
{
    book_out_t r = rec_of(BOOK_OUT_BOOK, instr);
    r.ts_mono = tg_clock_mono_ns();
    r.ts_exch = (int64_t)k;
    r.u.book.generation = k;
    r.u.book.state = 1; /* BOOK_STATE_VALID */
    r.u.book.reason = BOOK_OUT_R_CHANGE;
    r.u.book.n_bids = (uint8_t)(1 + k % 20);
    r.u.book.n_asks = (uint8_t)(1 + (k * 7) % 20);
    r.u.book.depth_bids = 100;
    r.u.book.depth_asks = 200;
    int64_t b[20][2], a[20][2];
    for (unsigned j = 0; j < 20; j++) {
        b[j][0] = r.u.book.bids[j].price = (int64_t)(k * 1000 - j);
        b[j][1] = r.u.book.bids[j].size = (int64_t)(k + j * 3 + 1);
        a[j][0] = r.u.book.asks[j].price = (int64_t)(k * 1000 + 1 + j);
        a[j][1] = r.u.book.asks[j].size = (int64_t)(k * 5 + j + 1);
    }
    r.u.book.seq = book_sum(k, b, r.u.book.n_bids, a, r.u.book.n_asks);
    return r;
}

static book_out_t trade_rec(uint32_t instr, uint64_t k)
{
    book_out_t r = rec_of(BOOK_OUT_TRADE, instr);
    r.u.trade.price = (int64_t)(6500000 + k);
    r.u.trade.size = (int64_t)(k * 10 + 1);
    r.u.trade.trade_id = 1000 + k;
    r.u.trade.side = 1 + (k & 1);
    return r;
}

/* The client's book satisfies the checksum of book_rec(). */
static bool client_book_ok(const tg_client_book_t *b)
{
    int64_t bb[20][2], aa[20][2];
    if (b->n_bids > 20 || b->n_asks > 20)
        return false;
    for (unsigned i = 0; i < b->n_bids; i++) {
        bb[i][0] = b->bids[i].px.v;
        bb[i][1] = b->bids[i].sz.v;
    }
    for (unsigned i = 0; i < b->n_asks; i++) {
        aa[i][0] = b->asks[i].px.v;
        aa[i][1] = b->asks[i].sz.v;
    }
    return b->exch_seq == book_sum(b->generation, bb, b->n_bids, aa, b->n_asks);
}

/* ---- layout ---------------------------------------------------------------------------- */

static void test_layout_is_checked_and_another_version_is_refused(void **state)
{
    fx_t *f = *state;
    writer_open(f, 1024, NULL);
    int fd = shm_open(f->name, O_RDONLY, 0);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_true((uint64_t)st.st_size == store_shm_size(f->w));
    tg_shm_hdr_t *h = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(h != MAP_FAILED);
    assert_int_equal(tg_shm_check(h, (uint64_t)st.st_size), 0);
    assert_int_equal(h->n_instr, N_INSTR);
    assert_int_equal(h->depth, 20);
    assert_string_equal(tg_shm_dir(h, 2)->venue, "kraken");
    assert_string_equal(tg_shm_dir(h, 2)->symbol, "XBT/USD");
    assert_int_equal(tg_shm_check(h, (uint64_t)st.st_size - 1), -EPROTO); /* truncated */

    /* copies of the control page with one field changed each */
    _Alignas(64) unsigned char page[TG_SHM_CTL_SIZE];
    tg_shm_hdr_t *c = (tg_shm_hdr_t *)page;
    memcpy(page, h, sizeof(page));
    atomic_store(&c->magic, 0);
    assert_int_equal(tg_shm_check(c, (uint64_t)st.st_size), -EAGAIN);
    memcpy(page, h, sizeof(page));
    c->version = TG_SHM_VERSION + 1;
    assert_int_equal(tg_shm_check(c, (uint64_t)st.st_size), -EPROTO);
    memcpy(page, h, sizeof(page));
    c->slot_size += 64;
    assert_int_equal(tg_shm_check(c, (uint64_t)st.st_size), -EPROTO);
    memcpy(page, h, sizeof(page));
    c->ring_cap = 1000; /* not a power of two */
    assert_int_equal(tg_shm_check(c, (uint64_t)st.st_size), -EPROTO);

    /* a segment of another version under a name: the client refuses it */
    char bad[80];
    snprintf(bad, sizeof(bad), "%s-v2", f->name);
    fd = shm_open(bad, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)st.st_size), 0);
    memcpy(page, h, sizeof(page));
    c->version = 2;
    assert_true(pwrite(fd, page, sizeof(page), 0) == (ssize_t)sizeof(page));
    close(fd);
    tg_client_cfg_t cc;
    tg_client_cfg_defaults(&cc);
    char url[100];
    snprintf(url, sizeof(url), "shm://%s", bad);
    cc.url = url;
    tg_client_t *cl = NULL;
    assert_int_equal(tg_client_create(&cl, &cc), 0);
    assert_int_equal(tg_client_subscribe(cl, "*", "*", TG_CLIENT_SUB_ALL, "*"), 0);
    assert_int_equal(tg_client_connect(cl), -EPROTO);
    assert_non_null(strstr(tg_client_errstr(cl), "layout"));
    tg_client_destroy(&cl);
    shm_unlink(bad);
    /* no segment at all */
    snprintf(url, sizeof(url), "shm://%s-none", f->name);
    assert_int_equal(tg_client_create(&cl, &cc), 0);
    assert_int_equal(tg_client_subscribe(cl, "*", "*", TG_CLIENT_SUB_ALL, "*"), 0);
    assert_int_equal(tg_client_connect(cl), -ECONNREFUSED);
    assert_int_equal(tg_client_fd(cl), -EOPNOTSUPP);
    tg_client_destroy(&cl);
    munmap(h, (size_t)st.st_size);
}

/* ---- the event API --------------------------------------------------------------------- */

static void test_books_trades_and_status_arrive_through_the_client_api(void **state)
{
    fx_t *f = *state;
    writer_open(f, 1024, NULL);
    book_out_t pre = book_rec(1, 5); /* before the client joins: a join snapshot */
    store_shm_push(f->w, &pre, 1);
    client_open(f, TG_CLIENT_SUB_BOOK | TG_CLIENT_SUB_TRADES);
    tg_client_event_t ev = next_ev(f);
    assert_int_equal(ev.kind, TG_CLIENT_EV_BOOK);
    assert_int_equal(ev.from_key, 1);
    assert_string_equal(ev.symbol, "ETHUSDT");
    assert_string_equal(ev.channel, "tg.book.binance.ETHUSDT");
    assert_true(client_book_ok(ev.u.book));
    assert_int_equal(next_ev(f).kind, TG_CLIENT_EV_CONNECTED);
    assert_int_equal(tg_client_next(f->cl, &ev, 0), 0);

    book_out_t r[4] = {book_rec(0, 7), trade_rec(2, 1), trade_rec(2, 2), {0}};
    r[3].kind = BOOK_OUT_GAP;
    r[3].instr = 0;
    r[3].u.gap =
        (book_out_gap_t){.seq_last = 41, .seq_got = 44, .generation = 8, .state = 0, .reason = 1};
    /* the book alone first: a reader copies the newest slot (here it would already hold the
       gap's state: latest wins) */
    store_shm_push(f->w, r, 1);
    ev = next_ev(f);
    assert_int_equal(ev.kind, TG_CLIENT_EV_BOOK);
    assert_int_equal(ev.from_key, 0);
    const tg_client_book_t *b = ev.u.book;
    assert_int_equal(b->state, TG_CLIENT_STATE_VALID);
    assert_int_equal(b->generation, 7);
    assert_int_equal(b->n_bids, 8);
    assert_int_equal(b->n_asks, 10);
    assert_int_equal(b->depth_bids, 100);
    assert_int_equal(b->bids[0].px.v, 7000);
    assert_int_equal(b->bids[0].px.scale, 2);
    assert_int_equal(b->asks[9].sz.v, 7 * 5 + 9 + 1);
    assert_int_equal(b->asks[9].sz.scale, 8);
    assert_string_equal(b->reason, "change");
    assert_true(client_book_ok(b));
    store_shm_push(f->w, r + 1, 3);
    for (int i = 1; i <= 2; i++) {
        ev = next_ev(f);
        assert_int_equal(ev.kind, TG_CLIENT_EV_TRADE);
        assert_string_equal(ev.venue, "kraken");
        assert_string_equal(ev.channel, "tg.trades.kraken.XBT/USD");
        assert_int_equal(ev.seq, i);
        assert_int_equal(ev.u.trade.price.v, 6500000 + i);
        assert_int_equal(ev.u.trade.size.v, i * 10 + 1);
        assert_int_equal(ev.u.trade.trade_id, 1000 + i);
        assert_int_equal(ev.u.trade.side, i == 1 ? TG_CLIENT_SIDE_SELL : TG_CLIENT_SIDE_BUY);
    }
    ev = next_ev(f);
    assert_int_equal(ev.kind, TG_CLIENT_EV_STATUS);
    assert_int_equal(ev.u.status.state, TG_CLIENT_STATE_RESYNCING);
    assert_int_equal(ev.u.status.generation, 8);
    assert_int_equal(ev.u.status.seq_last, 41);
    assert_int_equal(ev.u.status.seq_got, 44);
    assert_string_equal(ev.u.status.reason, "sequence");
    b = tg_client_book(f->cl, "binance", "BTCUSDT");
    assert_non_null(b);
    assert_int_equal(b->state, TG_CLIENT_STATE_RESYNCING);
    assert_int_equal(b->generation, 8);
    assert_int_equal(b->n_bids, 8); /* levels kept, state changed */
    assert_null(tg_client_book(f->cl, "kraken", "XBT/USD"));
    assert_int_equal(tg_client_next(f->cl, &ev, 0), 0);
    tg_client_counters_t ctr;
    tg_client_counters(f->cl, &ctr);
    assert_int_equal(ctr.channels, 2 * N_INSTR);
    assert_int_equal(ctr.holes, 0);
    assert_int_equal(ctr.keys, 1);
    assert_int_equal(ctr.messages, 4);
}

static void test_a_lapped_reader_accounts_for_every_trade_and_gets_books_back(void **state)
{
    fx_t *f = *state;
    writer_open(f, 1024, NULL);
    client_open(f, TG_CLIENT_SUB_BOOK | TG_CLIENT_SUB_TRADES);
    assert_int_equal(next_ev(f).kind, TG_CLIENT_EV_CONNECTED);
    uint64_t total = 0, got = 0, missing = 0, last = 0, holes = 0, books = 0;
    tg_client_event_t ev;
    for (int round = 0; round < 10; round++) {
        /* odd rounds: 3000 notices between two reads (three ring laps); even: 400 (none) */
        for (int k = 0; k < (round & 1 ? 1500 : 200); k++) {
            book_out_t r[2] = {trade_rec(2, ++total), book_rec(0, total)};
            store_shm_push(f->w, r, 2);
        }
        int rc;
        while ((rc = tg_client_next(f->cl, &ev, 0)) == 1) {
            if (ev.kind == TG_CLIENT_EV_TRADE) {
                assert_true(ev.seq > last);
                assert_int_equal(ev.u.trade.price.v, 6500000 + (int64_t)ev.seq);
                last = ev.seq;
                got++;
            } else if (ev.kind == TG_CLIENT_EV_HOLE && ev.chan_kind == TG_CLIENT_CH_TRADES) {
                assert_int_equal(ev.u.hole.recovered, 0);
                assert_true(ev.u.hole.seq_after + ev.u.hole.missing == ev.seq ||
                            ev.u.hole.seq_after + ev.u.hole.missing + 1 == ev.seq);
                missing += ev.u.hole.missing;
                last = ev.u.hole.seq_after + ev.u.hole.missing;
                holes++;
            } else if (ev.kind == TG_CLIENT_EV_HOLE) {
                assert_int_equal(ev.u.hole.recovered, 1);
                assert_int_equal(ev.u.hole.source, TG_CLIENT_SRC_SHM);
            } else if (ev.kind == TG_CLIENT_EV_BOOK) {
                assert_true(client_book_ok(ev.u.book));
                books++;
            }
        }
        assert_int_equal(rc, 0);
        const tg_client_book_t *b = tg_client_book(f->cl, "binance", "BTCUSDT");
        assert_non_null(b);
        assert_int_equal(b->generation, total); /* the newest book, whole */
    }
    printf("# %llu trades: %llu delivered, %llu reported missing in %llu holes; %llu books\n",
           (unsigned long long)total, (unsigned long long)got, (unsigned long long)missing,
           (unsigned long long)holes, (unsigned long long)books);
    assert_true(holes >= 5);
    assert_true(got > 0);
    assert_true(got + missing == total);
}

/* ---- blocking -------------------------------------------------------------------------- */

typedef struct blk {
    tg_client_t *cl;
    atomic_int rc, kind;
} blk_t;

static void *blocked_reader(void *arg)
{
    blk_t *b = arg;
    tg_client_event_t ev;
    int rc = tg_client_next(b->cl, &ev, 10000);
    atomic_store(&b->kind, rc == 1 ? (int)ev.kind : 0);
    atomic_store(&b->rc, rc);
    return NULL;
}

static void test_a_blocked_reader_sleeps_on_the_futex_and_wakes_on_publish(void **state)
{
    fx_t *f = *state;
    writer_open(f, 1024, NULL);
    client_open(f, TG_CLIENT_SUB_TRADES);
    assert_int_equal(next_ev(f).kind, TG_CLIENT_EV_CONNECTED);
    blk_t b = {.cl = f->cl, .rc = -100};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, blocked_reader, &b), 0);
    /* wait until the reader announced it sleeps (the flag in the control page) */
    int fd = shm_open(f->name, O_RDONLY, 0);
    assert_true(fd >= 0);
    tg_shm_hdr_t *h = mmap(NULL, TG_SHM_CTL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    assert_true(h != MAP_FAILED);
    for (int i = 0; i < 5000 && !atomic_load(&h->sleepers); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    assert_int_equal(atomic_load(&h->sleepers), 1);
    assert_int_equal(atomic_load(&b.rc), -100); /* still inside tg_client_next */
    book_out_t r = trade_rec(1, 1);
    store_shm_push(f->w, &r, 1);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&b.rc), 1);
    assert_int_equal(atomic_load(&b.kind), TG_CLIENT_EV_TRADE);
    assert_true(TG_STAT_GET(store_shm_stats(f->w)->wakes) >= 1);
    /* the flag was cleared by the wake: the next batch costs no system call */
    uint64_t w0 = TG_STAT_GET(store_shm_stats(f->w)->wakes);
    store_shm_push(f->w, &r, 1);
    assert_true(TG_STAT_GET(store_shm_stats(f->w)->wakes) == w0);
    munmap(h, TG_SHM_CTL_SIZE);
}

static void test_a_closed_segment_is_reported_and_a_new_one_joined(void **state)
{
    fx_t *f = *state;
    writer_open(f, 1024, NULL);
    book_out_t r = book_rec(0, 3);
    store_shm_push(f->w, &r, 1);
    client_open(f, TG_CLIENT_SUB_BOOK);
    assert_int_equal(next_ev(f).kind, TG_CLIENT_EV_BOOK);
    assert_int_equal(next_ev(f).kind, TG_CLIENT_EV_CONNECTED);
    store_shm_destroy(&f->w); /* CLOSED, wakes, unlinks */
    tg_client_event_t ev = next_ev(f);
    assert_int_equal(ev.kind, TG_CLIENT_EV_DISCONNECTED);
    assert_non_null(strstr(ev.text, "closed"));
    assert_non_null(tg_client_book(f->cl, "binance", "BTCUSDT")); /* the held book stays */
    nanosleep(&(struct timespec){0, 5000000}, NULL);              /* a later epoch */
    writer_open(f, 1024, NULL);
    r = book_rec(0, 9);
    store_shm_push(f->w, &r, 1);
    ev = next_ev(f);
    assert_int_equal(ev.kind, TG_CLIENT_EV_EPOCH);
    ev = next_ev(f);
    assert_int_equal(ev.kind, TG_CLIENT_EV_BOOK);
    assert_int_equal(ev.u.book->generation, 9);
    assert_int_equal(next_ev(f).kind, TG_CLIENT_EV_CONNECTED);
    tg_client_counters_t ctr;
    tg_client_counters(f->cl, &ctr);
    assert_int_equal(ctr.disconnects, 1);
    assert_int_equal(ctr.reconnects, 1);
    assert_int_equal(ctr.epochs, 1);
}

/* ---- stress: no torn read accepted ----------------------------------------------------- */

typedef struct stress {
    fx_t *f;
    atomic_int done;
    uint64_t raw_reads, raw_bad, raw_busy, cl_books, cl_bad;
} stress_t;

/* Hammer every slot through a separate read-only mapping, as another process would. */
static void *raw_reader(void *arg)
{
    stress_t *s = arg;
    int fd = shm_open(s->f->name, O_RDONLY, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return NULL;
    tg_shm_hdr_t *h = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (h == MAP_FAILED || tg_shm_check(h, (uint64_t)st.st_size) != 0)
        return NULL;
    tg_shm_book_t b;
    for (uint32_t i = 0; !atomic_load_explicit(&s->done, memory_order_relaxed); i++) {
        int rc = tg_shm_slot_read(h, tg_shm_slot(h, i % N_INSTR), 20, &b, 64);
        if (rc < 0) {
            s->raw_busy++;
            continue;
        }
        if (rc == 0)
            continue;
        s->raw_reads++;
        uint64_t meta = b.w[TG_SHM_W_META];
        unsigned nb = (unsigned)(meta >> 32) & 0xffffu, na = (unsigned)(meta >> 48);
        if (nb != b.n_bids || na != b.n_asks ||
            b.w[TG_SHM_W_XSEQ] != book_sum(b.w[TG_SHM_W_GEN], (const int64_t(*)[2])b.bids, nb,
                                           (const int64_t(*)[2])b.asks, na))
            s->raw_bad++;
    }
    munmap(h, (size_t)st.st_size);
    return NULL;
}

static void *client_reader(void *arg)
{
    stress_t *s = arg;
    tg_client_event_t ev;
    while (!atomic_load_explicit(&s->done, memory_order_relaxed)) {
        if (tg_client_next(s->f->cl, &ev, 0) != 1)
            continue;
        if (ev.kind == TG_CLIENT_EV_BOOK) {
            s->cl_books++;
            if (!client_book_ok(ev.u.book))
                s->cl_bad++;
        }
    }
    return NULL;
}

static void test_readers_hammering_the_slots_never_accept_a_torn_book(void **state)
{
    fx_t *f = *state;
    const char *e = getenv("TG_SHM_STRESS_N");
    uint64_t n = e ? strtoull(e, NULL, 10) : 300000;
    tg_ring_t *ring = NULL;
    assert_int_equal(tg_ring_create(&ring, 1024, sizeof(book_out_t)), 0);
    writer_open(f, 4096, ring);
    client_open(f, TG_CLIENT_SUB_BOOK);
    stress_t s = {.f = f};
    pthread_t r1, r2;
    assert_int_equal(pthread_create(&r1, NULL, raw_reader, &s), 0);
    assert_int_equal(pthread_create(&r2, NULL, client_reader, &s), 0);
    assert_int_equal(store_shm_start(f->w), 0);
    for (uint64_t k = 1; k <= n; k++) {
        book_out_t r = book_rec((uint32_t)(k % N_INSTR), k);
        while (!tg_ring_spsc_push(ring, &r))
            sched_yield();
    }
    assert_int_equal(store_shm_stop(f->w), 0);
    atomic_store(&s.done, 1);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    const store_shm_stats_t *st = store_shm_stats(f->w);
    printf("# %llu book records written; raw reader: %llu consistent reads, %llu gave up "
           "(writer busy), %llu torn accepted; client: %llu books, %llu torn\n",
           (unsigned long long)TG_STAT_GET(st->books), (unsigned long long)s.raw_reads,
           (unsigned long long)s.raw_busy, (unsigned long long)s.raw_bad,
           (unsigned long long)s.cl_books, (unsigned long long)s.cl_bad);
    assert_true(TG_STAT_GET(st->books) == n);
    assert_true(s.raw_reads > 0);
    assert_true(s.cl_books > 0);
    assert_true(s.raw_bad == 0);
    assert_true(s.cl_bad == 0);
    store_shm_destroy(&f->w);
    tg_ring_destroy(&ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layout_is_checked_and_another_version_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_books_trades_and_status_arrive_through_the_client_api,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_lapped_reader_accounts_for_every_trade_and_gets_books_back, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_blocked_reader_sleeps_on_the_futex_and_wakes_on_publish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_closed_segment_is_reported_and_a_new_one_joined,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_readers_hammering_the_slots_never_accept_a_torn_book,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the Redis publisher against a real redis-server
 * (tests/fixtures/services.sh: TG_TEST_REDIS_URL, TG_TEST_REDIS_PORT, TG_TEST_REDIS_PIDFILE;
 * exit 77 when unset). A second hiredis connection SUBSCRIBEs and checks what a user would
 * see: contents, per-channel sequence numbers, snapshot keys and their TTLs; then the server
 * is killed and restarted on the same port; then bad configurations must fail fast and clearly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "book/book_out.h"
#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "storage/redis/store_rds.h"
#include "tests/fixtures/it_pipeline.h"
#include "tests/fixtures/it_rds_synth.h"
#include "tests/fixtures/it_redis_restart.h"
#include "tests/fixtures/test_rds_json.h"

static const char *g_url;
static int g_port;
static const char *g_pidfile;

typedef struct fx {
    tg_instr_reg_t *reg;
    uint32_t aaa, bbb;
    tg_ring_t *ring;
    store_rds_t *pub;
    store_rds_cfg_t cfg;
    redisContext *sub;
    pthread_mutex_t log_mu;
    char log[16384];
} fx_t;

static void log_cb(void *ud, int level, const char *msg)
{
    fx_t *f = ud;
    pthread_mutex_lock(&f->log_mu);
    size_t n = strlen(f->log);
    snprintf(f->log + n, sizeof(f->log) - n, "%s\n", msg);
    pthread_mutex_unlock(&f->log_mu);
}

static redisContext *connect_url(void)
{
    redisContext *c = redisConnect("127.0.0.1", g_port);
    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    pthread_mutex_init(&f->log_mu, NULL);
    tg_instr_cfg_t ic = it_rds_synth_instr();
    if (tg_instr_reg_create(&f->reg) ||
        tg_instr_reg_add(f->reg, "testv", "AAA-USD", &ic, &f->aaa) ||
        tg_instr_reg_add(f->reg, "testv", "BBB-USD", &ic, &f->bbb))
        return -1;
    if (it_rds_fx_open(&f->ring, &f->cfg, g_url, f->reg, log_cb, f))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    it_rds_fx_close(&f->pub, &f->ring, &f->reg);
    if (f->sub)
        redisFree(f->sub);
    pthread_mutex_destroy(&f->log_mu);
    free(f);
    return 0;
}

static void start_pub(fx_t *f, const char *prefix)
{
    f->cfg.prefix = prefix;
    assert_int_equal(store_rds_create(&f->pub, &f->cfg), 0);
    assert_int_equal(store_rds_start(f->pub), 0);
}

static void push(fx_t *f, const book_out_t *r)
{
    while (!tg_ring_spsc_push(f->ring, r))
        usleep(100);
}

static book_out_t candle_rec(uint32_t instr, uint64_t i, int closed)
{
    book_out_t r;
    memset(&r, 0, sizeof(r));
    r.kind = BOOK_OUT_CANDLE;
    r.instr = instr;
    r.ts_mono = tg_clock_mono_ns();
    r.u.candle.start_ns = 1700000040000000000LL;
    r.u.candle.interval_ns = 60 * TG_NS_PER_SEC;
    r.u.candle.open = 100;
    r.u.candle.high = 100 + (int64_t)i;
    r.u.candle.low = 99;
    r.u.candle.close = 100 + (int64_t)i;
    r.u.candle.volume = (int64_t)i;
    r.u.candle.trades = (uint32_t)i;
    r.u.candle.closed = (uint8_t)closed;
    return r;
}

/* Subscribe on a fresh connection and wait for the confirmations. */
static redisContext *subscribe(const char *const *chans, int n)
{
    redisContext *c = connect_url();
    assert_non_null(c);
    struct timeval tv = {3, 0};
    redisSetTimeout(c, tv);
    for (int i = 0; i < n; i++)
        redisAppendCommand(c, "SUBSCRIBE %s", chans[i]);
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        assert_int_equal(redisGetReply(c, (void **)&r), REDIS_OK);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_string_equal(r->element[0]->str, "subscribe");
        freeReplyObject(r);
    }
    return c;
}

/* Next message: copies the channel and payload; returns 0 or -1 on timeout/error. */
static int next_msg(redisContext *c, char *ch, size_t chcap, char *buf, size_t cap, size_t *len)
{
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK || !r)
        return -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        strcmp(r->element[0]->str, "message") == 0 && r->element[2]->len < cap) {
        snprintf(ch, chcap, "%s", r->element[1]->str);
        memcpy(buf, r->element[2]->str, r->element[2]->len);
        buf[r->element[2]->len] = '\0';
        *len = r->element[2]->len;
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

static void assert_dec_field(const test_json_t *j, const char *key, int scale, int64_t want)
{
    char b[64];
    test_json_str(j, key, b, sizeof(b));
    int64_t got = -1;
    assert_int_equal(tg_dec_parse(b, strlen(b), scale, &got), 0);
    assert_true(got == want);
}

/* GET key and parse it; returns the PTTL (-2 if the key is absent). */
static long long get_key(redisContext *c, const char *key, char *buf, size_t cap, test_json_t *j)
{
    redisReply *r = redisCommand(c, "GET %s", key);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return -2;
    }
    assert_true(r->len < cap);
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    assert_true(test_json_parse(j, buf, r->len) > 0);
    freeReplyObject(r);
    r = redisCommand(c, "PTTL %s", key);
    assert_non_null(r);
    long long ttl = r->integer;
    freeReplyObject(r);
    return ttl;
}

static void test_subscriber_sees_every_record_in_sequence_and_matching_keys(void **state)
{
    fx_t *f = *state;
    const char *chans[] = {"it1.trades.testv.AAA-USD", "it1.book.testv.AAA-USD",
                           "it1.candles.1m.testv.AAA-USD"};
    f->sub = subscribe(chans, 3);
    start_pub(f, "it1");
    enum { N_TRADES = 2000, N_BOOKS = 50 };
    /* books one at a time (each is sent before the next arrives: nothing may coalesce) */
    for (uint64_t i = 1; i <= N_BOOKS; i++) {
        book_out_t r = it_rds_book_rec(f->aaa, i);
        push(f, &r);
        for (int w = 0; w < 2000 && TG_STAT_GET(store_rds_stats(f->pub)->messages) < i; w++)
            usleep(500);
    }
    for (uint64_t i = 1; i <= N_TRADES; i++) {
        book_out_t r = it_rds_trade_rec(f->aaa, i);
        push(f, &r);
    }
    book_out_t c1 = candle_rec(f->aaa, 1, 0), c2 = candle_rec(f->aaa, 2, 1);
    push(f, &c1);
    push(f, &c2); /* closed: a message that must not be coalesced away */
    assert_int_equal(store_rds_stop(f->pub), 0); /* drains the ring and flushes */

    char ch[128], buf[8192];
    size_t len;
    uint64_t trades = 0, books = 0, candles = 0;
    test_json_t j;
    while (trades + books + candles < N_TRADES + N_BOOKS + 1) {
        assert_int_equal(next_msg(f->sub, ch, sizeof(ch), buf, sizeof(buf), &len), 0);
        assert_true(test_json_parse(&j, buf, len) > 0);
        char type[16], sym[32], venue[32];
        test_json_str(&j, "type", type, sizeof(type));
        assert_string_equal(test_json_str(&j, "symbol", sym, sizeof(sym)), "AAA-USD");
        assert_string_equal(test_json_str(&j, "venue", venue, sizeof(venue)), "testv");
        if (strcmp(ch, chans[0]) == 0) {
            uint64_t i = ++trades;
            assert_string_equal(type, "trade");
            assert_true(test_json_u64(&j, "seq") == i); /* continuity: 1, 2, 3, ... */
            book_out_t want = it_rds_trade_rec(f->aaa, i);
            assert_dec_field(&j, "price", 2, want.u.trade.price);
            assert_dec_field(&j, "size", 4, want.u.trade.size);
            assert_true(test_json_u64(&j, "trade_id") == want.u.trade.trade_id);
            assert_true(test_json_u64(&j, "exch_seq") == want.u.trade.seq);
            assert_true(test_json_i64(&j, "ts_exch") == want.ts_exch);
            assert_true(test_json_i64(&j, "ts_recv") == want.ts_recv);
            char side[8];
            assert_string_equal(test_json_str(&j, "side", side, sizeof(side)),
                                i % 2 ? "sell" : "buy");
        } else if (strcmp(ch, chans[1]) == 0) {
            uint64_t i = ++books;
            assert_string_equal(type, "book");
            assert_true(test_json_u64(&j, "seq") == i);
            assert_true(test_json_u64(&j, "exch_seq") == 100 + i);
            int bids = test_json_find(&j, "bids");
            assert_true(bids > 0);
            assert_int_equal(j.t[bids].size, 5);
        } else {
            assert_string_equal(ch, chans[2]);
            assert_string_equal(type, "candle");
            candles++;
            assert_true(test_json_u64(&j, "seq") == 2); /* forming (1) coalesced by the close */
            char closed[8];
            assert_string_equal(test_json_str(&j, "closed", closed, sizeof(closed)), "true");
        }
    }
    /* snapshot keys carry the number of the message they mirror, and a TTL */
    redisContext *c = connect_url();
    assert_non_null(c);
    long long ttl = get_key(c, "it1:book:testv:AAA-USD", buf, sizeof(buf), &j);
    assert_true(ttl > 8000 && ttl <= 10000);
    assert_true(test_json_u64(&j, "seq") == N_BOOKS);
    assert_true(test_json_u64(&j, "exch_seq") == 100 + N_BOOKS);
    ttl = get_key(c, "it1:bbo:testv:AAA-USD", buf, sizeof(buf), &j);
    assert_true(ttl > 50000 && ttl <= 60000);
    assert_true(test_json_u64(&j, "seq") == N_BOOKS);
    int bid = test_json_find(&j, "bid");
    char px[32];
    test_json_text(&j, test_json_elem(&j, bid, 0), px, sizeof(px));
    int64_t v;
    assert_int_equal(tg_dec_parse(px, strlen(px), 2, &v), 0);
    assert_true(v == 200000 + N_BOOKS);
    ttl = get_key(c, "it1:trade:testv:AAA-USD", buf, sizeof(buf), &j);
    assert_true(ttl > 50000 && ttl <= 60000);
    assert_true(test_json_u64(&j, "seq") == N_TRADES);
    assert_true(test_json_u64(&j, "trade_id") == 5000 + N_TRADES);
    ttl = get_key(c, "it1:candle:1m:testv:AAA-USD", buf, sizeof(buf), &j);
    assert_true(ttl > 60000 && ttl <= 70000); /* interval + 10 s margin */
    assert_true(test_json_u64(&j, "seq") == 2);
    assert_int_equal(get_key(c, "it1:book:testv:BBB-USD", buf, sizeof(buf), &j), -2);
    redisFree(c);

    const store_rds_stats_t *st = store_rds_stats(f->pub);
    assert_true(TG_STAT_GET(st->records) == N_TRADES + N_BOOKS + 2);
    assert_true(TG_STAT_GET(st->messages) == N_TRADES + N_BOOKS + 1);
    assert_true(TG_STAT_GET(st->errors) == 0);
    assert_true(TG_STAT_GET(st->pub_lat.count) == N_TRADES + N_BOOKS + 1);
    assert_true(TG_STAT_GET(st->rtt_lat.count) > 0);
    assert_true(TG_STAT_GET(st->hellos) == 1); /* one connect: one hello on it1.control */
    assert_true(TG_STAT_GET(st->commands) ==
                TG_STAT_GET(st->messages) + TG_STAT_GET(st->snapshots) + TG_STAT_GET(st->hellos));
}

static void test_books_coalesce_under_pressure_and_the_numbers_show_it(void **state)
{
    fx_t *f = *state;
    const char *chans[] = {"it2.book.testv.BBB-USD"};
    f->sub = subscribe(chans, 1);
    enum { N = 3000 };
    for (uint64_t i = 1; i <= N; i++) { /* a backlog before the publisher even starts */
        book_out_t r = it_rds_book_rec(f->bbb, i);
        push(f, &r);
    }
    start_pub(f, "it2");
    assert_int_equal(store_rds_stop(f->pub), 0);
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    uint64_t sent = TG_STAT_GET(st->messages), coalesced = TG_STAT_GET(st->coalesced);
    assert_true(coalesced > 0);
    assert_true(sent + coalesced == N);
    char ch[128], buf[8192];
    size_t len;
    test_json_t j;
    uint64_t last = 0, got = 0, missing = 0;
    for (uint64_t k = 0; k < sent; k++) {
        assert_int_equal(next_msg(f->sub, ch, sizeof(ch), buf, sizeof(buf), &len), 0);
        assert_true(test_json_parse(&j, buf, len) > 0);
        uint64_t seq = test_json_u64(&j, "seq");
        assert_true(seq > last);
        missing += seq - last - 1;
        assert_true(test_json_u64(&j, "exch_seq") == 100 + seq); /* the record numbered seq */
        last = seq;
        got++;
    }
    assert_true(last == N); /* the latest always wins */
    assert_true(missing == coalesced);
    redisContext *c = connect_url();
    get_key(c, "it2:book:testv:BBB-USD", buf, sizeof(buf), &j);
    assert_true(test_json_u64(&j, "seq") == N);
    redisFree(c);
}

/* ---- kill and restart ------------------------------------------------------------------ */

typedef struct feeder {
    fx_t *f;
    _Atomic bool stop;
    _Atomic uint64_t pushed;
} feeder_t;

static void *feeder_main(void *arg)
{
    feeder_t *fd = arg;
    uint64_t i = 0;
    while (!atomic_load(&fd->stop)) {
        book_out_t r = it_rds_book_rec(fd->f->aaa, ++i);
        push(fd->f, &r);
        atomic_store(&fd->pushed, i);
        usleep(2000);
    }
    return NULL;
}

static int64_t restart_redis(void)
{
    if (!it_redis_start(g_pidfile, g_port))
        fail_msg("redis-server did not come back on port %d", g_port);
    return tg_clock_mono_ns();
}

static void test_publisher_reconnects_after_redis_restart_and_shows_the_gap(void **state)
{
    fx_t *f = *state;
    const char *chans[] = {"it3.book.testv.AAA-USD"};
    f->sub = subscribe(chans, 1);
    start_pub(f, "it3");
    feeder_t fd = {.f = f};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, feeder_main, &fd), 0);
    char ch[128], buf[8192];
    size_t len;
    test_json_t j;
    uint64_t last_before = 0;
    for (int k = 0; k < 50; k++) { /* a stream is flowing */
        assert_int_equal(next_msg(f->sub, ch, sizeof(ch), buf, sizeof(buf), &len), 0);
        assert_true(test_json_parse(&j, buf, len) > 0);
        last_before = test_json_u64(&j, "seq");
    }
    assert_true(it_redis_kill(g_pidfile));
    redisFree(f->sub);
    f->sub = NULL;
    usleep(700000); /* down for a while: records keep coming */
    int64_t back = restart_redis();
    f->sub = subscribe(chans, 1);
    /* the book key must reappear within a second of the server's return */
    redisContext *c = connect_url();
    assert_non_null(c);
    int64_t seen = 0;
    while (tg_clock_mono_ns() - back < 3 * TG_NS_PER_SEC) {
        if (get_key(c, "it3:book:testv:AAA-USD", buf, sizeof(buf), &j) != -2) {
            seen = tg_clock_mono_ns();
            break;
        }
        usleep(2000);
    }
    assert_true(seen > 0);
    printf("# book key back %.0f ms after redis-server returned\n", (seen - back) / 1e6);
    assert_true(seen - back < TG_NS_PER_SEC);
    /* the first message after the restart numbers past everything pushed meanwhile */
    assert_int_equal(next_msg(f->sub, ch, sizeof(ch), buf, sizeof(buf), &len), 0);
    assert_true(test_json_parse(&j, buf, len) > 0);
    uint64_t first_after = test_json_u64(&j, "seq");
    printf("# last seq before kill %llu, first after restart %llu\n",
           (unsigned long long)last_before, (unsigned long long)first_after);
    assert_true(first_after > last_before + 1); /* the outage is a visible gap */
    assert_true(test_json_u64(&j, "exch_seq") == 100 + first_after);
    atomic_store(&fd.stop, true);
    pthread_join(th, NULL);
    assert_int_equal(store_rds_stop(f->pub), 0);
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    assert_true(TG_STAT_GET(st->reconnects) >= 1);
    assert_true(TG_STAT_GET(st->errors) >= 1);
    /* every record took a number: the final key carries the count pushed */
    get_key(c, "it3:book:testv:AAA-USD", buf, sizeof(buf), &j);
    assert_true(test_json_u64(&j, "seq") == atomic_load(&fd.pushed));
    /* accounting: each book record was either published once or replaced while unsent */
    assert_true(TG_STAT_GET(st->messages) + TG_STAT_GET(st->coalesced) == atomic_load(&fd.pushed));
    redisFree(c);
}

/* ---- bad configuration ----------------------------------------------------------------- */

static void admin(const char *cmd, const char *arg, const char *pass)
{
    redisContext *c = connect_url();
    assert_non_null(c);
    if (pass) {
        redisReply *r = redisCommand(c, "AUTH %s", pass);
        freeReplyObject(r);
    }
    redisReply *r = redisCommand(c, cmd, arg);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
}

static void test_wrong_password_fails_fast_with_a_clear_error_and_no_secret(void **state)
{
    fx_t *f = *state;
    const char *good = "it-good-S3cret", *bad = "it-wrong-pw-9871";
    admin("CONFIG SET requirepass %s", good, NULL);
    char err[256];
    store_rds_cfg_t c = f->cfg;
    c.password = bad;
    int64_t t0 = tg_clock_mono_ns();
    int rc = store_rds_probe(&c, err, sizeof(err));
    printf("# wrong password: %d %s\n", rc, err);
    assert_int_equal(rc, TG_EREDIS);
    assert_non_null(strstr(err, "AUTH failed"));
    assert_null(strstr(err, bad));
    c.password = NULL;
    c.password_env = "TG_IT_NO_SUCH_VAR";
    rc = store_rds_probe(&c, err, sizeof(err));
    printf("# no password: %d %s\n", rc, err);
    assert_int_equal(rc, TG_EREDIS);
    assert_non_null(strstr(err, "NOAUTH"));
    assert_true(tg_clock_mono_ns() - t0 < TG_NS_PER_SEC);

    /* a running publisher keeps failing, says why, and still stops promptly */
    f->cfg.password = bad;
    start_pub(f, "it4");
    book_out_t r = it_rds_book_rec(f->aaa, 1);
    push(f, &r);
    usleep(300000);
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    assert_true(TG_STAT_GET(st->errors) >= 1);
    assert_true(TG_STAT_GET(st->connected) == 0);
    assert_int_equal(store_rds_last_error(f->pub, err, sizeof(err)), TG_EREDIS);
    assert_non_null(strstr(err, "AUTH failed"));
    t0 = tg_clock_mono_ns();
    assert_int_equal(store_rds_stop(f->pub), TG_EREDIS);
    assert_true(tg_clock_mono_ns() - t0 < 2 * TG_NS_PER_SEC);
    pthread_mutex_lock(&f->log_mu);
    assert_null(strstr(f->log, bad));
    assert_non_null(strstr(f->log, "AUTH failed"));
    pthread_mutex_unlock(&f->log_mu);

    /* the right password, from the config and from REDISCLI_AUTH */
    c.password = good;
    assert_int_equal(store_rds_probe(&c, err, sizeof(err)), 0);
    c.password = NULL;
    c.password_env = "REDISCLI_AUTH";
    setenv("REDISCLI_AUTH", good, 1);
    assert_int_equal(store_rds_probe(&c, err, sizeof(err)), 0);
    unsetenv("REDISCLI_AUTH");
    admin("CONFIG SET requirepass %s", "", good);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    bind(s, (struct sockaddr *)&a, sizeof(a));
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

static void test_unreachable_or_silent_servers_fail_within_the_timeouts(void **state)
{
    fx_t *f = *state;
    char err[256];
    store_rds_cfg_t c = f->cfg;
    c.url = NULL;
    c.host = "127.0.0.1";
    c.port = free_port();
    int64_t t0 = tg_clock_mono_ns();
    int rc = store_rds_probe(&c, err, sizeof(err));
    printf("# closed port: %d %s\n", rc, err);
    assert_int_equal(rc, -ECONNREFUSED);
    assert_non_null(strstr(err, "connect"));
    assert_true(tg_clock_mono_ns() - t0 < TG_NS_PER_SEC);

    /* a server that accepts but never answers: the command timeout ends the wait */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 4), 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    c.port = ntohs(a.sin_port);
    c.command_timeout_ms = 300;
    t0 = tg_clock_mono_ns();
    rc = store_rds_probe(&c, err, sizeof(err));
    int64_t took = tg_clock_mono_ns() - t0;
    printf("# silent server: %d %s (%.0f ms)\n", rc, err, took / 1e6);
    assert_int_equal(rc, -ETIMEDOUT);
    assert_true(took >= 250 * TG_NS_PER_MS && took < 2 * TG_NS_PER_SEC);
    close(s);

    c.url = "http://127.0.0.1:1";
    assert_int_equal(store_rds_probe(&c, err, sizeof(err)), -EINVAL);
    c.url = "redis://127.0.0.1:99999";
    assert_int_equal(store_rds_probe(&c, err, sizeof(err)), -EINVAL);
    c.url = NULL;
    c.prefix = "bad prefix";
    assert_int_equal(store_rds_create(&f->pub, &c), -EINVAL);
    assert_null(f->pub);
}

static void test_error_replies_are_counted_and_reported(void **state)
{
    fx_t *f = *state;
    admin("CONFIG SET maxmemory %s", "1", NULL); /* SET now fails with OOM; PUBLISH works */
    start_pub(f, "it5");
    book_out_t r = it_rds_book_rec(f->aaa, 1);
    push(f, &r);
    int rc = store_rds_stop(f->pub);
    admin("CONFIG SET maxmemory %s", "0", NULL);
    assert_int_equal(rc, 0);
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    assert_true(TG_STAT_GET(st->reply_errors) == 2); /* book and bbo SET */
    assert_true(TG_STAT_GET(st->commands) == 4);     /* book SET, PUBLISH, bbo SET, hello */
    char err[256];
    assert_int_equal(store_rds_last_error(f->pub, err, sizeof(err)), TG_EREDIS);
    assert_non_null(strstr(err, "OOM"));
}

/* ---- the example subscriber ------------------------------------------------------------ */

static long long numsub(const char *chan)
{
    redisContext *c = connect_url();
    assert_non_null(c);
    redisReply *r = redisCommand(c, "PUBSUB NUMSUB %s", chan);
    assert_non_null(r);
    long long n = r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? r->element[1]->integer : -1;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static void test_example_subscriber_joins_from_the_snapshot_and_reports_gaps(void **state)
{
    fx_t *f = *state;
    const char *exe = getenv("TG_TOOL_SUB");
    if (!exe)
        skip();
    start_pub(f, "it6");
    const store_rds_stats_t *st = store_rds_stats(f->pub);
    for (uint64_t i = 1; i <= 3; i++) { /* books 1..3 before the subscriber joins */
        book_out_t r = it_rds_book_rec(f->aaa, i);
        push(f, &r);
        while (TG_STAT_GET(st->commands) < i * 3)
            usleep(500);
    }
    char errf[] = "/tmp/tg-it-sub-XXXXXX";
    int efd = mkstemp(errf);
    assert_true(efd >= 0);
    close(efd);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' -u '%s' -p it6 -n 2 testv AAA-USD 2>'%s'", exe, g_url, errf);
    FILE *fp = popen(cmd, "r");
    assert_non_null(fp);
    char line[8192];
    assert_non_null(fgets(line, sizeof(line), fp)); /* book snapshot: the join point */
    assert_non_null(strstr(line, "snapshot it6:book:testv:AAA-USD seq=3 "));
    assert_non_null(fgets(line, sizeof(line), fp)); /* last-trade snapshot: none yet */
    for (int i = 0; i < 400 && numsub("it6.book.testv.AAA-USD") < 1; i++)
        usleep(5000);
    /* Redis pauses; book 4 goes out (its reply waits), books 5..100 pile up and coalesce */
    admin("CLIENT PAUSE %s ALL", "400", NULL);
    book_out_t r = it_rds_book_rec(f->aaa, 4);
    push(f, &r);
    while (TG_STAT_GET(st->snapshots) < 8) /* book 4's SET book + SET bbo appended */
        usleep(500);
    for (uint64_t i = 5; i <= 100; i++) {
        r = it_rds_book_rec(f->aaa, i);
        push(f, &r);
    }
    assert_non_null(fgets(line, sizeof(line), fp));
    assert_non_null(strstr(line, "it6.book.testv.AAA-USD seq=4 "));
    assert_non_null(fgets(line, sizeof(line), fp));
    assert_non_null(strstr(line, "it6.book.testv.AAA-USD seq=100 "));
    int status = pclose(fp);
    assert_int_equal(WEXITSTATUS(status), 3); /* 3: gaps were seen */
    FILE *ef = fopen(errf, "r");
    assert_non_null(ef);
    size_t n = fread(line, 1, sizeof(line) - 1, ef);
    line[n] = '\0';
    fclose(ef);
    unlink(errf);
    printf("%s", line);
    assert_non_null(strstr(line, "# GAP it6.book.testv.AAA-USD"));
    assert_int_equal(store_rds_stop(f->pub), 0);
    assert_true(TG_STAT_GET(st->coalesced) > 0);
}

/* tickgate-sub rides out a Redis restart: it reports the lost connection, re-joins with
 * backoff, gets the outage's trades from the stream (publisher stream_trades on), and exits 0
 * (an outage is not "gaps seen"). */
static void test_example_subscriber_rides_out_a_redis_restart(void **state)
{
    fx_t *f = *state;
    const char *exe = getenv("TG_TOOL_SUB");
    if (!exe)
        skip();
    f->cfg.stream_trades = 1000;
    start_pub(f, "it7");
    char errf[] = "/tmp/tg-it-sub-XXXXXX";
    int efd = mkstemp(errf);
    assert_true(efd >= 0);
    close(efd);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "timeout 40 '%s' -u '%s' -p it7 -q -n 60 testv AAA-USD 2>'%s'", exe,
             g_url, errf);
    FILE *fp = popen(cmd, "r");
    assert_non_null(fp);
    /* precondition: the subscriber is on the channel before the first trade (a loaded machine
       can take seconds to start it; a late join would miss trades and time out, not fail
       what this test checks) */
    for (int i = 0; i < 3000 && numsub("it7.trades.testv.AAA-USD") < 1; i++)
        usleep(5000);
    if (numsub("it7.trades.testv.AAA-USD") < 1)
        fail_msg("precondition: tickgate-sub did not subscribe within 15 s");
    uint64_t i = 0;
    while (i < 20) { /* trades flowing, then the server dies; 10 more while it is away */
        book_out_t r = it_rds_trade_rec(f->aaa, ++i);
        push(f, &r);
        usleep(3000);
    }
    assert_true(it_redis_kill(g_pidfile));
    while (i < 30) {
        book_out_t r = it_rds_trade_rec(f->aaa, ++i);
        push(f, &r);
        usleep(3000);
    }
    assert_true(it_redis_start(g_pidfile, g_port));
    while (i < 70) {
        book_out_t r = it_rds_trade_rec(f->aaa, ++i);
        push(f, &r);
        usleep(20000); /* the subscriber is back within its backoff (<= 800 ms) */
    }
    int status = pclose(fp);
    assert_true(WIFEXITED(status));
    FILE *ef = fopen(errf, "r");
    assert_non_null(ef);
    char text[16384];
    size_t n = fread(text, 1, sizeof(text) - 1, ef);
    text[n] = '\0';
    fclose(ef);
    unlink(errf);
    printf("%s", text);
    assert_int_equal(WEXITSTATUS(status), 0); /* not 3: the outage's holes are not "gaps" */
    assert_non_null(strstr(text, "# connection lost: "));
    assert_non_null(strstr(text, "filled from the stream"));
    /* 20 before, the outage's from the stream, then the rest: at least 60 of 70 (the trade
     * the re-join's key holds is a snapshot line, not a message) */
    assert_non_null(strstr(text, "it7.trades.testv.AAA-USD: 60 messages"));
    assert_int_equal(store_rds_stop(f->pub), 0);
}

int main(void)
{
    g_url = getenv("TG_TEST_REDIS_URL");
    const char *port = getenv("TG_TEST_REDIS_PORT");
    g_pidfile = getenv("TG_TEST_REDIS_PIDFILE");
    if (!g_url || !port || !g_pidfile) {
        fprintf(stderr, "TG_TEST_REDIS_URL/PORT/PIDFILE unset: skipping\n");
        return 77;
    }
    g_port = atoi(port);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_subscriber_sees_every_record_in_sequence_and_matching_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_books_coalesce_under_pressure_and_the_numbers_show_it,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_replies_are_counted_and_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_wrong_password_fails_fast_with_a_clear_error_and_no_secret, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_or_silent_servers_fail_within_the_timeouts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_example_subscriber_joins_from_the_snapshot_and_reports_gaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_example_subscriber_rides_out_a_redis_restart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_publisher_reconnects_after_redis_restart_and_shows_the_gap, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

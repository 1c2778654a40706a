/* SPDX-License-Identifier: MIT */
/*
 * The gateway under database faults, end to end (docs/RELIABILITY.md): real processes
 * (tickgate-replay serving the recording with the most frames at a fixed rate over wss,
 * tickgate, the fixture's PostgreSQL and Redis):
 *  - PostgreSQL HUNG for 30 s under load (every postgres process SIGSTOPped: the kernel accepts
 *    and acknowledges, nobody answers): Redis keeps publishing every second, /health says
 *    degraded with the reason, no feed event is dropped, and after the server resumes every
 *    trade the feeds counted is stored exactly once (also checked against the offline rebuild
 *    of the recording);
 *  - start while PostgreSQL is down: `required = true` refuses (exit 3); by default the
 *    gateway starts, says so, spills, and once the server is started every trade is stored;
 *    bad settings (a database that does not exist) still fail fast;
 *  - start while Redis is unreachable: the gateway starts (loud log, /health degraded) and
 *    stops cleanly; `[redis] required = true` refuses (exit 3);
 *  - SIGKILL under load: the trades lost (counted by the feeds, not in PostgreSQL nor in the
 *    journal) stay within the documented crash window: the trades of the last batch_ms plus
 *    what waits in the rings.
 * Returns 77 (skip) outside tests/fixtures/services.sh or without the recordings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <stdatomic.h>

#include "it_gw_util.h"
#include "it_pg_util.h"
#include "tests/fixtures/replay_proc.h"
#include "storage/pg/store_pg.h"
#include "tools/replay/tool_replay_books.h"

static struct {
    char tmp[256], cert[300], key[300];
    const char *gw_bin, *replay_bin;
    int redis_port;
    itg_rec_t recs[ITG_RECS_MAX];
    const itg_rec_t *rec; /* the one with the most frames */
    pid_t replay, gw, gw2;
    int replay_port;
    long long oracle_trades;
    _Atomic int frozen;
} G;

/* --- processes ------------------------------------------------------------------------------ */

static void stop_pid(pid_t *p, int sig)
{
    itg_stop(p, sig, 10000);
}

/* Run tickgate (argv, stderr to log) as G.gw2 until it exits, up to 20 s (killed then).
 * @return its exit code, or -1 when it had to be killed; *ms: how long it ran. */
static int run_to_exit(char **argv, const char *log, long *ms)
{
    int64_t t0 = itg_now_ms();
    G.gw2 = itg_spawn(argv, -1, NULL, log);
    int rc = itg_wait(G.gw2, 20000);
    *ms = (long)(itg_now_ms() - t0);
    if (rc < 0)
        stop_pid(&G.gw2, SIGKILL);
    G.gw2 = 0;
    return rc;
}

/* tickgate-replay serving G.rec at `rate` frames/s per connection. */
static void start_replay(int rate)
{
    char r[32], err[400];
    snprintf(r, sizeof r, "%d", rate);
    snprintf(err, sizeof err, "%s/replay.log", G.tmp);
    const char *argv[] = {G.replay_bin,   "serve", "--port", "0",   "--tls",
                          "--cert",       G.cert,  "--key",  G.key, "--hold",
                          "--sub-settle", "300",   "--rate", r,     "--quiet",
                          G.rec->path,    NULL};
    int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    G.replay = replay_proc_start(argv, fd, &G.replay_port);
    if (fd >= 0)
        close(fd);
    assert_true(G.replay > 0 && G.replay_port > 0);
}

static int cfg_redis_port; /* 0: the fixture's */

static void write_cfg(const char *path, const char *conninfo, const char *schema, int db,
                      const char *pg_extra)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    const itg_rec_t *c = G.rec;
    fprintf(
        f,
        /* a small PostgreSQL ring, as in issue 15: without client deadlines and journal
         * backpressure the writer fills it within a second of a hang, then the builder stalls,
         * Redis goes silent and the feed ring overflows */
        "[gateway]\nlog_level = info\ncandles = 1m\nsink_ring = 1024\n"
        "[postgres]\nconninfo = %s\nschema = %s\nspill_dir = %s/spill-%s\n%s"
        "[redis]\nhost = 127.0.0.1\nport = %d\ndb = %d\nbook_ttl_s = 300\n"
        "[metrics]\nlisten = 127.0.0.1:0\n"
        "[feed %s]\nvenue = %s\nurl = wss://127.0.0.1:%d/rec/%s\n"
        "rest_url = https://127.0.0.1:%d/rec/%s\nca_file = %s\nsymbols = %s\nstale_ms = 600000\n",
        conninfo, schema, G.tmp, schema, pg_extra, cfg_redis_port ? cfg_redis_port : G.redis_port,
        db, c->name, c->venue, G.replay_port, c->name, G.replay_port, c->name, G.cert, c->symbols);
    if (c->depth)
        fprintf(f, "depth = %d\n", c->depth);
    fclose(f);
}

/* Start tickgate on cfg; @return its metrics port once it listens (0: it exited). */
static int start_gw(pid_t *pid, const char *cfg, const char *log)
{
    char *argv[] = {(char *)G.gw_bin, "--config", (char *)cfg, NULL};
    *pid = itg_spawn(argv, -1, NULL, log);
    assert_true(*pid > 0);
    for (int i = 0; i < 3000; i++) {
        if (itg_wait(*pid, 10) >= 0) {
            *pid = 0;
            return 0;
        }
        char *t = itg_slurp(log);
        const char *p = t ? strstr(t, "dashboard on http://127.0.0.1:") : NULL;
        int port = p ? atoi(p + strlen("dashboard on http://127.0.0.1:")) : 0;
        free(t);
        if (port)
            return port;
    }
    return 0;
}

static long long metric(int port, const char *name, const char *filter)
{
    char *m = itg_http_get(port, "/metrics");
    long long v = m ? itg_metric(m, name, filter) : -1;
    free(m);
    return v;
}

/* ms until the journal is empty (its bytes gauge 0), or -1 after timeout_ms. */
static long long wait_journal_empty(int port, int timeout_ms)
{
    int64_t t0 = itg_now_ms();
    for (; itg_now_ms() - t0 < timeout_ms; itg_sleep_ms(50))
        if (metric(port, "tickgate_spill_pending_bytes", NULL) == 0)
            return itg_now_ms() - t0;
    return -1;
}

/* Every frame of the recording received, the journal empty, PostgreSQL rows steady. */
static bool wait_caught_up(int port, int timeout_ms)
{
    long long want = G.rec->frames + G.rec->rest, last = -1;
    int steady = 0;
    for (int64_t end = itg_now_ms() + timeout_ms; itg_now_ms() < end; itg_sleep_ms(250)) {
        long long fr = metric(port, "tickgate_feed_frames_total", NULL);
        long long sp = metric(port, "tickgate_spill_pending_bytes", NULL);
        long long rows = metric(port, "tickgate_pg_rows_committed_total", NULL);
        steady = (fr == want && sp == 0 && rows == last) ? steady + 1 : 0;
        last = rows;
        if (steady >= 4) /* 1 s without a new row, after the last frame */
            return true;
    }
    return false;
}

/* SIGTERM; @return the exit code; the "final" log line's trades= in *trades. */
static int stop_gw(pid_t *pid, const char *log, long long *trades)
{
    kill(*pid, SIGTERM);
    int rc = itg_wait(*pid, 30000);
    if (rc < 0) {
        kill(*pid, SIGKILL);
        itg_wait(*pid, 5000);
    }
    *pid = 0;
    char *t = itg_slurp(log);
    const char *f = t ? strstr(t, "msg=\"final\"") : NULL;
    *trades = -1;
    if (f) {
        while (f > t && f[-1] != '\n')
            f--;
        const char *e = strchr(f, '\n');
        char line[2048];
        snprintf(line, sizeof line, " %.*s", (int)(e ? e - f : (long)strlen(f)), f);
        *trades = itg_field(line, "trades");
    }
    if (rc != 0 || !f)
        fprintf(stderr, "tickgate log:\n%s\n", t ? t : "");
    free(t);
    return rc;
}

/* count(*) and count(DISTINCT (instr, trade_id)) of schema.trades. */
static void pg_trades(const char *schema, long long *rows, long long *distinct)
{
    PGconn *a = it_admin();
    assert_non_null(a);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.trades", schema);
    *rows = it_qi(a, sql);
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT (instr, trade_id)) FROM %s.trades", schema);
    *distinct = it_qi(a, sql);
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    it_exec(a, sql);
    PQfinish(a);
}

/* Resume a SIGSTOPped server after 45 s whatever happens (a gateway that waits forever must
 * fail the test's checks, not hang it). */
static void *thaw_later(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4500 && atomic_load(&G.frozen); i++)
        itg_sleep_ms(10);
    if (atomic_exchange(&G.frozen, 0))
        it_pg_signal_all(SIGCONT);
    return NULL;
}

/* --- tests ---------------------------------------------------------------------------------- */

/* A run named `what`: the replay started at the rate that stretches the recording over secs
 * (2000 .. max_rate frames/s), its schema, config (Redis db) and log paths.
 * @return the rate. */
static int begin(const char *what, int secs, int max_rate, int db, const char *pg_extra,
                 char *schema, char *cfg, char *log)
{
    int rate = (int)(G.rec->frames / secs);
    rate = rate < 2000 ? 2000 : rate > max_rate ? max_rate : rate;
    start_replay(rate);
    snprintf(schema, 64, "tg_rel_%s_%d", what, (int)getpid());
    snprintf(cfg, 400, "%s/%s.ini", G.tmp, what);
    snprintf(log, 400, "%s/%s.log", G.tmp, what);
    write_cfg(cfg, getenv("TG_TEST_PG_DSN"), schema, db, pg_extra);
    return rate;
}

static void test_hung_postgres_under_load_loses_nothing_and_redis_keeps_publishing(void **st)
{
    (void)st;
    char cfg[400], log[400], schema[64];
    int rate = begin("hung", 40, 20000, 11, "", schema, cfg, log);
    itg_sub_t sub;
    assert_int_equal(itg_sub_start(&sub, G.redis_port), 0);
    int port = start_gw(&G.gw, cfg, log);
    assert_true(port > 0);
    for (int i = 0; i < 300 && metric(port, "tickgate_pg_rows_committed_total", NULL) < 100; i++)
        itg_sleep_ms(100);
    assert_true(metric(port, "tickgate_pg_rows_committed_total", NULL) >= 100);

    atomic_store(&G.frozen, 1);
    assert_true(it_pg_signal_all(SIGSTOP) > 1);
    pthread_t th;
    pthread_create(&th, NULL, thaw_later, NULL);
    pthread_detach(th);
    int64_t t0 = itg_now_ms();
    long long sub0 = __atomic_load_n(&sub.total, __ATOMIC_RELAXED);
    long long last = metric(port, "tickgate_redis_messages_total", NULL), fr0 = 0, fr1 = 0;
    long long rows0 = metric(port, "tickgate_pg_rows_committed_total", NULL);
    fr0 = metric(port, "tickgate_feed_frames_total", NULL);
    int secs = 0, advancing = 0, degraded_at = -1;
    char reason[300] = "";
    while (itg_now_ms() - t0 < 30000) {
        itg_sleep_ms(1000);
        secs++;
        long long now = metric(port, "tickgate_redis_messages_total", NULL);
        advancing += now > last;
        last = now;
        char *h = itg_http_get(port, "/health");
        if (h && degraded_at < 0 && strstr(h, "\"status\":\"degraded\"") &&
            strstr(h, "no answer")) {
            degraded_at = secs;
            const char *r = strstr(h, "\"reason\":\"");
            snprintf(reason, sizeof reason, "%.200s", r ? r : "");
        }
        free(h);
    }
    fr1 = metric(port, "tickgate_feed_frames_total", NULL);
    long long sub1 = __atomic_load_n(&sub.total, __ATOMIC_RELAXED);
    long long rows1 = metric(port, "tickgate_pg_rows_committed_total", NULL);
    long long spilled = metric(port, "tickgate_spill_batches_total", NULL);
    long long io_to = metric(port, "tickgate_pg_io_timeouts_total", NULL);
    int was_frozen = atomic_exchange(&G.frozen, 0);
    if (was_frozen)
        it_pg_signal_all(SIGCONT);
    long long catch_ms = wait_journal_empty(port, 60000);
    bool caught = wait_caught_up(port, 90000);
    long long dropped = metric(port, "tickgate_feed_events_dropped_total", NULL);
    long long stalls = metric(port, "tickgate_book_out_stalls_total", NULL);
    long long trades;
    int rc = stop_gw(&G.gw, log, &trades);
    itg_sub_finish(&sub);
    itg_sub_free(&sub);
    stop_pid(&G.replay, SIGTERM);
    long long rows, distinct;
    pg_trades(schema, &rows, &distinct);
    print_message(
        "  %s at %d frames/s: PostgreSQL hung 30 s: %lld frames meanwhile, Redis "
        "messages advanced in %d of %d s (%lld received by a subscriber), /health "
        "degraded after %d s (%s), %lld batches spilled, %lld rows committed (expect 0),"
        " io timeouts %lld; journal empty %lld ms after resume; events dropped %lld, builder "
        "stalls %lld; trades: feeds %lld, PostgreSQL %lld (distinct %lld), offline %lld\n",
        G.rec->name, rate, fr1 - fr0, advancing, secs, sub1 - sub0, degraded_at, reason, spilled,
        rows1 - rows0, io_to, catch_ms, dropped, stalls, trades, rows, distinct, G.oracle_trades);
    assert_true(was_frozen);            /* hung for the whole 30 s (the safety thaw never fired) */
    assert_true(fr1 - fr0 > 1000);      /* load went on */
    assert_true(advancing >= secs - 2); /* Redis published throughout */
    assert_true(sub1 > sub0);
    assert_true(degraded_at >= 0 && degraded_at <= 10);
    assert_true(io_to >= 1);
    assert_true(spilled > 0);
    assert_true(caught);
    assert_int_equal(dropped, 0);
    assert_int_equal(rc, 0);
    assert_true(trades > 0);
    assert_int_equal(rows, trades);   /* 0 lost */
    assert_int_equal(distinct, rows); /* 0 duplicated */
    assert_int_equal(rows, G.oracle_trades);
}

static void test_start_while_postgres_down_then_catch_up(void **st)
{
    (void)st;
    char cfg[400], log[400], schema[64];
    begin("down", 12, 50000, 12, "required = true\n", schema, cfg, log);
    assert_int_equal(it_pg_stop(), 0);

    /* required = true: fail fast, as before */
    char *argv[] = {(char *)G.gw_bin, "--config", cfg, NULL};
    long req_ms;
    int req_rc = run_to_exit(argv, log, &req_ms);

    /* default: start anyway */
    write_cfg(cfg, getenv("TG_TEST_PG_DSN"), schema, 12, "");
    int port = start_gw(&G.gw, cfg, log);
    if (!port) {
        static char text[8192];
        char *t = itg_slurp(log);
        snprintf(text, sizeof text, "%s", t ? t : "");
        free(t);
        it_pg_start();
        fail_msg("tickgate did not start while PostgreSQL was down:\n%s", text);
    }
    itg_sleep_ms(4000);
    char *h = itg_http_get(port, "/health");
    char *t = itg_slurp(log);
    bool loud = t && strstr(t, "PostgreSQL unreachable at start-up");
    bool degraded = h && strstr(h, "\"status\":\"degraded\"") && strstr(h, "\"connected\":false");
    print_message("  started with PostgreSQL down (required = true: exit %d after %ld ms); "
                  "/health: %.300s\n",
                  req_rc, req_ms, h ? strstr(h, "\"sinks\"") : "");
    free(h);
    free(t);
    long long spilled_down = metric(port, "tickgate_spill_batches_total", NULL);
    assert_int_equal(it_pg_start(), 0);
    long long catch_ms = wait_journal_empty(port, 60000);
    bool caught = wait_caught_up(port, 90000);
    h = itg_http_get(port, "/health");
    bool up = h && strstr(h, "\"connected\":true");
    free(h);
    long long trades;
    int rc = stop_gw(&G.gw, log, &trades);
    stop_pid(&G.replay, SIGTERM);
    long long rows, distinct;
    pg_trades(schema, &rows, &distinct);

    /* bad settings still fail fast, PostgreSQL up */
    char conninfo[600];
    snprintf(conninfo, sizeof conninfo, "host=127.0.0.1 port=%s user=postgres dbname=tg_no_such_db",
             getenv("TG_TEST_PG_PORT"));
    snprintf(cfg, sizeof cfg, "%s/bad.ini", G.tmp);
    snprintf(log, sizeof log, "%s/bad.log", G.tmp);
    write_cfg(cfg, conninfo, schema, 12, "");
    long bad_ms;
    int bad_rc = run_to_exit(argv, log, &bad_ms);
    t = itg_slurp(log);
    bool bad_said = t && strstr(t, "refused by the server") && strstr(t, "tg_no_such_db");
    free(t);
    print_message(
        "  %lld batches spilled while down, journal empty %lld ms after the server started; "
        "trades: feeds %lld, PostgreSQL %lld (distinct %lld), offline %lld; unknown "
        "database: exit %d after %ld ms\n",
        spilled_down, catch_ms, trades, rows, distinct, G.oracle_trades, bad_rc, bad_ms);
    assert_int_equal(req_rc, 3);
    assert_true(req_ms < 15000);
    assert_true(loud);
    assert_true(degraded);
    assert_true(spilled_down > 0);
    assert_true(caught);
    assert_true(up);
    assert_int_equal(rc, 0);
    assert_true(trades > 0);
    assert_int_equal(rows, trades);
    assert_int_equal(distinct, rows);
    assert_int_equal(rows, G.oracle_trades);
    assert_int_equal(bad_rc, 3);
    assert_true(bad_ms < 15000);
    assert_true(bad_said);
}

static void test_sigkill_under_load_loses_at_most_the_crash_window(void **st)
{
    (void)st;
    char cfg[400], log[400], schema[64], spill[400];
    int rate = begin("kill", 10, 20000, 13, "", schema, cfg, log);
    snprintf(spill, sizeof spill, "%s/spill-%s", G.tmp, schema);
    int port = start_gw(&G.gw, cfg, log);
    assert_true(port > 0);
    for (int i = 0; i < 300 && metric(port, "tickgate_pg_rows_committed_total", NULL) < 1000; i++)
        itg_sleep_ms(100);
    long long tr0 = metric(port, "tickgate_feed_trades_total", NULL);
    int64_t t0 = itg_now_ms();
    itg_sleep_ms(2000);
    int64_t ts = itg_now_ms();
    char *m = itg_http_get(port, "/metrics");
    kill(G.gw, SIGKILL);
    int64_t t1 = itg_now_ms();
    assert_non_null(m);
    long long trades = itg_metric(m, "tickgate_feed_trades_total", NULL);
    free(m);
    assert_int_equal(itg_wait(G.gw, 10000), 128 + SIGKILL);
    G.gw = 0;
    stop_pid(&G.replay, SIGTERM);
    double per_s = (double)(trades - tr0) * 1000.0 / (double)(t1 - t0);
    /* what the journal kept is stored by the next writer */
    store_pg_cfg_t c;
    store_pg_cfg_defaults(&c);
    c.conninfo = getenv("TG_TEST_PG_DSN");
    c.schema = schema;
    c.spill_dir = spill;
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    assert_int_equal(store_pg_connect(w), 0);
    int replayed = store_pg_replay(w);
    store_pg_destroy(&w);
    long long rows, distinct;
    pg_trades(schema, &rows, &distinct);
    /* The feeds' count is read just before the kill (the /metrics request started t1 - ts ms
     * before it): trades received after that reading are not in it, so this is an estimate
     * from below; it can even come out negative (more stored than counted at the reading). */
    long long lost = trades - rows;
    /* the window (docs/RELIABILITY.md): the open batch (batch_ms = 200 by default) and the
     * commit in flight, plus the rings: bounded here by 1 s of trades */
    long long bound = (long long)(per_s * 1.0) + 100;
    print_message(
        "  SIGKILL at %d frames/s (%.0f trades/s): feeds counted %lld trades (read %lld ms before "
        "the kill), stored %lld (journal replayed %d records): lost %lld (%.0f ms of trades); "
        "bound %lld\n",
        rate, per_s, trades, (long long)(t1 - ts), rows, replayed, lost,
        per_s > 0 ? (double)lost * 1000.0 / per_s : 0.0, bound);
    assert_true(trades > 0);
    assert_int_equal(distinct, rows);
    assert_true(lost <= bound);
}

static void test_start_while_redis_unreachable(void **st)
{
    (void)st;
    char cfg[400], log[400], schema[64];
    cfg_redis_port = itg_free_port(); /* nothing listens there */
    begin("nords", 1, 20000, 14, "", schema, cfg, log);
    int port = start_gw(&G.gw, cfg, log);
    itg_sleep_ms(1000);
    char *h = port ? itg_http_get(port, "/health") : NULL;
    bool degraded =
        h && strstr(h, "\"redis\":{\"connected\":false") && strstr(h, "\"status\":\"degraded\"");
    free(h);
    char *t = itg_slurp(log);
    bool loud = t && strstr(t, "Redis unreachable at start-up");
    free(t);
    long long trades = -1, rows, distinct;
    int rc = port ? stop_gw(&G.gw, log, &trades) : -1;
    /* required = true: refuses */
    FILE *f = fopen(cfg, "a");
    assert_non_null(f);
    fprintf(f, "[redis]\nrequired = true\n");
    fclose(f);
    char *argv[] = {(char *)G.gw_bin, "--config", cfg, NULL};
    long req_ms;
    int req_rc = run_to_exit(argv, log, &req_ms);
    cfg_redis_port = 0;
    stop_pid(&G.replay, SIGTERM);
    pg_trades(schema, &rows, &distinct);
    print_message("  Redis unreachable at start: started %s, /health degraded %s, stop exit %d, "
                  "%lld trades stored; required = true: exit %d\n",
                  port ? "yes" : "no", degraded ? "yes" : "no", rc, rows, req_rc);
    assert_true(port > 0);
    assert_true(loud);
    assert_true(degraded);
    assert_int_equal(rc, 0);
    assert_int_equal(req_rc, 3);
}

/* --- setup ---------------------------------------------------------------------------------- */

static int setup(void **st)
{
    (void)st;
    snprintf(G.tmp, sizeof G.tmp, "/tmp/tg_it_rel_XXXXXX");
    if (!mkdtemp(G.tmp))
        return -1;
    chmod(G.tmp, 0755);
    snprintf(G.cert, sizeof G.cert, "%s/tls/cert.pem", G.tmp);
    snprintf(G.key, sizeof G.key, "%s/tls/key.pem", G.tmp);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "bash '%s/tools/replay/gen-test-cert.sh' '%s/tls' >/dev/null 2>&1",
             getenv("TG_SOURCE_ROOT"), G.tmp);
    if (system(cmd) != 0)
        return -1;
    trb_run_t *ref = NULL;
    if (tool_replay_books_run(&ref, G.rec->path, NULL, 60 * TG_NS_PER_SEC) < 0)
        return -1;
    G.oracle_trades = 0;
    for (uint32_t i = 0; i < ref->n_sym; i++)
        G.oracle_trades += (long long)ref->sym[i].trades;
    tool_replay_books_free(&ref);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    if (atomic_exchange(&G.frozen, 0))
        it_pg_signal_all(SIGCONT);
    stop_pid(&G.gw, SIGKILL);
    stop_pid(&G.gw2, SIGKILL);
    stop_pid(&G.replay, SIGKILL);
    it_pg_start(); /* no-op when it runs */
    redisContext *c = redisConnect("127.0.0.1", G.redis_port);
    if (c && !c->err) {
        for (int db = 11; db <= 14; db++) {
            freeReplyObject(redisCommand(c, "SELECT %d", db));
            freeReplyObject(redisCommand(c, "FLUSHDB"));
        }
    }
    if (c)
        redisFree(c);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", G.tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const char *rport = getenv("TG_TEST_REDIS_PORT");
    G.gw_bin = getenv("TG_GATEWAY_BIN");
    G.replay_bin = getenv("TG_REPLAY_BIN");
    if (!getenv("TG_TEST_PG_DSN") || !getenv("TG_TEST_PG_DATA") || !rport || !G.gw_bin ||
        !G.replay_bin || !getenv("TG_RECORDINGS") || !getenv("TG_SOURCE_ROOT"))
        return 77;
    G.redis_port = atoi(rport);
    int n =
        itg_recs_find(getenv("TG_RECORDINGS"), getenv("TG_PEER_EXPECTED"), G.recs, ITG_RECS_MAX);
    const char *want = getenv("TG_RELIABILITY_RECORDING"); /* a name, to pick another */
    for (int i = 0; i < n; i++)
        if (want ? strcmp(G.recs[i].name, want) == 0 : (!G.rec || G.recs[i].frames > G.rec->frames))
            G.rec = &G.recs[i];
    if (!G.rec)
        return 77;
    if (getenv("TG_RELIABILITY_ONLY")) /* a test name pattern, to run one */
        cmocka_set_test_filter(getenv("TG_RELIABILITY_ONLY"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hung_postgres_under_load_loses_nothing_and_redis_keeps_publishing),
        cmocka_unit_test(test_start_while_postgres_down_then_catch_up),
        cmocka_unit_test(test_sigkill_under_load_loses_at_most_the_crash_window),
        cmocka_unit_test(test_start_while_redis_unreachable),
    };
    return cmocka_run_group_tests_name("reliability", tests, setup, teardown);
}

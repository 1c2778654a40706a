/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory sink end to end: real processes (tickgate-replay serving recordings of
 * $TG_RECORDINGS over wss with a throwaway certificate; tickgate with only the [shm] sink
 * enabled, so no PostgreSQL or Redis is needed) and libtickgate-client reading the segment
 * through its usual API (shm:///name) on its own thread, from start-up until the gateway's
 * SIGTERM closes the segment (DISCONNECTED).
 * Checks, per instrument of every recording:
 *  - the book the client holds at the end equals the same recording rebuilt offline
 *    (tool_replay_books_run, the code behind `tickgate-replay books`, itself golden-tested):
 *    top 20 levels, exact (int64 + scale through tg_client_dec_text -> tg_dec_parse at the
 *    offline scale), generation, and state (a book STALE at the end, as the feeds' shutdown
 *    marks them, must have had the offline state before); FAULT books by state only;
 *  - trades arrive in order, numbered per instrument; the last number equals the offline trade
 *    count, and delivered + reported missing = every trade after the client's join.
 * Env: TG_REPLAY_BIN, TG_GATEWAY_BIN, TG_RECORDINGS, TG_SOURCE_ROOT (else skip, 77);
 * TG_SHM_IT_FILTER: only recordings whose path holds this text.
 * Thread: main (processes, checks); the client thread owns the client until joined.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <sys/mman.h>

#include <tickgate/client.h>

#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "tests/fixtures/it_client_util.h"
#include "tests/integration/it_gw_util.h"
#include "tools/replay/tool_replay_books.h"

#define CH_MAX 8192

typedef struct ch_stat {
    char key[160]; /* venue/symbol */
    uint64_t base, last, delivered, missing, books;
    int state; /* the last state other than STALE (the feeds' shutdown marks books stale) */
    bool seen;
} ch_stat_t;

static struct {
    char tmp[256], cert[300], key[300], shm[64], log[400];
    const char *gw_bin, *replay_bin;
    int replay_port;
    pid_t replay, gw;
    itg_rec_t recs[ITG_RECS_MAX];
    int n_recs;
    tg_client_t *cl;
    pthread_t th;
    atomic_int stop;
    ch_stat_t *ch;
    uint64_t events, disconnects, connected, bad, out_of_order;
} G;

static ch_stat_t *ch_get(const char *venue, const char *symbol)
{
    char k[160];
    snprintf(k, sizeof(k), "%s/%s", venue, symbol);
    for (unsigned long i = itg_hash(k) % CH_MAX, n = 0; n < CH_MAX; n++, i = (i + 1) % CH_MAX) {
        if (!G.ch[i].key[0]) {
            snprintf(G.ch[i].key, sizeof(G.ch[i].key), "%s", k);
            return &G.ch[i];
        }
        if (!strcmp(G.ch[i].key, k))
            return &G.ch[i];
    }
    return NULL;
}

/* Client thread: follow until the gateway closes the segment. */
static void *client_main(void *arg)
{
    (void)arg;
    tg_client_event_t ev;
    while (!atomic_load(&G.stop)) {
        int rc = tg_client_next(G.cl, &ev, 200);
        if (rc < 0)
            break;
        if (rc == 0)
            continue;
        G.events++;
        ch_stat_t *c = ev.venue[0] ? ch_get(ev.venue, ev.symbol) : NULL;
        switch (ev.kind) {
        case TG_CLIENT_EV_CONNECTED:
            G.connected++;
            break;
        case TG_CLIENT_EV_DISCONNECTED:
            G.disconnects++;
            atomic_store(&G.stop, 1);
            break;
        case TG_CLIENT_EV_BAD:
            G.bad++;
            fprintf(stderr, "BAD event on %s: %s\n", ev.channel, ev.text);
            break;
        case TG_CLIENT_EV_BOOK:
            if (c)
                c->books++;
            if (c && ev.u.book->state != TG_CLIENT_STATE_STALE)
                c->state = ev.u.book->state;
            break;
        case TG_CLIENT_EV_STATUS:
            if (c && ev.u.status.state != TG_CLIENT_STATE_STALE)
                c->state = ev.u.status.state;
            break;
        case TG_CLIENT_EV_HOLE:
            if (c && ev.chan_kind == TG_CLIENT_CH_TRADES) {
                if (!c->seen)
                    c->base = ev.u.hole.seq_after;
                c->seen = true;
                c->missing += ev.u.hole.missing;
                c->last = ev.u.hole.seq_after + ev.u.hole.missing;
            }
            break;
        case TG_CLIENT_EV_TRADE:
            if (!c)
                break;
            if (!c->seen)
                c->base = ev.seq - 1;
            c->seen = true;
            if (ev.seq != c->last + 1 && c->last)
                G.out_of_order++;
            c->last = ev.seq;
            c->delivered++;
            break;
        default:
            break;
        }
    }
    return NULL;
}

static void write_config(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "[gateway]\nlog_level = info\nbook_depth = 20\n"
            "[postgres]\nenabled = false\n[redis]\nenabled = false\n"
            "[shm]\nenabled = true\nname = %s\ndepth = 20\nmode = 0600\n"
            "[metrics]\nlisten = 127.0.0.1:0\n",
            G.shm);
    itg_write_feeds(f, G.recs, G.n_recs, G.replay_port, G.cert);
    fclose(f);
}

static int client_state(const book_l2_t *b)
{
    switch (book_l2_state(b)) {
    case BOOK_STATE_VALID:
        return TG_CLIENT_STATE_VALID;
    case BOOK_STATE_RESYNCING:
        return TG_CLIENT_STATE_RESYNCING;
    case BOOK_STATE_STALE:
        return TG_CLIENT_STATE_STALE;
    default:
        return TG_CLIENT_STATE_FAULT;
    }
}

static void test_books_read_from_shared_memory_equal_the_offline_books(void **st)
{
    (void)st;
    char cfg[600];
    snprintf(cfg, sizeof(cfg), "%s/tickgate.ini", G.tmp);
    write_config(cfg);
    snprintf(G.log, sizeof(G.log), "%s/tickgate.log", G.tmp);
    int64_t t0 = itg_now_ms();
    char *argv[] = {(char *)G.gw_bin, "--config", cfg, NULL};
    G.gw = itg_spawn(argv, -1, NULL, G.log);
    assert_true(G.gw > 0);

    /* the client: as soon as the segment exists */
    tg_client_cfg_t cc;
    tg_client_cfg_defaults(&cc);
    char url[100];
    snprintf(url, sizeof(url), "shm://%s", G.shm);
    cc.url = url;
    assert_int_equal(tg_client_create(&G.cl, &cc), 0);
    assert_int_equal(
        tg_client_subscribe(G.cl, "*", "*", TG_CLIENT_SUB_BOOK | TG_CLIENT_SUB_TRADES, NULL), 0);
    int rc = -1;
    for (int i = 0; i < 3000 && rc != 0; i++) {
        if (itg_wait(G.gw, 10) >= 0) {
            char *t = itg_slurp(G.log);
            fail_msg("tickgate exited at start-up:\n%s", t ? t : "");
        }
        rc = tg_client_connect(G.cl);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(pthread_create(&G.th, NULL, client_main, NULL), 0);

    int port = 0;
    for (int i = 0; i < 3000 && !port; i++) {
        if (itg_wait(G.gw, 10) >= 0)
            fail_msg("tickgate exited at start-up");
        port = itg_log_port(G.log);
    }
    assert_true(port > 0);
    for (;;) { /* every feed has all its frames */
        char *m = itg_http_get(port, "/metrics");
        assert_non_null(m);
        int complete = 0;
        char missing[2048] = "";
        size_t mn = 0;
        for (int i = 0; i < G.n_recs; i++) {
            char lb[300];
            snprintf(lb, sizeof(lb), "feed=\"%s\"", G.recs[i].name);
            long long got = itg_metric(m, "tickgate_feed_frames_total", lb);
            long long want = G.recs[i].frames + G.recs[i].rest;
            if (got > want) /* a reconnect replayed part of the file again */
                fail_msg("feed %s: %lld frames, the recording has %ld + %ld REST", G.recs[i].name,
                         got, G.recs[i].frames, G.recs[i].rest);
            complete += got == want;
            if (got != want && mn < sizeof(missing) - 300)
                mn += (size_t)snprintf(missing + mn, sizeof(missing) - mn, " %s: %lld of %lld;",
                                       G.recs[i].name, got, want);
        }
        free(m);
        if (complete == G.n_recs)
            break;
        if (itg_now_ms() - t0 > 480000) /* a loaded machine under TSan is slow */
            fail_msg("only %d of %d feeds complete after 480 s:%s", complete, G.n_recs, missing);
        if (itg_wait(G.gw, 200) >= 0)
            fail_msg("tickgate exited while running");
    }
    kill(G.gw, SIGTERM);
    int code = itg_wait(G.gw, 60000);
    if (code >= 0)
        G.gw = 0;
    char *t = itg_slurp(G.log);
    if (code != 0)
        fprintf(stderr, "tickgate log:\n%s\n", t ? t : "");
    const char *fin = t ? strstr(t, "msg=\"final\"") : NULL;
    print_message("  tickgate: %lld ms, exit %d; %.*s\n", (long long)(itg_now_ms() - t0), code,
                  fin ? (int)strcspn(fin, "\n") : 0, fin ? fin : "");
    free(t);
    assert_int_equal(code, 0);
    for (int i = 0; i < 500 && !atomic_load(&G.stop); i++) /* it reads on to the CLOSED mark */
        itg_sleep_ms(10);
    atomic_store(&G.stop, 1);
    pthread_join(G.th, NULL);
    G.th = 0;
    assert_int_equal(G.disconnects, 1); /* the segment was closed, seen after every entry */
    assert_int_equal(G.connected, 1);
    assert_int_equal(G.bad, 0);
    assert_int_equal(G.out_of_order, 0);

    unsigned books = 0, faults = 0, stale = 0, late_join = 0;
    uint64_t trades = 0, missing = 0;
    for (int r = 0; r < G.n_recs; r++) {
        trb_run_t *off = NULL;
        rc = tool_replay_books_run(&off, G.recs[r].path, NULL, 60 * TG_NS_PER_SEC);
        if (rc < 0)
            fail_msg("%s: %s", G.recs[r].path, tg_strerror(rc));
        for (uint32_t id = 0; id < off->n_sym; id++) {
            const tg_instr_t *in = tg_instr_reg_get(off->reg, id);
            char who[400];
            snprintf(who, sizeof(who), "%s %s/%s", G.recs[r].name, in->venue, in->symbol);
            /* trades */
            ch_stat_t *c = ch_get(in->venue, in->symbol);
            if (off->sym[id].trades) {
                if (c->last != off->sym[id].trades)
                    fail_msg("%s: last trade number %llu in shared memory, %llu offline", who,
                             (unsigned long long)c->last, (unsigned long long)off->sym[id].trades);
                if (c->delivered + c->missing != c->last - c->base)
                    fail_msg("%s: %llu delivered + %llu missing != %llu trades after the join", who,
                             (unsigned long long)c->delivered, (unsigned long long)c->missing,
                             (unsigned long long)(c->last - c->base));
                trades += c->delivered;
                missing += c->missing;
                late_join += c->base > 0;
            }
            /* books */
            const book_l2_t *bk = book_builder_book(off->bld, id);
            if (!bk)
                continue;
            const tg_client_book_t *cb = tg_client_book(G.cl, in->venue, in->symbol);
            if (!cb)
                fail_msg("%s: a book offline, none read from shared memory", who);
            int want = client_state(bk);
            if ((int)cb->state != want && cb->state != TG_CLIENT_STATE_STALE)
                fail_msg("%s: state %s in shared memory, %s offline", who,
                         tg_client_state_name(cb->state),
                         tg_client_state_name((tg_client_state_t)want));
            /* STALE at the end: the state before it must be the offline one */
            if (cb->state == TG_CLIENT_STATE_STALE && want != TG_CLIENT_STATE_STALE &&
                c->state != want)
                fail_msg("%s: state %s before shutdown in shared memory, %s offline", who,
                         tg_client_state_name((tg_client_state_t)c->state),
                         tg_client_state_name((tg_client_state_t)want));
            stale += cb->state == TG_CLIENT_STATE_STALE && want != TG_CLIENT_STATE_STALE;
            if (want == TG_CLIENT_STATE_FAULT) {
                faults++;
                continue; /* its levels are not trustworthy by definition */
            }
            if (cb->generation != book_l2_generation(bk))
                fail_msg("%s: generation %llu in shared memory, %llu offline", who,
                         (unsigned long long)cb->generation,
                         (unsigned long long)book_l2_generation(bk));
            for (int s = 0; s < 2; s++) {
                tg_level_t lv[BOOK_OUT_DEPTH_MAX];
                size_t n = book_l2_top(bk, s ? TG_SIDE_ASK : TG_SIDE_BID, lv, 20);
                const tg_client_level_t *cl = s ? cb->asks : cb->bids;
                if ((s ? cb->n_asks : cb->n_bids) != n)
                    fail_msg("%s: %u %s in shared memory, %zu offline", who,
                             s ? cb->n_asks : cb->n_bids, s ? "asks" : "bids", n);
                for (size_t k = 0; k < n; k++)
                    if (itc_dec_at(cl[k].px, off->sym[id].px) != lv[k].price ||
                        itc_dec_at(cl[k].sz, off->sym[id].sz) != lv[k].size)
                        fail_msg("%s: %s[%zu] differs from the offline book", who,
                                 s ? "asks" : "bids", k);
            }
            books++;
        }
        tool_replay_books_free(&off);
    }
    tg_client_counters_t ctr;
    tg_client_counters(G.cl, &ctr);
    print_message("  %d recordings: %u books equal to the offline ones (20 levels), %u FAULT by "
                  "state, %u STALE at shutdown (state before it equal); %llu trades in order, %llu "
                  "reported missing, "
                  "%u instruments joined after their first trade; client: %llu events, %llu "
                  "holes\n",
                  G.n_recs, books, faults, stale, (unsigned long long)trades,
                  (unsigned long long)missing, late_join, (unsigned long long)G.events,
                  (unsigned long long)ctr.holes);
    assert_true(books > 0);
    assert_true(trades > 0);
}

static int setup(void **st)
{
    (void)st;
    snprintf(G.tmp, sizeof(G.tmp), "/tmp/tg_it_shm_XXXXXX");
    if (!mkdtemp(G.tmp))
        return -1;
    snprintf(G.shm, sizeof(G.shm), "/tg-it-shm-%d", (int)getpid());
    snprintf(G.cert, sizeof(G.cert), "%s/tls/cert.pem", G.tmp);
    snprintf(G.key, sizeof(G.key), "%s/tls/key.pem", G.tmp);
    G.ch = calloc(CH_MAX, sizeof(ch_stat_t));
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "bash '%s/tools/replay/gen-test-cert.sh' '%s/tls' >/dev/null 2>&1",
             getenv("TG_SOURCE_ROOT"), G.tmp);
    if (!G.ch || system(cmd) != 0)
        return -1;
    G.replay_port =
        itg_replay_serve_tls(G.replay_bin, G.cert, G.key, G.recs, G.n_recs, G.tmp, &G.replay);
    return G.replay_port ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    atomic_store(&G.stop, 1);
    if (G.th)
        pthread_join(G.th, NULL);
    for (pid_t *pp = &G.gw; pp; pp = pp == &G.gw ? &G.replay : NULL) {
        if (*pp > 0) {
            kill(*pp, SIGTERM);
            if (itg_wait(*pp, 10000) < 0) {
                kill(*pp, SIGKILL);
                itg_wait(*pp, 5000);
            }
        }
    }
    tg_client_destroy(&G.cl);
    shm_unlink(G.shm); /* if the gateway did not */
    free(G.ch);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", G.tmp);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    G.gw_bin = getenv("TG_GATEWAY_BIN");
    G.replay_bin = getenv("TG_REPLAY_BIN");
    if (!G.gw_bin || !G.replay_bin || !getenv("TG_RECORDINGS") || !getenv("TG_SOURCE_ROOT"))
        return 77;
    int n = itg_recs_find(getenv("TG_RECORDINGS"), "", G.recs, ITG_RECS_MAX);
    const char *filter = getenv("TG_SHM_IT_FILTER");
    for (int i = 0; i < n; i++)
        if (!filter || strstr(G.recs[i].path, filter))
            G.recs[G.n_recs++] = G.recs[i];
    if (!G.n_recs)
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_books_read_from_shared_memory_equal_the_offline_books),
    };
    return cmocka_run_group_tests_name("shared memory end to end", tests, setup, teardown);
}

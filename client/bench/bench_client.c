/* SPDX-License-Identifier: MIT */
/*
 * Benchmark: libtickgate-client CPU and allocations per message, against a reference measured
 * in the same run: the plain hiredis subscriber loop (redisGetReply + jsmn tokenizing of the
 * document + freeReplyObject), i.e. what tickgate-sub did before the library. Both receive the
 * same stream: a publisher thread PUBLISHes N top-10 book documents (about 900 bytes, 10
 * instruments, pipelined in batches) to a real redis-server; the subscriber's thread CPU time
 * (CLOCK_THREAD_CPUTIME_ID) and its allocations (tools/bench/malloc_count.h) are taken
 * over the N messages. Rounds alternate client/reference; medians and their ratio are printed.
 *
 *   tests/fixtures/services.sh run build-rel/client/bench-client [N] [ROUNDS]
 * Needs TG_TEST_REDIS_PORT (exit 77 without). Thread: main (subscriber) + one publisher.
 */
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JSMN_STATIC
#include <jsmn.h>

#include <tickgate/client.h>

#include "client/bench/bench_util.h"

#include "tools/bench/malloc_count.h"

static int g_port, g_n;
static char g_prefix[32];

static int doc(char *buf, size_t cap, int sym, long seq)
{
    int n = snprintf(buf, cap,
                     "{\"type\":\"book\",\"venue\":\"bv\",\"symbol\":\"S%d\",\"seq\":%ld,"
                     "\"epoch\":42,\"state\":\"VALID\",\"generation\":1,\"exch_seq\":%ld,"
                     "\"reason\":\"change\",\"ts_exch\":1764000000000000000,"
                     "\"ts_recv\":1764000000000123456,\"depth_bids\":1000,\"depth_asks\":1000,"
                     "\"bids\":[",
                     sym, seq, seq);
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < 10; i++)
            n += snprintf(buf + n, cap - (size_t)n, "%s[\"%d.%02d\",\"0.%05ld\"]", i ? "," : "",
                          61837 + (s ? i : -i), (int)(seq % 100), seq % 99991 + 1);
        n += snprintf(buf + n, cap - (size_t)n, "%s", s ? "]}" : "],\"asks\":[");
    }
    return n;
}

static void *pub_main(void *arg)
{
    (void)arg;
    redisContext *c = redisConnect("127.0.0.1", g_port);
    char buf[2048], ch[64];
    long seq[10] = {0};
    usleep(100000); /* the subscriber is subscribed (the caller waited for NUMSUB too) */
    for (int i = 0; i < g_n;) {
        int batch = 0;
        for (; batch < 256 && i < g_n; batch++, i++) {
            int s = i % 10;
            doc(buf, sizeof(buf), s, ++seq[s]);
            snprintf(ch, sizeof(ch), "%s.book.bv.S%d", g_prefix, s);
            redisAppendCommand(c, "PUBLISH %s %s", ch, buf);
        }
        for (int k = 0; k < batch; k++) {
            redisReply *r = NULL;
            redisGetReply(c, (void **)&r);
            freeReplyObject(r);
        }
    }
    redisFree(c);
    return NULL;
}

static void wait_numsub(int want)
{
    redisContext *c = redisConnect("127.0.0.1", g_port);
    for (int i = 0; i < 400; i++) {
        redisReply *r = redisCommand(c, "PUBSUB NUMSUB %s.book.bv.S9", g_prefix);
        long long n = r && r->elements == 2 ? r->element[1]->integer : 0;
        freeReplyObject(r);
        if (n >= want)
            break;
        usleep(5000);
    }
    redisFree(c);
}

typedef struct res {
    double ns_per_msg, allocs_per_msg;
    long msgs, holes;
} res_t;

static res_t run_client(int round)
{
    res_t r = {0};
    snprintf(g_prefix, sizeof(g_prefix), "bc%d", round);
    char url[64], why[256];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", g_port);
    tg_client_t *c =
        bench_client_open(url, g_prefix, "bv", "*", TG_CLIENT_SUB_BOOK, why, sizeof(why));
    if (!c) {
        fprintf(stderr, "client: %s\n", why);
        exit(1);
    }
    tg_client_event_t ev;
    while (tg_client_next(c, &ev, 0) == 1) /* the join's CONNECTED */
        ;
    wait_numsub(1);
    pthread_t th;
    pthread_create(&th, NULL, pub_main, NULL);
    /* the first message of each instrument creates its channel (allocates once): not timed */
    long warm = 0;
    while (warm < 10 && tg_client_next(c, &ev, 2000) == 1)
        warm += ev.kind == TG_CLIENT_EV_BOOK;
    double t0 = thread_cpu_ns();
    uint64_t a0 = test_malloc_count();
    while (r.msgs < g_n - 10) {
        int rc = tg_client_next(c, &ev, 2000);
        if (rc != 1)
            break;
        if (ev.kind == TG_CLIENT_EV_BOOK)
            r.msgs++;
        else if (ev.kind == TG_CLIENT_EV_HOLE)
            r.holes++;
    }
    r.ns_per_msg = (thread_cpu_ns() - t0) / (double)r.msgs;
    r.allocs_per_msg = (double)(test_malloc_count() - a0) / (double)r.msgs;
    pthread_join(th, NULL);
    tg_client_destroy(&c);
    return r;
}

static res_t run_reference(int round)
{
    res_t r = {0};
    snprintf(g_prefix, sizeof(g_prefix), "br%d", round);
    redisContext *c = redisConnect("127.0.0.1", g_port);
    redisReply *rep = redisCommand(c, "PSUBSCRIBE %s.book.bv.*", g_prefix);
    freeReplyObject(rep);
    wait_numsub(0);
    usleep(20000);
    pthread_t th;
    pthread_create(&th, NULL, pub_main, NULL);
    jsmntok_t tok[256];
    double t0 = thread_cpu_ns();
    uint64_t a0 = test_malloc_count();
    while (r.msgs < g_n) {
        if (redisGetReply(c, (void **)&rep) != REDIS_OK)
            break;
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
            jsmn_parser p;
            jsmn_init(&p);
            if (jsmn_parse(&p, rep->element[3]->str, rep->element[3]->len, tok, 256) > 0)
                r.msgs++;
        }
        freeReplyObject(rep);
    }
    r.ns_per_msg = (thread_cpu_ns() - t0) / (double)r.msgs;
    r.allocs_per_msg = (double)(test_malloc_count() - a0) / (double)r.msgs;
    pthread_join(th, NULL);
    redisFree(c);
    return r;
}

int main(int argc, char **argv)
{
    if (!(g_port = bench_redis_port()))
        return 77;
    g_n = argc > 1 ? atoi(argv[1]) : 100000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    if (rounds > 32)
        rounds = 32;
    double cn[32], ca[32], rn[32], ra[32];
    long holes = 0;
    for (int i = 0; i < rounds; i++) {
        res_t c = run_client(i), r = run_reference(i);
        cn[i] = c.ns_per_msg, ca[i] = c.allocs_per_msg, rn[i] = r.ns_per_msg,
        ra[i] = r.allocs_per_msg;
        holes += c.holes;
        printf("round %d: client %.0f ns/msg %.3f allocs/msg (%ld msgs, %ld holes) | hiredis "
               "reference %.0f ns/msg %.3f allocs/msg\n",
               i, c.ns_per_msg, c.allocs_per_msg, c.msgs, c.holes, r.ns_per_msg, r.allocs_per_msg);
    }
    double mc = median(cn, rounds), mr = median(rn, rounds);
    printf("client CPU per message: median %.0f ns (reference hiredis+jsmn %.0f ns, ratio %.2f); "
           "allocations per message: client %.3f, reference %.3f; %d x %d book messages of "
           "10+10 levels; holes %ld\n",
           mc, mr, mc / mr, median(ca, rounds), median(ra, rounds), rounds, g_n, holes);
    return 0;
}

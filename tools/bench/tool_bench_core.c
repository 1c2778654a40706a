/* SPDX-License-Identifier: MIT */
/*
 * tickgate-bench-core: throughput of the event core, each figure next to a plain reference
 * measured in the same run.
 *
 *  - ring: 64-byte events from a producer thread to a consumer thread pinned to different
 *    cores, single push/pop (batch 1) and push_n/pop_n (batch 64), through tg_ring and through
 *    a plain C11 SPSC ring written below (acquire/release on head/tail, each index on its own
 *    cache line, but no cached copy of the other index, so every operation reads the other
 *    thread's line). Also tg_ring with a waiter attached (what a busy producer pays for the
 *    sleep/wake support) and a ping-pong round trip over two rings (latency).
 *  - decimals: values/s of tg_dec_parse() and of a plain reference loop (digits and '.', no
 *    exponent, no overflow checks) on a mix of exchange price/size strings. With
 *    TG_RECORDINGS set (or --recordings DIR) the strings are every quoted decimal found in
 *    the recordings (first 4 MB of text of each file); otherwise a synthetic mix shaped
 *    after them.
 * Every figure is the median of --reps repetitions (default 7); repetitions of the variants
 * are interleaved so machine noise hits them alike.
 *
 * Usage: tickgate-bench-core [--events N] [--reps R] [--parse-reps R] [--recordings DIR]
 * Thread: main + one producer and one consumer thread per ring run.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clamp.h"
#include "book/tg_clock.h"
#include "book/tg_dec.h"
#include "book/tg_event.h"
#include "book/tg_ring.h"
#include "book/tg_rng.h"
#include "tools/bench/bench_stat.h"

#define RING_CAP 4096u

/* ---------------- plain reference SPSC ring (64-byte records) ---------------- */

typedef struct ref_ring {
    alignas(64) _Atomic uint32_t head; /* consumer writes */
    alignas(64) _Atomic uint32_t tail; /* producer writes */
    alignas(64) uint32_t mask;
    unsigned char *buf;
} ref_ring_t;

static ref_ring_t *ref_ring_create(uint32_t cap)
{
    ref_ring_t *r = aligned_alloc(64, sizeof(*r));
    if (!r)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->mask = cap - 1;
    r->buf = aligned_alloc(64, (size_t)cap * 64);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    memset(r->buf, 0, (size_t)cap * 64);
    return r;
}

static void ref_ring_destroy(ref_ring_t *r)
{
    if (r) {
        free(r->buf);
        free(r);
    }
}

static inline bool ref_push(ref_ring_t *r, const void *rec)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* BC_A2: pairs with BC_R2 in ref_pop/ref_pop_n: the consumer is done with the slot. */
    uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    if (t - h > r->mask)
        return false;
    memcpy(r->buf + (size_t)(t & r->mask) * 64, rec, 64);
    /* BC_R1: publishes the slot; pairs with BC_A1 in ref_pop/ref_pop_n. */
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return true;
}

static inline bool ref_pop(ref_ring_t *r, void *rec)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* BC_A1: pairs with BC_R1 in ref_push/ref_push_n. */
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (t == h)
        return false;
    memcpy(rec, r->buf + (size_t)(h & r->mask) * 64, 64);
    /* BC_R2: the slot was copied out; pairs with BC_A2 in ref_push/ref_push_n. */
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return true;
}

static inline uint32_t ref_push_n(ref_ring_t *r, const void *recs, uint32_t n)
{
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    /* BC_A2: pairs with BC_R2. */
    uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    uint32_t room = r->mask + 1 - (t - h);
    if (n > room)
        n = room;
    for (uint32_t i = 0; i < n; i++)
        memcpy(r->buf + (size_t)((t + i) & r->mask) * 64, (const unsigned char *)recs + i * 64, 64);
    /* BC_R1: pairs with BC_A1. */
    atomic_store_explicit(&r->tail, t + n, memory_order_release);
    return n;
}

static inline uint32_t ref_pop_n(ref_ring_t *r, void *recs, uint32_t max)
{
    uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    /* BC_A1: pairs with BC_R1. */
    uint32_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint32_t n = t - h;
    if (n > max)
        n = max;
    for (uint32_t i = 0; i < n; i++)
        memcpy((unsigned char *)recs + i * 64, r->buf + (size_t)((h + i) & r->mask) * 64, 64);
    /* BC_R2: pairs with BC_A2. */
    atomic_store_explicit(&r->head, h + n, memory_order_release);
    return n;
}

/* ---------------- ring runs ---------------- */

enum ring_kind { RK_TG, RK_TG_WAITER, RK_REF };

typedef struct ring_run {
    enum ring_kind kind;
    uint32_t batch;
    uint64_t n;
    tg_ring_t *tg;
    ref_ring_t *ref;
    _Atomic int go;
    int64_t t_end;
    uint64_t sum; /* consumer: sum of seq, checked against n(n-1)/2 */
} ring_run_t;

static int ncpu;

static void pin(int cpu)
{
    if (ncpu < 2)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % ncpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *ring_producer(void *arg)
{
    ring_run_t *x = arg;
    pin(0);
    tg_event_t batch[64];
    memset(batch, 0, sizeof(batch));
    /* BC_A3: pairs with BC_R3 (the start signal). */
    while (!atomic_load_explicit(&x->go, memory_order_acquire))
        ;
    uint64_t i = 0;
    if (x->batch == 1) {
        while (i < x->n) {
            batch[0].seq = i;
            bool ok = x->kind == RK_REF ? ref_push(x->ref, &batch[0])
                                        : tg_ring_spsc_push(x->tg, &batch[0]);
            i += ok;
        }
    } else {
        while (i < x->n) {
            uint32_t k = x->n - i < x->batch ? (uint32_t)(x->n - i) : x->batch;
            for (uint32_t j = 0; j < k; j++)
                batch[j].seq = i + j;
            uint32_t done = 0;
            while (done < k)
                done += x->kind == RK_REF ? ref_push_n(x->ref, batch + done, k - done)
                                          : tg_ring_spsc_push_n(x->tg, batch + done, k - done);
            i += k;
        }
    }
    return NULL;
}

static void *ring_consumer(void *arg)
{
    ring_run_t *x = arg;
    pin(1);
    tg_event_t batch[64];
    uint64_t got = 0, sum = 0;
    /* BC_A3: pairs with BC_R3 (the start signal). */
    while (!atomic_load_explicit(&x->go, memory_order_acquire))
        ;
    if (x->batch == 1) {
        while (got < x->n) {
            bool ok =
                x->kind == RK_REF ? ref_pop(x->ref, &batch[0]) : tg_ring_spsc_pop(x->tg, &batch[0]);
            if (ok) {
                sum += batch[0].seq;
                got++;
            }
        }
    } else {
        while (got < x->n) {
            uint32_t k = x->kind == RK_REF ? ref_pop_n(x->ref, batch, x->batch)
                                           : tg_ring_spsc_pop_n(x->tg, batch, x->batch);
            for (uint32_t j = 0; j < k; j++)
                sum += batch[j].seq;
            got += k;
        }
    }
    x->t_end = tg_clock_mono_ns();
    x->sum = sum;
    return NULL;
}

/* One run; returns events/s. */
static double ring_run(enum ring_kind kind, uint32_t batch, uint64_t n)
{
    ring_run_t x = {.kind = kind, .batch = batch, .n = n};
    tg_waiter_t w;
    if (kind == RK_REF) {
        x.ref = ref_ring_create(RING_CAP);
    } else {
        if (tg_ring_create(&x.tg, RING_CAP, sizeof(tg_event_t)) != 0)
            x.tg = NULL;
        if (x.tg && kind == RK_TG_WAITER) {
            tg_waiter_init(&w);
            tg_ring_set_waiter(x.tg, &w);
        }
    }
    if (!x.ref && !x.tg) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    pthread_t p, c;
    pthread_create(&c, NULL, ring_consumer, &x);
    pthread_create(&p, NULL, ring_producer, &x);
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL); /* let both threads reach their start line */
    int64_t t0 = tg_clock_mono_ns();
    /* BC_R3: start signal; pairs with BC_A3 in ring_producer/ring_consumer. */
    atomic_store_explicit(&x.go, 1, memory_order_release);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    if (x.sum != n * (n - 1) / 2) {
        fprintf(stderr, "bench: ring lost or duplicated events (sum %llu)\n",
                (unsigned long long)x.sum);
        exit(1);
    }
    ref_ring_destroy(x.ref);
    tg_ring_destroy(&x.tg);
    return (double)n / ((double)(x.t_end - t0) / 1e9);
}

/* Ping-pong: main pushes one event on ring a, the echo thread pops it and pushes it back on
 * ring b. Returns the mean round trip in ns. */
typedef struct pingpong {
    tg_ring_t *a, *b;
    ref_ring_t *ra, *rb;
    uint64_t n;
} pingpong_t;

static void *pp_echo(void *arg)
{
    pingpong_t *pp = arg;
    pin(1);
    tg_event_t e;
    for (uint64_t i = 0; i < pp->n; i++) {
        if (pp->a) {
            while (!tg_ring_spsc_pop(pp->a, &e))
                ;
            while (!tg_ring_spsc_push(pp->b, &e))
                ;
        } else {
            while (!ref_pop(pp->ra, &e))
                ;
            while (!ref_push(pp->rb, &e))
                ;
        }
    }
    return NULL;
}

static double pingpong_run(bool ref, uint64_t n)
{
    pingpong_t pp = {.n = n};
    if (ref) {
        pp.ra = ref_ring_create(RING_CAP);
        pp.rb = ref_ring_create(RING_CAP);
    } else {
        tg_ring_create(&pp.a, RING_CAP, 64);
        tg_ring_create(&pp.b, RING_CAP, 64);
    }
    pthread_t t;
    pthread_create(&t, NULL, pp_echo, &pp);
    pin(0);
    tg_event_t e;
    memset(&e, 0, sizeof(e));
    int64_t t0 = tg_clock_mono_ns();
    for (uint64_t i = 0; i < n; i++) {
        e.seq = i;
        if (!ref) {
            while (!tg_ring_spsc_push(pp.a, &e))
                ;
            while (!tg_ring_spsc_pop(pp.b, &e))
                ;
        } else {
            while (!ref_push(pp.ra, &e))
                ;
            while (!ref_pop(pp.rb, &e))
                ;
        }
    }
    int64_t dt = tg_clock_mono_ns() - t0;
    pthread_join(t, NULL);
    tg_ring_destroy(&pp.a);
    tg_ring_destroy(&pp.b);
    ref_ring_destroy(pp.ra);
    ref_ring_destroy(pp.rb);
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int i = 0; i < ncpu; i++)
        CPU_SET(i, &all);
    pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
    return (double)dt / (double)n;
}

/* Single-thread cost of moving one event through a ring (push then pop on the same thread,
 * thread CPU time): no cross-core traffic, so it isolates the instructions per operation and
 * is stable on a loaded machine. Returns ns per event. */
static int64_t thread_cpu_ns(void);

static double op_cost(bool ref, uint32_t batch, uint64_t n)
{
    tg_ring_t *r = NULL;
    ref_ring_t *rr = NULL;
    if (ref)
        rr = ref_ring_create(RING_CAP);
    else
        tg_ring_create(&r, RING_CAP, 64);
    tg_event_t in[64], out[64];
    memset(in, 0, sizeof(in));
    memset(out, 0, sizeof(out));
    uint64_t sum = 0;
    int64_t t0 = thread_cpu_ns();
    for (uint64_t i = 0; i < n; i += batch) {
        in[0].seq = i;
        if (batch == 1) {
            if (ref) {
                ref_push(rr, &in[0]);
                ref_pop(rr, &out[0]);
            } else {
                tg_ring_spsc_push(r, &in[0]);
                tg_ring_spsc_pop(r, &out[0]);
            }
        } else if (ref) {
            ref_push_n(rr, in, batch);
            ref_pop_n(rr, out, batch);
        } else {
            tg_ring_spsc_push_n(r, in, batch);
            tg_ring_spsc_pop_n(r, out, batch);
        }
        sum += out[0].seq;
    }
    int64_t dt = thread_cpu_ns() - t0;
    if (sum != (n / batch) * ((n / batch) - 1) / 2 * batch) {
        fprintf(stderr, "bench: single-thread ring check failed\n");
        exit(1);
    }
    tg_ring_destroy(&r);
    ref_ring_destroy(rr);
    return (double)dt / (double)n;
}

/* ---------------- decimals ---------------- */

typedef struct strset {
    char *text;
    uint32_t *off;
    uint8_t *len;
    size_t n, cap, text_len, text_cap;
} strset_t;

static void strset_add(strset_t *s, const char *p, size_t len)
{
    if (len == 0 || len > 40)
        return;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1 << 16;
        s->off = realloc(s->off, s->cap * sizeof(*s->off));
        s->len = realloc(s->len, s->cap * sizeof(*s->len));
    }
    if (s->text_len + len > s->text_cap) {
        s->text_cap = s->text_cap ? s->text_cap * 2 : 1 << 20;
        s->text = realloc(s->text, s->text_cap);
    }
    if (!s->off || !s->len || !s->text) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    memcpy(s->text + s->text_len, p, len);
    s->off[s->n] = (uint32_t)s->text_len;
    s->len[s->n] = (uint8_t)len;
    s->text_len += len;
    s->n++;
}

/* Collect "quoted decimals" ("-?digits.digits") from the text of one recording. */
static void strset_scan_file(strset_t *s, const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "zstd -dcf '%s' 2>/dev/null | head -c 4000000", path);
    FILE *f = popen(cmd, "r");
    if (!f)
        return;
    static char buf[1 << 16];
    char tok[48];
    size_t tl = 0;
    bool in = false, dot = false;
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            char c = buf[i];
            if (c == '"') {
                if (in && dot && tl > 0 && tok[tl - 1] != '.')
                    strset_add(s, tok, tl);
                in = true;
                dot = false;
                tl = 0;
            } else if (in && tl < sizeof(tok) &&
                       ((c >= '0' && c <= '9') || (c == '.' && !dot && tl > 0) ||
                        (c == '-' && tl == 0))) {
                dot |= c == '.';
                tok[tl++] = c;
            } else {
                in = false;
            }
        }
    }
    pclose(f);
}

static void strset_scan_dir(strset_t *s, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (strstr(e->d_name, ".tgrec"))
            strset_scan_file(s, path);
        else if (depth < 2)
            strset_scan_dir(s, path, depth + 1);
    }
    closedir(d);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    return tg_rng_xorshift64star(&rng);
}

/* Synthetic mix shaped after the recordings: messages of 2..32 price/size pairs from one venue
 * (Binance spot "61837.63000000"/"0.00123000", Binance futures "61800.10"/"0.002",
 * Bybit/OKX "1.9535"/"0.680706", Coinbase "3421.5"/"0.10", Kraken "61837.60000"), the venue
 * drawn at random per message, as a feed thread sees them. */
static void synth_one(char *b, size_t bsz, int venue, bool size, unsigned long long r, int *len)
{
    switch (venue) {
    case 0: /* binance spot */
        *len =
            size ? ((r >> 8) % 4
                        ? snprintf(b, bsz, "%llu.%08llu", (r >> 12) % 3, (r >> 16) % 100000000)
                        : snprintf(b, bsz, "0.00000000"))
                 : snprintf(b, bsz, "%llu.%02llu000000", 60000 + (r >> 8) % 3000, (r >> 24) % 100);
        break;
    case 1: /* binance futures */
        *len = size ? snprintf(b, bsz, "%llu.%03llu", (r >> 12) % 20, (r >> 24) % 1000)
                    : snprintf(b, bsz, "%llu.%02llu", 61000 + (r >> 12) % 1000, (r >> 24) % 100);
        break;
    case 2: /* bybit / okx */
        *len = size ? snprintf(b, bsz, "%llu.%06llu", (r >> 8) % 50, (r >> 24) % 1000000)
                    : snprintf(b, bsz, "%llu.%04llu", 1 + (r >> 8) % 2, (r >> 24) % 10000);
        break;
    case 3: /* coinbase */
        *len = size ? snprintf(b, bsz, "0.%02llu", (r >> 8) % 100)
                    : snprintf(b, bsz, "%llu.%llu", 3000 + (r >> 8) % 1000, (r >> 24) % 10);
        break;
    default: /* kraken */
        *len = size ? snprintf(b, bsz, "%llu.%08llu", (r >> 8) % 10, (r >> 24) % 100000000)
                    : snprintf(b, bsz, "%llu.%05llu", 61000 + (r >> 8) % 1000, (r >> 24) % 100000);
    }
}

static void strset_synth(strset_t *s, size_t n)
{
    char b[48];
    while (s->n < n) {
        int venue = (int)(rnd() % 5);
        int pairs = 2 + (int)(rnd() % 31);
        for (int i = 0; i < 2 * pairs; i++) {
            int len;
            synth_one(b, sizeof(b), venue, i & 1, rnd(), &len);
            strset_add(s, b, (size_t)len);
        }
    }
}

/* Plain reference: digits and one '.', scaled by a multiply; no exponent, no overflow check,
 * fractional digits beyond the scale must be zeros. noinline: tg_dec_parse() is called
 * across translation units (as the feeds call it), so the reference pays a call too. */
__attribute__((noinline)) static int ref_dec_parse(const char *s, size_t len, int scale,
                                                   int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    uint64_t v = 0;
    int frac = -1;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            if (frac >= 0)
                return -1;
            frac = 0;
            continue;
        }
        if (c < '0' || c > '9')
            return -1;
        if (frac >= 0) {
            if (frac == scale) {
                if (c != '0')
                    return -1;
                continue;
            }
            frac++;
        }
        v = v * 10 + (uint64_t)(c - '0');
    }
    if (frac < 0)
        frac = 0;
    v *= (uint64_t)tg_dec_pow10[scale - frac];
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

typedef int (*parse_fn)(const char *, size_t, int, int64_t *);

/* CPU time of the calling thread: the parse loop is single-threaded, and on a shared machine
 * this leaves out the time other processes held the core. */
static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * TG_NS_PER_SEC + ts.tv_nsec;
}

/* `passes` passes over the set; returns values per CPU second; *sum and *errs for the
 * cross-check. */
static double parse_run(parse_fn fn, const strset_t *s, int passes, int64_t *sum, size_t *errs)
{
    int64_t acc = 0;
    size_t bad = 0;
    int64_t t0 = thread_cpu_ns();
    for (int p = 0; p < passes; p++) {
        for (size_t i = 0; i < s->n; i++) {
            int64_t v;
            if (fn(s->text + s->off[i], s->len[i], 8, &v) == 0)
                acc += v;
            else
                bad++;
        }
    }
    int64_t dt = thread_cpu_ns() - t0;
    *sum = acc;
    *errs = bad;
    return (double)s->n * passes / ((double)dt / 1e9);
}

/* ---------------- main ---------------- */

#define MAX_REPS 64

/* The 1-minute load average, printed with the figures: on a shared 2-core machine the
 * ring numbers mean little when other work is running. */
static void print_load(const char *when)
{
    char buf[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            strcpy(buf, "?");
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    printf("load average %s: %s\n", when, buf);
}

int main(int argc, char **argv)
{
    uint64_t events = 20000000;
    int reps = 7, parse_passes = 20;
    const char *recdir = getenv("TG_RECORDINGS");
    bool do_ring = true, do_parse = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--events") && i + 1 < argc)
            events = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--parse-passes") && i + 1 < argc)
            parse_passes = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--recordings") && i + 1 < argc)
            recdir = argv[++i];
        else if (!strcmp(argv[i], "--synthetic"))
            recdir = NULL;
        else if (!strcmp(argv[i], "--no-ring"))
            do_ring = false;
        else if (!strcmp(argv[i], "--no-parse"))
            do_parse = false;
        else {
            fprintf(stderr,
                    "usage: %s [--events N] [--reps R] [--parse-passes P] "
                    "[--recordings DIR | --synthetic] [--no-ring] [--no-parse]\n",
                    argv[0]);
            return 2;
        }
    }
    reps = tg_clamp_int(reps, 1, MAX_REPS);
    if (events < 1000)
        events = 1000;
    setvbuf(stdout, NULL, _IOLBF, 0);
    cpu_set_t set;
    ncpu = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
    printf("tickgate-bench-core: %d CPUs, ring capacity %u x 64 B, %llu events/run, "
           "median of %d runs\n",
           ncpu, RING_CAP, (unsigned long long)events, reps);
    if (ncpu < 2)
        printf("  (one CPU: threads not pinned, ring figures mean little)\n");
    print_load("at start");

    if (do_ring) {
        /* ring throughput */
        static const struct {
            const char *name;
            enum ring_kind kind;
            uint32_t batch;
        } cfg[] = {
            {"tg_ring  batch 1 ", RK_TG, 1},        {"ref ring batch 1 ", RK_REF, 1},
            {"tg_ring  batch 64", RK_TG, 64},       {"ref ring batch 64", RK_REF, 64},
            {"tg_ring+waiter b1", RK_TG_WAITER, 1},
        };
        enum { NCFG = sizeof(cfg) / sizeof(cfg[0]) };
        double res[NCFG][MAX_REPS];
        for (int r = 0; r < reps; r++)
            for (int c = 0; c < NCFG; c++)
                res[c][r] = ring_run(cfg[c].kind, cfg[c].batch, events);
        double med[NCFG];
        printf("\nring throughput (producer cpu0 -> consumer cpu1), events/s:\n");
        for (int c = 0; c < NCFG; c++) {
            med[c] = tb_median(res[c], reps);
            printf("  %s  median %7.1f M/s  (min %6.1f, max %6.1f)\n", cfg[c].name, med[c] / 1e6,
                   res[c][0] / 1e6, res[c][reps - 1] / 1e6);
        }
        printf("  ratio tg/ref: batch 1 %.2fx, batch 64 %.2fx; waiter attached costs %.1f%%\n",
               med[0] / med[1], med[2] / med[3], 100.0 * (1.0 - med[4] / med[0]));

        double oc[4][MAX_REPS];
        for (int r = 0; r < reps; r++) {
            oc[0][r] = op_cost(false, 1, 4 * 1024 * 1024);
            oc[1][r] = op_cost(true, 1, 4 * 1024 * 1024);
            oc[2][r] = op_cost(false, 64, 16 * 1024 * 1024);
            oc[3][r] = op_cost(true, 64, 16 * 1024 * 1024);
        }
        printf("\nsingle-thread push+pop (no cross-core traffic, thread CPU time), ns/event:\n");
        printf("  batch 1:  tg_ring %.2f  ref ring %.2f\n", tb_median(oc[0], reps),
               tb_median(oc[1], reps));
        printf("  batch 64: tg_ring %.2f  ref ring %.2f\n", tb_median(oc[2], reps),
               tb_median(oc[3], reps));

        /* latency */
        double rtt[2][MAX_REPS];
        uint64_t pp_n = events / 20 < 200000 ? 200000 : events / 20;
        for (int r = 0; r < reps; r++) {
            rtt[0][r] = pingpong_run(false, pp_n);
            rtt[1][r] = pingpong_run(true, pp_n);
        }
        printf("\nping-pong round trip over two rings (%llu trips/run), mean ns per trip:\n",
               (unsigned long long)pp_n);
        printf("  tg_ring   median %6.0f ns\n", tb_median(rtt[0], reps));
        printf("  ref ring  median %6.0f ns\n", tb_median(rtt[1], reps));
    }

    /* decimals */
    bool parse_ok = true;
    if (do_parse) {
        strset_t sets[2] = {{0}, {0}};
        const char *names[2] = {"recordings, file order", "synthetic venue messages"};
        if (recdir)
            strset_scan_dir(&sets[0], recdir, 0);
        strset_synth(&sets[1], 500000);
        for (int k = 0; k < 2; k++) {
            strset_t *s = &sets[k];
            if (s->n == 0)
                continue;
            size_t total = 0;
            for (size_t i = 0; i < s->n; i++)
                total += s->len[i];
            printf("\ndecimal parse at scale 8: %zu strings (%s, mean %.1f bytes), "
                   "%d passes/run, thread CPU time\n",
                   s->n, names[k], (double)total / (double)s->n, parse_passes);
            double pr[2][MAX_REPS];
            int64_t sum_tg = 0, sum_ref = 0;
            size_t err_tg = 0, err_ref = 0;
            for (int r = 0; r < reps; r++) {
                pr[0][r] = parse_run(tg_dec_parse, s, parse_passes, &sum_tg, &err_tg);
                pr[1][r] = parse_run(ref_dec_parse, s, parse_passes, &sum_ref, &err_ref);
            }
            double m_tg = tb_median(pr[0], reps), m_ref = tb_median(pr[1], reps);
            printf("  tg_dec_parse    median %7.1f M values/s (%.2f ns/value)\n", m_tg / 1e6,
                   1e9 / m_tg);
            printf("  reference loop  median %7.1f M values/s (%.2f ns/value)\n", m_ref / 1e6,
                   1e9 / m_ref);
            bool agree = sum_tg == sum_ref && err_tg == err_ref;
            printf("  ratio tg/ref %.2fx; rejected per pass: tg %zu, ref %zu; sums %s\n",
                   m_tg / m_ref, err_tg / (size_t)parse_passes, err_ref / (size_t)parse_passes,
                   agree ? "agree" : "DIFFER");
            parse_ok &= agree;
            free(s->text);
            free(s->off);
            free(s->len);
        }
    }
    print_load("at end");
    return parse_ok ? 0 : 1;
}

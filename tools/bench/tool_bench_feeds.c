/* SPDX-License-Identifier: MIT */
/*
 * tickgate-bench-feeds: parse + normalize throughput of the venue handlers on recordings,
 * venue-agnostic through feed_offline (frames in memory, events counted by a sink, no book).
 * Per file: messages/s, MB/s, events/s as the median of several passes, for
 *   (a) our handler (Binance: fast scanner with generic fallback), and for Binance also
 *   (a') our handler forced onto its generic jsmn path, and
 *   (b) a plain reference written here: jsmn tokenize, then walk the tokens and extract the same
 *       Binance events (levels and trades decoded with tg_dec), no sync logic;
 *   (c) the tardis-dev peer (`node peer.js FILE --bench`), `full` msgs/s, when node and the
 *       peer's node_modules are available (TG_PEER_DIR, default ../shared/peer).
 * Usage: tickgate-bench-feeds [-n PASSES] [--no-peer] [FILE...]
 *        (default: every recording under $TG_RECORDINGS whose venue has a handler)
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/tg_dec.h"
#include "feeds/venues/feed_binance.h"
#include "feeds/rec/feed_offline.h"

#define JSMN_STATIC
#define JSMN_PARENT_LINKS /* O(1) instead of a backwards scan per ',' and ']' */
#include <jsmn.h>

#include "book/book_builder.h"
#include "tools/bench/bench_stat.h"

static uint64_t g_events;
static int g_handler_only;
static book_builder_t *g_builder; /* (d): events go on into the builder */
static int g_use_builder;

static int count_sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    g_events += n;
    if (g_builder)
        book_builder_apply(g_builder, ev, n);
    return 0;
}

/* Builder output goes nowhere (the peer keeps its books and bars in memory too). */
static int null_out(void *ctx, const book_out_t *rec)
{
    return 0;
}

/* CPU time of this thread: the machine is shared (2 cores, other jobs), and wall time there
 * mostly measures the scheduler. Rates below use CPU time; wall ms/pass is printed too. */
typedef struct result {
    double s;        /* median CPU seconds per pass */
    double wall;     /* median wall seconds per pass */
    uint64_t events; /* per pass */
} result_t;

/* frames split out of the recording before timing (as the peer holds its lines as strings) */
typedef struct frames {
    const char **f;
    size_t *len;
    int64_t *ts;
    size_t n;
} frames_t;

/* (a) / (a'): the handler, fresh state each pass (feed_offline_rewind), frames from memory;
 * offline_run: through feed_offline_run() instead, i.e. including the tgrec line split */
static result_t run_handler(feed_offline_t *o, const frames_t *fr, int passes, int slow,
                            int offline_run)
{
    double t[64], w[64];
    result_t r = {0};
    for (int p = -1; p < passes; p++) { /* one warm-up pass */
        feed_offline_rewind(o);
        memset(&o->stats, 0, sizeof(o->stats));
        if (slow)
            feed_binance_set_path(&o->h, FEED_BN_PATH_SLOW);
        o->h.out.flush = count_sink;
        g_events = 0;
        if (g_use_builder) { /* (d): fresh books and candles each pass, like the peer */
            book_builder_cfg_t bc;
            book_builder_cfg_defaults(&bc);
            bc.reg = o->reg;
            bc.measure_latency = false;
            bc.sinks[0] = (book_sink_cfg_t){
                .name = "null", .fn = null_out, .kinds = BOOK_SINK_ALL, .lossless = true};
            bc.n_sinks = 1;
            book_builder_destroy(&g_builder);
            if (book_builder_create(&g_builder, &bc) < 0)
                abort();
        }
        double t0 = tb_cpu_s(), w0 = tb_now_s();
        if (offline_run) {
            feed_offline_run(o, count_sink, NULL);
        } else {
            for (size_t i = 0; i < fr->n; i++) {
                feed_frame(&o->h, fr->f[i], fr->len[i], fr->ts[i], fr->ts[i]);
                feed_flush(&o->h);
            }
        }
        double dt = tb_cpu_s() - t0, dw = tb_now_s() - w0;
        if (p >= 0) {
            t[p] = dt;
            w[p] = dw;
        }
        r.events = g_events;
    }
    r.s = tb_median(t, passes);
    r.wall = tb_median(w, passes);
    return r;
}

/* ---- (b) plain reference: jsmn tokenize, then walk ---- */

static int ref_skip(const jsmntok_t *t, int n, int i)
{
    int end = t[i].end;
    for (i++; i < n && t[i].start < end; i++)
        ;
    return i;
}

static int ref_eq(const char *js, const jsmntok_t *t, const char *s)
{
    size_t n = strlen(s);
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
           memcmp(js + t->start, s, n) == 0;
}

static uint64_t ref_levels(const char *js, const jsmntok_t *t, int i)
{
    uint64_t n = 0;
    int k = i + 1;
    for (int j = 0; j < t[i].size; j++, k += 3) {
        int64_t px, sz;
        if (tg_dec_parse(js + t[k + 1].start, (size_t)(t[k + 1].end - t[k + 1].start), 8, &px) ==
                0 &&
            tg_dec_parse(js + t[k + 2].start, (size_t)(t[k + 2].end - t[k + 2].start), 8, &sz) == 0)
            n++;
    }
    return n;
}

static uint64_t ref_frame(const char *js, size_t len, jsmntok_t *t, unsigned cap)
{
    jsmn_parser p;
    jsmn_init(&p);
    int n = jsmn_parse(&p, js, len, t, cap);
    if (n < 1 || t[0].type != JSMN_OBJECT)
        return 0;
    int d = 0, k = 1;
    for (int j = 0; j < t[0].size; j++) {
        if (ref_eq(js, &t[k], "data"))
            d = k + 1;
        k = ref_skip(t, n, k + 1);
    }
    if (t[d].type != JSMN_OBJECT)
        return 0;
    uint64_t ev = 0;
    int e = -1, px = -1, q = -1;
    k = d + 1;
    for (int j = 0; j < t[d].size; j++) {
        const jsmntok_t *key = &t[k];
        if (ref_eq(js, key, "e"))
            e = k + 1;
        else if (ref_eq(js, key, "p"))
            px = k + 1;
        else if (ref_eq(js, key, "q"))
            q = k + 1;
        else if ((ref_eq(js, key, "b") || ref_eq(js, key, "a") || ref_eq(js, key, "bids") ||
                  ref_eq(js, key, "asks")) &&
                 t[k + 1].type == JSMN_ARRAY)
            ev += ref_levels(js, t, k + 1);
        k = ref_skip(t, n, k + 1);
    }
    if (e >= 0 && px >= 0 && q >= 0 &&
        (ref_eq(js, &t[e], "trade") || ref_eq(js, &t[e], "aggTrade"))) {
        int64_t a, b;
        if (tg_dec_parse(js + t[px].start, (size_t)(t[px].end - t[px].start), 8, &a) == 0 &&
            tg_dec_parse(js + t[q].start, (size_t)(t[q].end - t[q].start), 8, &b) == 0)
            ev++;
    }
    return ev;
}

static result_t run_reference(const frames_t *fr, int passes)
{
    unsigned cap = 1u << 16;
    jsmntok_t *t = malloc(sizeof(jsmntok_t) * cap);
    double tm[64], w[64];
    result_t r = {0};
    for (int p = -1; p < passes; p++) {
        uint64_t ev = 0;
        double t0 = tb_cpu_s(), w0 = tb_now_s();
        for (size_t i = 0; i < fr->n; i++)
            ev += ref_frame(fr->f[i], fr->len[i], t, cap);
        double dt = tb_cpu_s() - t0, dw = tb_now_s() - w0;
        if (p >= 0) {
            tm[p] = dt;
            w[p] = dw;
        }
        r.events = ev;
    }
    free(t);
    r.s = tb_median(tm, passes);
    r.wall = tb_median(w, passes);
    return r;
}

/* ---- (c) the peer ---- */

static double run_peer(const char *file, const char *peer_dir)
{
    char nm[1200], cmd[4096], out[] = "/tmp/tg-bench-peer-XXXXXX";
    snprintf(nm, sizeof(nm), "%s/node_modules", peer_dir);
    if (access(nm, R_OK) != 0 || system("command -v node >/dev/null 2>&1") != 0)
        return -1;
    int fd = mkstemp(out);
    if (fd < 0)
        return -1;
    close(fd);
    snprintf(cmd, sizeof(cmd),
             "node --expose-gc '%s/peer.js' '%s' --bench --repeat 5 --out '%s' >/dev/null 2>&1",
             peer_dir, file, out);
    double rate = -1;
    if (system(cmd) == 0) {
        FILE *f = fopen(out, "rb");
        if (f) {
            static char buf[1 << 20];
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);
            buf[n] = 0;
            fclose(f);
            const char *p = strstr(buf, "\"full\"");
            if (p && (p = strstr(p, "\"msgs_per_s\"")) && (p = strchr(p, ':')))
                rate = strtod(p + 1, NULL);
        }
    }
    unlink(out);
    return rate;
}

static void line(const char *what, result_t r, uint64_t msgs, uint64_t bytes)
{
    printf("  %-34s %10.0f msg/s %9.1f MB/s %12.0f ev/s  (cpu %.2f, wall %.2f ms/pass)\n", what,
           msgs / r.s, bytes / r.s / 1e6, r.events / r.s, r.s * 1e3, r.wall * 1e3);
}

static int bench_file(const char *path, int passes, const char *peer_dir)
{
    feed_offline_t *o;
    int rc = feed_offline_open(&o, path, NULL, NULL, 0);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot open (%d)\n", path, rc);
        return rc;
    }
    uint64_t msgs = 0, bytes = 0;
    int64_t ts;
    const char *f;
    size_t len;
    frames_t fr;
    fr.f = malloc(sizeof(char *) * o->rec->data_lines);
    fr.len = malloc(sizeof(size_t) * o->rec->data_lines);
    fr.ts = malloc(sizeof(int64_t) * o->rec->data_lines);
    fr.n = 0;
    while (feed_tgrec_next(o->rec, &ts, &f, &len) == 1 && fr.n < o->rec->data_lines) {
        fr.f[fr.n] = f;
        fr.len[fr.n] = len;
        fr.ts[fr.n++] = ts;
        msgs++;
        bytes += len;
    }
    const char *base = strrchr(path, '/');
    printf("%s [%s]: %llu msgs, %.2f MB\n", base ? base + 1 : path, o->venue->name,
           (unsigned long long)msgs, bytes / 1e6);
    result_t a = run_handler(o, &fr, passes, 0, 0);
    line("(a) tickgate handler", a, msgs, bytes);
    if (!g_handler_only) {
        result_t ao = run_handler(o, &fr, passes, 0, 1);
        line("    same, incl. tgrec line split", ao, msgs, bytes);
    }
    /* (d) what the peer's `full` does: parse + normalize + books + candles */
    g_use_builder = 1;
    result_t d = run_handler(o, &fr, passes, 0, 0);
    g_use_builder = 0;
    book_builder_destroy(&g_builder);
    line("(d) handler + builder (books, candles)", d, msgs, bytes);
    bool binance = strncmp(o->venue->name, "binance", 7) == 0;
    double ours = msgs / d.wall; /* the peer reports wall time: compare wall with wall */
    if (binance && !g_handler_only) {
        printf("      fast path %llu / slow path %llu frames\n",
               (unsigned long long)TG_STAT_GET(o->stats.fast_path),
               (unsigned long long)TG_STAT_GET(o->stats.slow_path));
        result_t s = run_handler(o, &fr, passes, 1, 0);
        line("(a') handler, generic jsmn path", s, msgs, bytes);
        result_t b = run_reference(&fr, passes);
        line("(b) reference jsmn tokenize+walk", b, msgs, bytes);
        printf("      (a)/(b) = %.2fx\n", b.s / a.s);
    }
    if (peer_dir) {
        double pr = run_peer(path, peer_dir);
        if (pr > 0)
            printf("  %-34s %10.0f msg/s (wall)  -> tickgate (d) wall %.0f msg/s = %.1fx\n",
                   "(c) tardis-dev peer, full", pr, ours, ours / pr);
        else
            printf("  (c) peer: not available (node or %s/node_modules missing)\n", peer_dir);
    }
    free(fr.f);
    free(fr.len);
    free(fr.ts);
    feed_offline_close(&o);
    return 0;
}

int main(int argc, char **argv)
{
    int passes = 7, peer = 1, nfiles = 0;
    const char *files[256];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-peer") == 0)
            peer = 0;
        else if (strcmp(argv[i], "--handler-only") == 0)
            g_handler_only = 1;
        else if (nfiles < 256)
            files[nfiles++] = argv[i];
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (passes < 1 || passes > 64)
        passes = 7;
    static char paths[256][600];
    if (nfiles == 0) {
        const char *root = getenv("TG_RECORDINGS");
        if (!root)
            root = "../shared/recordings";
        DIR *d = opendir(root);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.' || !feed_venue_find(de->d_name))
                continue;
            char dir[600];
            snprintf(dir, sizeof(dir), "%.300s/%.200s", root, de->d_name);
            DIR *v = opendir(dir);
            struct dirent *fe;
            while (v && (fe = readdir(v)) && nfiles < 256) {
                if (!strstr(fe->d_name, ".tgrec"))
                    continue;
                snprintf(paths[nfiles], sizeof(paths[0]), "%.300s/%.250s", dir, fe->d_name);
                files[nfiles] = paths[nfiles];
                nfiles++;
            }
            if (v)
                closedir(v);
        }
        if (d)
            closedir(d);
    }
    const char *peer_dir = getenv("TG_PEER_DIR");
    if (!peer_dir)
        peer_dir = "../shared/peer";
    printf("tickgate-bench-feeds: %d passes per figure (median), 1 thread, %d file(s)\n", passes,
           nfiles);
    for (int i = 0; i < nfiles; i++)
        bench_file(files[i], passes, peer ? peer_dir : NULL);
    return 0;
}

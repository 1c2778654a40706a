/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the gateway end-to-end test (test_it_gateway.c): the recordings with a venue
 * handler and their websocket frame counts, child processes (tickgate-replay, tickgate) with
 * their output in files, a gateway config writer, /metrics scraping, the gateway's final log
 * line, and a Redis pub/sub subscriber thread that checks per-channel sequence numbers.
 * Header-only; include from one test file. Thread: the test's main thread, except the
 * subscriber (its own thread, which owns its hiredis context and result table until joined).
 */
#ifndef IT_GW_UTIL_H
#define IT_GW_UTIL_H

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "feeds/feed.h"
#include "feeds/rec/feed_tgrec.h"
#include "tests/fixtures/rec_walk.h"

#define ITG_RECS_MAX 32

typedef struct itg_rec {
    char path[1400];
    char name[256]; /* basename without .tgrec[.zst]: the feed name and the replay path */
    char venue[32];
    char symbols[4096];
    char oracle[1400]; /* $TG_PEER_EXPECTED/<file>.result.json, "" if none */
    int depth;         /* from a "# sent:" subscribe holding "depth":N, else 0 */
    long frames;       /* websocket frames: data lines minus generated records */
    long rest;         /* generated records: the REST snapshot answers served in-band */
} itg_rec_t;

static inline int64_t itg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void itg_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int itg_rec_cmp(const void *a, const void *b)
{
    return strcmp(((const itg_rec_t *)a)->path, ((const itg_rec_t *)b)->path);
}

/* Fill one record from its file: header fields and the websocket frame count. */
static inline int itg_rec_load(itg_rec_t *r)
{
    feed_tgrec_t *t = NULL;
    if (feed_tgrec_open(&t, r->path) < 0)
        return -1;
    snprintf(r->venue, sizeof(r->venue), "%s", t->venue);
    snprintf(r->symbols, sizeof(r->symbols), "%s", t->symbols);
    r->depth = 0;
    for (size_t i = 0; i < t->n_sent; i++) {
        const char *d = strstr(t->sent[i], "\"depth\":");
        if (d)
            r->depth = atoi(d + 8);
    }
    int64_t ts;
    const char *fr;
    size_t len;
    int rc;
    r->frames = r->rest = 0;
    while ((rc = feed_tgrec_next(t, &ts, &fr, &len)) != 0) {
        if (rc != 1)
            continue;
        if (!feed_tgrec_is_generated(fr, len))
            r->frames++;
        else if (memmem(fr, len < 200 ? len : 200, "@depthSnapshot", 14))
            r->rest++; /* a book snapshot the live feed asks for over REST */
        /* else: instrument metadata the recorder fetched ({"rest":...}): offline only */
    }
    feed_tgrec_close(&t);
    return 0;
}

/* Where itg_recs_find puts what it finds. */
typedef struct itg_recs_to {
    const char *expected;
    itg_rec_t *out;
    int n;
} itg_recs_to_t;

static inline int itg_recs_keep(void *ctx, const char *venue, const char *vdir, const char *file)
{
    itg_recs_to_t *t = ctx;
    itg_rec_t *r = &t->out[t->n];
    memset(r, 0, sizeof(*r));
    snprintf(r->path, sizeof(r->path), "%s/%s", vdir, file);
    snprintf(r->name, sizeof(r->name), "%s", file);
    *strstr(r->name, ".tgrec") = 0;
    snprintf(r->oracle, sizeof(r->oracle), "%s/%s.result.json", t->expected, file);
    if (access(r->oracle, R_OK) != 0)
        r->oracle[0] = 0;
    if (itg_rec_load(r) != 0)
        return 0;
    t->n++;
    return 1;
}

/* Every recording under dir/<venue>/ whose venue has a handler (tu_recs_each), sorted by path. */
static inline int itg_recs_find(const char *dir, const char *expected, itg_rec_t *out, int max)
{
    itg_recs_to_t t = {expected, out, 0};
    int n = tu_recs_each(dir, NULL, max, itg_recs_keep, &t);
    qsort(out, (size_t)n, sizeof(out[0]), itg_rec_cmp);
    return n;
}

/* --- child processes --------------------------------------------------------------------- */

/* fork/exec argv with stdout to out_fd (or out_path) and stderr to err_path. */
static inline pid_t itg_spawn(char *const argv[], int out_fd, const char *out_path,
                              const char *err_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (e >= 0)
        dup2(e, 2);
    if (out_fd >= 0) {
        dup2(out_fd, 1);
    } else if (out_path) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o >= 0)
            dup2(o, 1);
    }
    execv(argv[0], argv);
    _exit(127);
}

/* Wait for pid up to ms; @return exit code, 128+signal, or -1 (still running). */
static inline int itg_wait(pid_t pid, int ms)
{
    int64_t end = itg_now_ms() + ms;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (itg_now_ms() >= end)
            return -1;
        itg_sleep_ms(2);
    }
}

/* Send sig to *p (when > 0) and reap it within wait_ms, else SIGKILL and reap it within 5 s;
 * then *p = 0. */
static inline void itg_stop(pid_t *p, int sig, int wait_ms)
{
    if (*p <= 0)
        return;
    kill(*p, sig);
    if (itg_wait(*p, wait_ms) < 0) {
        kill(*p, SIGKILL);
        itg_wait(*p, 5000);
    }
    *p = 0;
}

/* What fd yields until EOF (or a read error or timeout) as a NUL-terminated malloc'd string,
 * or NULL when out of memory. */
static inline char *itg_read_all(int fd)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    ssize_t k;
    while (b && (k = read(fd, b + n, cap - n - 1)) > 0) {
        n += (size_t)k;
        if (cap - n < 4096) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
            cap *= 2;
        }
    }
    if (b)
        b[n] = 0;
    return b;
}

/* Whole file as a NUL-terminated string (malloc), or NULL. */
static inline char *itg_slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *b = itg_read_all(fd);
    close(fd);
    return b;
}

/* A loopback TCP port nothing listens on (bound then closed). */
static inline int itg_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof(a);
    int port = -1;
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* GET http://127.0.0.1:port/path into a malloc'd string (body and headers), or NULL. */
static inline char *itg_http_get(int port, const char *path)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(s);
        return NULL;
    }
    char req[256];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (write(s, req, (size_t)n) != n) {
        close(s);
        return NULL;
    }
    char *b = itg_read_all(s);
    close(s);
    return b;
}

/* Sum of a metric's samples whose label text contains filter (NULL: all). */
static inline long long itg_metric(const char *text, const char *name, const char *filter)
{
    long long sum = 0;
    size_t nl = strlen(name);
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > nl && strncmp(p, name, nl) == 0 && (p[nl] == '{' || p[nl] == ' ')) {
            char line[1024];
            size_t c = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
            memcpy(line, p, c);
            line[c] = 0;
            const char *sp = strrchr(line, ' ');
            if (sp && (!filter || strstr(line, filter)))
                sum += (long long)strtod(sp + 1, NULL);
        }
        p = e ? e + 1 : NULL;
    }
    return sum;
}

/* Integer field key=N of a logfmt line, or -1. */
static inline long long itg_field(const char *line, const char *key)
{
    char k[64];
    snprintf(k, sizeof(k), " %s=", key);
    const char *p = strstr(line, k);
    return p ? atoll(p + strlen(k)) : -1;
}

/* --- gateway config and log ---------------------------------------------------------------- */

/* Start `tickgate-replay serve ...` (argv, NULL-terminated, with --port 0), stderr to err_path;
 * @return the port it printed ("listening port=N"), 0 on failure; *pid the child's. */
static inline int itg_replay_start(char *const argv[], const char *err_path, pid_t *pid)
{
    int p[2], port = 0;
    if (pipe(p) != 0)
        return 0;
    *pid = itg_spawn(argv, p[1], NULL, err_path);
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char line[256];
    while (f && !port && fgets(line, sizeof(line), f))
        sscanf(line, "listening port=%d", &port);
    if (f)
        fclose(f);
    return port;
}

/* tickgate-replay serve over TLS (cert, key) with the n recordings, as the gateway tests run it:
 * holding the last connection open, 300 ms for subscribers to settle, at full speed, quiet;
 * stderr to tmp/replay.log. @return the port, 0 on failure; *pid the server's. */
static inline int itg_replay_serve_tls(const char *bin, const char *cert, const char *key,
                                       const itg_rec_t *recs, int n, const char *tmp, pid_t *pid)
{
    char *argv[16 + ITG_RECS_MAX] = {(char *)bin,    "serve",      "--port", "0",         "--tls",
                                     "--cert",       (char *)cert, "--key",  (char *)key, "--hold",
                                     "--sub-settle", "300",        "--max",  "--quiet"};
    int k = 14;
    for (int i = 0; i < n; i++)
        argv[k++] = (char *)recs[i].path;
    argv[k] = NULL;
    char err[400];
    snprintf(err, sizeof(err), "%s/replay.log", tmp);
    return itg_replay_start(argv, err, pid);
}

/* One [feed] section per recording, served by a tickgate-replay on port (wss, cert). */
static inline void itg_write_feeds(FILE *f, const itg_rec_t *recs, int n, int port,
                                   const char *cert)
{
    for (int i = 0; i < n; i++) {
        const itg_rec_t *c = &recs[i];
        fprintf(f,
                "[feed %s]\nvenue = %s\nurl = wss://127.0.0.1:%d/rec/%s\n"
                "rest_url = https://127.0.0.1:%d/rec/%s\nca_file = %s\nsymbols = %s\n"
                /* the replay holds each connection open, silent, after its last frame: with
                   19 recordings the run outlasts the default 30 s stale timer, and a stale
                   reconnect would replay a file twice */
                "stale_ms = 600000\n",
                c->name, c->venue, port, c->name, port, c->name, cert, c->symbols);
        if (c->depth)
            fprintf(f, "depth = %d\n", c->depth);
    }
}

/* The dashboard port tickgate logged at start-up, 0 if not yet. */
static inline int itg_log_port(const char *log)
{
    char *t = itg_slurp(log);
    const char *p = t ? strstr(t, "dashboard on http://127.0.0.1:") : NULL;
    int port = p ? atoi(p + strlen("dashboard on http://127.0.0.1:")) : 0;
    free(t);
    return port;
}

/* --- Redis subscriber ---------------------------------------------------------------------- */

#define ITG_SUB_CHANS 8192
#define ITG_SUB_END   "tg.__end_of_test__"

typedef struct itg_chan {
    char name[128];
    long long last_seq, msgs, holes, missing, first_seq;
    unsigned long long epoch;
    int epochs;
} itg_chan_t;

typedef struct itg_sub {
    int port;
    redisContext *rc;
    pthread_t th;
    int ready, started;
    itg_chan_t *ch; /* open addressing by name */
    long long total, bad;
    long long hellos; /* hello documents on tg.control (not in total) */
} itg_sub_t;

static inline unsigned long itg_hash(const char *s)
{
    unsigned long h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

static inline itg_chan_t *itg_sub_chan(itg_sub_t *s, const char *name)
{
    for (unsigned long i = itg_hash(name) % ITG_SUB_CHANS, k = 0; k < ITG_SUB_CHANS;
         k++, i = (i + 1) % ITG_SUB_CHANS) {
        if (!s->ch[i].name[0]) {
            snprintf(s->ch[i].name, sizeof(s->ch[i].name), "%s", name);
            return &s->ch[i];
        }
        if (strcmp(s->ch[i].name, name) == 0)
            return &s->ch[i];
    }
    return NULL;
}

static void *itg_sub_main(void *arg)
{
    itg_sub_t *s = arg;
    redisReply *r = NULL;
    while (redisGetReply(s->rc, (void **)&r) == REDIS_OK && r) {
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
            strcmp(r->element[0]->str, "pmessage") == 0) {
            const char *chn = r->element[2]->str, *msg = r->element[3]->str;
            if (strcmp(chn, ITG_SUB_END) == 0) {
                freeReplyObject(r);
                break;
            }
            if (strcmp(chn, "tg.control") == 0) { /* the publisher's hello (docs/redis.md) */
                s->hellos += strstr(msg, "\"type\":\"hello\"") != NULL;
                freeReplyObject(r);
                continue;
            }
            s->total++;
            itg_chan_t *c = itg_sub_chan(s, chn);
            const char *sq = strstr(msg, "\"seq\":"), *ep = strstr(msg, "\"epoch\":");
            if (!c || !sq || !ep) {
                s->bad++;
            } else {
                long long seq = atoll(sq + 6);
                unsigned long long epoch = strtoull(ep + 8, NULL, 10);
                if (c->msgs == 0 || epoch != c->epoch) {
                    c->epochs++;
                    c->epoch = epoch;
                    c->first_seq = seq;
                    c->missing += seq - 1; /* subscribed before the publisher: seq starts at 1 */
                    if (seq != 1)
                        c->holes++;
                } else if (seq != c->last_seq + 1) {
                    c->holes++;
                    c->missing += seq - c->last_seq - 1;
                }
                c->last_seq = seq;
                c->msgs++;
            }
        } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                   strcmp(r->element[0]->str, "psubscribe") == 0) {
            __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
        }
        freeReplyObject(r);
        r = NULL;
    }
    return NULL;
}

/* Connect, PSUBSCRIBE 'tg.*' and wait until Redis confirmed it. @return 0 or -1. */
static inline int itg_sub_start(itg_sub_t *s, int port)
{
    memset(s, 0, sizeof(*s));
    s->port = port;
    s->ch = calloc(ITG_SUB_CHANS, sizeof(itg_chan_t));
    s->rc = redisConnect("127.0.0.1", port);
    if (!s->ch || !s->rc || s->rc->err)
        return -1;
    if (redisAppendCommand(s->rc, "PSUBSCRIBE tg.*") != REDIS_OK)
        return -1;
    int done = 0;
    while (!done)
        if (redisBufferWrite(s->rc, &done) != REDIS_OK)
            return -1;
    if (pthread_create(&s->th, NULL, itg_sub_main, s) != 0)
        return -1;
    s->started = 1;
    for (int i = 0; i < 500 && !__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE); i++)
        itg_sleep_ms(10);
    return __atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) ? 0 : -1;
}

/* Publish the end marker on another connection and join the thread. */
static inline void itg_sub_finish(itg_sub_t *s)
{
    redisContext *c = redisConnect("127.0.0.1", s->port);
    if (c && !c->err) {
        redisReply *r = redisCommand(c, "PUBLISH %s end", ITG_SUB_END);
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    if (s->started)
        pthread_join(s->th, NULL);
    s->started = 0;
    if (s->rc)
        redisFree(s->rc);
    s->rc = NULL;
}

static inline void itg_sub_free(itg_sub_t *s)
{
    free(s->ch);
    s->ch = NULL;
}

#endif

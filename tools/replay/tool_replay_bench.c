/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay-bench: throughput of `tickgate-replay serve --max` into a plain lws client
 * that only counts (tools/replay/tool_replay_client.h), over ws and wss, median of several
 * runs. Reference measured in the same run: the same frames sent over a plain loopback TCP
 * socket by a child process, one send() per frame (no websocket framing, no lws, no TLS), read
 * by the parent in 256 KiB reads: the floor cost of one syscall per frame on this machine.
 *
 * usage: tickgate-replay-bench [--runs N] [--loop L] [--bin PATH] [RECORDING]
 * Defaults: 5 runs, loop 3, the binary next to this one (or $TG_REPLAY_BIN), and
 * $TG_RECORDINGS/binance-futures/hftbacktest_usdm_btcusdt_20240808.tgrec.zst.
 * Thread: main (plus one server process and one reference child process).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool_replay.h"
#include "tool_replay_client.h"
#include "tools/bench/bench_stat.h"

#define RUNS_MAX 32

static pid_t start_server(const char *bin, const char *file, int loop, bool tls,
                          const char *certdir, int *port)
{
    int out[2];
    if (pipe(out) < 0)
        return -1;
    char loops[16], cert[600], key[600];
    snprintf(loops, sizeof(loops), "%d", loop);
    snprintf(cert, sizeof(cert), "%s/cert.pem", certdir);
    snprintf(key, sizeof(key), "%s/key.pem", certdir);
    pid_t p = fork();
    if (p == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* no orphan server if we die */
        dup2(out[1], 1);
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 2);
        close(out[0]);
        if (tls)
            execl(bin, bin, "serve", "--port", "0", "--max", "--quiet", "--loop", loops, "--tls",
                  "--cert", cert, "--key", key, file, (char *)NULL);
        else
            execl(bin, bin, "serve", "--port", "0", "--max", "--quiet", "--loop", loops, file,
                  (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[128] = {0};
    size_t got = 0;
    struct pollfd pfd = {out[0], POLLIN, 0};
    while (got < sizeof(line) - 1 && !memchr(line, '\n', got) && poll(&pfd, 1, 15000) > 0) {
        ssize_t r = read(out[0], line + got, sizeof(line) - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(out[0]);
    if (sscanf(line, "listening port=%d", port) != 1) {
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
        return -1;
    }
    return p;
}

static void stop(pid_t p)
{
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);
}

/*
 * One replay run with `conns` clients at once: total frames/s and MB/s at the clients, from
 * the first message of any to the last message of all.
 */
static int run_ws(const char *bin, const char *file, int loop, bool tls, const char *certdir,
                  const tool_replay_rec_t *rec, size_t conns, double *fps, double *mbps)
{
    int port;
    pid_t p = start_server(bin, file, loop, tls, certdir, &port);
    if (p < 0)
        return -1;
    tool_replay_client_cfg_t cfg = {.port = port,
                                    .tls = tls,
                                    .send = rec->r->sent,
                                    .n_send = rec->r->n_sent,
                                    .timeout_ms = 120000};
    tool_replay_client_res_t r[8];
    int rc = tool_replay_client_run(&cfg, r, conns);
    stop(p);
    int64_t t0 = INT64_MAX, t1 = 0;
    uint64_t frames = 0, bytes = 0;
    for (size_t i = 0; i < conns; i++) {
        if (rc < 0 || r[i].frames != rec->n_frames * (size_t)loop) {
            fprintf(stderr, "bench: got %zu frames, want %zu\n", r[i].frames,
                    rec->n_frames * (size_t)loop);
            rc = -1;
        }
        t0 = r[i].t_first_us < t0 ? r[i].t_first_us : t0;
        t1 = r[i].t_last_us > t1 ? r[i].t_last_us : t1;
        frames += r[i].frames;
        bytes += r[i].bytes;
        tool_replay_client_res_free(&r[i]);
    }
    if (rc < 0)
        return -1;
    double dt = (double)(t1 - t0) / 1e6;
    *fps = (double)frames / dt;
    *mbps = (double)bytes / dt / 1e6;
    return 0;
}

/* Reference: the same frames over plain TCP, one send() per frame. */
static int run_tcp(const tool_replay_rec_t *rec, int loop, double *fps, double *mbps)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) < 0)
        return -1;
    uint64_t total = 0;
    for (size_t i = 0; i < rec->n_frames; i++)
        total += rec->frames[i].len;
    total *= (uint64_t)loop;
    pid_t p = fork();
    if (p == 0) {
        int c = accept(ls, NULL, NULL);
        for (int l = 0; l < loop; l++)
            for (size_t i = 0; i < rec->n_frames; i++) {
                const char *d = rec->frames[i].data;
                size_t n = rec->frames[i].len;
                while (n) {
                    ssize_t w = send(c, d, n, 0);
                    if (w <= 0)
                        _exit(1);
                    d += w;
                    n -= (size_t)w;
                }
            }
        close(c);
        _exit(0);
    }
    close(ls);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    static char buf[1 << 18];
    uint64_t got = 0;
    double t0 = 0;
    for (;;) {
        ssize_t r = read(s, buf, sizeof(buf));
        if (r <= 0)
            break;
        if (!got)
            t0 = tb_now_s();
        got += (uint64_t)r;
    }
    double dt = tb_now_s() - t0;
    close(s);
    waitpid(p, NULL, 0);
    if (got != total)
        return -1;
    *fps = (double)(rec->n_frames * (size_t)loop) / dt;
    *mbps = (double)got / dt / 1e6;
    return 0;
}

int main(int argc, char **argv)
{
    int runs = 5, loop = 3;
    const char *bin = getenv("TG_REPLAY_BIN"), *file = NULL;
    char defbin[1024], deffile[1024];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--loop") == 0 && i + 1 < argc)
            loop = atoi(argv[++i]);
        else if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc)
            bin = argv[++i];
        else if (argv[i][0] != '-')
            file = argv[i];
        else {
            fprintf(stderr, "usage: tickgate-replay-bench [--runs N] [--loop L] [--bin PATH] "
                            "[RECORDING]\n");
            return 2;
        }
    }
    if (runs < 1 || runs > RUNS_MAX || loop < 1)
        return 2;
    if (!bin) {
        ssize_t n = readlink("/proc/self/exe", defbin, sizeof(defbin) - 32);
        if (n < 0)
            return 1;
        defbin[n] = 0;
        char *d = dirname(defbin);
        memmove(defbin, d, strlen(d) + 1);
        strcat(defbin, "/tickgate-replay");
        bin = defbin;
    }
    if (!file) {
        const char *recs = getenv("TG_RECORDINGS");
        snprintf(deffile, sizeof(deffile),
                 "%s/binance-futures/"
                 "hftbacktest_usdm_btcusdt_20240808.tgrec.zst",
                 recs ? recs : "../shared/recordings");
        file = deffile;
    }
    signal(SIGPIPE, SIG_IGN);
    tool_replay_rec_t rec;
    if (tool_replay_rec_load(&rec, file) < 0) {
        fprintf(stderr, "bench: cannot load %s\n", file);
        return 1;
    }
    char certdir[] = "/tmp/tg-replay-bench-XXXXXX", cmd[1200];
    if (!mkdtemp(certdir))
        return 1;
    /* the script sits next to this source file; the build passes its path in TG_SOURCE_ROOT */
    const char *root = getenv("TG_SOURCE_ROOT");
    snprintf(cmd, sizeof(cmd), "sh '%s/tools/replay/gen-test-cert.sh' '%s' >/dev/null",
             root ? root : ".", certdir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: gen-test-cert.sh failed (set TG_SOURCE_ROOT)\n");
        return 1;
    }
    uint64_t bytes = 0;
    for (size_t i = 0; i < rec.n_frames; i++)
        bytes += rec.frames[i].len;
    printf("replay bench: %s\n  %zu frames x %d loops, mean frame %.0f B, %d runs each, medians\n",
           rec.name, rec.n_frames, loop, (double)bytes / (double)rec.n_frames, runs);
    double f[4][RUNS_MAX], m[4][RUNS_MAX];
    int rc = 0;
    for (int r = 0; r < runs && rc == 0; r++) {
        if (run_tcp(&rec, loop, &f[0][r], &m[0][r]) < 0 ||
            run_ws(bin, file, loop, false, certdir, &rec, 1, &f[1][r], &m[1][r]) < 0 ||
            run_ws(bin, file, loop, true, certdir, &rec, 1, &f[2][r], &m[2][r]) < 0 ||
            run_ws(bin, file, loop, false, certdir, &rec, 4, &f[3][r], &m[3][r]) < 0)
            rc = 1;
    }
    static const char *const name[4] = {"reference: plain TCP, one send() per frame",
                                        "tickgate-replay --max, ws", "tickgate-replay --max, wss",
                                        "tickgate-replay --max, ws, 4 clients total"};
    for (int k = 0; k < 4 && rc == 0; k++) {
        double lo = f[k][0], hi = f[k][0];
        for (int r = 1; r < runs; r++) {
            lo = f[k][r] < lo ? f[k][r] : lo;
            hi = f[k][r] > hi ? f[k][r] : hi;
        }
        double fm = tb_median(f[k], runs), mm = tb_median(m[k], runs);
        printf("  %-44s %9.0f frames/s  %7.1f MB/s  (min %.0f, max %.0f)\n", name[k], fm, mm, lo,
               hi);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: could not remove %s\n", certdir);
    tool_replay_rec_free(&rec);
    if (rc)
        fprintf(stderr, "bench: a run failed\n");
    return rc;
}

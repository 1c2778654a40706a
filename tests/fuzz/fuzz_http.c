/* SPDX-License-Identifier: MIT */
/*
 * Fuzz harness: the HTTP requests the gateway's endpoint reads (gateway/gw_http.c: /metrics,
 * /health, the dashboard, over libwebsockets' HTTP parser). One endpoint is started on a free
 * loopback port for the process (its own thread, as in the daemon); each input is sent as the
 * bytes of one connection, the write side is shut, and the answer is read until the server
 * closes (or 5 s pass without a byte).
 * Checked besides ASan/UBSan (of gw_http.c; the system libwebsockets is not instrumented, so
 * this is a robustness run more than a coverage-guided one): an answer starts with "HTTP/1.",
 * and a plain GET /health still gets a 200 after every input (the server survived it and its
 * thread is not stuck). Connections the server holds open past 5 s are counted, not failed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "gateway/gw_http.h"
#include "gateway/gw_metrics.h"

static gw_http_t *fz_http;
static gw_metrics_t *fz_metrics;
static tg_stat_t fz_ctr;
static int fz_port;
static unsigned long fz_late; /* inputs whose connection the server kept open past 5 s */

static int fz_health(void *ud, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"status\":\"ok\"}");
    return 1;
}

static void fz_stop(void)
{
    if (fz_late)
        fprintf(stderr, "fuzz_http: %lu connections held open past 5 s\n", fz_late);
    gw_http_stop(&fz_http);
    gw_metrics_destroy(&fz_metrics);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FZ_CHECK(gw_metrics_create(&fz_metrics) == 0, "metrics");
    gw_metrics_counter(fz_metrics, "tickgate_fuzz_total", NULL, "fuzz", &fz_ctr);
    gw_http_cfg_t cfg = {
        .host = "127.0.0.1", .port = 0, .metrics = fz_metrics, .health = fz_health};
    FZ_CHECK(gw_http_start(&fz_http, &cfg) == 0, "gw_http_start");
    fz_port = gw_http_port(fz_http);
    atexit(fz_stop);
    return 0;
}

/* One connection: send, shut the write side, read the answer (first bytes into head) until
 * the server closes or 5 s pass without a byte (*late set). Returns the bytes read. */
static long fz_exchange(const void *req, size_t n, char *head, size_t cap, int *late)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FZ_CHECK(fd >= 0, "socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fz_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FZ_CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect to port %d", fz_port);
    const char *p = req;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            break; /* the server may close early on garbage */
        p += k;
        n -= (size_t)k;
    }
    shutdown(fd, SHUT_WR);
    long total = 0;
    char buf[65536];
    *late = 0;
    for (;;) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 5000) <= 0) {
            *late = 1;
            break;
        }
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k <= 0)
            break;
        if ((size_t)total < cap) {
            size_t c = (size_t)k < cap - (size_t)total ? (size_t)k : cap - (size_t)total;
            memcpy(head + total, buf, c);
        }
        total += k;
    }
    close(fd);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char head[16] = {0};
    int late;
    long n = fz_exchange(data, size, head, sizeof(head) - 1, &late);
    if (n > 0)
        FZ_CHECK(n >= 7 && !memcmp(head, "HTTP/1.", 7), "answer starts '%.15s'", head);
    if (late) /* a connection held open is the server's idle timeout to end, not a failure */
        fz_late++;
    /* liveness: the server answers a plain request after every input (closing it may lag on a
     * loaded machine: the answer is what counts) */
    static const char probe[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    memset(head, 0, sizeof(head));
    n = fz_exchange(probe, sizeof(probe) - 1, head, sizeof(head) - 1, &late);
    FZ_CHECK(n > 12 && !memcmp(head, "HTTP/1.1 200", 12),
             "GET /health after the input: '%.15s' (%ld bytes)", head, n);
    return 0;
}

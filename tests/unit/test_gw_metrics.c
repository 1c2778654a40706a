/* SPDX-License-Identifier: MIT */
/* Prometheus rendering, and the HTTP endpoint serving it on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/gw_http.h"
#include "gateway/gw_metrics.h"
#include "tests/fixtures/tu_main.h"

static double half(void *ud)
{
    return *(double *)ud / 2;
}

static void test_metrics_render_counters_gauges_histograms(void **state)
{
    gw_metrics_t *m;
    assert_int_equal(gw_metrics_create(&m), 0);
    tg_stat_t a = 0, b = 0;
    TG_STAT_ADD(a, 42);
    TG_STAT_ADD(b, 7);
    tg_hist_t h = {0};
    tg_hist_add(&h, 500);     /* bucket 480..511 ns */
    tg_hist_add(&h, 3000);    /* bucket 2944..3071 ns */
    tg_hist_add(&h, 3000000); /* bucket 2883584..3014655 ns */
    double d = 9;
    assert_int_equal(gw_metrics_counter(m, "tg_x_total", "feed=\"a\"", "frames", &a), 0);
    assert_int_equal(gw_metrics_counter(m, "tg_x_total", "feed=\"b\"", "frames", &b), 0);
    assert_int_equal(gw_metrics_gauge_fn(m, "tg_depth", NULL, "depth", half, &d), 0);
    assert_int_equal(gw_metrics_hist(m, "tg_lat_seconds", "stage=\"s\"", "latency", &h), 0);
    char *out;
    long n = gw_metrics_render(m, &out);
    assert_true(n > 0);
    assert_non_null(strstr(out, "# TYPE tg_x_total counter\n"));
    assert_non_null(strstr(out, "tg_x_total{feed=\"a\"} 42\ntg_x_total{feed=\"b\"} 7\n"));
    /* one HELP per name */
    assert_null(strstr(strstr(out, "# HELP tg_x_total") + 1, "# HELP tg_x_total"));
    assert_non_null(strstr(out, "tg_depth 4.5\n"));
    /* log-linear buckets: a non-empty one, and the one below it (its lower edge) */
    assert_non_null(strstr(out, "tg_lat_seconds_bucket{stage=\"s\",le=\"4.95e-07\"} 0\n"));
    assert_non_null(strstr(out, "tg_lat_seconds_bucket{stage=\"s\",le=\"5.11e-07\"} 1\n"));
    assert_non_null(strstr(out, "tg_lat_seconds_bucket{stage=\"s\",le=\"3.071e-06\"} 2\n"));
    assert_non_null(strstr(out, "tg_lat_seconds_bucket{stage=\"s\",le=\"0.003014655\"} 3\n"));
    /* empty buckets far from any value are left out */
    assert_null(strstr(out, "le=\"6.3e-08\""));
    assert_null(strstr(out, "le=\"1.023e-06\""));
    assert_non_null(strstr(out, "tg_lat_seconds_bucket{stage=\"s\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(out, "tg_lat_seconds_count{stage=\"s\"} 3\n"));
    free(out);
    gw_metrics_destroy(&m);
    assert_null(m);
}

static int health(void *ud, char *buf, size_t cap)
{
    snprintf(buf, cap, "{\"status\":\"degraded\"}");
    return 0;
}

static char *http_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return NULL;
    }
    char req[256];
    int n =
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while ((r = read(fd, buf + len, cap - len - 1)) > 0)
        len += (size_t)r;
    buf[len] = 0;
    close(fd);
    return buf;
}

static void test_http_serves_metrics_health_and_dashboard(void **state)
{
    gw_metrics_t *m;
    assert_int_equal(gw_metrics_create(&m), 0);
    tg_stat_t a = 0;
    TG_STAT_ADD(a, 5);
    gw_metrics_counter(m, "tickgate_test_total", NULL, "t", &a);
    gw_http_t *h;
    gw_http_cfg_t cfg = {.host = "127.0.0.1", .port = 0, .metrics = m, .health = health};
    assert_int_equal(gw_http_start(&h, &cfg), 0);
    int port = gw_http_port(h);
    assert_true(port > 0);
    char *r = http_get(port, "/metrics");
    assert_non_null(r);
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "tickgate_test_total 5"));
    free(r);
    r = http_get(port, "/health");
    assert_non_null(strstr(r, "HTTP/1.1 503"));
    assert_non_null(strstr(r, "degraded"));
    free(r);
    r = http_get(port, "/");
    assert_non_null(strstr(r, "<title>tickgate</title>"));
    free(r);
    r = http_get(port, "/nope");
    assert_non_null(strstr(r, "HTTP/1.1 404"));
    free(r);
    gw_http_stop(&h);
    assert_null(h);
    gw_metrics_destroy(&m);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_metrics_render_counters_gauges_histograms),
        cmocka_unit_test(test_http_serves_metrics_health_and_dashboard))

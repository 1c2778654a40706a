/* SPDX-License-Identifier: MIT */
/*
 * A refused server certificate is logged with the check that failed (issue 15, hardening):
 * unknown CA, name mismatch, expired, each with X509_verify_cert_error_string()'s text,
 * instead of lws 4.1's "SSL err 1: error:00000001:lib(0)::reason(1)". The server is
 * tickgate-replay serve --tls (TG_REPLAY_BIN) with certificates made at test time by
 * tls_certs.sh (TG_TLS_CERTS); a trusted, matching, valid certificate still connects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/tg_instr.h"
#include "book/tg_ring.h"
#include "feeds/feed.h"
#include "feeds/net/feed_conn.h"
#include "feeds/net/feed_tls.h"
#include "tests/fixtures/it_feed_loop.h"
#include "tests/fixtures/replay_proc.h"

#include <openssl/x509_vfy.h>

#define KRAKEN "kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec"

static char g_dir[256];
static const char *g_bin, *g_recs;

/* log lines of the connection (written by the loop thread) */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char g_log[16384];

static void log_cb(void *ctx, int level, const char *msg)
{
    pthread_mutex_lock(&g_mu);
    size_t n = strlen(g_log);
    snprintf(g_log + n, sizeof g_log - n, "%s\n", msg);
    pthread_mutex_unlock(&g_mu);
    if (getenv("TG_TEST_VERBOSE"))
        fprintf(stderr, "[%d] %s\n", level, msg);
}

static bool log_has(const char *needle)
{
    pthread_mutex_lock(&g_mu);
    bool r = strstr(g_log, needle) != NULL;
    pthread_mutex_unlock(&g_mu);
    return r;
}

/* Serve the recording with certificate `name`, connect to host with `ca` trusted; wait for
 * two failed attempts or one connect. @return the connects seen. */
static uint64_t attempt(const char *name, const char *host, const char *ca)
{
    pthread_mutex_lock(&g_mu);
    g_log[0] = 0;
    pthread_mutex_unlock(&g_mu);
    char cert[300], key[300], rec[1024], cafile[300];
    snprintf(cert, sizeof cert, "%s/%s.pem", g_dir, name);
    snprintf(key, sizeof key, "%s/%s.key", g_dir, name);
    snprintf(rec, sizeof rec, "%s/%s", g_recs, KRAKEN);
    const char *argv[] = {g_bin,    "serve", "--port", "0", "--quiet", "--hold", "--tls",
                          "--cert", cert,    "--key",  key, rec,       NULL};
    int port = 0;
    pid_t pid = replay_proc_start(argv, -1, &port);
    assert_true(pid > 0);
    static const char *const syms[] = {"XBT/USD"};
    it_feed_t x;
    it_feed_init(&x, "kraken", syms, 1u << 14);
    x.cc.venue_impl = feed_venue_find("kraken");
    assert_non_null(x.cc.venue_impl);
    x.cc.backoff_min_ms = 50;
    x.cc.backoff_max_ms = 200;
    x.cc.log = log_cb;
    snprintf(x.url, sizeof x.url, "wss://%s:%d/ws", host, port);
    x.cc.url = x.url;
    if (ca) {
        snprintf(cafile, sizeof cafile, "%s/%s.pem", g_dir, ca);
        x.cc.ca_file = cafile;
    }
    it_feed_start(&x);
    const feed_conn_tstats_t *ts = feed_conn_tstats(x.conn);
    for (int i = 0; i < 1000 && TG_STAT_GET(ts->connect_errors) < 2 && !TG_STAT_GET(ts->connects);
         i++)
        usleep(5000);
    feed_loop_stop(x.loop);
    uint64_t connects = TG_STAT_GET(ts->connects);
    it_feed_free(&x);
    replay_proc_stop(pid);
    return connects;
}

static void expect_refused(const char *cls, const char *x509_text)
{
    if (!log_has("server certificate refused") || !log_has(cls) || !log_has(x509_text)) {
        pthread_mutex_lock(&g_mu);
        fail_msg("want '%s' and '%s' in the log, got:\n%s", cls, x509_text, g_log);
    }
}

static void test_unknown_ca_is_named_in_the_log(void **state)
{
    assert_int_equal(attempt("good", "localhost", NULL), 0);           /* the OS store lacks it */
    expect_refused("(unknown CA)", X509_verify_cert_error_string(18)); /* self-signed */
}

static void test_name_mismatch_is_named_in_the_log(void **state)
{
    assert_int_equal(attempt("other", "localhost", "other"), 0);
    expect_refused("(name mismatch)", X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH));
}

static void test_expired_certificate_is_named_in_the_log(void **state)
{
    assert_int_equal(attempt("old", "localhost", "old"), 0);
    expect_refused("(expired)", X509_verify_cert_error_string(X509_V_ERR_CERT_HAS_EXPIRED));
}

static void test_trusted_matching_valid_certificate_connects(void **state)
{
    assert_true(attempt("good", "localhost", "good") >= 1);
    assert_false(log_has("server certificate refused"));
}

static void test_classes_of_verification_errors(void **state)
{
    assert_string_equal(feed_tls_verify_class(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
                        "unknown CA");
    assert_string_equal(feed_tls_verify_class(X509_V_ERR_IP_ADDRESS_MISMATCH), "name mismatch");
    assert_string_equal(feed_tls_verify_class(X509_V_ERR_CERT_NOT_YET_VALID), "not yet valid");
    assert_string_equal(feed_tls_verify_class(X509_V_ERR_CERT_SIGNATURE_FAILURE),
                        "invalid certificate");
}

int main(void)
{
    g_bin = getenv("TG_REPLAY_BIN");
    g_recs = getenv("TG_RECORDINGS");
    const char *script = getenv("TG_TLS_CERTS");
    if (!g_bin || !g_recs || !script) {
        fprintf(stderr, "TG_REPLAY_BIN, TG_RECORDINGS or TG_TLS_CERTS not set: skipped\n");
        return 77;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/tg-tls-verify-XXXXXX");
    if (!mkdtemp(g_dir))
        return 1;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "'%s' '%s'", script, g_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "%s failed\n", cmd);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_ca_is_named_in_the_log),
        cmocka_unit_test(test_name_mismatch_is_named_in_the_log),
        cmocka_unit_test(test_expired_certificate_is_named_in_the_log),
        cmocka_unit_test(test_trusted_matching_valid_certificate_connects),
        cmocka_unit_test(test_classes_of_verification_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}

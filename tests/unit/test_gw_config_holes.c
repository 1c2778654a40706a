/* SPDX-License-Identifier: MIT */
/*
 * The config check's holes found by issue 15 (item 5): a password anywhere in the PostgreSQL
 * conninfo (URI user info, URI query, keyword in any case) is refused like password=, a value
 * that merely contains the word is not; an invalid schema identifier fails the check with a
 * message naming file, line and the rule, instead of failing later at start. Also which
 * /metrics listen addresses are loopback (the gateway warns about the others).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/tg_err.h"
#include "gateway/gw_config.h"
#include "tests/fixtures/tu_main.h"

/* Load a config whose [postgres] section is `key = value`; @return gw_cfg_load's code and
 * the first error in err. */
static int load_pg(const char *key, const char *value, char *err, size_t cap)
{
    char path[] = "/tmp/tg-cfg-holes-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "[postgres]\n%s = %s\n[feed bin]\nvenue = binance\nsymbols = BTCUSDT\n", key,
                     value);
    assert_int_equal(write(fd, text, (size_t)n), n);
    close(fd);
    gw_cfg_t c;
    int rc = gw_cfg_load(&c, path);
    snprintf(err, cap, "%s", c.n_errors ? c.errors[0] : "");
    gw_cfg_free(&c);
    unlink(path);
    return rc;
}

/* Conninfo strings, refused (a password anywhere) or accepted (only the word). */
static const struct {
    const char *conninfo;
    bool refused;
} conninfos[] = {
    {"postgresql://user:pw@db.example/tickgate", true},
    {"postgres://tick:s3cr%40t@127.0.0.1:5432/tickgate?sslmode=require", true},
    {"postgresql://user@127.0.0.1/tickgate?password=pw", true},
    {"postgresql://user@127.0.0.1/tickgate?sslmode=disable&PassWord=pw", true},
    {"host=127.0.0.1 PASSWORD=pw dbname=x", true},
    {"host=127.0.0.1 Password = pw", true},
    {"password=pw", true},
    {"host=127.0.0.1 dbname=x application_name=password_rotator", false},
    {"postgresql://user@127.0.0.1/tickgate?application_name=password_rotator", false},
    {"postgresql://127.0.0.1:5432/tickgate", false},
    {"postgresql://user@[::1]:5432/tickgate", false},
    {"host=127.0.0.1 passfile=/etc/tickgate/pgpass dbname=x", false},
};

static void test_conninfo_with_a_password_anywhere_is_refused(void **state)
{
    char err[512];
    for (size_t i = 0; i < sizeof conninfos / sizeof conninfos[0]; i++) {
        const char *bad = conninfos[i].conninfo;
        if (!conninfos[i].refused)
            continue;
        int rc = load_pg("conninfo", bad, err, sizeof err);
        if (rc != TG_ECONFIG || !strstr(err, "conninfo must not hold a password"))
            fail_msg("accepted a password in '%s' (rc %d, '%s')", bad, rc, err);
        /* file and line; after them, the message never echoes the secret (the file's name
           before them is mkstemp's and may hold any two letters, "pw" too) */
        const char *msg = strstr(err, ":2: [postgres]");
        assert_non_null(msg);
        assert_null(strstr(msg, "pw"));
    }
}

static void test_conninfo_that_only_names_the_word_is_accepted(void **state)
{
    char err[512];
    for (size_t i = 0; i < sizeof conninfos / sizeof conninfos[0]; i++)
        if (!conninfos[i].refused &&
            load_pg("conninfo", conninfos[i].conninfo, err, sizeof err) != 0)
            fail_msg("refused '%s': %s", conninfos[i].conninfo, err);
}

static void test_schema_that_is_no_identifier_fails_the_check(void **state)
{
    static const char *const bad[] = {"1abc", "Upper", "a-b", "x;drop", "tick gate"};
    char err[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = load_pg("schema", bad[i], err, sizeof err);
        if (rc != TG_ECONFIG || !strstr(err, "is not a valid identifier") ||
            !strstr(err, "[a-z_][a-z0-9_]*"))
            fail_msg("schema '%s' passed the check (rc %d, '%s')", bad[i], rc, err);
    }
    /* 64 bytes: over PostgreSQL's 63 */
    char longname[65];
    memset(longname, 'a', 64);
    longname[64] = 0;
    assert_int_equal(load_pg("schema", longname, err, sizeof err), TG_ECONFIG);
    static const char *const good[] = {"tickgate", "_t1", "tg_2024"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (load_pg("schema", good[i], err, sizeof err) != 0)
            fail_msg("refused schema '%s': %s", good[i], err);
}

static void test_loopback_listen_addresses_are_told_from_public_ones(void **state)
{
    static const char *const loop[] = {"127.0.0.1", "127.1.2.3",       "::1", "[::1]", "localhost",
                                       "LOCALHOST", "::ffff:127.0.0.1"};
    static const char *const pub[] = {
        "0.0.0.0", "::", "", "10.0.0.1", "192.168.1.5", "128.0.0.1", "::2", "example.org", "[::]"};
    for (size_t i = 0; i < sizeof loop / sizeof loop[0]; i++)
        if (!gw_cfg_host_is_loopback(loop[i]))
            fail_msg("'%s' is loopback", loop[i]);
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++)
        if (gw_cfg_host_is_loopback(pub[i]))
            fail_msg("'%s' is not loopback", pub[i]);
    assert_false(gw_cfg_host_is_loopback(NULL));
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_conninfo_with_a_password_anywhere_is_refused),
        cmocka_unit_test(test_conninfo_that_only_names_the_word_is_accepted),
        cmocka_unit_test(test_schema_that_is_no_identifier_fails_the_check),
        cmocka_unit_test(test_loopback_listen_addresses_are_told_from_public_ones))

/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Redis connection settings (storage/store_rds_conn.c): URL forms, password
 * sources and their precedence, rejected inputs, and that the password never reaches the
 * printable `where` text. No server needed (store_rds_conn_init does not connect).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/redis/store_rds_conn.h"

static store_rds_cfg_t cfg_url(const char *url)
{
    store_rds_cfg_t c;
    store_rds_cfg_defaults(&c);
    c.url = url;
    c.password_env = "TG_TEST_RDS_NO_SUCH_VAR";
    return c;
}

/* cc initialised (asserted) from the configuration of url. */
static void conn_of(store_rds_conn_t *cc, const char *url)
{
    store_rds_cfg_t c = cfg_url(url);
    assert_int_equal(store_rds_conn_init(cc, &c), 0);
}

static void test_plain_url_gives_host_port_and_db(void **state)
{
    store_rds_conn_t cc;
    conn_of(&cc, "redis://10.1.2.3:6380/5");
    assert_string_equal(cc.host, "10.1.2.3");
    assert_int_equal(cc.port, 6380);
    assert_int_equal(cc.db, 5);
    assert_string_equal(cc.pass, "");
    assert_string_equal(cc.where, "10.1.2.3:6380/5");
    conn_of(&cc, "redis://localhost");
    assert_string_equal(cc.host, "localhost");
    assert_int_equal(cc.port, 6379);
    assert_int_equal(cc.db, 0);
}

static void test_credentials_in_the_url_are_decoded_and_kept_out_of_where(void **state)
{
    store_rds_conn_t cc;
    conn_of(&cc, "redis://alice:p%40ss%3Aw0rd@[::1]:7000/2");
    assert_string_equal(cc.user, "alice");
    assert_string_equal(cc.pass, "p@ss:w0rd");
    assert_string_equal(cc.host, "::1");
    assert_int_equal(cc.port, 7000);
    assert_int_equal(cc.db, 2);
    assert_null(strstr(cc.where, "p@ss"));
    assert_null(strstr(cc.where, "alice"));
    conn_of(&cc, "redis://:secret@h:1");
    assert_string_equal(cc.user, "");
    assert_string_equal(cc.pass, "secret");
    store_rds_conn_deinit(&cc);
    assert_string_equal(cc.pass, ""); /* wiped */
}

static void test_unix_socket_url_with_db(void **state)
{
    store_rds_conn_t cc;
    conn_of(&cc, "unix:///run/redis/redis.sock?db=3");
    assert_string_equal(cc.unix_path, "/run/redis/redis.sock");
    assert_int_equal(cc.db, 3);
}

static void test_password_precedence_config_then_url_then_environment(void **state)
{
    store_rds_conn_t cc;
    setenv("TG_TEST_RDS_PW", "from-env", 1);
    store_rds_cfg_t c = cfg_url("redis://h:1");
    c.password_env = "TG_TEST_RDS_PW";
    assert_int_equal(store_rds_conn_init(&cc, &c), 0);
    assert_string_equal(cc.pass, "from-env");
    c.url = "redis://:from-url@h:1";
    assert_int_equal(store_rds_conn_init(&cc, &c), 0);
    assert_string_equal(cc.pass, "from-url");
    c.password = "from-config";
    assert_int_equal(store_rds_conn_init(&cc, &c), 0);
    assert_string_equal(cc.pass, "from-config");
    unsetenv("TG_TEST_RDS_PW");
}

static void test_host_and_port_fields_are_used_without_a_url(void **state)
{
    store_rds_conn_t cc;
    store_rds_cfg_t c = cfg_url(NULL);
    c.host = "redis.internal";
    c.port = 16379;
    c.db = 1;
    c.username = "svc";
    assert_int_equal(store_rds_conn_init(&cc, &c), 0);
    assert_string_equal(cc.host, "redis.internal");
    assert_int_equal(cc.port, 16379);
    assert_int_equal(cc.db, 1);
    assert_string_equal(cc.user, "svc");
}

static void test_malformed_settings_are_rejected(void **state)
{
    static const char *bad[] = {
        "http://h:1",      "redis://",       "redis://h:0",     "redis://h:65536", "redis://h:12x",
        "redis://h:1/x",   "redis://[::1",   "redis://[::1]x",  "redis://u:%zz@h", "redis://u:%4@h",
        "unix://relative", "unix:///s?db=x", "unix:///s?dbx=1", "redis://h:-1",    "rediss://h:1",
    };
    store_rds_conn_t cc;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        store_rds_cfg_t c = cfg_url(bad[i]);
        if (store_rds_conn_init(&cc, &c) != -EINVAL)
            fail_msg("accepted: %s", bad[i]);
    }
    store_rds_cfg_t c = cfg_url(NULL);
    c.host = "";
    assert_int_equal(store_rds_conn_init(&cc, &c), -EINVAL);
    c.host = "h";
    c.port = 70000;
    assert_int_equal(store_rds_conn_init(&cc, &c), -EINVAL);
    c.port = 1;
    c.db = -1;
    assert_int_equal(store_rds_conn_init(&cc, &c), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_url_gives_host_port_and_db),
        cmocka_unit_test(test_credentials_in_the_url_are_decoded_and_kept_out_of_where),
        cmocka_unit_test(test_unix_socket_url_with_db),
        cmocka_unit_test(test_password_precedence_config_then_url_then_environment),
        cmocka_unit_test(test_host_and_port_fields_are_used_without_a_url),
        cmocka_unit_test(test_malformed_settings_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

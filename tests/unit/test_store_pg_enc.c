/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the PostgreSQL binary encoders (storage/store_pg_enc.h): numeric digit groups,
 * weight, sign and display scale checked against the wire format of numeric_send() worked out
 * by hand, plus a decoder written here from the format description that turns the bytes back
 * into decimal text for a property test against tg_dec_format() (another module). The
 * integration test compares the same encoder against PostgreSQL's own text rendering.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "book/tg_dec.h"
#include "storage/pg/store_pg_enc.h"
#include "book/tg_rng.h"

static int rd16(const uint8_t *p)
{
    return (int16_t)(uint16_t)((p[0] << 8) | p[1]);
}

/* Decode numeric wire bytes to text the way numeric_out would print it (dscale digits). */
static void decode(const uint8_t *p, size_t n, char *out)
{
    int nd = rd16(p), weight = rd16(p + 2), sign = rd16(p + 4) & 0xffff, dscale = rd16(p + 6);
    assert_int_equal(n, 8 + 2 * (size_t)nd);
    char *o = out;
    if (sign == 0x4000)
        *o++ = '-';
    /* integer part: digit groups with weight >= 0 */
    if (weight < 0) {
        *o++ = '0';
    } else {
        for (int w = weight, i = 0; w >= 0; w--, i++) {
            int d = i < nd ? rd16(p + 8 + 2 * i) : 0;
            assert_true(d >= 0 && d < 10000);
            o += sprintf(o, i == 0 ? "%d" : "%04d", d);
        }
    }
    if (dscale > 0) {
        *o++ = '.';
        char frac[64] = {0};
        int fl = 0;
        for (int w = -1; fl < dscale; w--) {
            int i = weight - w; /* index of the group with weight w */
            int d = (i >= 0 && i < nd) ? rd16(p + 8 + 2 * i) : 0;
            fl += sprintf(frac + fl, "%04d", d);
        }
        memcpy(o, frac, (size_t)dscale);
        o += dscale;
    }
    *o = 0;
}

static void test_numeric_61837_63_has_three_groups_weight_1_dscale_2(void **state)
{
    (void)state;
    uint8_t b[STORE_PG_NUMERIC_MAX];
    size_t n = store_pg_enc_numeric(b, 6183763000000, 8);
    const uint8_t want[] = {0, 3, 0, 1, 0, 0, 0, 2, 0, 6, 0x07, 0x2d, 0x18, 0x9c};
    /* 6 | 1837 | 6300 */
    assert_int_equal(n, sizeof want);
    assert_memory_equal(b, want, sizeof want);
}

static void test_numeric_zero_is_no_digits_positive(void **state)
{
    (void)state;
    uint8_t b[STORE_PG_NUMERIC_MAX];
    const uint8_t want[] = {0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(store_pg_enc_numeric(b, 0, 8), 8);
    assert_memory_equal(b, want, 8);
}

static void test_numeric_small_fraction_has_negative_weight(void **state)
{
    (void)state;
    uint8_t b[STORE_PG_NUMERIC_MAX];
    /* 0.00001 = 0.0000 1000 -> one digit 1000 at weight -2, dscale 5 */
    size_t n = store_pg_enc_numeric(b, 1000, 8);
    const uint8_t want[] = {0, 1, 0xff, 0xfe, 0, 0, 0, 5, 0x03, 0xe8};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(b, want, sizeof want);
}

static void test_numeric_negative_sets_sign_0x4000(void **state)
{
    (void)state;
    uint8_t b[STORE_PG_NUMERIC_MAX];
    size_t n = store_pg_enc_numeric(b, -15, 1); /* -1.5 */
    const uint8_t want[] = {0, 2, 0, 0, 0x40, 0, 0, 1, 0, 1, 0x13, 0x88};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(b, want, sizeof want);
}

static void test_numeric_integer_drops_trailing_zero_groups(void **state)
{
    (void)state;
    uint8_t b[STORE_PG_NUMERIC_MAX];
    size_t n = store_pg_enc_numeric(b, 100000000, 0); /* 1 0000 0000 -> one digit, weight 2 */
    const uint8_t want[] = {0, 1, 0, 2, 0, 0, 0, 0, 0, 1};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(b, want, sizeof want);
}

static uint64_t rng = 88172645463325252ull;

static void test_numeric_decodes_to_tg_dec_format_text_for_random_values(void **state)
{
    (void)state;
    int64_t edge[] = {0,
                      1,
                      -1,
                      9,
                      10,
                      9999,
                      10000,
                      10001,
                      INT64_MAX,
                      INT64_MIN,
                      INT64_MIN + 1,
                      123456789012345678,
                      -100000000,
                      5,
                      50,
                      500,
                      5000,
                      50000};
    for (int scale = 0; scale <= 18; scale++) {
        for (int i = 0; i < 20000; i++) {
            int64_t v;
            if (i < (int)(sizeof edge / sizeof *edge))
                v = edge[i];
            else {
                v = (int64_t)tg_rng_xorshift64(&rng);
                v >>= tg_rng_xorshift64(&rng) % 63; /* all magnitudes */
                if (tg_rng_xorshift64(&rng) & 1)
                    v = v / 1000 * 1000; /* trailing zeros */
            }
            uint8_t b[STORE_PG_NUMERIC_MAX];
            char got[64], want[TG_DEC_STR_MAX];
            size_t n = store_pg_enc_numeric(b, v, scale);
            decode(b, n, got);
            tg_dec_format(v, scale, want);
            if (strcmp(got, want) != 0)
                fail_msg("v=%lld scale=%d: encoded %s, tg_dec_format %s", (long long)v, scale, got,
                         want);
        }
    }
}

static void test_numeric128_matches_int64_path_and_encodes_large_values(void **state)
{
    (void)state;
    uint8_t a[STORE_PG_NUMERIC_MAX], b[STORE_PG_NUMERIC_MAX];
    size_t na = store_pg_enc_numeric(a, 6183763000000, 8);
    size_t nb = store_pg_enc_numeric128(b, (__int128)6183763000000, 8);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    /* 10^30 + 1 at scale 16 = 100000000000000.0000000000000001 */
    __int128 big = 1;
    for (int i = 0; i < 30; i++)
        big *= 10;
    char got[80];
    nb = store_pg_enc_numeric128(b, big + 1, 16);
    decode(b, nb, got);
    assert_string_equal(got, "100000000000000.0000000000000001");
    nb = store_pg_enc_numeric128(b, -(big * 1000), 20); /* -10^33 / 10^20 = -1e13 */
    decode(b, nb, got);
    assert_string_equal(got, "-10000000000000");
}

static void test_timestamp_is_microseconds_since_2000_floored(void **state)
{
    (void)state;
    assert_int_equal(store_pg_ts_from_ns(946684800000000000LL), 0);
    assert_int_equal(store_pg_ts_from_ns(946684800000001999LL), 1);
    assert_int_equal(store_pg_ts_from_ns(-1), -STORE_PG_EPOCH_DIFF_US - 1);
}

static void test_numeric_array_has_one_dimension_and_element_lengths(void **state)
{
    (void)state;
    store_pg_buf_t b = {0};
    assert_int_equal(store_pg_buf_reserve(&b, 1024), 0);
    int64_t lv[4] = {100, 7, 250, 9};              /* price, size, price, size */
    store_pg_put_f_numeric_array(&b, lv, 2, 2, 2); /* 1.00, 2.50 */
    const uint8_t *p = b.p;
    int32_t len = (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | p[2] << 8 | p[3]);
    assert_int_equal((size_t)len + 4, b.len);
    assert_int_equal(p[7], 1);  /* ndim */
    assert_int_equal(p[11], 0); /* no nulls */
    assert_int_equal(rd16(p + 14), STORE_PG_NUMERIC_OID);
    assert_int_equal(p[19], 2); /* dim length */
    assert_int_equal(p[23], 1); /* lower bound */
    char txt[32];
    int32_t el = (int32_t)p[27];
    decode(p + 28, (size_t)el, txt);
    assert_string_equal(txt, "1");
    decode(p + 28 + el + 4, (size_t)p[28 + el + 3], txt);
    assert_string_equal(txt, "2.5");
    b.len = 0;
    store_pg_put_f_numeric_array(&b, lv, 2, 0, 2);
    assert_int_equal(b.len, 16); /* length + ndim 0 + flags + oid */
    store_pg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_61837_63_has_three_groups_weight_1_dscale_2),
        cmocka_unit_test(test_numeric_zero_is_no_digits_positive),
        cmocka_unit_test(test_numeric_small_fraction_has_negative_weight),
        cmocka_unit_test(test_numeric_negative_sets_sign_0x4000),
        cmocka_unit_test(test_numeric_integer_drops_trailing_zero_groups),
        cmocka_unit_test(test_numeric_decodes_to_tg_dec_format_text_for_random_values),
        cmocka_unit_test(test_numeric128_matches_int64_path_and_encodes_large_values),
        cmocka_unit_test(test_timestamp_is_microseconds_since_2000_floored),
        cmocka_unit_test(test_numeric_array_has_one_dimension_and_element_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
